"""Suggestions: where can this learner go, soon, that fits the project? Ranked offers with reasons."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import CapacityError, PasserelleError
from crm.labels import MOBILITY_MODE_FR
from crm.services.learners import list_learners, rome_options, sites_for
from crm.services.matching import search_window, suggestions_for
from crm.services.placements import book_placement, booking_options, default_period
from matching.commute import reachable_km
from pages._format import DATE_FORMAT, PLACEHOLDER, job_label, learner_label
from pages._forms import Form, md_escape
from pages._maps import suggestions_map
from pages._state import LEARNER_ID
from pages._ui import (
    db_session,
    fmt_date,
    refuse_unlisted_learner,
    require_actor,
    show_error,
)

# Session-state keys of this page.
FLASH = "suggest_flash"  # message shown once after the rerun that follows a save
LINK_SEEN = "_suggest_link"  # the record link (?… in the URL) already applied
PICK = "suggest_learner"  # the record picker

TOP = 10


def show_map(profile, suggestions) -> None:
    """The learner's home, the suggested offers and the radius reachable in the allowed time."""
    offers = [
        {
            "latitude": sg.latitude,
            "longitude": sg.longitude,
            "title": sg.title,
            "company": sg.company_name,
            "minutes": sg.commute_min,
            "distance_km": sg.distance_km,
            "company_id": sg.company_id,  # a click on the marker opens the company file
        }
        for sg in suggestions
    ]
    radius = reachable_km(profile.max_commute_min, profile.modes)
    suggestions_map((profile.latitude, profile.longitude), offers, radius, key="suggestions_map")


BOOKING = "suggest_booking"  # the offer whose booking dialog is open (survives reruns)


def _open_booking(learner_id: int, sg, options) -> None:
    st.session_state[BOOKING] = (learner_id, sg, options)


def _close_booking() -> None:
    st.session_state.pop(BOOKING, None)


@st.dialog("Proposer une période", width="large", on_dismiss=_close_booking)
def propose_dialog(actor, learner_id, learner_name, sg, options, earliest) -> None:
    """Dates (default: the offer window, the usual PMSMP length), tutor, then confirm."""
    st.markdown(f"**{md_escape(learner_name)}** chez **{md_escape(sg.company_name)}**")
    st.caption(
        f"{sg.title} — offre du {fmt_date(sg.start_date) or '…'} au {fmt_date(sg.end_date) or '…'}"
        + (f" — {options.free_seats} place(s) libre(s) sur {options.seats}" if options else "")
    )
    start0, end0 = default_period(sg.start_date, sg.end_date, earliest)
    f = Form(f"book_{learner_id}_{sg.offer_id}")
    tutors = {t.id: t for t in (options.tutors if options else ())}
    tutor_ids = list(tutors)
    default_tutor = options.default_tutor_id if options else None
    with f:
        c1, c2 = st.columns(2)
        with c1:
            start = f.date_input(
                "Début", "start_date", value=start0, format=DATE_FORMAT, errors=("dates", "age")
            )
        with c2:
            end = f.date_input(
                "Fin", "end_date", value=end0, format=DATE_FORMAT, errors=("overlap",)
            )
        tutor_id = f.selectbox(
            "Tuteur dans l'entreprise",
            "tutor_id",
            tutor_ids,
            index=tutor_ids.index(default_tutor) if default_tutor in tutor_ids else None,
            format_func=lambda i: (
                f"{tutors[i].name}"
                + (f" — {tutors[i].job_title}" if tutors[i].job_title else "")
                + (" (tuteur)" if tutors[i].is_tutor else "")
            ),
            placeholder="Choisir un tuteur (facultatif)" if tutor_ids else "Aucun contact connu",
        )
        submitted = st.form_submit_button("Confirmer la proposition", type="primary")
    if submitted:

        def _book(session) -> int:
            try:
                return book_placement(
                    session, actor, learner_id, sg.offer_id, start, end, tutor_id=tutor_id
                ).id
            except CapacityError as exc:  # the seat went meanwhile: back to a fresh list
                st.session_state[FLASH] = ("error", str(exc))
                raise

        result = f.submit(_book, rerun=False)
        if result is None and st.session_state.get(FLASH):
            _close_booking()
            st.rerun()
        if result is not None:
            _close_booking()
            st.session_state[FLASH] = (
                "ok",
                f"Période proposée chez {sg.company_name} du {fmt_date(start)} au "
                f"{fmt_date(end)} : suivez-la dans « Suivi des périodes ».",
            )
            st.rerun()
        elif f.errors:
            st.rerun(scope="fragment")  # the dialog stays open, values and errors kept


def suggestion_card(sg, options) -> None:
    with st.container(border=True):
        st.markdown(
            f"**{sg.rank}. {md_escape(sg.company_name)}** — {md_escape(sg.title)} · "
            f"score **{sg.score * 100:.0f}/100**"
        )
        st.caption(md_escape(sg.explanation))
        seats = f" — {options.free_seats} place(s) libre(s) sur {options.seats}" if options else ""
        st.caption(f"Offre du {fmt_date(sg.start_date)} au {fmt_date(sg.end_date)}{seats}")
        if actor.has(Perm.PLACEMENT_WRITE):
            st.button(
                "Proposer",
                key=f"propose_{sg.offer_id}",
                on_click=_open_booking,
                args=(learner_id, sg, options),
            )


actor = require_actor(Perm.LEARNER_READ)
st.title("Suggestions")

with db_session() as session:
    learners = list_learners(session, actor)
    romes = rome_options(session)
    site_names = {s.id: s.name for s in sites_for(session, actor)}
if not learners:
    st.info("Aucun stagiaire en parcours sur vos sites.")
    st.stop()
labels = {
    lr.id: learner_label(lr.last_name, lr.first_name, site_names.get(lr.site_id), lr.entry_date)
    for lr in learners
}
ids = list(labels)
# A link ``?stagiaire=ID`` (e.g. from the learner's file) opens the suggestions for that learner.
linked = st.query_params.get("stagiaire")
if linked is not None and st.session_state.get(LINK_SEEN) != linked:
    st.session_state[LINK_SEEN] = linked
    if linked.isdigit():
        st.session_state[LEARNER_ID] = int(linked)
        st.session_state.pop(PICK, None)
refuse_unlisted_learner(actor, labels)
current = st.session_state.get(LEARNER_ID)
learner_id = st.selectbox(
    "Stagiaire",
    options=ids,
    index=ids.index(current) if current in ids else None,
    format_func=labels.get,
    placeholder="Choisissez un stagiaire (tapez pour chercher)",
    key=PICK,
)
if learner_id is None:
    st.info("Choisissez un stagiaire pour voir les offres qui lui correspondent.")
    st.stop()
st.session_state[LEARNER_ID] = learner_id
st.query_params["stagiaire"] = str(learner_id)
st.session_state[LINK_SEEN] = str(learner_id)
learner = next(lr for lr in learners if lr.id == learner_id)
learner_name = f"{learner.first_name} {learner.last_name}"
st.caption(
    "Projet : "
    + (
        ", ".join(job_label(c, romes) for c in learner.project_codes)
        or (learner.project_text or "à préciser")
    )
)

with st.expander("Filtres", expanded=False):
    f1, f2, f3 = st.columns(3)
    default_from, default_to = search_window(learner)
    period = f1.date_input(
        "Période",
        value=(default_from, default_to),
        format="DD/MM/YYYY",
        key=f"suggest_period_{learner_id}",
    )
    max_minutes = f2.slider(
        "Trajet maximum (minutes)",
        min_value=5,
        max_value=int(learner.max_commute_min or 45),
        value=int(learner.max_commute_min or 45),
        step=5,
        key=f"suggest_minutes_{learner_id}",
    )
    job_options = [
        "",
        *learner.project_codes,
        *[c for c in romes if c not in learner.project_codes],
    ]
    job = f3.selectbox(
        "Métier",
        options=job_options,
        format_func=lambda c: "Projet du stagiaire" if c == "" else job_label(c, romes),
        placeholder=PLACEHOLDER,
        key=f"suggest_job_{learner_id}",
    )
if isinstance(period, tuple) and len(period) == 2:
    window = (period[0], period[1])
else:  # a range being picked: only the start so far
    window = (period[0] if isinstance(period, tuple) and period else default_from, None)

try:
    with db_session() as session:
        profile, suggestions = suggestions_for(
            session,
            actor,
            learner_id,
            top=TOP,
            period=window,
            max_minutes=max_minutes,
            job=job or None,
        )
        seat_info = booking_options(session, actor, [sg.offer_id for sg in suggestions])
except PasserelleError as exc:
    show_error(exc)
    st.stop()

flash = st.session_state.pop(FLASH, None)
if flash:
    (st.success if flash[0] == "ok" else st.error)(flash[1])

if profile.latitude is None:
    st.warning("Adresse du stagiaire non localisée : complétez sa ville dans « Stagiaires ».")
if not suggestions:
    st.info(
        "Aucune offre ne passe les filtres (trajet, période, âge, places libres). "
        "Élargissez la période ou le métier."
    )
    # No offer: the register's establishments to call for this learner (Prospection page).
    st.page_link("pages/prospecting.py", label="Trouver des entreprises à démarcher", icon="🔎")
    st.stop()

st.caption(
    f"{len(suggestions)} offre(s) — trajet max {profile.max_commute_min:.0f} min "
    f"({', '.join(MOBILITY_MODE_FR.get(m, m) for m in profile.modes)})"
)
table = pd.DataFrame(
    [
        {
            "Rang": s.rank,
            "Entreprise": s.company_name,
            "Offre": s.title,
            "Score": round(s.score * 100),
            "Projet": round(s.project_score * 100),
            "Compétences": round(s.skills_score * 100),
            "Trajet": round(s.commute_score * 100),
            "Fiabilité": round(s.reliability_score * 100),
            "Équité": round(s.fairness_score * 100),
            "Minutes": round(s.commute_min),
            "km": round(s.distance_km, 1),
        }
        for s in suggestions
    ]
)
fitting = [sg for sg in suggestions if sg.project_match != "none"]
others = [sg for sg in suggestions if sg.project_match == "none"]
left, right = st.columns([3, 2])
with left:
    if fitting:
        st.markdown("**Offres qui correspondent au projet**")
    else:
        st.info("Aucune offre du métier visé ne passe les filtres : voyez les autres métiers.")
    for sg in fitting:
        suggestion_card(sg, seat_info.get(sg.offer_id))
    if others:
        with st.expander(f"Voir aussi d'autres métiers ({len(others)})", expanded=not fitting):
            st.caption("Ces offres ne sont pas dans le projet du stagiaire : une découverte.")
            for sg in others:
                suggestion_card(sg, seat_info.get(sg.offer_id))
with right:
    show_map(profile, suggestions)
# The dialog stays open across reruns until booked or dismissed, even if the offer just
# left the list (its last seat taken meanwhile: the service then says so).
booking = st.session_state.get(BOOKING)
if booking is not None and booking[0] == learner_id and actor.has(Perm.PLACEMENT_WRITE):
    _, booked_sg, booked_options = booking
    propose_dialog(
        actor,
        learner_id,
        learner_name,
        booked_sg,
        booked_options,
        window[0] if window else None,
    )
else:
    _close_booking()
st.markdown("**Détail des scores (sur 100)**")
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    key="suggest_scores",
    column_config={
        "Entreprise": st.column_config.TextColumn(width="medium"),
        "Offre": st.column_config.TextColumn(width="large"),
    },
)
