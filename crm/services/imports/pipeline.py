"""import_data: limits, reading, header mapping, then the kind's bulk or per-row path."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from crm import audit
from crm import validation as v
from crm.auth import Actor, Perm, authorize
from crm.db import reader_session
from crm.errors import DatabaseUnavailable, PasserelleError, PermissionDenied, ValidationError
from crm.services.imports import bulk
from crm.services.imports.columns import KINDS, REQUIRED, clean_cell, header_map
from crm.services.imports.handlers import HANDLERS
from crm.services.imports.reading import check_upload_size, read_rows
from crm.services.imports.report import ImportReport, RowError, errors_text

Progress = Callable[[int, int], None]

# Kinds imported set-based (validate everything, then one short bulk write).
BULK_KINDS = ("companies", "offers")

# The permission each kind's rows need (besides Perm.IMPORT): the services check it
# row by row; pages offer only the kinds an actor holds it for.
KIND_WRITE_PERMS = {
    "sites": Perm.SETTINGS_ADMIN,
    "companies": Perm.COMPANY_WRITE,
    "contacts": Perm.COMPANY_WRITE,
    "offers": Perm.COMPANY_WRITE,
    "learners": Perm.LEARNER_WRITE,
    "interactions": Perm.INTERACTION_WRITE,
    "placements": Perm.PLACEMENT_WRITE,
}


def importable_kinds(actor: Actor) -> list[str]:
    """The kinds ``actor`` may import, in KINDS order (none without Perm.IMPORT)."""
    if not actor.has(Perm.IMPORT):
        return []
    return [k for k in KINDS if actor.has(KIND_WRITE_PERMS[k])]


def import_data(
    session: Session,
    actor: Actor,
    kind: str,
    data: bytes,
    filename: str = "",
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    defaults: dict[str, object] | None = None,
    progress: Progress | None = None,
    bulk_path: bool = True,
) -> ImportReport:
    """Import ``data`` (CSV/XLSX bytes) as ``kind``.

    Rules:

    - CSV separated by ``,`` or ``;`` (sniffed), UTF-8 (with or without BOM), UTF-16
      with BOM or Windows-1252; or XLSX (first sheet). The first row names the
      columns: canonical English names or the usual French headers.
    - Limits before parsing: the byte limit (``max_upload_mb``) and the row limit
      (``import_max_rows``); a CSV line with an unclosed quote is refused.
    - Upsert by ``ref``: importing the same file twice changes nothing.
    - Atomic: if any row is invalid nothing is imported and every rejected row is
      reported with its line number and a French reason (field and rule, never the
      value); ``skip_invalid`` imports the valid rows only; ``dry_run`` checks
      everything and imports nothing.
    - Companies that look like existing ones are reported, never merged.
    - Companies and offers are validated whole first (outside any write), then
      written in one short bulk transaction (``bulk_path=False`` takes the row-by-row
      path through the services: same results, for comparison); other kinds go
      row by row through their services.

    ``defaults`` (canonical column -> value) fills a column the file leaves out or
    empty, e.g. the site of the Stagiaires page's learners. ``progress(done, total)``
    is called as rows are checked and written.

    A database failure in the middle rolls the whole import back and raises
    :class:`DatabaseUnavailable` with a French message.
    """
    try:
        return _import_data(
            session,
            actor,
            kind,
            data,
            filename,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            defaults=defaults,
            progress=progress,
            bulk_path=bulk_path,
        )
    except DBAPIError as exc:
        if not (exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)):
            raise
        with contextlib.suppress(Exception):  # the connection is gone: the server rolled back
            session.rollback()
        raise DatabaseUnavailable(
            "La connexion à la base de données a été perdue pendant l'import : "
            "rien n'a été importé. Réessayez l'import du même fichier."
        ) from exc


def _import_data(
    session, actor, kind, data, filename, *, dry_run, skip_invalid, defaults, progress, bulk_path
) -> ImportReport:
    defaults = {k: val for k, val in (defaults or {}).items() if val not in (None, "")}
    authorize(actor, Perm.IMPORT)
    own_transaction = not session.in_transaction()
    if kind not in KINDS:
        raise ValidationError(
            {"Type": f"Type d'import inconnu : choisissez parmi {', '.join(KINDS)}."}
        )
    check_upload_size(data)
    table = read_rows(data, filename)
    report = ImportReport(kind=kind, rows=len(table.rows) + len(table.refused), dry_run=dry_run)
    report.rejected.extend(RowError(line, reason) for line, reason in table.refused)
    mapping, report.unknown_columns = header_map(kind, table.headers)
    missing = [c for c in REQUIRED[kind] if c not in mapping.values() and c not in defaults]
    if table.rows and missing:
        raise ValidationError(
            {"Colonnes": f"Colonne(s) obligatoire(s) absente(s) : {', '.join(missing)}."}
        )
    rows = _prepare_rows(kind, table.rows, mapping, defaults, report)
    del table  # the raw rows: memory for the checks
    total = len(rows)
    if kind in BULK_KINDS and bulk_path:
        if own_transaction:
            # The check phase only reads: on SQLite it must not hold the write lock
            # (other users keep saving while a big file is checked).
            with reader_session(session) as reader:
                plan = bulk.plan_import(reader, actor, kind, rows, report, progress)
        else:
            plan = bulk.plan_import(session, actor, kind, rows, report, progress)
        write = not (report.rejected and not skip_invalid or dry_run)
        if write:
            if own_transaction and session.in_transaction():
                # End the read-only transaction of the check phase: the write starts a
                # fresh one, so that on SQLite it waits for other writers (busy timeout)
                # instead of failing on a stale read snapshot, and holds the lock briefly.
                session.rollback()
            plan.write(session)
    else:
        write = _row_by_row(session, actor, kind, rows, report, progress, dry_run, skip_invalid)
    report.rejected.sort(key=lambda e: e.line)
    report.imported = write
    if write:
        audit.record(
            session,
            actor,
            "import",
            kind,
            None,
            created=report.created,
            updated=report.updated,
            rejected=len(report.rejected),
        )
        # Sent now, inside import_data: a connection lost here is reported as such.
        session.flush()
    if progress:
        progress(total, total)
    return report


def _prepare_rows(kind, raw_rows, mapping, defaults, report) -> list[tuple[int, dict]]:
    """Canonical rows; a row missing a required value or with a bad ref is rejected here."""
    out = []
    required = REQUIRED[kind]
    for line, raw in raw_rows:
        row = {mapping[h]: clean_cell(val) for h, val in raw.items() if h in mapping}
        for k, val in defaults.items():
            if row.get(k) in (None, ""):
                row[k] = val
        missing_values = [c for c in required if row.get(c) in (None, "")]
        if missing_values:
            report.rejected.append(
                RowError(line, f"valeur obligatoire manquante : {', '.join(missing_values)}")
            )
            continue
        if "ref" in row:
            try:
                row["ref"] = v.text(row["ref"], 64)
            except v.FieldError as exc:
                report.rejected.append(RowError(line, f"ref : {exc.message}"))
                continue
        out.append((line, row))
    return out


def _row_by_row(session, actor, kind, rows, report, progress, dry_run, skip_invalid) -> bool:
    """Each row through its handler inside a savepoint; the whole file in another."""
    outer = session.begin_nested()
    new_company_lines: dict[int, int] = {}
    total = len(rows)
    for n, (line, row) in enumerate(rows, 1):
        nested = session.begin_nested()
        try:
            outcome = HANDLERS[kind](session, actor, row)
            nested.commit()
        except ValidationError as exc:
            nested.rollback()
            report.rejected.append(RowError(line, errors_text(exc)))
            continue
        except PermissionDenied as exc:
            nested.rollback()
            report.rejected.append(RowError(line, str(exc)))
            continue
        except IntegrityError:
            nested.rollback()
            report.rejected.append(
                RowError(line, "conflit avec une donnée existante (référence en double ?)")
            )
            continue
        except PasserelleError as exc:
            nested.rollback()
            report.rejected.append(RowError(line, str(exc)))
            continue
        finally:
            if progress and (n % 200 == 0 or n == total):
                progress(n, total)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if kind == "companies" and outcome == "created":
            new_company_lines[row["_created_id"]] = line
    if kind == "companies" and new_company_lines:
        report.duplicates = bulk.duplicate_warnings_in_db(session, new_company_lines)
    if report.rejected and not skip_invalid or dry_run:
        outer.rollback()
        return False
    outer.commit()
    return True
