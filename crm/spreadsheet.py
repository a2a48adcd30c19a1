"""Spreadsheet output shared by every export: CSV and XLSX, formula-safe.

A cell that a spreadsheet would run as a formula (starting with = + - @, tab
or carriage return) is prefixed with an apostrophe so it is shown as text
(OWASP "CSV injection").
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        # Plain negative numbers stay numbers.
        if value[0] in "+-":
            try:
                float(value.replace(",", "."))
                return value
            except ValueError:
                pass
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame, sep: str = ";") -> bytes:
    """UTF-8 with BOM and ';' so that French Excel opens it right."""
    return neutralise(df).to_csv(index=False, sep=sep).encode("utf-8-sig")


def to_xlsx_bytes(sheets: Mapping[str, pd.DataFrame] | pd.DataFrame) -> bytes:
    """One sheet per table (sheet names cut to Excel's 31 characters)."""
    if isinstance(sheets, pd.DataFrame):
        sheets = {"Données": sheets}
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        used: set[str] = set()
        for name, df in sheets.items():
            sheet = name[:31]
            n = 2
            while sheet in used:
                sheet = f"{name[:28]}~{n}"
                n += 1
            used.add(sheet)
            neutralise(df).to_excel(writer, sheet_name=sheet, index=False)
    return buf.getvalue()
