"""Set-based import of companies and offers: validate the whole file, then one short write.

The rules and French messages are the services' own (crm.services.companies
``clean_company_fields``, crm.services.offers ``clean_offer_fields`` and
``seats_below_used``, crm.auth ``authorize``); what changes is where the database
is read and written:

1. Read phase (no write, so no write lock on SQLite): one query per table loads
   what the checks need (sites, companies by ref/SIRET, offers by ref, seats held,
   the geocoding cache for the file's addresses).
2. Check phase, in memory: each row in file order against an in-memory mirror of
   the tables, so a later row sees what an earlier row created or changed, exactly
   as the row-by-row path (``bulk_path=False``) does. A refused row changes nothing.
3. Write phase: bulk INSERT (executemany with RETURNING, "insertmanyvalues"),
   bulk UPDATE by primary key, status history and audit rows in bulk. The caller
   commits: the write lock is held for this phase only.

Geocoding stays offline (cache, else the commune centre); ``passerelle geocode
--missing`` asks the provider afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    Table,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm import validation as v
from crm.auth import Actor, Perm, authorize
from crm.db import WRITER_OPTION
from crm.dedupe import company_records, duplicates_touching, prepare
from crm.errors import ConcurrentEditError, PasserelleError, ValidationError
from crm.geo import address_key
from crm.geo.geocoding import commune_location
from crm.models import (
    SEAT_HOLDING_STATUSES,
    AuditEvent,
    Company,
    CompanyStatusChange,
    GeocodeCache,
    GeoPrecision,
    Offer,
    OfferStatus,
    PartnerStatus,
    Placement,
    Site,
    utcnow,
)
from crm.reference import fold
from crm.services.companies import (
    FIELD_LABELS_FR,
    PARTNER_STATUS_LABELS,
    REF_TAKEN,
    clean_company_fields,
)
from crm.services.imports.columns import COLUMNS
from crm.services.imports.report import DuplicateWarning, ImportReport, RowError, errors_text
from crm.services.offers import OFFER_LABELS_FR, clean_offer_fields, seats_below_used

DUPLICATE_THRESHOLD = 0.85
_PROGRESS_EVERY = 1000

_COMPANY_COLS = (
    "id",
    "ref",
    *(c for c in COLUMNS["companies"] if c not in ("ref", "site")),
    "site_id",
    "owner_id",
    "geo_precision",
    "merged_into_id",
    "retired_at",
    "version",
)
_OFFER_COLS = (
    "id",
    "ref",
    "company_id",
    "rome_code",
    "other_rome_codes",
    "title",
    "description",
    "skills",
    "seats",
    "start_date",
    "end_date",
    "open_to_minors",
    "latitude",
    "longitude",
    "status",
    "version",
)


@dataclass
class BulkPlan:
    """What the write phase does: rows to insert/update, status history, audit rows."""

    model: type
    actor: Actor
    new: list[dict] = field(default_factory=list)  # records with a temporary negative id
    changed: dict[int, dict] = field(default_factory=dict)  # existing id -> record
    status_changes: list[dict] = field(default_factory=list)
    audits: list[tuple[str, str, int, dict | None]] = field(default_factory=list)
    columns: tuple[str, ...] = ()

    def write(self, session: Session) -> None:
        """One bulk write (the caller's transaction commits it).

        PostgreSQL: ids from the table's sequence, rows sent by COPY. SQLite: the rows
        are first staged in temporary tables (the connection's own temp database, so
        no write lock yet: other users keep saving), then the write lock is taken and
        one INSERT ... SELECT per table copies them: the lock is held for that only.
        """
        session.flush()
        sqlite = session.get_bind().dialect.name == "sqlite"
        if sqlite and not session.in_transaction():
            # A deferred transaction: staging writes the temp database only; the
            # first write to the main database takes the lock (under the busy timeout).
            session.connection(execution_options={WRITER_OPTION: False})
        try:
            with session.begin_nested():
                if sqlite:
                    self._insert_sqlite(session)
                else:
                    self._insert_postgresql(session)
                if self.changed:
                    self._update(session)
        except IntegrityError:
            raise ValidationError(
                {
                    "file": "conflit avec une donnée enregistrée entre-temps "
                    "(référence en double ?) : rien n'a été importé, réessayez."
                }
            ) from None
        session.expire_all()

    def _dependents(self) -> list[tuple[object, str, list[dict]]]:
        """Status history and audit rows: (table, column naming a record, rows)."""
        audits = [
            {
                "actor_id": self.actor.user_id,
                "actor_name": self.actor.username,
                "action": action,
                "entity": entity,
                "entity_id": ident,
                "details": details,
            }
            for action, entity, ident, details in self.audits
        ]
        return [
            (CompanyStatusChange.__table__, "company_id", self.status_changes),
            (AuditEvent.__table__, "entity_id", audits),
        ]

    def _insert_postgresql(self, session: Session) -> None:
        table = self.model.__table__
        real: dict[int, int] = {}
        if self.new:
            ids = _sequence_ids(session, table, len(self.new))
            real = {r["id"]: new_id for r, new_id in zip(self.new, ids, strict=True)}
            keys = [c for c in self.columns if c != "version"]
            _copy(
                session,
                table,
                ({k: real[r["id"]] if k == "id" else r.get(k) for k in keys} for r in self.new),
                keys,
            )
        for dep_table, ref, rows in self._dependents():
            if rows:
                _copy(
                    session,
                    dep_table,
                    (row | {ref: real.get(row[ref], row[ref])} for row in rows),
                    list(rows[0]),
                )

    def _insert_sqlite(self, session: Session) -> None:
        table = self.model.__table__
        seq = {r["id"]: k for k, r in enumerate(self.new)}
        keys = [c for c in self.columns if c not in ("version", "id")]
        staged = []  # (target table, its columns, stage table, the stage's id expression)
        if self.new:
            stage = _stage(session, table, keys, ({k: r.get(k) for k in keys} for r in self.new))
            staged.append((table, ["id", *keys], stage, "_seq"))
        for dep_table, ref, rows in self._dependents():
            if not rows:
                continue
            cols = list(rows[0])
            stage = _stage(
                session,
                dep_table,
                cols,
                (
                    row | {ref: None, "_ref": seq[row[ref]]}
                    if row[ref] in seq
                    else row | {"_ref": None}
                    for row in rows
                ),
                ref_column=True,
            )
            staged.append((dep_table, cols, stage, ref))
        # The write lock, then the first free id (no other writer can insert now).
        session.execute(update(table).where(text("1 = 0")).values(id=table.c.id))
        start = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) + 1
        for target, cols, stage, ident in staged:
            values = []
            for c in cols:
                if c == "id" and ident == "_seq":
                    values.append(literal(start) + stage.c._seq)
                elif c == ident:
                    values.append(func.coalesce(stage.c[c], literal(start) + stage.c._ref))
                else:
                    values.append(stage.c[c])
            defaults = _column_defaults(target, cols)
            values += [literal(v, target.c[k].type) for k, v in defaults.items()]
            order = stage.c._seq if ident == "_seq" else stage.c._row
            session.execute(
                insert(target).from_select([*cols, *defaults], select(*values).order_by(order))
            )
            session.execute(text(f"DROP TABLE temp.{stage.name}"))

    def _update(self, session: Session) -> None:
        table = self.model.__table__
        keys = [c for c in self.columns if c != "id"]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .where(table.c.version == bindparam("b_read_version"))
            .values({k: bindparam(f"b_{k}") for k in keys} | {"updated_at": utcnow()})
        )
        result = session.execute(
            stmt,
            [
                {
                    "b_id": cid,
                    "b_read_version": r["_read_version"],
                    **{f"b_{k}": r.get(k) for k in keys},
                }
                for cid, r in self.changed.items()
            ],
        )
        if 0 <= result.rowcount < len(self.changed):
            raise ConcurrentEditError(
                "Des fiches du fichier ont été modifiées par quelqu'un d'autre "
                "pendant l'import : rien n'a été importé, réessayez."
            )
        if self.model is Offer:
            self._check_seats_still_cover_bookings(session)

    def _check_seats_still_cover_bookings(self, session: Session) -> None:
        """Seats lowered by the file must still cover the seats held now.

        The check phase counted bookings without a lock; a booking may have come
        since. Counted again after the UPDATE, inside the write transaction: on
        PostgreSQL the updated rows are locked (a booking waits for this commit, then
        sees the new seats); on SQLite the transaction holds the write lock.
        """
        held = dict(
            session.execute(
                select(Placement.offer_id, func.count())
                .where(
                    Placement.offer_id.is_not(None),
                    Placement.status.in_([s.value for s in SEAT_HOLDING_STATUSES]),
                )
                .group_by(Placement.offer_id)
            ).all()
        )
        short = [
            r.get("ref") or str(cid)
            for cid, r in self.changed.items()
            if r.get("seats") is not None and r["seats"] < held.get(cid, 0)
        ]
        if short:
            raise ValidationError(
                {
                    "places": "des périodes ont été réservées pendant l'import : moins de "
                    f"places que de périodes en cours pour {', '.join(short[:5])}"
                    f"{' …' if len(short) > 5 else ''}. Rien n'a été importé, réessayez."
                }
            )


def _sequence_ids(session: Session, table, n: int) -> list[int]:
    """``n`` fresh primary keys from the table's sequence (PostgreSQL)."""
    rows = session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table.name, "n": n},
    )
    return [r[0] for r in rows]


def _column_defaults(table, given) -> dict[str, object]:
    """Client-side defaults (e.g. created_at) of the columns not in ``given``."""
    out = {}
    for col in table.columns:
        d = col.default
        if col.key in given or d is None or d.is_sequence:
            continue
        out[col.key] = d.arg(None) if d.is_callable else d.arg
    return out


def _copy(session: Session, table, rows, cols: list[str]) -> None:
    """COPY ``rows`` (dicts with ``cols``) into ``table``, in the session's transaction."""
    from psycopg.types.json import Json

    defaults = _column_defaults(table, cols)
    names = [*cols, *defaults]
    json_cols = {c for c in cols if isinstance(table.c[c].type, JSON)}
    quote = session.get_bind().dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in names)}) FROM STDIN"
    tail = tuple(defaults.values())
    dbapi = session.connection().connection.driver_connection
    with dbapi.cursor() as cur, cur.copy(sql) as copy:
        for row in rows:
            copy.write_row(
                tuple(
                    Json(row[c]) if c in json_cols and row[c] is not None else row[c] for c in cols
                )
                + tail
            )


def _stage(session: Session, table, cols, rows, ref_column: bool = False) -> Table:
    """A temporary copy of ``table``'s ``cols`` (same types) holding ``rows`` (SQLite).

    Stage rows carry their order (``_seq`` for new records, ``_row`` otherwise) and,
    with ``ref_column``, ``_ref``: the position of the new record they name.
    """
    extra = [Column("_row", Integer, primary_key=True)]
    if ref_column:
        extra.append(Column("_ref", Integer))
    else:
        extra.append(Column("_seq", Integer))
    stage = Table(
        f"_stage_{table.name}",
        MetaData(),
        *(Column(c, table.c[c].type) for c in cols),
        *extra,
        prefixes=["TEMPORARY"],
    )
    session.execute(text(f"DROP TABLE IF EXISTS temp.{stage.name}"))
    conn = session.connection()
    stage.create(conn)
    # Plain executemany of tuples (values through the column types' bind processors):
    # the SQLAlchemy statement machinery per row would cost more than SQLite itself.
    names = [c.name for c in stage.columns]
    processors = [c.type.bind_processor(conn.dialect) for c in stage.columns]
    sql = (
        f"INSERT INTO temp.{stage.name} ({', '.join(names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    seq_key = "_row" if ref_column else "_seq"
    batch: list[tuple] = []
    for k, row in enumerate(rows):
        row[seq_key] = k
        batch.append(
            tuple(
                row.get(c) if p is None else p(row.get(c))
                for c, p in zip(names, processors, strict=True)
            )
        )
        if len(batch) == 5000:
            conn.exec_driver_sql(sql, batch)
            batch = []
    if batch:
        conn.exec_driver_sql(sql, batch)
    return stage


def plan_import(
    session: Session,
    actor: Actor,
    kind: str,
    rows: list[tuple[int, dict]],
    report: ImportReport,
    progress: Callable[[int, int], None] | None = None,
) -> BulkPlan:
    """Check every row (no write) and fill ``report``; the plan writes the accepted ones.

    ``rows`` is consumed: each row is dropped from the list once checked (memory).
    """
    if kind == "companies":
        return _plan_companies(session, actor, rows, report, progress)
    if kind == "offers":
        return _plan_offers(session, actor, rows, report, progress)
    raise ValueError(f"no bulk path for {kind}")


# --------------------------------------------------------------------------- lookups


class _Companies:
    """In-memory mirror of the companies table (existing rows, then the file's new ones)."""

    def __init__(self, session: Session, columns=("id", "ref", "merged_into_id", "site_id")):
        table = Company.__table__
        self.by_id: dict[int, dict] = {
            r["id"]: dict(r)
            for r in session.execute(select(*(table.c[c] for c in columns))).mappings()
        }
        self.by_ref = {r["ref"]: i for i, r in self.by_id.items() if r["ref"]}
        self.next_tmp = -1

    def live(self, ref) -> dict | None:
        """The company of ``ref``, following merges (as the row-by-row path does)."""
        if not ref:
            return None
        rec = self.by_id.get(self.by_ref.get(str(ref).strip()))
        seen = 0
        while rec is not None and rec.get("merged_into_id") is not None and seen < 10:
            rec = self.by_id.get(rec["merged_into_id"])
            seen += 1
        return rec

    def add(self, rec: dict) -> dict:
        rec["id"] = self.next_tmp
        self.next_tmp -= 1
        self.by_id[rec["id"]] = rec
        if rec.get("ref"):
            self.by_ref[rec["ref"]] = rec["id"]
        return rec


class _Sites:
    def __init__(self, session: Session):
        rows = session.execute(select(Site.id, Site.name, Site.ref).order_by(Site.id)).all()
        self.by_name = {r.name: r.id for r in rows}
        self.by_ref = {r.ref: r.id for r in rows if r.ref}
        self.by_fold: dict[str, int] = {}
        for r in rows:
            self.by_fold.setdefault(fold(r.name), r.id)

    def find(self, name) -> int | None:
        try:
            t = v.text(name, 120)
        except v.FieldError:
            return None
        if not t:
            return None
        return self.by_name.get(t) or self.by_ref.get(t) or self.by_fold.get(fold(t))


def _reject(report: ImportReport, line: int, exc: PasserelleError) -> None:
    reason = errors_text(exc) if isinstance(exc, ValidationError) else str(exc)
    report.rejected.append(RowError(line, reason))


def _consume(rows: list, progress) -> Iterator[tuple[int, dict]]:
    """``(line, row)`` in file order, each dropped from ``rows`` once checked; progress."""
    total = len(rows)
    for n in range(total):
        line, row = rows[n]
        rows[n] = None
        yield line, row
        if progress and (n + 1) % _PROGRESS_EVERY == 0:
            progress(n + 1, total)


# --------------------------------------------------------------------------- companies


def _plan_companies(session, actor, rows, report, progress) -> BulkPlan:
    sites = _Sites(session)
    companies = _Companies(session, _COMPANY_COLS)
    by_siret: dict[str, int] = {}
    for cid in sorted(companies.by_id):
        rec = companies.by_id[cid]
        if rec["siret"] and rec["merged_into_id"] is None:
            by_siret.setdefault(rec["siret"], cid)
    plan = BulkPlan(Company, actor, columns=_COMPANY_COLS)
    to_locate: list[dict] = []
    new_lines: dict[int, int] = {}
    for line, row in _consume(rows, progress):
        try:
            outcome, rec = _company_row(actor, row, sites, companies, by_siret, plan, to_locate)
        except PasserelleError as exc:
            _reject(report, line, exc)
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome == "created":
            new_lines[rec["id"]] = line
    _locate_offline(session, to_locate)
    report.duplicates = _duplicate_warnings(companies, new_lines)
    return plan


def _company_row(actor, row, sites, companies, by_siret, plan, to_locate) -> tuple[str, dict]:
    """The row-by-row handler's and the services' checks, against the in-memory mirror."""
    fields = {k: row.get(k) for k in COLUMNS["companies"] if k in row and k != "site"}
    if fields.get("latitude") in (None, "") and fields.get("longitude") in (None, ""):
        fields.pop("latitude", None)
        fields.pop("longitude", None)
    errors: dict[str, str] = {}
    if "site" in row:
        if row.get("site") in (None, ""):
            fields["site_id"] = None
        else:
            site_id = sites.find(row.get("site"))
            if site_id is None:
                errors["site"] = "Site inconnu."
            else:
                fields["site_id"] = site_id
    if fields.get("status") not in (None, ""):
        try:
            fields["status"] = v.choice(fields["status"], PARTNER_STATUS_LABELS, "Statut")
        except v.FieldError as exc:
            errors["status"] = exc.message
            fields["status"] = None
    if errors:
        raise ValidationError(errors)
    ref = row.get("ref")
    rec = companies.live(ref) if ref else None
    if rec is None and not ref and row.get("siret"):
        try:
            siret = v.siret(row.get("siret"))
        except v.FieldError:
            siret = None
        if siret and siret in by_siret:
            rec = companies.by_id[by_siret[siret]]
    if rec is None:
        return "created", _create_company(actor, fields, companies, by_siret, plan, to_locate)
    fields.pop("ref", None)
    if fields.get("status") in (None, ""):
        fields.pop("status", None)
    changed = _update_company(actor, rec, fields, plan, to_locate)
    return ("updated" if changed else "unchanged"), rec


def _create_company(actor, fields, companies, by_siret, plan, to_locate) -> dict:
    # crm.services.companies.create_company, with the site lookups done beforehand.
    site_raw = fields.get("site_id")
    authorize(actor, Perm.COMPANY_WRITE, site_raw if isinstance(site_raw, int) else None)
    clean, errors = clean_company_fields(
        {k: val for k, val in fields.items() if k != "site_id"}, creating=True
    )
    if "site_id" in fields:
        clean["site_id"] = fields["site_id"]
    if clean.get("ref") and clean["ref"] in companies.by_ref:
        errors["ref"] = REF_TAKEN
    if errors:
        raise ValidationError({FIELD_LABELS_FR[k]: m for k, m in errors.items()})
    authorize(actor, Perm.COMPANY_WRITE, clean.get("site_id"))
    clean["status"] = clean.get("status") or PartnerStatus.PROSPECT.value
    rec = dict.fromkeys(_COMPANY_COLS) | clean
    rec["geo_precision"] = (
        GeoPrecision.MANUAL.value if clean.get("latitude") is not None else GeoPrecision.NONE.value
    )
    if rec["owner_id"] is None and actor.user_id is not None and actor.role == "officer":
        rec["owner_id"] = actor.user_id
    rec["version"] = 1
    companies.add(rec)
    plan.new.append(rec)
    if rec["siret"]:
        by_siret.setdefault(rec["siret"], rec["id"])
    if rec["latitude"] is None or rec["longitude"] is None:
        to_locate.append(rec)
    plan.status_changes.append(
        {
            "company_id": rec["id"],
            "from_status": None,
            "to_status": rec["status"],
            "changed_by_id": actor.user_id,
            "reason": "création",
        }
    )
    plan.audits.append(
        ("status", "company", rec["id"], {"from_status": None, "to_status": rec["status"]})
    )
    plan.audits.append(("create", "company", rec["id"], {"fields": sorted(clean)}))
    return rec


def _update_company(actor, rec, fields, plan, to_locate) -> bool:
    # crm.services.companies.update_company, against the in-memory record.
    authorize(actor, Perm.COMPANY_WRITE, rec["site_id"])
    if rec["retired_at"] is not None or rec["merged_into_id"] is not None:
        raise ValidationError(
            {"Entreprise": "Fiche fusionnée ou retirée : elle n'est plus modifiable."}
        )
    clean, errors = clean_company_fields(
        {k: val for k, val in fields.items() if k != "site_id"}, creating=False
    )
    if "site_id" in fields:
        clean["site_id"] = fields["site_id"]
    if errors:
        raise ValidationError({FIELD_LABELS_FR[k]: m for k, m in errors.items()})
    if "status" in clean and not clean["status"]:
        del clean["status"]
    if "site_id" in clean:
        authorize(actor, Perm.COMPANY_WRITE, clean["site_id"])
    changed = [k for k, val in clean.items() if rec[k] != val]
    if not changed:
        return False
    old_status = rec["status"]
    location_changed = any(k in changed for k in ("address", "postcode", "city"))
    for k in changed:
        rec[k] = clean[k]
    if "latitude" in changed or "longitude" in changed:
        rec["geo_precision"] = (
            GeoPrecision.MANUAL.value if rec["latitude"] is not None else GeoPrecision.NONE.value
        )
        if rec["latitude"] is None:
            to_locate.append(rec)
    elif location_changed:
        rec["latitude"] = rec["longitude"] = None
        to_locate.append(rec)
    if rec["status"] != old_status:
        plan.status_changes.append(
            {
                "company_id": rec["id"],
                "from_status": old_status,
                "to_status": rec["status"],
                "changed_by_id": actor.user_id,
                "reason": None,
            }
        )
        plan.audits.append(
            (
                "status",
                "company",
                rec["id"],
                {"from_status": old_status, "to_status": rec["status"]},
            )
        )
    if rec["id"] > 0 and rec["id"] not in plan.changed:
        rec["_read_version"] = rec["version"]
        rec["version"] += 1
        plan.changed[rec["id"]] = rec
    plan.audits.append(("update", "company", rec["id"], {"fields": sorted(changed)}))
    return True


def _locate_offline(session: Session, records: list[dict]) -> None:
    """crm.geo.locate with the offline geocoder, for many records: one cache query per 500."""
    todo = [r for r in records if r["latitude"] is None or r["longitude"] is None]
    keys = {id(r): address_key(r["address"], r["postcode"], r["city"]) for r in todo}
    wanted = sorted({k for k in keys.values() if k})
    cache: dict[str, tuple] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        for row in session.execute(
            select(
                GeocodeCache.query_key,
                GeocodeCache.latitude,
                GeocodeCache.longitude,
                GeocodeCache.precision,
            ).where(GeocodeCache.query_key.in_(chunk))
        ):
            cache[row.query_key] = (row.latitude, row.longitude, row.precision)
    communes: dict[tuple, tuple] = {}
    for r in todo:
        key = keys[id(r)]
        if not key:
            r["latitude"] = r["longitude"] = None
            r["geo_precision"] = GeoPrecision.NONE.value
            continue
        hit = cache.get(key)
        if hit is not None and hit[0] is not None and hit[1] is not None:
            r["latitude"], r["longitude"], r["geo_precision"] = hit
            continue
        where = (r["city"], r["postcode"])
        if where not in communes:
            loc = commune_location(*where)
            communes[where] = (loc.latitude, loc.longitude, loc.precision)
        r["latitude"], r["longitude"], r["geo_precision"] = communes[where]


def _duplicate_warnings(companies: _Companies, new_lines: dict[int, int]) -> list[DuplicateWarning]:
    """Pairs (live companies, after the file) with at least one company the file creates."""
    if not new_lines:
        return []
    live = [
        r
        for r in companies.by_id.values()
        if r.get("merged_into_id") is None and r.get("retired_at") is None
    ]
    # Same order as company_records (by id), the file's new companies last in file order.
    live.sort(key=lambda r: (r["id"] < 0, abs(r["id"])))
    return _warnings(live, new_lines)  # the mirror's records hold RECORD_FIELDS


def _warnings(records: list[dict], new_lines: dict[int, int]) -> list[DuplicateWarning]:
    prepared = prepare(records)
    new = [k for k, r in enumerate(records) if r["id"] in new_lines]
    found = []
    # Only the pairs touching the file's new companies, streamed (no set of all pairs).
    for i, j, score, evidence in duplicates_touching(prepared, new, DUPLICATE_THRESHOLD):
        found.append((round(score, 3), i, j, evidence))
    found.sort(
        key=lambda t: (
            -t[0],
            str(records[t[1]]["ref"] or records[t[1]]["id"]),
            str(records[t[2]]["ref"] or records[t[2]]["id"]),
        )
    )
    out = []
    for score, i, j, evidence in found:
        ra, rb = records[i], records[j]
        out.append(
            DuplicateWarning(
                new_lines.get(rb["id"], new_lines.get(ra["id"])),
                ra["ref"],
                rb["ref"],
                ra["name"],
                rb["name"],
                score,
                "; ".join(evidence),
            )
        )
    return out


def duplicate_warnings_in_db(session: Session, new_lines: dict[int, int]) -> list[DuplicateWarning]:
    """Duplicate warnings after a row-by-row import (companies already flushed)."""
    return _warnings(company_records(session), new_lines)


# --------------------------------------------------------------------------- offers


def _plan_offers(session, actor, rows, report, progress) -> BulkPlan:
    companies = _Companies(session)
    offers = {
        r["ref"]: dict(r)
        for r in session.execute(
            select(*(Offer.__table__.c[c] for c in _OFFER_COLS)).where(Offer.ref.is_not(None))
        ).mappings()
    }
    used = dict(
        session.execute(
            select(Placement.offer_id, func.count())
            .where(
                Placement.offer_id.is_not(None),
                Placement.status.in_([s.value for s in SEAT_HOLDING_STATUSES]),
            )
            .group_by(Placement.offer_id)
        ).all()
    )
    plan = BulkPlan(Offer, actor, columns=_OFFER_COLS)
    next_tmp = -1
    for line, row in _consume(rows, progress):
        try:
            company = companies.live(row.get("company_ref"))
            if company is None:
                raise ValidationError(
                    {"company_ref": "Entreprise inconnue (référence introuvable)."}
                )
            fields = {
                k: row.get(k)
                for k in COLUMNS["offers"]
                if k in row and k not in ("company_ref", "rome")
            }
            if "rome" in row:
                codes = [
                    c for c in str(row.get("rome") or "").replace(",", ";").split(";") if c.strip()
                ]
                fields["rome_code"] = codes[0] if codes else None
                fields["other_rome_codes"] = ";".join(codes[1:])
            ref = row.get("ref")
            rec = offers.get(ref) if ref else None
            if rec is None:
                # crm.services.offers.create_offer
                authorize(actor, Perm.COMPANY_WRITE, company["site_id"])
                clean, errors = clean_offer_fields(fields, creating=True)
                if errors:
                    raise ValidationError({OFFER_LABELS_FR[k]: m for k, m in errors.items()})
                rec = dict.fromkeys(_OFFER_COLS) | clean
                rec |= {
                    "id": next_tmp,
                    "company_id": company["id"],
                    "status": OfferStatus.OPEN.value,
                    "version": 1,
                }
                rec.setdefault("other_rome_codes", "")
                rec["other_rome_codes"] = rec["other_rome_codes"] or ""
                rec["skills"] = rec["skills"] or ""
                rec["seats"] = 1 if rec["seats"] is None else rec["seats"]
                if rec["open_to_minors"] is None:
                    rec["open_to_minors"] = True
                next_tmp -= 1
                if ref:
                    offers[ref] = rec
                plan.new.append(rec)
                plan.audits.append(("create", "offer", rec["id"], {"company_id": company["id"]}))
                report.created += 1
                continue
            # crm.services.offers.update_offer
            fields.pop("ref", None)
            owner = companies.by_id.get(rec["company_id"]) or {}
            authorize(actor, Perm.COMPANY_WRITE, owner.get("site_id"))
            clean, errors = clean_offer_fields(
                fields, creating=False, current_period=(rec["start_date"], rec["end_date"])
            )
            if "seats" in clean and clean["seats"] is not None and rec["id"] > 0:
                msg = seats_below_used(clean["seats"], used.get(rec["id"], 0))
                if msg:
                    errors["seats"] = msg
            if errors:
                raise ValidationError({OFFER_LABELS_FR[k]: m for k, m in errors.items()})
            changed = [k for k, val in clean.items() if rec[k] != val]
            if not changed:
                report.unchanged += 1
                continue
            for k in changed:
                rec[k] = clean[k]
            if rec["id"] > 0 and rec["id"] not in plan.changed:
                rec["_read_version"] = rec["version"]
                rec["version"] += 1
                plan.changed[rec["id"]] = rec
            plan.audits.append(("update", "offer", rec["id"], {"fields": sorted(changed)}))
            report.updated += 1
        except PasserelleError as exc:
            _reject(report, line, exc)
    return plan
