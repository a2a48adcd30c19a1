"""Maps drawn with pydeck through ``st.pydeck_chart``, without any basemap host.

``map_provider=None`` leaves pydeck's ``__MAP_STYLE__`` placeholder, which
Streamlit's deck.gl component drops: no tiles, no style, no request to an
external host, so the maps render offline. For orientation a faint layer of
commune centres (from data/communes.csv) is drawn under the points.

``*_deck`` functions build the Deck (pure, testable); ``*_map`` render it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import pydeck as pdk
import streamlit as st

from crm.reference import communes
from pages._ui import GEO_PRECISION_FR, PARTNER_STATUS_FR

STATUS_COLORS = {
    "prospect": [100, 116, 139, 220],  # slate: distinct from the grey commune dots
    "contacted": [245, 158, 11, 220],
    "partner": [22, 163, 74, 230],
    "inactive": [220, 38, 38, 200],
}
# Streamlit colour names used in the legends (``:green[●]``), matching the RGB above.
STATUS_LEGEND_COLORS = {
    "prospect": "gray",
    "contacted": "orange",
    "partner": "green",
    "inactive": "red",
}
HOME_COLOR = [37, 99, 235, 255]
OFFER_COLOR = [22, 163, 74, 230]
RADIUS_FILL = [37, 99, 235, 30]
RADIUS_LINE = [37, 99, 235, 160]
CONTEXT_MIN_POPULATION = 5000
# Literal strings: pydeck would read a bare "pixels" as an accessor expression.
PIXELS = pdk.types.String("pixels")
METERS = pdk.types.String("meters")
TOOLTIP_STYLE = {"backgroundColor": "#1f2937", "color": "white", "fontSize": "13px"}


def _view(
    lats: Sequence[float],
    lons: Sequence[float],
    *,
    height: int = 420,
    width: int = 900,
    min_span_deg: float = 0.04,
) -> pdk.ViewState:
    """Centre and zoom (Web Mercator) so that every point fits in ``width`` x ``height`` pixels."""
    lat_min, lat_max = min(lats), max(lats)
    lon_min, lon_max = min(lons), max(lons)
    mid = (lat_min + lat_max) / 2
    # Spans in "equator degrees": Mercator stretches latitudes by 1/cos(latitude).
    w_span = max(lon_max - lon_min, min_span_deg)
    h_span = max((lat_max - lat_min) / math.cos(math.radians(mid)), min_span_deg)
    tile = 512.0 / 360.0  # deck.gl/MapLibre: the world is 512 px wide at zoom 0
    zoom = min(
        math.log2(0.85 * width / (tile * w_span)), math.log2(0.85 * height / (tile * h_span))
    )
    return pdk.ViewState(
        latitude=mid, longitude=(lon_min + lon_max) / 2, zoom=max(3.0, min(14.0, zoom)), pitch=0
    )


def _context_layer(lats: Sequence[float], lons: Sequence[float]) -> pdk.Layer:
    """Commune centres around the points (a stand-in for basemap tiles)."""
    pad = 0.6
    lat_lo, lat_hi = min(lats) - pad, max(lats) + pad
    lon_lo, lon_hi = min(lons) - pad, max(lons) + pad
    data = [
        {"name": c.name, "latitude": c.latitude, "longitude": c.longitude}
        for c in communes()
        if c.population >= CONTEXT_MIN_POPULATION
        and lat_lo <= c.latitude <= lat_hi
        and lon_lo <= c.longitude <= lon_hi
    ]
    return pdk.Layer(
        "ScatterplotLayer",
        data=data,
        id="communes",
        get_position=["longitude", "latitude"],
        get_radius=400,
        radius_min_pixels=2,
        radius_max_pixels=4,
        get_fill_color=[120, 120, 120, 90],
        pickable=False,
    )


def _deck(layers: list[pdk.Layer], view: pdk.ViewState, tooltip) -> pdk.Deck:
    return pdk.Deck(layers=layers, initial_view_state=view, tooltip=tooltip, map_provider=None)


def _get(row, name, default=None):
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def company_deck(rows: Iterable, *, height: int = 420) -> pdk.Deck | None:
    """Companies coloured by partner status, sized by free seats; None when none is placed.

    ``rows``: mappings or objects with ``name``, ``status``, ``seats_free``,
    ``latitude``, ``longitude`` and optionally ``precision`` and ``city``.
    """
    data = []
    for r in rows:
        lat, lon = _get(r, "latitude"), _get(r, "longitude")
        if lat is None or lon is None:
            continue
        status = _get(r, "status") or "prospect"
        free = int(_get(r, "seats_free") or 0)
        precision = _get(r, "precision") or ""
        data.append(
            {
                "name": _get(r, "name") or "",
                "city": _get(r, "city") or "",
                "status_fr": PARTNER_STATUS_FR.get(status, status),
                "seats_free": free,
                "precision_fr": GEO_PRECISION_FR.get(precision, precision),
                "latitude": float(lat),
                "longitude": float(lon),
                "color": STATUS_COLORS.get(status, STATUS_COLORS["prospect"]),
                "radius": 4 + 2 * min(free, 6),
            }
        )
    if not data:
        return None
    lats = [d["latitude"] for d in data]
    lons = [d["longitude"] for d in data]
    layer = pdk.Layer(
        "ScatterplotLayer",
        data=data,
        id="companies",
        get_position=["longitude", "latitude"],
        get_fill_color="color",
        get_radius="radius",
        radius_units=PIXELS,
        stroked=True,
        get_line_color=[255, 255, 255, 255],
        line_width_min_pixels=1,
        pickable=True,
    )
    tooltip = {
        "html": "<b>{name}</b> ({city})<br/>{status_fr} — {seats_free} place(s) libre(s)"
        "<br/><i>position : {precision_fr}</i>",
        "style": TOOLTIP_STYLE,
    }
    return _deck([_context_layer(lats, lons), layer], _view(lats, lons, height=height), tooltip)


def status_legend() -> str:
    """Markdown legend of the partner-status colours (no HTML)."""
    return " · ".join(
        f":{STATUS_LEGEND_COLORS[s]}[●] {PARTNER_STATUS_FR[s]}" for s in STATUS_COLORS
    )


def company_map(rows: Iterable, *, height: int = 420, key: str | None = None) -> int:
    """Render the company map; returns how many companies are on it."""
    rows = list(rows)
    deck = company_deck(rows, height=height)
    if deck is None:
        st.info("Aucune entreprise géolocalisée à afficher sur la carte.")
        return 0
    st.pydeck_chart(deck, height=height, key=key)
    placed = sum(
        1 for r in rows if _get(r, "latitude") is not None and _get(r, "longitude") is not None
    )
    st.caption(f"{placed} entreprise(s) sur la carte — {status_legend()} — taille : places libres")
    return placed


def suggestions_deck(
    home, offers: Iterable, radius_km: float | None, *, height: int = 420
) -> pdk.Deck | None:
    """The learner's home, the suggested offers and the reachable radius.

    ``home``: (latitude, longitude) or a mapping/object with them; ``offers``:
    mappings or objects with ``latitude``, ``longitude`` and optionally
    ``title``, ``company``, ``minutes``, ``distance_km``. None if nothing is placed.
    """
    if home is not None and not isinstance(home, tuple | list):
        home = (_get(home, "latitude"), _get(home, "longitude"))
    if home is not None and (home[0] is None or home[1] is None):
        home = None
    data = []
    for o in offers:
        lat, lon = _get(o, "latitude"), _get(o, "longitude")
        if lat is None or lon is None:
            continue
        minutes = _get(o, "minutes")
        dist = _get(o, "distance_km")
        data.append(
            {
                "name": _get(o, "title") or "",
                "company": _get(o, "company") or "",
                "detail": " — ".join(
                    x
                    for x in (
                        f"{dist:.1f} km" if dist is not None else "",
                        f"≈ {minutes:.0f} min"
                        if minutes is not None and math.isfinite(minutes)
                        else "",
                    )
                    if x
                ),
                "latitude": float(lat),
                "longitude": float(lon),
            }
        )
    if home is None and not data:
        return None
    lats = [d["latitude"] for d in data]
    lons = [d["longitude"] for d in data]
    layers: list[pdk.Layer] = []
    if home is not None:
        hlat, hlon = float(home[0]), float(home[1])
        lats.append(hlat)
        lons.append(hlon)
        if radius_km:
            # Make the whole circle visible.
            dlat = radius_km / 111.2
            dlon = radius_km / (111.2 * math.cos(math.radians(hlat)))
            lats += [hlat - dlat, hlat + dlat]
            lons += [hlon - dlon, hlon + dlon]
            layers.append(
                pdk.Layer(
                    "ScatterplotLayer",
                    data=[
                        {
                            "latitude": hlat,
                            "longitude": hlon,
                            "name": f"Rayon accessible : {radius_km:.0f} km",
                        }
                    ],
                    id="radius",
                    get_position=["longitude", "latitude"],
                    get_radius=float(radius_km) * 1000.0,
                    radius_units=METERS,
                    get_fill_color=RADIUS_FILL,
                    get_line_color=RADIUS_LINE,
                    stroked=True,
                    line_width_min_pixels=2,
                    pickable=False,
                )
            )
        layers.append(
            pdk.Layer(
                "ScatterplotLayer",
                data=[
                    {
                        "latitude": hlat,
                        "longitude": hlon,
                        "name": "Domicile",
                        "company": "",
                        "detail": "",
                    }
                ],
                id="home",
                get_position=["longitude", "latitude"],
                get_fill_color=HOME_COLOR,
                get_radius=11,
                radius_units=PIXELS,
                stroked=True,
                get_line_color=[255, 255, 255, 255],
                line_width_min_pixels=2,
                pickable=True,
            )
        )
    layers.append(
        pdk.Layer(
            "ScatterplotLayer",
            data=data,
            id="offers",
            get_position=["longitude", "latitude"],
            get_fill_color=OFFER_COLOR,
            get_radius=8,
            radius_units=PIXELS,
            stroked=True,
            get_line_color=[255, 255, 255, 255],
            line_width_min_pixels=1,
            pickable=True,
        )
    )
    tooltip = {"html": "<b>{name}</b><br/>{company}<br/>{detail}", "style": TOOLTIP_STYLE}
    return _deck([_context_layer(lats, lons), *layers], _view(lats, lons, height=height), tooltip)


def suggestions_map(
    home, offers: Iterable, radius_km: float | None, *, height: int = 420, key: str | None = None
) -> bool:
    """Render the suggestions map; False (with a message) when nothing can be placed."""
    deck = suggestions_deck(home, offers, radius_km, height=height)
    if deck is None:
        st.info("Ni le domicile ni les offres ne sont géolocalisés : pas de carte.")
        return False
    st.pydeck_chart(deck, height=height, key=key)
    st.caption(
        ":blue[●] domicile · :green[●] offres suggérées"
        + (f" · cercle : rayon accessible ({radius_km:.0f} km)" if radius_km else "")
    )
    return True
