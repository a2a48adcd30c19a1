"""AppTest for the officers' pages (issue 12): forms keep what was typed, errors under fields,
bounds, literal user text, ?entreprise=ID links, remembered filters, ended offers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from crm.db import make_engine, make_session_factory
from crm.models import Company, Contact, Interaction, Offer, User
from pages._forms import md_escape
from tests.support.ui import app_as, open_page

MARKDOWN = "[lien](https://exemple.fr) **URGENT**"


def db(url, fn):
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        out = fn(s)
        s.commit()
    engine.dispose()
    return out


def _officer_sites(s):
    return {site.id for site in s.scalar(select(User).where(User.username == "officer")).sites}


def own_company(s) -> int:
    return s.scalar(
        select(Company.id)
        .where(Company.site_id.in_(_officer_sites(s)), Company.merged_into_id.is_(None))
        .order_by(Company.id)
    )


def foreign_company(s) -> int:
    return s.scalar(
        select(Company.id)
        .where(Company.site_id.not_in(_officer_sites(s)), Company.merged_into_id.is_(None))
        .order_by(Company.id)
    )


def flat(node) -> list:
    """Every element of the page in display order."""
    out = []
    for child in getattr(node, "children", {}).values():
        out.append(child)
        out.extend(flat(child))
    return out


def error_after(at, widget) -> str | None:
    elements = flat(at.main)
    i = next(k for k, e in enumerate(elements) if e is widget or e.proto is widget.proto)
    for e in elements[i + 1 :]:
        if getattr(e, "type", None) in ("error",) or e.__class__.__name__ == "Error":
            return e.value
        if hasattr(e, "key") and e.key and e.key != widget.key:
            return None  # next widget reached: no error under this one
    return None


def test_refused_offer_keeps_values_with_error_under_the_field(demo_copy, monkeypatch):
    cid = db(demo_copy, own_company)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/company.py", company_id=cid)
    assert not at.exception
    seats = at.number_input(key=f"add_offer_{cid}__seats")
    assert seats.value == 1 and "(1 à 500)" in seats.label  # the service rule, in French
    at.text_input(key=f"add_offer_{cid}__rome_code").input("D1106")
    at.text_input(key=f"add_offer_{cid}__title").input("Mise en rayon")
    at.number_input(key=f"add_offer_{cid}__seats").set_value(3)
    at.date_input(key=f"add_offer_{cid}__start_date").set_value(dt.date(2027, 3, 10))
    at.date_input(key=f"add_offer_{cid}__end_date").set_value(dt.date(2027, 3, 1))
    at.button(key=f"FormSubmitter:add_offer_{cid}-Ajouter l'offre").click().run()
    assert not at.exception
    # Everything typed is still there...
    assert at.text_input(key=f"add_offer_{cid}__rome_code").value == "D1106"
    assert at.text_input(key=f"add_offer_{cid}__title").value == "Mise en rayon"
    assert at.number_input(key=f"add_offer_{cid}__seats").value == 3
    assert at.date_input(key=f"add_offer_{cid}__start_date").value == dt.date(2027, 3, 10)
    # ... and the French message is right under the "Fin" field, not elsewhere.
    assert error_after(at, at.date_input(key=f"add_offer_{cid}__end_date")) == (
        "La fin doit être après le début."
    )
    assert error_after(at, at.date_input(key=f"add_offer_{cid}__start_date")) is None
    assert not db(
        demo_copy, lambda s: s.scalar(select(Offer).where(Offer.title == "Mise en rayon"))
    )

    # Fixed: saved, the form is emptied.
    at.date_input(key=f"add_offer_{cid}__end_date").set_value(dt.date(2027, 4, 1))
    at.button(key=f"FormSubmitter:add_offer_{cid}-Ajouter l'offre").click().run()
    assert "Offre ajoutée." in [s.value for s in at.success]
    assert at.text_input(key=f"add_offer_{cid}__title").value == ""
    offer = db(demo_copy, lambda s: s.scalar(select(Offer).where(Offer.title == "Mise en rayon")))
    assert (offer.seats, offer.end_date) == (3, dt.date(2027, 4, 1))


@pytest.mark.parametrize("places", [0, -3, 501])
def test_out_of_bounds_places_refused_in_french_under_the_field(demo_copy, monkeypatch, places):
    cid = db(demo_copy, own_company)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/company.py", company_id=cid)
    at.text_input(key=f"add_offer_{cid}__rome_code").input("D1106")
    at.text_input(key=f"add_offer_{cid}__title").input("Hors bornes")
    at.number_input(key=f"add_offer_{cid}__seats").set_value(places)
    at.button(key=f"FormSubmitter:add_offer_{cid}-Ajouter l'offre").click().run()
    message = error_after(at, at.number_input(key=f"add_offer_{cid}__seats"))
    assert message and ("au moins 1" in message or "au plus 500" in message)
    assert at.number_input(key=f"add_offer_{cid}__seats").value == places  # kept
    assert at.text_input(key=f"add_offer_{cid}__title").value == "Hors bornes"
    assert not db(demo_copy, lambda s: s.scalar(select(Offer).where(Offer.title == "Hors bornes")))


def test_text_inputs_are_bounded_by_their_columns(demo_copy, monkeypatch):
    cid = db(demo_copy, own_company)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/company.py", company_id=cid)
    col = Interaction.__table__.c
    assert at.text_input(key=f"log_company_{cid}__next_action").proto.max_chars == (
        col.next_action.type.length
    )
    assert at.text_input(key=f"add_contact_{cid}__last_name").proto.max_chars == (
        Contact.__table__.c.last_name.type.length
    )
    assert at.text_input(key=f"edit_company_{cid}__name").proto.max_chars == (
        Company.__table__.c.name.type.length
    )


def test_refused_contact_note_keeps_values(demo_copy, monkeypatch):
    cid = db(demo_copy, own_company)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/company.py", company_id=cid)
    at.text_area(key=f"log_company_{cid}__summary").input("Appel au gérant")
    at.date_input(key=f"log_company_{cid}__next_action_due").set_value(
        dt.date.today() + dt.timedelta(days=3)
    )
    at.button(key=f"FormSubmitter:log_company_{cid}-Enregistrer le contact").click().run()
    assert at.text_area(key=f"log_company_{cid}__summary").value == "Appel au gérant"
    assert "prochaine action" in error_after(
        at, at.text_input(key=f"log_company_{cid}__next_action")
    )


def test_user_text_is_shown_literally(demo_copy, monkeypatch):
    cid = db(demo_copy, own_company)

    def add(s):
        officer = s.scalar(select(User).where(User.username == "officer"))
        s.add(
            Interaction(
                company_id=cid,
                author_id=officer.id,
                kind="call",
                summary="Appel",
                next_action=MARKDOWN,
                next_action_due=dt.date.today(),
            )
        )

    db(demo_copy, add)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/followups.py")
    assert not at.exception
    shown = [m.value for m in at.markdown]
    assert f"**{md_escape(MARKDOWN)}**" in shown
    assert not any("](https://exemple.fr)" in m and "\\]" not in m for m in shown)


def test_deep_link_opens_the_company_and_refuses_unknown_ids(demo_copy, monkeypatch):
    cid = db(demo_copy, own_company)
    name = db(demo_copy, lambda s: s.get(Company, cid).name)
    at = app_as(demo_copy, monkeypatch, "officer")
    at.query_params["entreprise"] = str(cid)
    at.run()
    assert not at.exception
    assert at.title[0].value == md_escape(name)
    assert at.query_params["entreprise"] == [str(cid)] or at.query_params["entreprise"] == str(cid)
    assert len(at.expander) > 0  # own site: the write forms are there

    # Another site's company: companies are read by every site, never written.
    other = db(demo_copy, foreign_company)
    at = app_as(demo_copy, monkeypatch, "officer")
    at.query_params["entreprise"] = str(other)
    at.run()
    assert at.title[0].value == md_escape(db(demo_copy, lambda s: s.get(Company, other).name))
    assert any("consultation seulement" in i.value for i in at.info)
    assert len(at.expander) == 0

    for bad, message in (("999999", "introuvable"), ("abc", "Lien invalide")):
        at = app_as(demo_copy, monkeypatch, "officer")
        at.query_params["entreprise"] = bad
        at.run()
        assert not at.exception
        assert any(message in e.value for e in at.error), [e.value for e in at.error]
        assert at.title[0].value == "Fiche entreprise"


def test_company_picker_tells_homonyms_apart(demo_copy, monkeypatch):
    cid = db(demo_copy, own_company)

    def twin(s):
        c = s.get(Company, cid)
        s.add(Company(name=c.name, city="Hyères", site_id=c.site_id, status="prospect"))
        return c.name

    name = db(demo_copy, twin)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/journal.py")
    labels = [o for o in at.selectbox(key="journal_company").options if o.startswith(name + " —")]
    assert len(labels) == 2 and len(set(labels)) == 2
    assert any("Hyères" in label for label in labels)


def test_company_filters_survive_another_page(demo_copy, monkeypatch):
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/companies.py")
    at.text_input(key="company_search").input("mistral").run()
    at.checkbox(key="company_free").check().run()
    before = list(at.dataframe[0].value["Entreprise"])
    at = open_page(at, "pages/offers.py")
    assert at.title[0].value == "Capacité d'accueil"
    at = open_page(at, "pages/companies.py")
    assert at.text_input(key="company_search").value == "mistral"
    assert at.checkbox(key="company_free").value is True
    assert list(at.dataframe[0].value["Entreprise"]) == before


def test_new_company_form_is_at_the_top(demo_copy, monkeypatch):
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/companies.py")
    elements = flat(at.main)
    kinds = [getattr(e, "key", None) for e in elements]
    assert kinds.index("new_company__name") < kinds.index("company_search")


def test_capacity_shows_ended_offers_as_ended(demo_copy, monkeypatch):
    cid = db(demo_copy, own_company)
    db(
        demo_copy,
        lambda s: s.add(
            Offer(
                company_id=cid,
                rome_code="D1106",
                title="Offre passée",
                seats=4,
                status="open",
                start_date=dt.date(2025, 1, 6),
                end_date=dt.date(2025, 2, 28),
            )
        ),
    )
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/offers.py")
    df = at.dataframe[0].value
    assert not any("Offre passée" in m for m in df["Métier"])  # not current capacity
    at.checkbox(key="offers_closed").check().run()
    df = at.dataframe[0].value
    row = df[df["Métier"].str.contains("Offre passée")].iloc[0]
    assert (row["Statut"], row["Libres"], row["Au"]) == ("Terminée", 0, "28/02/2025")
    assert "None" not in df.astype(str).to_numpy().ravel().tolist()


def test_followup_shows_phone_company_link_and_takes_a_note(demo_copy, monkeypatch):
    cid = db(demo_copy, own_company)

    def add(s):
        officer = s.scalar(select(User).where(User.username == "officer"))
        ct = Contact(company_id=cid, first_name="Léa", last_name="Martin", phone="04 94 11 22 33")
        s.add(ct)
        s.flush()
        i = Interaction(
            company_id=cid,
            contact_id=ct.id,
            author_id=officer.id,
            kind="call",
            summary="Appel",
            next_action="Rappeler Léa",
            next_action_due=dt.date.today(),
        )
        s.add(i)
        s.flush()
        return i.id

    iid = db(demo_copy, add)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), "pages/followups.py")
    assert any("04 94 11 22 33" in m.value for m in at.markdown)
    links = [p for p in flat(at.main) if p.__class__.__name__ == "PageLink"]
    assert any(p.proto.query_string == f"entreprise={cid}" for p in links) or links
    at.text_input(key=f"fu_{iid}__note").input("RDV fixé le 12")
    at.button(key=f"done_{iid}").click().run()
    assert not at.exception
    done, outcome = db(
        demo_copy,
        lambda s: (s.get(Interaction, iid).next_action_done, s.get(Interaction, iid).outcome),
    )
    assert done and outcome == "RDV fixé le 12"
    assert "Relance marquée comme faite." in [s.value for s in at.success]


@pytest.mark.parametrize(
    "page",
    [
        "pages/companies.py",
        "pages/company.py",
        "pages/journal.py",
        "pages/offers.py",
        "pages/duplicates.py",
        "pages/geocoding.py",
    ],
)
def test_no_none_and_french_dates_in_tables(demo_copy, monkeypatch, page):
    cid = db(demo_copy, own_company)
    at = open_page(app_as(demo_copy, monkeypatch, "officer"), page, company_id=cid)
    assert not at.exception
    for frame in at.dataframe:
        cells = frame.value.astype(str).to_numpy().ravel().tolist()
        assert not {"None", "nan", "NaT"} & set(cells), page
        for col in ("Date", "Du", "Au", "Échéance", "Dernier contact"):
            if col in frame.value.columns:
                for v in frame.value[col]:
                    assert v == "" or (v[2] == "/" and v[5] == "/"), (page, col, v)
