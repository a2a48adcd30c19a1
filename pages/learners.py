"""Stagiaires: the learners of the trainer's site — list, create, edit."""

import datetime as dt

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.labels import MOBILITY_MODE_FR as MODE_LABELS_FR
from crm.services.imports import COLUMNS
from crm.services.learners import (
    create_learner,
    list_learners,
    rome_options,
    sites_for,
    skill_options,
    update_learner,
)
from pages._format import DATE_FORMAT, PLACEHOLDER, PLACEHOLDER_MULTI, job_label, learner_label
from pages._forms import selected_row
from pages._import import import_form
from pages._state import LEARNER_ID
from pages._ui import (
    db_session,
    fmt_date,
    refuse_unlisted_learner,
    require_actor,
    show_error,
)

# Session-state keys of this page.
SAVED = "learner_saved"  # a learner was just saved (success message)
SITE = "learners_site"  # the site filter
LINK_SEEN = "_stagiaire_link"  # the record link (?… in the URL) already applied
PICK = "learner_pick"  # the record picker
SEARCH = "learner_search"  # the search box
ROW_SEEN = "_learners_row"  # the table row already applied to the picker

actor = require_actor(Perm.LEARNER_READ)
can_write = actor.has(Perm.LEARNER_WRITE)
st.title("Stagiaires")
if st.session_state.pop(SAVED, False):
    st.success("Fiche enregistrée.")

with db_session() as session:
    sites = {s.id: s.name for s in sites_for(session, actor)}
    romes = rome_options(session)
    skills_ref = skill_options(session)

if not sites:
    st.info("Aucun site ne vous est rattaché.")
    st.stop()
site_ids = list(sites)
site_id = (
    st.selectbox(
        "Site",
        options=site_ids,
        format_func=sites.get,
        key=SITE,
        placeholder=PLACEHOLDER,
    )
    if len(site_ids) > 1
    else site_ids[0]
)

# A link ``?stagiaire=ID`` opens that learner (on their site; another site's: refused).
linked = st.query_params.get("stagiaire")
if linked is not None and st.session_state.get(LINK_SEEN) != linked:
    st.session_state[LINK_SEEN] = linked
    try:
        st.session_state[LEARNER_ID] = int(linked)
    except ValueError:
        st.error("Lien de stagiaire invalide.")
    else:
        st.session_state.pop(PICK, None)
        st.session_state.pop(SEARCH, None)
        if len(site_ids) > 1:
            with db_session() as session:
                from crm.services.learners import get_learner

                try:
                    wanted_site = get_learner(session, actor, int(linked)).site_id
                except PasserelleError:
                    wanted_site = None
            if wanted_site in sites:
                site_id = wanted_site
                st.session_state[SITE] = wanted_site

with db_session() as session:
    learners = list_learners(session, actor, site_id=site_id)
    by_id = {lr.id: lr for lr in learners}
    session.expunge_all()

query = st.text_input("Rechercher (nom, prénom, code ROME)", key=SEARCH)
shown = learners
if query:
    q = query.casefold()
    shown = [
        lr
        for lr in learners
        if q in f"{lr.first_name} {lr.last_name} {' '.join(lr.project_codes)}".casefold()
    ]
df = pd.DataFrame(
    [
        {
            "Nom": lr.last_name,
            "Prénom": lr.first_name,
            "Projet": ", ".join(job_label(c, romes) for c in lr.project_codes),
            "Déplacements": ", ".join(MODE_LABELS_FR.get(m, m) for m in lr.mobility_modes),
            "Trajet max (min)": lr.max_commute_min if lr.max_commute_min is not None else "",
            "Disponible du": fmt_date(lr.available_from),
            "Jusqu'au": fmt_date(lr.available_to),
        }
        for lr in shown
    ]
)
st.caption(f"{len(shown)} stagiaire(s) en parcours")
if not df.empty:
    st.caption("Cliquez sur une ligne pour ouvrir la fiche.")
    event = st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        key="learners_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config={"Projet": st.column_config.TextColumn(width="medium")},
    )
    row = selected_row(event)
    row_key = (row, tuple(lr.id for lr in shown))
    if row is not None and st.session_state.get(ROW_SEEN) != row_key:
        st.session_state[LEARNER_ID] = shown[row].id
        st.session_state.pop(PICK, None)
    st.session_state[ROW_SEEN] = row_key

if can_write and actor.has(Perm.IMPORT):
    pending = "learners_import_report" in st.session_state  # keep the report in view
    with st.expander("Importer des stagiaires (CSV ou XLSX)", expanded=pending):
        st.caption(
            "Colonnes reconnues : "
            + ", ".join(COLUMNS["learners"])
            + " (ou les en-têtes français usuels). Sans colonne « site », les stagiaires "
            f"sont rattachés à {sites[site_id]}. Mise à jour par « ref » ; rien n'est "
            "enregistré si une ligne est fausse (sauf si vous cochez la case)."
        )
        import_form(actor, "learners", key="learners_import", defaults={"site": sites[site_id]})

NEW = 0
refuse_unlisted_learner(actor, by_id)
choices = [NEW, *[lr.id for lr in shown]] if can_write else [lr.id for lr in shown]
current = st.session_state.get(LEARNER_ID)
if current in by_id and current not in choices:  # opened by a link while a search hides it
    choices.append(current)
labels = {
    NEW: "+ Nouveau stagiaire",
    **{
        lr.id: learner_label(lr.last_name, lr.first_name, sites.get(lr.site_id), lr.entry_date)
        for lr in learners
    },
}
chosen = st.selectbox(
    "Fiche",
    options=choices,
    index=choices.index(current) if current in choices else 0 if choices else None,
    format_func=labels.get,
    key=PICK,
    placeholder=PLACEHOLDER,
)
if chosen is None:
    st.stop()
learner = by_id.get(chosen)
if learner is not None:
    st.session_state[LEARNER_ID] = learner.id
    st.query_params["stagiaire"] = str(learner.id)
    st.session_state[LINK_SEEN] = str(learner.id)
    if st.button("Voir les suggestions pour ce stagiaire", key="to_suggestions"):
        st.switch_page("pages/suggestions.py", query_params={"stagiaire": str(learner.id)})

if not can_write:
    st.stop()

rome_codes = list(romes)
skill_choices = sorted(set(skills_ref) | set(learner.skill_list if learner else []))


def _code_index(value):
    return rome_codes.index(value) if value in romes else None


st.subheader("Modifier la fiche" if learner else "Nouveau stagiaire")
with st.form(f"learner_form_{chosen}"):
    c1, c2, c3 = st.columns(3)
    first_name = c1.text_input("Prénom", value=learner.first_name if learner else "")
    last_name = c2.text_input("Nom", value=learner.last_name if learner else "")
    birth_date = c3.date_input(
        "Date de naissance",
        value=learner.birth_date if learner else None,
        min_value=dt.date(1985, 1, 1),
        max_value=dt.date.today(),
        format=DATE_FORMAT,
    )
    a1, a2, a3 = st.columns([3, 1, 2])
    address = a1.text_input("Adresse", value=(learner.address or "") if learner else "")
    postcode = a2.text_input("Code postal", value=(learner.postcode or "") if learner else "")
    city = a3.text_input("Ville", value=(learner.city or "") if learner else "")
    st.markdown("**Projet professionnel** (codes ROME : tapez pour chercher)")
    p1, p2, p3 = st.columns(3)
    projects = []
    for col, n in zip((p1, p2, p3), (1, 2, 3), strict=True):
        projects.append(
            col.selectbox(
                f"Projet {n}",
                options=rome_codes,
                index=_code_index(getattr(learner, f"project_rome_{n}") if learner else None),
                format_func=lambda c: job_label(c, romes),
                placeholder="Rechercher un métier",
                key=f"project_{n}_{chosen}",
            )
        )
    project_text = st.text_area(
        "Projet en quelques mots (utilisé si aucun code ROME)",
        value=(learner.project_text or "") if learner else "",
    )
    skills = st.multiselect(
        "Compétences",
        options=skill_choices,
        default=learner.skill_list if learner else [],
        placeholder="Choisir dans le référentiel",
    )
    m1, m2 = st.columns(2)
    modes = m1.multiselect(
        "Modes de déplacement",
        options=list(MODE_LABELS_FR),
        default=learner.mobility_modes if learner else ["transit", "walk"],
        format_func=MODE_LABELS_FR.get,
        placeholder=PLACEHOLDER_MULTI,
    )
    max_commute = m2.number_input(
        "Trajet maximum (minutes)",
        min_value=5,
        max_value=180,
        step=5,
        value=int(learner.max_commute_min or 45) if learner else 45,
    )
    d1, d2 = st.columns(2)
    available_from = d1.date_input(
        "Disponible à partir du",
        value=learner.available_from if learner else None,
        format=DATE_FORMAT,
    )
    available_to = d2.date_input(
        "Disponible jusqu'au", value=learner.available_to if learner else None, format=DATE_FORMAT
    )
    notes = st.text_area(
        "Notes d'accompagnement (formateurs uniquement)",
        value=(learner.support_notes or "") if learner else "",
    )
    submitted = st.form_submit_button("Enregistrer")

if submitted:
    values = dict(
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        address=address,
        postcode=postcode,
        city=city,
        project_rome_1=projects[0],
        project_rome_2=projects[1],
        project_rome_3=projects[2],
        project_text=project_text,
        skills=skills,
        mobility=modes,
        max_commute_min=max_commute,
        available_from=available_from,
        available_to=available_to,
        support_notes=notes,
    )
    try:
        with db_session() as session:
            if learner is None:
                saved = create_learner(session, actor, site_id, **values)
            else:
                saved = update_learner(
                    session, actor, learner.id, expected_version=learner.version, **values
                )
            saved_id = saved.id
    except PasserelleError as exc:
        show_error(exc)
    else:
        st.session_state[LEARNER_ID] = saved_id
        st.session_state.pop(PICK, None)  # reselect from learner_id
        st.session_state[SAVED] = True
        st.rerun()
