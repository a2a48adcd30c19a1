"""Doublons: candidate duplicate companies with their evidence, side by side, and merge."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.dedupe import DEFAULT_THRESHOLD
from crm.errors import PasserelleError
from crm.labels import COMPANY_FIELD_FR
from crm.services.merge import duplicate_pairs, merge_companies
from pages._forms import company_label, md_escape
from pages._ui import db_session, require_actor, show_error

# Session-state keys of this page.
FLASH = "dup_flash"  # message shown once after the rerun that follows a save
SURE = "dup_sure"  # the 'I checked, merge' confirmation checkbox


def _label(r: dict) -> str:
    return company_label(r["name"], r.get("city"), r.get("siret"))


actor = require_actor(Perm.COMPANY_MERGE)
st.title("Doublons")

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)

threshold = st.slider(
    "Seuil de ressemblance", 0.6, 1.0, DEFAULT_THRESHOLD, 0.01, key="dup_threshold"
)
with db_session() as session:
    records, pairs = duplicate_pairs(session, actor, threshold)

st.caption(f"{len(pairs)} paire(s) candidate(s)")
if not pairs:
    st.info("Aucun doublon probable à ce seuil.")
    st.stop()

st.dataframe(
    pd.DataFrame(
        [
            {
                "Fiche A": _label(records[p.a]),
                "Fiche B": _label(records[p.b]),
                "Score": f"{p.score:.0%}",
                "Indices": ", ".join(p.evidence),
            }
            for p in pairs
        ]
    ),
    hide_index=True,
    width="stretch",
    key="dup_table",
)
labels = {k: f"{_label(records[p.a])} ↔ {_label(records[p.b])}" for k, p in enumerate(pairs)}
k = st.selectbox("Comparer", list(labels), format_func=labels.get, key="dup_pick")
p = pairs[k]
ra, rb = records[p.a], records[p.b]
COMPARED = ("ref", "name", "siret", "address", "postcode", "city", "phone", "email", "website")
st.table(
    pd.DataFrame(
        {
            "Champ": [COMPANY_FIELD_FR[f] for f in COMPARED],
            "Fiche A": [str(ra.get(f) or "") for f in COMPARED],
            "Fiche B": [str(rb.get(f) or "") for f in COMPARED],
        }
    ).set_index("Champ")
)
st.markdown("**Indices** : " + md_escape(", ".join(p.evidence)))
keep = st.radio(
    "Fiche à garder",
    ["A", "B"],
    format_func=lambda x: f"{x} — {md_escape(_label(ra if x == 'A' else rb))}",
    horizontal=True,
    key="dup_keep",
)
sure = st.checkbox(
    "J'ai vérifié : c'est la même entreprise (contacts, historique, offres et périodes "
    "passent sur la fiche gardée ; l'autre est retirée)",
    key=SURE,
)
if st.button("Fusionner", disabled=not sure, key="dup_merge"):
    keep_id, drop_id = (ra["id"], rb["id"]) if keep == "A" else (rb["id"], ra["id"])
    try:
        with db_session() as session:
            merge_companies(session, actor, keep_id, drop_id)
        st.session_state[FLASH] = "Fiches fusionnées."
        st.session_state.pop(SURE, None)
        st.rerun()
    except PasserelleError as exc:
        show_error(exc)
