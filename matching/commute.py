"""Commute-time estimates from great-circle distances (vectorised).

minutes = overhead + detour * distance_km / speed_kmh * 60, per mode; a learner
uses the fastest of their allowed modes. Parameters and their sources are
documented in docs/COMMUTE.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


@dataclass(frozen=True)
class ModeParams:
    speed_kmh: float  # average moving speed
    detour: float  # network distance / great-circle distance
    overhead_min: float  # fixed time: waiting, access walk, parking


MODES: dict[str, ModeParams] = {
    "walk": ModeParams(speed_kmh=4.5, detour=1.3, overhead_min=0.0),
    "bike": ModeParams(speed_kmh=14.0, detour=1.25, overhead_min=2.0),
    "scooter": ModeParams(speed_kmh=28.0, detour=1.3, overhead_min=3.0),
    "car": ModeParams(speed_kmh=38.0, detour=1.3, overhead_min=5.0),
    "transit": ModeParams(speed_kmh=18.0, detour=1.4, overhead_min=12.0),
}
MODE_LABELS_FR = {
    "walk": "à pied",
    "bike": "à vélo",
    "scooter": "en scooter",
    "car": "en voiture",
    "transit": "en transports",
}


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


def mode_minutes(distance_km, mode: str) -> np.ndarray:
    p = MODES[mode]
    d = np.asarray(distance_km, dtype=float)
    return p.overhead_min + p.detour * d / p.speed_kmh * 60.0


def commute_minutes(distance_km, modes: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Fastest allowed mode per distance: (minutes, index into ``modes``).

    With no usable mode every distance is unreachable (``inf``).
    """
    modes = [m for m in modes if m in MODES]
    d = np.asarray(distance_km, dtype=float)
    if not modes:
        return np.full(d.shape, np.inf), np.full(d.shape, -1)
    stacked = np.stack([mode_minutes(d, m) for m in modes])
    best = np.argmin(stacked, axis=0)
    return np.take_along_axis(stacked, best[None, ...], axis=0)[0], best


def reachable_km(max_minutes: float, modes: Iterable[str]) -> float:
    """Great-circle radius reachable within ``max_minutes`` by the fastest allowed mode.

    The inverse of :func:`mode_minutes`, for drawing the reachable circle on a map;
    0 when no mode can make it (overhead alone exceeds the budget or no usable mode).
    """
    best = 0.0
    for m in modes:
        p = MODES.get(m)
        if p is None or max_minutes <= p.overhead_min:
            continue
        best = max(best, (max_minutes - p.overhead_min) / 60.0 * p.speed_kmh / p.detour)
    return best
