"""In headless Chromium: the companies page draws the deck.gl map, offline (no external host)."""

from __future__ import annotations

import io
from urllib.parse import urlparse

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.support.browser import chromium_page, login, streamlit_server

pytestmark = pytest.mark.browser


def test_companies_page_draws_the_map_without_external_requests(demo_copy, tmp_path):
    with (
        streamlit_server(demo_copy, PASSERELLE_GEOCODER="offline") as base,
        chromium_page(tmp_path) as page,
    ):
        hosts: set[str] = set()
        page.on(
            "request", lambda req: hosts.add(urlparse(req.url).hostname or req.url.split(":")[0])
        )
        login(page, base, "officer")
        expect(page.get_by_role("heading", name="Carte")).to_be_visible()
        chart = page.get_by_test_id("stDeckGlJsonChart")
        canvas = chart.locator("canvas").first
        canvas.scroll_into_view_if_needed()
        expect(canvas).to_be_visible()
        box = canvas.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 200
        expect(page.get_by_text("entreprise(s) sur la carte")).to_be_visible()
        page.wait_for_timeout(1500)  # let deck.gl draw its first frame
        shot = Image.open(io.BytesIO(canvas.screenshot())).convert("RGB")
        # Partner companies are drawn in green (22, 163, 74): the layer really rendered.
        greens = sum(1 for r, g, b in shot.get_flattened_data() if g > 130 and r < 80 and b < 110)
        page.screenshot(path=str(tmp_path / "companies-map.png"), full_page=True)
        assert greens > 20, "no partner point drawn on the map canvas"
    external = {h for h in hosts if h not in {"127.0.0.1", "data", "blob"}}
    assert not external, f"the page asked external hosts: {external}"
