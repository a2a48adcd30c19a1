"""Commute time from one origin to many destinations: estimate or a routing service.

``get_router()`` returns :class:`OsrmRouter` when ``PASSERELLE_ROUTER_URL`` is
set, else :class:`EstimateRouter` (great-circle distance x detour / speed +
overhead, see matching/commute.py and docs/COMMUTE.md). Both answer in minutes,
``inf`` for an unreachable destination, one array per call.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from geopy.distance import geodesic

from crm.config import Settings, get_settings
from matching.commute import MODES, haversine_km, mode_minutes

log = logging.getLogger(__name__)

Point = tuple[float, float]  # (latitude, longitude)

# OSRM profiles per mode; modes without a profile are estimated.
OSRM_PROFILES = {"car": "driving", "scooter": "driving", "bike": "cycling", "walk": "foot"}
# Scooters ride slower than cars on the same roads (urban 45 km/h cap for 50 cc).
OSRM_DURATION_FACTOR = {"scooter": 1.15}


@runtime_checkable
class Router(Protocol):
    name: str

    def minutes(self, origin: Point, destinations: Sequence[Point], mode: str) -> np.ndarray:
        """Door-to-door minutes from ``origin`` to each destination by ``mode``."""


class EstimateRouter:
    """Great-circle estimate, vectorised (no network)."""

    name = "estimate"

    def minutes(self, origin: Point, destinations: Sequence[Point], mode: str) -> np.ndarray:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if len(destinations) == 0:
            return np.zeros(0)
        dest = np.asarray(destinations, dtype=float).reshape(-1, 2)
        km = haversine_km(origin[0], origin[1], dest[:, 0], dest[:, 1])
        return mode_minutes(km, mode)


class OsrmRouter:
    """OSRM ``/table/v1/{profile}`` durations; modes OSRM cannot route are estimated.

    Public transport has no OSRM profile (an OpenTripPlanner router would go
    here): ``transit`` always uses the estimate. On any HTTP/parse failure the
    router logs and falls back to the estimate rather than failing the matcher.
    """

    name = "osrm"

    def __init__(self, base_url: str, *, timeout_s: float = 10.0, fallback: Router | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.fallback = fallback or EstimateRouter()

    def _url(self, profile: str, origin: Point, destinations: Sequence[Point]) -> str:
        coords = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in [origin, *destinations])
        dests = ";".join(str(i) for i in range(1, len(destinations) + 1))
        return (
            f"{self.base_url}/table/v1/{profile}/{coords}"
            f"?sources=0&destinations={dests}&annotations=duration"
        )

    def minutes(self, origin: Point, destinations: Sequence[Point], mode: str) -> np.ndarray:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if len(destinations) == 0:
            return np.zeros(0)
        profile = OSRM_PROFILES.get(mode)
        if profile is None:
            return self.fallback.minutes(origin, destinations, mode)
        try:
            with urllib.request.urlopen(
                self._url(profile, origin, destinations), timeout=self.timeout_s
            ) as resp:
                body = json.loads(resp.read().decode("utf-8"))
            if body.get("code") != "Ok":
                raise ValueError(f"OSRM answered {body.get('code')!r}")
            row = body["durations"][0]
            if len(row) != len(destinations):
                raise ValueError("OSRM answered a table of the wrong size")
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            log.warning("OSRM router failed (%s): using the estimate", type(exc).__name__)
            return self.fallback.minutes(origin, destinations, mode)
        seconds = np.array([np.inf if s is None else float(s) for s in row])
        factor = OSRM_DURATION_FACTOR.get(mode, 1.0)
        # OSRM gives moving time; add the mode's fixed overhead (parking, unlocking).
        return seconds / 60.0 * factor + MODES[mode].overhead_min


def display_distance_km(a: Point, b: Point) -> float:
    """Distance shown to users: geopy's ellipsoidal geodesic (WGS-84), in km."""
    return float(geodesic(a, b).km)


def get_router(settings: Settings | None = None) -> Router:
    s = settings or get_settings()
    if s.router_url:
        return OsrmRouter(s.router_url)
    return EstimateRouter()
