"""Import kinds, their columns, the French headers they accept and their template files."""

from __future__ import annotations

from crm.labels import COMPANY_FIELD_FR
from crm.reference import fold
from crm.services import companies

KINDS = ("sites", "companies", "contacts", "offers", "learners", "interactions", "placements")

COLUMNS: dict[str, list[str]] = {
    "sites": ["ref", "name", "address", "postcode", "city", "latitude", "longitude"],
    "companies": ["site" if f == "site_id" else f for f in companies.IMPORT_FIELDS],
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


# French names of the kinds (UI, summaries, file names).
KIND_LABELS_FR = {
    "sites": "sites",
    "companies": "entreprises",
    "contacts": "contacts",
    "offers": "offres",
    "learners": "stagiaires",
    "interactions": "journal de contacts",
    "placements": "périodes en entreprise",
}
# File names of exports and templates (entreprises.csv, stagiaires.xlsx ...).
KIND_FILE_STEMS = {
    "sites": "sites",
    "companies": "entreprises",
    "contacts": "contacts",
    "offers": "offres",
    "learners": "stagiaires",
    "interactions": "journal",
    "placements": "periodes",
}

_NOT_COLUMNS = ("size_band", "site_id", "owner_id", "notes", "status")

# The French header written in templates for each canonical column (each one is
# read back through ALIASES / the canonical names: see header_map).
HEADERS_FR = {
    # the company columns carry the company form's labels (crm/labels.py)
    **{c: COMPANY_FIELD_FR[c] for c in COMPANY_FIELD_FR if c not in _NOT_COLUMNS},
    "site": "Site",
    "status": COMPANY_FIELD_FR["status"],
    "company_ref": "Réf entreprise",
    "first_name": "Prénom",
    "last_name": "Nom de famille",
    "job_title": "Fonction",
    "is_tutor": "Tuteur",
    "rome": "Code ROME",
    "title": "Intitulé",
    "description": "Description",
    "skills": "Compétences",
    "seats": "Places",
    "start_date": "Date de début",
    "end_date": "Date de fin",
    "open_to_minors": "Ouvert aux mineurs",
    "birth_date": "Date de naissance",
    "entry_date": "Date d'entrée",
    "project_rome": "Projet ROME",
    "project_text": "Projet",
    "mobility": "Mobilité",
    "max_commute_min": "Temps de trajet max",
    "available_from": "Disponible du",
    "available_to": "Disponible au",
    "contact_ref": "Réf contact",
    "date": "Date",
    "kind": "Type",
    "summary": "Résumé",
    "outcome": "Résultat",
    "next_action": "Prochaine action",
    "next_action_due": "Échéance",
    "next_action_done": "Fait",
    "learner_ref": "Réf stagiaire",
    "offer_ref": "Réf offre",
}


def template_headers(kind: str) -> list[str]:
    """The French headers of ``kind``'s template, in column order."""
    return ["Nom" if kind == "sites" and c == "name" else HEADERS_FR[c] for c in COLUMNS[kind]]


def header_map(kind: str, headers: list[str]) -> tuple[dict[str, str], list[str]]:
    """{file header: canonical column} and the headers that match no column."""
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


def clean_cell(value):
    """Strip a text cell and undo the export's formula neutralisation (leading ')."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.startswith("'") and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value
