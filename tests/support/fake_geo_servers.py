"""Local stand-ins for the BAN address API and an OSRM router (127.0.0.1 only, no network)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse, urlsplit

from crm.geo import Geocoder
from crm.reference import fold

# Known addresses: a fragment of the folded query (crm.reference.fold) -> (lat, lon, type, label)
BAN_ADDRESSES = {
    "12 rue jean jaures": (43.12461, 5.93052, "housenumber", "12 Rue Jean Jaurès 83000 Toulon"),
    "avenue de la republique": (
        43.11822,
        5.94231,
        "street",
        "Avenue de la République 83000 Toulon",
    ),
    "3 bd de la mer": (43.42110, 6.76810, "housenumber", "3 Boulevard de la Mer 83600 Fréjus"),
    "lieu dit les plaines": (43.2, 6.1, "locality", "Les Plaines 83210 Solliès-Pont"),
}


class FakeBan:
    """Answers ``GET /search?q=...`` (and ``/search/``) like api-adresse.data.gouv.fr (GeoJSON FeatureCollection)."""

    def __init__(self):
        self.mode = "up"  # up | down | slow | garbage
        self.queries: list[str] = []
        self.delay_s = 2.0

    def feature(self, q: str):
        low = fold(q)
        for fragment, (lat, lon, kind, label) in BAN_ADDRESSES.items():
            if fragment in low:
                return {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        "label": label,
                        "score": 0.93,
                        "type": kind,
                        "name": label.split(" 83")[0],
                        "postcode": "83000",
                        "citycode": "83137",
                        "city": label.rsplit(" ", 1)[-1],
                        "context": "83, Var, Provence-Alpes-Côte d'Azur",
                        "importance": 0.6,
                    },
                }
        return None

    @staticmethod
    def nominatim(feature: dict) -> dict:
        """The same place as Nominatim's /search?format=json&addressdetails=1 would list it."""
        lon, lat = feature["geometry"]["coordinates"]
        props = feature["properties"]
        address = {"road": props["name"], "postcode": props["postcode"], "city": props["city"]}
        if props["type"] == "housenumber":
            address["house_number"] = props["name"].split()[0]
        return {
            "lat": str(lat),
            "lon": str(lon),
            "display_name": props["label"],
            "class": "place" if props["type"] == "housenumber" else "highway",
            "type": "house" if props["type"] == "housenumber" else "residential",
            "addresstype": "place" if props["type"] == "housenumber" else "road",
            "address": address,
        }

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                url = urlparse(self.path)
                if url.path.rstrip("/") != "/search":
                    self.send_error(404)
                    return
                q = parse_qs(url.query).get("q", [""])[0]
                fake.queries.append(q)
                if fake.mode == "down":
                    self.send_error(503, "Service Unavailable")
                    return
                if fake.mode == "slow":
                    time.sleep(fake.delay_s)
                if fake.mode == "garbage":
                    body = b"<html>maintenance</html>"
                elif "format" in parse_qs(url.query):  # geopy's Nominatim: a JSON list
                    feat = fake.feature(q)
                    body = json.dumps([fake.nominatim(feat)] if feat else []).encode()
                else:
                    feat = fake.feature(q)
                    body = json.dumps(
                        {
                            "type": "FeatureCollection",
                            "version": "draft",
                            "features": [feat] if feat else [],
                            "attribution": "BAN",
                            "licence": "ETALAB-2.0",
                            "query": q,
                            "limit": 1,
                        }
                    ).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (timeout test)
                    pass

        return Handler


@contextlib.contextmanager
def serve(handler_cls) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def fake_ban() -> Iterator[tuple[FakeBan, str]]:
    fake = FakeBan()
    with serve(fake.handler()) as host:
        yield fake, host


def ban_geocoder(host: str, timeout_s: float = 1.0) -> Geocoder:
    """geopy's real BANFrance, pointed at the local fake over plain HTTP."""
    return Geocoder("ban", domain=host, scheme="http", timeout_s=timeout_s, min_delay_s=0.0)


class FakeOsrm:
    """Answers ``GET /table/v1/{profile}/{coords}`` with durations = 100 s per destination index."""

    def __init__(self):
        self.requests: list[str] = []
        self.mode = "up"

    def handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)  # urlparse would cut ";" parameters off the path
                fake.requests.append(self.path)
                parts = url.path.split("/")
                if len(parts) != 5 or parts[1:3] != ["table", "v1"] or fake.mode == "down":
                    self.send_error(400 if fake.mode == "up" else 503)
                    return
                coords = parts[4].split(";")
                params = parse_qs(url.query)
                dests = [int(i) for i in params["destinations"][0].split(";")]
                row = [None if coords[i] == "0.000000,0.000000" else 100.0 * i for i in dests]
                body = json.dumps(
                    {
                        "code": "Ok",
                        "durations": [row],
                        "sources": [{}],
                        "destinations": [{}] * len(dests),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
