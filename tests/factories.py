"""One way to make the records tests need: a company, an offer, a learner, a placement.

Plain functions taking the session (and the owning record); keyword arguments
override any default. They flush, never commit: the test owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid

from crm.auth import Actor
from crm.models import Company, Learner, Offer, Placement, PlacementStatus, Role, Site, User
from crm.services.learners import create_learner

TODAY = dt.date.today()
# A two-week period two weeks ahead, free of the default offers' constraints.
START = TODAY + dt.timedelta(days=14)
END = START + dt.timedelta(days=13)
# The date the demo data set is generated for (session-scoped demo databases).
DEMO_TODAY = dt.date(2026, 11, 23)


def make_company(session, site, name="Épicerie du Port", **kw) -> Company:
    values = dict(status="partner", latitude=43.1230, longitude=5.9300, geo_precision="address")
    values.update(kw)
    c = Company(name=name, site_id=site.id if site is not None else None, **values)
    session.add(c)
    session.flush()
    return c


def make_offer(session, company, seats=1, code="D1106", **kw) -> Offer:
    values = dict(
        title="Vente en alimentation",
        skills="Hygiène (HACCP);Ponctualité",
        start_date=TODAY + dt.timedelta(days=7),
        end_date=TODAY + dt.timedelta(days=90),
    )
    values.update(kw)
    o = Offer(company_id=company.id, rome_code=code, seats=seats, **values)
    session.add(o)
    session.flush()
    return o


def make_learner(session, site, **kw) -> Learner:
    values = dict(
        first_name="Inès",
        last_name="Martin",
        birth_date=dt.date(2004, 5, 2),
        city="Toulon",
        postcode="83000",
        latitude=43.1197,
        longitude=5.9328,
        project_rome_1="D1106",
        mobility="transit;walk",
        max_commute_min=45,
        available_from=TODAY + dt.timedelta(days=7),
        available_to=TODAY + dt.timedelta(days=60),
    )
    values.update(kw)
    lr = Learner(site_id=site.id, **values)
    session.add(lr)
    session.flush()
    return lr


def make_placement(session, learner, offer, **kw) -> Placement:
    values = dict(
        status=PlacementStatus.CONFIRMED.value,
        start_date=offer.start_date,
        end_date=offer.start_date + dt.timedelta(days=13),
    )
    values.update(kw)
    p = Placement(learner_id=learner.id, offer_id=offer.id, company_id=offer.company_id, **values)
    session.add(p)
    session.flush()
    return p


def make_actor(session, role: Role | str, *sites: Site, username: str | None = None) -> Actor:
    """Create a user of ``role`` on ``sites`` and return its Actor."""
    role = Role(role)
    user = User(
        username=username or f"{role.value}-{uuid.uuid4().hex[:6]}",
        role=role.value,
        sites=list(sites),
    )
    session.add(user)
    session.flush()
    return Actor.from_user(user)


def register_learner(session, trainer, site, **kw) -> Learner:
    """A learner saved through the service as a trainer would (validated, located)."""
    values = dict(
        first_name="Inès",
        last_name="Martin",
        birth_date=dt.date(2004, 5, 2),
        city="Toulon",
        postcode="83000",
        project_rome_1="D1106",
        skills="hygiène HACCP",
        mobility="transit;walk",
        max_commute_min=45,
        available_from=TODAY + dt.timedelta(days=7),
        available_to=TODAY + dt.timedelta(days=60),
        support_notes="Suivi renforcé",
    )
    values.update(kw)
    return create_learner(session, trainer, site.id, **values)
