"""End to end in headless Chromium: the demo officer logs in and opens a company."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser_officer import click_first_row
from tests.support.browser import chromium_page, login, streamlit_server

pytestmark = pytest.mark.browser


def test_officer_logs_in_lists_companies_and_opens_one(demo_copy, tmp_path):
    with streamlit_server(demo_copy) as base, chromium_page(tmp_path) as page:
        login(page, base, "officer")
        expect(page.get_by_role("heading", name="Entreprises").first).to_be_visible()
        grid = page.get_by_test_id("stDataFrame")
        expect(grid).to_be_visible()
        page.get_by_label("Rechercher (nom, SIRET, ville)").fill("Marine Levage")
        page.keyboard.press("Enter")
        expect(page.get_by_text("1 entreprise(s)", exact=True)).to_be_visible()
        # One click on the row opens the company file.
        click_first_row(page)
        expect(page.get_by_role("heading", name="Marine Levage")).to_be_visible()
        expect(page.get_by_role("heading", name="Capacité d'accueil")).to_be_visible()
        page.screenshot(path=str(tmp_path / "company.png"), full_page=True)
