"""Import / export: CSV or XLSX files, with a preview and the errors of each row."""

import streamlit as st

from crm.auth import Perm
from crm.db import session_scope
from crm.services.imports import (
    COLUMNS,
    HEADERS_FR,
    KIND_LABELS_FR,
    XLSX_MIME,
    export_bytes,
    export_filename,
    exportable_kinds,
    importable_kinds,
    template_bytes,
    template_filename,
)
from pages._import import import_form
from pages._ui import require_actor, session_factory


def _label(kind: str) -> str:
    return KIND_LABELS_FR[kind].capitalize()


actor = require_actor(Perm.EXPORT)
st.title("Import / export")

kinds = importable_kinds(actor)
if kinds:
    st.subheader("Importer")
    default = kinds.index("companies") if "companies" in kinds else 0
    kind = st.selectbox("Données", kinds, index=default, format_func=_label, key="import_kind")
    st.caption(
        "Colonnes reconnues : "
        + ", ".join(HEADERS_FR[c] for c in COLUMNS[kind])
        + " (ou leurs noms techniques : "
        + ", ".join(COLUMNS[kind])
        + ")."
    )
    a, b = st.columns(2)
    a.download_button(
        "Modèle CSV à remplir",
        template_bytes(kind, "csv"),
        template_filename(kind, "csv"),
        "text/csv",
        key="template_csv",
        on_click="ignore",
    )
    b.download_button(
        "Modèle XLSX à remplir",
        template_bytes(kind, "xlsx"),
        template_filename(kind, "xlsx"),
        XLSX_MIME,
        key="template_xlsx",
        on_click="ignore",
    )
    import_form(actor, kind)

st.subheader("Exporter")
ekinds = exportable_kinds(actor)
ekind = st.selectbox(
    "Données à exporter",
    ekinds,
    index=ekinds.index("companies"),
    format_func=_label,
    key="export_kind",
)
factory = session_factory()


def _export(fmt: str):
    """The file, built (and audited) when the button is clicked, not at each rerun."""

    def build() -> bytes:
        with session_scope(factory) as session:
            return export_bytes(session, actor, ekind, export_filename(ekind, fmt))

    return build


a, b = st.columns(2)
a.download_button(
    "Télécharger en CSV",
    _export("csv"),
    export_filename(ekind, "csv"),
    "text/csv",
    key="dl_csv",
    on_click="ignore",
)
b.download_button(
    "Télécharger en XLSX",
    _export("xlsx"),
    export_filename(ekind, "xlsx"),
    XLSX_MIME,
    key="dl_xlsx",
    on_click="ignore",
)
