"""Paramètres: matching weights, retention and dormancy periods (admin only)."""

import json

import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError, ValidationError
from crm.services import settings as settings_service
from pages._ui import db_session, require_actor, show_error

actor = require_actor(Perm.SETTINGS_ADMIN)
st.title("Paramètres")

with db_session() as session:
    current = settings_service.all_settings(session)

with st.form("settings"):
    weights_text = st.text_area(
        "Poids du rapprochement (JSON : critère → nombre positif)",
        value=json.dumps(current[settings_service.MATCHING_WEIGHTS], indent=2),
        height=160,
        key="weights",
    )
    st.caption(
        "Critères : " + ", ".join(settings_service.DEFAULTS[settings_service.MATCHING_WEIGHTS])
    )
    retention = st.number_input(
        "Durée de conservation après la sortie (mois)",
        min_value=1,
        max_value=120,
        step=1,
        value=int(current[settings_service.RETENTION_MONTHS]),
        key="retention",
    )
    dormant = st.number_input(
        "Partenaire dormant sans contact depuis (mois)",
        min_value=1,
        max_value=60,
        step=1,
        value=int(current[settings_service.DORMANT_MONTHS]),
        key="dormant",
    )
    saved = st.form_submit_button("Enregistrer")

if saved:
    try:
        try:
            weights = json.loads(weights_text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                {"poids": f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno})."}
            ) from None
        with db_session() as session:  # all or nothing
            settings_service.set_setting(session, actor, settings_service.MATCHING_WEIGHTS, weights)
            settings_service.set_setting(
                session, actor, settings_service.RETENTION_MONTHS, retention
            )
            settings_service.set_setting(session, actor, settings_service.DORMANT_MONTHS, dormant)
        st.success("Paramètres enregistrés.")
    except PasserelleError as exc:
        show_error(exc)
