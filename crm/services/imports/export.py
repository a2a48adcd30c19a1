"""Export of the CRM tables (CSV/XLSX, re-importable) and the import templates."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import audit
from crm.auth import Actor, Perm, authorize
from crm.errors import ValidationError
from crm.models import Company, Contact, Interaction, Learner, Offer, Placement, Site
from crm.services.imports.columns import COLUMNS, KIND_FILE_STEMS, KINDS, template_headers

if TYPE_CHECKING:
    import pandas as pd

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_frame(session: Session, actor: Actor, kind: str) -> pd.DataFrame:
    """The rows of ``kind`` with the canonical import columns (re-importable)."""
    import pandas as pd

    authorize(actor, Perm.EXPORT)
    if kind not in KINDS:
        raise ValidationError(
            {"Type": f"Type d'export inconnu : choisissez parmi {', '.join(KINDS)}."}
        )
    cols = COLUMNS[kind]
    rows: list[dict] = []
    if kind == "sites":
        for s in session.scalars(select(Site).order_by(Site.name)):
            rows.append({c: getattr(s, c) for c in cols})
    elif kind == "companies":
        for c in session.scalars(select(Company).where(Company.is_live).order_by(Company.name)):
            d = {k: getattr(c, k) for k in cols if k != "site"}
            d["site"] = c.site.name if c.site else None
            rows.append(d)
    elif kind == "contacts":
        for ct in session.scalars(select(Contact).order_by(Contact.id)):
            d = {k: getattr(ct, k) for k in cols if k != "company_ref"}
            d["company_ref"] = ct.company.ref
            d["is_tutor"] = "oui" if ct.is_tutor else "non"
            rows.append(d)
    elif kind == "offers":
        for o in session.scalars(select(Offer).order_by(Offer.id)):
            d = {k: getattr(o, k) for k in cols if k not in ("company_ref", "rome")}
            d["company_ref"] = o.company.ref
            d["rome"] = ";".join(o.rome_codes)
            d["open_to_minors"] = "oui" if o.open_to_minors else "non"
            rows.append(d)
    elif kind == "learners":
        authorize(actor, Perm.LEARNER_READ)
        for lr in session.scalars(select(Learner).order_by(Learner.id)):
            if not actor.in_scope(lr.site_id) or lr.status == "anonymised":
                continue
            d = {k: getattr(lr, k) for k in cols if hasattr(lr, k) and k != "site"}
            d["site"] = lr.site.name
            d["project_rome"] = ";".join(lr.project_codes)
            rows.append(d)
    elif kind == "interactions":
        for i in session.scalars(select(Interaction).order_by(Interaction.occurred_at)):
            rows.append(
                {
                    "ref": i.ref,
                    "company_ref": i.company.ref,
                    "contact_ref": i.contact.ref if i.contact else None,
                    "date": i.occurred_at.date(),
                    "kind": i.kind,
                    "summary": i.summary,
                    "outcome": i.outcome,
                    "next_action": i.next_action,
                    "next_action_due": i.next_action_due,
                    "next_action_done": "oui" if i.next_action_done else "non",
                }
            )
    elif kind == "placements":
        authorize(actor, Perm.PLACEMENT_READ)
        for p in session.scalars(select(Placement).order_by(Placement.start_date)):
            if not actor.in_scope(p.learner.site_id):
                continue
            rows.append(
                {
                    "ref": p.ref,
                    "learner_ref": p.learner.ref,
                    "company_ref": p.company.ref,
                    "offer_ref": p.offer.ref if p.offer else None,
                    "kind": p.kind,
                    "rome": p.rome_code,
                    "start_date": p.start_date,
                    "end_date": p.end_date,
                    "status": p.status,
                }
            )
    df = pd.DataFrame(rows, columns=cols)
    for c in df.columns:
        df[c] = df[c].map(lambda x: x.isoformat() if isinstance(x, dt.date) else x)
    audit.record(session, actor, "export", kind, None, rows=len(df))
    return df


def export_bytes(session: Session, actor: Actor, kind: str, filename: str) -> bytes:
    from crm.spreadsheet import to_csv_bytes, to_xlsx_bytes

    df = export_frame(session, actor, kind)
    if filename.lower().endswith(".xlsx"):
        return to_xlsx_bytes({kind: df})
    return to_csv_bytes(df)


# Permissions an export of these kinds needs besides Perm.EXPORT (export_frame checks them).
EXPORT_EXTRA_PERMS = {"learners": Perm.LEARNER_READ, "placements": Perm.PLACEMENT_READ}


def exportable_kinds(actor: Actor) -> list[str]:
    """The kinds ``actor`` may export, in KINDS order."""
    if not actor.has(Perm.EXPORT):
        return []
    return [k for k in KINDS if k not in EXPORT_EXTRA_PERMS or actor.has(EXPORT_EXTRA_PERMS[k])]


def export_filename(kind: str, fmt: str) -> str:
    """French file name of an export: entreprises.csv, stagiaires.xlsx ..."""
    return f"{KIND_FILE_STEMS[kind]}.{fmt}"


def template_filename(kind: str, fmt: str) -> str:
    return f"modele_{KIND_FILE_STEMS[kind]}.{fmt}"


def template_bytes(kind: str, fmt: str = "csv") -> bytes:
    """An empty file with kind's French headers (CSV with ; and BOM, or XLSX).

    Importing it as is succeeds (no row, no unknown column); fill it in a spreadsheet.
    """
    import pandas as pd

    from crm.spreadsheet import to_csv_bytes, to_xlsx_bytes

    if kind not in KINDS:
        raise ValidationError({"Type": f"Type inconnu : choisissez parmi {', '.join(KINDS)}."})
    df = pd.DataFrame(columns=template_headers(kind))
    if fmt == "xlsx":
        return to_xlsx_bytes({KIND_FILE_STEMS[kind]: df})
    return to_csv_bytes(df)
