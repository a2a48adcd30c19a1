"""Suivi des périodes: placements by status, status changes, tutor evaluation, outcome."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.labels import OUTCOME_FR, PLACEMENT_STATUS_FR
from crm.models import split_list
from crm.services.learners import skill_options
from crm.services.placements import (
    TRANSITIONS,
    change_status,
    evaluation_refusal,
    list_placements,
    record_follow_up,
    status_date_refusal,
)
from pages._format import PLACEHOLDER, PLACEHOLDER_MULTI
from pages._forms import Form, md_escape, selected_row
from pages._ui import db_session, fmt_date, require_actor, show_error

# Session-state keys of this page.
FLASH = "placements_flash"  # message shown once after the rerun that follows a save
LINK_SEEN = "_periode_link"  # the record link (?… in the URL) already applied
PICK_WIDGET = "placement_pick"  # the period picker
ROW_SEEN = "_placements_row"  # the table row already applied to the picker
PICK = "placement_id"  # the period being followed (kept across status changes and reloads)

actor = require_actor(Perm.LEARNER_READ)
can_write = actor.has(Perm.PLACEMENT_WRITE)
st.title("Suivi des périodes")

flash = st.session_state.pop(FLASH, None)
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
    all_rows = list_placements(session, actor)  # the actor's sites only (service scope)
    skills_ref = skill_options(session)
by_id = {r.id: r for r in all_rows}

# A link ``?periode=ID`` opens that period; an id out of the actor's scope is refused.
linked = st.query_params.get("periode")
if linked is not None and st.session_state.get(LINK_SEEN) != linked:
    st.session_state[LINK_SEEN] = linked
    try:
        wanted = int(linked)
    except ValueError:
        wanted = None
    if wanted in by_id:
        st.session_state[PICK] = wanted
        st.session_state.pop(PICK_WIDGET, None)
    else:
        st.error("Cette période n'existe pas ou n'appartient pas à vos sites : accès refusé.")
rows = [r for r in all_rows if not statuses or r.status in statuses]

counts = pd.Series([r.status for r in rows]).value_counts().to_dict() if rows else {}
cols = st.columns(max(1, len(statuses or PLACEMENT_STATUS_FR)))
for col, status in zip(cols, statuses or list(PLACEMENT_STATUS_FR), strict=False):
    col.metric(PLACEMENT_STATUS_FR[status], counts.get(status, 0))

if not rows:
    st.info("Aucune période avec ces statuts.")
    st.stop()

st.caption("Cliquez sur une ligne pour ouvrir la période.")
df = pd.DataFrame(
    [
        {
            "Stagiaire": r.learner_name,
            "Entreprise": r.company,
            "Offre": r.title or r.rome_code or "",
            "Du": fmt_date(r.start_date),
            "Au": fmt_date(r.end_date),
            "Statut": PLACEMENT_STATUS_FR.get(r.status, r.status),
            "Note tuteur": str(r.tutor_rating) if r.tutor_rating else "",
            "Sortie": OUTCOME_FR.get(r.outcome, "") if r.outcome else "",
            "Incident": "oui" if r.incident else "",
        }
        for r in rows
    ]
)
if len({r.site for r in rows}) > 1:  # the site only when it tells rows apart
    df.insert(1, "Site", [r.site for r in rows])
event = st.dataframe(
    df,
    hide_index=True,
    width="stretch",
    key="placements_table",
    on_select="rerun",
    selection_mode="single-row",
)
row = selected_row(event)
row_key = (row, tuple(r.id for r in rows))
if row is not None and st.session_state.get(ROW_SEEN) != row_key:
    st.session_state[PICK] = rows[row].id  # one click opens the period
    st.session_state.pop(PICK_WIDGET, None)
st.session_state[ROW_SEEN] = row_key

options = [r.id for r in rows]
current = st.session_state.get(PICK)
if current in by_id and current not in options:  # e.g. just moved out of the status filter
    options.append(current)
pid = st.selectbox(
    "Période à suivre",
    options=options,
    index=options.index(current) if current in options else None,
    format_func=lambda i: (
        f"{by_id[i].learner_name} — {by_id[i].company} ({fmt_date(by_id[i].start_date)})"
    ),
    placeholder="Choisissez une période (ou cliquez sur une ligne)",
    key=PICK_WIDGET,
)
st.session_state[PICK] = pid
if pid is not None:
    st.query_params["periode"] = str(pid)
    st.session_state[LINK_SEEN] = str(pid)
elif "periode" in st.query_params:
    del st.query_params["periode"]
if pid is None or not can_write:
    st.stop()
p = by_id[pid]
st.subheader(f"{md_escape(p.learner_name)} chez {md_escape(p.company)}", anchor=False)
l1, l2, _ = st.columns([1, 1, 2])
l1.page_link(
    "pages/learners.py",
    label="Fiche du stagiaire",
    query_params={"stagiaire": str(p.learner_id)},
)
l2.page_link(
    "pages/company.py",
    label="Fiche de l'entreprise",
    query_params={"entreprise": str(p.company_id)},
)
st.caption(
    f"Statut : **{PLACEMENT_STATUS_FR[p.status]}** — du {fmt_date(p.start_date)} au {fmt_date(p.end_date)}"
)


def _done(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


next_statuses = [s.value for s in TRANSITIONS[p.status] if s.value != "cancelled"]
for status in next_statuses:
    too_early = status_date_refusal(status, p.start_date, p.end_date)
    if too_early:  # the service would refuse it: say why instead of offering it
        st.caption(f"« {PLACEMENT_STATUS_FR[status]} » : {too_early}")
        continue
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
    not_yet = evaluation_refusal(p.status, p.end_date)  # rating and outcome: from the end
    if not_yet:
        st.caption(f"Note et sortie : {not_yet}")
    f = Form(f"evaluation_{pid}")
    with f:
        rating_options = [None, 1, 2, 3, 4, 5]
        rating = f.selectbox(
            "Note du tuteur (facultative)",
            "tutor_rating",
            rating_options,
            index=rating_options.index(p.tutor_rating),
            format_func=lambda v: "Pas de note" if v is None else f"{v} / 5",
            placeholder=PLACEHOLDER,
            disabled=bool(not_yet),
        )
        feedback = f.text_area(
            "Appréciation du tuteur", "tutor_feedback", value=p.tutor_feedback or ""
        )
        observed = st.multiselect(
            "Compétences observées",
            options=sorted(set(skills_ref) | set(split_list(p.skills_observed))),
            default=split_list(p.skills_observed),
            placeholder=PLACEHOLDER_MULTI,
            key=f.key("skills_observed"),
        )
        incident = f.checkbox("Incident pendant la période", "incident", value=p.incident)
        outcome_options = ["", *OUTCOME_FR]
        outcome = f.selectbox(
            "Sortie",
            "outcome",
            outcome_options,
            index=outcome_options.index(p.outcome or ""),
            format_func=lambda o: "—" if o == "" else OUTCOME_FR[o],
            errors=("status",),
            placeholder=PLACEHOLDER,
            disabled=bool(not_yet),
        )
        submitted = st.form_submit_button("Enregistrer l'évaluation")
    if submitted:
        f.submit(
            lambda session: record_follow_up(
                session,
                actor,
                pid,
                tutor_rating=rating,
                tutor_feedback=feedback,
                skills_observed=observed,
                incident=incident,
                outcome=outcome or None,
                expected_version=p.version,
            ),
            success="Évaluation enregistrée.",
            clear=False,
        )
    f.show_flash()
