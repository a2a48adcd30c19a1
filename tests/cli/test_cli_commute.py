"""passerelle commute: minutes per mode with their source, the matcher's figures."""

from __future__ import annotations

import json

import pytest

from matching.commute import haversine_km, mode_minutes
from tests.support.cli import run_cli
from tests.unit.test_gtfs import HOME, WORK, write_feed

TOULON, HYERES = "43.11969,5.93276", "43.12010,6.13017"


def test_commute_json_gives_the_estimate_per_mode(tmp_path):
    r = run_cli(
        f"sqlite:///{tmp_path}/x.db",
        "commute",
        "--from",
        TOULON,
        "--to",
        HYERES,
        "--format",
        "json",
        env={"PASSERELLE_GTFS": "", "PASSERELLE_ROUTER_URL": ""},
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    km = float(haversine_km(43.11969, 5.93276, 43.12010, 6.13017))
    for mode in ("car", "transit", "walk", "bike", "scooter"):
        assert data[mode] == pytest.approx(float(mode_minutes(km, mode)), abs=0.05)
        assert data["sources"][mode] == "estimate"
    assert 17 <= data["car"] <= 23  # Toulon -> Hyères, about 20 min off-peak


def test_commute_uses_the_timetable_for_transit(tmp_path):
    feed = write_feed(tmp_path / "tiny.zip")
    frm, to = f"{HOME[0]},{HOME[1]}", f"{WORK[0]},{WORK[1]}"
    r = run_cli(
        f"sqlite:///{tmp_path}/x.db",
        "commute",
        "--from",
        frm,
        "--to",
        to,
        "--mode",
        "transit",
        env={"PASSERELLE_GTFS": feed},
    )
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("transit"))
    assert "42.7 min" in line and "timetable (Réseau Test)" in line
    bad = run_cli(f"sqlite:///{tmp_path}/x.db", "commute", "--from", "x", "--to", to)
    assert bad.returncode == 2 and "LAT,LON" in bad.stderr
