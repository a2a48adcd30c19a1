"""Geography: geocoding (geopy, database cache, commune fallback) and commute routing.

Public API::

    from crm.geo import locate, geocode_entity, Location, Geocoder, get_router
"""

from crm.geo.geocoding import (
    Geocoder,
    Location,
    ProviderError,
    address_key,
    effective_location,
    geocode_entity,
    locate,
    set_manual_pin,
)
from crm.geo.routing import EstimateRouter, OsrmRouter, Router, display_distance_km, get_router

__all__ = [
    "EstimateRouter",
    "Geocoder",
    "Location",
    "OsrmRouter",
    "ProviderError",
    "Router",
    "address_key",
    "display_distance_km",
    "effective_location",
    "geocode_entity",
    "get_router",
    "locate",
    "set_manual_pin",
]
