"""Write forms of the company file (fiche entreprise): edit, contacts, offers, contact log.

Every form keeps what was typed when the service refuses it, with the French message under
the field (pages/_forms.py); widgets are bounded like the columns and the service rules.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from crm.auth import Actor, Perm
from crm.errors import PasserelleError
from crm.labels import COMPANY_FIELD_FR, INTERACTION_KIND_FR, PARTNER_STATUS_FR
from crm.models import Company, CompanyStatusChange, Contact, Interaction, Offer
from crm.services.companies import TEXT_FIELDS, update_company
from crm.services.contacts import create_contact, update_contact
from crm.services.interactions import log_interaction
from crm.services.offers import (
    SEATS_MAX,
    SEATS_MIN,
    close_offer,
    create_offer,
    pause_offer,
    reopen_offer,
)
from pages._forms import Form, max_len
from pages._state import COMPANY_FLASH
from pages._ui import db_session, show_error

# (field, French label, column, extra characters allowed while typing: a SIRET's spaces)
EDIT_FIELDS = [
    (f, COMPANY_FIELD_FR[f], getattr(Company, f), 3 if f == "siret" else 0) for f in TEXT_FIELDS
]


def _flash(message: str) -> None:
    st.session_state[COMPANY_FLASH] = message


def _edit_form(actor: Actor, c: dict) -> None:
    cid = c["id"]
    version_key = f"edit_version_{cid}"
    # The version the user started editing from: a save by someone else meanwhile is refused.
    st.session_state.setdefault(version_key, c["version"])
    f = Form(f"edit_company_{cid}")
    with f:
        values = {}
        for key, label, column, extra in EDIT_FIELDS:
            values[key] = f.text_input(
                label, key, value=c[key] or "", max_chars=max_len(column) + extra
            )
        statuses = list(PARTNER_STATUS_FR)
        values["status"] = f.selectbox(
            "Statut",
            "status",
            statuses,
            index=statuses.index(c["status"]),
            format_func=PARTNER_STATUS_FR.get,
        )
        reason = f.text_input(
            "Motif du changement de statut", "reason", column=CompanyStatusChange.reason
        )
        submitted = st.form_submit_button("Enregistrer les modifications")
    if submitted:

        def saved(_company) -> None:
            st.session_state.pop(version_key, None)
            _flash("Fiche enregistrée.")

        f.submit(
            lambda session: update_company(
                session,
                actor,
                cid,
                st.session_state[version_key],
                status_reason=reason or None,
                **values,
            ),
            on_success=saved,
        )
        # Reached only when refused for another reason (e.g. saved by someone else meanwhile).
        st.session_state.pop(version_key, None)


def _contact_forms(actor: Actor, cid: int, contacts: dict, data: dict) -> None:
    st.markdown("**Ajouter un contact**")
    f = Form(f"add_contact_{cid}")
    with f:
        a, b = st.columns(2)
        with a:
            first = f.text_input("Prénom", "first_name", column=Contact.first_name)
            job = f.text_input("Fonction", "job_title", column=Contact.job_title)
            email = f.text_input("Courriel", "email", column=Contact.email)
        with b:
            last = f.text_input("Nom *", "last_name", column=Contact.last_name)
            phone = f.text_input("Téléphone", "phone", column=Contact.phone)
            tutor = f.checkbox("Tuteur", "is_tutor")
        submitted = st.form_submit_button("Ajouter le contact")
    if submitted:
        f.submit(
            lambda session: create_contact(
                session,
                actor,
                cid,
                first_name=first,
                last_name=last,
                job_title=job,
                phone=phone,
                email=email,
                is_tutor=tutor,
            ),
            on_success=lambda _: _flash("Contact ajouté."),
        )
    if not contacts:
        return
    st.markdown("**Modifier un contact**")
    ct_id = st.selectbox(
        "Contact à modifier", list(contacts), format_func=contacts.get, key=f"ct_pick_{cid}"
    )
    d = data[ct_id]
    f = Form(f"edit_contact_{cid}_{ct_id}")
    with f:
        a, b = st.columns(2)
        with a:
            first = f.text_input(
                "Prénom", "first_name", value=d["first_name"] or "", column=Contact.first_name
            )
            job = f.text_input(
                "Fonction", "job_title", value=d["job_title"] or "", column=Contact.job_title
            )
            email = f.text_input("Courriel", "email", value=d["email"] or "", column=Contact.email)
        with b:
            last = f.text_input(
                "Nom *", "last_name", value=d["last_name"] or "", column=Contact.last_name
            )
            phone = f.text_input("Téléphone", "phone", value=d["phone"] or "", column=Contact.phone)
            tutor = f.checkbox("Tuteur", "is_tutor", value=bool(d["is_tutor"]))
            active = f.checkbox("Toujours en poste", "is_active", value=True, errors=("Actif",))
        submitted = st.form_submit_button("Enregistrer le contact")
    if submitted:
        f.submit(
            lambda session: update_contact(
                session,
                actor,
                ct_id,
                first_name=first,
                last_name=last,
                job_title=job,
                phone=phone,
                email=email,
                is_tutor=tutor,
                is_active=active,
            ),
            on_success=lambda _: _flash("Contact enregistré."),
        )


def _offer_forms(actor: Actor, cid: int, offers: dict) -> None:
    st.markdown("**Ajouter une offre**")
    f = Form(f"add_offer_{cid}")
    with f:
        a, b = st.columns(2)
        with a:
            rome = f.text_input(
                "Code ROME *", "rome_code", column=Offer.rome_code, placeholder="D1106"
            )
        with b:
            title = f.text_input("Intitulé *", "title", column=Offer.title)
        skills = f.text_input(
            "Compétences recherchées (séparées par ;)", "skills", errors=("Compétences",)
        )
        a, b = st.columns(2)
        with a:
            # The bounds are in the label and enforced by the service, whose French message
            # shows under the field: Streamlit's own min/max would only show an English
            # tooltip and silently ignore the click.
            seats = f.number_input(
                f"Places * ({SEATS_MIN} à {SEATS_MAX})", "seats", value=SEATS_MIN, step=1
            )
            start = f.date_input("Début", "start_date", value=None)
        with b:
            minors = f.checkbox("Ouvert aux mineurs", "open_to_minors", value=True)
            end = f.date_input("Fin", "end_date", value=None)
        submitted = st.form_submit_button("Ajouter l'offre")
    if submitted:
        f.submit(
            lambda session: create_offer(
                session,
                actor,
                cid,
                rome_code=rome,
                title=title,
                skills=skills,
                seats=int(seats),
                open_to_minors=minors,
                start_date=start,
                end_date=end,
            ),
            on_success=lambda _: _flash("Offre ajoutée."),
        )
    if not offers:
        return
    st.markdown("**Mettre en pause, rouvrir ou fermer une offre**")
    a, b = st.columns(2)
    offer_id = a.selectbox("Offre", list(offers), format_func=offers.get, key=f"of_pick_{cid}")
    until = b.date_input(
        "En pause jusqu'au",
        value=dt.date.today() + dt.timedelta(days=30),
        min_value=dt.date.today(),
        format="DD/MM/YYYY",
        key=f"of_until_{cid}",
    )
    x, y, z = st.columns(3)
    action = None
    if x.button("Mettre en pause", key=f"of_pause_{cid}"):
        action = lambda s: pause_offer(s, actor, offer_id, until)  # noqa: E731
    if y.button("Rouvrir", key=f"of_reopen_{cid}"):
        action = lambda s: reopen_offer(s, actor, offer_id)  # noqa: E731
    if z.button("Fermer l'offre", key=f"of_close_{cid}"):
        action = lambda s: close_offer(s, actor, offer_id)  # noqa: E731
    if action is not None:
        try:
            with db_session() as session:
                action(session)
        except PasserelleError as exc:
            show_error(exc)
        else:
            _flash("Offre mise à jour.")
            st.rerun()


def interaction_form(actor: Actor, cid: int, contacts: dict, key: str) -> None:
    """The few-clicks contact log form (also used by the Journal page)."""
    f = Form(f"log_{key}")
    with f:
        a, b = st.columns(2)
        with a:
            kind = f.selectbox(
                "Type", "kind", list(INTERACTION_KIND_FR), format_func=INTERACTION_KIND_FR.get
            )
        with b:
            contact = f.selectbox(
                "Contact",
                "contact_id",
                [None, *contacts],
                format_func=lambda i: "—" if i is None else contacts[i],
            )
        summary = f.text_area("Résumé *", "summary", column=Interaction.summary, height=80)
        outcome = f.text_input("Résultat", "outcome", column=Interaction.outcome)
        a, b = st.columns(2)
        with a:
            next_action = f.text_input(
                "Prochaine action", "next_action", column=Interaction.next_action
            )
        with b:
            due = f.date_input("Échéance", "next_action_due", value=None, min_value=dt.date.today())
        submitted = st.form_submit_button("Enregistrer le contact")
    if submitted:
        f.submit(
            lambda session: log_interaction(
                session,
                actor,
                cid,
                kind=kind,
                summary=summary,
                contact_id=contact,
                outcome=outcome,
                next_action=next_action,
                next_action_due=due,
            ),
            on_success=lambda _: _flash("Contact enregistré dans le journal."),
        )


def render_forms(actor: Actor, c: dict, contacts: dict, contacts_data: dict, offers: dict) -> None:
    flash = st.session_state.pop(COMPANY_FLASH, None)
    if flash:
        st.success(flash)
    cid = c["id"]
    can_write = actor.has(Perm.COMPANY_WRITE) and actor.in_scope(c["site_id"])
    if actor.has(Perm.INTERACTION_WRITE) and actor.in_scope(c["site_id"]):
        with st.expander("Noter un contact", expanded=bool(Form(f"log_company_{cid}").errors)):
            interaction_form(actor, cid, contacts, f"company_{cid}")
    if not can_write:
        return
    with st.expander("Modifier la fiche", expanded=bool(Form(f"edit_company_{cid}").errors)):
        _edit_form(actor, c)
    refused_contact = any(
        Form(k.split("::", 1)[1]).errors
        for k in st.session_state
        if str(k).startswith(f"_form_errors::add_contact_{cid}")
        or str(k).startswith(f"_form_errors::edit_contact_{cid}_")
    )
    with st.expander("Contacts : ajouter / modifier", expanded=refused_contact):
        _contact_forms(actor, cid, contacts, contacts_data)
    with st.expander(
        "Offres d'accueil : ajouter / mettre en pause",
        expanded=bool(Form(f"add_offer_{cid}").errors),
    ):
        _offer_forms(actor, cid, offers)
