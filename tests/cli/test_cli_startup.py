"""The command line starts without the heavy libraries: ``passerelle --help`` (and the
argument parsing of every command) must not import pandas, scikit-learn or SQLAlchemy, which
take seconds to load; each command imports them inside its handler. The parse-time choices
come from crm.constants and must stay equal to the rules' own values."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "sklearn", "sqlalchemy", "numpy", "rapidfuzz")

PROBE = """
import contextlib, io, sys
from crm import cli
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        cli.main({argv!r})
    except SystemExit:
        pass
assert "usage:" in out.getvalue(), out.getvalue()
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["stats", "--help"],
        ["import", "--help"],
        ["users", "add", "--help"],
        ["backup", "--help"],
        ["match", "--help"],
        ["geocode", "--help"],
    ],
    ids=" ".join,
)
def test_help_imports_no_heavy_library(argv):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"imported at start: {done.stdout.strip()}"


def test_parse_time_constants_match_their_rules():
    from crm import backup, constants, dedupe
    from crm.commands import geocode
    from crm.models import GeoPrecision, Role
    from crm.services import imports as importer
    from crm.services.stats import TITLES

    assert constants.IMPORT_KINDS == importer.KINDS
    assert constants.BACKUP_FORMATS == backup.FORMATS
    assert tuple(r.value for r in Role) == constants.ROLES
    assert constants.DUPLICATE_THRESHOLD == dedupe.DEFAULT_THRESHOLD
    assert tuple(TITLES) == constants.STATS_TABLES
    assert (GeoPrecision.NONE.value, GeoPrecision.COMMUNE.value) == geocode.IMPROVABLE
