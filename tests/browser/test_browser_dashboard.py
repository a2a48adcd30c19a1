"""End to end in headless Chromium: the demo manager opens the dashboard and downloads an export."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from crm.db import make_engine, make_session_factory
from crm.models import AuditEvent
from tests.support.browser import chromium_page, login, streamlit_server

pytestmark = pytest.mark.browser


def test_manager_opens_dashboard_and_downloads_school_report_csv(demo_copy, tmp_path):
    with (
        streamlit_server(demo_copy) as base,
        chromium_page(tmp_path, accept_downloads=True) as page,
    ):
        login(page, base, "manager")
        expect(page.get_by_role("heading", name="Tableau de bord").first).to_be_visible()
        expect(page.get_by_test_id("stMetric").first).to_be_visible()
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
        button = page.get_by_role("button", name="Télécharger (CSV)").first
        with page.expect_download() as info:
            button.click()
        download = info.value
        assert download.suggested_filename.startswith("school_report_")
        assert download.suggested_filename.endswith(".csv")
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        text = path.read_bytes().decode("utf-8-sig")
        lines = text.strip().splitlines()
        assert lines[0] == (
            "Site;Ouverture;Stagiaires entrés;Prévision;Entreprises ayant reçu des stagiaires"
        )
        assert [line.split(";")[0] for line in lines[1:]] == [
            "CAVEM",
            "Dracénie",
            "Provence Verte",
            "TPM",
            "Total",
        ]
        assert lines[4].startswith("TPM;2017-03-13;")
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    engine = make_engine(demo_copy)
    with make_session_factory(engine)() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    engine.dispose()
    assert [(e.actor_name, e.details["table"], e.details["format"]) for e in events] == [
        ("manager", "school_report", "csv")
    ]
