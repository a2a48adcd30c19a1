"""passerelle import / export / duplicates as a user runs them."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.db import make_engine, make_session_factory
from crm.models import Company
from tests.support.cli import run_cli

CSV = (
    "ref;Raison sociale;SIRET;Code postal;Ville;Téléphone;Adresse\n"
    "A1;Boulangerie Martin;;83000;Toulon;0494123456;12 avenue Foch\n"
    "A2;SARL BOULANGERIE MARTIN;;83000;Toulon;04 94 12 34 56;12 av. Foch\n"
    "A3;=cmd|' /C calc'!A0;;83000;Toulon;;\n"
)


def companies(url):
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        n = s.scalar(select(func.count()).select_from(Company))
    engine.dispose()
    return n


def test_import_dry_run_duplicates_export(db_url, tmp_path):
    src = tmp_path / "entreprises.csv"
    src.write_bytes(CSV.encode("cp1252"))
    r = run_cli(db_url, "import", "companies", str(src), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "3 créée(s)" in r.stdout and "Essai à blanc" in r.stdout
    assert companies(db_url) == 0
    r = run_cli(db_url, "import", "companies", str(src))
    assert r.returncode == 0, r.stderr
    assert "doublon probable" in r.stdout and companies(db_url) == 3

    bad = tmp_path / "bad.csv"
    bad.write_text("ref,name,postcode\nB1,Ok,83000\nB2,Pas ok,830\n", encoding="utf-8")
    r = run_cli(db_url, "import", "companies", str(bad))
    assert r.returncode == 1 and "ligne 3 :" in r.stdout and companies(db_url) == 3
    r = run_cli(db_url, "import", "companies", str(bad), "--skip-invalid")
    assert r.returncode == 0 and companies(db_url) == 4

    r = run_cli(db_url, "duplicates", "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [(x["ref_a"], x["ref_b"]) for x in rows] == [("A1", "A2")]
    assert "même téléphone" in rows[0]["evidence"]
    r = run_cli(db_url, "duplicates", "--format", "table", "--threshold", "0.95")
    assert "1 paire(s)" in r.stdout and r.stdout.splitlines()[1].startswith("A1")

    out = tmp_path / "export.xlsx"
    r = run_cli(db_url, "export", "companies", str(out))
    assert r.returncode == 0, r.stderr
    ws = load_workbook(out).active
    names = [c.value for c in ws["B"]]
    assert "'=cmd|' /C calc'!A0" in names  # formula neutralised
    out_csv = tmp_path / "export.csv"
    assert run_cli(db_url, "export", "companies", str(out_csv)).returncode == 0
    r = run_cli(db_url, "import", "companies", str(out_csv))
    assert "0 créée(s), 0 mise(s) à jour, 4 inchangée(s)" in r.stdout
