"""Géocodage: records placed only at commune level or not at all; fix the address or drop a pin."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.labels import ENTITY_FR, GEO_PRECISION_FR
from crm.models import Company
from crm.services.geo import drop_pin, fix_address, worklist
from pages._forms import Form
from pages._ui import db_session, require_actor

# Session-state keys of this page.
FLASH = "geo_message"  # message shown once after the rerun that follows a save

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

message = st.session_state.pop(FLASH, None)
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
            "Type": ENTITY_FR[i.kind],
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
        f"{ENTITY_FR[by_key[k].kind]} — {by_key[k].label} — "
        f"{by_key[k].city or by_key[k].postcode or 'ville inconnue'} "
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
        f = Form(f"geo_address_{choice}")
        with f:
            # Address columns are the same for companies and learners (crm.models.Located).
            address = f.text_input(
                "Adresse", "address", value=item.address or "", column=Company.address
            )
            postcode = f.text_input(
                "Code postal", "postcode", value=item.postcode or "", column=Company.postcode
            )
            city = f.text_input("Ville", "city", value=item.city or "", column=Company.city)
            submitted = st.form_submit_button("Corriger et géocoder")
        if submitted:

            def fixed(loc) -> None:
                st.session_state[FLASH] = (
                    "Adresse enregistrée — position : "
                    f"{GEO_PRECISION_FR.get(loc.precision, loc.precision)}."
                )

            f.submit(
                lambda session: fix_address(
                    session,
                    actor,
                    item.kind,
                    item.id,
                    address=address,
                    postcode=postcode,
                    city=city,
                ),
                on_success=fixed,
            )
    else:
        st.info(
            "Une offre est placée à l'adresse de son entreprise : corrigez l'entreprise, ou placez un repère."
        )
with right:
    st.subheader("Placer un repère")
    f = Form(f"geo_pin_{choice}")
    with f:
        lat = f.text_input("Latitude", "latitude", placeholder="43.1242", max_chars=20)
        lon = f.text_input("Longitude", "longitude", placeholder="5.9280", max_chars=20)
        pinned = st.form_submit_button("Placer le repère")
    if pinned:
        f.submit(
            lambda session: drop_pin(
                session, actor, item.kind, item.id, lat.replace(",", "."), lon.replace(",", ".")
            ),
            on_success=lambda _: st.session_state.update({FLASH: "Repère placé à la main."}),
        )
