"""Who is acting, and what each role may do: :class:`Actor`, :class:`Perm`, ``SYSTEM``.

A leaf module (it imports only crm.models) so that crm.audit and crm.auth can both
use it without importing each other. ``crm.auth`` re-exports every name, so
``from crm.auth import Actor, Perm, SYSTEM`` keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from crm.models import Role, User


class Perm(StrEnum):
    COMPANY_READ = "company.read"
    COMPANY_WRITE = "company.write"  # companies, contacts, offers
    COMPANY_MERGE = "company.merge"
    INTERACTION_WRITE = "interaction.write"
    LEARNER_READ_BASIC = "learner.read_basic"  # name, project, site: what placing needs
    LEARNER_READ = "learner.read"  # the whole profile, support notes included
    LEARNER_WRITE = "learner.write"
    PLACEMENT_READ = "placement.read"
    PLACEMENT_WRITE = "placement.write"
    STATS_READ = "stats.read"
    IMPORT = "data.import"
    EXPORT = "data.export"
    USER_ADMIN = "user.admin"
    SETTINGS_ADMIN = "settings.admin"
    AUDIT_READ = "audit.read"
    PURGE = "data.purge"
    LEARNER_EXPORT = "learner.export"  # a learner's whole data set (access requests)


ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.OFFICER: frozenset(
        {
            Perm.COMPANY_READ,
            Perm.COMPANY_WRITE,
            Perm.COMPANY_MERGE,
            Perm.INTERACTION_WRITE,
            Perm.LEARNER_READ_BASIC,
            Perm.PLACEMENT_READ,
            Perm.IMPORT,
            Perm.EXPORT,
        }
    ),
    Role.TRAINER: frozenset(
        {
            Perm.COMPANY_READ,
            Perm.INTERACTION_WRITE,
            Perm.LEARNER_READ_BASIC,
            Perm.LEARNER_READ,
            Perm.LEARNER_WRITE,
            Perm.PLACEMENT_READ,
            Perm.PLACEMENT_WRITE,
            Perm.IMPORT,
            Perm.EXPORT,
        }
    ),
    Role.MANAGER: frozenset(
        {
            Perm.COMPANY_READ,
            Perm.LEARNER_READ_BASIC,
            Perm.LEARNER_READ,
            Perm.PLACEMENT_READ,
            Perm.STATS_READ,
            Perm.EXPORT,
            Perm.LEARNER_EXPORT,
        }
    ),
    Role.ADMIN: frozenset(Perm),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user or a command-line job."""

    user_id: int | None
    username: str
    role: Role
    site_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def has(self, perm: Perm) -> bool:
        return perm in ROLE_PERMISSIONS[self.role]

    def in_scope(self, site_id: int | None) -> bool:
        """Admins see every site; others their own (``None`` = not site-bound)."""
        return self.is_admin or site_id is None or site_id in self.site_ids

    @classmethod
    def from_user(cls, user: User) -> Actor:
        return cls(user.id, user.username, Role(user.role), frozenset(s.id for s in user.sites))


# The identity of batch jobs run from the command line by the server's operator.
SYSTEM = Actor(user_id=None, username="system", role=Role.ADMIN)
