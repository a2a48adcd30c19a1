"""Scheduled public-transport journey times from GTFS feeds (Connection Scan Algorithm).

``Timetable.load(paths)`` reads one or more GTFS zip files (``PASSERELLE_GTFS``, separated by
``os.pathsep`` or commas) and keeps the connections of a typical weekday (services of
calendar.txt running on Tuesdays; without calendar.txt, every service). For one origin,
``Timetable.minutes(origin, lats, lons)`` gives the shortest door-to-door journey leaving home
between 08:00 and 09:00: walk to a stop (≤ ``ACCESS_M`` great-circle, walking speed of
matching.commute), ride, change (same stop or a walk ≤ ``TRANSFER_M``), walk to the
destination. ``inf`` where the timetable offers no journey (the caller then uses the estimate).

Per origin the scans are done once and cached (LRU), so ranking one learner's offers is one
vectorised minimum over the reached stops. See docs/COMMUTE.md ("Timetables").
"""

from __future__ import annotations

import csv
import functools
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from matching.commute import MODES, haversine_km

WINDOW = (8 * 3600, 9 * 3600)  # departure from home, seconds after midnight
ACCESS_M = 1000.0  # walking to/from a stop (great-circle metres)
TRANSFER_M = 250.0  # walking between two stops to change
MAX_RIDE_S = 2 * 3600  # connections scanned after the departure (longer: not a commute)
MAX_DEPARTURES = 24  # departure times tried in the window per origin
_WALK = MODES["walk"]


def walk_seconds(km) -> np.ndarray:
    """Walking time for a great-circle distance (same model as the 'walk' mode)."""
    return np.asarray(km, dtype=float) * _WALK.detour / _WALK.speed_kmh * 3600.0


def _seconds(hms: str) -> int:
    h, m, s = (int(x) for x in hms.strip().split(":"))
    return h * 3600 + m * 60 + s


def _rows(z: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    try:
        raw = z.read(name)
    except KeyError:
        return []
    text = raw.decode("utf-8-sig")
    return [
        {k.strip(): (v or "").strip() for k, v in r.items()}
        for r in csv.DictReader(io.StringIO(text))
    ]


@dataclass(eq=False)  # identity hash: the per-origin cache below is per timetable
class Timetable:
    name: str  # network name(s) shown to users, e.g. "Réseau Mistral"
    stop_lat: np.ndarray
    stop_lon: np.ndarray
    # Connections sorted by departure: from stop, to stop, departure s, arrival s, trip index.
    c_from: np.ndarray
    c_to: np.ndarray
    c_dep: np.ndarray
    c_arr: np.ndarray
    c_trip: np.ndarray
    n_trips: int
    footpaths: list[list[tuple[int, float]]] = field(default_factory=list)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> Timetable:
        names: list[str] = []
        lat: list[float] = []
        lon: list[float] = []
        conns: list[tuple[int, int, int, int, int]] = []
        n_trips = 0
        for path in paths:
            with zipfile.ZipFile(path) as z:
                agencies = [a.get("agency_name", "") for a in _rows(z, "agency.txt")]
                names += [a for a in agencies if a and a not in names]
                stop_ix: dict[str, int] = {}
                for s in _rows(z, "stops.txt"):
                    if s.get("stop_lat") and s.get("stop_lon"):
                        stop_ix[s["stop_id"]] = len(lat)
                        lat.append(float(s["stop_lat"]))
                        lon.append(float(s["stop_lon"]))
                calendar = _rows(z, "calendar.txt")
                running = (
                    {c["service_id"] for c in calendar if c.get("tuesday") == "1"}
                    if calendar
                    else None
                )
                trip_ix: dict[str, int] = {}
                for t in _rows(z, "trips.txt"):
                    if running is None or t["service_id"] in running:
                        trip_ix[t["trip_id"]] = n_trips + len(trip_ix)
                n_trips += len(trip_ix)
                by_trip: dict[str, list[tuple[int, int, int, int]]] = {}
                for st in _rows(z, "stop_times.txt"):
                    if st["trip_id"] not in trip_ix or st["stop_id"] not in stop_ix:
                        continue
                    arr = st.get("arrival_time") or st.get("departure_time")
                    dep = st.get("departure_time") or arr
                    if not arr:
                        continue  # untimed stop: skipped (no interpolation)
                    by_trip.setdefault(st["trip_id"], []).append(
                        (
                            int(st["stop_sequence"]),
                            stop_ix[st["stop_id"]],
                            _seconds(arr),
                            _seconds(dep),
                        )
                    )
                for trip_id, seq in by_trip.items():
                    seq.sort()
                    for a, b in zip(seq, seq[1:], strict=False):
                        conns.append((a[1], b[1], a[3], b[2], trip_ix[trip_id]))
        conns.sort(key=lambda c: (c[2], c[3]))
        arr = np.asarray(conns, dtype=np.int64).reshape(-1, 5)
        tt = cls(
            name=", ".join(names) or "GTFS",
            stop_lat=np.asarray(lat, dtype=float),
            stop_lon=np.asarray(lon, dtype=float),
            c_from=arr[:, 0],
            c_to=arr[:, 1],
            c_dep=arr[:, 2],
            c_arr=arr[:, 3],
            c_trip=arr[:, 4],
            n_trips=n_trips,
        )
        tt.footpaths = tt._footpaths()
        return tt

    def _footpaths(self) -> list[list[tuple[int, float]]]:
        n = len(self.stop_lat)
        out: list[list[tuple[int, float]]] = [[] for _ in range(n)]
        for lo in range(0, n, 500):
            km = haversine_km(
                self.stop_lat[lo : lo + 500, None],
                self.stop_lon[lo : lo + 500, None],
                self.stop_lat[None, :],
                self.stop_lon[None, :],
            )
            for i, j in zip(*np.nonzero(km * 1000 <= TRANSFER_M), strict=True):
                if lo + i != j:
                    out[lo + i].append((int(j), float(walk_seconds(km[i, j]))))
        return out

    # ------------------------------------------------------------------ scanning
    def _scan(self, start: dict[int, float], t0: float, horizon_s: float) -> np.ndarray:
        """Earliest arrival (s) at every stop, starting at the given stops/times (CSA)."""
        inf = float("inf")
        best = [inf] * len(self.stop_lat)  # Python lists: much faster than numpy scalars here
        footpaths = self.footpaths
        for s, t in start.items():
            best[s] = min(best[s], t)
        for s in list(start):
            for j, w in footpaths[s]:
                best[j] = min(best[j], best[s] + w)
        reached = [False] * self.n_trips
        lo = int(np.searchsorted(self.c_dep, t0))
        hi = int(np.searchsorted(self.c_dep, t0 + horizon_s, side="right"))
        for f, to, d, a, trip in zip(
            self.c_from[lo:hi].tolist(),
            self.c_to[lo:hi].tolist(),
            self.c_dep[lo:hi].tolist(),
            self.c_arr[lo:hi].tolist(),
            self.c_trip[lo:hi].tolist(),
            strict=True,
        ):
            if reached[trip] or best[f] <= d:
                reached[trip] = True
                if a < best[to]:
                    best[to] = a
                    for j, w in footpaths[to]:
                        if a + w < best[j]:
                            best[j] = a + w
        return np.asarray(best)

    @functools.lru_cache(maxsize=256)  # noqa: B019 - one cache per loaded timetable, on purpose
    def _profile(
        self, lat: float, lon: float, horizon_s: float
    ) -> tuple[tuple[float, np.ndarray], ...]:
        """(departure from home, earliest arrival at every stop) for the window's departures."""
        km = haversine_km(lat, lon, self.stop_lat, self.stop_lon)
        near = np.nonzero(km * 1000 <= ACCESS_M)[0]
        if len(near) == 0:
            return ()
        access = {int(s): float(walk_seconds(km[s])) for s in near}
        # Leaving home just in time for each departure from a nearby stop in the window.
        starts = {float(WINDOW[0])}
        mask = np.isin(self.c_from, near)
        for s, d in zip(self.c_from[mask].tolist(), self.c_dep[mask].tolist(), strict=True):
            t = d - access[s]
            if WINDOW[0] <= t <= WINDOW[1]:
                starts.add(float(t))
        times = sorted(starts)
        if len(times) > MAX_DEPARTURES:
            pick = np.linspace(0, len(times) - 1, MAX_DEPARTURES).round().astype(int)
            times = [times[i] for i in sorted(set(pick.tolist()))]
        return tuple(
            (t, self._scan({s: t + w for s, w in access.items()}, t, horizon_s)) for t in times
        )

    def minutes(
        self,
        origin: tuple[float, float],
        lats: Sequence[float],
        lons: Sequence[float],
        max_minutes: float | None = None,
    ) -> np.ndarray:
        """Door-to-door minutes by the timetable to each destination; ``inf`` without a journey.

        ``max_minutes`` (the learner's budget) bounds the scan: journeys longer than it may
        be reported as ``inf`` (the caller then falls back to the estimate, itself too long).
        """
        lats = np.asarray(lats, dtype=float)
        lons = np.asarray(lons, dtype=float)
        out = np.full(lats.shape, np.inf)
        if len(lats) == 0:
            return out
        horizon = MAX_RIDE_S if max_minutes is None else min(MAX_RIDE_S, 60.0 * max_minutes + 60)
        profile = self._profile(round(float(origin[0]), 5), round(float(origin[1]), 5), horizon)
        if not profile:
            return out
        reached = np.zeros(len(self.stop_lat), dtype=bool)
        for _, best in profile:
            reached |= np.isfinite(best)
        stops = np.nonzero(reached)[0]
        if len(stops) == 0:
            return out
        km = haversine_km(
            lats[:, None], lons[:, None], self.stop_lat[None, stops], self.stop_lon[None, stops]
        )
        egress = np.where(km * 1000 <= ACCESS_M, walk_seconds(km), np.inf)
        for t, best in profile:
            arrive = np.min(best[stops][None, :] + egress, axis=1)
            out = np.minimum(out, (arrive - t) / 60.0)
        # Never slower than walking the whole way.
        direct = walk_seconds(haversine_km(origin[0], origin[1], lats, lons)) / 60.0
        return np.where(np.isfinite(out), np.minimum(out, direct), out)


@functools.lru_cache(maxsize=4)
def load_timetable(paths: tuple[str, ...]) -> Timetable | None:
    """The timetable of these GTFS files (cached), None when no path is given."""
    paths = tuple(p for p in paths if p)
    return Timetable.load(paths) if paths else None


def split_paths(value: str | None) -> tuple[str, ...]:
    """``PASSERELLE_GTFS`` value -> paths (``os.pathsep`` or comma separated)."""
    import os

    if not value:
        return ()
    parts = value.replace(",", os.pathsep).split(os.pathsep)
    return tuple(p.strip() for p in parts if p.strip())
