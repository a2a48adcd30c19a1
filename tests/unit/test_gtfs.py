"""GTFS timetable router (matching.gtfs) on a tiny feed written here, and its use by the matcher."""

from __future__ import annotations

import dataclasses
import math
import zipfile

import numpy as np
import pytest

from matching.commute import haversine_km
from matching.gtfs import Timetable, split_paths

A = (43.1200, 5.9300)
B = (43.1200, 5.9800)
C = (43.1250, 6.0300)
HOME = (A[0] + 0.0036, A[1])  # about 400 m north of stop A
WORK = (C[0] + 0.0030, C[1])  # about 334 m north of stop C


def _walk_min(p, q) -> float:
    return float(haversine_km(*p, *q)) * 1.3 / 4.5 * 60


def write_feed(path, agency="Réseau Test") -> str:
    files = {
        "agency.txt": f"agency_id,agency_name,agency_url,agency_timezone\n1,{agency},http://x,Europe/Paris\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
        f"A,Gare,{A[0]},{A[1]}\nB,Centre,{B[0]},{B[1]}\nC,Zone,{C[0]},{C[1]}\n",
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
        "start_date,end_date\nWK,1,1,1,1,1,0,0,20260101,20261231\nMON,1,0,0,0,0,0,0,20260101,20261231\n",
        "routes.txt": "route_id,agency_id,route_short_name,route_type\nR1,1,1,3\nR2,1,2,3\n",
        "trips.txt": "route_id,service_id,trip_id\nR1,WK,T0\nR1,WK,T1\nR2,WK,T2\nR1,WK,T3\nR1,MON,TM\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
        # T0 leaves before the window (07:50) and is slow: not a journey "leaving 8-9".
        "T0,07:50:00,07:50:00,A,1\nT0,08:45:00,08:45:00,C,2\n"
        # T1 A 08:10 -> B 08:20, change, T2 B 08:25 -> C 08:40.
        "T1,08:10:00,08:10:00,A,1\nT1,08:20:00,08:20:00,B,2\n"
        "T2,08:25:00,08:25:00,B,1\nT2,08:40:00,08:40:00,C,2\n"
        # T3 A 08:40 -> B 08:50: no onward trip.
        "T3,08:40:00,08:40:00,A,1\nT3,08:50:00,08:50:00,B,2\n"
        # TM runs on Mondays only (fast): ignored for a typical weekday (Tuesday).
        "TM,08:12:00,08:12:00,A,1\nTM,08:20:00,08:20:00,C,2\n",
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return str(path)


@pytest.fixture
def feed(tmp_path) -> str:
    return write_feed(tmp_path / "tiny.zip")


def test_tiny_feed_gives_the_hand_computed_journey(feed):
    tt = Timetable.load([feed])
    assert tt.name == "Réseau Test"
    got = tt.minutes(HOME, [WORK[0], 44.0], [WORK[1], 6.0])
    # Leave home just in time for T1 at 08:10 (walk ~6.9 min), change at B, arrive at C
    # 08:40 (30 min after 08:10), walk ~5.8 min to work: about 42.7 min door to door.
    expected = _walk_min(HOME, A) + 30.0 + _walk_min(C, WORK)
    assert expected == pytest.approx(42.7, abs=0.1)
    assert got[0] == pytest.approx(expected, abs=0.01)
    assert math.isinf(got[1])  # no stop near the second destination
    # An origin with no stop within walking distance has no timetable journey.
    assert np.all(np.isinf(tt.minutes((44.0, 6.0), [WORK[0]], [WORK[1]])))
    # Next to stop B: T2 at 08:25 straight to C.
    near_b = tt.minutes(B, [WORK[0]], [WORK[1]])
    assert near_b[0] == pytest.approx(15.0 + _walk_min(C, WORK), abs=0.01)


def test_paths_setting_is_split():
    assert split_paths(None) == ()
    assert split_paths("a.zip, b.zip") == ("a.zip", "b.zip")


def test_matcher_uses_the_timetable_and_says_so(feed):
    from matching.commute import commute_minutes
    from matching.index import OfferIndex
    from matching.suggest import suggest
    from tests.unit.test_matching import TODAY, learner, offer

    tt = Timetable.load([feed])
    o = offer(*WORK, "D1106")
    index = OfferIndex.build([o])
    lp = dataclasses.replace(
        learner(*HOME, ["D1106"], modes=("transit",), max_commute_min=60), id=1
    )
    today = TODAY
    timed = suggest(index, lp, today=today, timetable=tt)
    assert timed[0].commute_min == pytest.approx(42.7, abs=0.1)
    assert timed[0].commute_source == "Réseau Test"
    assert "43 min en transports (horaires Réseau Test)" in timed[0].explanation
    estimated = suggest(index, lp, today=today)
    km = float(haversine_km(*HOME, *WORK))
    assert estimated[0].commute_min == pytest.approx(
        float(commute_minutes([km], ["transit"])[0][0])
    )
    assert "min en transports (estimation)" in estimated[0].explanation
    assert estimated[0].explanation.split(", ")[1].startswith("≈ ")
