"""Reading an uploaded file: size limits, decoding, CSV sniffing, CSV/XLSX rows.

Limits are checked before anything is parsed: the byte limit (settings.max_upload_mb)
on the raw size, the row limit (settings.import_max_rows) while reading, so that a
huge file is refused without being loaded whole.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from crm.config import get_settings
from crm.errors import ValidationError


@dataclass
class Table:
    """Rows read from a file: (spreadsheet line, {header: value}) and refused lines."""

    headers: list[str]
    rows: list[tuple[int, dict[str, object]]]
    refused: list[tuple[int, str]] = field(default_factory=list)  # (line, French reason)


# --------------------------------------------------------------------------- limits


def max_upload_bytes() -> int:
    return get_settings().max_upload_mb * 1024 * 1024


def check_upload_size(data: bytes | bytearray | memoryview | int, field: str = "file") -> None:
    """Refuse (French ValidationError) an upload over the byte limit, or empty.

    ``data`` is the upload or its size in bytes: the CLI checks the file's size
    before reading it, the page checks the upload before the preview.
    """
    size = data if isinstance(data, int) else len(data)
    limit_mb = get_settings().max_upload_mb
    if size > max_upload_bytes():
        raise ValidationError(
            {
                field: f"fichier trop volumineux ({size / 1048576:.1f} Mo) : "
                f"{limit_mb} Mo au plus. Rien n'a été lu ni importé."
            }
        )
    if size == 0:
        raise ValidationError({field: "le fichier est vide."})


def max_rows() -> int:
    return get_settings().import_max_rows


def _too_many_rows(limit: int) -> ValidationError:
    return ValidationError(
        {
            "file": f"fichier trop long : {limit} lignes au plus par import "
            "(réglage PASSERELLE_IMPORT_MAX_ROWS). Découpez-le en plusieurs fichiers. "
            "Rien n'a été importé."
        }
    )


# --------------------------------------------------------------------------- decoding


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM (Excel's "Unicode text"), else Windows-1252.

    NUL characters are dropped: never meaningful in a cell, and PostgreSQL
    refuses them in text columns.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    return text.replace("\x00", "")


def is_xlsx(data: bytes, filename: str = "") -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK"


# --------------------------------------------------------------------------- reading

UNTERMINATED_QUOTE = (
    "guillemet ouvrant jamais refermé : la ligne aurait absorbé les suivantes ; "
    "ligne refusée (fermez le guillemet ou retirez-le)"
)


def read_rows(data: bytes, filename: str = "", limit: int | None = None) -> Table:
    """Read every non-empty data row of a CSV or XLSX file (first sheet).

    Raises ValidationError (French) for an unreadable file or more than ``limit``
    data rows (default: the import row limit). A CSV line whose quote is never
    closed (which would silently merge it with the following lines) is refused
    (``Table.refused``) and reading resumes on the next line.
    """
    limit = max_rows() if limit is None else limit
    if is_xlsx(data, filename):
        return _read_xlsx(data, limit)
    return _read_csv(decode(data), limit)


def read_table(data: bytes, filename: str = "") -> list[tuple[int, dict[str, object]]]:
    """(spreadsheet line number, {header: value}) for each readable non-empty data row."""
    return read_rows(data, filename).rows


def _read_xlsx(data: bytes, limit: int) -> Table:
    import pandas as pd

    try:
        df = pd.read_excel(io.BytesIO(data), dtype=object, engine="openpyxl", nrows=limit + 1)
    except Exception as exc:
        raise ValidationError(
            {"file": f"Classeur XLSX illisible ({type(exc).__name__})."}
        ) from None
    df = df.astype(object).where(pd.notna(df), None)
    headers = [str(h).strip() for h in df.columns]
    rows = []
    for k, rec in enumerate(df.itertuples(index=False, name=None)):
        if any(val not in (None, "") for val in rec):
            rows.append((k + 2, dict(zip(headers, rec, strict=False))))
    if len(rows) > limit:
        raise _too_many_rows(limit)
    return Table(headers, rows)


def _read_csv(text: str, limit: int) -> Table:
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    lines = io.StringIO(text, newline="").readlines()
    state = {"next": 0}  # index of the next physical line to hand to the reader

    def feed(start: int):
        state["next"] = start
        while state["next"] < len(lines):
            state["next"] += 1
            yield lines[state["next"] - 1]

    header: list[str] | None = None
    rows: list[tuple[int, dict[str, object]]] = []
    refused: list[tuple[int, str]] = []
    reader = csv.reader(feed(0), delimiter=sep)
    first_line = 0  # index of the first physical line of the next record
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            reason = (
                "cellule trop longue"
                if "field limit" in str(exc)
                else "guillemets ou séparateurs mal formés"
            )
            raise ValidationError(
                {"file": f"Ligne {first_line + 1} illisible ({reason}) : rien n'a été importé."}
            ) from None
        start, end = first_line, state["next"]  # physical lines [start, end)
        first_line = end
        if header is None:
            header = [h.strip() for h in values]
            continue
        if _merged(values, header, lines[start:end], at_eof=end >= len(lines)):
            refused.append((start + 1, UNTERMINATED_QUOTE))
            first_line = start + 1
            reader = csv.reader(feed(start + 1), delimiter=sep)
            continue
        if not any(x.strip() for x in values):
            continue
        rows.append(
            (start + 1, {h: (values[i] if i < len(values) else None) for i, h in enumerate(header)})
        )
        if len(rows) > limit:
            raise _too_many_rows(limit)
    if header is None:
        raise ValidationError(
            {"file": "Fichier vide : la première ligne doit nommer les colonnes."}
        )
    return Table(header, rows, refused)


def _merged(values: list[str], header: list[str], raw: list[str], *, at_eof: bool) -> bool:
    """Whether a record (its physical lines ``raw``) is lines merged by an unclosed quote.

    A legitimate multi-line cell (an address on two lines) keeps the row's number
    of cells and closes its quotes; an unclosed quote swallows the following
    lines' separators (fewer cells), or runs to the end of the file (odd number
    of quote characters).
    """
    if len(raw) > 1 and len(values) != len(header):
        return True
    return at_eof and sum(line.count('"') for line in raw) % 2 == 1
