"""Commute-time estimates from great-circle distances (vectorised), calibrated on Var trips.

For a great-circle distance ``d`` (km) and a mode::

    D = detour * d                                   # network distance
    v(D) = v_max - (v_max - v_town) * exp(-D / ramp_km)   # average speed grows with length
    minutes = overhead + D / v(D) * 60

Short trips run at town speed (streets, lights, stops), long ones approach the
cruising speed (expressways, motorways; coaches and trains for transit). The
time is strictly increasing in ``d`` (its derivative is at least ``1 / v_town``),
so :func:`reachable_km` inverts it. A learner uses the fastest of their allowed
modes. Parameters, sources and the calibration table: docs/COMMUTE.md;
``CAR_REFERENCE_TRIPS`` is that table (tested in tests/unit/test_commute.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


@dataclass(frozen=True)
class ModeParams:
    speed_kmh: float  # cruising (asymptotic) speed: an upper bound of the average speed
    detour: float  # network distance / great-circle distance
    overhead_min: float  # fixed time: waiting, access walk, parking
    town_kmh: float | None = None  # average speed of a very short trip (None: constant speed)
    ramp_km: float = 10.0  # network length over which the speed rises towards ``speed_kmh``


MODES: dict[str, ModeParams] = {
    "walk": ModeParams(speed_kmh=4.5, detour=1.3, overhead_min=0.0),
    "bike": ModeParams(speed_kmh=15.0, detour=1.25, overhead_min=2.0, town_kmh=13.0, ramp_km=5),
    "scooter": ModeParams(speed_kmh=40.0, detour=1.3, overhead_min=3.0, town_kmh=20.0, ramp_km=8),
    "car": ModeParams(speed_kmh=85.0, detour=1.3, overhead_min=3.0, town_kmh=12.0, ramp_km=13),
    "transit": ModeParams(
        speed_kmh=70.0, detour=1.35, overhead_min=12.0, town_kmh=10.0, ramp_km=40
    ),
}
MODE_LABELS_FR = {
    "walk": "à pied",
    "bike": "à vélo",
    "scooter": "en scooter",
    "car": "en voiture",
    "transit": "en transports",
}

# Typical off-peak car times, town hall to town hall (see docs/COMMUTE.md):
# (from, to, from (lat, lon), to (lat, lon), reference minutes).
CAR_REFERENCE_TRIPS: tuple[tuple[str, str, tuple[float, float], tuple[float, float], float], ...]
_TOWNS = {
    "Toulon": (43.11969, 5.93276),
    "Hyères": (43.12010, 6.13017),
    "Brignoles": (43.40660, 6.06167),
    "Le Luc": (43.39453, 6.31318),
    "La Seyne-sur-Mer": (43.10156, 5.88180),
    "La Valette-du-Var": (43.13758, 5.98505),
    "Six-Fours-les-Plages": (43.09337, 5.83994),
    "Sanary-sur-Mer": (43.11802, 5.80143),
    "Cuers": (43.23729, 6.07280),
    "Solliès-Pont": (43.19038, 6.04151),
    "Le Beausset": (43.19840, 5.80185),
    "Bandol": (43.13620, 5.75474),
    "Draguignan": (43.53792, 6.46349),
    "Fréjus": (43.43275, 6.73655),
    "Marseille": (43.29760, 5.36943),
    "Aix-en-Provence": (43.52994, 5.44765),
    "Saint-Maximin-la-Sainte-Baume": (43.45301, 5.86325),
    "La Londe-les-Maures": (43.13839, 6.23562),
    "Le Lavandou": (43.13801, 6.36915),
    "La Crau": (43.14840, 6.07396),
    "Lorgues": (43.49309, 6.35846),
    "Le Muy": (43.47030, 6.56571),
    "Vidauban": (43.42690, 6.43108),
    "Cannes": (43.55115, 7.01175),
    "Saint-Tropez": (43.27341, 6.63964),
    "Sainte-Maxime": (43.30970, 6.64053),
    "Garéoult": (43.32900, 6.04625),
    "La Ciotat": (43.17372, 5.60603),
    "Aubagne": (43.29231, 5.56947),
}
_CAR_TRIPS = (
    ("Toulon", "Hyères", 20),
    ("Brignoles", "Le Luc", 22),
    ("Toulon", "La Seyne-sur-Mer", 15),
    ("Toulon", "La Valette-du-Var", 10),
    ("Toulon", "Six-Fours-les-Plages", 17),
    ("Toulon", "Sanary-sur-Mer", 20),
    ("Toulon", "Cuers", 22),
    ("Toulon", "Solliès-Pont", 17),
    ("Toulon", "Le Beausset", 20),
    ("Toulon", "Bandol", 25),
    ("Toulon", "Brignoles", 40),
    ("Toulon", "Le Luc", 42),
    ("Toulon", "Draguignan", 55),
    ("Toulon", "Fréjus", 60),
    ("Toulon", "Marseille", 50),
    ("Toulon", "Aix-en-Provence", 60),
    ("Toulon", "Saint-Maximin-la-Sainte-Baume", 40),
    ("Aubagne", "Toulon", 35),
    ("Hyères", "La Londe-les-Maures", 13),
    ("Hyères", "Le Lavandou", 27),
    ("Hyères", "La Crau", 10),
    ("Draguignan", "Fréjus", 30),
    ("Draguignan", "Lorgues", 18),
    ("Draguignan", "Le Muy", 15),
    ("Le Luc", "Vidauban", 12),
    ("Fréjus", "Cannes", 35),
    ("Sainte-Maxime", "Fréjus", 25),
    ("Saint-Tropez", "Sainte-Maxime", 20),
    ("Brignoles", "Saint-Maximin-la-Sainte-Baume", 18),
    ("Brignoles", "Garéoult", 15),
    ("Bandol", "La Ciotat", 20),
)
CAR_REFERENCE_TRIPS = tuple((a, b, _TOWNS[a], _TOWNS[b], float(t)) for a, b, t in _CAR_TRIPS)


def haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in km; arguments broadcast like numpy arrays."""
    lat1, lon1, lat2, lon2 = (
        np.radians(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2)
    )
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def mode_speed_kmh(network_km, mode: str) -> np.ndarray:
    """Average moving speed of a trip of ``network_km`` by ``mode`` (the fitted curve)."""
    p = MODES[mode]
    dist = np.asarray(network_km, dtype=float)
    if p.town_kmh is None:
        return np.full(dist.shape, p.speed_kmh)
    return p.speed_kmh - (p.speed_kmh - p.town_kmh) * np.exp(-dist / p.ramp_km)


def mode_minutes(distance_km, mode: str) -> np.ndarray:
    """Door-to-door minutes for great-circle ``distance_km`` by ``mode``."""
    p = MODES[mode]
    network = p.detour * np.asarray(distance_km, dtype=float)
    return p.overhead_min + network / mode_speed_kmh(network, mode) * 60.0


def commute_minutes(
    distance_km, modes: Iterable[str], overrides: dict[str, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Fastest allowed mode per distance: (minutes, index into ``modes``).

    ``overrides``: per mode, exact minutes (a timetable, a router) replacing the estimate
    where finite. With no usable mode every distance is unreachable (``inf``).
    """
    modes = [m for m in modes if m in MODES]
    d = np.asarray(distance_km, dtype=float)
    if not modes:
        return np.full(d.shape, np.inf), np.full(d.shape, -1)
    rows = []
    for m in modes:
        est = mode_minutes(d, m)
        exact = (overrides or {}).get(m)
        rows.append(est if exact is None else np.where(np.isfinite(exact), exact, est))
    stacked = np.stack(rows)
    best = np.argmin(stacked, axis=0)
    return np.take_along_axis(stacked, best[None, ...], axis=0)[0], best


def _mode_reach_km(max_minutes: float, mode: str) -> float:
    p = MODES[mode]
    if max_minutes <= p.overhead_min:
        return 0.0
    # Bisection on the increasing estimate, between 0 and the cruising-speed bound.
    lo, hi = 0.0, (max_minutes - p.overhead_min) / 60.0 * p.speed_kmh / p.detour
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(mode_minutes(mid, mode)) <= max_minutes:
            lo = mid
        else:
            hi = mid
    return lo


def reachable_km(max_minutes: float, modes: Iterable[str]) -> float:
    """Great-circle radius reachable within ``max_minutes`` by the fastest allowed mode.

    The inverse of :func:`mode_minutes`, for drawing the reachable circle on a map;
    0 when no mode can make it (overhead alone exceeds the budget or no usable mode).
    """
    return max((_mode_reach_km(max_minutes, m) for m in modes if m in MODES), default=0.0)
