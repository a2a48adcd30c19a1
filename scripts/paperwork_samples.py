"""Render the first page of each paperwork document as PNG into docs/img/ (for the README).

Fictional records (tests/support/paperwork.py), a scratch SQLite database, pdftoppm
(Debian poppler-utils). Run: PYTHONPATH=. python scripts/paperwork_samples.py
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from pathlib import Path

from crm.auth import SYSTEM
from crm.db import make_engine, make_session_factory, upgrade
from crm.models import Site
from crm.reference import load_reference_tables
from crm.services import paperwork
from crm.services.placements import change_status
from tests.support.paperwork import FACTS, MINOR_FACTS, make_records

OUT = Path(__file__).resolve().parent.parent / "docs" / "img"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/samples.db")
        upgrade(engine)
        with make_session_factory(engine).begin() as s:
            load_reference_tables(s)
            site = Site(name="TPM")
            s.add(site)
            s.flush()
            minor = make_records(s, site, minor=True, tag="M")
            adult = make_records(s, site, tag="A")
            adult.placement.kind = "stage"
            paperwork.save_facts(s, SYSTEM, minor.placement.id, {**FACTS, **MINOR_FACTS})
            paperwork.save_facts(s, SYSTEM, adult.placement.id, {**FACTS, "hours_done": 70})
            for role in ("beneficiary", "host", "school"):
                paperwork.record_signature(
                    s, SYSTEM, adult.placement.id, role, dt.date.today(), signer_name=None
                )
            change_status(s, SYSTEM, adult.placement.id, "in_progress")
            docs = {
                "pmsmp": paperwork.generate(s, SYSTEM, minor.placement.id, "pmsmp"),
                "stage": paperwork.generate(s, SYSTEM, adult.placement.id, "stage"),
                "attestation": paperwork.generate(s, SYSTEM, adult.placement.id, "attestation"),
                "evaluation": paperwork.generate(s, SYSTEM, adult.placement.id, "evaluation"),
            }
        engine.dispose()
        for kind, data in docs.items():
            pdf = Path(tmp) / f"{kind}.pdf"
            pdf.write_bytes(data)
            target = OUT / f"paperwork-{kind}"
            subprocess.run(
                ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", pdf, target],
                check=True,
            )
            print(f"{target}.png")


if __name__ == "__main__":
    main()
