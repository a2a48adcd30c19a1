"""Paramètres: matching weights (labelled sliders), retention and dormancy periods (admin only)."""

import streamlit as st

from crm.auth import Perm
from crm.labels import MATCHING_WEIGHT_FR
from crm.services import settings as settings_service
from pages._forms import Form
from pages._ui import db_session, require_actor

actor = require_actor(Perm.SETTINGS_ADMIN)
st.title("Paramètres")

with db_session() as session:
    current = settings_service.all_settings(session)

weights_now = current[settings_service.MATCHING_WEIGHTS]
criteria = list(settings_service.DEFAULTS[settings_service.MATCHING_WEIGHTS])

f = Form("settings")
f.show_flash()
with f:
    st.markdown("**Poids du rapprochement** (importance de chaque critère dans le score)")
    weights = {}
    for name in criteria:
        percent = st.slider(
            MATCHING_WEIGHT_FR.get(name, name),
            min_value=0,
            max_value=100,
            step=5,
            value=round(float(weights_now.get(name, 0.0)) * 100),
            format="%d %%",
            key=f.key(f"weight_{name}"),
        )
        weights[name] = percent / 100
    f.field_error("matching_weights", "poids")
    total = sum(weights.values())
    if total > 0:
        st.caption(
            "Part de chaque critère : "
            + " · ".join(
                f"{MATCHING_WEIGHT_FR.get(k, k)} {v / total:.0%}" for k, v in weights.items()
            )
        )
    retention = f.number_input(
        "Durée de conservation après la sortie (mois)",
        "retention_months",
        min_value=1,
        max_value=120,
        step=1,
        value=int(current[settings_service.RETENTION_MONTHS]),
    )
    dormant = f.number_input(
        "Partenaire dormant sans contact depuis (mois)",
        "dormant_months",
        min_value=1,
        max_value=60,
        step=1,
        value=int(current[settings_service.DORMANT_MONTHS]),
    )
    saved = st.form_submit_button("Enregistrer")


def _save(session) -> None:  # all or nothing
    settings_service.set_setting(session, actor, settings_service.MATCHING_WEIGHTS, weights)
    settings_service.set_setting(session, actor, settings_service.RETENTION_MONTHS, retention)
    settings_service.set_setting(session, actor, settings_service.DORMANT_MONTHS, dormant)


if saved:
    f.submit(_save, success="Paramètres enregistrés.", clear=False)
