"""AppTest: the managers' Tableau de bord."""

from __future__ import annotations

import datetime as dt
import json

from crm.models import Role
from tests.factories import make_actor
from tests.services.test_stats import network  # noqa: F401 - fixture
from tests.support.ui import app_as, open_page


def test_manager_lands_on_dashboard_with_kpis_tables_and_filters(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, "manager").run()
    assert not at.exception
    assert at.title[0].value == "Tableau de bord"  # the manager's default page
    sites = at.multiselect(key="dash_sites")
    assert sorted(sites.options) == sorted(["TPM", "CAVEM", "Provence Verte", "Dracénie"])
    labels = [m.label for m in at.metric]
    assert "Stagiaires entrés" in labels and "Taux d'occupation" in labels
    assert len(at.metric) == 10
    assert len(at.dataframe) >= 10
    report = at.dataframe[0].value
    # The tables are shown under their French column titles.
    assert list(report.columns) == [
        "Site",
        "Ouverture",
        "Stagiaires entrés",
        "Prévision",
        "Entreprises ayant reçu des stagiaires",
    ]
    # Charts read English fields but name them in French (axes, tooltips).
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    encodings = [s.get("encoding") or s["spec"]["encoding"] for s in specs]
    assert {t["title"] for e in encodings for t in e["tooltip"]} == {
        "Site",
        "Places",
        "Nombre",
        "Mois",
        "Stages",
        "Sortie",
        "Stagiaires",
        "Chargé(e)",
        "Contacts",
    }
    # Unused offers name their company: a click on a row opens its file.
    assert "Cliquez sur une ligne pour ouvrir la fiche de l'entreprise." in [
        c.value for c in at.caption
    ]
    assert list(report["Site"])[-1] == "Total"
    assert len(report) == 5
    # Empty cells are empty, never "None" (the Total row has no opening date).
    assert report["Ouverture"].iloc[-1] == ""
    assert not report.isna().any().any()
    # Narrow to one site and one sector: the tables follow.
    tpm_id = sites.value[sites.options.index("TPM")]  # options are labels, values site ids
    sites.set_value([tpm_id]).run()
    at.selectbox(key="dash_sector").set_value("G").run()
    assert not at.exception
    assert list(at.dataframe[0].value["Site"]) == ["TPM", "Total"]
    assert "secteur G" in at.caption[0].value
    assert list(at.dataframe[1].value["Section NAF"]) == ["G", "Total"]
    # A custom period shows its two dates.
    at.selectbox(key="dash_period").set_value("custom").run()
    assert not at.exception
    assert len(at.date_input) == 2
    # A period ending before it starts is refused, the field named in French.
    at.date_input(key="dash_from").set_value(dt.date.today() + dt.timedelta(days=1)).run()
    assert not at.exception
    assert at.error
    assert any("**Période**" in m.value for m in at.markdown)
    at.date_input(key="dash_from").set_value(dt.date(dt.date.today().year, 1, 1)).run()
    assert not at.error
    keys = {b.key for b in at.get("download_button")}
    assert {"dl_quarterly", "dl_csv_school_report", "dl_xlsx_capacity"} <= keys


def test_single_site_manager_only_picks_and_sees_own_site(db_url, session, network, monkeypatch):  # noqa: F811
    actor = make_actor(session, Role.MANAGER, network["cavem"], username="chef-cavem")
    session.commit()
    at = app_as(db_url, monkeypatch, actor.username)
    at = open_page(at, "pages/dashboard.py")
    assert not at.exception
    assert at.multiselect(key="dash_sites").options == ["CAVEM"]
    assert list(at.dataframe[0].value["Site"]) == ["CAVEM", "Total"]


def test_officer_cannot_open_dashboard_admin_can(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, "officer")
    at = open_page(at, "pages/dashboard.py")
    assert "Accès refusé" in at.error[0].value
    assert len(at.dataframe) == 0
    at = app_as(demo_sqlite_url, monkeypatch, "admin")
    at = open_page(at, "pages/dashboard.py")
    assert not at.exception
    assert at.title[0].value == "Tableau de bord"
    assert len(at.multiselect(key="dash_sites").options) == 4


def test_dashboard_filters_survive_a_visit_to_another_page(demo_sqlite_url, monkeypatch):
    at = app_as(demo_sqlite_url, monkeypatch, "manager").run()
    sites = at.multiselect(key="dash_sites")
    tpm_id = sites.value[sites.options.index("TPM")]
    sites.set_value([tpm_id]).run()
    at.selectbox(key="dash_period").set_value("last_quarter").run()
    at.selectbox(key="dash_sector").set_value("G").run()
    assert not at.exception
    at.switch_page("pages/companies.py").run()
    assert not at.exception and at.title[0].value == "Entreprises"
    at.switch_page("pages/dashboard.py").run()
    assert not at.exception
    assert at.multiselect(key="dash_sites").value == [tpm_id]
    assert at.selectbox(key="dash_period").value == "last_quarter"
    assert at.selectbox(key="dash_sector").value == "G"
    assert list(at.dataframe[0].value["Site"]) == ["TPM", "Total"]
