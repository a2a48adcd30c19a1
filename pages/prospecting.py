"""Prospection: the register establishments to call next, for a learner or a job near a site."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.labels import INTERACTION_KIND_FR
from crm.services.interactions import log_interaction
from crm.services.learners import list_learners, rome_options, sites_for
from crm.services.prospecting import add_prospect, prospects_for_learner, prospects_near
from crm.services.prospecting import register_summary as summary_of
from pages._maps import suggestions_deck
from pages._state import COMPANY_ID, LEARNER_ID
from pages._ui import db_session, fmt_date, require_actor, show_error

# Session-state keys of this page.
FLASH = "prospect_flash"  # message shown once after the rerun that follows a save

TOP = 20
ADDED_KEY = "prospect_added"  # (company_id, name, created) of the last "Ajouter comme prospect"


def add(actor, siret: str, site_id: int | None) -> None:
    """Callback: the establishment becomes a CRM prospect (once); then « Noter un contact »."""
    try:
        with db_session() as session:
            added = add_prospect(session, actor, siret, site_id=site_id)
    except PasserelleError as exc:
        st.session_state[FLASH] = ("error", str(exc))
        return
    st.session_state[ADDED_KEY] = (added.company_id, added.name, added.created)
    st.session_state[FLASH] = (
        "ok",
        f"{added.name} ajoutée comme prospect : notez votre premier contact ci-dessous."
        if added.created
        else f"{added.name} est déjà dans le CRM : rien n'a été créé en double.",
    )


actor = require_actor(Perm.COMPANY_READ)
st.title("Prospection")
st.caption(
    "Entreprises du registre SIRENE à démarcher : celles dont l'activité (NAF) recrute le plus "
    "pour le métier, près du stagiaire ou du site. Les entreprises déjà dans le CRM sont écartées."
)

with db_session() as session:
    register = summary_of(session, actor)
    learners = list_learners(session, actor) if actor.has(Perm.LEARNER_READ_BASIC) else []
    sites = sites_for(session, actor)
    romes = rome_options(session)
if register.active == 0:
    st.info(
        "Le registre des établissements n'est pas encore importé : un administrateur lance "
        "`passerelle import sirene StockEtablissement_utf8.csv --departements 83`."
    )
    st.stop()
st.caption(
    f"Registre : {register.active:,} établissements actifs".replace(",", " ")
    + (f" (fichier du {fmt_date(register.source_date)})" if register.source_date else "")
)

flash = st.session_state.pop(FLASH, None)
if flash:
    (st.success if flash[0] == "ok" else st.error)(flash[1])

added = st.session_state.get(ADDED_KEY)
if added and actor.has(Perm.INTERACTION_WRITE):
    company_id, company_name, _ = added
    with st.form("prospect_contact", clear_on_submit=True, border=True):
        st.markdown(f"**Noter un contact — {company_name}**")
        c1, c2 = st.columns([1, 3])
        kind = c1.selectbox(
            "Type", options=list(INTERACTION_KIND_FR), format_func=INTERACTION_KIND_FR.get
        )
        summary = c2.text_input("Résumé", placeholder="Appel au gérant, présentation de l'E2C")
        outcome = st.text_input("Résultat", placeholder="Intéressé, à relancer…")
        done = st.form_submit_button("Enregistrer le contact")
    if done:
        try:
            with db_session() as session:
                log_interaction(
                    session, actor, company_id, kind=kind, summary=summary, outcome=outcome
                )
        except PasserelleError as exc:
            show_error(exc)
        else:
            st.session_state.pop(ADDED_KEY, None)
            st.success(f"Contact noté pour {company_name} (statut : contacté).")
    b1, b2 = st.columns([3, 1])
    if b1.button(f"Ouvrir la fiche de {company_name}", key="prospect_open_company"):
        st.session_state[COMPANY_ID] = company_id
        st.switch_page("pages/company.py")
    if b2.button("Plus tard", key="prospect_later", help="Fermer sans noter de contact"):
        st.session_state.pop(ADDED_KEY, None)
        st.rerun()

mode = st.radio(
    "Prospecter pour",
    options=["learner", "job"],
    format_func={"learner": "un stagiaire", "job": "un métier autour d'un site"}.get,
    horizontal=True,
    index=0 if learners else 1,
    key="prospect_mode",
)
result = None
site_id = None
try:
    if mode == "learner":
        if not learners:
            st.info("Aucun stagiaire en parcours sur vos sites.")
            st.stop()
        labels = {
            lr.id: f"{lr.last_name} {lr.first_name} ({', '.join(lr.project_codes) or '—'})"
            for lr in learners
        }
        ids = list(labels)
        current = st.session_state.get(LEARNER_ID)
        c1, c2 = st.columns([2, 2])
        learner_id = c1.selectbox(
            "Stagiaire",
            options=ids,
            index=ids.index(current) if current in ids else None,
            format_func=labels.get,
            placeholder="Choisissez un stagiaire",
            key="prospect_learner",
        )
        if learner_id is None:
            st.info("Choisissez un stagiaire : ses projets et ses trajets guident la liste.")
            st.stop()
        st.session_state[LEARNER_ID] = learner_id
        learner = next(lr for lr in learners if lr.id == learner_id)
        site_id = learner.site_id
        job = c2.selectbox(
            "Métier",
            options=["", *learner.project_codes],
            format_func=lambda c: "Projets du stagiaire" if c == "" else romes.get(c, c),
            key=f"prospect_job_{learner_id}",
        )
        with db_session() as session:
            result = prospects_for_learner(session, actor, learner_id, top=TOP, rome=job or None)
    else:
        if not sites:
            st.info("Aucun site dans votre périmètre.")
            st.stop()
        c1, c2, c3 = st.columns([3, 2, 2])
        job = c1.selectbox(
            "Métier",
            options=list(romes),
            index=None,
            format_func=romes.get,
            placeholder="Choisissez un métier (ROME)",
            key="prospect_rome",
        )
        site_id = c2.selectbox(
            "Site",
            options=[s.id for s in sites],
            format_func={s.id: s.name for s in sites}.get,
            key="prospect_site",
        )
        radius = c3.slider("Rayon (km)", 5, 50, 20, step=5, key="prospect_radius")
        if not job:
            st.info("Choisissez un métier.")
            st.stop()
        with db_session() as session:
            result = prospects_near(session, actor, job, site_id=site_id, radius_km=radius, top=TOP)
except PasserelleError as exc:
    show_error(exc)
    st.stop()

for note in result.notes:
    st.warning(note)
st.caption(
    f"{len(result.prospects)} établissement(s) à démarcher dans un rayon de "
    f"{result.radius_km:.0f} km — {result.in_crm} déjà dans le CRM écarté(s)."
)
can_add = actor.has(Perm.COMPANY_WRITE) and actor.in_scope(site_id)
left, right = st.columns([3, 2])
with left:
    if not result.prospects:
        st.info("Aucun établissement du registre ne correspond : élargissez le rayon ou le métier.")
    for rank, p in enumerate(result.prospects, start=1):
        with st.container(border=True):
            st.markdown(
                f"**{rank}. {p.name}** — {p.commune} · score **{p.score * 100:.0f}/100**  \n"
                f"SIRET {p.siret} · {p.extra.get('address') or ''}"
            )
            st.caption(" · ".join(p.reasons))
            if can_add:
                st.button(
                    "Ajouter comme prospect",
                    key=f"prospect_add_{p.siret}",
                    on_click=add,
                    args=(actor, p.siret, site_id),
                )
    if result.declined:
        with st.expander(
            f"Déjà contactées, refus récent ({len(result.declined)}) : à ne pas rappeler tout de "
            "suite",
            expanded=False,
        ):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "Entreprise": d.company_name,
                            "Commune": d.prospect.commune,
                            "Dernier contact": fmt_date(d.last_contact),
                            "Résultat": d.outcome or d.status,
                        }
                        for d in result.declined
                    ]
                ),
                hide_index=True,
                key="prospect_declined",
            )
with right:
    deck = suggestions_deck(
        result.origin,
        [
            {
                "latitude": p.latitude,
                "longitude": p.longitude,
                "title": p.name,
                "company": p.commune,
                "minutes": p.minutes,
                "distance_km": p.distance_km,
            }
            for p in result.prospects
        ],
        result.radius_km,
    )
    if deck is not None:
        st.pydeck_chart(deck, height=460, key="prospect_map")
        origin = "domicile du stagiaire" if mode == "learner" else "site"
        st.caption(
            f":blue[●] {origin} · :green[●] établissements à démarcher · "
            f"cercle : rayon de recherche ({result.radius_km:.0f} km)"
        )
