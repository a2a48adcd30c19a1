"""End to end in headless Chromium: a trainer opens Suggestions for a learner and sees the reasons."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support.browser import chromium_page, login, streamlit_server

pytestmark = pytest.mark.browser


def test_trainer_opens_suggestions_and_sees_reasons(demo_copy, tmp_path):
    with streamlit_server(demo_copy) as base, chromium_page(tmp_path) as page:
        login(page, base, "trainer")
        # The trainer lands on Stagiaires.
        expect(page.get_by_role("heading", name="Stagiaires").first).to_be_visible()
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Suggestions").click()
        expect(page.get_by_role("heading", name="Suggestions").first).to_be_visible()
        page.get_by_test_id("stSelectbox").filter(has_text="Stagiaire").click()
        page.keyboard.type("D1208")  # a learner whose project includes D1208
        page.get_by_role("option").first.click()
        # Each suggestion explains itself: job fit, minutes and mode, skills.
        reason = re.compile(
            r"^(Même métier|Métier voisin|Même domaine|Autre métier).*\d+ min .*\d+/\d+ compétences"
        )
        expect(page.get_by_text(reason).first).to_be_visible()
        expect(page.get_by_text(re.compile(r"^1\. ")).first).to_be_visible()
        expect(page.get_by_role("button", name="Proposer").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "suggestions.png"), full_page=True)
