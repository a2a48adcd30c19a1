"""AppTest: the Prospection page as an officer — ranked register establishments, one click
"Ajouter comme prospect" (no duplicate when clicked twice), then "Noter un contact"."""

from __future__ import annotations

import shutil
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from crm.auth import SYSTEM
from crm.db import make_engine, make_session_factory
from crm.models import Company, Interaction, Learner, Site, User
from crm.services.prospecting.sirene import import_sirene
from tests.services.test_prospecting import register_rows
from tests.support.sirene import write_register
from tests.support.ui import app_as, open_page

PAGE = "pages/prospecting.py"


@pytest.fixture
def demo_register(demo_sqlite_url, tmp_path) -> str:
    dst = tmp_path / "demo.db"
    shutil.copy(urlparse(demo_sqlite_url).path, dst)
    url = f"sqlite:///{dst}"
    engine = make_engine(url)
    import_sirene(
        engine, SYSTEM, write_register(tmp_path / "r.csv", register_rows()), departements="83"
    )
    engine.dispose()
    return url


def _prospects_for_job(at):
    at.radio(key="prospect_mode").set_value("job").run()
    at.selectbox(key="prospect_rome").set_value("G1803").run()
    assert not at.exception
    return [b for b in at.button if b.label == "Ajouter comme prospect"]


def _companies(url, siret):
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        rows = list(s.scalars(select(Company).where(Company.siret == siret)))
        officer = s.scalar(select(User.id).where(User.username == "officer"))
        n_interactions = {
            c.id: s.scalar(
                select(func.count()).select_from(Interaction).where(Interaction.company_id == c.id)
            )
            for c in rows
        }
    engine.dispose()
    return rows, officer, n_interactions


def test_officer_adds_a_prospect_once_and_notes_a_contact(demo_register, monkeypatch):
    at = open_page(app_as(demo_register, monkeypatch, "officer"), PAGE)
    assert not at.exception
    assert at.title[0].value == "Prospection"
    buttons = _prospects_for_job(at)
    assert buttons, "no establishment listed"
    captions = " ".join(c.value for c in at.caption)
    assert "NAF 56.10A recrute" in captions and "salariés" in captions
    first = buttons[0]
    siret = first.key.removeprefix("prospect_add_")
    # A second tab showing the same list (the double click that arrives late).
    other_tab = open_page(app_as(demo_register, monkeypatch, "officer"), PAGE)
    _prospects_for_job(other_tab)

    first.click().run()
    assert not at.exception
    assert any("ajoutée comme prospect" in s.value for s in at.success)
    rows, officer_id, _ = _companies(demo_register, siret)
    assert len(rows) == 1
    company = rows[0]
    assert (company.status, company.source, company.owner_id) == ("prospect", "sirene", officer_id)
    # Now in the CRM: no longer offered as a prospect.
    assert siret not in [b.key.removeprefix("prospect_add_") for b in at.button if b.key]

    other_tab.button(key=f"prospect_add_{siret}").click().run()
    assert any("déjà dans le CRM" in s.value for s in other_tab.success)
    rows, _, _ = _companies(demo_register, siret)
    assert len(rows) == 1, "second click created a duplicate"

    # « Noter un contact » straight after.
    at.text_input[0].input("Appel au gérant : présentation de l'E2C")
    at.text_input[1].input("Intéressé, rappeler lundi")
    next(b for b in at.button if b.label == "Enregistrer le contact").click().run()
    assert not at.exception
    assert any("Contact noté" in s.value for s in at.success)
    rows, _, interactions = _companies(demo_register, siret)
    assert rows[0].status == "contacted" and interactions[rows[0].id] == 1


def test_manager_reads_prospects_without_adding(demo_register, monkeypatch):
    at = open_page(app_as(demo_register, monkeypatch, "manager"), PAGE)
    assert not at.exception
    at.radio(key="prospect_mode").set_value("job").run()
    engine = make_engine(demo_register)
    with make_session_factory(engine)() as s:
        tpm = s.scalar(select(Site.id).where(Site.name == "TPM"))
    engine.dispose()
    at.selectbox(key="prospect_site").set_value(tpm).run()
    at.selectbox(key="prospect_rome").set_value("G1803").run()
    assert not at.exception
    assert any("NAF 56.10A recrute" in c.value for c in at.caption)
    assert not [b for b in at.button if b.label == "Ajouter comme prospect"]


def test_suggestions_without_offer_link_to_prospecting(demo_register, monkeypatch):
    """No offer passes the filters: Suggestions offers « Trouver des entreprises à démarcher »,
    which opens Prospection on the same learner with the register's establishments."""
    engine = make_engine(demo_register)
    with make_session_factory(engine)() as s:
        lid = s.scalar(select(Learner.id).where(Learner.ref == "DEMO-L0015"))
    engine.dispose()
    at = open_page(
        app_as(demo_register, monkeypatch, "trainer"), "pages/suggestions.py", learner_id=lid
    )
    assert not at.exception
    at.slider(key=f"suggest_minutes_{lid}").set_value(5).run()  # nothing within 5 minutes
    assert any("Aucune offre ne passe les filtres" in m.value for m in at.info)
    links = [el for el in at.get("page_link") if "démarcher" in el.proto.label]
    assert links and links[0].proto.page == "prospecting"
    at.switch_page("pages/prospecting.py").run()
    assert not at.exception
    assert at.selectbox(key="prospect_learner").value == lid
