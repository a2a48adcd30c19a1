#!/usr/bin/env bash
# Makes sure Debian's DejaVu fonts are installed (the PDF documents embed DejaVu Sans;
# without them Passerelle falls back to a Latin-1 core font, see docs/PAPERWORK.md).
set -euo pipefail
if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || [ -n "${PASSERELLE_FONT_DIR:-}" ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "DejaVu fonts are missing: install them with 'apt-get install fonts-dejavu-core' as root" >&2
    exit 0  # not fatal: documents use the core-font fallback
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "DejaVu fonts are missing (no apt-get): set PASSERELLE_FONT_DIR to a folder with DejaVuSans.ttf" >&2
  exit 0
fi
echo "Installing fonts-dejavu-core from Debian..."
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-dejavu-core >/dev/null
