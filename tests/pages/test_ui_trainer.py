"""AppTest: the trainer's pages — Stagiaires, Suggestions (with booking), Suivi des périodes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from crm.db import make_engine, make_session_factory
from crm.models import Learner, Offer, Placement, Site
from crm.services.placements import SEAT_HOLDING_STATUSES
from tests.pages.test_geo_pages import assert_offline, decks, layer
from tests.support.ui import actor_for, app_as, open_page


def _db(url):
    engine = make_engine(url)
    return engine, make_session_factory(engine)()


def _learner_id(url, ref):
    engine, s = _db(url)
    try:
        return s.scalar(select(Learner.id).where(Learner.ref == ref))
    finally:
        s.close()
        engine.dispose()


def test_trainer_lands_on_stagiaires_of_own_site(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, "trainer").run()
    assert not at.exception
    assert at.title[0].value == "Stagiaires"
    table = at.dataframe[0].value
    engine, s = _db(demo_sqlite_url)
    tpm = s.scalar(select(Site.id).where(Site.name == "TPM"))
    expected = s.scalar(
        select(func.count())
        .select_from(Learner)
        .where(Learner.site_id == tpm, Learner.status == "active")
    )
    s.close()
    engine.dispose()
    assert len(table) == expected > 0
    assert "Notes" not in " ".join(table.columns)


def test_trainer_creates_a_learner_with_rome_picker(demo_copy, monkeypatch):
    at = app_as(demo_copy, monkeypatch, "trainer")
    at = open_page(at, "pages/learners.py")
    assert at.selectbox(key="learner_pick").value == 0  # new learner form
    # Missing names: refused with French messages, nothing saved.
    at.button(key="FormSubmitter:learner_form_0-Enregistrer").click().run()
    assert "Rien n'a été enregistré" in at.error[0].value
    assert any("obligatoire" in m.value for m in at.markdown)
    at.text_input[1].input("Camille")  # [0] is the search box
    at.text_input[2].input("Zyxwu")
    for ti in at.text_input:
        if ti.label == "Ville":
            ti.input("Toulon")
        if ti.label == "Code postal":
            ti.input("83000")
    at.selectbox(key="project_1_0").select("D1106")
    at.button(key="FormSubmitter:learner_form_0-Enregistrer").click().run()
    assert not at.exception
    assert at.success[0].value == "Fiche enregistrée."
    engine, s = _db(demo_copy)
    saved = s.scalar(select(Learner).where(Learner.last_name == "Zyxwu"))
    assert saved.project_rome_1 == "D1106" and saved.latitude is not None
    assert saved.site.name == "TPM"
    s.close()
    engine.dispose()


def test_suggestions_show_reasons_and_book(demo_copy, monkeypatch):
    lid = _learner_id(demo_copy, "DEMO-L0015")
    at = app_as(demo_copy, monkeypatch, "trainer")
    at = open_page(at, "pages/suggestions.py", learner_id=lid)
    assert not at.exception
    assert at.title[0].value == "Suggestions"
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Même métier (D1208)") for c in captions), captions
    scores = at.dataframe[0].value
    assert list(scores["Rang"]) == list(range(1, len(scores) + 1))
    # The map shows the home and every suggested offer, offline (no basemap).
    (deck,) = decks(at)
    assert_offline(deck)
    layer_ids = {lay["id"] for lay in deck["layers"]}
    assert {"home", "offers"} <= layer_ids, layer_ids
    offers_layer = layer(deck, "offers")
    assert len(offers_layer["data"]) == len(scores)
    propose = [b for b in at.button if b.label == "Proposer"]
    propose[0].click().run()
    # "Proposer" asks the dates and the tutor first; nothing is booked yet.
    dates = {d.label: d.value for d in at.date_input}
    assert dates["Fin"] > dates["Début"]  # the usual PMSMP length by default
    assert "Tuteur dans l'entreprise" in [sb.label for sb in at.selectbox]
    confirm = next(b for b in at.button if b.label == "Confirmer la proposition")
    confirm.click().run()
    assert not at.exception
    assert "Période proposée" in at.success[0].value
    engine, s = _db(demo_copy)
    booked = s.scalars(
        select(Placement).where(Placement.learner_id == lid, Placement.status == "proposed")
    ).all()
    assert len(booked) == 1
    s.close()
    engine.dispose()


def test_suggestions_refuse_clearly_when_seat_gone(demo_copy, monkeypatch):
    lid = _learner_id(demo_copy, "DEMO-L0015")
    at = app_as(demo_copy, monkeypatch, "trainer")
    at = open_page(at, "pages/suggestions.py", learner_id=lid)
    first_key = next(b.key for b in at.button if b.label == "Proposer")
    offer_id = int(first_key.removeprefix("propose_"))
    at.button(key=first_key).click().run()  # the booking dialog opens
    # Meanwhile another trainer fills every remaining seat of that offer.
    engine, s = _db(demo_copy)
    offer = s.get(Offer, offer_id)
    used = s.scalar(
        select(func.count())
        .select_from(Placement)
        .where(
            Placement.offer_id == offer_id,
            Placement.status.in_([x.value for x in SEAT_HOLDING_STATUSES]),
        )
    )
    others = s.scalars(select(Learner).where(Learner.id != lid).limit(offer.seats - used)).all()
    for other in others:
        s.add(
            Placement(
                learner_id=other.id,
                offer_id=offer_id,
                company_id=offer.company_id,
                start_date=offer.start_date,
                end_date=offer.start_date + dt.timedelta(days=10),
                status="proposed",
            )
        )
    s.commit()
    s.close()
    engine.dispose()
    next(b for b in at.button if b.label == "Confirmer la proposition").click().run()
    assert not at.exception
    assert "Plus de place libre" in at.error[0].value
    # ...and the full offer is no longer suggested.
    assert first_key not in [b.key for b in at.button]


def _period_in_progress_ending(db_url, end: dt.date) -> int:
    """The trainer's first period in progress, made to end on ``end``; its id."""
    trainer = actor_for(db_url, "trainer")
    engine, s = _db(db_url)
    p = s.scalar(
        select(Placement)
        .join(Learner, Placement.learner_id == Learner.id)
        .where(Placement.status == "in_progress", Learner.site_id.in_(trainer.site_ids))
        .order_by(Placement.id)
    )
    pid = p.id
    p.end_date = end
    s.commit()
    s.close()
    engine.dispose()
    return pid


def test_placements_follow_up(demo_copy, monkeypatch):
    # The evaluation and « terminée » come at the end of the period: let it end yesterday.
    pid = _period_in_progress_ending(demo_copy, dt.date.today() - dt.timedelta(days=1))
    at = app_as(demo_copy, monkeypatch, "trainer")
    at = open_page(at, "pages/placements.py")
    assert not at.exception
    assert at.title[0].value == "Suivi des périodes"
    assert len(at.dataframe[0].value) > 0
    at.selectbox(key="placement_pick").select(pid).run()
    # The tutor's rating is optional: no default note is saved silently.
    assert at.selectbox(key=f"evaluation_{pid}__tutor_rating").value is None
    at.selectbox(key=f"evaluation_{pid}__tutor_rating").select(5)
    at.selectbox(key=f"evaluation_{pid}__outcome").select("employment")
    at.button(key=f"FormSubmitter:evaluation_{pid}-Enregistrer l'évaluation").click().run()
    assert not at.exception
    assert at.success[0].value == "Évaluation enregistrée."
    at.selectbox(key="placement_pick").select(pid).run()
    at.button(key=f"to_done_{pid}").click().run()
    assert "Terminée" in at.success[0].value
    engine, s = _db(demo_copy)
    got = s.get(Placement, pid)
    assert (got.status, got.tutor_rating, got.outcome) == ("done", 5, "employment")
    s.close()
    engine.dispose()


def test_period_not_ended_says_when_it_can_be_closed_and_rated(demo_copy, monkeypatch):
    end = dt.date.today() + dt.timedelta(days=5)
    pid = _period_in_progress_ending(demo_copy, end)
    at = open_page(app_as(demo_copy, monkeypatch, "trainer"), "pages/placements.py")
    at.selectbox(key="placement_pick").select(pid).run()
    assert not at.exception
    # « Terminée » is not offered before the end date; the page says why instead.
    assert f"to_done_{pid}" not in [b.key for b in at.button]
    captions = [c.value for c in at.caption]
    assert (
        f"« Terminée » : la période se termine le {end:%d/%m/%Y} : pas encore « terminée »."
        in captions
    )
    assert any(c.startswith("Note et sortie : ") and f"{end:%d/%m/%Y}" in c for c in captions)
    assert at.selectbox(key=f"evaluation_{pid}__tutor_rating").disabled
    assert at.selectbox(key=f"evaluation_{pid}__outcome").disabled
    # What can be noted during the period still is.
    at.text_area(key=f"evaluation_{pid}__tutor_feedback").input("Ponctuel, curieux.")
    at.button(key=f"FormSubmitter:evaluation_{pid}-Enregistrer l'évaluation").click().run()
    assert at.success[0].value == "Évaluation enregistrée."
    engine, s = _db(demo_copy)
    got = s.get(Placement, pid)
    assert (got.status, got.tutor_feedback, got.tutor_rating) == (
        "in_progress",
        "Ponctuel, curieux.",
        None,
    )
    s.close()
    engine.dispose()


def test_officer_cannot_open_trainer_pages(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, "officer")
    for page in ("pages/learners.py", "pages/suggestions.py", "pages/placements.py"):
        at = open_page(at, page)
        assert "Accès refusé" in at.error[0].value
        assert len(at.dataframe) == 0


def test_admin_sees_every_site_and_placements(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, "admin")
    at = open_page(at, "pages/learners.py")
    assert not at.exception
    sites = at.selectbox(key="learners_site").options
    assert len(sites) == 4
    at = open_page(at, "pages/placements.py")
    assert not at.exception
    assert len(at.dataframe[0].value) > 0


def test_learners_page_imports_through_the_shared_importer(demo_copy, monkeypatch):
    """Stagiaires page: same form as Import / export (preview, dry run, rejected rows);
    rows without a site column go to the page's site; the form's rules apply."""
    at = open_page(app_as(demo_copy, monkeypatch, "trainer"), "pages/learners.py")
    before = len(at.dataframe[0].value)
    at.text_area(key="learners_import_paste").input(
        "ref,Prénom,Nom,entry_date,Ville,Code postal,project_rome,mobility\n"
        "IMP-1,Zoé,Xylophone,01/09/2026,Toulon,83000,D1106,walk;transit\n"
        "IMP-2,Yan,Wapiti,2026-09-01,Toulon,83000,Z0000,teleport\n"
    ).run()
    assert not at.exception
    assert len(at.dataframe[1].value) == 2  # preview; [0] is the learners table
    at.button(key="learners_import_check").click().run()
    assert "Essai à blanc : rien n'a été enregistré" in at.info[0].value
    errors = at.dataframe[2].value
    assert list(errors["Ligne"]) == [3]
    assert "code ROME inconnu" in errors["Motif"][0] and "mode inconnu" in errors["Motif"][0]
    assert _learner_id(demo_copy, "IMP-1") is None  # the dry run saved nothing
    at.checkbox(key="learners_import_skip").check()
    at.button(key="learners_import_go").click().run()
    assert not at.exception
    assert "1 créée(s)" in at.success[0].value
    assert len(at.dataframe[0].value) == before + 1  # the list shows the new learner
    engine, s = _db(demo_copy)
    lr = s.get(Learner, _learner_id(demo_copy, "IMP-1"))
    assert lr.site.name == "TPM" and lr.entry_date == dt.date(2026, 9, 1)
    s.close()
    engine.dispose()
