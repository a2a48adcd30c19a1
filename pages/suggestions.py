"""Suggestions: where can this learner go, soon, that fits the project? Ranked offers with reasons."""

import datetime as dt

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import CapacityError, PasserelleError, ValidationError
from crm.services.learners import list_learners, rome_options
from crm.services.matching import suggestions_for
from crm.services.placements import book_placement
from matching.commute import MODE_LABELS_FR, reachable_km
from pages._maps import suggestions_map
from pages._ui import (
    db_session,
    fmt_date,
    refuse_unlisted_learner,
    require_actor,
    show_error,
)

TOP = 10
PMSMP_DAYS = 14  # default length of a proposed immersion


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
        }
        for sg in suggestions
    ]
    radius = reachable_km(profile.max_commute_min, profile.modes)
    suggestions_map((profile.latitude, profile.longitude), offers, radius, key="suggestions_map")


def propose(actor, learner_id, offer_id, company_name, start, end) -> None:
    """Book the placement (seat checked and taken in one transaction); report in the next run."""
    try:
        with db_session() as session:
            book_placement(session, actor, learner_id, offer_id, start, end)
    except CapacityError as exc:
        st.session_state["suggest_flash"] = ("error", str(exc))
    except ValidationError as exc:
        message = "Proposition refusée : " + "; ".join(f"{k} : {v}" for k, v in exc.errors.items())
        st.session_state["suggest_flash"] = ("error", message)
    except PasserelleError as exc:
        st.session_state["suggest_flash"] = ("error", str(exc))
    else:
        st.session_state["suggest_flash"] = (
            "ok",
            f"Période proposée chez {company_name} du {fmt_date(start)} au "
            f"{fmt_date(end)} : suivez-la dans « Suivi des périodes ».",
        )


actor = require_actor(Perm.LEARNER_READ)
st.title("Suggestions")

with db_session() as session:
    learners = list_learners(session, actor)
    romes = rome_options(session)
if not learners:
    st.info("Aucun stagiaire en parcours sur vos sites.")
    st.stop()
labels = {
    lr.id: f"{lr.last_name} {lr.first_name} ({', '.join(lr.project_codes) or 'projet à préciser'})"
    for lr in learners
}
ids = list(labels)
refuse_unlisted_learner(actor, labels)
current = st.session_state.get("learner_id")
learner_id = st.selectbox(
    "Stagiaire",
    options=ids,
    index=ids.index(current) if current in ids else None,
    format_func=labels.get,
    placeholder="Choisissez un stagiaire",
    key="suggest_learner",
)
if learner_id is None:
    st.info("Choisissez un stagiaire pour voir les offres qui lui correspondent.")
    st.stop()
st.session_state["learner_id"] = learner_id
learner = next(lr for lr in learners if lr.id == learner_id)

today = dt.date.today()
with st.expander("Filtres", expanded=False):
    f1, f2, f3 = st.columns(3)
    default_from = max(learner.available_from or today, today)
    default_to = learner.available_to or default_from + dt.timedelta(days=90)
    period = f1.date_input(
        "Période",
        value=(default_from, max(default_to, default_from)),
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
        format_func=lambda c: "Projet du stagiaire" if c == "" else romes.get(c, c),
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
except PasserelleError as exc:
    show_error(exc)
    st.stop()

flash = st.session_state.pop("suggest_flash", None)
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
    f"({', '.join(MODE_LABELS_FR.get(m, m) for m in profile.modes)})"
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
left, right = st.columns([3, 2])
with left:
    for s in suggestions:
        with st.container(border=True):
            st.markdown(
                f"**{s.rank}. {s.company_name}** — {s.title} · score **{s.score * 100:.0f}/100**"
            )
            st.caption(s.explanation)
            st.caption(f"Offre du {fmt_date(s.start_date)} au {fmt_date(s.end_date)}")
            if actor.has(Perm.PLACEMENT_WRITE):
                begin = max(window[0] or today, s.start_date or today, today)
                finish = begin + dt.timedelta(days=PMSMP_DAYS - 1)
                if s.end_date and finish > s.end_date:
                    finish = s.end_date
                # A callback: it runs even if the offer is gone from the list on the next run.
                st.button(
                    "Proposer",
                    key=f"propose_{s.offer_id}",
                    on_click=propose,
                    args=(actor, learner_id, s.offer_id, s.company_name, begin, finish),
                )
with right:
    show_map(profile, suggestions)
    st.markdown("**Détail des scores (sur 100)**")
    st.dataframe(table, hide_index=True, width="stretch", key="suggest_scores")
