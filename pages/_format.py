"""Display helpers shared by every page: French dates, empty cells, job and learner labels.

French labels of stored codes are in crm/labels.py (``label(mapping, code)``).

Stable small API (other pages rely on it):

- ``fmt_date(value)``: date → "JJ/MM/AAAA", datetime → "JJ/MM/AAAA HH:MM", None → "".
- ``fmt_cell(value)``: any cell value for a table: None/NaN → "", dates as above, bools Oui/Non.
- ``clean_rows(rows)``: list of dicts → same rows with every value passed through fmt_cell.
- ``DATE_FORMAT``: the ``format=`` to give ``st.date_input`` ("DD/MM/YYYY").
- ``PLACEHOLDER``: the French ``placeholder=`` for selectboxes/multiselects.
- ``job_label(code, romes)``: "Serveur en restauration (G1803)" (romes from rome_options).
- ``learner_label(last, first, site, entry_date)``: "Dupont Léa — TPM — entrée le 02/09/2026".

Exports keep ISO dates (machines read them): use these only for what is shown.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

DATE_FORMAT = "DD/MM/YYYY"
PLACEHOLDER = "Choisir…"
PLACEHOLDER_MULTI = "Choisir une ou plusieurs options…"


def fmt_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        if str(value) == "NaT":
            return ""
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.time() == dt.time.min:
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def fmt_cell(value):
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, dt.date) or hasattr(value, "to_pydatetime"):
        return fmt_date(value)
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value if v is not None)
    return value


def clean_rows(rows: Iterable[Mapping]) -> list[dict]:
    return [{k: fmt_cell(v) for k, v in row.items()} for row in rows]


def job_label(code: str | None, romes: Mapping[str, str]) -> str:
    """A ROME code as its job label: "Serveur en restauration (G1803)".

    ``romes`` maps codes to "CODE — label" (crm.services.learners.rome_options) or to labels.
    """
    if not code:
        return ""
    text = romes.get(code)
    if not text:
        return code
    label_only = text.split(" — ", 1)[1] if " — " in text else text
    return f"{label_only} ({code})"


def learner_label(last_name: str, first_name: str, site: str | None = None, entry_date=None) -> str:
    """A learner in a picker, homonyms told apart: "Dupont Léa — TPM — entrée le 02/09/2026"."""
    parts = [f"{last_name} {first_name}"]
    if site:
        parts.append(site)
    if entry_date:
        parts.append(f"entrée le {fmt_date(entry_date)}")
    return " — ".join(parts)
