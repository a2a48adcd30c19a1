"""Géocodage: records placed only at commune level or not at all; fix the address or drop a pin."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.geo.service import KIND_FR, drop_pin, fix_address, worklist
from pages._ui import GEO_PRECISION_FR, db_session, require_actor, show_error

actor = require_actor()
if not (actor.has(Perm.COMPANY_WRITE) or actor.has(Perm.LEARNER_WRITE)):
    st.error("Accès refusé : cette page n'est pas ouverte à votre rôle.")
    st.stop()

st.title("Géocodage")
st.caption(
    "Adresses placées seulement au centre de la commune, ou pas du tout. Corrigez l'adresse "
    "(elle est géocodée aussitôt) ou placez un repère en saisissant latitude et longitude "
    "(un repère placé à la main n'est jamais déplacé par les traitements automatiques)."
)

message = st.session_state.pop("geo_message", None)
if message:
    st.success(message)

with db_session() as session:
    items = worklist(session, actor)

if not items:
    st.success("Tout est géolocalisé à l'adresse ou à la rue.")
    st.stop()

df = pd.DataFrame(
    [
        {
            "Type": KIND_FR[i.kind],
            "Nom": i.label,
            "Adresse": i.address or "",
            "Code postal": i.postcode or "",
            "Ville": i.city or "",
            "Position": GEO_PRECISION_FR.get(i.precision, i.precision),
        }
        for i in items
    ]
)
st.caption(f"{len(items)} enregistrement(s) à vérifier")
st.dataframe(df, hide_index=True, width="stretch", key="geo_table")

by_key = {f"{i.kind}:{i.id}": i for i in items}
choice = st.selectbox(
    "Enregistrement à corriger",
    options=list(by_key),
    format_func=lambda k: (
        f"{KIND_FR[by_key[k].kind]} — {by_key[k].label} "
        f"({GEO_PRECISION_FR.get(by_key[k].precision, by_key[k].precision)})"
    ),
    index=None,
    placeholder="Choisissez un enregistrement",
    key="geo_choice",
)
if choice is None:
    st.stop()
item = by_key[choice]

left, right = st.columns(2)
with left:
    st.subheader("Corriger l'adresse")
    if item.can_edit_address:
        with st.form(f"geo_address_{choice}"):
            address = st.text_input("Adresse", value=item.address or "")
            postcode = st.text_input("Code postal", value=item.postcode or "", max_chars=5)
            city = st.text_input("Ville", value=item.city or "")
            submitted = st.form_submit_button("Corriger et géocoder")
        if submitted:
            try:
                with db_session() as session:
                    loc = fix_address(
                        session,
                        actor,
                        item.kind,
                        item.id,
                        address=address,
                        postcode=postcode,
                        city=city,
                    )
                st.session_state["geo_message"] = (
                    f"Adresse enregistrée — position : {GEO_PRECISION_FR.get(loc.precision, loc.precision)}."
                )
                st.rerun()
            except PasserelleError as exc:
                show_error(exc)
    else:
        st.info(
            "Une offre est placée à l'adresse de son entreprise : corrigez l'entreprise, ou placez un repère."
        )
with right:
    st.subheader("Placer un repère")
    with st.form(f"geo_pin_{choice}"):
        lat = st.text_input("Latitude", placeholder="43.1242")
        lon = st.text_input("Longitude", placeholder="5.9280")
        pinned = st.form_submit_button("Placer le repère")
    if pinned:
        try:
            with db_session() as session:
                drop_pin(
                    session, actor, item.kind, item.id, lat.replace(",", "."), lon.replace(",", ".")
                )
            st.session_state["geo_message"] = "Repère placé à la main."
            st.rerun()
        except PasserelleError as exc:
            show_error(exc)
