"""Domain errors. Messages are in French: the UI shows them as they are."""

from __future__ import annotations

from collections.abc import Mapping


class PasserelleError(Exception):
    """Base class for errors a user can act on."""


class NotFound(PasserelleError):
    pass


class PermissionDenied(PasserelleError):
    def __init__(self, message: str = "Accès refusé : votre rôle ou votre site ne le permet pas."):
        super().__init__(message)


class ValidationError(PasserelleError):
    """One or more fields are invalid. ``errors`` maps field -> French message.

    Fields are keyed by their English name (``"siret"``, ``"end_date"``); ``labels`` gives
    the French names of that kind of record (e.g. ``crm.labels.COMPANY_FIELD_FR``), else
    ``crm.labels.field_label`` applies. ``label(field)``, ``labelled()`` and ``str()`` are
    the one place where a key becomes French (a key with no label is shown as is).
    """

    def __init__(self, errors: Mapping[str, str], labels: Mapping[str, str] | None = None):
        self.errors = dict(errors)
        self.labels = dict(labels or {})
        super().__init__("; ".join(f"{k} : {v}" for k, v in self.labelled().items()))

    def label(self, field: str) -> str:
        """The French name of ``field`` as users see it."""
        from crm.labels import field_label

        return self.labels.get(field) or field_label(field)

    def labelled(self) -> dict[str, str]:
        """{French field name: message} (what reports and messages show)."""
        return {self.label(k): m for k, m in self.errors.items()}


class ConcurrentEditError(PasserelleError):
    def __init__(
        self,
        message: str = "Modifié par quelqu'un d'autre entre-temps : rechargez la fiche puis refaites votre modification.",
    ):
        super().__init__(message)


class CapacityError(PasserelleError):
    """No free seat left (booking refused)."""


class DatabaseUnavailable(PasserelleError):
    """The database connection was lost in the middle of a unit of work (rolled back)."""


class AuthenticationError(PasserelleError):
    pass
