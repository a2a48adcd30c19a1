"""Entreprises: searchable, filterable list of partner and prospect companies; new company form."""

import datetime as dt

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.dedupe import likely_duplicates
from crm.errors import PasserelleError
from crm.geo.service import company_locations
from crm.services.companies import (
    CompanySearch,
    create_company,
    filter_companies,
    list_companies,
    list_sites,
)
from pages._maps import company_map
from pages._ui import PARTNER_STATUS_FR, db_session, fmt_date, require_actor, show_error

actor = require_actor(Perm.COMPANY_READ)
st.title("Entreprises")

with db_session() as session:
    rows = list_companies(session, actor)
    sites = {s.id: s.name for s in list_sites(session)}


# One prepared search index per list (folded strings computed once).
sig = hash(tuple((r.id, r.version, r.contact_names) for r in rows))
if st.session_state.get("_company_index_sig") != sig:
    st.session_state["_company_index"] = CompanySearch(rows)
    st.session_state["_company_index_sig"] = sig
index: CompanySearch = st.session_state["_company_index"]
index.rows = rows

query = st.text_input("Rechercher (nom, SIRET, ville)", key="company_search")
c1, c2, c3 = st.columns(3)
statuses = c1.multiselect(
    "Statut",
    options=list(PARTNER_STATUS_FR),
    format_func=PARTNER_STATUS_FR.get,
    key="company_status",
    placeholder="Tous",
)
site_ids = c2.multiselect(
    "Site", options=list(sites), format_func=sites.get, key="company_sites", placeholder="Tous"
)
sectors = c3.multiselect(
    "Secteur",
    options=sorted({r.sector for r in rows if r.sector}),
    key="company_sectors",
    placeholder="Tous",
)
c4, c5, c6, c7 = st.columns(4)
owners = {r.owner_id: r.owner for r in rows if r.owner_id}
owner_ids = c4.multiselect(
    "Chargé(e)",
    options=list(owners),
    format_func=owners.get,
    key="company_owners",
    placeholder="Tous",
)
months = c5.number_input(
    "Sans contact depuis (mois, 0 = tous)", min_value=0, max_value=60, value=0, key="company_months"
)
free_only = c6.checkbox("Places libres", key="company_free")
dormant_only = c7.checkbox("Partenaires en sommeil", key="company_dormant")

if query:
    rows = index.search(query)
rows = filter_companies(
    rows,
    site_ids=site_ids or None,
    statuses=statuses or None,
    sectors=sectors or None,
    owner_ids=owner_ids or None,
    no_contact_months=int(months) or None,
    has_free_seats=free_only,
    dormant_only=dormant_only,
    today=dt.date.today(),
)

SORTS = {
    "Pertinence / nom": None,
    "Entreprise": lambda r: r.name.casefold(),
    "Ville": lambda r: (r.city or "").casefold(),
    "Dernier contact": lambda r: r.last_contact or dt.datetime.min,
    "Places libres": lambda r: r.seats_free,
    "Statut": lambda r: r.status,
}
s1, s2 = st.columns([3, 1])
sort_by = s1.selectbox("Trier par", list(SORTS), key="company_sort")
descending = s2.checkbox("Décroissant", key="company_desc")
if SORTS[sort_by] is not None:
    rows = sorted(rows, key=SORTS[sort_by], reverse=descending)

df = pd.DataFrame(
    [
        {
            "id": r.id,
            "Entreprise": r.name,
            "Ville": r.city,
            "Secteur": r.sector,
            "Statut": PARTNER_STATUS_FR.get(r.status, r.status)
            + (" (en sommeil)" if r.dormant else ""),
            "Site": r.site,
            "Chargé(e)": r.owner,
            "Dernier contact": fmt_date(r.last_contact),
            "Places offertes": r.seats_offered,
            "Places libres": r.seats_free,
        }
        for r in rows
    ],
    columns=[
        "id",
        "Entreprise",
        "Ville",
        "Secteur",
        "Statut",
        "Site",
        "Chargé(e)",
        "Dernier contact",
        "Places offertes",
        "Places libres",
    ],
)
st.caption(f"{len(df)} entreprise(s)")
if df.empty:
    st.info("Aucune entreprise ne correspond.")
else:
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

if actor.has(Perm.COMPANY_WRITE):
    st.subheader("Nouvelle entreprise")
    my_sites = {k: v for k, v in sites.items() if actor.in_scope(k)}
    with st.form("new_company", clear_on_submit=False):
        name = st.text_input("Raison sociale *", key="new_name")
        a, b = st.columns(2)
        siret = a.text_input("SIRET", key="new_siret")
        naf = b.text_input("Code NAF", key="new_naf", placeholder="47.11F")
        sector = a.text_input("Secteur", key="new_sector")
        site_id = b.selectbox(
            "Site", options=list(my_sites), format_func=my_sites.get, key="new_site"
        )
        address = st.text_input("Adresse", key="new_address")
        a, b = st.columns(2)
        postcode = a.text_input("Code postal", key="new_postcode")
        city = b.text_input("Ville", key="new_city")
        phone = a.text_input("Téléphone", key="new_phone")
        email = b.text_input("Courriel", key="new_email")
        website = a.text_input("Site web", key="new_website")
        status = b.selectbox(
            "Statut", list(PARTNER_STATUS_FR), format_func=PARTNER_STATUS_FR.get, key="new_status"
        )
        confirm = st.checkbox(
            "Ce n'est pas un doublon : créer quand même", key="new_confirm_duplicate"
        )
        submitted = st.form_submit_button("Créer l'entreprise")
    if submitted:
        fields = dict(
            name=name,
            siret=siret,
            naf=naf,
            sector=sector,
            site_id=site_id,
            address=address,
            postcode=postcode,
            city=city,
            phone=phone,
            email=email,
            website=website,
            status=status,
        )
        try:
            with db_session() as session:
                dups = [] if confirm else likely_duplicates(session, fields)
                if dups:
                    st.warning(
                        "Cette entreprise ressemble à une fiche existante. Vérifiez, puis cochez "
                        "« Ce n'est pas un doublon » pour la créer quand même."
                    )
                    for d in dups:
                        st.markdown(f"- **{d.name}** ({d.score:.0%}) : {', '.join(d.evidence)}")
                else:
                    company = create_company(session, actor, **fields)
                    new_id = company.id
            if not dups:
                st.success(f"Entreprise « {name.strip()} » créée.")
                st.session_state["company_id"] = new_id
        except PasserelleError as exc:
            show_error(exc)
