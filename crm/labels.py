"""French labels for stored codes (enums, roles, audit actions, field names), kept in ONE place.

Codes stay English in the database, the services and the exports that machines read;
pages (and French exports) show these labels. ``label(mapping, code)`` never fails:
an unknown code is shown as is, ``None`` as an empty string.
"""

from __future__ import annotations

from collections.abc import Mapping

ROLE_FR = {
    "officer": "Chargé(e) de relations entreprises",
    "trainer": "Formateur(rice) référent(e)",
    "manager": "Direction",
    "admin": "Administration",
}
PARTNER_STATUS_FR = {
    "prospect": "Prospect",
    "contacted": "Contacté",
    "partner": "Partenaire",
    "inactive": "Inactif",
}
INTERACTION_KIND_FR = {
    "call": "Appel",
    "visit": "Visite",
    "email": "Courriel",
    "meeting": "Réunion",
    "event": "Événement",
}
PLACEMENT_STATUS_FR = {
    "proposed": "Proposée",
    "confirmed": "Confirmée",
    "in_progress": "En cours",
    "done": "Terminée",
    "cancelled": "Annulée",
}
PLACEMENT_KIND_FR = {"stage": "Stage", "pmsmp": "PMSMP"}
OFFER_STATUS_FR = {"open": "Ouverte", "paused": "En pause", "closed": "Fermée"}
# What users see of an offer (never stored): "ended" = its end date is past.
OFFER_EFFECTIVE_STATUS_FR = {**OFFER_STATUS_FR, "ended": "Terminée"}
LEARNER_STATUS_FR = {"active": "En parcours", "exited": "Sorti(e)", "anonymised": "Anonymisé(e)"}
OUTCOME_FR = {
    "employment": "Emploi",
    "apprenticeship": "Alternance",
    "training": "Formation qualifiante",
    "none": "Sans solution",
}
OUTCOME_UNKNOWN_FR = "Non renseignée"  # an exit with no outcome recorded (statistics)
PAPERWORK_KIND_FR = {
    "pmsmp": "Convention de PMSMP",
    "stage": "Convention de stage",
    "attestation": "Attestation de période",
    "evaluation": "Bilan / évaluation du tuteur",
}
PAPERWORK_STATUS_FR = {"to_prepare": "à préparer", "to_sign": "à signer", "signed": "signée"}
PLACEMENT_OBJECTIVE_FR = {
    "discover": "Découvrir un métier ou un secteur d'activité",
    "confirm": "Confirmer un projet professionnel",
    "hiring": "Initier une démarche de recrutement",
}
SIGNER_ROLE_FR = {
    "beneficiary": "Le bénéficiaire",
    "legal_rep": "Le représentant légal",
    "host": "La structure d'accueil (tuteur)",
    "school": "L'école (prescripteur)",
}
GEO_PRECISION_FR = {
    "housenumber": "adresse exacte",
    "street": "rue",
    "commune": "commune (approximatif)",
    "manual": "placé à la main",
    "none": "non géocodé",
}
MOBILITY_MODE_FR = {
    "walk": "À pied",
    "bike": "Vélo",
    "transit": "Transports en commun",
    "scooter": "Scooter",
    "car": "Voiture",
}

# What an audit event is about (AuditEvent.entity) and what was done (AuditEvent.action).
ENTITY_FR = {
    "user": "Compte",
    "company": "Entreprise",
    "contact": "Contact",
    "interaction": "Échange",
    "offer": "Offre",
    "learner": "Stagiaire",
    "placement": "Période",
    "site": "Site",
    "setting": "Paramètre",
    "session": "Session",
    "companies": "Entreprises",
    "contacts": "Contacts",
    "offers": "Offres",
    "learners": "Stagiaires",
    "placements": "Périodes",
    "interactions": "Échanges",
    "sites": "Sites",
    "stats": "Statistiques",
}
AUDIT_ACTION_FR = {
    "login": "Connexion",
    "logout": "Déconnexion",
    "lock": "Compte verrouillé",
    "create": "Création",
    "update": "Modification",
    "status": "Changement de statut",
    "enable": "Compte réactivé",
    "disable": "Compte désactivé",
    "password_change": "Mot de passe changé",
    "password_reset": "Mot de passe réinitialisé",
    "export": "Export",
    "import": "Import",
    "import_create": "Création par import",
    "import_update": "Mise à jour par import",
    "followup_done": "Relance faite",
    "reschedule": "Relance reportée",
    "merge": "Fusion",
    "anonymise": "Anonymisation",
    "purge": "Purge",
    "open": "Offre ouverte",
    "pause": "Offre en pause",
    "close": "Offre fermée",
    "geo.pin": "Position placée à la main",
    "learner.create": "Stagiaire créé(e)",
    "learner.update": "Stagiaire modifié(e)",
    "placement.book": "Période réservée",
    "placement.status": "Statut de période changé",
    "placement.follow_up": "Suivi de période",
}

# Field names (validation errors, audit details) → French labels.
FIELD_FR = {
    "username": "Identifiant",
    "password": "Mot de passe",
    "current_password": "Mot de passe actuel",
    "new_password": "Nouveau mot de passe",
    "account": "Compte",
    "file": "Fichier",
    "merge": "Fusion",
    "job": "Métier",
    "place": "Lieu",
    "display_name": "Nom affiché",
    "email": "Courriel",
    "role": "Rôle",
    "site": "Site",
    "sites": "Sites",
    "site_id": "Site",
    "period": "Période",
    "sector": "Secteur",
    "matching_weights": "Poids du rapprochement",
    "retention_months": "Durée de conservation (mois)",
    "dormant_months": "Partenaire dormant après (mois)",
    "old_role": "Ancien rôle",
    "start_date": "Début",
    "end_date": "Fin",
    "tutor": "Tuteur",
    "tutor_contact_id": "Tuteur",
    "tutor_rating": "Note du tuteur",
    "outcome": "Sortie",
    "status": "Statut",
    "seats": "Places",
    "first_name": "Prénom",
    "last_name": "Nom",
    "birth_date": "Date de naissance",
    "entry_date": "Date d'entrée",
    "rome_code": "Code ROME",
    "rome_codes": "Métiers visés",
    "project_rome": "Projet (code ROME)",
    "postcode": "Code postal",
    "city": "Ville",
    "address": "Adresse",
    "phone": "Téléphone",
    "notes": "Notes",
    "support_notes": "Notes d'accompagnement",
    "mobility_modes": "Déplacements",
    "max_commute_min": "Trajet maximal (min)",
    "skills": "Compétences",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "name": "Nom",
    "siret": "SIRET",
    "from_status": "Ancien statut",
    "to_status": "Nouveau statut",
    "method": "Méthode",
    "minutes": "Minutes",
    "rows": "Lignes",
    "fields": "Champs",
    "key": "Paramètre",
    "company_id": "Entreprise",
    "offer_id": "Offre",
    "learner_id": "Stagiaire",
    "merged_id": "Fiche fusionnée",
    "placements": "Périodes",
    "moved": "Éléments déplacés",
    "filled": "Champs complétés",
    "kind": "Type",
    "company": "Entreprise",
    "paused_until": "Jusqu'au",
}

# Field labels of one kind of record (forms, validation errors, import headers).
COMPANY_FIELD_FR = {
    "ref": "Référence",
    "name": "Raison sociale",
    "siret": "SIRET",
    "naf": "Code NAF",
    "sector": "Secteur",
    "size_band": "Effectif",
    "address": "Adresse",
    "postcode": "Code postal",
    "city": "Ville",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "phone": "Téléphone",
    "email": "Courriel",
    "website": "Site web",
    "site_id": "Site",
    "owner_id": "Chargé(e)",
    "status": "Statut",
    "notes": "Notes",
}
CONTACT_FIELD_FR = {
    "ref": "Référence",
    "first_name": "Prénom",
    "last_name": "Nom",
    "job_title": "Fonction",
    "phone": "Téléphone",
    "email": "Courriel",
    "is_tutor": "Tuteur",
    "is_active": "Actif",
}
OFFER_FIELD_FR = {
    "ref": "Référence",
    "rome_code": "Code ROME",
    "other_rome_codes": "Autres codes ROME",
    "title": "Intitulé",
    "description": "Description",
    "skills": "Compétences",
    "seats": "Places",
    "start_date": "Début",
    "end_date": "Fin",
    "open_to_minors": "Ouvert aux mineurs",
    "tutor_id": "Tuteur",
    "latitude": "Latitude",
    "longitude": "Longitude",
}
INTERACTION_FIELD_FR = {
    "kind": "Type",
    "summary": "Résumé",
    "outcome": "Résultat",
    "next_action": "Prochaine action",
    "next_action_due": "Échéance",
    "ref": "Référence",
    "contact_id": "Contact",
    "note": "Note",
}
# A learner's fields as the trainers' forms name them (lower case, as in their messages).
LEARNER_FIELD_FR = {
    "first_name": "prénom",
    "last_name": "nom",
    "birth_date": "date de naissance",
    "entry_date": "date d'entrée",
    "address": "adresse",
    "postcode": "code postal",
    "city": "ville",
    "latitude": "latitude",
    "longitude": "longitude",
    "project_rome_1": "projet 1 (code ROME)",
    "project_rome_2": "projet 2 (code ROME)",
    "project_rome_3": "projet 3 (code ROME)",
    "project_text": "projet (texte libre)",
    "skills": "compétences",
    "mobility": "modes de déplacement",
    "max_commute_min": "temps de trajet maximum",
    "available_from": "disponible à partir du",
    "available_to": "disponible jusqu'au",
    "support_notes": "notes d'accompagnement",
    "referent_id": "référent(e)",
    "ref": "référence",
}

# A placement's fields (and booking rules) as its forms and import reports name them.
PLACEMENT_FIELD_FR = {
    "learner_id": "Stagiaire",
    "offer_id": "Offre",
    "company_id": "Entreprise",
    "tutor_id": "Tuteur",
    "kind": "Type",
    "status": "Statut",
    "dates": "Dates",
    "age": "Âge",
    "overlap": "Période",
    "cancel_reason": "Motif",
    "tutor_rating": "Évaluation du tuteur",
    "outcome": "Sortie",
}
# A convention's facts and signatures (paperwork) as its page names them.
PAPERWORK_FIELD_FR = {
    "objective": "Objectif",
    "weekly_hours": "Durée hebdomadaire",
    "hours_done": "Heures effectuées",
    "signer_role": "Signataire",
    "signed_on": "Date de signature",
    "paperwork": "Convention",
    "scan": "Scan",
    "kind": "Document",
}

MATCHING_WEIGHT_FR = {
    "project": "Projet (métier visé)",
    "commute": "Trajet",
    "skills": "Compétences",
    "availability": "Disponibilité",
}

# Statistics tables (crm.services.stats): English column key → French column title.
# Shown or exported through crm.services.stats.french_columns (dashboard, downloads,
# periodic report, `passerelle stats`).
STAT_COLUMN_FR = {
    "site": "Site",
    "opened_on": "Ouverture",
    "learners_entered": "Stagiaires entrés",
    "target": "Prévision",
    "host_companies": "Entreprises ayant reçu des stagiaires",
    "section": "Section NAF",
    "sector": "Secteur",
    "domain": "Domaine ROME",
    "domain_label": "Libellé",
    "companies": "Entreprises",
    "partners": "Partenaires",
    "active_companies": "Actives (12 mois)",
    "new_partners": "Nouveaux partenaires",
    "dormant_partners": "Partenaires dormants",
    "offers": "Offres",
    "seats_offered": "Places offertes",
    "seats_used": "Places occupées",
    "occupancy_pct": "Taux d'occupation (%)",
    "companies_with_free_seats": "Entreprises avec places libres",
    "offers_never_used": "Offres jamais utilisées",
    "company": "Entreprise",
    "offer": "Offre",
    "rome_code": "Code ROME",
    "seats": "Places",
    "start_date": "Début",
    "month": "Mois",
    "placements": "Stages",
    "job": "Métier",
    "learners_placed": "Dont avec au moins un stage",
    "share_placed_pct": "Part avec stage (%)",
    "median_days_to_first": "Délai médian entrée → 1er stage (jours)",
    "exits": "Sorties",
    **OUTCOME_FR,  # one column per exit outcome, keyed by its code
    "unknown": OUTCOME_UNKNOWN_FR,
    "positive_exits": "Sorties positives",
    "positive_exit_pct": "Taux de sorties positives (%)",
    "officer": "Chargé(e)",
    "week": "Semaine",
    "monday": "Lundi",
    "contacts": "Contacts",
    "overdue": "Relances en retard",
    "oldest_due": "Plus ancienne échéance",
    "parameter": "Paramètre",
    "value": "Valeur",
}

PERIOD_FIELDS = ("start_date", "end_date")


def label(mapping: Mapping[str, str], code) -> str:
    """The French label of ``code`` in ``mapping`` (the code itself if unknown, '' for None)."""
    if code is None:
        return ""
    key = getattr(code, "value", code)
    return mapping.get(key, str(key))


def field_label(name: str) -> str:
    """A field name (English key or already French) as shown to users."""
    return FIELD_FR.get(name, name)


def audit_summary(action: str, entity: str, details: Mapping | None) -> str:
    """A readable French sentence-ish summary of an audit event's details (never JSON)."""
    parts: list[str] = []
    for key, value in (details or {}).items():
        if value in (None, "", [], {}):
            continue
        name = field_label(key)
        if key in ("fields", "filled") and isinstance(value, list | tuple):
            shown = ", ".join(field_label(str(v)) for v in value)
        elif key in ("from_status", "to_status", "status"):
            shown = label(
                {**PARTNER_STATUS_FR, **PLACEMENT_STATUS_FR, **OFFER_STATUS_FR}, str(value)
            )
        elif key in ("role", "old_role"):
            shown = label(ROLE_FR, str(value))
        elif key == "key":
            shown = field_label(str(value))
        elif key == "kind":
            shown = label(ENTITY_FR, str(value))
        elif key == "method":
            shown = {"password": "mot de passe", "sso": "compte de l'école"}.get(value, str(value))
        elif isinstance(value, list | tuple):
            shown = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            shown = ", ".join(f"{field_label(str(k))} : {v}" for k, v in value.items())
        else:
            shown = str(value)
        parts.append(f"{name} : {shown}")
    return " ; ".join(parts)
