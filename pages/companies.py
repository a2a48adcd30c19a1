"""Entreprises: the list of partner and prospect companies."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.geo.service import company_locations
from crm.services.companies import list_companies
from pages._maps import company_map
from pages._ui import PARTNER_STATUS_FR, db_session, fmt_date, require_actor

actor = require_actor(Perm.COMPANY_READ)
st.title("Entreprises")

with db_session() as session:
    rows = list_companies(session, actor)

query = st.text_input("Rechercher (nom, SIRET, ville)", key="company_search")
statuses = st.multiselect(
    "Statut",
    options=list(PARTNER_STATUS_FR),
    format_func=PARTNER_STATUS_FR.get,
    key="company_status",
)

if query:
    q = query.casefold()
    rows = [r for r in rows if q in f"{r.name} {r.siret or ''} {r.city or ''}".casefold()]
if statuses:
    rows = [r for r in rows if r.status in statuses]

df = pd.DataFrame(
    [
        {
            "id": r.id,
            "Entreprise": r.name,
            "Ville": r.city,
            "Secteur": r.sector,
            "Statut": PARTNER_STATUS_FR.get(r.status, r.status),
            "Site": r.site,
            "Chargé(e)": r.owner,
            "Dernier contact": fmt_date(r.last_contact),
            "Places offertes": r.seats_offered,
            "Places libres": r.seats_free,
        }
        for r in rows
    ]
)
st.caption(f"{len(df)} entreprise(s)")
if df.empty:
    st.info("Aucune entreprise ne correspond.")
    st.stop()

event = st.dataframe(
    df.drop(columns=["id"]),
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="companies_table",
)
selected = event.selection.rows if event and event.selection else []
choice = st.selectbox(
    "Ouvrir la fiche de",
    options=df["id"].tolist(),
    index=selected[0] if selected else None,
    format_func=dict(zip(df["id"], df["Entreprise"], strict=True)).get,
    placeholder="Choisissez une entreprise",
    key="company_open",
)
if st.button("Ouvrir la fiche", disabled=choice is None, key="open_company"):
    st.session_state["company_id"] = int(choice)
    st.switch_page("pages/company.py")

st.subheader("Carte")
with db_session() as session:
    placed = company_locations(session, actor, [r.id for r in rows])
company_map(
    [
        {
            "name": r.name,
            "city": r.city,
            "status": r.status,
            "seats_free": r.seats_free,
            "latitude": placed[r.id].latitude if r.id in placed else None,
            "longitude": placed[r.id].longitude if r.id in placed else None,
            "precision": placed[r.id].precision if r.id in placed else "none",
        }
        for r in rows
    ],
    key="companies_map",
)
