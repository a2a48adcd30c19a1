"""Deterministic demo data modelled on E2C Var (``passerelle demo``).

Everything is drawn from one seeded random generator and keyed by an external
``ref``: running the generator twice adds nothing the second time. Dates are
relative to ``today`` so that the demo always shows a living network (12 months
of contacts behind, offers ahead).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum import luhn

from crm.auth import hash_password
from crm.config import DATA_DIR
from crm.models import (
    Company,
    CompanyStatusChange,
    Contact,
    GeoPrecision,
    Interaction,
    InteractionKind,
    Learner,
    LearnerStatus,
    Offer,
    OfferStatus,
    Outcome,
    PartnerStatus,
    Placement,
    PlacementKind,
    PlacementStatus,
    Role,
    Site,
    Skill,
    User,
    join_list,
)
from crm.reference import find_commune, load_reference_tables

DEMO_PASSWORD = "passerelle-demo"
SEED = 2017  # the year E2C Var opened


@dataclass
class DemoReport:
    added: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, n: int = 1) -> None:
        self.added[kind] = self.added.get(kind, 0) + n

    def __str__(self) -> str:
        if not any(self.added.values()):
            return "Demo data already present: nothing added."
        return "Demo data added: " + ", ".join(f"{k}={v}" for k, v in sorted(self.added.items()))


def _inputs() -> dict:
    with (DATA_DIR / "demo" / "inputs.json").open(encoding="utf-8") as fh:
        return json.load(fh)


def make_siret(rng: random.Random, siren: str | None = None) -> str:
    """A SIRET that passes the Luhn check (SIREN kept when given)."""
    if siren is None:
        body = str(rng.randint(10_000_000, 99_999_999))
        siren = body + luhn.calc_check_digit(body)
    nic = f"{rng.randint(1, 9999):04d}"
    return siren + nic + luhn.calc_check_digit(siren + nic)


def make_phone(rng: random.Random, mobile: bool = False) -> str:
    first = rng.choice(["06", "07"]) if mobile else "04"
    second = rng.choice(["94", "98", "83"]) if not mobile else f"{rng.randint(10, 99)}"
    rest = " ".join(f"{rng.randint(0, 99):02d}" for _ in range(3))
    return f"{first} {second} {rest}"


def _jitter(rng: random.Random, lat: float, lon: float, km: float = 1.5) -> tuple[float, float]:
    dlat = rng.uniform(-km, km) / 111.0
    dlon = rng.uniform(-km, km) / 81.0  # ~ km per degree of longitude at 43°N
    return round(lat + dlat, 6), round(lon + dlon, 6)


class _Builder:
    def __init__(self, session: Session, today: dt.date):
        self.s = session
        self.today = today
        self.rng = random.Random(SEED)
        self.inp = _inputs()
        self.report = DemoReport()

    # -- helpers ---------------------------------------------------------------
    def add(self, obj) -> None:
        self.s.add(obj)
        self.report.count(type(obj).__tablename__)

    def place(self, city: str, jitter_km: float = 1.5) -> tuple[str, float, float]:
        commune = find_commune(city)
        if commune is None:
            raise RuntimeError(f"demo input names an unknown commune: {city}")
        lat, lon = _jitter(self.rng, commune.latitude, commune.longitude, jitter_km)
        return commune.postcodes[0], lat, lon

    def day(self, offset_days: int) -> dt.date:
        return self.today + dt.timedelta(days=offset_days)

    # -- parts -----------------------------------------------------------------
    def sites_and_users(self) -> None:
        existing_sites = set(self.s.scalars(select(Site.ref)))
        for sd in self.inp["sites"]:
            commune = find_commune(sd["city"], sd["postcode"])
            site = Site(
                ref=sd["ref"],
                name=sd["name"],
                address=sd["address"],
                postcode=sd["postcode"],
                city=sd["city"],
                latitude=commune.latitude,
                longitude=commune.longitude,
                geo_precision=GeoPrecision.COMMUNE.value,
                opened_on=dt.date.fromisoformat(sd["opened_on"]),
                yearly_target=sd["yearly_target"],
            )
            if site.ref not in existing_sites:
                self.add(site)
        self.s.flush()
        self.sites = {s.name: s for s in self.s.scalars(select(Site))}
        existing_users = set(self.s.scalars(select(User.username)))
        password_hash = None
        for ud in self.inp["users"]:
            if ud["username"] in existing_users:
                continue
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            self.s.add(
                User(
                    username=ud["username"],
                    role=Role(ud["role"]).value,
                    display_name=ud["display_name"],
                    password_hash=password_hash,
                    sites=[self.sites[n] for n in ud["sites"]],
                )
            )
            self.report.count("users")
        self.s.flush()
        users = list(self.s.scalars(select(User).order_by(User.id)))
        self.officers = {
            name: [
                u for u in users if u.role == Role.OFFICER and any(s.name == name for s in u.sites)
            ]
            for name in self.sites
        }
        self.trainers = {
            name: [
                u for u in users if u.role == Role.TRAINER and any(s.name == name for s in u.sites)
            ]
            for name in self.sites
        }

    def skills(self) -> None:
        known = set(self.s.scalars(select(Skill.label)))
        wanted = [s for labels in self.inp["job_skills"].values() for s in labels] + self.inp[
            "soft_skills"
        ]
        for label in dict.fromkeys(wanted):
            if label not in known:
                self.s.add(Skill(label=label, category="demo"))
                known.add(label)

    def _name(self, pattern: str, city: str) -> str:
        rng = self.rng
        return pattern.format(
            surname=rng.choice(self.inp["last_names"]),
            first=rng.choice(self.inp["first_names"]),
            noun=rng.choice(self.inp["nouns"]),
            plant=rng.choice(self.inp["plants"]),
            city=city,
        )

    def companies(self) -> None:
        rng = self.rng
        specs: list[dict] = []
        sirens: dict[str, str] = {}
        for p in self.inp["named_partners"]:
            specs.append({**p, "named": True})
        for chain in self.inp["chains"]:
            for city in chain["cities"]:
                site = next(s["name"] for s in self.inp["sites"] if city in s["communes"])
                specs.append(
                    {
                        "name": f"{chain['name']} {city}",
                        "site": site,
                        "city": city,
                        "naf": chain["naf"],
                        "sector": chain["sector"],
                        "size_band": "50-99",
                        "jobs": chain["jobs"],
                        "siren_group": chain["name"],
                    }
                )
        templates = self.inp["company_templates"]
        weights = [t["weight"] for t in templates]
        site_weights = [s["weight"] for s in self.inp["sites"]]
        for _ in range(118):
            t = rng.choices(templates, weights)[0]
            sd = rng.choices(self.inp["sites"], site_weights)[0]
            city = rng.choice(sd["communes"])
            specs.append(
                {
                    "name": self._name(rng.choice(t["names"]), city),
                    "site": sd["name"],
                    "city": city,
                    "naf": t["naf"],
                    "sector": t["sector"],
                    "size_band": rng.choice(["1-2", "3-5", "6-9", "10-19", "20-49"]),
                    "jobs": t["jobs"],
                    "minors_closed": t.get("minors_closed", 0.0),
                }
            )
        self.company_specs = []
        seen_names: set[str] = set()
        for i, spec in enumerate(specs, start=1):
            # Homonyms in one city would be confusing demo data: suffix them.
            if (spec["name"], spec["city"]) in seen_names:
                spec["name"] = f"{spec['name']} ({rng.choice(self.inp['streets']).split()[-1]})"
            seen_names.add((spec["name"], spec["city"]))
            group = spec.get("siren_group")
            siret = make_siret(rng, sirens.get(group) if group else None)
            if group:
                sirens.setdefault(group, siret[:9])
            postcode, lat, lon = self.place(spec["city"])
            named = spec.get("named", False)
            status = (
                PartnerStatus.PARTNER
                if named
                else rng.choices(list(PartnerStatus), [0.18, 0.14, 0.58, 0.10])[0]
            )
            officers = self.officers[spec["site"]]
            ref = f"DEMO-C{i:04d}"
            company = Company(
                ref=ref,
                name=spec["name"],
                siret=siret,
                naf=spec["naf"],
                sector=spec["sector"],
                size_band=spec["size_band"],
                address=f"{rng.randint(1, 180)} {rng.choice(self.inp['streets'])}",
                postcode=postcode,
                city=spec["city"],
                latitude=lat,
                longitude=lon,
                geo_precision=GeoPrecision.HOUSENUMBER.value,
                phone=make_phone(rng),
                email=f"contact{i}@exemple-entreprise.fr",
                website=None,
                status=status.value,
                site=self.sites[spec["site"]],
                owner=rng.choice(officers),
            )
            self.add(company)
            self.company_specs.append((ref, spec, status))
        self.s.flush()
        self.companies_by_ref = {c.ref: c for c in self.s.scalars(select(Company))}

    def contacts_history_interactions(self) -> None:
        rng = self.rng
        kinds = list(InteractionKind)
        summaries = self.inp["interaction_summaries"]
        for ref, _spec, status in self.company_specs:
            company = self.companies_by_ref[ref]
            n_contacts = rng.randint(1, 3)
            contacts: list[Contact] = []
            for j in range(n_contacts):
                first = rng.choice(self.inp["first_names"])
                last = rng.choice(self.inp["last_names"])
                contact = Contact(
                    ref=f"{ref}-P{j + 1}",
                    company_id=company.id,
                    first_name=first,
                    last_name=last,
                    job_title=rng.choice(
                        [
                            "Gérant(e)",
                            "Responsable RH",
                            "Chef d'équipe",
                            "Directeur(rice)",
                            "Responsable de magasin",
                        ]
                    ),
                    phone=make_phone(rng, mobile=True),
                    email=f"{first[0].lower()}.{last.lower().replace(' ', '')}{j}@exemple-entreprise.fr",
                    is_tutor=(j == 0) or rng.random() < 0.4,
                )
                self.add(contact)
                contacts.append(contact)
            self.s.flush()
            # Partner status history: prospect -> contacted -> partner (-> inactive).
            path = {
                PartnerStatus.PROSPECT: [],
                PartnerStatus.CONTACTED: [PartnerStatus.CONTACTED],
                PartnerStatus.PARTNER: [PartnerStatus.CONTACTED, PartnerStatus.PARTNER],
                PartnerStatus.INACTIVE: [
                    PartnerStatus.CONTACTED,
                    PartnerStatus.PARTNER,
                    PartnerStatus.INACTIVE,
                ],
            }[status]
            if path:
                previous = PartnerStatus.PROSPECT
                start = -rng.randint(200, 900)
                for k, nxt in enumerate(path):
                    self.s.add(
                        CompanyStatusChange(
                            company_id=company.id,
                            from_status=previous.value,
                            to_status=nxt.value,
                            changed_at=dt.datetime.combine(self.day(start + 60 * k), dt.time(10)),
                            changed_by_id=company.owner_id,
                            reason="Données de démonstration",
                        )
                    )
                    previous = nxt
            # Interactions over the last 12 months; dormant/inactive ones see fewer.
            n = {
                PartnerStatus.PROSPECT: rng.randint(0, 2),
                PartnerStatus.CONTACTED: rng.randint(1, 4),
                PartnerStatus.PARTNER: rng.randint(3, 12),
                PartnerStatus.INACTIVE: rng.randint(0, 1),
            }[status]
            offsets = sorted(rng.randint(-365, -1) for _ in range(n))
            if status == PartnerStatus.INACTIVE:
                offsets = [min(o, -200) for o in offsets]
            for k, off in enumerate(offsets):
                kind = rng.choices(kinds, [0.4, 0.2, 0.25, 0.1, 0.05])[0]
                last = k == len(offsets) - 1
                has_next = last or rng.random() < 0.3
                due = self.day(off + rng.randint(3, 45)) if has_next else None
                done = due is not None and (not last or due < self.day(-10) and rng.random() < 0.6)
                self.add(
                    Interaction(
                        ref=f"{ref}-I{k + 1:02d}",
                        company_id=company.id,
                        contact_id=rng.choice(contacts).id,
                        author_id=company.owner_id,
                        occurred_at=dt.datetime.combine(
                            self.day(off), dt.time(rng.randint(8, 17), rng.choice([0, 15, 30, 45]))
                        ),
                        kind=kind.value,
                        summary=rng.choice(summaries[kind.value]),
                        outcome=rng.choice(
                            [
                                "Intéressé",
                                "À relancer",
                                "Accord de principe",
                                "Pas de besoin pour l'instant",
                                None,
                            ]
                        ),
                        next_action=rng.choice(self.inp["next_actions"]) if has_next else None,
                        next_action_due=due,
                        next_action_done=bool(done),
                        done_at=dt.datetime.combine(due, dt.time(12)) if done else None,
                    )
                )
        self.s.flush()

    def offers(self) -> None:
        """Hosting capacity in quarterly waves: past ones (used), current and coming ones."""
        rng = self.rng
        self.offers_list: list[Offer] = []
        job_skills = self.inp["job_skills"]
        for ref, spec, status in self.company_specs:
            if status in (PartnerStatus.PROSPECT,):
                continue
            company = self.companies_by_ref[ref]
            tutors = [c for c in company.contacts if c.is_tutor] or company.contacts
            waves = (
                [-330, -240, -150, -60, 30, 120]
                if status != PartnerStatus.INACTIVE
                else [-330, -240]
            )
            n_jobs = 1 if len(spec["jobs"]) == 1 else rng.randint(1, min(2, len(spec["jobs"])))
            jobs = rng.sample(spec["jobs"], n_jobs)
            for w, start in enumerate(waves):
                if status == PartnerStatus.CONTACTED and start < 0:
                    continue
                for j, code in enumerate(jobs):
                    if rng.random() < 0.25:
                        continue
                    begin = self.day(start + rng.randint(-10, 10))
                    skills = rng.sample(job_skills[code[0]], min(2, len(job_skills[code[0]])))
                    skills += rng.sample(self.inp["soft_skills"], 1)
                    offer = Offer(
                        ref=f"{ref}-O{w + 1}{j + 1}",
                        company_id=company.id,
                        rome_code=code,
                        title=self.rome_label(code),
                        description=f"Accueil en immersion ({spec['sector'].lower()}) à {spec['city']}.",
                        skills=join_list(skills),
                        seats=rng.choices([1, 2, 3, 4], [0.45, 0.3, 0.15, 0.1])[0],
                        start_date=begin,
                        end_date=begin + dt.timedelta(days=rng.choice([60, 90, 120])),
                        open_to_minors=rng.random() >= spec.get("minors_closed", 0.0),
                        tutor_id=rng.choice(tutors).id if tutors else None,
                        status=OfferStatus.OPEN.value,
                    )
                    self.add(offer)
                    self.offers_list.append(offer)
        self.s.flush()
        self.offers_list = list(
            self.s.scalars(select(Offer).where(Offer.ref.like("DEMO-%")).order_by(Offer.id))
        )

    def rome_label(self, code: str) -> str:
        from crm.reference import rome_labels

        return rome_labels().get(code, code)

    def learners_and_placements(self) -> None:
        rng = self.rng
        site_defs = self.inp["sites"]
        weights = [s["weight"] for s in site_defs]
        job_codes = sorted({code for t in self.inp["company_templates"] for code in t["jobs"]})
        used: dict[int, int] = dict.fromkeys((o.id for o in self.offers_list), 0)
        skills_all = [s for v in self.inp["job_skills"].values() for s in v] + self.inp[
            "soft_skills"
        ]
        outcomes = [Outcome.EMPLOYMENT, Outcome.APPRENTICESHIP, Outcome.TRAINING, Outcome.NONE]
        for i in range(1, 205):
            sd = rng.choices(site_defs, weights)[0]
            site = self.sites[sd["name"]]
            entry = self.day(-rng.randint(0, 540))
            minor_now = rng.random() < 0.33
            age_now = rng.randint(16, 17) if minor_now else rng.randint(18, 25)
            birth = self.today - dt.timedelta(days=365 * age_now + rng.randint(0, 360))
            project = rng.sample(job_codes, rng.choice([1, 1, 2, 3]))
            city = rng.choice(sd["communes"])
            postcode, lat, lon = self.place(city, 2.0)
            exited = (self.today - entry).days > 200
            exit_date = entry + dt.timedelta(days=rng.randint(150, 200)) if exited else None
            outcome = rng.choices(outcomes, [0.25, 0.17, 0.20, 0.38])[0] if exited else None
            modes = rng.choices(
                [
                    ["transit", "walk"],
                    ["transit", "walk", "bike"],
                    ["scooter", "walk"],
                    ["car", "transit"],
                    ["walk"],
                ],
                [0.45, 0.15, 0.15, 0.15, 0.10],
            )[0]
            if age_now < 18 and "car" in modes:
                modes = ["transit", "walk"]
            avail_from = self.day(rng.randint(3, 45)) if not exited else None
            learner = Learner(
                ref=f"DEMO-L{i:04d}",
                site_id=site.id,
                referent_id=rng.choice(self.trainers[sd["name"]]).id,
                first_name=rng.choice(self.inp["first_names"]),
                last_name=rng.choice(self.inp["last_names"]),
                birth_date=birth,
                entry_date=entry,
                exit_date=exit_date,
                exit_outcome=outcome.value if outcome else None,
                address=f"{rng.randint(1, 120)} {rng.choice(self.inp['streets'])}",
                postcode=postcode,
                city=city,
                latitude=lat,
                longitude=lon,
                geo_precision=GeoPrecision.HOUSENUMBER.value,
                project_rome_1=project[0],
                project_rome_2=project[1] if len(project) > 1 else None,
                project_rome_3=project[2] if len(project) > 2 else None,
                project_text=self.inp["project_texts"].get(project[0][0]),
                skills=join_list(rng.sample(skills_all, rng.randint(2, 5))),
                mobility=join_list(modes),
                max_commute_min=rng.choice([30, 45, 45, 60]),
                available_from=avail_from,
                available_to=avail_from + dt.timedelta(days=rng.choice([30, 60, 90]))
                if avail_from
                else None,
                status=(LearnerStatus.EXITED if exited else LearnerStatus.ACTIVE).value,
            )
            self.add(learner)
            self.s.flush()
            self._placements_for(learner, sd, used, outcome)
        self.s.flush()

    def _placements_for(self, learner: Learner, sd: dict, used: dict[int, int], outcome) -> None:
        rng = self.rng
        site_cities = set(sd["communes"])
        end_of_course = learner.exit_date or self.today
        cursor = learner.entry_date + dt.timedelta(days=rng.randint(20, 40))
        k = 0
        while cursor < end_of_course and k < 3:
            length = rng.choice([14, 14, 21, 28])
            end = cursor + dt.timedelta(days=length)
            fits = [
                o
                for o in self.offers_list
                if o.start_date <= cursor
                and o.end_date >= end
                and used[o.id] < o.seats
                and self.companies_by_ref_id(o.company_id).city in site_cities
                and (o.open_to_minors or (learner.age_on(cursor) or 18) >= 18)
            ]
            matching = [o for o in fits if o.rome_code in learner.project_codes]
            pool = (
                matching
                or [o for o in fits if o.rome_code[0] in {c[0] for c in learner.project_codes}]
                or fits
            )
            if pool:
                offer = rng.choice(pool)
                used[offer.id] += 1
                k += 1
                if end < self.today:
                    status = PlacementStatus.DONE
                elif cursor <= self.today:
                    status = PlacementStatus.IN_PROGRESS
                else:
                    status = PlacementStatus.CONFIRMED
                cancelled = status == PlacementStatus.DONE and rng.random() < 0.06
                last = end + dt.timedelta(days=30) >= end_of_course
                self.add(
                    Placement(
                        ref=f"{learner.ref}-S{k}",
                        learner_id=learner.id,
                        offer_id=offer.id,
                        company_id=offer.company_id,
                        tutor_id=offer.tutor_id,
                        kind=rng.choice(
                            [PlacementKind.PMSMP, PlacementKind.PMSMP, PlacementKind.STAGE]
                        ).value,
                        rome_code=offer.rome_code,
                        start_date=cursor,
                        end_date=end,
                        status=(PlacementStatus.CANCELLED if cancelled else status).value,
                        booked_by_id=learner.referent_id,
                        tutor_rating=rng.choices([2, 3, 4, 5], [0.1, 0.25, 0.4, 0.25])[0]
                        if status == PlacementStatus.DONE and not cancelled
                        else None,
                        tutor_feedback="Stagiaire motivé(e), à encourager."
                        if status == PlacementStatus.DONE
                        else None,
                        skills_observed=join_list(offer.skill_list[:2])
                        if status == PlacementStatus.DONE
                        else "",
                        incident=cancelled and rng.random() < 0.5,
                        outcome=outcome.value
                        if (outcome and last and status == PlacementStatus.DONE and not cancelled)
                        else None,
                        cancel_reason="Absences répétées" if cancelled else None,
                    )
                )
            cursor = end + dt.timedelta(days=rng.randint(30, 60))

    def companies_by_ref_id(self, company_id: int) -> Company:
        if not hasattr(self, "_company_by_id"):
            self._company_by_id = {c.id: c for c in self.companies_by_ref.values()}
        return self._company_by_id[company_id]


def load_demo(session: Session, today: dt.date | None = None) -> DemoReport:
    """Create (or complete) the demo data set in the caller's transaction."""
    builder = _Builder(session, today or dt.date.today())
    added = load_reference_tables(session)
    for kind, n in added.items():
        if n:
            builder.report.count(kind, n)
    builder.sites_and_users()
    builder.skills()
    if session.scalar(select(Company.id).where(Company.ref == "DEMO-C0001")) is not None:
        return builder.report  # the generated network is there already
    builder.companies()
    builder.contacts_history_interactions()
    builder.offers()
    builder.learners_and_placements()
    session.flush()
    from crm.services.paperwork import demo_paperwork

    builder.report.count("placement paperwork", demo_paperwork(session))
    return builder.report
