"""Import of the INSEE SIRENE register of establishments (StockEtablissement CSV layout).

The national file is several GB: it is read in chunks (pandas ``chunksize``, only the
columns used, every value as text), filtered to the school's départements while
reading, and each chunk is upserted in one short transaction
(``INSERT … ON CONFLICT (siret) DO UPDATE`` on SQLite and PostgreSQL). Active
establishments (``etatAdministratifEtablissement == "A"``) are inserted or updated;
closed ones (``F``) only mark an existing row closed.

Coordinates: Lambert-93 columns (metropolitan France) converted to WGS84 with pyproj,
else ``latitude``/``longitude`` columns of a geocoded extract, else the commune centre
(data/communes.csv).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from crm.auth import Actor, Perm, authorize
from crm.models import Establishment, GeoPrecision, Site, utcnow

log = logging.getLogger(__name__)

DEFAULT_DEPARTEMENTS = ("83",)
CHUNK_ROWS = 50_000

REQUIRED_COLUMNS = (
    "siret",
    "etatAdministratifEtablissement",
    "activitePrincipaleEtablissement",
    "codePostalEtablissement",
    "codeCommuneEtablissement",
)
OPTIONAL_COLUMNS = (
    "trancheEffectifsEtablissement",
    "enseigne1Etablissement",
    "denominationUsuelleEtablissement",
    "denominationUniteLegale",
    "numeroVoieEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "libelleCommuneEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "latitude",
    "longitude",
)

# INSEE street-type abbreviations (typeVoieEtablissement), the common ones spelled out.
STREET_TYPES = {
    "AV": "Avenue",
    "BD": "Boulevard",
    "CHE": "Chemin",
    "CRS": "Cours",
    "ALL": "Allée",
    "IMP": "Impasse",
    "PL": "Place",
    "QUA": "Quai",
    "RTE": "Route",
    "RUE": "Rue",
    "SQ": "Square",
    "ZA": "ZA",
    "ZI": "ZI",
    "ZAC": "ZAC",
    "LD": "Lieu-dit",
    "QU": "Quartier",
    "TRA": "Traverse",
    "MTE": "Montée",
    "RPT": "Rond-point",
    "ESP": "Esplanade",
    "PROM": "Promenade",
}

# Articles kept in lower case in title-cased street names ("Rue de la République").
_SMALL_WORDS = r"(?<=\s)(?:De|Du|Des|La|Le|Les|L'|D'|Et|Aux?|En|Sur)(?=\s|\b)"

# Paris, Lyon, Marseille: the register uses arrondissement codes, data/communes.csv the city.
_ARRONDISSEMENT_PREFIXES = (("751", "75056"), ("6938", "69123"), ("132", "13055"))


@dataclass
class SireneReport:
    rows_read: int = 0
    kept: int = 0  # active establishments of the départements, upserted
    closed: int = 0  # closed establishments of the départements (rows marked closed)
    lambert: int = 0
    latlon: int = 0
    commune_centre: int = 0
    no_coordinates: int = 0
    departements: tuple[str, ...] = ()
    seconds: float = 0.0
    missing_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rows_read} ligne(s) lues, {self.kept} établissement(s) actif(s) importé(s) "
            f"dans les départements {', '.join(self.departements)}, {self.closed} fermé(s) ; "
            f"coordonnées : {self.lambert} Lambert-93, {self.latlon} latitude/longitude, "
            f"{self.commune_centre} centre de commune, {self.no_coordinates} sans "
            f"({self.seconds:.1f} s)"
        )


def parse_departements(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """'83, 6,13' -> ('83', '06', '13'); Corsica '2a' -> '2A'; DROM '974' kept."""
    if text is None:
        return ()
    items = text.split(",") if isinstance(text, str) else list(text)
    out = []
    for raw in items:
        code = str(raw).strip().upper()
        if not code:
            continue
        if code.isdigit() and len(code) == 1:
            code = "0" + code
        if not (code in ("2A", "2B") or (code.isdigit() and len(code) in (2, 3))):
            raise ValueError(f"département inconnu : {raw!r}")
        out.append(code)
    return tuple(dict.fromkeys(out))


def default_departements(session) -> tuple[str, ...]:
    """The départements of the school's sites (from their postcodes), else the Var."""
    codes = []
    for postcode in session.scalars(select(Site.postcode)):
        if postcode:
            codes.append(_dept_of_postcode(postcode))
    return tuple(dict.fromkeys(c for c in codes if c)) or DEFAULT_DEPARTEMENTS


def _dept_of_postcode(postcode: str) -> str:
    pc = postcode.strip()
    if len(pc) != 5 or not pc.isdigit():
        return ""
    if pc.startswith("97"):
        return pc[:3]
    if pc.startswith("20"):
        return "2A" if pc < "20200" else "2B"
    return pc[:2]


def departement_codes(commune_code: pd.Series, postcode: pd.Series) -> pd.Series:
    """Département of each row: from the commune code, else from the postcode (vectorised)."""
    cc = commune_code.fillna("").str.strip()
    pc = postcode.fillna("").str.strip()
    dept = cc.str[:2]
    dept = dept.where(~cc.str.startswith("97"), cc.str[:3])
    from_pc = pc.str[:2]
    from_pc = from_pc.where(~pc.str.startswith("97"), pc.str[:3])
    corsica = pc.str.startswith("20")
    from_pc = from_pc.where(~corsica, np.where(pc < "20200", "2A", "2B"))
    return dept.where(cc.str.len() == 5, from_pc)


@functools.cache
def _transformer():
    from pyproj import Transformer

    return Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)


def lambert93_to_wgs84(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lambert-93 metres (EPSG:2154) -> (latitude, longitude) degrees, vectorised."""
    lon, lat = _transformer().transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lat), np.asarray(lon)


@functools.cache
def _commune_centres() -> dict[str, tuple[float, float]]:
    from crm.reference import communes

    return {c.insee: (c.latitude, c.longitude) for c in communes()}


@functools.cache
def _official_names() -> dict[str, str]:
    from crm.reference import communes

    return {c.insee: c.name for c in communes()}


def _commune_names(codes: pd.Series, labels: pd.Series) -> pd.Series:
    """Official commune names ("La Seyne-sur-Mer"), else the register's label in title case."""
    official = codes.map(_official_names())
    return official.fillna(labels.str.title()).str[:120].replace("", None)


def _city_code(code: str) -> str:
    for prefix, city in _ARRONDISSEMENT_PREFIXES:
        if code.startswith(prefix) and len(code) == 5:
            return city
    return code


def _text(df: pd.DataFrame, column: str) -> pd.Series:
    if column in df.columns:
        return df[column].fillna("").str.strip()
    return pd.Series("", index=df.index, dtype=object)


def _naf(series: pd.Series) -> pd.Series:
    s = series.str.upper().str.replace(" ", "", regex=False)
    undotted = (s.str.len() == 5) & ~s.str.contains(".", regex=False)
    return s.where(~undotted, s.str[:2] + "." + s.str[2:])


def _prepare(chunk: pd.DataFrame, report: SireneReport) -> pd.DataFrame:
    """Active rows of a filtered chunk -> the establishments table's columns."""
    name = _text(chunk, "enseigne1Etablissement")
    usual = _text(chunk, "denominationUsuelleEtablissement")
    legal = _text(chunk, "denominationUniteLegale")
    name = name.where(name != "", usual).where(lambda s: s != "", legal)
    siret = chunk["siret"].str.strip()
    name = name.where(name != "", "Établissement " + siret)
    street_type = _text(chunk, "typeVoieEtablissement")
    street_type = street_type.map(lambda t: STREET_TYPES.get(t.upper(), t))
    address = (
        (
            _text(chunk, "numeroVoieEtablissement")
            + " "
            + street_type
            + " "
            + _text(chunk, "libelleVoieEtablissement").str.title()
        )
        .str.split()
        .str.join(" ")
        .str.replace(_SMALL_WORDS, lambda m: m.group(0).lower(), regex=True)
    )
    commune_code = _text(chunk, "codeCommuneEtablissement")

    lat = np.full(len(chunk), np.nan)
    lon = np.full(len(chunk), np.nan)
    precision = np.full(len(chunk), GeoPrecision.NONE.value, dtype=object)
    xcol, ycol = "coordonneeLambertAbscisseEtablissement", "coordonneeLambertOrdonneeEtablissement"
    if xcol in chunk.columns and ycol in chunk.columns:
        x = pd.to_numeric(chunk[xcol], errors="coerce")
        y = pd.to_numeric(chunk[ycol], errors="coerce")
        # Lambert-93 is the projection of metropolitan France only (DROM use UTM zones).
        has = (x.notna() & y.notna() & ~commune_code.str.startswith("97")).to_numpy()
        if has.any():
            la, lo = lambert93_to_wgs84(x.to_numpy()[has], y.to_numpy()[has])
            lat[has], lon[has] = la, lo
            precision[has] = GeoPrecision.HOUSENUMBER.value
            report.lambert += int(has.sum())
    if "latitude" in chunk.columns and "longitude" in chunk.columns:
        la = pd.to_numeric(chunk["latitude"], errors="coerce").to_numpy()
        lo = pd.to_numeric(chunk["longitude"], errors="coerce").to_numpy()
        has = np.isnan(lat) & ~np.isnan(la) & ~np.isnan(lo)
        lat[has], lon[has] = la[has], lo[has]
        precision[has] = GeoPrecision.HOUSENUMBER.value
        report.latlon += int(has.sum())
    missing = np.isnan(lat)
    if missing.any():
        centres = _commune_centres()
        codes = commune_code.to_numpy()[missing]
        found = [centres.get(_city_code(c)) for c in codes]
        la = np.array([f[0] if f else np.nan for f in found])
        lo = np.array([f[1] if f else np.nan for f in found])
        lat[missing], lon[missing] = la, lo
        got = ~np.isnan(la)
        sub = precision[missing]
        sub[got] = GeoPrecision.COMMUNE.value
        precision[missing] = sub
        report.commune_centre += int(got.sum())
        report.no_coordinates += int((~got).sum())
    band = _text(chunk, "trancheEffectifsEtablissement").str[:2]
    return pd.DataFrame(
        {
            "siret": siret,
            "name": name.str[:200],
            "legal_name": legal.str[:200].replace("", None),
            "naf": _naf(_text(chunk, "activitePrincipaleEtablissement")).str[:6].replace("", None),
            "size_band": band.replace("", None),
            "address": address.str[:300].replace("", None),
            "postcode": _text(chunk, "codePostalEtablissement").str[:5].replace("", None),
            "commune_code": commune_code.str[:5].replace("", None),
            "commune_name": _commune_names(
                commune_code, _text(chunk, "libelleCommuneEtablissement")
            ),
            "latitude": np.round(lat, 6),
            "longitude": np.round(lon, 6),
            "geo_precision": precision,
        }
    )


def _records(frame: pd.DataFrame) -> list[dict]:
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _upsert_statement(dialect: str):
    table = Establishment.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table)
    updated = (
        "name",
        "legal_name",
        "naf",
        "size_band",
        "address",
        "postcode",
        "commune_code",
        "commune_name",
        "latitude",
        "longitude",
        "geo_precision",
        "active",
        "source_date",
        "updated_at",
    )
    return stmt.on_conflict_do_update(
        index_elements=["siret"], set_={c: stmt.excluded[c] for c in updated}
    )


def import_sirene(
    engine: Engine,
    actor: Actor,
    path: str | Path,
    *,
    departements: Iterable[str] | str | None = None,
    source_date: dt.date | None = None,
    chunksize: int = CHUNK_ROWS,
    progress: Callable[[float, SireneReport], None] | None = None,
) -> SireneReport:
    """Import (insert or update) the register's establishments of ``departements``.

    Admins only (reference data shared by every site). ``departements`` default to those
    of the school's sites (else the Var). ``progress(fraction_of_file, report)`` is called
    after each chunk. Each chunk is committed on its own: an interrupted import keeps the
    chunks already done, and re-running it is harmless (upsert by SIRET).
    """
    import time

    authorize(actor, Perm.SETTINGS_ADMIN)
    path = Path(path)
    start = time.perf_counter()
    depts = parse_departements(departements)
    if not depts:
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            depts = default_departements(session)
    report = SireneReport(departements=depts)
    source_date = source_date or dt.date.fromtimestamp(path.stat().st_mtime)
    header = pd.read_csv(path, nrows=0, dtype=str, encoding="utf-8").columns
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        from crm.errors import ValidationError

        raise ValidationError({"file": "colonnes SIRENE manquantes : " + ", ".join(missing)})
    usecols = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in header]
    report.missing_columns = [c for c in OPTIONAL_COLUMNS if c not in header]
    upsert = _upsert_statement(engine.dialect.name)
    close = update(Establishment.__table__)
    size = max(1, path.stat().st_size)
    with path.open("rb") as fh:
        reader = pd.read_csv(
            fh,
            usecols=usecols,
            dtype=str,
            chunksize=chunksize,
            encoding="utf-8",
            keep_default_na=False,
            na_values=[""],
        )
        for chunk in reader:
            report.rows_read += len(chunk)
            dept = departement_codes(
                chunk["codeCommuneEtablissement"], chunk["codePostalEtablissement"]
            )
            chunk = chunk[dept.isin(depts).to_numpy()]
            state = chunk["etatAdministratifEtablissement"].fillna("").str.strip()
            active = chunk[(state == "A").to_numpy()]
            closed = chunk[(state == "F").to_numpy()]["siret"].str.strip().tolist()
            now = utcnow()
            rows = _records(_prepare(active, report)) if len(active) else []
            for r in rows:
                r.update(active=True, source_date=source_date, imported_at=now, updated_at=now)
            with engine.begin() as conn:
                if rows:
                    conn.execute(upsert, rows)
                for i in range(0, len(closed), 900):
                    part = closed[i : i + 900]
                    conn.execute(
                        close.where(Establishment.siret.in_(part)).values(
                            active=False, source_date=source_date, updated_at=now
                        )
                    )
            report.kept += len(rows)
            report.closed += len(closed)
            if progress:
                progress(min(1.0, fh.tell() / size), report)
    report.seconds = time.perf_counter() - start
    log.info(
        "sirene import: %s rows read, %s kept, %s closed",
        report.rows_read,
        report.kept,
        report.closed,
    )
    return report
