"""Import and export of the CRM tables (CSV or XLSX), shared by the CLI and the UI.

Import rules
- CSV separated by ``,`` or ``;`` (sniffed), UTF-8 (with or without BOM) or
  Windows-1252; or XLSX (first sheet). The first row holds the column names:
  canonical English snake_case names or the usual French headers.
- Upsert by ``ref``: a row whose ref exists updates that record, so importing
  the same file twice changes nothing.
- Atomic: if any row is invalid nothing is imported and every rejected row is
  reported with its line number and a French reason; ``skip_invalid`` imports
  the valid rows only. ``dry_run`` checks everything and imports nothing.
- Companies that look like existing ones are reported, never merged.
- Learners go through crm.services.learners (the Stagiaires form's rules and French
  messages); an empty cell leaves a learner's field unchanged; a learner is never moved
  to another site by an import.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crm import audit
from crm import validation as v
from crm.auth import Actor, Perm, authorize
from crm.config import get_settings
from crm.dedupe import company_records, find_duplicates
from crm.errors import DatabaseUnavailable, PasserelleError, PermissionDenied, ValidationError
from crm.geo import Geocoder
from crm.models import (
    Company,
    Contact,
    GeoPrecision,
    Interaction,
    Learner,
    Offer,
    Placement,
    PlacementKind,
    PlacementStatus,
    Site,
)
from crm.reference import fold
from crm.services import learners as learner_service
from crm.services.companies import (
    PARTNER_STATUS_LABELS,
    _apply_location,
    create_company,
    update_company,
)
from crm.services.contacts import upsert_contact
from crm.services.interactions import upsert_interaction
from crm.services.offers import create_offer, update_offer
from crm.services.placements import upsert_placement

KINDS = ("sites", "companies", "contacts", "offers", "learners", "interactions", "placements")

COLUMNS: dict[str, list[str]] = {
    "sites": ["ref", "name", "address", "postcode", "city", "latitude", "longitude"],
    "companies": [
        "ref",
        "name",
        "siret",
        "naf",
        "sector",
        "address",
        "postcode",
        "city",
        "latitude",
        "longitude",
        "phone",
        "email",
        "website",
        "site",
        "status",
    ],
    "contacts": [
        "ref",
        "company_ref",
        "first_name",
        "last_name",
        "job_title",
        "phone",
        "email",
        "is_tutor",
    ],
    "offers": [
        "ref",
        "company_ref",
        "rome",
        "title",
        "description",
        "skills",
        "seats",
        "start_date",
        "end_date",
        "open_to_minors",
        "latitude",
        "longitude",
    ],
    "learners": [
        "ref",
        "first_name",
        "last_name",
        "birth_date",
        "site",
        "entry_date",
        "address",
        "postcode",
        "city",
        "latitude",
        "longitude",
        "project_rome",
        "project_text",
        "skills",
        "mobility",
        "max_commute_min",
        "available_from",
        "available_to",
    ],
    "interactions": [
        "ref",
        "company_ref",
        "contact_ref",
        "date",
        "kind",
        "summary",
        "outcome",
        "next_action",
        "next_action_due",
        "next_action_done",
    ],
    "placements": [
        "ref",
        "learner_ref",
        "company_ref",
        "offer_ref",
        "kind",
        "rome",
        "start_date",
        "end_date",
        "status",
    ],
}
REQUIRED = {
    "sites": ["name"],
    "companies": ["name"],
    "contacts": ["company_ref", "last_name"],
    "offers": ["company_ref", "rome", "title"],
    "learners": ["first_name", "last_name", "site", "entry_date"],
    "interactions": ["company_ref", "kind", "summary"],
    "placements": ["learner_ref", "company_ref", "start_date", "end_date"],
}

# French (and a few other usual) headers -> canonical column. Keys are folded.
ALIASES = {
    "reference": "ref",
    "ref": "ref",
    "id": "ref",
    "identifiant": "ref",
    "raison sociale": "name",
    "nom entreprise": "name",
    "entreprise": "name",
    "denomination": "name",
    "nom": "name",  # only for sites/companies (see _header_map)
    "siret": "siret",
    "n siret": "siret",
    "numero siret": "siret",
    "naf": "naf",
    "code naf": "naf",
    "code ape": "naf",
    "ape": "naf",
    "secteur": "sector",
    "secteur d activite": "sector",
    "activite": "sector",
    "adresse": "address",
    "code postal": "postcode",
    "cp": "postcode",
    "ville": "city",
    "commune": "city",
    "latitude": "latitude",
    "lat": "latitude",
    "longitude": "longitude",
    "lon": "longitude",
    "lng": "longitude",
    "telephone": "phone",
    "tel": "phone",
    "courriel": "email",
    "e mail": "email",
    "email": "email",
    "mail": "email",
    "site web": "website",
    "site internet": "website",
    "web": "website",
    "statut": "status",
    "ref entreprise": "company_ref",
    "reference entreprise": "company_ref",
    "prenom": "first_name",
    "nom de famille": "last_name",
    "fonction": "job_title",
    "poste": "job_title",
    "tuteur": "is_tutor",
    "code rome": "rome",
    "rome": "rome",
    "intitule": "title",
    "titre": "title",
    "description": "description",
    "competences": "skills",
    "places": "seats",
    "nombre de places": "seats",
    "debut": "start_date",
    "date de debut": "start_date",
    "fin": "end_date",
    "date de fin": "end_date",
    "ouvert aux mineurs": "open_to_minors",
    "mineurs": "open_to_minors",
    "date de naissance": "birth_date",
    "date d entree": "entry_date",
    "entree": "entry_date",
    "projet rome": "project_rome",
    "projet": "project_text",
    "mobilite": "mobility",
    "temps de trajet max": "max_commute_min",
    "disponible du": "available_from",
    "disponible au": "available_to",
    "date": "date",
    "type": "kind",
    "resume": "summary",
    "resultat": "outcome",
    "prochaine action": "next_action",
    "echeance": "next_action_due",
    "fait": "next_action_done",
    "ref contact": "contact_ref",
    "ref stagiaire": "learner_ref",
    "ref offre": "offer_ref",
}


@dataclass
class RowError:
    line: int
    reason: str


@dataclass
class DuplicateWarning:
    line: int | None
    ref_a: str | None
    ref_b: str | None
    name_a: str
    name_b: str
    score: float
    evidence: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    duplicates: list[DuplicateWarning] = field(default_factory=list)
    imported: bool = False
    dry_run: bool = False
    unknown_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        head = (
            f"{self.kind} : {self.rows} ligne(s) — {self.created} créée(s), "
            f"{self.updated} mise(s) à jour, {self.unchanged} inchangée(s), "
            f"{len(self.rejected)} rejetée(s)."
        )
        if self.dry_run:
            head += " Essai à blanc : rien n'a été enregistré."
        elif not self.imported:
            head += " Rien n'a été importé."
        return head


# --------------------------------------------------------------------------- reading


def _decode(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM (Excel's "Unicode text"), else Windows-1252.

    NUL characters are dropped: never meaningful in a cell, and PostgreSQL
    refuses them in text columns.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return text.replace("\x00", "")


def read_table(data: bytes, filename: str = "") -> list[tuple[int, dict[str, object]]]:
    """(spreadsheet line number, {header: value}) for each non-empty data row."""
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK"
    if is_xlsx:
        try:
            df = pd.read_excel(io.BytesIO(data), dtype=object, engine="openpyxl")
        except Exception as exc:
            raise ValidationError(
                {"Fichier": f"Classeur XLSX illisible ({type(exc).__name__})."}
            ) from None
        df = df.astype(object).where(pd.notna(df), None)
        rows = []
        for k, rec in enumerate(df.to_dict("records")):
            rec = {str(h).strip(): val for h, val in rec.items()}
            if any(val not in (None, "") for val in rec.values()):
                rows.append((k + 2, rec))
        return rows
    text = _decode(data)
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = None
    rows = []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            reason = (
                "cellule trop longue"
                if "field limit" in str(exc)
                else "guillemets ou séparateurs mal formés"
            )
            raise ValidationError(
                {"Fichier": f"Ligne {reader.line_num} illisible ({reason}) : rien n'a été importé."}
            ) from None
        line = reader.line_num
        if header is None:
            header = [h.strip() for h in values]
            continue
        if not any(x.strip() for x in values):
            continue
        rows.append(
            (line, {h: (values[i] if i < len(values) else None) for i, h in enumerate(header)})
        )
    if header is None:
        raise ValidationError(
            {"Fichier": "Fichier vide : la première ligne doit nommer les colonnes."}
        )
    return rows


def _cell(value):
    """Strip a text cell and undo the export's formula neutralisation (leading ')."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.startswith("'") and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value


def _header_map(kind: str, headers: list[str]) -> tuple[dict[str, str], list[str]]:
    canon = set(COLUMNS[kind])
    mapping, unknown = {}, []
    for h in headers:
        key = fold(h)
        snake = key.replace(" ", "_")
        if snake in canon:
            target = snake
        else:
            target = ALIASES.get(key)
            if target == "name" and kind not in ("sites", "companies"):
                target = "last_name"
        if target in canon and target not in mapping.values():
            mapping[h] = target
        else:
            unknown.append(h)
    return mapping, unknown


# --------------------------------------------------------------------------- helpers


def _errors_text(exc: ValidationError) -> str:
    return "; ".join(f"{k} : {m}" for k, m in exc.errors.items())


def _val(fn, raw, label, errors):
    try:
        return fn(raw)
    except v.FieldError as exc:
        errors[label] = exc.message
        return None


# Imports place addresses offline (cache or commune centre); `passerelle geocode --missing`
# asks the provider afterwards, so a large file stays fast and all-or-nothing.
IMPORT_GEOCODER = Geocoder("offline")


def _by_ref(session: Session, model, ref):
    if not ref:
        return None
    return session.scalar(select(model).where(model.ref == str(ref).strip()))


def _live_company(session: Session, ref) -> Company | None:
    company = _by_ref(session, Company, ref)
    seen = 0
    while company is not None and company.merged_into_id is not None and seen < 10:
        company = session.get(Company, company.merged_into_id)
        seen += 1
    return company


def _site_by_name(session: Session, name) -> Site | None:
    t = v.text(name, 120)
    if not t:
        return None
    site = session.scalar(select(Site).where(Site.name == t))
    if site is None:
        site = session.scalar(select(Site).where(Site.ref == t))
    if site is None:
        for s in session.scalars(select(Site)):
            if fold(s.name) == fold(t):
                return s
    return site


def _apply(obj, values: dict) -> bool:
    changed = False
    for k, val in values.items():
        if getattr(obj, k) != val:
            setattr(obj, k, val)
            changed = True
    return changed


def _locate(session: Session, values: dict) -> None:
    """Coordinates for a site row through the companies' single location helper.

    Imports place addresses offline (cache, else commune centre) so that a
    large file stays fast and atomic; ``passerelle geocode --missing`` then
    asks the provider for the exact addresses.
    """
    if values.get("latitude") is not None:
        values["geo_precision"] = GeoPrecision.MANUAL.value
        return
    probe = Company(
        address=values.get("address"), postcode=values.get("postcode"), city=values.get("city")
    )
    _apply_location(session, probe, geocoder=IMPORT_GEOCODER)
    values["latitude"], values["longitude"] = probe.latitude, probe.longitude
    values["geo_precision"] = probe.geo_precision


def _coords(row, errors) -> tuple:
    try:
        pair = v.coordinates(row.get("latitude"), row.get("longitude"))
    except v.FieldError as exc:
        errors["latitude"] = exc.message
        return None, None
    return pair if pair else (None, None)


# --------------------------------------------------------------------------- per kind
# Each returns "created" | "updated" | "unchanged" or raises ValidationError.


def _import_site(session, actor, row) -> str:
    if not actor.is_admin:
        raise PermissionDenied("Seule l'administration peut importer des sites.")
    errors: dict[str, str] = {}
    values = {
        "name": _val(lambda x: v.text(x, 120), row.get("name"), "name", errors),
        "address": _val(lambda x: v.text(x, 300), row.get("address"), "address", errors),
        "postcode": _val(v.postcode, row.get("postcode"), "postcode", errors),
        "city": _val(lambda x: v.text(x, 120), row.get("city"), "city", errors),
    }
    values["latitude"], values["longitude"] = _coords(row, errors)
    if errors:
        raise ValidationError(errors)
    _locate(session, values)
    ref = v.text(row.get("ref"), 64)
    site = _by_ref(session, Site, ref) or session.scalar(
        select(Site).where(Site.name == values["name"])
    )
    if site is None:
        site = Site(ref=ref, **values)
        session.add(site)
        session.flush()
        audit.record(session, actor, "import_create", "site", site.id)
        return "created"
    if ref and not site.ref:
        values["ref"] = ref
    if _apply(site, values):
        session.flush()
        audit.record(session, actor, "import_update", "site", site.id)
        return "updated"
    return "unchanged"


def _import_company(session, actor, row) -> str:
    fields = {k: row.get(k) for k in COLUMNS["companies"] if k in row and k != "site"}
    if fields.get("latitude") in (None, "") and fields.get("longitude") in (None, ""):
        fields.pop("latitude", None)
        fields.pop("longitude", None)
    errors = {}
    if "site" in row:
        if row.get("site") in (None, ""):
            fields["site_id"] = None
        else:
            site = _site_by_name(session, row.get("site"))
            if site is None:
                errors["site"] = "Site inconnu."
            else:
                fields["site_id"] = site.id
    if "status" in fields and fields["status"] not in (None, ""):
        fields["status"] = _val(
            lambda x: v.choice(x, PARTNER_STATUS_LABELS, "Statut"),
            fields["status"],
            "status",
            errors,
        )
    if errors:
        raise ValidationError(errors)
    ref = v.text(row.get("ref"), 64)
    company = _live_company(session, ref) if ref else None
    if company is None and not ref and row.get("siret"):
        try:
            siret = v.siret(row.get("siret"))
        except v.FieldError:
            siret = None
        if siret:
            company = session.scalar(
                select(Company).where(Company.siret == siret, Company.merged_into_id.is_(None))
            )
    if company is None:
        row["_created_id"] = create_company(session, actor, geocoder=IMPORT_GEOCODER, **fields).id
        return "created"
    fields.pop("ref", None)
    if fields.get("status") in (None, ""):
        fields.pop("status", None)
    before = company.version
    update_company(session, actor, company.id, company.version, geocoder=IMPORT_GEOCODER, **fields)
    return "updated" if company.version != before else "unchanged"


def _company_for(session, row, errors) -> Company | None:
    company = _live_company(session, row.get("company_ref"))
    if company is None:
        errors["company_ref"] = "Entreprise inconnue (référence introuvable)."
    return company


def _import_contact(session, actor, row) -> str:
    errors: dict[str, str] = {}
    company = _company_for(session, row, errors)
    if errors:
        raise ValidationError(errors)
    fields = {
        k: row.get(k) for k in COLUMNS["contacts"] if k in row and k not in ("company_ref", "ref")
    }
    return upsert_contact(session, actor, ref=row.get("ref"), company_id=company.id, **fields)


def _import_offer(session, actor, row) -> str:
    errors: dict[str, str] = {}
    company = _company_for(session, row, errors)
    if errors:
        raise ValidationError(errors)
    fields = {}
    for k in COLUMNS["offers"]:
        if k in row and k not in ("company_ref", "rome"):
            fields[k] = row.get(k)
    if "rome" in row:
        codes = [c for c in str(row.get("rome") or "").replace(",", ";").split(";") if c.strip()]
        fields["rome_code"] = codes[0] if codes else None
        fields["other_rome_codes"] = ";".join(codes[1:])
    ref = v.text(row.get("ref"), 64)
    offer = _by_ref(session, Offer, ref) if ref else None
    if offer is None:
        create_offer(session, actor, company.id, **fields)
        return "created"
    fields.pop("ref", None)
    before = offer.version
    update_offer(session, actor, offer.id, offer.version, **fields)
    return "updated" if offer.version != before else "unchanged"


# Learner columns that are the service's fields under the same name (site, ref and
# project_rome are mapped in _import_learner).
_LEARNER_FIELDS = tuple(
    c for c in COLUMNS["learners"] if c in learner_service.EDITABLE_FIELDS and c != "ref"
)


def _import_learner(session, actor, row) -> str:
    """Create or update (by ref) through crm.services.learners: the form's rules and messages.

    An empty cell leaves the learner's field as it is; a learner of another site is
    never moved by an import.
    """
    site = _site_by_name(session, row.get("site"))
    if site is None:
        raise ValidationError({"site": "Site inconnu."})
    values = {k: row[k] for k in _LEARNER_FIELDS if row.get(k) not in (None, "")}
    if row.get("project_rome") not in (None, ""):
        codes = [c for c in re.split(r"[;,]", str(row["project_rome"])) if c.strip()]
        if len(codes) > 3:
            raise ValidationError({"project_rome": "Trois codes ROME au plus pour le projet."})
        for i in range(3):
            values[f"project_rome_{i + 1}"] = codes[i] if i < len(codes) else None
    ref = v.text(row.get("ref"), 64)
    learner = _by_ref(session, Learner, ref) if ref else None
    if learner is None:
        learner_service.create_learner(session, actor, site.id, ref=ref, **values)
        return "created"
    if learner.site_id != site.id:
        raise ValidationError({"site": "ce stagiaire appartient à un autre site."})
    before = learner.version
    learner_service.update_learner(session, actor, learner.id, **values)
    session.flush()
    return "updated" if learner.version != before else "unchanged"


def _import_interaction(session, actor, row) -> str:
    errors: dict[str, str] = {}
    company = _company_for(session, row, errors)
    contact = None
    if row.get("contact_ref"):
        contact = _by_ref(session, Contact, row.get("contact_ref"))
        if contact is None or (company is not None and contact.company_id != company.id):
            errors["contact_ref"] = "Contact inconnu pour cette entreprise."
    when = _val(v.date, row.get("date"), "date", errors)
    done = _val(v.boolean, row.get("next_action_done"), "next_action_done", errors)
    if errors:
        raise ValidationError(errors)
    return upsert_interaction(
        session,
        actor,
        ref=row.get("ref"),
        company_id=company.id,
        contact_id=contact.id if contact else None,
        kind=row.get("kind"),
        summary=row.get("summary"),
        outcome=row.get("outcome"),
        next_action=row.get("next_action"),
        next_action_due=row.get("next_action_due"),
        next_action_done=bool(done),
        occurred_at=when or dt.date.today(),
    )


PLACEMENT_STATUS_LABELS = {s.value: s.value for s in PlacementStatus}


def _import_placement(session, actor, row) -> str:
    errors: dict[str, str] = {}
    learner = _by_ref(session, Learner, row.get("learner_ref"))
    if learner is None:
        errors["learner_ref"] = "Stagiaire inconnu(e) (référence introuvable)."
    company = _company_for(session, row, errors)
    offer = None
    if row.get("offer_ref"):
        offer = _by_ref(session, Offer, row.get("offer_ref"))
        if offer is None or (company is not None and offer.company_id != company.id):
            errors["offer_ref"] = "Offre inconnue pour cette entreprise."
    values = {
        "kind": _val(
            lambda x: v.choice(x, {k.value: k.value for k in PlacementKind}, "Type de période"),
            row.get("kind"),
            "kind",
            errors,
        )
        or PlacementKind.PMSMP.value,
        "rome_code": _val(v.rome_code, row.get("rome"), "rome", errors),
        "start_date": _val(v.date, row.get("start_date"), "start_date", errors),
        "end_date": _val(v.date, row.get("end_date"), "end_date", errors),
        "status": _val(
            lambda x: v.choice(x, PLACEMENT_STATUS_LABELS, "Statut"),
            row.get("status"),
            "status",
            errors,
        )
        or PlacementStatus.PROPOSED.value,
        "ref": _val(lambda x: v.text(x, 64), row.get("ref"), "ref", errors),
    }
    for key in ("start_date", "end_date"):
        if not values[key] and key not in errors:
            errors[key] = "Date obligatoire."
    if errors:
        raise ValidationError(errors)
    return upsert_placement(
        session,
        actor,
        learner_id=learner.id,
        company_id=company.id,
        offer_id=offer.id if offer else None,
        **values,
    )


HANDLERS = {
    "sites": _import_site,
    "companies": _import_company,
    "contacts": _import_contact,
    "offers": _import_offer,
    "learners": _import_learner,
    "interactions": _import_interaction,
    "placements": _import_placement,
}


# --------------------------------------------------------------------------- import


def import_data(
    session: Session,
    actor: Actor,
    kind: str,
    data: bytes,
    filename: str = "",
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    defaults: dict[str, object] | None = None,
) -> ImportReport:
    """Import ``data`` (CSV/XLSX bytes) as ``kind``; see the module docstring for the rules.

    A database failure in the middle (connection lost, server restarted, disk
    error) rolls the whole import back and raises :class:`DatabaseUnavailable`
    with a French message: nothing of the file is kept, it can be imported again.

    ``defaults`` (canonical column -> value) fills a column the file leaves out or
    empty, e.g. the site of the Stagiaires page's learners.
    """
    try:
        return _import_data(session, actor, kind, data, filename, dry_run, skip_invalid, defaults)
    except DBAPIError as exc:
        if not (exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)):
            raise
        with contextlib.suppress(Exception):  # the connection is gone: the server rolled back
            session.rollback()
        raise DatabaseUnavailable(
            "La connexion à la base de données a été perdue pendant l'import : "
            "rien n'a été importé. Réessayez l'import du même fichier."
        ) from exc


def _import_data(
    session, actor, kind, data, filename, dry_run, skip_invalid, defaults
) -> ImportReport:
    defaults = {k: val for k, val in (defaults or {}).items() if val not in (None, "")}
    authorize(actor, Perm.IMPORT)
    if kind not in KINDS:
        raise ValidationError(
            {"Type": f"Type d'import inconnu : choisissez parmi {', '.join(KINDS)}."}
        )
    limit = get_settings().max_upload_mb
    if len(data) > limit * 1024 * 1024:
        raise ValidationError({"Fichier": f"Fichier trop volumineux ({limit} Mo au plus)."})
    rows = read_table(data, filename)
    report = ImportReport(kind=kind, rows=len(rows), dry_run=dry_run)
    headers = list(rows[0][1]) if rows else []
    mapping, report.unknown_columns = _header_map(kind, headers)
    missing = [c for c in REQUIRED[kind] if c not in mapping.values() and c not in defaults]
    if rows and missing:
        raise ValidationError(
            {"Colonnes": f"Colonne(s) obligatoire(s) absente(s) : {', '.join(missing)}."}
        )
    outer = session.begin_nested()
    new_company_lines: dict[int, int] = {}
    for line, raw in rows:
        row = {mapping[h]: val for h, val in raw.items() if h in mapping}
        row = {k: _cell(val) for k, val in row.items()}
        row.update({k: val for k, val in defaults.items() if row.get(k) in (None, "")})
        missing_values = [c for c in REQUIRED[kind] if row.get(c) in (None, "")]
        if missing_values:
            report.rejected.append(
                RowError(line, f"valeur obligatoire manquante : {', '.join(missing_values)}")
            )
            continue
        nested = session.begin_nested()
        try:
            outcome = HANDLERS[kind](session, actor, row)
            nested.commit()
        except ValidationError as exc:
            nested.rollback()
            report.rejected.append(RowError(line, _errors_text(exc)))
            continue
        except PermissionDenied as exc:
            nested.rollback()
            report.rejected.append(RowError(line, str(exc)))
            continue
        except IntegrityError:
            nested.rollback()
            report.rejected.append(
                RowError(line, "conflit avec une donnée existante (référence en double ?)")
            )
            continue
        except PasserelleError as exc:
            nested.rollback()
            report.rejected.append(RowError(line, str(exc)))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        if kind == "companies" and outcome == "created":
            new_company_lines[row["_created_id"]] = line
    if kind == "companies" and new_company_lines:
        report.duplicates = _duplicate_warnings(session, new_company_lines)
    if report.rejected and not skip_invalid or dry_run:
        outer.rollback()
        report.imported = False
    else:
        outer.commit()
        report.imported = True
        audit.record(
            session,
            actor,
            "import",
            kind,
            None,
            created=report.created,
            updated=report.updated,
            rejected=len(report.rejected),
        )
    return report


def _duplicate_warnings(session: Session, new_lines: dict[int, int]) -> list[DuplicateWarning]:
    records = company_records(session)
    out = []
    for p in find_duplicates(records, 0.85):
        ra, rb = records[p.a], records[p.b]
        if ra["id"] in new_lines or rb["id"] in new_lines:
            line = new_lines.get(rb["id"], new_lines.get(ra["id"]))
            out.append(
                DuplicateWarning(
                    line,
                    ra["ref"],
                    rb["ref"],
                    ra["name"],
                    rb["name"],
                    p.score,
                    "; ".join(p.evidence),
                )
            )
    return out


# --------------------------------------------------------------------------- export


def export_frame(session: Session, actor: Actor, kind: str) -> pd.DataFrame:
    """The rows of ``kind`` with the canonical import columns (re-importable)."""
    authorize(actor, Perm.EXPORT)
    if kind not in KINDS:
        raise ValidationError(
            {"Type": f"Type d'export inconnu : choisissez parmi {', '.join(KINDS)}."}
        )
    cols = COLUMNS[kind]
    rows: list[dict] = []
    if kind == "sites":
        for s in session.scalars(select(Site).order_by(Site.name)):
            rows.append({c: getattr(s, c) for c in cols})
    elif kind == "companies":
        for c in session.scalars(
            select(Company).where(Company.merged_into_id.is_(None)).order_by(Company.name)
        ):
            d = {k: getattr(c, k) for k in cols if k != "site"}
            d["site"] = c.site.name if c.site else None
            rows.append(d)
    elif kind == "contacts":
        for ct in session.scalars(select(Contact).order_by(Contact.id)):
            d = {k: getattr(ct, k) for k in cols if k != "company_ref"}
            d["company_ref"] = ct.company.ref
            d["is_tutor"] = "oui" if ct.is_tutor else "non"
            rows.append(d)
    elif kind == "offers":
        for o in session.scalars(select(Offer).order_by(Offer.id)):
            d = {k: getattr(o, k) for k in cols if k not in ("company_ref", "rome")}
            d["company_ref"] = o.company.ref
            d["rome"] = ";".join(o.rome_codes)
            d["open_to_minors"] = "oui" if o.open_to_minors else "non"
            rows.append(d)
    elif kind == "learners":
        authorize(actor, Perm.LEARNER_READ)
        for lr in session.scalars(select(Learner).order_by(Learner.id)):
            if not actor.in_scope(lr.site_id) or lr.status == "anonymised":
                continue
            d = {k: getattr(lr, k) for k in cols if hasattr(lr, k) and k != "site"}
            d["site"] = lr.site.name
            d["project_rome"] = ";".join(lr.project_codes)
            rows.append(d)
    elif kind == "interactions":
        for i in session.scalars(select(Interaction).order_by(Interaction.occurred_at)):
            rows.append(
                {
                    "ref": i.ref,
                    "company_ref": i.company.ref,
                    "contact_ref": i.contact.ref if i.contact else None,
                    "date": i.occurred_at.date(),
                    "kind": i.kind,
                    "summary": i.summary,
                    "outcome": i.outcome,
                    "next_action": i.next_action,
                    "next_action_due": i.next_action_due,
                    "next_action_done": "oui" if i.next_action_done else "non",
                }
            )
    elif kind == "placements":
        authorize(actor, Perm.PLACEMENT_READ)
        for p in session.scalars(select(Placement).order_by(Placement.start_date)):
            if not actor.in_scope(p.learner.site_id):
                continue
            rows.append(
                {
                    "ref": p.ref,
                    "learner_ref": p.learner.ref,
                    "company_ref": p.company.ref,
                    "offer_ref": p.offer.ref if p.offer else None,
                    "kind": p.kind,
                    "rome": p.rome_code,
                    "start_date": p.start_date,
                    "end_date": p.end_date,
                    "status": p.status,
                }
            )
    df = pd.DataFrame(rows, columns=cols)
    for c in df.columns:
        df[c] = df[c].map(lambda x: x.isoformat() if isinstance(x, dt.date) else x)
    audit.record(session, actor, "export", kind, None, rows=len(df))
    return df


def export_bytes(session: Session, actor: Actor, kind: str, filename: str) -> bytes:
    from crm.spreadsheet import to_csv_bytes, to_xlsx_bytes

    df = export_frame(session, actor, kind)
    if filename.lower().endswith(".xlsx"):
        return to_xlsx_bytes({kind: df})
    return to_csv_bytes(df)
