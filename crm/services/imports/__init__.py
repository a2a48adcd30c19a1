"""Import and export of the CRM tables (CSV or XLSX), shared by the CLI and the UI.

Modules:

- ``reading``: byte and row limits, decoding, CSV sniffing, CSV/XLSX rows (unclosed
  quotes refused);
- ``columns``: kinds, canonical columns, French headers and labels;
- ``handlers``: the per-row handler of each kind, through the kind's services;
- ``bulk``: the set-based path of companies and offers (validate all, one short write);
- ``pipeline``: :func:`import_data` itself;
- ``report``: :class:`ImportReport` and its rows;
- ``export``: exports and the import templates.

Import the public names from this package (``from crm.services.imports import import_data``).
"""

from crm.services.imports.columns import (
    ALIASES,
    COLUMNS,
    HEADERS_FR,
    KIND_FILE_STEMS,
    KIND_LABELS_FR,
    KINDS,
    REQUIRED,
    header_map,
    template_headers,
)
from crm.services.imports.export import (
    XLSX_MIME,
    export_bytes,
    export_filename,
    export_frame,
    exportable_kinds,
    template_bytes,
    template_filename,
)
from crm.services.imports.pipeline import (
    BULK_KINDS,
    KIND_WRITE_PERMS,
    Progress,
    import_data,
    importable_kinds,
)
from crm.services.imports.reading import (
    Table,
    check_upload_size,
    max_rows,
    max_upload_bytes,
    read_rows,
    read_table,
)
from crm.services.imports.report import DuplicateWarning, ImportReport, RowError

__all__ = [
    "ALIASES",
    "BULK_KINDS",
    "COLUMNS",
    "HEADERS_FR",
    "KIND_WRITE_PERMS",
    "KINDS",
    "KIND_FILE_STEMS",
    "KIND_LABELS_FR",
    "REQUIRED",
    "XLSX_MIME",
    "DuplicateWarning",
    "ImportReport",
    "Progress",
    "RowError",
    "Table",
    "check_upload_size",
    "export_bytes",
    "export_filename",
    "export_frame",
    "exportable_kinds",
    "header_map",
    "import_data",
    "importable_kinds",
    "max_rows",
    "max_upload_bytes",
    "read_rows",
    "read_table",
    "template_bytes",
    "template_filename",
    "template_headers",
]
