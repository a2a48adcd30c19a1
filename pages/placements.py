"""Suivi des périodes: placements by status, status changes, tutor evaluation, outcome."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.models import split_list
from crm.services.learners import skill_options
from crm.services.placements import TRANSITIONS, change_status, list_placements, record_follow_up
from pages._ui import (
    OUTCOME_FR,
    PLACEMENT_STATUS_FR,
    db_session,
    fmt_date,
    require_actor,
    show_error,
)

actor = require_actor(Perm.LEARNER_READ)
can_write = actor.has(Perm.PLACEMENT_WRITE)
st.title("Suivi des périodes")

flash = st.session_state.pop("placements_flash", None)
if flash:
    st.success(flash)

statuses = st.multiselect(
    "Statut",
    options=list(PLACEMENT_STATUS_FR),
    default=["proposed", "confirmed", "in_progress"],
    format_func=PLACEMENT_STATUS_FR.get,
    key="placements_status",
    placeholder="Tous",
)
with db_session() as session:
    rows = list_placements(session, actor, status=statuses or None)
    skills_ref = skill_options(session)

counts = pd.Series([r.status for r in rows]).value_counts().to_dict() if rows else {}
cols = st.columns(max(1, len(statuses or PLACEMENT_STATUS_FR)))
for col, status in zip(cols, statuses or list(PLACEMENT_STATUS_FR), strict=False):
    col.metric(PLACEMENT_STATUS_FR[status], counts.get(status, 0))

if not rows:
    st.info("Aucune période avec ces statuts.")
    st.stop()

df = pd.DataFrame(
    [
        {
            "Stagiaire": r.learner_name,
            "Entreprise": r.company,
            "Offre": r.title or r.rome_code,
            "Du": fmt_date(r.start_date),
            "Au": fmt_date(r.end_date),
            "Statut": PLACEMENT_STATUS_FR.get(r.status, r.status),
            "Note tuteur": r.tutor_rating,
            "Sortie": OUTCOME_FR.get(r.outcome, "") if r.outcome else "",
            "Incident": "oui" if r.incident else "",
        }
        for r in rows
    ]
)
st.dataframe(df, hide_index=True, width="stretch", key="placements_table")

by_id = {r.id: r for r in rows}
pid = st.selectbox(
    "Période à suivre",
    options=list(by_id),
    index=None,
    format_func=lambda i: (
        f"{by_id[i].learner_name} — {by_id[i].company} ({fmt_date(by_id[i].start_date)})"
    ),
    placeholder="Choisissez une période",
    key="placement_pick",
)
if pid is None or not can_write:
    st.stop()
p = by_id[pid]
st.subheader(f"{p.learner_name} chez {p.company}")
st.caption(
    f"Statut : **{PLACEMENT_STATUS_FR[p.status]}** — du {fmt_date(p.start_date)} au {fmt_date(p.end_date)}"
)


def _done(message: str) -> None:
    st.session_state["placements_flash"] = message
    st.rerun()


next_statuses = [s.value for s in TRANSITIONS[p.status] if s.value != "cancelled"]
for status in next_statuses:
    if st.button(f"Passer à « {PLACEMENT_STATUS_FR[status]} »", key=f"to_{status}_{pid}"):
        try:
            with db_session() as session:
                change_status(session, actor, pid, status, expected_version=p.version)
        except PasserelleError as exc:
            show_error(exc)
        else:
            _done(f"Période passée à « {PLACEMENT_STATUS_FR[status]} ».")

if "cancelled" in {s.value for s in TRANSITIONS[p.status]}:
    with st.form(f"cancel_{pid}"):
        reason = st.text_input("Motif de l'annulation")
        if st.form_submit_button("Annuler la période"):
            try:
                with db_session() as session:
                    change_status(
                        session, actor, pid, "cancelled", reason=reason, expected_version=p.version
                    )
            except PasserelleError as exc:
                show_error(exc)
            else:
                _done("Période annulée : la place est libérée.")

if p.status in ("in_progress", "done"):
    st.markdown("**Évaluation du tuteur et sortie**")
    with st.form(f"evaluation_{pid}"):
        rating = st.selectbox(
            "Note du tuteur (1 à 5)",
            options=[None, 1, 2, 3, 4, 5],
            index=p.tutor_rating or 0,
            format_func=lambda r: "— (pas de note)" if r is None else str(r),
        )
        feedback = st.text_area("Appréciation du tuteur", value=p.tutor_feedback or "")
        observed = st.multiselect(
            "Compétences observées",
            options=sorted(set(skills_ref) | set(split_list(p.skills_observed))),
            default=split_list(p.skills_observed),
            placeholder="Choisir…",
        )
        incident = st.checkbox("Incident pendant la période", value=p.incident)
        outcome_options = ["", *OUTCOME_FR]
        outcome = st.selectbox(
            "Sortie",
            options=outcome_options,
            index=outcome_options.index(p.outcome or ""),
            format_func=lambda o: "—" if o == "" else OUTCOME_FR[o],
        )
        if st.form_submit_button("Enregistrer l'évaluation"):
            try:
                with db_session() as session:
                    record_follow_up(
                        session,
                        actor,
                        pid,
                        tutor_rating=rating,
                        tutor_feedback=feedback,
                        skills_observed=observed,
                        incident=incident,
                        outcome=outcome or None,
                        expected_version=p.version,
                    )
            except PasserelleError as exc:
                show_error(exc)
            else:
                _done("Évaluation enregistrée.")
