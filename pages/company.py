"""Fiche entreprise: identity, contacts, hosting capacity, timeline."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.labels import (
    GEO_PRECISION_FR,
    INTERACTION_KIND_FR,
    OFFER_EFFECTIVE_STATUS_FR,
    PARTNER_STATUS_FR,
    PLACEMENT_STATUS_FR,
)
from crm.services.companies import form_values, get_company, list_companies
from pages._company_forms import render_forms
from pages._format import clean_rows
from pages._forms import company_label, md_escape
from pages._maps import company_file_map
from pages._state import COMPANY_ID
from pages._ui import db_session, require_actor, show_error

# Session-state keys of this page.
LINK_SEEN = "_company_link"  # the record link (?… in the URL) already applied

LINK = "entreprise"  # ?entreprise=ID opens this page on that company (copyable URL)

actor = require_actor(Perm.COMPANY_READ)

with db_session() as session:
    companies = {
        r.id: company_label(r.name, r.city, r.siret) for r in list_companies(session, actor)
    }

# A record link (?entreprise=ID) wins over the last company seen, once per new link.
link = st.query_params.get(LINK)
if link is not None and link != st.session_state.get(LINK_SEEN):
    st.session_state[LINK_SEEN] = link
    if not link.isdigit():
        st.title("Fiche entreprise")
        st.error(f"Lien invalide : « {link[:20]} » n'est pas un numéro d'entreprise.")
        st.stop()
    st.session_state[COMPANY_ID] = int(link)

company_id = st.session_state.get(COMPANY_ID)
if company_id is not None and company_id not in companies:
    # Not in the list (merged, retired, unknown): the service decides, in French.
    try:
        with db_session() as session:
            c = get_company(session, actor, company_id).company
            if c.merged_into_id is not None:
                st.info("Cette fiche a été fusionnée : voici la fiche gardée.")
                company_id = c.merged_into_id
            companies.setdefault(c.id, company_label(c.name, c.city, c.siret))
    except PasserelleError as exc:
        st.title("Fiche entreprise")
        show_error(exc)
        st.session_state.pop(COMPANY_ID, None)
        st.stop()
ids = list(companies)
heading = st.container()  # above the picker: the company's name and status once chosen
company_id = st.selectbox(
    "Entreprise",
    options=ids,
    index=ids.index(company_id) if company_id in companies else None,
    format_func=companies.get,
    placeholder="Choisissez une entreprise (nom, ville ou SIRET)",
)
if company_id is None:
    heading.title("Fiche entreprise")
    st.info("Choisissez une entreprise dans la liste.")
    st.stop()
st.session_state[COMPANY_ID] = company_id
if st.query_params.get(LINK) != str(company_id):  # the URL names the company shown
    st.query_params[LINK] = str(company_id)
    st.session_state[LINK_SEEN] = str(company_id)

try:
    with db_session() as session:
        file = get_company(session, actor, company_id)
        c = file.company
        snapshot = form_values(c)
        contacts_opts = {ct.id: ct.full_name for ct in file.contacts}
        contacts_data = {
            ct.id: {
                "first_name": ct.first_name,
                "last_name": ct.last_name,
                "job_title": ct.job_title,
                "phone": ct.phone,
                "email": ct.email,
                "is_tutor": ct.is_tutor,
            }
            for ct in file.contacts
        }
        offers_opts = {
            u.offer.id: f"{u.offer.rome_code} — {u.offer.title} "
            f"({OFFER_EFFECTIVE_STATUS_FR.get(u.status, u.status)})"
            for u in file.offers
        }
        site_name = c.site.name if c.site else "—"
        map_row = {
            "name": c.name,
            "city": c.city,
            "status": c.status,
            "seats_free": sum(u.free for u in file.offers),
            "latitude": c.latitude,
            "longitude": c.longitude,
            "precision": c.geo_precision,
        }
        owner_name = c.owner.display_name if c.owner else "—"
        placements = [
            {
                "Stagiaire": p.learner_label or "Stagiaire d'un autre site",
                "Du": p.start_date,
                "Au": p.end_date,
                "Métier": p.rome_code,
                "Statut": PLACEMENT_STATUS_FR.get(p.status, p.status),
            }
            for p in file.placements
        ]
except PasserelleError as exc:
    show_error(exc)
    st.stop()

heading.title(md_escape(c.name))
heading.caption(
    f"Statut : **{PARTNER_STATUS_FR.get(c.status, c.status)}** — site {md_escape(site_name)} "
    f"— suivi par {md_escape(owner_name)}"
)
if not actor.in_scope(c.site_id):
    st.info("Fiche d'un autre site : consultation seulement.")

left, right = st.columns([3, 2])
with left:
    st.subheader("Identité")
    st.markdown(
        "\n".join(
            f"- **{label}** : {md_escape(value)}"
            for label, value in [
                ("SIRET", c.siret or "—"),
                ("Code NAF", c.naf or "—"),
                ("Secteur", c.sector or "—"),
                ("Effectif", c.size_band or "—"),
                ("Adresse", " ".join(x for x in (c.address, c.postcode, c.city) if x) or "—"),
                ("Téléphone", c.phone or "—"),
                ("Courriel", c.email or "—"),
                ("Site web", c.website or "—"),
                ("Géocodage", GEO_PRECISION_FR.get(c.geo_precision, c.geo_precision)),
            ]
        )
    )
with right:
    if c.latitude is not None and c.longitude is not None:
        company_file_map({**map_row, "id": c.id, "phone": c.phone}, height=260)
    else:
        st.info("Adresse non géocodée : pas de carte.")

st.subheader("Contacts et tuteurs")
if file.contacts:
    st.dataframe(
        pd.DataFrame(
            clean_rows(
                {
                    "Nom": ct.full_name,
                    "Fonction": ct.job_title,
                    "Téléphone": ct.phone,
                    "Courriel": ct.email,
                    "Tuteur": "oui" if ct.is_tutor else "",
                }
                for ct in file.contacts
            )
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.write("Aucun contact enregistré.")

st.subheader("Capacité d'accueil")
if file.offers:
    st.dataframe(
        pd.DataFrame(
            clean_rows(
                {
                    "Métier": f"{u.offer.rome_code} — {u.offer.title}",
                    "Du": u.offer.start_date,
                    "Au": u.offer.end_date,
                    "Places": u.offer.seats,
                    "Occupées": u.used,
                    "Libres": u.free,
                    "Mineurs": "oui" if u.offer.open_to_minors else "non",
                    "Statut": OFFER_EFFECTIVE_STATUS_FR.get(u.status, u.status),
                }
                for u in file.offers
            )
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.write("Aucune offre d'accueil.")

st.subheader("Historique")
tab_contacts, tab_placements, tab_status = st.tabs(["Contacts", "Périodes en entreprise", "Statut"])
with tab_contacts:
    if file.interactions:
        st.dataframe(
            pd.DataFrame(
                clean_rows(
                    {
                        "Date": i.occurred_at,
                        "Type": INTERACTION_KIND_FR.get(i.kind, i.kind),
                        "Résumé": i.summary,
                        "Résultat": i.outcome,
                        "Prochaine action": i.next_action,
                        "Échéance": i.next_action_due,
                        "Faite": "oui" if i.next_action_done else "",
                    }
                    for i in file.interactions
                )
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.write("Aucun contact enregistré.")
with tab_placements:
    if placements:
        st.dataframe(pd.DataFrame(clean_rows(placements)), hide_index=True, width="stretch")
    else:
        st.write("Aucune période en entreprise.")
with tab_status:
    if file.status_history:
        st.dataframe(
            pd.DataFrame(
                clean_rows(
                    {
                        "Date": h.changed_at,
                        "De": PARTNER_STATUS_FR.get(h.from_status or "", h.from_status),
                        "Vers": PARTNER_STATUS_FR.get(h.to_status, h.to_status),
                        "Motif": h.reason,
                    }
                    for h in file.status_history
                )
            ),
            hide_index=True,
            width="stretch",
        )
    else:
        st.write("Pas de changement de statut enregistré.")

render_forms(actor, snapshot, contacts_opts, contacts_data, offers_opts)
