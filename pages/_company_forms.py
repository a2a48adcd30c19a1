"""Write forms of the company file (fiche entreprise): edit, contacts, offers, contact log."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from crm.auth import Actor, Perm
from crm.errors import ConcurrentEditError, PasserelleError, ValidationError
from crm.services.companies import FIELD_LABELS_FR, update_company
from crm.services.contacts import create_contact, update_contact
from crm.services.interactions import log_interaction
from crm.services.offers import close_offer, create_offer, pause_offer, reopen_offer
from pages._ui import INTERACTION_KIND_FR, PARTNER_STATUS_FR, db_session, show_error

EDIT_FIELDS = [
    ("name", "Raison sociale"),
    ("siret", "SIRET"),
    ("naf", "Code NAF"),
    ("sector", "Secteur"),
    ("address", "Adresse"),
    ("postcode", "Code postal"),
    ("city", "Ville"),
    ("phone", "Téléphone"),
    ("email", "Courriel"),
    ("website", "Site web"),
]


def _save(action, flash: str) -> None:
    """One save in its own unit of work: on success flash and rerun, else the French error."""
    try:
        with db_session() as session:
            action(session)
    except PasserelleError as exc:
        show_error(exc)
        return
    st.session_state["company_flash"] = flash
    st.rerun()


def _edit_form(actor: Actor, c: dict) -> None:
    cid = c["id"]
    version_key = f"edit_version_{cid}"
    errors_key = f"edit_errors_{cid}"
    # The version the user started editing from: a save by someone else meanwhile is refused.
    st.session_state.setdefault(version_key, c["version"])
    errors: dict[str, str] = st.session_state.get(errors_key, {})
    with st.form(f"edit_company_{cid}"):
        values = {}
        for key, label in EDIT_FIELDS:
            values[key] = st.text_input(label, value=c[key] or "", key=f"edit_{key}_{cid}")
            msg = errors.get(FIELD_LABELS_FR[key])
            if msg:
                st.error(msg)
        statuses = list(PARTNER_STATUS_FR)
        values["status"] = st.selectbox(
            "Statut",
            statuses,
            index=statuses.index(c["status"]),
            format_func=PARTNER_STATUS_FR.get,
            key=f"edit_status_{cid}",
        )
        reason = st.text_input("Motif du changement de statut", key=f"edit_reason_{cid}")
        submitted = st.form_submit_button("Enregistrer les modifications")
    if submitted:
        try:
            with db_session() as session:
                update_company(
                    session,
                    actor,
                    cid,
                    st.session_state[version_key],
                    status_reason=reason or None,
                    **values,
                )
            st.session_state.pop(version_key, None)
            st.session_state.pop(errors_key, None)
            st.session_state["company_flash"] = "Fiche enregistrée."
            st.rerun()
        except ValidationError as exc:
            st.session_state[errors_key] = exc.errors
            st.session_state["company_flash_error"] = exc.errors
            st.rerun()
        except ConcurrentEditError as exc:
            st.session_state.pop(version_key, None)
            st.error(str(exc))
        except PasserelleError as exc:
            show_error(exc)


def _contact_forms(actor: Actor, cid: int, contacts: dict, data: dict) -> None:
    with st.form(f"add_contact_{cid}", clear_on_submit=True):
        a, b = st.columns(2)
        first = a.text_input("Prénom", key=f"ct_first_{cid}")
        last = b.text_input("Nom *", key=f"ct_last_{cid}")
        job = a.text_input("Fonction", key=f"ct_job_{cid}")
        phone = b.text_input("Téléphone", key=f"ct_phone_{cid}")
        email = a.text_input("Courriel", key=f"ct_email_{cid}")
        tutor = b.checkbox("Tuteur", key=f"ct_tutor_{cid}")
        if st.form_submit_button("Ajouter le contact"):
            _save(
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
                "Contact ajouté.",
            )
    if not contacts:
        return
    ct_id = st.selectbox(
        "Modifier le contact", list(contacts), format_func=contacts.get, key=f"ct_pick_{cid}"
    )
    d = data[ct_id]
    with st.form(f"edit_contact_{cid}_{ct_id}"):
        a, b = st.columns(2)
        first = a.text_input("Prénom", value=d["first_name"] or "")
        last = b.text_input("Nom", value=d["last_name"] or "")
        job = a.text_input("Fonction", value=d["job_title"] or "")
        phone = b.text_input("Téléphone", value=d["phone"] or "")
        email = a.text_input("Courriel", value=d["email"] or "")
        tutor = b.checkbox("Tuteur", value=bool(d["is_tutor"]))
        active = b.checkbox("Toujours en poste", value=True)
        if st.form_submit_button("Enregistrer le contact"):
            _save(
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
                "Contact enregistré.",
            )


def _offer_forms(actor: Actor, cid: int, offers: dict) -> None:
    with st.form(f"add_offer_{cid}", clear_on_submit=True):
        a, b = st.columns(2)
        rome = a.text_input("Code ROME *", key=f"of_rome_{cid}", placeholder="D1106")
        title = b.text_input("Intitulé *", key=f"of_title_{cid}")
        skills = st.text_input("Compétences recherchées (séparées par ;)", key=f"of_skills_{cid}")
        seats = a.number_input("Places", min_value=0, max_value=500, value=1, key=f"of_seats_{cid}")
        minors = b.checkbox("Ouvert aux mineurs", value=True, key=f"of_minors_{cid}")
        start = a.date_input("Début", value=None, format="DD/MM/YYYY", key=f"of_start_{cid}")
        end = b.date_input("Fin", value=None, format="DD/MM/YYYY", key=f"of_end_{cid}")
        if st.form_submit_button("Ajouter l'offre"):
            _save(
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
                "Offre ajoutée.",
            )
    if not offers:
        return
    a, b = st.columns(2)
    offer_id = a.selectbox("Offre", list(offers), format_func=offers.get, key=f"of_pick_{cid}")
    until = b.date_input(
        "En pause jusqu'au",
        value=dt.date.today() + dt.timedelta(days=30),
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
        _save(action, "Offre mise à jour.")


def interaction_form(actor: Actor, cid: int, contacts: dict, key: str) -> None:
    """The few-clicks contact log form (also used by the Journal page)."""
    with st.form(f"log_{key}", clear_on_submit=True):
        a, b = st.columns(2)
        kind = a.selectbox(
            "Type",
            list(INTERACTION_KIND_FR),
            format_func=INTERACTION_KIND_FR.get,
            key=f"log_kind_{key}",
        )
        contact = b.selectbox(
            "Contact",
            [None, *contacts],
            format_func=lambda i: "—" if i is None else contacts[i],
            key=f"log_contact_{key}",
        )
        summary = st.text_area("Résumé *", key=f"log_summary_{key}", height=80)
        outcome = st.text_input("Résultat", key=f"log_outcome_{key}")
        a, b = st.columns(2)
        next_action = a.text_input("Prochaine action", key=f"log_next_{key}")
        due = b.date_input("Échéance", value=None, format="DD/MM/YYYY", key=f"log_due_{key}")
        if st.form_submit_button("Enregistrer le contact"):
            _save(
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
                "Contact enregistré dans le journal.",
            )


def render_forms(actor: Actor, c: dict, contacts: dict, contacts_data: dict, offers: dict) -> None:
    flash = st.session_state.pop("company_flash", None)
    if flash:
        st.success(flash)
    flash_errors = st.session_state.pop("company_flash_error", None)
    if flash_errors:
        show_error(ValidationError(flash_errors))
    cid = c["id"]
    can_write = actor.has(Perm.COMPANY_WRITE) and actor.in_scope(c["site_id"])
    if actor.has(Perm.INTERACTION_WRITE) and actor.in_scope(c["site_id"]):
        with st.expander("Noter un contact", expanded=False):
            interaction_form(actor, cid, contacts, f"company_{cid}")
    if not can_write:
        return
    with st.expander(
        "Modifier la fiche", expanded=bool(st.session_state.get(f"edit_errors_{cid}"))
    ):
        _edit_form(actor, c)
    with st.expander("Contacts : ajouter / modifier"):
        _contact_forms(actor, cid, contacts, contacts_data)
    with st.expander("Offres d'accueil : ajouter / mettre en pause"):
        _offer_forms(actor, cid, offers)
