"""Conventions et documents: a placement's convention, attestation and evaluation (PDF),
who signed when, the signed scan; conventions to get signed and evaluations due."""

import base64
import datetime as dt

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.labels import (
    PAPERWORK_KIND_FR,
    PAPERWORK_STATUS_FR,
    PLACEMENT_OBJECTIVE_FR,
    PLACEMENT_STATUS_FR,
    SIGNER_ROLE_FR,
)
from crm.services import paperwork
from crm.services import settings as settings_service
from crm.services.placements import change_status, list_placements
from pages._ui import db_session, fmt_date, require_actor, show_error

# Session-state keys of this page.
FLASH = "paperwork_flash"  # message shown once after the rerun that follows a save

actor = require_actor(Perm.LEARNER_READ)
can_write = actor.has(Perm.PLACEMENT_WRITE)
st.title("Conventions et documents")

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)


def _done(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


with db_session() as session:
    to_sign = paperwork.conventions_to_sign(session, actor)
    due = paperwork.evaluations_due(session, actor)
    delay = (
        paperwork.median_signature_delay(
            session, actor, date_from=dt.date.today() - dt.timedelta(days=365)
        )
        if actor.has(Perm.STATS_READ)
        else None
    )
    rows = [r for r in list_placements(session, actor) if r.status != "cancelled"]

if delay is not None:
    median, count = delay
    st.metric(
        "Délai médian réservation → convention signée (12 mois)",
        "—" if median is None else f"{median:.1f} j".replace(".", ","),
        help=f"Sur {count} convention(s) signée(s) dont la période a été réservée ces 12 derniers mois.",
    )

col_sign, col_eval = st.columns(2)
with col_sign:
    st.subheader(f"Conventions à faire signer ({len(to_sign)})")
    if to_sign:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Début": fmt_date(i.start_date),
                        "Stagiaire": i.learner_name,
                        "Entreprise": i.company,
                        "Convention": PAPERWORK_STATUS_FR[i.paperwork_status],
                    }
                    for i in to_sign
                ]
            ),
            hide_index=True,
            width="stretch",
            key="paperwork_to_sign",
        )
    else:
        st.caption("Aucune convention en attente.")
with col_eval:
    st.subheader(f"Évaluations attendues ({len(due)})")
    if due:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Fin": fmt_date(i.end_date),
                        "Stagiaire": i.learner_name,
                        "Entreprise": i.company,
                        "Période": PLACEMENT_STATUS_FR.get(i.placement_status, ""),
                    }
                    for i in due
                ]
            ),
            hide_index=True,
            width="stretch",
            key="paperwork_due",
        )
    else:
        st.caption("Aucune évaluation en attente.")

st.divider()
by_id = {r.id: r for r in rows}
worklist_ids = [i.placement_id for i in to_sign] + [i.placement_id for i in due]
order = list(dict.fromkeys([i for i in worklist_ids if i in by_id] + list(by_id)))
pid = st.selectbox(
    "Période",
    options=order,
    index=None,
    format_func=lambda i: (
        f"{by_id[i].learner_name} — {by_id[i].company} "
        f"({fmt_date(by_id[i].start_date)} → {fmt_date(by_id[i].end_date)})"
    ),
    placeholder="Choisissez une période",
    key="paperwork_pick",
)
if pid is None:
    st.stop()
p = by_id[pid]

try:
    with db_session() as session:
        view = paperwork.get_paperwork(session, actor, pid)
except PasserelleError as exc:
    show_error(exc)
    st.stop()

st.subheader(f"{p.learner_name} chez {p.company}")
st.markdown(
    f"Période **{PLACEMENT_STATUS_FR.get(p.status, p.status)}** du {fmt_date(p.start_date)} "
    f"au {fmt_date(p.end_date)} — convention **{view.status_label}**"
    + (" — stagiaire **mineur(e)** au début de la période" if view.minor else "")
)

st.markdown("**Signatures**")
st.dataframe(
    pd.DataFrame(
        [
            {
                "Signataire": s.label,
                "Signé le": fmt_date(s.signed_on) if s.signed_on else "—",
                "Nom": s.signer_name or "",
            }
            for s in view.signatures
        ]
    ),
    hide_index=True,
    width="stretch",
    key=f"paperwork_signatures_{pid}",
)

st.markdown("**Documents**")
kinds = [view.kind, "attestation", "evaluation"]
cols = st.columns(len(kinds))
for col, kind in zip(cols, kinds, strict=True):
    with col:
        missing = view.missing[kind]
        if missing:
            st.button(PAPERWORK_KIND_FR[kind], disabled=True, key=f"pdf_{kind}_{pid}_off")
            st.caption("À compléter : " + ", ".join(missing) + ".")
            continue

        def _pdf(kind=kind) -> bytes:
            with db_session() as s:
                return paperwork.generate(s, actor, pid, kind)

        st.download_button(
            f"Télécharger : {PAPERWORK_KIND_FR[kind]}",
            data=_pdf,
            file_name=f"{kind}-{view.placement_ref or pid}.pdf",
            mime="application/pdf",
            on_click="ignore",
            key=f"pdf_{kind}_{pid}",
        )

if view.scans:
    st.markdown("**Conventions signées scannées**")
    for scan in view.scans:

        def _scan(scan_id=scan.id) -> bytes:
            with db_session() as s:
                return paperwork.get_scan(s, actor, scan_id)[1]

        st.download_button(
            f"{scan.filename} ({scan.size / 1024:.0f} Ko, déposé le {fmt_date(scan.uploaded_at)})",
            data=_scan,
            file_name=scan.filename,
            mime="application/pdf",
            on_click="ignore",
            key=f"scan_{scan.id}",
        )

if not can_write:
    st.stop()

facts = view.facts
with (
    st.expander("Renseigner la convention", expanded=view.status == "to_prepare"),
    st.form(f"paperwork_facts_{pid}"),
):
    objectives = ["", *PLACEMENT_OBJECTIVE_FR]
    objective = st.selectbox(
        "Objectif de la période",
        options=objectives,
        index=objectives.index(facts["objective"] or ""),
        format_func=lambda o: "—" if o == "" else PLACEMENT_OBJECTIVE_FR[o],
    )
    c1, c2, c3 = st.columns(3)
    daily_hours = c1.text_input(
        "Horaires journaliers",
        value=facts["daily_hours"] or "",
        placeholder="9h00-12h30 et 13h30-17h00",
    )
    weekly_hours = c2.number_input(
        "Durée hebdomadaire (heures)",
        min_value=0.0,
        max_value=48.0,
        step=0.5,
        value=float(facts["weekly_hours"] or 0.0),
    )
    weekly_schedule = c3.text_input(
        "Jours travaillés",
        value=facts["weekly_schedule"] or "",
        placeholder="du lundi au vendredi",
    )
    workplace = st.text_input(
        "Lieu d'exécution (si différent de l'adresse de l'entreprise)",
        value=facts["workplace"] or "",
    )
    activities = st.text_area("Activités confiées", value=facts["activities"] or "")
    risks = st.text_area(
        "Risques du poste", value=facts["risks"] or "", placeholder="Aucun risque particulier"
    )
    equipment = st.text_input(
        "Équipements de protection", value=facts["protective_equipment"] or ""
    )
    values = {
        "objective": objective or None,
        "daily_hours": daily_hours,
        "weekly_hours": weekly_hours or None,
        "weekly_schedule": weekly_schedule,
        "workplace": workplace,
        "activities": activities,
        "risks": risks,
        "protective_equipment": equipment,
    }
    if view.minor:
        st.markdown("Représentant légal (stagiaire mineur)")
        r1, r2 = st.columns(2)
        values["legal_rep_name"] = r1.text_input(
            "Nom et prénom", value=facts["legal_rep_name"] or ""
        )
        values["legal_rep_phone"] = r2.text_input("Téléphone", value=facts["legal_rep_phone"] or "")
        values["legal_rep_address"] = st.text_input(
            "Adresse du représentant légal", value=facts["legal_rep_address"] or ""
        )
    hours_done = st.number_input(
        "Heures effectuées (attestation)",
        min_value=0.0,
        max_value=2000.0,
        step=1.0,
        value=float(facts["hours_done"] or 0.0),
    )
    values["hours_done"] = hours_done or None
    if view.status == "signed":
        # The terms of a signed convention no longer change: only the hours done.
        values = {"hours_done": values["hours_done"]}
    if st.form_submit_button("Enregistrer"):
        try:
            with db_session() as session:
                paperwork.save_facts(session, actor, pid, values, expected_version=view.version)
        except PasserelleError as exc:
            show_error(exc)
        else:
            _done("Convention enregistrée.")

unsigned = [s for s in view.signatures if s.required and s.signed_on is None]
if view.status != "to_prepare" and unsigned:
    with st.form(f"paperwork_sign_{pid}"):
        st.markdown("**Enregistrer une signature**")
        s1, s2, s3 = st.columns(3)
        role = s1.selectbox(
            "Signataire",
            options=[s.role for s in unsigned],
            format_func=SIGNER_ROLE_FR.get,
        )
        signed_on = s2.date_input("Signé le", value=dt.date.today(), format="DD/MM/YYYY")
        signer = s3.text_input("Nom du signataire (facultatif)")
        if st.form_submit_button("Enregistrer la signature"):
            try:
                with db_session() as session:
                    status = paperwork.record_signature(
                        session, actor, pid, role, signed_on, signer_name=signer
                    )
            except PasserelleError as exc:
                show_error(exc)
            else:
                _done(f"Signature enregistrée : convention {PAPERWORK_STATUS_FR[status]}.")

with st.form(f"paperwork_scan_{pid}", clear_on_submit=True):
    st.markdown("**Déposer la convention signée (scan PDF)**")
    upload = st.file_uploader("Scan PDF", type=["pdf"], key=f"scan_upload_{pid}")
    if st.form_submit_button("Déposer le scan"):
        if upload is None:
            st.warning("Choisissez d'abord un fichier PDF.")
        else:
            try:
                with db_session() as session:
                    paperwork.upload_scan(session, actor, pid, upload.name, upload.getvalue())
            except PasserelleError as exc:
                show_error(exc)
            else:
                _done("Scan de la convention enregistré.")

if actor.is_admin and p.status == "confirmed" and view.status != "signed":
    with (
        st.expander("Démarrer sans convention signée (administrateur)"),
        st.form(f"paperwork_override_{pid}"),
    ):
        reason = st.text_input(
            "Motif (enregistré dans le journal d'audit ; pas de donnée personnelle)"
        )
        if st.form_submit_button("Passer la période « en cours »"):
            try:
                with db_session() as session:
                    change_status(
                        session,
                        actor,
                        pid,
                        "in_progress",
                        expected_version=p.version,
                        override_reason=reason,
                    )
            except PasserelleError as exc:
                show_error(exc)
            else:
                _done("Période passée « en cours » sans convention signée (audité).")

if actor.has(Perm.SETTINGS_ADMIN):
    with st.expander("Nom et logo de l'école sur les documents (administrateur)"):
        with db_session() as session:
            school = settings_service.get_setting(session, settings_service.SCHOOL_NAME)
        with st.form("paperwork_school"):
            name = st.text_input("Nom de l'école", value=school)
            logo = st.file_uploader(
                "Logo (PNG ou JPEG, 512 Ko au plus)", type=["png", "jpg", "jpeg"]
            )
            remove = st.checkbox("Retirer le logo")
            if st.form_submit_button("Enregistrer"):
                try:
                    with db_session() as session:
                        settings_service.set_setting(
                            session, actor, settings_service.SCHOOL_NAME, name
                        )
                        if remove:
                            settings_service.set_setting(
                                session, actor, settings_service.SCHOOL_LOGO, ""
                            )
                        elif logo is not None:
                            settings_service.set_setting(
                                session,
                                actor,
                                settings_service.SCHOOL_LOGO,
                                base64.b64encode(logo.getvalue()).decode("ascii"),
                            )
                except PasserelleError as exc:
                    show_error(exc)
                else:
                    _done("Identité de l'école enregistrée.")
