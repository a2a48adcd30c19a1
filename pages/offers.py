"""Capacité d'accueil: every open or paused offer with seats used (from placements) and free.

Ended offers (end date past) show as "Terminée" and closed ones as "Fermée"; their seats
are never free (rule in crm.services.offers.effective_status).
"""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.labels import OFFER_EFFECTIVE_STATUS_FR
from crm.services.companies import list_sites
from crm.services.offers import list_offers
from pages._format import clean_rows, fmt_date
from pages._forms import open_company, remember, selected_row
from pages._ui import db_session, require_actor

actor = require_actor(Perm.COMPANY_READ)
st.title("Capacité d'accueil")

remember("offers_sites", "offers_rome", "offers_free", "offers_closed")
a, b, c, d = st.columns(4)
with db_session() as session:
    sites = {s.id: s.name for s in list_sites(session)}
site_ids = a.multiselect(
    "Site", list(sites), format_func=sites.get, key="offers_sites", placeholder="Tous"
)
rome = b.text_input("Code ROME ou métier", key="offers_rome")
free_only = c.checkbox("Places libres seulement", key="offers_free")
closed = d.checkbox("Offres fermées ou terminées", key="offers_closed")

with db_session() as session:
    offers = list_offers(session, actor, include_closed=closed)
if site_ids:
    offers = [o for o in offers if o["site_id"] in site_ids]
if rome:
    q = rome.strip().casefold()
    offers = [
        o
        for o in offers
        if any(q in code.casefold() for code in o["rome_codes"]) or q in o["title"].casefold()
    ]
if free_only:
    offers = [o for o in offers if o["free"] > 0 and o["status"] == "open"]

df = pd.DataFrame(
    clean_rows(
        {
            "Entreprise": o["company"],
            "Métier": " / ".join(o["rome_codes"]) + f" — {o['title']}",
            "Du": o["start_date"],
            "Au": o["end_date"],
            "Places": o["seats"],
            "Occupées": o["used"],
            "Libres": o["free"],
            "Mineurs": "oui" if o["open_to_minors"] else "non",
            "Statut": OFFER_EFFECTIVE_STATUS_FR.get(o["status"], o["status"])
            + (f" jusqu'au {fmt_date(o['paused_until'])}" if o["status"] == "paused" else ""),
        }
        for o in offers
    )
)
st.caption(
    f"{len(df)} offre(s) — {sum(o['seats'] for o in offers)} place(s), "
    f"{sum(o['free'] for o in offers)} libre(s)"
)
if df.empty:
    st.info("Aucune offre ne correspond.")
else:
    st.caption("Cliquez sur une ligne pour ouvrir la fiche de l'entreprise.")
    event = st.dataframe(
        df,
        hide_index=True,
        width="stretch",
        key="offers_table",
        on_select="rerun",
        selection_mode="single-row",
    )
    row = selected_row(event)
    if row is not None:
        open_company(offers[row]["company_id"])
