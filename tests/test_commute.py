"""Commute model (matching.commute) and the routers of crm.geo.routing (no network)."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from geopy.distance import geodesic

from crm.config import get_settings
from crm.geo import EstimateRouter, OsrmRouter, display_distance_km, get_router
from crm.reference import find_commune
from matching.commute import MODES, commute_minutes, haversine_km, mode_minutes
from tests.fake_geo_servers import FakeOsrm, serve

# Expected door-to-door minutes for 10 km of great-circle distance, computed by hand
# from docs/COMMUTE.md: overhead + detour * 10 / speed * 60.
EXPECTED_10_KM = {
    "walk": 0.0 + 1.3 * 10 / 4.5 * 60,  # 173.3
    "bike": 2.0 + 1.25 * 10 / 14.0 * 60,  # 55.6
    "scooter": 3.0 + 1.3 * 10 / 28.0 * 60,  # 30.9
    "car": 5.0 + 1.3 * 10 / 38.0 * 60,  # 25.5
    "transit": 12.0 + 1.4 * 10 / 18.0 * 60,  # 58.7
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_mode_matches_the_documented_formula(mode):
    assert float(mode_minutes(10.0, mode)) == pytest.approx(EXPECTED_10_KM[mode])
    minutes, best = commute_minutes([0.0, 1.0, 10.0, 30.0], [mode])
    assert minutes[0] == pytest.approx(MODES[mode].overhead_min)  # overhead only at distance 0
    assert np.all(np.diff(minutes) > 0)  # farther is always longer
    assert list(best) == [0, 0, 0, 0]


def test_fastest_allowed_mode_counts():
    modes = ["walk", "bike", "transit"]
    minutes, best = commute_minutes([3.0, 25.0], modes)
    # 3 km: the bike (18 min) beats the bus and walking; 25 km: the bus beats the bike.
    assert [modes[i] for i in best] == ["bike", "transit"]
    assert minutes[1] == pytest.approx(12.0 + 1.4 * 25 / 18 * 60)
    # Without a bike, 500 m is walked (8.7 min) rather than waiting for a bus.
    minutes, best = commute_minutes([0.5], ["transit", "walk"])
    assert best[0] == 1 and minutes[0] == pytest.approx(1.3 * 0.5 / 4.5 * 60)
    # A learner with a car is faster than by bus at 25 km.
    both, best = commute_minutes([25.0], ["transit", "car"])
    assert best[0] == 1 and both[0] == pytest.approx(5.0 + 1.3 * 25 / 38 * 60)


def test_no_usable_mode_is_unreachable():
    minutes, best = commute_minutes([1.0, 2.0], ["teleport"])
    assert np.all(np.isinf(minutes)) and list(best) == [-1, -1]
    minutes, _ = commute_minutes([1.0], [])
    assert math.isinf(minutes[0])


CITIES = [
    ("Toulon", "83000"),
    ("Fréjus", "83600"),
    ("Hyères", "83400"),
    ("Brignoles", "83170"),
    ("Marseille", "13001"),
    ("Nice", "06000"),
    ("Paris", "75001"),
    ("Lille", "59000"),
    ("Strasbourg", "67000"),
    ("Brest", "29200"),
    ("Bordeaux", "33000"),
    ("Perpignan", "66000"),
    ("Ajaccio", "20000"),
]


def test_haversine_agrees_with_geopy_geodesic_within_half_a_percent():
    points = []
    for name, pc in CITIES:
        c = find_commune(name, pc)
        assert c is not None, name
        points.append((c.latitude, c.longitude))
    pairs = list(itertools.combinations(points, 2))
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    ours = haversine_km(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    ref = np.array([geodesic(p, q).km for p, q in pairs])
    rel = np.abs(ours - ref) / ref
    assert len(pairs) == 78
    assert rel.max() < 0.005, rel.max()
    # Short hops too (a learner's 2 km commute in Toulon).
    short = (43.1242, 5.9280), (43.1300, 5.9500)
    assert float(haversine_km(*short[0], *short[1])) == pytest.approx(
        display_distance_km(*short), rel=0.005
    )


def test_estimate_router_is_the_commute_model():
    origin = (43.1242, 5.9280)
    dests = [(43.1242, 5.9280), (43.4328, 6.7366), (43.1204, 6.1286)]
    km = haversine_km(origin[0], origin[1], [d[0] for d in dests], [d[1] for d in dests])
    for mode in MODES:
        got = EstimateRouter().minutes(origin, dests, mode)
        assert got == pytest.approx(mode_minutes(km, mode))
    assert EstimateRouter().minutes(origin, [], "car").shape == (0,)
    with pytest.raises(ValueError):
        EstimateRouter().minutes(origin, dests, "plane")


def test_osrm_router_reads_the_table_api_from_a_local_endpoint():
    fake = FakeOsrm()
    origin = (43.1242, 5.9280)
    dests = [(43.4328, 6.7366), (0.0, 0.0), (43.1204, 6.1286)]
    with serve(fake.handler()) as host:
        router = OsrmRouter(f"http://{host}/")
        car = router.minutes(origin, dests, "car")
        bike = router.minutes(origin, dests, "bike")
        transit = router.minutes(origin, dests, "transit")
        fake.mode = "down"
        fallback = router.minutes(origin, dests, "walk")
    # The fake answers 100 s x destination index; OSRM takes lon,lat; the overhead is added.
    assert fake.requests[0].startswith("/table/v1/driving/5.928000,43.124200;6.736600,43.432800;")
    assert "sources=0" in fake.requests[0] and "destinations=1;2;3" in fake.requests[0]
    assert fake.requests[1].startswith("/table/v1/cycling/")
    assert car[0] == pytest.approx(100 / 60 + MODES["car"].overhead_min)
    assert math.isinf(car[1])  # OSRM found no route
    assert car[2] == pytest.approx(300 / 60 + MODES["car"].overhead_min)
    assert bike[2] == pytest.approx(300 / 60 + MODES["bike"].overhead_min)
    # No public-transport profile in OSRM: estimated, no request made for it.
    assert len([r for r in fake.requests if "/table/" in r]) == 3
    assert transit == pytest.approx(EstimateRouter().minutes(origin, dests, "transit"))
    assert fallback == pytest.approx(EstimateRouter().minutes(origin, dests, "walk"))


def test_router_is_chosen_by_configuration():
    s = get_settings()
    assert isinstance(get_router(replace(s, router_url=None)), EstimateRouter)
    router = get_router(replace(s, router_url="http://127.0.0.1:5000"))
    assert isinstance(router, OsrmRouter) and router.base_url == "http://127.0.0.1:5000"


def test_reachable_radius_is_the_inverse_of_the_commute_estimate():
    from matching.commute import reachable_km

    radius = reachable_km(45, ["walk", "transit"])
    minutes, _ = commute_minutes([radius], ["walk", "transit"])
    assert minutes[0] == pytest.approx(45)
    assert radius == pytest.approx((45 - 12) / 60 * 18 / 1.4)  # transit is the farthest
    assert reachable_km(10, ["transit"]) == 0.0  # waiting alone takes 12 min
    assert reachable_km(45, ["teleport"]) == 0.0
