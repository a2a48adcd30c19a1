"""Import / export: CSV or XLSX files, with a preview and the errors of each row."""

import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.config import get_settings
from crm.errors import PasserelleError
from crm.importer import COLUMNS, KINDS, export_bytes, import_data, read_table
from pages._ui import db_session, require_actor, show_error

KIND_FR = {
    "sites": "Sites",
    "companies": "Entreprises",
    "contacts": "Contacts",
    "offers": "Offres",
    "learners": "Stagiaires",
    "interactions": "Journal de contacts",
    "placements": "Périodes en entreprise",
}

actor = require_actor(Perm.EXPORT)
st.title("Import / export")


def _report(report) -> None:
    (st.success if report.imported else st.info)(report.summary())
    if report.unknown_columns:
        st.warning("Colonnes ignorées : " + ", ".join(report.unknown_columns))
    if report.rejected:
        st.error(f"{len(report.rejected)} ligne(s) rejetée(s) :")
        st.dataframe(
            pd.DataFrame([{"Ligne": e.line, "Motif": e.reason} for e in report.rejected]),
            hide_index=True,
            width="stretch",
            key="import_errors",
        )
    if report.duplicates:
        st.warning("Doublons probables (signalés, jamais fusionnés) :")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Ligne": d.line,
                        "Fiche A": d.name_a,
                        "Fiche B": d.name_b,
                        "Score": f"{d.score:.0%}",
                        "Indices": d.evidence,
                    }
                    for d in report.duplicates
                ]
            ),
            hide_index=True,
            width="stretch",
            key="import_dups",
        )


if actor.has(Perm.IMPORT):
    st.subheader("Importer")
    kind = st.selectbox("Données", KINDS, index=1, format_func=KIND_FR.get, key="import_kind")
    st.caption(
        "Colonnes reconnues : " + ", ".join(COLUMNS[kind]) + " (ou les en-têtes français usuels)."
    )
    upload = st.file_uploader(
        f"Fichier CSV ou XLSX ({get_settings().max_upload_mb} Mo au plus)",
        type=["csv", "xlsx"],
        key="import_file",
    )
    pasted = st.text_area("… ou collez le contenu CSV", key="import_paste", height=120)
    skip = st.checkbox(
        "Importer les lignes valides même si d'autres sont rejetées", key="import_skip"
    )
    data, name = None, ""
    if upload is not None:
        data, name = upload.getvalue(), upload.name
    elif pasted.strip():
        data, name = pasted.encode("utf-8"), "colle.csv"
    if data is not None:
        try:
            preview = read_table(data, name)[:20]
            st.dataframe(
                pd.DataFrame([row for _, row in preview]),
                hide_index=True,
                width="stretch",
                key="import_preview",
            )
        except PasserelleError as exc:
            show_error(exc)
        a, b = st.columns(2)
        check = a.button("Vérifier (essai à blanc)", key="import_check")
        go = b.button("Importer", type="primary", key="import_go")
        if check or go:
            try:
                with db_session() as session:
                    report = import_data(
                        session, actor, kind, data, name, dry_run=check, skip_invalid=skip
                    )
                _report(report)
            except PasserelleError as exc:
                show_error(exc)

st.subheader("Exporter")
ekind = st.selectbox("Données à exporter", KINDS, format_func=KIND_FR.get, key="export_kind")
if st.button("Préparer l'export", key="export_prepare"):
    try:
        with db_session() as session:
            st.session_state["export_files"] = (
                ekind,
                export_bytes(session, actor, ekind, "x.csv"),
                export_bytes(session, actor, ekind, "x.xlsx"),
            )
    except PasserelleError as exc:
        show_error(exc)
files = st.session_state.get("export_files")
if files and files[0] == ekind:
    a, b = st.columns(2)
    a.download_button("Télécharger en CSV", files[1], f"{ekind}.csv", "text/csv", key="dl_csv")
    b.download_button(
        "Télécharger en XLSX",
        files[2],
        f"{ekind}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="dl_xlsx",
    )
