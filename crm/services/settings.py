"""Admin-editable settings stored in the ``settings`` table, with defaults.

Reading is open to every service (the matcher reads its weights, the purge its
retention); writing needs ``Perm.SETTINGS_ADMIN`` and is audited (key only: a
setting never holds personal data, but the audit trail records what changed,
not values).
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.orm import Session

from crm import audit
from crm.auth import Actor, Perm, authorize
from crm.errors import ValidationError
from crm.models import Setting

MATCHING_WEIGHTS = "matching_weights"
RETENTION_MONTHS = "retention_months"
DORMANT_MONTHS = "dormant_months"
SCHOOL_NAME = "school_name"  # printed on conventions, attestations and evaluations
SCHOOL_LOGO = "school_logo"  # optional PNG/JPEG logo, base64 text ("" = none)
LOGO_MAX_BYTES = 512 * 1024

DEFAULTS: dict[str, Any] = {
    # Relative weights of the matching criteria (normalised by the matcher).
    MATCHING_WEIGHTS: {"project": 0.4, "commute": 0.3, "skills": 0.2, "availability": 0.1},
    # Learners are anonymised this many months after their exit (follow-up period).
    RETENTION_MONTHS: 24,
    # A partner without contact for this many months is "dormant".
    DORMANT_MONTHS: 6,
    SCHOOL_NAME: "École de la 2e Chance",
    SCHOOL_LOGO: "",
}


def _validate_months(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValidationError({key: "un nombre entier de mois est attendu."})
    value = int(value)
    if not low <= value <= high:
        raise ValidationError({key: f"entre {low} et {high} mois."})
    return value


def _validate_weights(value: Any) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise ValidationError({MATCHING_WEIGHTS: "un objet JSON {critère: poids} est attendu."})
    unknown = sorted(set(value) - set(DEFAULTS[MATCHING_WEIGHTS]))
    if unknown:
        raise ValidationError({MATCHING_WEIGHTS: f"critère(s) inconnu(s) : {', '.join(unknown)}."})
    out: dict[str, float] = {}
    for name, weight in value.items():
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise ValidationError(
                {MATCHING_WEIGHTS: f"le poids de « {name} » doit être un nombre positif ou nul."}
            )
        out[name] = float(weight)
    if sum(out.values()) <= 0:
        raise ValidationError({MATCHING_WEIGHTS: "au moins un poids doit être positif."})
    return {**{k: 0.0 for k in DEFAULTS[MATCHING_WEIGHTS]}, **out}


def _validate_school_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({SCHOOL_NAME: "le nom de l'école est obligatoire."})
    if len(value.strip()) > 200:
        raise ValidationError({SCHOOL_NAME: "200 caractères au plus."})
    return " ".join(value.split())


def _validate_logo(value: Any) -> str:
    """A PNG or JPEG image as base64 text; "" removes the logo."""
    import base64
    import binascii

    if value in (None, ""):
        return ""
    if isinstance(value, bytes | bytearray):
        data = bytes(value)
    else:
        try:
            data = base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError({SCHOOL_LOGO: "image illisible."}) from None
    if len(data) > LOGO_MAX_BYTES:
        raise ValidationError({SCHOOL_LOGO: "logo trop volumineux (512 Ko au plus)."})
    if not (data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff")):
        raise ValidationError({SCHOOL_LOGO: "une image PNG ou JPEG est attendue."})
    return base64.b64encode(data).decode("ascii")


VALIDATORS = {
    SCHOOL_NAME: _validate_school_name,
    SCHOOL_LOGO: _validate_logo,
    MATCHING_WEIGHTS: _validate_weights,
    RETENTION_MONTHS: lambda v: _validate_months(RETENTION_MONTHS, v, 1, 120),
    DORMANT_MONTHS: lambda v: _validate_months(DORMANT_MONTHS, v, 1, 60),
}


def get_setting(session: Session, key: str) -> Any:
    """The stored value, or the default."""
    if key not in DEFAULTS:
        raise KeyError(key)
    row = session.get(Setting, key)
    return DEFAULTS[key] if row is None or row.value is None else row.value


def all_settings(session: Session) -> dict[str, Any]:
    return {key: get_setting(session, key) for key in DEFAULTS}


def set_setting(session: Session, actor: Actor, key: str, value: Any) -> Any:
    """Validate and store a setting (admin only); returns the stored value."""
    authorize(actor, Perm.SETTINGS_ADMIN)
    if key not in VALIDATORS:
        raise ValidationError({key: "paramètre inconnu."})
    value = VALIDATORS[key](value)
    row = session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        session.add(row)
    row.value = value
    row.updated_by_id = actor.user_id
    audit.record(session, actor, "update", "setting", None, key=key)
    session.flush()
    return value
