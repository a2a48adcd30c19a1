"""Headless Chromium: the trainer is kept out of the admin pages; the admin reaches them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import chromium_page, login, streamlit_server

pytestmark = pytest.mark.browser

ADMIN_TITLES = ("Journal d'audit", "Utilisateurs", "Paramètres")


def _nav_labels(page) -> list[str]:
    links = page.get_by_test_id("stSidebarNavLink")
    expect(links.first).to_be_visible()
    return [t.strip() for t in links.all_inner_texts()]


def test_trainer_is_denied_the_admin_pages(demo_copy, tmp_path):
    with streamlit_server(demo_copy) as base, chromium_page(tmp_path) as page:
        login(page, base, "trainer")
        expect(page.get_by_role("heading", name="Stagiaires").first).to_be_visible()
        labels = _nav_labels(page)
        assert "Mon compte" in labels
        assert not set(ADMIN_TITLES) & set(labels)

        # Opening the admin URL directly: the session survives (cookie), the rights do
        # not change: the trainer lands on their own page, never on the audit trail.
        page.goto(f"{base}/admin_audit")
        expect(page.get_by_role("heading", name="Stagiaires").first).to_be_visible()
        page.keyboard.press("Escape")  # Streamlit's "page not found" notice, if shown
        for title in ADMIN_TITLES:
            expect(page.get_by_role("heading", name=title)).to_have_count(0)
        expect(page.get_by_text("événement(s)")).to_have_count(0)
        assert not set(ADMIN_TITLES) & set(_nav_labels(page))
        page.screenshot(path=str(tmp_path / "trainer.png"), full_page=True)


def test_admin_sees_the_audit_trail(demo_copy, tmp_path):
    with streamlit_server(demo_copy) as base, chromium_page(tmp_path) as page:
        login(page, base, "admin")
        labels = _nav_labels(page)
        assert set(ADMIN_TITLES) <= set(labels)
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Journal d'audit").click()
        expect(page.get_by_role("heading", name="Journal d'audit")).to_be_visible()
        expect(page.get_by_test_id("stDataFrame")).to_be_visible()
        expect(page.get_by_text("événement(s)")).to_be_visible()
