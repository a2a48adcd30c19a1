"""Mes relances: my overdue and upcoming next actions; mark done (with a note), reschedule.

Each user sees the follow-ups they wrote (officers and trainers alike).
"""

import datetime as dt

import streamlit as st

from crm.auth import Perm
from crm.labels import INTERACTION_KIND_FR
from crm.services.interactions import mark_done, my_followups, reschedule
from pages._forms import Form, company_link, md_escape
from pages._ui import db_session, fmt_date, require_actor

# Session-state keys of this page.
FLASH = "followup_flash"  # message shown once after the rerun that follows a save

actor = require_actor(Perm.INTERACTION_WRITE)
st.title("Mes relances")
st.caption("Les prochaines actions que vous avez notées dans le journal de contacts.")

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)

horizon = st.slider("Horizon (jours)", 7, 90, 30, key="followup_horizon")
today = dt.date.today()
with db_session() as session:
    fu = my_followups(session, actor, today, horizon_days=horizon)


def _item(f) -> None:
    with st.container(border=True):
        left, right = st.columns([3, 2])
        with left:
            st.markdown(f"**{md_escape(f.next_action)}**")
            company_link(f.company_id, f.company_name)
            who = " — ".join(
                x for x in (md_escape(f.contact_name), md_escape(f.contact_phone)) if x
            )
            if who:
                st.markdown(f"Contact : {who}")
            st.caption(
                f"Échéance : {fmt_date(f.due) or 'non fixée'} — "
                f"{INTERACTION_KIND_FR.get(f.kind, f.kind)} : {md_escape(f.summary[:120])}"
            )
        with right:
            form = Form(f"fu_{f.interaction_id}")
            with form:
                note = form.text_input(
                    "Note (facultatif)",
                    "note",
                    placeholder="Ce qui a été fait, la réponse obtenue…",
                )
                done = st.form_submit_button("Fait", key=f"done_{f.interaction_id}", type="primary")
                new_due = form.date_input(
                    "Reporter au",
                    "due",
                    value=max(today, f.due or today) + dt.timedelta(days=7),
                    min_value=today,
                    errors=("Échéance",),
                )
                later = st.form_submit_button("Reporter", key=f"resched_{f.interaction_id}")
        if done:
            form.submit(
                lambda session: mark_done(session, actor, f.interaction_id, note=note or None),
                on_success=lambda _: st.session_state.update(
                    {FLASH: "Relance marquée comme faite."}
                ),
            )
        if later:
            form.submit(
                lambda session: reschedule(session, actor, f.interaction_id, new_due),
                on_success=lambda _: st.session_state.update(
                    {FLASH: f"Relance reportée au {fmt_date(new_due)}."}
                ),
            )


st.subheader(f"En retard ({len(fu.overdue)})")
if not fu.overdue:
    st.write("Aucune relance en retard.")
for f in fu.overdue[:100]:
    _item(f)
st.subheader(f"À venir ({len(fu.upcoming)})")
if not fu.upcoming:
    st.write("Aucune relance à venir.")
for f in fu.upcoming[:100]:
    _item(f)
