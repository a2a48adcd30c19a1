"""AppTest: login, role navigation, companies list and company file."""

from __future__ import annotations

from sqlalchemy import select

from crm.db import make_engine, make_session_factory
from crm.models import Company
from tests.support.ui import app_as, open_page


def test_login_page_first_then_companies(demo_copy, monkeypatch):
    at = app_as(demo_copy, monkeypatch, None).run()
    assert not at.exception
    assert at.title[0].value == "Passerelle"
    at.text_input[0].input("officer")
    at.text_input[1].input("mauvais mot de passe")
    at.button[0].click().run()
    assert "incorrect" in at.error[0].value
    assert "actor" not in at.session_state
    at.text_input[0].input("officer")
    at.text_input[1].input("passerelle-demo")
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Entreprises"
    assert any("officer" in m.value for m in at.sidebar.markdown)


def test_companies_list_search_and_open(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, "officer")
    at = open_page(at, "pages/companies.py")
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) >= 120
    at.text_input(key="company_search").input("réseau mistral").run()
    table = at.dataframe[0].value
    assert list(table["Entreprise"]) == ["Réseau Mistral"]
    assert "1 entreprise" in at.caption[0].value


def test_company_file_shows_identity_contacts_capacity(demo_sqlite_url, monkeypatch):
    engine = make_engine(demo_sqlite_url)
    with make_session_factory(engine)() as s:
        company = s.scalar(select(Company).where(Company.name == "Marine Levage"))
        cid, siret = company.id, company.siret
    engine.dispose()
    at = app_as(demo_sqlite_url, monkeypatch, "manager")
    at = open_page(at, "pages/company.py", company_id=cid)
    assert not at.exception
    assert at.title[0].value == "Marine Levage"
    assert any(siret in m.value for m in at.markdown)
    assert len(at.dataframe) >= 3  # contacts, capacity, contact history
    assert "Places" in at.dataframe[1].value.columns


def test_logged_out_user_cannot_open_a_page(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, None)
    at = open_page(at, "pages/companies.py")
    assert at.warning[0].value.startswith("Connectez-vous")
    assert len(at.dataframe) == 0
