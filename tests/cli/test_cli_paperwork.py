"""`passerelle convention REF --output FILE.pdf [--kind ...]` as a user runs it (subprocess)."""

from __future__ import annotations

import stat

from crm.auth import SYSTEM
from crm.db import make_engine, make_session_factory
from crm.models import Site
from crm.reference import load_reference_tables
from crm.services import paperwork
from tests.support.cli import run_cli
from tests.support.paperwork import FACTS, make_records, pdf_text


def test_convention_command_writes_the_same_pdf_as_the_page(db_url, tmp_path):
    engine = make_engine(db_url)
    with make_session_factory(engine).begin() as s:
        load_reference_tables(s)
        site = Site(name="TPM", city="Toulon", postcode="83000")
        s.add(site)
        s.flush()
        r = make_records(s, site)
        ref, name, company = r.placement.ref, r.learner.last_name, r.company.name
    engine.dispose()

    out = tmp_path / "out" / "convention.pdf"
    result = run_cli(db_url, "convention", ref, "--output", str(out))
    assert result.returncode == 2
    assert "impossible à générer : il manque" in result.stderr
    assert "horaires journaliers" in result.stderr and not out.exists()

    engine = make_engine(db_url)
    with make_session_factory(engine).begin() as s:
        paperwork.save_facts(s, SYSTEM, paperwork.placement_id_for_ref(s, ref), FACTS)
    engine.dispose()

    result = run_cli(db_url, "convention", ref, "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "Convention de PMSMP written" in result.stdout
    text = pdf_text(out.read_bytes())
    assert "Cerfa n° 13912" in text and name in text and company in text
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert name not in result.stdout + result.stderr  # no document content on the console

    evaluation = tmp_path / "bilan.pdf"
    result = run_cli(db_url, "convention", ref, "-o", str(evaluation), "--kind", "evaluation")
    assert result.returncode == 0, result.stderr
    assert "Bilan et évaluation" in pdf_text(evaluation.read_bytes())

    result = run_cli(db_url, "convention", "P-INCONNUE", "--output", str(out))
    assert result.returncode == 2 and "Aucune période" in result.stderr
