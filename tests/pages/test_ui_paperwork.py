"""AppTest: « Conventions et documents » — a trainer fills a convention, records signatures
until it is signed; a manager sees the median delay and no forms."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm.db import make_engine, make_session_factory
from crm.models import PaperworkSignature, PlacementPaperwork, Site, User
from crm.reference import load_reference_tables
from tests.support.paperwork import FACTS, make_records
from tests.support.ui import app_as, open_page

PAGE = "pages/paperwork.py"


def _setup(url: str) -> int:
    engine = make_engine(url)
    with make_session_factory(engine).begin() as s:
        load_reference_tables(s)
        site = Site(name="TPM", city="Toulon", postcode="83000")
        s.add(site)
        s.flush()
        r = make_records(s, site)
        s.add_all(
            [
                User(username="formatrice", role="trainer", sites=[site]),
                User(username="directrice", role="manager", sites=[site]),
            ]
        )
        placement_id = r.placement.id
    engine.dispose()
    return placement_id


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_trainer_prepares_and_records_signatures(db_url, monkeypatch):
    pid = _setup(db_url)
    at = open_page(app_as(db_url, monkeypatch, "formatrice"), PAGE)
    assert not at.exception
    assert at.title[0].value == "Conventions et documents"
    assert any("Conventions à faire signer (1)" in h.value for h in at.subheader)
    at.selectbox(key="paperwork_pick").set_value(pid).run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "convention **à préparer**" in text
    assert any("horaires journaliers" in c.value for c in at.caption)  # what to fill

    at.selectbox[1].set_value("confirm")  # objective
    at.text_input[0].set_value(FACTS["daily_hours"])
    at.number_input[0].set_value(35.0)
    at.text_input[1].set_value(FACTS["weekly_schedule"])
    at.text_area[0].set_value(FACTS["activities"])
    at.text_area[1].set_value(FACTS["risks"])
    at.text_input[3].set_value(FACTS["protective_equipment"])
    _button(at, "Enregistrer").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success] == ["Convention enregistrée."]
    assert "convention **à signer**" in "\n".join(m.value for m in at.markdown)

    for _ in range(3):  # beneficiary, host, school
        _button(at, "Enregistrer la signature").click().run()
        assert not at.exception
    assert at.success[0].value == "Signature enregistrée : convention signée."
    engine = make_engine(db_url)
    with make_session_factory(engine)() as s:
        assert s.get(PlacementPaperwork, pid).status == "signed"
        roles = s.scalars(select(PaperworkSignature.role).order_by(PaperworkSignature.role)).all()
        assert roles == ["beneficiary", "host", "school"]
        days = set(s.scalars(select(PaperworkSignature.signed_on)).all())
        assert days == {dt.date.today()}
    engine.dispose()


def test_manager_sees_the_median_delay_and_no_forms(db_url, monkeypatch):
    pid = _setup(db_url)
    at = open_page(app_as(db_url, monkeypatch, "directrice"), PAGE)
    assert not at.exception
    assert at.metric[0].label.startswith("Délai médian réservation → convention signée")
    at.selectbox(key="paperwork_pick").set_value(pid).run()
    assert not at.exception
    labels = [b.label for b in at.button]
    assert "Enregistrer la signature" not in labels and "Enregistrer" not in labels
