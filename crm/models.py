"""SQLAlchemy 2.x typed models: the whole Passerelle schema.

Conventions
- Every importable kind carries an external ``ref`` that is unique per kind
  (NULL allowed), so that imports can upsert.
- Rows that users edit concurrently carry a ``version`` column used for
  optimistic locking (SQLAlchemy ``version_id_col``).
- Multi-valued short lists (skills, mobility modes, extra ROME codes) are stored
  as ``;``-separated text: they are read whole, never joined on.
- Enumerations are stored as short strings (portable across SQLite and
  PostgreSQL) and validated in Python with the ``StrEnum`` classes below.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# --------------------------------------------------------------------------- enums


class Role(StrEnum):
    OFFICER = "officer"
    TRAINER = "trainer"
    MANAGER = "manager"
    ADMIN = "admin"


class PartnerStatus(StrEnum):
    PROSPECT = "prospect"
    CONTACTED = "contacted"
    PARTNER = "partner"
    INACTIVE = "inactive"


class InteractionKind(StrEnum):
    CALL = "call"
    VISIT = "visit"
    EMAIL = "email"
    MEETING = "meeting"
    EVENT = "event"


class OfferStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class LearnerStatus(StrEnum):
    ACTIVE = "active"  # in the course
    EXITED = "exited"  # left, follow-up period
    ANONYMISED = "anonymised"  # retention period over, personal data erased


class PlacementStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


# Placements that hold a seat.
SEAT_HOLDING_STATUSES = (
    PlacementStatus.PROPOSED,
    PlacementStatus.CONFIRMED,
    PlacementStatus.IN_PROGRESS,
    PlacementStatus.DONE,
)


class PlacementKind(StrEnum):
    STAGE = "stage"
    PMSMP = "pmsmp"  # période de mise en situation en milieu professionnel


class PaperworkStatus(StrEnum):
    """A placement's agreement: à préparer → à signer → signée."""

    TO_PREPARE = "to_prepare"
    TO_SIGN = "to_sign"
    SIGNED = "signed"


class PlacementObjective(StrEnum):
    """Objective of a PMSMP (Cerfa 13912)."""

    DISCOVER = "discover"  # découvrir un métier ou un secteur d'activité
    CONFIRM = "confirm"  # confirmer un projet professionnel
    HIRING = "hiring"  # initier une démarche de recrutement


class SignerRole(StrEnum):
    BENEFICIARY = "beneficiary"
    LEGAL_REPRESENTATIVE = "legal_rep"  # only when the learner is a minor at the start
    HOST = "host"  # the host establishment (tutor or its representative)
    SCHOOL = "school"  # the school site (prescriber)


class Outcome(StrEnum):
    """Outcome of a placement or exit of a learner ("sortie")."""

    EMPLOYMENT = "employment"
    APPRENTICESHIP = "apprenticeship"
    TRAINING = "training"  # qualifying training
    NONE = "none"


POSITIVE_OUTCOMES = (Outcome.EMPLOYMENT, Outcome.APPRENTICESHIP, Outcome.TRAINING)


class GeoPrecision(StrEnum):
    HOUSENUMBER = "housenumber"
    STREET = "street"
    COMMUNE = "commune"
    MANUAL = "manual"
    NONE = "none"  # not geocoded


class MobilityMode(StrEnum):
    WALK = "walk"
    BIKE = "bike"
    TRANSIT = "transit"
    SCOOTER = "scooter"
    CAR = "car"


def _enum_check(column: str, enum: type[StrEnum], nullable: bool = False) -> CheckConstraint:
    values = ", ".join(f"'{m.value}'" for m in enum)
    expr = f"{column} IN ({values})"
    if nullable:
        expr = f"{column} IS NULL OR {expr}"
    return CheckConstraint(expr, name=f"{column}_valid")


# --------------------------------------------------------------------------- mixins


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class Located:
    """Postal address and coordinates with their geocoding precision."""

    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(5))
    city: Mapped[str | None] = mapped_column(String(120))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    geo_precision: Mapped[str] = mapped_column(String(12), default=GeoPrecision.NONE.value)


# --------------------------------------------------------------------------- reference


class RomeJob(Base):
    """ROME job (fiche métier), e.g. D1106 "Vente en alimentation"."""

    __tablename__ = "rome_jobs"

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(1), index=True)
    domain_label: Mapped[str | None] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(3), index=True)
    group_label: Mapped[str | None] = mapped_column(String(200))


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(120), unique=True)
    category: Mapped[str | None] = mapped_column(String(40))


# --------------------------------------------------------------------------- organisation

user_sites = Table(
    "user_sites",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class Site(Located, Timestamped, Base):
    """A school site (e.g. E2C Var TPM in Toulon)."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    opened_on: Mapped[dt.date | None] = mapped_column(Date)
    yearly_target: Mapped[int | None] = mapped_column(Integer)  # learners expected per year


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (_enum_check("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2; NULL for SSO-only
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    sites: Mapped[list[Site]] = relationship(secondary=user_sites, lazy="selectin")


class UserSession(Base):
    """A browser session (see crm/services/sessions.py): only the SHA-256 of its token is kept.

    The random token lives in the browser's signed HttpOnly cookie; the row says who it
    is, until when it is valid (idle timeout, moved forward at each request) and whether
    it was revoked (logout, account disabled, role/sites/password changed).
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # A single-use login ticket (SHA-256), exchanged once by the browser for the cookie.
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


# --------------------------------------------------------------------------- CRM


class Company(Located, Timestamped, Base):
    """One establishment (one SIRET) of a partner or prospect company."""

    __tablename__ = "companies"
    __table_args__ = (
        _enum_check("status", PartnerStatus),
        Index("ix_companies_siret", "siret"),
        Index("ix_companies_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    siret: Mapped[str | None] = mapped_column(String(14))
    naf: Mapped[str | None] = mapped_column(String(6))  # e.g. "47.11F"
    sector: Mapped[str | None] = mapped_column(String(120))
    size_band: Mapped[str | None] = mapped_column(String(20))  # INSEE "tranche d'effectif"
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default=PartnerStatus.PROSPECT.value)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"))
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Where the record came from: NULL = typed/imported by the school, "sirene" = the register.
    source: Mapped[str | None] = mapped_column(String(20))

    __mapper_args__ = {"version_id_col": version}

    site: Mapped[Site | None] = relationship()
    owner: Mapped[User | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(back_populates="company", order_by="Contact.id")
    offers: Mapped[list[Offer]] = relationship(back_populates="company", order_by="Offer.id")

    @property
    def siren(self) -> str | None:
        return self.siret[:9] if self.siret else None

    @hybrid_property
    def is_live(self) -> bool:
        """A live company: neither merged into another nor retired.

        Only live companies appear in lists, maps, matches, statistics and the
        geocoding worklist. On the class it is the SQL condition:
        ``select(Company).where(Company.is_live)``.
        """
        return self.merged_into_id is None and self.retired_at is None

    @is_live.inplace.expression
    @classmethod
    def _is_live_expression(cls):
        return and_(cls.merged_into_id.is_(None), cls.retired_at.is_(None))


class Establishment(Base):
    """One establishment of the national register (INSEE SIRENE), a prospecting lead.

    Reference data refreshed by ``passerelle import sirene``: never edited by hand;
    a company of the CRM is created from it on "Ajouter comme prospect".
    """

    __tablename__ = "establishments"
    __table_args__ = (Index("ix_establishments_active_lat_lon", "active", "latitude", "longitude"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    siret: Mapped[str] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(200))  # enseigne / usual name, else legal name
    legal_name: Mapped[str | None] = mapped_column(String(200))
    naf: Mapped[str | None] = mapped_column(String(6))  # "56.10A"
    size_band: Mapped[str | None] = mapped_column(String(2))  # INSEE tranche code ("11")
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(5))
    commune_code: Mapped[str | None] = mapped_column(String(5), index=True)
    commune_name: Mapped[str | None] = mapped_column(String(120))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    geo_precision: Mapped[str] = mapped_column(String(12), default=GeoPrecision.NONE.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source_date: Mapped[dt.date | None] = mapped_column(Date)  # date of the register file
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


class CompanyStatusChange(Base):
    """History of a company's partner status."""

    __tablename__ = "company_status_changes"
    __table_args__ = (
        # Statistics: each company's first move to "partner", read from the index alone.
        Index("ix_status_changes_to_company", "to_status", "company_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(10))
    to_status: Mapped[str] = mapped_column(String(10))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(String(200))


class Contact(Timestamped, Base):
    """A person at a company; tutors supervise learners during placements."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    first_name: Mapped[str | None] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    job_title: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    is_tutor: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    company: Mapped[Company] = relationship(back_populates="contacts")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


# The open follow-ups, as the statistics query writes them (`.is_(False)` renders IS 0 on
# SQLite): a partial index is used only when the query's WHERE implies its own.
OPEN_FOLLOWUP_SQLITE = "next_action_done IS 0 AND next_action_due IS NOT NULL"
OPEN_FOLLOWUP_POSTGRESQL = "next_action_done IS false AND next_action_due IS NOT NULL"


class Interaction(Timestamped, Base):
    """A logged contact with a company, with the next action to take."""

    __tablename__ = "interactions"
    __table_args__ = (
        _enum_check("kind", InteractionKind),
        Index("ix_interactions_company_date", "company_id", "occurred_at"),
        Index("ix_interactions_followup", "author_id", "next_action_done", "next_action_due"),
        # Statistics: the period's interactions per officer and week, read from the index alone.
        Index("ix_interactions_date_author", "occurred_at", "author_id", "company_id"),
        # Statistics: overdue follow-ups per officer from the open ones only (partial, covering).
        Index(
            "ix_interactions_overdue",
            "author_id",
            "company_id",
            "next_action_due",
            sqlite_where=text(OPEN_FOLLOWUP_SQLITE),
            postgresql_where=text(OPEN_FOLLOWUP_POSTGRESQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(10))
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    next_action: Mapped[str | None] = mapped_column(String(300))
    next_action_due: Mapped[dt.date | None] = mapped_column(Date)
    next_action_done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    company: Mapped[Company] = relationship()
    contact: Mapped[Contact | None] = relationship()
    author: Mapped[User | None] = relationship()


class Offer(Timestamped, Base):
    """Hosting capacity: seats a company offers for a job over a period."""

    __tablename__ = "offers"
    __table_args__ = (
        _enum_check("status", OfferStatus),
        CheckConstraint("seats >= 0", name="seats_non_negative"),
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="period_ordered",
        ),
        Index("ix_offers_status_period", "status", "start_date", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    rome_code: Mapped[str] = mapped_column(String(5), index=True)  # main job
    other_rome_codes: Mapped[str] = mapped_column(String(60), default="")  # ";"-separated
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    skills: Mapped[str] = mapped_column(Text, default="")  # ";"-separated labels
    seats: Mapped[int] = mapped_column(Integer, default=1)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    open_to_minors: Mapped[bool] = mapped_column(Boolean, default=True)
    tutor_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    status: Mapped[str] = mapped_column(String(10), default=OfferStatus.OPEN.value)
    paused_until: Mapped[dt.date | None] = mapped_column(Date)
    # Workplace when it differs from the company's address.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    company: Mapped[Company] = relationship(back_populates="offers")
    tutor: Mapped[Contact | None] = relationship()

    @property
    def rome_codes(self) -> list[str]:
        extra = [c for c in (self.other_rome_codes or "").split(";") if c]
        return [self.rome_code, *extra]

    @property
    def skill_list(self) -> list[str]:
        return split_list(self.skills)


class Learner(Located, Timestamped, Base):
    """A young adult in the course. Personal data: keep the minimum (see docs/DATA_PROTECTION.md)."""

    __tablename__ = "learners"
    __table_args__ = (
        _enum_check("status", LearnerStatus),
        _enum_check("exit_outcome", Outcome, nullable=True),
        CheckConstraint("max_commute_min IS NULL OR max_commute_min > 0", name="commute_positive"),
        Index("ix_learners_site_status", "site_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    referent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    exit_date: Mapped[dt.date | None] = mapped_column(Date)
    exit_outcome: Mapped[str | None] = mapped_column(String(16))
    project_rome_1: Mapped[str | None] = mapped_column(String(5))
    project_rome_2: Mapped[str | None] = mapped_column(String(5))
    project_rome_3: Mapped[str | None] = mapped_column(String(5))
    project_text: Mapped[str | None] = mapped_column(Text)
    skills: Mapped[str] = mapped_column(Text, default="")  # ";"-separated labels
    mobility: Mapped[str] = mapped_column(String(60), default="transit")  # ";"-separated modes
    max_commute_min: Mapped[int | None] = mapped_column(Integer, default=45)
    available_from: Mapped[dt.date | None] = mapped_column(Date)
    available_to: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=LearnerStatus.ACTIVE.value)
    support_notes: Mapped[str | None] = mapped_column(Text)  # trainers only, never officers
    anonymised_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    site: Mapped[Site] = relationship()
    referent: Mapped[User | None] = relationship()

    @property
    def project_codes(self) -> list[str]:
        return [c for c in (self.project_rome_1, self.project_rome_2, self.project_rome_3) if c]

    @property
    def skill_list(self) -> list[str]:
        return split_list(self.skills)

    @property
    def mobility_modes(self) -> list[str]:
        return split_list(self.mobility)

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


class Placement(Timestamped, Base):
    """A learner's period in a company (stage or PMSMP immersion)."""

    __tablename__ = "placements"
    __table_args__ = (
        _enum_check("status", PlacementStatus),
        _enum_check("kind", PlacementKind),
        _enum_check("outcome", Outcome, nullable=True),
        CheckConstraint("end_date >= start_date", name="period_ordered"),
        CheckConstraint(
            "tutor_rating IS NULL OR (tutor_rating BETWEEN 1 AND 5)", name="rating_range"
        ),
        Index("ix_placements_offer_status", "offer_id", "status"),
        Index("ix_placements_company_start", "company_id", "start_date"),
        # Statistics: companies with a placement in a period, read from the index alone.
        Index(
            "ix_placements_company_status_period", "company_id", "status", "start_date", "end_date"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id"))
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    tutor_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    kind: Mapped[str] = mapped_column(String(8), default=PlacementKind.PMSMP.value)
    rome_code: Mapped[str | None] = mapped_column(String(5))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=PlacementStatus.PROPOSED.value)
    booked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    tutor_rating: Mapped[int | None] = mapped_column(Integer)  # 1..5
    tutor_feedback: Mapped[str | None] = mapped_column(Text)
    skills_observed: Mapped[str] = mapped_column(Text, default="")
    incident: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    learner: Mapped[Learner] = relationship()
    offer: Mapped[Offer | None] = relationship()
    company: Mapped[Company] = relationship()
    tutor: Mapped[Contact | None] = relationship()


class PlacementPaperwork(Timestamped, Base):
    """The facts of a placement's agreement that the records do not hold, and its status.

    One row per placement (created when the paperwork is first prepared). Personal data
    kept to the minimum: the legal representative's name, phone and address for a minor.
    """

    __tablename__ = "placement_paperwork"
    __table_args__ = (
        _enum_check("status", PaperworkStatus),
        _enum_check("objective", PlacementObjective, nullable=True),
        Index("ix_placement_paperwork_status", "status"),
    )

    placement_id: Mapped[int] = mapped_column(
        ForeignKey("placements.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(12), default=PaperworkStatus.TO_PREPARE.value)
    objective: Mapped[str | None] = mapped_column(String(10))
    daily_hours: Mapped[str | None] = mapped_column(String(120))  # "9h00-12h00 et 13h30-17h00"
    weekly_hours: Mapped[float | None] = mapped_column(Float)  # hours per week
    weekly_schedule: Mapped[str | None] = mapped_column(String(200))  # "du lundi au vendredi"
    workplace: Mapped[str | None] = mapped_column(String(300))  # when not the company address
    activities: Mapped[str | None] = mapped_column(Text)
    risks: Mapped[str | None] = mapped_column(Text)
    protective_equipment: Mapped[str | None] = mapped_column(Text)
    legal_rep_name: Mapped[str | None] = mapped_column(String(160))
    legal_rep_phone: Mapped[str | None] = mapped_column(String(20))
    legal_rep_address: Mapped[str | None] = mapped_column(String(300))
    hours_done: Mapped[float | None] = mapped_column(Float)  # for the attestation
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class PaperworkSignature(Base):
    """Who signed a placement's agreement, on which date (one row per signer role)."""

    __tablename__ = "paperwork_signatures"
    __table_args__ = (
        _enum_check("role", SignerRole),
        UniqueConstraint("placement_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(12))
    signer_name: Mapped[str | None] = mapped_column(String(160))
    signed_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PaperworkScan(Base):
    """A scanned signed agreement (PDF bytes in the database: backed up, purged with the learner)."""

    __tablename__ = "paperwork_scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(
        ForeignKey("placements.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# --------------------------------------------------------------------------- platform


class AuditEvent(Base):
    """Append-only audit trail (database triggers refuse UPDATE and DELETE).

    Holds ids and field names only, never personal data values.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30), index=True)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict | None] = mapped_column(JSON)


class GeocodeCache(Base):
    """Normalised address -> coordinates, so an address is never geocoded twice."""

    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_key: Mapped[str] = mapped_column(String(400), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    precision: Mapped[str] = mapped_column(String(12))
    label: Mapped[str | None] = mapped_column(String(300))
    geocoded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Setting(Base):
    """Admin-editable settings (matching weights, retention, dormancy...)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict | list | str | int | float | None] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


def split_list(value: str | None) -> list[str]:
    """Split a ``;``-separated stored list, dropping blanks."""
    if not value:
        return []
    return [v.strip() for v in value.split(";") if v.strip()]


def join_list(values) -> str:
    """Inverse of :func:`split_list` (dedupes, keeps order)."""
    seen: dict[str, None] = {}
    for v in values or []:
        v = str(v).strip()
        if v and v.lower() not in {k.lower() for k in seen}:
            seen[v] = None
    return ";".join(seen)
