"""Entreprises: searchable, filterable list of partner and prospect companies; new company form."""

import datetime as dt

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.labels import PARTNER_STATUS_FR
from crm.models import Company
from crm.services.companies import (
    CompanySearch,
    LikelyDuplicateError,
    create_company_unless_duplicate,
    filter_companies,
    list_companies,
    list_sites,
)
from crm.services.geo import company_locations
from pages._format import clean_rows
from pages._forms import (
    Form,
    company_link,
    max_len,
    md_escape,
    open_company,
    remember,
    selected_row,
)
from pages._maps import company_map
from pages._state import COMPANY_ID
from pages._ui import db_session, require_actor

# Session-state keys of this page.
INDEX = "_company_index"  # fuzzy-search index of the listed companies
INDEX_SIG = "_company_index_sig"  # what the index was built from (rebuilt when the list changes)

FILTER_KEYS = (
    "company_search",
    "company_status",
    "company_sites",
    "company_sectors",
    "company_owners",
    "company_months",
    "company_free",
    "company_dormant",
    "company_sort",
    "company_desc",
)

actor = require_actor(Perm.COMPANY_READ)
st.title("Entreprises")

with db_session() as session:
    rows = list_companies(session, actor)
    sites = {s.id: s.name for s in list_sites(session)}


# One prepared search index per list (folded strings computed once).
sig = hash(tuple((r.id, r.version, r.contact_names) for r in rows))
if st.session_state.get(INDEX_SIG) != sig:
    st.session_state[INDEX] = CompanySearch(rows)
    st.session_state[INDEX_SIG] = sig
index: CompanySearch = st.session_state[INDEX]
index.rows = rows


def _new_company_form() -> None:
    """New company, at the top of the list (kept values and errors under fields if refused)."""
    f = Form("new_company")
    my_sites = {k: v for k, v in sites.items() if actor.in_scope(k)}
    with f:
        name = f.text_input("Raison sociale *", "name", column=Company.name)
        a, b = st.columns(2)
        with a:
            # Room for the usual spaced form "362 521 879 00034" (stored without spaces).
            siret = f.text_input(
                "SIRET", "siret", max_chars=max_len(Company.siret) + 3, placeholder="14 chiffres"
            )
        with b:
            naf = f.text_input("Code NAF", "naf", column=Company.naf, placeholder="47.11F")
        with a:
            sector = f.text_input("Secteur", "sector", column=Company.sector)
        with b:
            site_id = f.selectbox(
                "Site", "site_id", list(my_sites), format_func=my_sites.get, placeholder="Choisir…"
            )
        address = f.text_input("Adresse", "address", column=Company.address)
        a, b = st.columns(2)
        with a:
            postcode = f.text_input("Code postal", "postcode", column=Company.postcode)
            phone = f.text_input("Téléphone", "phone", column=Company.phone)
            website = f.text_input("Site web", "website", column=Company.website)
        with b:
            city = f.text_input("Ville", "city", column=Company.city)
            email = f.text_input("Courriel", "email", column=Company.email)
            status = f.selectbox(
                "Statut", "status", list(PARTNER_STATUS_FR), format_func=PARTNER_STATUS_FR.get
            )
        confirm = f.checkbox("Ce n'est pas un doublon : créer quand même", "confirm_duplicate")
        submitted = st.form_submit_button("Créer l'entreprise")
    if not submitted:
        return
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

    def create(session):
        # Errors under the fields first; then, unless confirmed, a likely duplicate is
        # refused (nothing saved) and listed in a warning.
        return create_company_unless_duplicate(session, actor, confirmed=confirm, **fields).id

    try:
        f.submit(
            create,
            success=f"Entreprise « {name.strip()} » créée.",
            on_success=lambda new_id: st.session_state.update({COMPANY_ID: new_id}),
            raises=(LikelyDuplicateError,),
        )
    except LikelyDuplicateError as exc:
        f.clear_errors()
        st.warning(
            "Cette entreprise ressemble à une fiche existante. Vérifiez, puis cochez "
            "« Ce n'est pas un doublon » pour la créer quand même."
        )
        for d in exc.duplicates:
            st.markdown(f"- **{md_escape(d.name)}** ({d.score:.0%}) : {', '.join(d.evidence)}")


if actor.has(Perm.COMPANY_WRITE):
    if Form("new_company").has_flash() and st.session_state.get(COMPANY_ID):
        Form("new_company").show_flash()
        company_link(st.session_state[COMPANY_ID], "Ouvrir la fiche créée")
    with st.expander(
        "Nouvelle entreprise",
        expanded=bool(Form("new_company").errors),
    ):
        _new_company_form()

remember(*FILTER_KEYS)
sector_options = sorted({r.sector for r in rows if r.sector})
owners = {r.owner_id: r.owner for r in rows if r.owner_id}
for _key, _options in (("company_sectors", sector_options), ("company_owners", owners)):
    if _key in st.session_state:  # a remembered choice that no longer exists is dropped
        st.session_state[_key] = [x for x in st.session_state[_key] if x in _options]

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
    options=sector_options,
    key="company_sectors",
    placeholder="Tous",
)
c4, c5, c6, c7 = st.columns(4)
owner_ids = c4.multiselect(
    "Chargé(e)",
    options=list(owners),
    format_func=owners.get,
    key="company_owners",
    placeholder="Tous",
)
months = c5.number_input(
    "Sans contact depuis (mois, 0 = tous)", min_value=0, max_value=60, step=1, key="company_months"
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
    clean_rows(
        {
            "id": r.id,
            "Entreprise": r.name,
            "Ville": r.city,
            "SIRET": r.siret,
            "Secteur": r.sector,
            "Statut": PARTNER_STATUS_FR.get(r.status, r.status)
            + (" (en sommeil)" if r.dormant else ""),
            "Site": r.site,
            "Chargé(e)": r.owner,
            "Dernier contact": r.last_contact,
            "Places offertes": r.seats_offered,
            "Places libres": r.seats_free,
        }
        for r in rows
    ),
    columns=[
        "id",
        "Entreprise",
        "Ville",
        "SIRET",
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
    row = selected_row(event)
    if row is not None:
        open_company(int(df["id"].iloc[row]))
    st.caption("Cliquez sur une ligne pour ouvrir la fiche de l'entreprise.")

st.subheader("Carte")
with db_session() as session:
    placed = company_locations(session, actor, [r.id for r in rows])
company_map(
    [
        {
            "id": r.id,
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
