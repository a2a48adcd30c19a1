"""Journal d'audit: search the audit trail (admin only)."""

import datetime as dt

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.labels import AUDIT_ACTION_FR, ENTITY_FR, audit_summary, label
from crm.services.audit_log import MAX_ROWS, audit_choices, search_audit
from pages._format import DATE_FORMAT, PLACEHOLDER
from pages._ui import db_session, fmt_date, require_actor

actor = require_actor(Perm.AUDIT_READ)
st.title("Journal d'audit")
st.caption(
    "Qui a créé, modifié, fusionné, exporté ou supprimé quoi, et quand (identifiants seulement)."
)

with db_session() as session:
    choices = audit_choices(session, actor)

ANY = ""
c1, c2, c3, c4 = st.columns(4)
who = c1.selectbox(
    "Utilisateur",
    [ANY, *choices["actor"]],
    format_func=lambda v: v or "Tous",
    key="audit_actor",
    placeholder=PLACEHOLDER,
)
action = c2.selectbox(
    "Action",
    [ANY, *choices["action"]],
    format_func=lambda v: label(AUDIT_ACTION_FR, v) if v else "Toutes",
    key="audit_action",
    placeholder=PLACEHOLDER,
)
entity = c3.selectbox(
    "Objet",
    [ANY, *choices["entity"]],
    format_func=lambda v: label(ENTITY_FR, v) if v else "Tous",
    key="audit_entity",
    placeholder=PLACEHOLDER,
)
entity_id = c4.number_input("N° de l'objet", min_value=0, step=1, value=0, key="audit_entity_id")
today = dt.date.today()
period = st.date_input(
    "Période", value=(today - dt.timedelta(days=30), today), format=DATE_FORMAT, key="audit_period"
)
date_from, date_to = (period[0], period[-1]) if period else (None, None)

with db_session() as session:
    rows = search_audit(
        session,
        actor,
        actor_name=who or None,
        action=action or None,
        entity=entity or None,
        entity_id=int(entity_id) or None,
        date_from=date_from,
        date_to=date_to,
    )

st.caption(
    f"{len(rows)} événement(s)"
    + (f" (les {MAX_ROWS} plus récents)" if len(rows) >= MAX_ROWS else "")
)
st.dataframe(
    pd.DataFrame(
        [
            {
                "N°": r.id,
                "Date": fmt_date(r.at),
                "Utilisateur": r.actor or "",
                "Action": label(AUDIT_ACTION_FR, r.action),
                "Objet": label(ENTITY_FR, r.entity),
                "N° objet": str(r.entity_id) if r.entity_id is not None else "",
                "Détails": audit_summary(r.action, r.entity, r.details),
            }
            for r in rows
        ],
        columns=["N°", "Date", "Utilisateur", "Action", "Objet", "N° objet", "Détails"],
    ),
    hide_index=True,
    width="stretch",
)
