"""Maps drawn with pydeck through ``st.pydeck_chart``: a street basemap when tiles can be
fetched, and always an outline background (communes, départements, names) from data/geo/.

Basemap (docs/GEOGRAPHY.md, "Maps"):
- ``PASSERELLE_MAP_TILES``: a raster tile URL template (``{z}/{x}/{y}``); unset = the public
  OpenStreetMap server; ``none`` / ``offline`` = no tiles at all.
- The server probes one tile (cached 10 min, 1.5 s timeout). Reachable: the tiles are the
  map's base style (an inline MapLibre/Mapbox raster style, no token, no other host) and the
  commune borders and names are drawn over them, faint. Unreachable or ``none``: the offline
  background: sea, land (départements), commune borders and names. As the outlines and names
  are drawn in both cases, a tile fetch failing in the user's browser still leaves a readable
  map (borders, coast, town names) rather than a blank box.

``*_deck`` functions build the Deck (pure, testable); ``*_map`` render it and open the record
clicked (``on_select``: the company file).
"""

from __future__ import annotations

import functools
import json
import math
import os
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pydeck as pdk
import streamlit as st

from crm.labels import GEO_PRECISION_FR, PARTNER_STATUS_FR
from crm.reference import communes

GEO_DIR = Path(__file__).resolve().parents[1] / "data" / "geo"
TILES_ENV = "PASSERELLE_MAP_TILES"
ATTRIBUTION_ENV = "PASSERELLE_MAP_ATTRIBUTION"
DEFAULT_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© les contributeurs d'OpenStreetMap"
OUTLINES_ATTRIBUTION = "Contours : IGN – Admin Express, INSEE – COG (Licence Ouverte Etalab 2.0)"
OFFLINE_VALUES = {"", "none", "offline", "off", "0", "false", "aucun"}

STATUS_COLORS = {
    "prospect": [100, 116, 139, 230],
    "contacted": [245, 158, 11, 230],
    "partner": [22, 163, 74, 235],
    "inactive": [220, 38, 38, 210],
}
# Streamlit colour names used in the legends (``:green[●]``), matching the RGB above.
STATUS_LEGEND_COLORS = {
    "prospect": "gray",
    "contacted": "orange",
    "partner": "green",
    "inactive": "red",
}
# Sector palette (cycled), with Streamlit legend names of the same hue.
SECTOR_PALETTE = [
    ([37, 99, 235, 230], "blue"),
    ([22, 163, 74, 230], "green"),
    ([234, 88, 12, 230], "orange"),
    ([147, 51, 234, 230], "violet"),
    ([220, 38, 38, 230], "red"),
    ([100, 116, 139, 230], "gray"),
]
FADED = [120, 120, 120, 110]
HOME_COLOR = [37, 99, 235, 255]
OFFER_COLOR = [22, 163, 74, 235]
RADIUS_FILL = [37, 99, 235, 18]
RADIUS_LINE = [37, 99, 235, 170]
SEA = [170, 211, 223, 255]
LAND = [242, 239, 233, 255]
# Literal strings: pydeck would read a bare "pixels" as an accessor expression.
PIXELS = pdk.types.String("pixels")
METERS = pdk.types.String("meters")
TOOLTIP_STYLE = {"backgroundColor": "#1f2937", "color": "white", "fontSize": "13px"}


# --------------------------------------------------------------------------- basemap
@dataclass(frozen=True)
class Basemap:
    tiles: str | None  # tile URL template, None = offline outlines only
    attribution: str

    @property
    def offline(self) -> bool:
        return self.tiles is None


def configured_tiles() -> str | None:
    """The tile URL from ``PASSERELLE_MAP_TILES`` (default OSM), None when set to none/offline."""
    value = os.environ.get(TILES_ENV)
    if value is None:
        return DEFAULT_TILES
    return None if value.strip().lower() in OFFLINE_VALUES else value.strip()


@st.cache_data(ttl=600, show_spinner=False)
def tiles_reachable(url: str, timeout_s: float = 1.5) -> bool:
    """One tile over the Var (z 8) answers an image: the tile server can be used."""
    probe = url.replace("{s}", "a").replace("{z}", "8").replace("{x}", "132").replace("{y}", "94")
    req = urllib.request.Request(probe, headers={"User-Agent": "Passerelle-CRM/1.0"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - configured URL
            return resp.status == 200 and resp.headers.get_content_type().startswith("image/")
    except (OSError, ValueError):
        return False


def basemap() -> Basemap:
    """Tiles if configured and reachable from the server, else the offline outlines."""
    url = configured_tiles()
    if url is None or not url.startswith(("http://", "https://")) or not tiles_reachable(url):
        return Basemap(None, OUTLINES_ATTRIBUTION)
    attribution = os.environ.get(ATTRIBUTION_ENV) or (
        OSM_ATTRIBUTION if "openstreetmap" in url else "Fond de carte : " + url.split("/")[2]
    )
    return Basemap(url, f"{attribution} · {OUTLINES_ATTRIBUTION}")


def _raster_style(url: str, attribution: str) -> dict:
    """An inline raster style (MapLibre/Mapbox GL style spec v8): no token, one tile host."""
    hosts = [url.replace("{s}", s) for s in "abc"] if "{s}" in url else [url]
    return {
        "version": 8,
        "sources": {
            "tiles": {
                "type": "raster",
                "tiles": hosts,
                "tileSize": 256,
                "attribution": attribution,
                "maxzoom": 19,
            }
        },
        "layers": [{"id": "tiles", "type": "raster", "source": "tiles"}],
    }


# --------------------------------------------------------------------------- outlines
@functools.cache
def _geojson(name: str) -> dict:
    return json.loads((GEO_DIR / name).read_text(encoding="utf-8"))


def _bbox_of(geometry: dict) -> tuple[float, float, float, float]:
    coords = geometry["coordinates"]
    rings = coords if geometry["type"] == "Polygon" else [r for poly in coords for r in poly]
    xs = [p[0] for r in rings for p in r]
    ys = [p[1] for r in rings for p in r]
    return min(xs), min(ys), max(xs), max(ys)


@functools.cache
def _indexed(name: str) -> list[tuple[tuple[float, float, float, float], dict]]:
    return [(_bbox_of(f["geometry"]), f) for f in _geojson(name)["features"]]


def _features_in(name: str, box: tuple[float, float, float, float]) -> dict:
    lon0, lat0, lon1, lat1 = box
    feats = [
        f
        for (x0, y0, x1, y1), f in _indexed(name)
        if x1 >= lon0 and x0 <= lon1 and y1 >= lat0 and y0 <= lat1
    ]
    return {"type": "FeatureCollection", "features": feats}


def _label_min_population(zoom: float) -> int:
    if zoom >= 11:
        return 0
    if zoom >= 10:
        return 2500
    if zoom >= 9:
        return 8000
    return 25000


def background_layers(view: pdk.ViewState, base: Basemap, *, height: int = 420) -> list:
    """Outline background: sea and land offline; commune borders and names always."""
    zoom = float(view.zoom)
    # Visible box (with margin) from the view: 512 px per 360° at zoom 0.
    half_w = 1400 / (512 / 360 * 2**zoom) * 0.75
    half_h = height / (512 / 360 * 2**zoom) * 0.75 * math.cos(math.radians(view.latitude))
    box = (
        view.longitude - half_w,
        view.latitude - half_h,
        view.longitude + half_w,
        view.latitude + half_h,
    )
    layers = []
    online = not base.offline
    if not online:
        pad = 20.0
        layers.append(
            pdk.Layer(
                "PolygonLayer",
                data=[
                    {
                        "polygon": [
                            [box[0] - pad, box[1] - pad],
                            [box[2] + pad, box[1] - pad],
                            [box[2] + pad, box[3] + pad],
                            [box[0] - pad, box[3] + pad],
                        ]
                    }
                ],
                id="sea",
                get_polygon="polygon",
                get_fill_color=SEA,
                stroked=False,
                pickable=False,
            )
        )
    layers.append(
        pdk.Layer(
            "GeoJsonLayer",
            data=_features_in("departements.geojson", box),
            id="departements",
            filled=not online,
            get_fill_color=LAND,
            # The coarse département coast would cross the detailed commune coast.
            stroked=False,
            get_line_color=[90, 90, 110, 170],
            line_width_min_pixels=1.5,
            pickable=False,
        )
    )
    layers.append(
        pdk.Layer(
            "GeoJsonLayer",
            data=_features_in("communes-83.geojson", box),
            id="communes",
            filled=not online,
            get_fill_color=LAND,
            stroked=True,
            get_line_color=[130, 130, 150, 110 if online else 200],
            line_width_min_pixels=0.7,
            pickable=False,
        )
    )
    lo = _label_min_population(zoom)
    labels = [
        {"name": c.name, "position": [c.longitude, c.latitude]}
        for c in communes()
        if c.population >= lo
        and box[0] <= c.longitude <= box[2]
        and box[1] <= c.latitude <= box[3]
        and c.department in ("83", "13", "06", "04", "84")
    ]
    layers.append(
        pdk.Layer(
            "TextLayer",
            data=labels,
            id="labels",
            get_position="position",
            get_text="name",
            get_size=12,
            get_color=[55, 65, 81, 235],
            get_pixel_offset=[0, -10],
            background=True,
            get_background_color=[255, 255, 255, 150],
            character_set=pdk.types.String("auto"),
            pickable=False,
        )
    )
    return layers


# --------------------------------------------------------------------------- deck helpers
def _view(
    lats: Sequence[float],
    lons: Sequence[float],
    *,
    height: int = 420,
    width: int = 700,
    min_span_deg: float = 0.04,
    max_zoom: float = 14.0,
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
        latitude=mid, longitude=(lon_min + lon_max) / 2, zoom=max(3.0, min(max_zoom, zoom)), pitch=0
    )


def _deck(
    layers: list[pdk.Layer],
    view: pdk.ViewState,
    tooltip,
    *,
    height: int = 420,
    base=None,
    names_on_top: bool = True,
) -> pdk.Deck:
    base = base or basemap()
    ground = background_layers(view, base, height=height)
    deck = pdk.Deck(
        # Town names last: readable over the markers (not pickable, clicks go through).
        layers=[*ground[:-1], *layers, ground[-1]] if names_on_top else [*ground, *layers],
        initial_view_state=view,
        tooltip=tooltip,
        map_provider=None,
    )
    if base.tiles:
        # Streamlit's deck.gl component takes the first element of a non-string map style:
        # an inline raster style needs neither a token nor the Carto/Mapbox hosts.
        deck.map_style = [_raster_style(base.tiles, base.attribution)]
    return deck


def _get(row, name, default=None):
    if isinstance(row, Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def _render(deck: pdk.Deck, *, height: int, key: str | None, clickable: bool):
    if key and clickable:
        return st.pydeck_chart(
            deck, height=height, key=key, on_select="rerun", selection_mode="single-object"
        )
    st.pydeck_chart(deck, height=height, key=key)
    return None


def _clicked(event, key: str | None, layer_ids: Sequence[str]) -> dict | None:
    """The object clicked on one of ``layer_ids`` (and forget the click, so Back works)."""
    try:
        objects = event.selection.objects
    except AttributeError:
        return None
    for lid in layer_ids:
        found = objects.get(lid) or []
        if found:
            if key and key in st.session_state:
                del st.session_state[key]
            return dict(found[0])
    return None


def _open_company(company_id) -> None:
    from pages._forms import open_company  # the company file's one way in

    open_company(int(company_id))


def attribution_caption(base: Basemap | None = None) -> str:
    base = base or basemap()
    mode = "" if base.tiles else "Fond hors ligne (contours). "
    return f"{mode}{base.attribution}"


# --------------------------------------------------------------------------- companies
def status_legend() -> str:
    """Markdown legend of the partner-status colours (no HTML)."""
    return " · ".join(
        f":{STATUS_LEGEND_COLORS[s]}[●] {PARTNER_STATUS_FR[s]}" for s in STATUS_COLORS
    )


def sector_colors(rows: Iterable) -> dict[str, tuple[list[int], str]]:
    """Colour per sector: the five most frequent get their own, the rest "Autres" (grey)."""
    counts: dict[str, int] = {}
    for r in rows:
        s = _get(r, "sector") or "Non renseigné"
        counts[s] = counts.get(s, 0) + 1
    top = sorted(counts, key=lambda s: (-counts[s], s))[: len(SECTOR_PALETTE) - 1]
    out = {s: SECTOR_PALETTE[i] for i, s in enumerate(top)}
    for s in counts:
        out.setdefault(s, SECTOR_PALETTE[-1])
    return out


def sector_legend(colors: dict[str, tuple[list[int], str]]) -> str:
    shown = [(s, c[1]) for s, c in colors.items() if c is not SECTOR_PALETTE[-1]]
    others = any(c is SECTOR_PALETTE[-1] for c in colors.values())
    parts = [f":{name}[●] {s}" for s, name in shown]
    if others:
        parts.append(":gray[●] Autres secteurs")
    return " · ".join(parts)


def company_deck(
    rows: Iterable,
    *,
    height: int = 420,
    color_by: str = "status",
    size_by_seats: bool | None = None,
    focus_id: int | None = None,
    base: Basemap | None = None,
) -> pdk.Deck | None:
    """Companies coloured by partner status (or sector), sized by free seats; None when none.

    ``rows``: mappings or objects with ``name``, ``status``, ``seats_free``, ``latitude``,
    ``longitude`` and optionally ``id``, ``precision``, ``city``, ``phone``, ``sector``.
    ``size_by_seats`` None: only when some company has free seats. ``focus_id``: that company
    is highlighted and the view zooms on it, the others are faded (company file).
    """
    rows = list(rows)
    sectors = sector_colors(rows) if color_by == "sector" else {}
    data = []
    for r in rows:
        lat, lon = _get(r, "latitude"), _get(r, "longitude")
        if lat is None or lon is None:
            continue
        status = _get(r, "status") or "prospect"
        free = int(_get(r, "seats_free") or 0)
        precision = _get(r, "precision") or ""
        cid = _get(r, "id")
        sector = _get(r, "sector") or ""
        color = (
            sectors[sector or "Non renseigné"][0]
            if color_by == "sector"
            else STATUS_COLORS.get(status, STATUS_COLORS["prospect"])
        )
        focused = focus_id is not None and cid == focus_id
        if focus_id is not None and not focused:
            color = FADED
        data.append(
            {
                "id": cid,
                "name": _get(r, "name") or "",
                "city": _get(r, "city") or "",
                "status_fr": PARTNER_STATUS_FR.get(status, status),
                "seats_free": free,
                "phone": _get(r, "phone") or "—",
                "sector": sector,
                "precision_fr": GEO_PRECISION_FR.get(precision, precision),
                "latitude": float(lat),
                "longitude": float(lon),
                "color": color,
                "focused": focused,
            }
        )
    if not data:
        return None
    if size_by_seats is None:
        size_by_seats = any(d["seats_free"] > 0 for d in data)
    for d in data:
        d["radius"] = (4 + min(d["seats_free"], 6)) if size_by_seats else 5
        if d["focused"]:
            d["radius"] = 10
    data.sort(key=lambda d: d["focused"])  # the focused company drawn last (on top)
    if focus_id is not None and any(d["focused"] for d in data):
        f = next(d for d in data if d["focused"])
        view = _view(
            [f["latitude"]], [f["longitude"]], height=height, min_span_deg=0.12, max_zoom=13
        )
    else:
        view = _view([d["latitude"] for d in data], [d["longitude"] for d in data], height=height)
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
        line_width_min_pixels=1.5,
        pickable=True,
        auto_highlight=True,
    )
    tooltip = {
        "html": "<b>{name}</b> ({city})<br/>{status_fr} — {seats_free} place(s) libre(s)"
        "<br/>Tél. {phone}<br/><i>{sector}</i><br/><i>position : {precision_fr}</i>",
        "style": TOOLTIP_STYLE,
    }
    return _deck([layer], view, tooltip, height=height, base=base)


def company_map(
    rows: Iterable,
    *,
    height: int = 420,
    key: str | None = None,
    color_by: str = "status",
    size_by_seats: bool | None = None,
    focus_id: int | None = None,
) -> int:
    """Render the company map; returns how many companies are on it.

    Rows with an ``id`` open the company file when clicked (needs a ``key``).
    """
    rows = list(rows)
    base = basemap()
    deck = company_deck(
        rows,
        height=height,
        color_by=color_by,
        size_by_seats=size_by_seats,
        focus_id=focus_id,
        base=base,
    )
    if deck is None:
        st.info("Aucune entreprise géolocalisée à afficher sur la carte.")
        return 0
    clickable = any(_get(r, "id") is not None for r in rows)
    event = _render(deck, height=height, key=key, clickable=clickable)
    picked = _clicked(event, key, ["companies"]) if event is not None else None
    if picked and picked.get("id") is not None and picked.get("id") != focus_id:
        _open_company(picked["id"])
    placed = sum(
        1 for r in rows if _get(r, "latitude") is not None and _get(r, "longitude") is not None
    )
    sized = (
        size_by_seats
        if size_by_seats is not None
        else any(int(_get(r, "seats_free") or 0) > 0 for r in rows)
    )
    legend = sector_legend(sector_colors(rows)) if color_by == "sector" else status_legend()
    if focus_id is not None:
        legend = "grand point coloré : cette entreprise · gris : entreprises voisines"
    st.caption(
        f"{placed} entreprise(s) sur la carte — {legend}"
        + (" — taille : places libres" if sized and focus_id is None else "")
        + (" — cliquez sur un point pour ouvrir la fiche" if clickable and key else "")
    )
    st.caption(attribution_caption(base))
    return placed


NEIGHBOUR_KM = 15.0


def _neighbours(company: Mapping, within_km: float = NEIGHBOUR_KM) -> list[dict]:
    """Companies the current user may read within ``within_km`` of ``company``."""
    from crm.errors import PasserelleError
    from crm.services.companies import list_companies
    from crm.services.geo import company_locations
    from matching.commute import haversine_km
    from pages._ui import current_actor, db_session

    actor = current_actor()
    lat, lon = _get(company, "latitude"), _get(company, "longitude")
    if actor is None or lat is None or lon is None:
        return []
    try:
        with db_session() as session:
            rows = list_companies(session, actor)
            placed = company_locations(session, actor, [r.id for r in rows])
    except PasserelleError:
        return []
    out = []
    for r in rows:
        p = placed.get(r.id)
        if p is None or r.id == _get(company, "id"):
            continue
        if float(haversine_km(lat, lon, p.latitude, p.longitude)) <= within_km:
            out.append(
                {
                    "id": r.id,
                    "name": r.name,
                    "city": r.city,
                    "status": r.status,
                    "sector": r.sector,
                    "seats_free": r.seats_free,
                    "latitude": p.latitude,
                    "longitude": p.longitude,
                    "precision": p.precision,
                }
            )
    return out


def company_file_map(
    company: Mapping,
    neighbours: Iterable | None = None,
    *,
    height: int = 300,
    key: str = "company_map",
) -> int:
    """The company file's map: zoomed on ``company`` (a row with ``id``), neighbours faded.

    ``neighbours`` None: the companies the user may read within 15 km (clicking one opens it).
    """
    if neighbours is None:
        neighbours = _neighbours(company)
    rows = [company, *[n for n in neighbours if _get(n, "id") != _get(company, "id")]]
    return company_map(rows, height=height, key=key, focus_id=_get(company, "id"))


# --------------------------------------------------------------------------- suggestions
def suggestions_deck(
    home,
    offers: Iterable,
    radius_km: float | None,
    *,
    height: int = 420,
    base: Basemap | None = None,
) -> pdk.Deck | None:
    """The learner's home, the suggested offers numbered as in the list, the reachable radius.

    ``home``: (latitude, longitude) or a mapping/object with them; ``offers`` (in list order):
    mappings or objects with ``latitude``, ``longitude`` and optionally ``title``, ``company``,
    ``company_id``, ``minutes``, ``distance_km``, ``rank``. None if nothing is placed.
    """
    if home is not None and not isinstance(home, tuple | list):
        home = (_get(home, "latitude"), _get(home, "longitude"))
    if home is not None and (home[0] is None or home[1] is None):
        home = None
    data = []
    for n, o in enumerate(offers, start=1):
        lat, lon = _get(o, "latitude"), _get(o, "longitude")
        if lat is None or lon is None:
            continue
        minutes = _get(o, "minutes")
        dist = _get(o, "distance_km")
        rank = _get(o, "rank") or n
        data.append(
            {
                "rank": str(rank),
                "id": _get(o, "company_id"),
                "name": f"{rank}. {_get(o, 'title') or ''}",
                "company": _get(o, "company") or "",
                "detail": " — ".join(
                    x
                    for x in (
                        f"{dist:.1f} km".replace(".", ",") if dist is not None else "",
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
            dlat = radius_km / 111.2
            dlon = radius_km / (111.2 * math.cos(math.radians(hlat)))
            lats += [hlat - dlat, hlat + dlat]
            lons += [hlon - dlon, hlon + dlon]
            layers.append(
                pdk.Layer(
                    "ScatterplotLayer",
                    data=[{"latitude": hlat, "longitude": hlon}],
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
                        "name": "Domicile du stagiaire",
                        "company": "",
                        "detail": "",
                    }
                ],
                id="home",
                get_position=["longitude", "latitude"],
                get_fill_color=HOME_COLOR,
                get_radius=10,
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
            get_radius=11,
            radius_units=PIXELS,
            stroked=True,
            get_line_color=[255, 255, 255, 255],
            line_width_min_pixels=1.5,
            pickable=True,
            auto_highlight=True,
        )
    )
    layers.append(
        pdk.Layer(
            "TextLayer",
            data=data,
            id="offer_numbers",
            get_position=["longitude", "latitude"],
            get_text="rank",
            get_size=13,
            get_color=[255, 255, 255, 255],
            font_weight=700,
            pickable=False,
        )
    )
    tooltip = {"html": "<b>{name}</b><br/>{company}<br/>{detail}", "style": TOOLTIP_STYLE}
    # The offers' numbers matter more than town names here: names under the markers.
    return _deck(
        layers,
        _view(lats, lons, height=height),
        tooltip,
        height=height,
        base=base,
        names_on_top=False,
    )


def suggestions_map(
    home, offers: Iterable, radius_km: float | None, *, height: int = 420, key: str | None = None
) -> bool:
    """Render the suggestions map; False (with a message) when nothing can be placed."""
    offers = list(offers)
    base = basemap()
    deck = suggestions_deck(home, offers, radius_km, height=height, base=base)
    if deck is None:
        st.info("Ni le domicile ni les offres ne sont géolocalisés : pas de carte.")
        return False
    clickable = any(_get(o, "company_id") is not None for o in offers)
    event = _render(deck, height=height, key=key, clickable=clickable)
    picked = _clicked(event, key, ["offers"]) if event is not None else None
    if picked and picked.get("id") is not None:
        _open_company(picked["id"])
    st.caption(
        ":blue[●] domicile · :green[●] offres suggérées, numérotées comme dans la liste"
        + (f" · cercle : rayon accessible ({radius_km:.0f} km)" if radius_km else "")
        + (" · cliquez sur une offre pour ouvrir la fiche de l'entreprise" if clickable else "")
    )
    st.caption(attribution_caption(base))
    return True
