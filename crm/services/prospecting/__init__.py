"""Prospecting: the register establishments to call next, for a learner or a job and a place.

- ``prospects_for_learner`` / ``prospects_near``: establishments of the SIRENE register
  (table ``establishments``, filled by ``passerelle import sirene``) ranked by
  matching.prospects, **excluding** the companies already in the CRM (same SIRET, or the
  same establishment for the duplicate detector crm/dedupe.py). Those of them that said
  no in the last months are returned apart (``declined``), not hidden.
- ``add_prospect``: "Ajouter comme prospect": a CRM company (status prospect, source
  "sirene", owned by the officer) through companies.create_company; a second click
  returns the company already created.
docs/PROSPECTING.md explains the ranking.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.auth import Actor, Perm, authorize
from crm.config import DATA_DIR
from crm.dedupe import DEFAULT_THRESHOLD, company_records, prepare, score_pair
from crm.errors import NotFound, ValidationError
from crm.models import Company, Establishment, Interaction, Learner, PartnerStatus, Site
from crm.reference import rome_labels
from crm.services._common import get_or_404, months_before
from matching.commute import commute_minutes, reachable_km
from matching.prospects import (
    EstablishmentArrays,
    Prospect,
    RomeNafTable,
    bounding_box,
    build_prospect,
    ranked_order,
    score_establishments,
)

# INSEE size band code -> the CRM's short "effectif" text (as typed in company files).
CRM_SIZE_BANDS = {
    "00": "0",
    "01": "1-2",
    "02": "3-5",
    "03": "6-9",
    "11": "10-19",
    "12": "20-49",
    "21": "50-99",
    "22": "100-199",
    "31": "200-249",
    "32": "250-499",
    "41": "500-999",
    "42": "1000-1999",
    "51": "2000-4999",
    "52": "5000-9999",
    "53": "10000+",
}
DEFAULT_TOP = 20
DEFAULT_RADIUS_KM = 20.0
DECLINED_MONTHS = 6
# An interaction outcome saying "no" (folded, lower case): the company is shown apart.
DECLINE_PATTERN = re.compile(
    r"pas de besoin|pas intéress|refus|décline|ne souhaite pas|pas disponible|\bnon\b",
    re.IGNORECASE,
)


@functools.cache
def rome_naf_table() -> RomeNafTable:
    """The ROME → NAF hirings table shipped in data/ (La Bonne Boîte)."""
    return RomeNafTable.from_csv(Path(DATA_DIR) / "rome_naf_hirings.csv")


@dataclass
class DeclinedProspect:
    prospect: Prospect
    company_id: int
    company_name: str
    status: str
    last_contact: dt.datetime | None
    outcome: str | None


@dataclass
class ProspectList:
    prospects: list[Prospect]
    declined: list[DeclinedProspect]
    origin: tuple[float, float]
    radius_km: float
    max_minutes: float
    modes: tuple[str, ...]
    rome_codes: tuple[str, ...]
    in_crm: int = 0  # ranked establishments skipped because the CRM already has them
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- loading


@dataclass
class _Register:
    """The active register's scoring columns, kept in memory between requests."""

    fingerprint: tuple
    ids: np.ndarray
    siret: np.ndarray
    siret_numbers: np.ndarray  # uint64 (fairness jitter)
    naf: tuple[np.ndarray, np.ndarray]  # (code per row, values)
    size_band: tuple[np.ndarray, np.ndarray]
    latitude: np.ndarray
    longitude: np.ndarray


_REGISTERS: dict[str, _Register] = {}


def _register_arrays(session: Session) -> _Register:
    """Active establishments with coordinates as arrays, reloaded when the register changes.

    The fingerprint (last update, last id: rows are never deleted, an import or a closure
    moves ``updated_at``) is two index look-ups, no table scan; the load
    itself (one query, ~1 s for 150,000 rows) happens once per process and import.
    """
    e = Establishment
    fingerprint = tuple(session.execute(select(func.max(e.updated_at), func.max(e.id))).one())
    key = str(session.get_bind().url)
    cached = _REGISTERS.get(key)
    if cached is not None and cached.fingerprint == fingerprint:
        return cached
    rows = session.connection().execute(
        select(e.id, e.siret, e.naf, e.size_band, e.latitude, e.longitude)
        .where(e.active.is_(True), e.latitude.is_not(None), e.longitude.is_not(None))
        .order_by(e.siret)
    )
    cols = list(zip(*rows, strict=True)) or [()] * 6
    siret = np.array(cols[1], dtype=object)

    def factorise(values) -> tuple[np.ndarray, np.ndarray]:
        uniq, inverse = np.unique(
            np.array([x or "" for x in values], dtype=str), return_inverse=True
        )
        return inverse.astype(np.int32), uniq.astype(object)

    try:
        numbers = siret.astype(str).astype(np.uint64)
    except ValueError:
        numbers = np.array([int(x) if x.isdigit() else 0 for x in siret], dtype=np.uint64)
    reg = _Register(
        fingerprint=fingerprint,
        ids=np.array(cols[0], dtype=np.int64),
        siret=siret,
        siret_numbers=numbers,
        naf=factorise(cols[2]),
        size_band=factorise(cols[3]),
        latitude=np.array(cols[4], dtype=float),
        longitude=np.array(cols[5], dtype=float),
    )
    _REGISTERS[key] = reg
    return reg


def load_establishments(
    session: Session, bbox: tuple[float, float, float, float], nafs: list[str]
) -> EstablishmentArrays:
    """Active establishments inside ``bbox`` whose NAF is one of ``nafs``, as arrays.

    Names, communes and addresses are left empty here: :func:`_details` reads them for
    the few establishments that make the list.
    """
    reg = _register_arrays(session)
    min_lat, max_lat, min_lon, max_lon = bbox
    mask = (
        (reg.latitude >= min_lat)
        & (reg.latitude <= max_lat)
        & (reg.longitude >= min_lon)
        & (reg.longitude <= max_lon)
    )
    idx = np.flatnonzero(mask)
    naf_code, naf_values = reg.naf
    if nafs:
        wanted = np.isin(naf_values.astype(str), np.array(nafs, dtype=str))
        idx = idx[wanted[naf_code[idx]]]
    band_code, band_values = reg.size_band
    blank = np.full(len(idx), "", dtype=object)
    return EstablishmentArrays(
        siret=reg.siret[idx],
        name=blank,
        naf=naf_values[naf_code[idx]],
        size_band=band_values[band_code[idx]],
        latitude=reg.latitude[idx],
        longitude=reg.longitude[idx],
        commune=blank,
        extra={"id": reg.ids[idx]},
        naf_codes=(naf_code[idx], naf_values),
        band_codes=(band_code[idx], band_values),
        siret_numbers=reg.siret_numbers[idx],
    )


def _details(session: Session, ids: list[int]) -> dict[int, tuple]:
    """id -> (name, commune, address, postcode, legal_name) of a few establishments."""
    e = Establishment
    out = {}
    for i in range(0, len(ids), 500):
        for row in session.execute(
            select(e.id, e.name, e.commune_name, e.address, e.postcode, e.legal_name).where(
                e.id.in_(ids[i : i + 500])
            )
        ):
            out[row[0]] = tuple(row[1:])
    return out


class _CrmIndex:
    """The CRM's live companies, to recognise an establishment the school already knows."""

    def __init__(self, session: Session):
        self.records = company_records(session)
        self.prepared = prepare(self.records)
        self.by_siret = {p.siret: p.index for p in self.prepared if p.siret}
        self.by_place: dict[str, list[int]] = defaultdict(list)
        for p in self.prepared:
            if p.postcode:
                self.by_place["pc:" + p.postcode].append(p.index)
            if p.city:
                self.by_place["city:" + p.city].append(p.index)

    def match(self, prospect: Prospect) -> int | None:
        """Index (in records) of the CRM company that is this establishment, if any."""
        if prospect.siret in self.by_siret:
            return self.by_siret[prospect.siret]
        if not self.prepared:
            return None
        new = prepare(
            [
                {
                    "name": prospect.name,
                    "siret": None,  # compare like a typed record without SIRET
                    "address": prospect.extra.get("address"),
                    "postcode": prospect.extra.get("postcode"),
                    "city": prospect.commune,
                }
            ]
        )[0]
        near = set(self.by_place.get("pc:" + new.postcode, ())) | set(
            self.by_place.get("city:" + new.city, ())
        )
        best, best_score = None, DEFAULT_THRESHOLD
        for idx in sorted(near):
            other = self.prepared[idx]
            if other.siret:  # a CRM company with a SIRET is matched by SIRET only
                continue
            score, _ = score_pair(new, other)
            if score >= best_score:
                best, best_score = idx, score
        # Legal name too (the register's enseigne may differ from the typed name).
        legal = prospect.extra.get("legal_name")
        if best is None and legal and legal != prospect.name:
            alias = Prospect(**{**prospect.__dict__, "name": legal, "siret": ""})
            alias.extra = {**prospect.extra, "legal_name": None}
            return self.match(alias)
        return best


def _declined_info(
    session: Session, company_ids: list[int], since: dt.date
) -> dict[int, tuple[str, dt.datetime | None, str | None, bool]]:
    """company id -> (status, last contact, its outcome, said no recently)."""
    if not company_ids:
        return {}
    statuses = {
        cid: status
        for cid, status in session.execute(
            select(Company.id, Company.status).where(Company.id.in_(company_ids))
        )
    }
    out: dict[int, tuple] = {cid: (statuses.get(cid, ""), None, None, False) for cid in company_ids}
    rows = session.execute(
        select(Interaction.company_id, Interaction.occurred_at, Interaction.outcome)
        .where(Interaction.company_id.in_(company_ids))
        .order_by(Interaction.company_id, Interaction.occurred_at)
    ).all()
    cutoff = dt.datetime.combine(since, dt.time())
    for cid, when, outcome in rows:  # ascending: the last one wins
        status = statuses.get(cid, "")
        said_no = bool(when >= cutoff and outcome and DECLINE_PATTERN.search(outcome))
        out[cid] = (status, when, outcome, said_no)
    for cid, (status, when, outcome, _said_no) in out.items():
        recent = when is not None and when >= cutoff
        if status == PartnerStatus.INACTIVE.value and (recent or when is None):
            out[cid] = (status, when, outcome, True)
    return out


def _rank(
    session: Session,
    actor: Actor,
    *,
    origin: tuple[float, float],
    rome_codes: tuple[str, ...],
    modes: tuple[str, ...],
    max_minutes: float,
    radius_km: float,
    top: int,
    declined_months: int,
    today: dt.date,
) -> ProspectList:
    table = rome_naf_table()
    shares, _ = table.combined(rome_codes)
    result = ProspectList(
        prospects=[],
        declined=[],
        origin=origin,
        radius_km=radius_km,
        max_minutes=max_minutes,
        modes=modes,
        rome_codes=rome_codes,
    )
    if not shares:
        result.notes.append(
            "Aucune donnée d'embauche pour ce métier (table ROME → NAF) : pas de classement."
        )
        return result
    est = load_establishments(
        session, bounding_box(origin[0], origin[1], radius_km), sorted(shares)
    )
    score, parts = score_establishments(
        est,
        origin=origin,
        rome_codes=rome_codes,
        table=table,
        modes=modes,
        max_minutes=max_minutes,
        radius_km=radius_km,
        officer_key=actor.user_id,
    )
    crm = _CrmIndex(session)
    labels = rome_labels()
    matched: list[tuple[Prospect, int]] = []
    order = ranked_order(score)
    batch = max(2 * top, 40)
    for start in range(0, len(order), batch):  # details read batch by batch, best first
        part = order[start : start + batch]
        details = _details(session, [int(est.extra["id"][i]) for i in part])
        for i in part:
            p = build_prospect(
                est,
                int(i),
                score,
                parts,
                rome_codes=rome_codes,
                table=table,
                modes=modes,
                rome_labels=labels,
            )
            found = details.get(int(est.extra["id"][i]))
            if found is None:  # removed since the register was cached
                continue
            p.name, p.commune = found[0], found[1] or ""
            p.extra = {"address": found[2], "postcode": found[3], "legal_name": found[4]}
            idx = crm.match(p)
            if idx is None:
                result.prospects.append(p)
                if len(result.prospects) >= top:
                    break
            else:
                result.in_crm += 1
                matched.append((p, idx))
        if len(result.prospects) >= top:
            break
    since = months_before(today, declined_months)
    info = _declined_info(session, [crm.records[idx]["id"] for _, idx in matched], since)
    for p, idx in matched:
        rec = crm.records[idx]
        status, when, outcome, said_no = info.get(rec["id"], ("", None, None, False))
        if said_no:
            result.declined.append(
                DeclinedProspect(p, rec["id"], rec["name"], status, when, outcome)
            )
    return result


# --------------------------------------------------------------------------- services


def prospects_for_learner(
    session: Session,
    actor: Actor,
    learner_id: int,
    *,
    top: int = DEFAULT_TOP,
    radius_km: float | None = None,
    rome: str | None = None,
    declined_months: int = DECLINED_MONTHS,
    today: dt.date | None = None,
) -> ProspectList:
    """Establishments to call for a learner of the actor's sites (their projects, commute)."""
    authorize(actor, Perm.COMPANY_READ)
    authorize(actor, Perm.LEARNER_READ_BASIC)
    learner = get_or_404(session, Learner, learner_id, "Stagiaire")
    authorize(actor, Perm.LEARNER_READ_BASIC, learner.site_id)
    if learner.latitude is None or learner.longitude is None:
        raise ValidationError(
            {"Stagiaire": "adresse non localisée : complétez sa ville dans « Stagiaires »."}
        )
    codes = (rome,) if rome else tuple(learner.project_codes)
    if not codes:
        raise ValidationError({"job": "le stagiaire n'a pas de projet (code ROME)."})
    modes = tuple(learner.mobility_modes) or ("transit",)
    max_minutes = float(learner.max_commute_min or 45)
    reach = reachable_km(max_minutes, modes)
    return _rank(
        session,
        actor,
        origin=(learner.latitude, learner.longitude),
        rome_codes=codes,
        modes=modes,
        max_minutes=max_minutes,
        radius_km=min(radius_km, reach) if radius_km else reach,
        top=top,
        declined_months=declined_months,
        today=today or dt.date.today(),
    )


def prospects_near(
    session: Session,
    actor: Actor,
    rome_codes: list[str] | tuple[str, ...] | str,
    latitude: float | None = None,
    longitude: float | None = None,
    *,
    site_id: int | None = None,
    radius_km: float = DEFAULT_RADIUS_KM,
    modes: tuple[str, ...] = ("transit",),
    top: int = DEFAULT_TOP,
    declined_months: int = DECLINED_MONTHS,
    today: dt.date | None = None,
) -> ProspectList:
    """Establishments to call for a job around a point (or a site of the actor's)."""
    authorize(actor, Perm.COMPANY_READ, site_id)
    codes = (rome_codes,) if isinstance(rome_codes, str) else tuple(rome_codes)
    if site_id is not None:
        site = get_or_404(session, Site, site_id, "Site")
        latitude, longitude = site.latitude, site.longitude
    if latitude is None or longitude is None:
        raise ValidationError({"place": "coordonnées inconnues."})
    if not codes or not all(codes):
        raise ValidationError({"job": "choisissez un métier (code ROME)."})
    radius_km = float(radius_km)
    # Everything inside the radius stays in: the time budget is the radius by the slowest mode.
    budget = float(np.max(commute_minutes(np.array([radius_km]), modes)[0])) + 1.0
    return _rank(
        session,
        actor,
        origin=(float(latitude), float(longitude)),
        rome_codes=codes,
        modes=modes,
        max_minutes=budget,
        radius_km=radius_km,
        top=top,
        declined_months=declined_months,
        today=today or dt.date.today(),
    )


@dataclass
class AddedProspect:
    company_id: int
    name: str
    created: bool  # False: the CRM already had it (second click, or a colleague's)


def add_prospect(
    session: Session, actor: Actor, siret: str, *, site_id: int | None = None
) -> AddedProspect:
    """ "Ajouter comme prospect": the register establishment becomes a CRM company.

    Status prospect, source "sirene", owned by the officer, through create_company (every
    rule and the audit apply). No duplicate: an existing live company with that SIRET (or
    the same establishment per the duplicate detector) is returned instead.
    """
    from crm.dedupe import likely_duplicates
    from crm.services.companies import create_company

    authorize(actor, Perm.COMPANY_WRITE, site_id)
    est = session.scalar(select(Establishment).where(Establishment.siret == siret))
    if est is None:
        raise NotFound(f"Établissement {siret} introuvable dans le registre.")
    existing = session.scalar(
        select(Company)
        .where(
            Company.siret == est.siret,
            Company.is_live,
        )
        .order_by(Company.id)
    )
    if existing is not None:
        return AddedProspect(existing.id, existing.name, False)
    fields = {
        "name": est.name,
        "address": est.address,
        "postcode": est.postcode,
        "city": est.commune_name,
    }
    dupes = [d for d in likely_duplicates(session, fields, threshold=DEFAULT_THRESHOLD)]
    for d in dupes:
        other = session.get(Company, d.company_id)
        if other is not None and not other.siret:
            return AddedProspect(other.id, other.name, False)
    company = create_company(
        session,
        actor,
        name=est.name,
        siret=est.siret,
        naf=est.naf,
        size_band=CRM_SIZE_BANDS.get(est.size_band or ""),
        address=est.address,
        postcode=est.postcode,
        city=est.commune_name,
        latitude=est.latitude,
        longitude=est.longitude,
        site_id=site_id,
        status=PartnerStatus.PROSPECT.value,
        notes=f"Ajoutée depuis le registre SIRENE (fichier du {est.source_date:%d/%m/%Y})."
        if est.source_date
        else "Ajoutée depuis le registre SIRENE.",
        source="sirene",
    )
    if est.latitude is not None:
        company.geo_precision = est.geo_precision  # the register's, not a hand-placed point
        session.flush()
    return AddedProspect(company.id, company.name, True)


@dataclass
class RegisterSummary:
    active: int
    closed: int
    last_import: dt.datetime | None
    source_date: dt.date | None


def register_summary(session: Session, actor: Actor) -> RegisterSummary:
    """How much of the register is loaded (for the page's header)."""
    authorize(actor, Perm.COMPANY_READ)
    e = Establishment
    active = session.scalar(select(func.count()).select_from(e).where(e.active.is_(True))) or 0
    closed = session.scalar(select(func.count()).select_from(e).where(e.active.is_(False))) or 0
    last, source = session.execute(select(func.max(e.updated_at), func.max(e.source_date))).one()
    return RegisterSummary(active, closed, last, source)
