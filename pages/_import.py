"""The one CSV/XLSX import form (preview, dry run, rejected rows, likely duplicates).

Used by the Import / export page (every kind) and the Stagiaires page (learners of
the chosen site); both go through crm.services.imports.import_data. The byte limit is
checked before anything is read, the row limit while reading (preview included).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm.auth import Actor
from crm.config import get_settings
from crm.errors import PasserelleError
from crm.services.imports import ImportReport, check_upload_size, import_data, read_rows
from pages._ui import db_session, show_error


def show_import_report(report: ImportReport, key: str = "import") -> None:
    (st.success if report.imported else st.info)(report.summary())
    if report.unknown_columns:
        st.warning("Colonnes ignorées : " + ", ".join(report.unknown_columns))
    if report.rejected:
        st.error(f"{len(report.rejected)} ligne(s) rejetée(s) :")
        st.dataframe(
            pd.DataFrame([{"Ligne": e.line, "Motif": e.reason} for e in report.rejected]),
            hide_index=True,
            width="stretch",
            key=f"{key}_errors",
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
            key=f"{key}_dups",
        )


def import_form(actor: Actor, kind: str, *, key: str = "import", defaults=None) -> None:
    """Upload or paste a file, preview it, check it (dry run) or import it.

    ``defaults`` fills columns the file leaves out or empty (e.g. the learners' site).
    After a real import the page reruns so that its lists show the new rows; the
    report is shown after the rerun.
    """
    upload = st.file_uploader(
        f"Fichier CSV ou XLSX ({get_settings().max_upload_mb} Mo au plus)",
        type=["csv", "xlsx"],
        key=f"{key}_file",
    )
    pasted = st.text_area("… ou collez le contenu CSV", key=f"{key}_paste", height=120)
    skip = st.checkbox(
        "Importer les lignes valides même si d'autres sont rejetées", key=f"{key}_skip"
    )
    data, name = None, ""
    if upload is not None:
        data, name = upload.getvalue(), upload.name
    elif pasted.strip():
        data, name = pasted.encode("utf-8"), "colle.csv"
    if data is not None:
        try:
            check_upload_size(data)  # before anything is parsed
        except PasserelleError as exc:
            show_error(exc)
            return
        try:
            preview = read_rows(data, name).rows[:20]
            st.dataframe(
                pd.DataFrame([row for _, row in preview]),
                hide_index=True,
                width="stretch",
                key=f"{key}_preview",
            )
        except PasserelleError as exc:
            show_error(exc)
        a, b = st.columns(2)
        check = a.button("Vérifier (essai à blanc)", key=f"{key}_check")
        go = b.button("Importer", type="primary", key=f"{key}_go")
        if check or go:
            bar = st.progress(0.0, text="Vérification des lignes…")

            def progress(done: int, total: int) -> None:
                bar.progress(
                    done / total if total else 1.0, text=f"{done} / {total} ligne(s) traitée(s)"
                )

            try:
                with db_session() as session:
                    report = import_data(
                        session,
                        actor,
                        kind,
                        data,
                        name,
                        dry_run=check,
                        skip_invalid=skip,
                        defaults=defaults,
                        progress=progress,
                    )
            except PasserelleError as exc:
                show_error(exc)
            else:
                st.session_state[f"{key}_report"] = report
                if report.imported:
                    st.rerun()
    report = st.session_state.pop(f"{key}_report", None)
    if report is not None and report.kind == kind:
        show_import_report(report, key)
