"""Mes relances: my overdue and upcoming next actions; mark done, reschedule."""

import datetime as dt

import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.services.interactions import mark_done, my_followups, reschedule
from pages._ui import INTERACTION_KIND_FR, db_session, fmt_date, require_actor, show_error

actor = require_actor(Perm.INTERACTION_WRITE)
st.title("Mes relances")

flash = st.session_state.pop("followup_flash", None)
if flash:
    st.success(flash)

horizon = st.slider("Horizon (jours)", 7, 90, 30, key="followup_horizon")
today = dt.date.today()
with db_session() as session:
    fu = my_followups(session, actor, today, horizon_days=horizon)


def _item(f, prefix: str) -> None:
    with st.container(border=True):
        left, mid, right = st.columns([4, 2, 2])
        left.markdown(
            f"**{f.next_action}** — {f.company_name}  \n"
            f"{INTERACTION_KIND_FR.get(f.kind, f.kind)} : {f.summary[:120]}"
        )
        left.caption(f"Échéance : {fmt_date(f.due) or 'non fixée'}")
        if mid.button("Fait", key=f"done_{f.interaction_id}"):
            try:
                with db_session() as session:
                    mark_done(session, actor, f.interaction_id)
                st.session_state["followup_flash"] = "Relance marquée comme faite."
                st.rerun()
            except PasserelleError as exc:
                show_error(exc)
        new_due = right.date_input(
            "Reporter au",
            value=max(today, f.due or today) + dt.timedelta(days=7),
            format="DD/MM/YYYY",
            key=f"due_{f.interaction_id}",
        )
        if right.button("Reporter", key=f"resched_{f.interaction_id}"):
            try:
                with db_session() as session:
                    reschedule(session, actor, f.interaction_id, new_due)
                st.session_state["followup_flash"] = f"Relance reportée au {fmt_date(new_due)}."
                st.rerun()
            except PasserelleError as exc:
                show_error(exc)


st.subheader(f"En retard ({len(fu.overdue)})")
if not fu.overdue:
    st.write("Aucune relance en retard.")
for f in fu.overdue[:100]:
    _item(f, "late")
st.subheader(f"À venir ({len(fu.upcoming)})")
if not fu.upcoming:
    st.write("Aucune relance à venir.")
for f in fu.upcoming[:100]:
    _item(f, "soon")
