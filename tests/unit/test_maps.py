"""pages._maps: the basemap falls back to the outline background without tiles (no network)."""

from __future__ import annotations

import contextlib
import http.server
import json
import struct
import threading
import zlib

import pytest

from pages import _maps

ROWS = [
    {
        "id": 1,
        "name": "Alpha",
        "city": "Toulon",
        "status": "partner",
        "seats_free": 0,
        "phone": "04 94 00 00 01",
        "sector": "Commerce",
        "latitude": 43.12,
        "longitude": 5.93,
    },
    {
        "id": 2,
        "name": "Béta",
        "city": "Hyères",
        "status": "prospect",
        "seats_free": 0,
        "phone": None,
        "sector": "Industrie",
        "latitude": 43.12,
        "longitude": 6.13,
    },
]


def _png() -> bytes:
    raw = b"".join(b"\x00" + b"\xc8\xe6\xc8" * 4 for _ in range(4))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    head = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@contextlib.contextmanager
def tile_server():
    body = _png()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    finally:
        srv.shutdown()


def _layers(deck) -> dict[str, dict]:
    return {layer["id"]: layer for layer in json.loads(deck.to_json())["layers"]}


@pytest.fixture(autouse=True)
def _fresh_probe():
    _maps.tiles_reachable.clear()
    yield
    _maps.tiles_reachable.clear()


@pytest.mark.parametrize("value", ["http://127.0.0.1:9/{z}/{x}/{y}.png", "none", "offline"])
def test_unreachable_or_disabled_tiles_fall_back_to_outlines(monkeypatch, value):
    monkeypatch.setenv(_maps.TILES_ENV, value)
    base = _maps.basemap()
    assert base.offline and "IGN" in base.attribution
    deck = _maps.company_deck(ROWS, base=base)
    layers = _layers(deck)
    # Sea, land and commune outlines with names: a readable map without any tile.
    assert {"sea", "departements", "communes", "labels", "companies"} <= set(layers)
    assert layers["communes"]["filled"] is True
    codes = {f["properties"]["code"] for f in layers["communes"]["data"]["features"]}
    assert {"83137", "83069", "83062"} <= codes  # Toulon, Hyères, La Garde
    labels = {x["name"] for x in layers["labels"]["data"]}
    assert {"Toulon", "Hyères"} <= labels
    assert "mapStyle" not in json.loads(deck.to_json()) or not isinstance(
        json.loads(deck.to_json())["mapStyle"], list
    )


def test_reachable_tiles_are_the_base_style_with_outlines_over_them(monkeypatch):
    with tile_server() as url:
        monkeypatch.setenv(_maps.TILES_ENV, url)
        base = _maps.basemap()
        assert base.tiles == url
        deck = _maps.company_deck(ROWS, base=base)
    spec = json.loads(deck.to_json())
    style = spec["mapStyle"][0]
    assert style["sources"]["tiles"]["tiles"] == [url]
    assert "IGN" in style["sources"]["tiles"]["attribution"]
    layers = _layers(deck)
    assert "sea" not in layers and layers["communes"]["filled"] is False  # tiles show through
    assert "labels" in layers  # names stay if a tile fails in the browser


def test_default_is_openstreetmap_with_its_attribution(monkeypatch):
    monkeypatch.delenv(_maps.TILES_ENV, raising=False)
    assert "openstreetmap" in _maps.configured_tiles()
    monkeypatch.setattr(_maps, "tiles_reachable", lambda url: True)
    assert "OpenStreetMap" in _maps.basemap().attribution


def test_markers_tooltip_size_and_company_focus(monkeypatch):
    monkeypatch.setenv(_maps.TILES_ENV, "none")
    layers = _layers(_maps.company_deck(ROWS))
    data = layers["companies"]["data"]
    assert {d["radius"] for d in data} == {5}  # nobody has free seats: no size by seats
    assert any(d["phone"] == "04 94 00 00 01" for d in data)
    rows = [dict(ROWS[0], seats_free=3), ROWS[1]]
    sizes = {d["name"]: d["radius"] for d in _layers(_maps.company_deck(rows))["companies"]["data"]}
    assert sizes["Alpha"] > sizes["Béta"]
    by_sector = _layers(_maps.company_deck(ROWS, color_by="sector"))["companies"]["data"]
    assert by_sector[0]["color"] != by_sector[1]["color"]
    focus = _layers(_maps.company_deck(ROWS, focus_id=2))["companies"]["data"]
    assert focus[-1]["name"] == "Béta" and focus[-1]["color"] == _maps.STATUS_COLORS["prospect"]
    assert focus[0]["color"] == _maps.FADED


def test_suggested_offers_are_numbered_in_list_order(monkeypatch):
    monkeypatch.setenv(_maps.TILES_ENV, "none")
    offers = [
        {"title": "Vendeur", "latitude": 43.13, "longitude": 5.95},
        {"title": "Serveur", "latitude": 43.10, "longitude": 6.00},
    ]
    layers = _layers(_maps.suggestions_deck((43.12, 5.93), offers, 10.0))
    assert [d["rank"] for d in layers["offer_numbers"]["data"]] == ["1", "2"]
    assert layers["offers"]["data"][1]["name"] == "2. Serveur"
    assert "radius" in layers and "home" in layers
