"""Uploaded files: size limit (settings.max_upload_mb) checked before any parsing."""

from __future__ import annotations

from crm.config import get_settings
from crm.errors import ValidationError


def max_upload_bytes() -> int:
    return get_settings().max_upload_mb * 1024 * 1024


def check_upload_size(data: bytes | bytearray | memoryview | int, field: str = "fichier") -> None:
    """Raise ValidationError if an upload (bytes, or its size) is over the limit."""
    size = data if isinstance(data, int) else len(data)
    limit_mb = get_settings().max_upload_mb
    if size > max_upload_bytes():
        raise ValidationError(
            {field: f"fichier trop volumineux ({size / 1048576:.1f} Mo) : {limit_mb} Mo au plus."}
        )
    if size == 0:
        raise ValidationError({field: "le fichier est vide."})
