"""Journal de contacts: log a call/visit/e-mail/meeting/event in a few clicks; latest contacts."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.labels import INTERACTION_KIND_FR
from crm.services.companies import get_company, list_companies
from crm.services.interactions import journal
from pages._company_forms import interaction_form
from pages._format import clean_rows
from pages._forms import company_label, open_company, selected_row
from pages._state import COMPANY_FLASH
from pages._ui import db_session, require_actor

actor = require_actor(Perm.COMPANY_READ)
st.title("Journal de contacts")

flash = st.session_state.pop(COMPANY_FLASH, None)
if flash:
    st.success(flash)

with db_session() as session:
    companies = {
        r.id: company_label(r.name, r.city, r.siret)
        for r in list_companies(session, actor)
        if actor.in_scope(r.site_id)
    }

if actor.has(Perm.INTERACTION_WRITE):
    st.subheader("Noter un contact")
    cid = st.selectbox(
        "Entreprise",
        list(companies),
        index=None,
        format_func=companies.get,
        placeholder="Tapez pour chercher une entreprise (nom, ville ou SIRET)",
        key="journal_company",
    )
    if cid is not None:
        with db_session() as session:
            contacts = {ct.id: ct.full_name for ct in get_company(session, actor, cid).contacts}
        interaction_form(actor, cid, contacts, "journal")

st.subheader("Derniers contacts")
with db_session() as session:
    pairs = journal(session, actor, site_ids=None if actor.is_admin else sorted(actor.site_ids))
    entries = clean_rows(
        {
            "Date": i.occurred_at,
            "Entreprise": name,
            "Type": INTERACTION_KIND_FR.get(i.kind, i.kind),
            "Résumé": i.summary,
            "Résultat": i.outcome,
            "Prochaine action": i.next_action,
            "Échéance": i.next_action_due,
            "Par": i.author.username if i.author else "",
        }
        for i, name in pairs
    )
    company_ids = [i.company_id for i, _ in pairs]
if entries:
    st.caption("Cliquez sur une ligne pour ouvrir la fiche de l'entreprise.")
    event = st.dataframe(
        pd.DataFrame(entries),
        hide_index=True,
        width="stretch",
        key="journal_table",
        on_select="rerun",
        selection_mode="single-row",
    )
    row = selected_row(event)
    if row is not None:
        open_company(company_ids[row])
else:
    st.info("Aucun contact enregistré.")
