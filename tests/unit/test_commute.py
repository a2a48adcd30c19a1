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
from tests.support.fake_geo_servers import FakeOsrm, serve


def _curve(d, overhead, detour, cruise, town=None, ramp=10.0):
    """docs/COMMUTE.md by hand: overhead + D / v(D) * 60, v(D) = cruise - (cruise - town) e^(-D/ramp)."""
    net = detour * d
    speed = cruise if town is None else cruise - (cruise - town) * math.exp(-net / ramp)
    return overhead + net / speed * 60


# Expected door-to-door minutes for 10 km of great-circle distance (docs/COMMUTE.md table).
EXPECTED_10_KM = {
    "walk": _curve(10, 0.0, 1.3, 4.5),  # 173.3
    "bike": _curve(10, 2.0, 1.25, 15.0, 13.0, 5),  # 52.6
    "scooter": _curve(10, 3.0, 1.3, 40.0, 20.0, 8),  # 24.6
    "car": _curve(10, 3.0, 1.3, 85.0, 12.0, 13),  # 16.4
    "transit": _curve(10, 12.0, 1.35, 70.0, 10.0, 40),  # 41.8
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
    assert minutes[1] == pytest.approx(_curve(25, 12.0, 1.35, 70.0, 10.0, 40))
    # Without a bike, 500 m is walked (8.7 min) rather than waiting for a bus.
    minutes, best = commute_minutes([0.5], ["transit", "walk"])
    assert best[0] == 1 and minutes[0] == pytest.approx(1.3 * 0.5 / 4.5 * 60)
    # A learner with a car is faster than by bus at 25 km.
    both, best = commute_minutes([25.0], ["transit", "car"])
    assert best[0] == 1 and both[0] == pytest.approx(_curve(25, 3.0, 1.3, 85.0, 12.0, 13))


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
    assert mode_minutes(radius, "transit") == pytest.approx(45)  # transit is the farthest
    assert mode_minutes(radius, "walk") > 45
    assert reachable_km(10, ["transit"]) == 0.0  # waiting alone takes 12 min
    assert reachable_km(45, ["teleport"]) == 0.0


def test_car_estimates_match_the_documented_reference_trips():
    """Calibration table of docs/COMMUTE.md: typical off-peak car times in the Var."""
    from matching.commute import CAR_REFERENCE_TRIPS

    errors = []
    for _a, _b, (lat1, lon1), (lat2, lon2), ref in CAR_REFERENCE_TRIPS:
        km = float(haversine_km(lat1, lon1, lat2, lon2))
        if 3 <= km <= 80:
            errors.append(float(mode_minutes(km, "car")) / ref - 1)
    errors = np.asarray(errors)
    assert len(errors) >= 25
    assert np.median(np.abs(errors)) <= 0.20  # median absolute error
    assert abs(np.median(errors)) <= 0.10 and abs(errors.mean()) <= 0.10  # no systematic bias
    # The two trips quoted in issue 14: about 20 and 22 minutes, not 38 and 47.
    toulon, hyeres = (43.11969, 5.93276), (43.12010, 6.13017)
    brignoles, le_luc = (43.40660, 6.06167), (43.39453, 6.31318)
    assert float(mode_minutes(haversine_km(*toulon, *hyeres), "car")) == pytest.approx(20, rel=0.15)
    assert float(mode_minutes(haversine_km(*brignoles, *le_luc), "car")) == pytest.approx(
        22, rel=0.15
    )


def test_speed_grows_with_trip_length():
    from matching.commute import mode_speed_kmh

    for mode in ("car", "transit", "scooter", "bike"):
        speeds = mode_speed_kmh([1.0, 5.0, 20.0, 60.0], mode)
        assert np.all(np.diff(speeds) > 0)
        assert speeds[-1] <= MODES[mode].speed_kmh
