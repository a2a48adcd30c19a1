"""Maps in headless Chromium with the offline outline background (tiles unreachable).

The maps are saved under the test's tmp_path (``make screenshots`` makes the docs' images).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import chromium_page, login, map_shot, streamlit_server

pytestmark = pytest.mark.browser

# Port 9 (discard) on localhost: nothing listens, the tile probe fails at once.
UNREACHABLE_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"


def test_maps_fall_back_to_outlines_and_open_records(demo_copy, tmp_path):
    with (
        streamlit_server(demo_copy, PASSERELLE_MAP_TILES=UNREACHABLE_TILES) as base,
        chromium_page(tmp_path) as page,
    ):
        page.set_default_timeout(120_000)  # 2 shared cores: first renders are slow
        login(page, base, "manager")
        expect(page.get_by_role("heading", name="Tableau de bord").first).to_be_visible()
        page.get_by_role("tab", name="Carte").click()
        map_shot(page, tmp_path / "map_dashboard.png")
        page.get_by_text("Secteur", exact=True).last.click()
        expect(page.get_by_text("Autres secteurs").first).to_be_visible()

        page.goto(f"{base}/?entreprise=1")
        expect(page.get_by_text("Contacts et tuteurs").first).to_be_visible()
        map_shot(page, tmp_path / "map_company.png")
        expect(page.get_by_text("gris : entreprises voisines").first).to_be_visible()

    with (
        streamlit_server(demo_copy, PASSERELLE_MAP_TILES=UNREACHABLE_TILES) as base,
        chromium_page(tmp_path) as page,
    ):
        page.set_default_timeout(120_000)
        login(page, base, "trainer")
        page.get_by_test_id("stSidebarNavLink").filter(has_text="Suggestions").click()
        expect(page.get_by_role("heading", name="Suggestions").first).to_be_visible()
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option").first.click()
        map_shot(page, tmp_path / "map_suggestions.png")
        expect(page.get_by_text("numérotées comme dans la liste").first).to_be_visible()
