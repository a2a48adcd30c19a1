"""Domain errors. Messages are in French: the UI shows them as they are."""

from __future__ import annotations


class PasserelleError(Exception):
    """Base class for errors a user can act on."""


class NotFound(PasserelleError):
    pass


class PermissionDenied(PasserelleError):
    def __init__(self, message: str = "Accès refusé : votre rôle ou votre site ne le permet pas."):
        super().__init__(message)


class ValidationError(PasserelleError):
    """One or more fields are invalid. ``errors`` maps field -> French message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k} : {v}" for k, v in self.errors.items()))


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
