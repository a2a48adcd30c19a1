"""End to end in headless Chromium: an officer logs a contact with a next action and sees it in Mes relances."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import chromium_page, login, streamlit_server

pytestmark = pytest.mark.browser


def test_officer_logs_contact_and_sees_followup(demo_copy, tmp_path):
    with streamlit_server(demo_copy) as base, chromium_page(tmp_path) as page:
        login(page, base, "officer")
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Journal de contacts").click()
        expect(page.get_by_role("heading", name="Journal de contacts").first).to_be_visible()
        page.get_by_test_id("stSelectbox").filter(has_text="Entreprise").click()
        page.keyboard.type("Marine Levage")
        page.get_by_role("option", name="Marine Levage").first.click()
        summary = page.get_by_label("Résumé *")
        expect(summary).to_be_visible()
        summary.fill("Appel au responsable d'atelier")
        page.get_by_label("Prochaine action").fill("Envoyer la convention de PMSMP")
        page.get_by_test_id("stFormSubmitButton").filter(has_text="Enregistrer le contact").click()
        expect(page.get_by_text("Contact enregistré dans le journal.")).to_be_visible()

        page.get_by_test_id("stSidebarNavLink").filter(has_text="Mes relances").click()
        expect(page.get_by_role("heading", name="Mes relances").first).to_be_visible()
        expect(page.get_by_text("Envoyer la convention de PMSMP")).to_be_visible()
        expect(page.get_by_text("Marine Levage").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "followups.png"), full_page=True)
