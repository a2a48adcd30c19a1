"""Geocoding: geopy provider (BAN France by default), database cache, commune fallback.

* :func:`locate` turns an address into a :class:`Location`. The normalised
  address is the cache key (table ``geocode_cache``): an address is asked to the
  provider once; a changed address is a different key and is geocoded again.
* When the provider fails, times out or the geocoder is ``offline``, the
  commune's coordinates from ``data/communes.csv`` are used (precision
  ``"commune"``). That fallback is *not* cached, so the provider is asked
  again next time. When nothing places the address the precision is
  ``"none"``. :func:`locate` never raises and nothing is rejected for lack of
  coordinates.
* :func:`geocode_entity` applies this to a Company, Site, Learner (``Located``)
  or Offer; manual pins (precision ``"manual"``) are never overwritten by
  batch jobs.

Addresses are personal data for learners: nothing here logs an address.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import BANFrance, Nominatim
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.config import Settings, get_settings
from crm.errors import ValidationError
from crm.models import Company, GeocodeCache, GeoPrecision, Learner, Offer, Site, utcnow
from crm.reference import find_commune, fold

log = logging.getLogger(__name__)

# geopy (DEBUG) and urllib3 (WARNING on a retry after a timeout) log the request URL,
# whose query string is the address being geocoded: personal data for learners.
# Their records go through a filter that hides every URL query string.
THIRD_PARTY_LOGGERS = (
    "geopy",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.util.retry",
    "requests",
)
_QUERY = re.compile(r"\?[^\s'\")]*")


class RedactQueryFilter(logging.Filter):
    """Replace URL query strings (``?q=12+rue+...``) in a log record by ``?…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its format string
            message = str(record.msg)
        redacted = _QUERY.sub("?…", message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        return True


def install_log_redaction() -> None:
    """Attach :class:`RedactQueryFilter` to the HTTP client loggers (idempotent)."""
    for name in THIRD_PARTY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryFilter) for f in logger.filters):
            logger.addFilter(RedactQueryFilter())


install_log_redaction()

PROVIDERS = ("ban", "nominatim", "offline")
COMMUNE_TABLE = "communes"  # provider name of the fallback (data/communes.csv)
MANUAL = "manual"
# BAN answers with a relevance score in [0, 1]; below this the match is noise.
BAN_MIN_SCORE = 0.4
# A batch stops asking a provider that failed this many times in a row.
MAX_CONSECUTIVE_FAILURES = 3

PRECISION_RANK = {
    GeoPrecision.NONE.value: 0,
    GeoPrecision.COMMUNE.value: 1,
    GeoPrecision.STREET.value: 2,
    GeoPrecision.HOUSENUMBER.value: 3,
    GeoPrecision.MANUAL.value: 4,
}
BAN_TYPE_PRECISION = {
    "housenumber": GeoPrecision.HOUSENUMBER.value,
    "street": GeoPrecision.STREET.value,
    "locality": GeoPrecision.STREET.value,  # lieu-dit: finer than the commune
    "municipality": GeoPrecision.COMMUNE.value,
}
_ABBREVIATIONS = {
    "av": "avenue",
    "ave": "avenue",
    "bd": "boulevard",
    "bld": "boulevard",
    "boul": "boulevard",
    "ch": "chemin",
    "che": "chemin",
    "imp": "impasse",
    "pl": "place",
    "rte": "route",
    "r": "rue",
    "all": "allee",
    "crs": "cours",
    "qu": "quai",
    "st": "saint",
    "ste": "sainte",
    "za": "zone artisanale",
    "zi": "zone industrielle",
    "zac": "zone d activite",
}


class ProviderError(Exception):
    """The geocoding provider failed (network, timeout, bad answer)."""


@dataclass(frozen=True)
class Location:
    latitude: float | None
    longitude: float | None
    precision: str  # housenumber | street | commune | manual | none
    provider: str | None = None  # ban | nominatim | communes | manual | None
    label: str | None = None

    @property
    def placed(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def is_fallback(self) -> bool:
        return self.provider == COMMUNE_TABLE


NOT_PLACED = Location(None, None, GeoPrecision.NONE.value)


# --------------------------------------------------------------------------- keys


def _norm_words(text: str | None) -> str:
    words = fold(text).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


def address_key(address: str | None, postcode: str | None, city: str | None) -> str:
    """Normalised cache key: accents, case, punctuation and common abbreviations folded.

    Empty string when there is nothing to geocode.
    """
    parts = (_norm_words(address), (postcode or "").strip(), _norm_words(city))
    if not any(parts):
        return ""
    key = "|".join(parts)
    if len(key) > 380:  # column is 400 characters: keep long keys unique
        key = key[:330] + "#" + hashlib.sha256(key.encode()).hexdigest()[:40]
    return key


def _query_text(address: str | None, postcode: str | None, city: str | None) -> str:
    return " ".join(p.strip() for p in (address, postcode, city) if p and p.strip())


# --------------------------------------------------------------------------- provider


class Geocoder:
    """A geopy geocoder chosen by configuration, rate limited with geopy's RateLimiter."""

    def __init__(
        self,
        provider: str = "ban",
        *,
        user_agent: str = "passerelle-e2c",
        domain: str | None = None,
        scheme: str = "https",
        timeout_s: float = 5.0,
        min_delay_s: float = 0.1,
    ):
        if provider not in PROVIDERS:
            raise ValueError(f"unknown geocoder {provider!r}: expected one of {PROVIDERS}")
        self.provider = provider
        self.failures = 0
        self.calls = 0
        self._geopy = None
        if provider == "ban":
            self._geopy = BANFrance(
                domain=domain or "api-adresse.data.gouv.fr",
                scheme=scheme,
                timeout=timeout_s,
                user_agent=user_agent,
            )
        elif provider == "nominatim":
            self._geopy = Nominatim(
                domain=domain or "nominatim.openstreetmap.org",
                scheme=scheme,
                timeout=timeout_s,
                user_agent=user_agent,
            )
        self._limited = (
            RateLimiter(
                self._raw_geocode,
                min_delay_seconds=min_delay_s,
                max_retries=0,
                swallow_exceptions=False,
            )
            if self._geopy is not None
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Geocoder:
        s = settings or get_settings()
        return cls(
            s.geocoder,
            user_agent=s.geocoder_user_agent,
            domain=s.geocoder_domain,
            scheme=s.geocoder_scheme,
            timeout_s=s.geocoder_timeout_s,
            min_delay_s=s.geocoder_min_delay_s,
        )

    @property
    def online(self) -> bool:
        return self._geopy is not None and self.failures < MAX_CONSECUTIVE_FAILURES

    def _raw_geocode(self, query: str):
        if self.provider == "ban":
            return self._geopy.geocode(query, exactly_one=True)
        return self._geopy.geocode(query, exactly_one=True, addressdetails=True, country_codes="fr")

    def query(self, address: str | None, postcode: str | None, city: str | None) -> Location:
        """Ask the provider. ``NOT_PLACED`` if it knows no such address; raises ProviderError."""
        if not self.online:
            raise ProviderError("geocoder offline or disabled after repeated failures")
        text = _query_text(address, postcode, city)
        self.calls += 1
        try:
            found = self._limited(text)
        except (GeopyError, OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            self.failures += 1
            raise ProviderError(type(exc).__name__) from exc
        self.failures = 0
        if found is None:
            return NOT_PLACED
        raw = found.raw or {}
        if self.provider == "ban":
            props = raw.get("properties", {})
            if float(props.get("score", 1.0)) < BAN_MIN_SCORE:
                return NOT_PLACED
            precision = BAN_TYPE_PRECISION.get(props.get("type"), GeoPrecision.COMMUNE.value)
        else:
            precision = _nominatim_precision(raw)
        return Location(
            float(found.latitude),
            float(found.longitude),
            precision,
            self.provider,
            (found.address or "")[:300] or None,
        )


def _nominatim_precision(raw: dict) -> str:
    details = raw.get("address") or {}
    kind = raw.get("addresstype") or raw.get("type") or ""
    if "house_number" in details:
        return GeoPrecision.HOUSENUMBER.value
    if kind in {"city", "town", "village", "municipality", "hamlet", "administrative"}:
        return GeoPrecision.COMMUNE.value
    if "road" in details or raw.get("class") == "highway":
        return GeoPrecision.STREET.value
    return GeoPrecision.COMMUNE.value


# --------------------------------------------------------------------------- locate


def commune_location(city: str | None, postcode: str | None) -> Location:
    commune = find_commune(city, postcode)
    if commune is None:
        return NOT_PLACED
    return Location(
        commune.latitude, commune.longitude, GeoPrecision.COMMUNE.value, COMMUNE_TABLE, commune.name
    )


def _from_cache(row: GeocodeCache, city: str | None, postcode: str | None) -> Location:
    if row.latitude is None or row.longitude is None:
        # The provider knows no such address: the commune is the best we have.
        return commune_location(city, postcode)
    return Location(row.latitude, row.longitude, row.precision, row.provider, row.label)


def cached(session: Session, key: str) -> GeocodeCache | None:
    return session.scalar(select(GeocodeCache).where(GeocodeCache.query_key == key))


def locate(
    session: Session,
    address: str | None,
    postcode: str | None,
    city: str | None,
    *,
    geocoder: Geocoder | None = None,
) -> Location:
    """Coordinates of an address: cache, else provider, else commune, else ``"none"``.

    Provider answers (found or not found) are cached; the commune fallback used
    when the provider fails is not, so the address is retried later. Never raises.
    """
    key = address_key(address, postcode, city)
    if not key:
        return NOT_PLACED
    row = cached(session, key)
    if row is not None:
        return _from_cache(row, city, postcode)
    if not (address or "").strip():
        # Only a commune: the shipped table places it without asking anyone.
        fallback = commune_location(city, postcode)
        if fallback.placed:
            return fallback
    geocoder = geocoder or Geocoder.from_settings()
    if not geocoder.online:
        return commune_location(city, postcode)
    try:
        answer = geocoder.query(address, postcode, city)
    except ProviderError as exc:
        log.warning("geocoding provider %s failed (%s): commune fallback", geocoder.provider, exc)
        return commune_location(city, postcode)
    _store(session, key, answer, geocoder.provider)
    if answer.placed:
        return answer
    return commune_location(city, postcode)


def _store(session: Session, key: str, answer: Location, provider: str) -> None:
    row = GeocodeCache(
        query_key=key,
        provider=provider,
        latitude=answer.latitude,
        longitude=answer.longitude,
        precision=answer.precision,
        label=answer.label,
        geocoded_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # a concurrent save cached the same address first
        pass


# --------------------------------------------------------------------------- entities

_ADDRESS_FIELDS = ("address", "postcode", "city")


def _address_changed(obj) -> bool:
    state = sa_inspect(obj)
    if state.transient or state.pending:
        return True
    return any(state.attrs[f].history.has_changes() for f in _ADDRESS_FIELDS)


def effective_location(obj) -> Location:
    """Coordinates in use for a Company/Site/Learner/Offer (an Offer falls back to its company)."""
    if isinstance(obj, Offer):
        if obj.latitude is not None and obj.longitude is not None:
            return Location(obj.latitude, obj.longitude, MANUAL, MANUAL)
        return effective_location(obj.company) if obj.company is not None else NOT_PLACED
    if obj.latitude is None or obj.longitude is None:
        return NOT_PLACED
    return Location(obj.latitude, obj.longitude, obj.geo_precision or "none")


def geocode_entity(
    session: Session,
    obj,
    *,
    geocoder: Geocoder | None = None,
    address_changed: bool | None = None,
    force: bool = False,
) -> Location:
    """(Re)geocode a Company, Site, Learner or Offer when needed; returns its location.

    Coordinates are updated only when the address changed (pending changes on
    address/postcode/city, a new object, or ``address_changed=True``), when the
    record is not geocoded, when it holds a commune fallback that the provider
    may now improve, or with ``force`` (batch re-geocoding). A manual pin is
    kept unless the address itself changed. An unchanged address never loses
    precision because the provider is down.

    An Offer's own coordinates are a hand-placed workplace and are kept; without
    them the offer is placed at its company, which is geocoded instead.
    """
    if isinstance(obj, Offer):
        if obj.latitude is not None and obj.longitude is not None:
            return effective_location(obj)
        if obj.company is None:
            return NOT_PLACED
        return geocode_entity(session, obj.company, geocoder=geocoder, force=force)
    if not isinstance(obj, Company | Site | Learner):
        raise TypeError(f"cannot geocode {type(obj).__name__}")
    changed = _address_changed(obj) if address_changed is None else address_changed
    current = effective_location(obj)
    precision = obj.geo_precision or GeoPrecision.NONE.value
    if precision == MANUAL and not changed:
        return current
    key = address_key(obj.address, obj.postcode, obj.city)
    retry_fallback = (
        precision == GeoPrecision.COMMUNE.value and key and cached(session, key) is None
    )
    if not (changed or force or not current.placed or retry_fallback):
        return current
    loc = locate(session, obj.address, obj.postcode, obj.city, geocoder=geocoder)
    if changed or PRECISION_RANK.get(loc.precision, 0) >= PRECISION_RANK.get(precision, 0):
        obj.latitude, obj.longitude = loc.latitude, loc.longitude
        obj.geo_precision = loc.precision
        return loc
    return current


def set_manual_pin(obj, latitude, longitude) -> Location:
    """Place a record by hand (precision ``"manual"``); validates the coordinates."""
    errors: dict[str, str] = {}
    try:
        lat = float(latitude)
        if not -90.0 <= lat <= 90.0:
            raise ValueError
    except (TypeError, ValueError):
        errors["latitude"] = "latitude invalide (nombre entre -90 et 90, ex. 43.1242)."
    try:
        lon = float(longitude)
        if not -180.0 <= lon <= 180.0:
            raise ValueError
    except (TypeError, ValueError):
        errors["longitude"] = "longitude invalide (nombre entre -180 et 180, ex. 5.9280)."
    if errors:
        raise ValidationError(errors)
    obj.latitude, obj.longitude = lat, lon
    if not isinstance(obj, Offer):
        obj.geo_precision = MANUAL
    return Location(lat, lon, MANUAL, MANUAL)
