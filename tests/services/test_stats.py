"""Statistics (crm.services.stats) against hand-computed figures on a small network, on both databases.

The fixture (period 2026-01-01 → 2026-06-30, "today" 2026-07-15):

Companies (site, NAF → section, status, first change to partner)
  C1 Alpha   TPM   47.11F → G  partner    2026-02-10 (new)
  C2 Beta    TPM   56.10A → I  partner    2024-05-01 (no activity since: dormant)
  C3 Gamma   TPM   43.21A → F  contacted
  C4 Delta   CAVEM 47.30Z → G  partner    2026-06-30 12:00 (new, last day)
  C5 Epsilon CAVEM (no NAF)    prospect
  C6 Zeta    TPM   47.11F      partner, retired (left out of partner counts)
Offers (company, ROME, seats, period)
  O1 C1 D1106 2 seats 2026-01-01..03-31   O2 C1 G1603 1 seat 2026-04-01..06-30
  O3 C2 G1603 1 seat  2025-01-01..03-31 (before the period)
  O4 C4 D1106 3 seats 2026-02-01..12-31   O5 C3 F1602 1 seat 2026-05-01..05-31 (never used)
Learners (site, entry, exit, outcome) and placements (offer, start, status)
  L1 TPM   2026-01-05  exit 05-30 employment      P1 O1 02-04 done
  L2 TPM   2026-02-01                             P2 O1 03-13 done, P3 O2 05-04 cancelled
  L3 TPM   2025-11-01  exit 06-15 training        P4 O2 04-10 confirmed
  L4 CAVEM 2026-03-01                             P5 O4 03-21 done, P6 O4 06-25 in progress
  L5 CAVEM 2026-04-01  exit 06-30 (no outcome)
  L6 CAVEM 2026-07-01                             P7 O4 07-10 proposed
  L7 TPM   2026-03-10  exit 06-01 apprenticeship  P8 C3 (no offer, F1602) 03-15 done
Interactions (officer, company, when, follow-up due, done)
  I1 Alice C3 2026-03-04 10:00 due 07-01 open   I2 Alice C3 2026-03-08 18:00 (Sunday) due 07-20
  I3 Alice C1 2026-03-09 09:00 due 04-01 done   I4 Bruno C4 2025-08-01 due 2025-08-15 open
  I5 Bruno C4 2026-01-01 00:00 (ISO week 2026-W01, Monday 2025-12-29)
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from crm.errors import PermissionDenied, ValidationError
from crm.labels import STAT_COLUMN_FR
from crm.models import (
    AuditEvent,
    Company,
    CompanyStatusChange,
    Interaction,
    Learner,
    Offer,
    Placement,
    Role,
    User,
)
from crm.services.stats import (
    OUTCOME_COLUMNS,
    StatsFilters,
    capacity,
    dashboard,
    french_columns,
    kpis,
    officer_activity,
    outcomes,
    overdue_followups,
    partners_by_domain,
    partners_by_sector,
    period_preset,
    placements_by_job,
    placements_by_month,
    placements_by_site,
    record_export,
    school_report,
    unused_offers,
)
from tests.factories import make_actor
from tests.support.cli import run_cli

D = dt.date
FROM, TO, TODAY = D(2026, 1, 1), D(2026, 6, 30), D(2026, 7, 15)


def _at(y, m, d, h=10, mi=0):
    return dt.datetime(y, m, d, h, mi)


@pytest.fixture
def network(session, sites):
    tpm, cavem = sites
    tpm.opened_on, tpm.yearly_target = D(2017, 3, 13), 90
    cavem.opened_on, cavem.yearly_target = D(2017, 6, 26), 45
    alice = User(username="alice", display_name="Alice", role="officer", sites=[tpm])
    bruno = User(username="bruno", display_name="Bruno", role="officer", sites=[cavem])
    session.add_all([alice, bruno])
    session.flush()

    def company(name, site, naf, status, **kw):
        c = Company(name=name, site_id=site.id, naf=naf, status=status, **kw)
        session.add(c)
        session.flush()
        return c

    c1 = company("Alpha", tpm, "47.11F", "partner", latitude=43.12, longitude=5.93)
    c2 = company("Beta", tpm, "56.10A", "partner", latitude=43.13, longitude=5.94)
    c3 = company("Gamma", tpm, "43.21A", "contacted")
    c4 = company("Delta", cavem, "47.30Z", "partner", latitude=43.43, longitude=6.74)
    c5 = company("Epsilon", cavem, None, "prospect")
    company("Zeta", tpm, "47.11F", "partner", retired_at=_at(2026, 1, 2))
    for c, when in ((c1, _at(2026, 2, 10)), (c2, _at(2024, 5, 1)), (c4, _at(2026, 6, 30, 12))):
        session.add(
            CompanyStatusChange(
                company_id=c.id, from_status="contacted", to_status="partner", changed_at=when
            )
        )

    def offer(c, code, seats, start, end):
        o = Offer(
            company_id=c.id, rome_code=code, title=code, seats=seats, start_date=start, end_date=end
        )
        session.add(o)
        session.flush()
        return o

    o1 = offer(c1, "D1106", 2, D(2026, 1, 1), D(2026, 3, 31))
    o2 = offer(c1, "G1603", 1, D(2026, 4, 1), D(2026, 6, 30))
    offer(c2, "G1603", 1, D(2025, 1, 1), D(2025, 3, 31))
    o4 = offer(c4, "D1106", 3, D(2026, 2, 1), D(2026, 12, 31))
    offer(c3, "F1602", 1, D(2026, 5, 1), D(2026, 5, 31))

    def learner(site, entry, exit_date=None, outcome=None):
        lr = Learner(
            site_id=site.id,
            first_name="X",
            last_name="Y",
            entry_date=entry,
            exit_date=exit_date,
            exit_outcome=outcome,
            status="exited" if exit_date else "active",
        )
        session.add(lr)
        session.flush()
        return lr

    l1 = learner(tpm, D(2026, 1, 5), D(2026, 5, 30), "employment")
    l2 = learner(tpm, D(2026, 2, 1))
    l3 = learner(tpm, D(2025, 11, 1), D(2026, 6, 15), "training")
    l4 = learner(cavem, D(2026, 3, 1))
    learner(cavem, D(2026, 4, 1), D(2026, 6, 30), None)
    l6 = learner(cavem, D(2026, 7, 1))
    l7 = learner(tpm, D(2026, 3, 10), D(2026, 6, 1), "apprenticeship")

    def placement(lr, o, start, status, company=None, code=None):
        session.add(
            Placement(
                learner_id=lr.id,
                offer_id=o.id if o else None,
                company_id=o.company_id if o else company.id,
                rome_code=o.rome_code if o else code,
                start_date=start,
                end_date=start + dt.timedelta(days=14),
                status=status,
            )
        )

    placement(l1, o1, D(2026, 2, 4), "done")
    placement(l2, o1, D(2026, 3, 13), "done")
    placement(l2, o2, D(2026, 5, 4), "cancelled")
    placement(l3, o2, D(2026, 4, 10), "confirmed")
    placement(l4, o4, D(2026, 3, 21), "done")
    placement(l4, o4, D(2026, 6, 25), "in_progress")
    placement(l6, o4, D(2026, 7, 10), "proposed")
    placement(l7, None, D(2026, 3, 15), "done", company=c3, code="F1602")

    def interaction(author, c, when, due=None, done=False):
        session.add(
            Interaction(
                company_id=c.id,
                author_id=author.id,
                occurred_at=when,
                kind="call",
                summary="Appel",
                next_action_due=due,
                next_action_done=done,
            )
        )

    interaction(alice, c3, _at(2026, 3, 4), D(2026, 7, 1))
    interaction(alice, c3, _at(2026, 3, 8, 18), D(2026, 7, 20))
    interaction(alice, c1, _at(2026, 3, 9, 9), D(2026, 4, 1), done=True)
    interaction(bruno, c4, _at(2025, 8, 1), D(2025, 8, 15))
    interaction(bruno, c4, _at(2026, 1, 1, 0))
    session.commit()
    return {"tpm": tpm, "cavem": cavem, "c5": c5}


@pytest.fixture
def manager(session, network):
    return make_actor(session, Role.MANAGER, network["tpm"], network["cavem"])


def _filters(**kw):
    return StatsFilters(FROM, TO, today=TODAY, **kw)


def _records(df):
    return df.astype(object).where(df.notna(), None).to_dict(orient="records")


def test_school_report_per_site_with_prorated_target_and_totals(session, manager):
    rows = _records(school_report(session, manager, _filters()))
    assert rows == [
        {
            "site": "CAVEM",
            "opened_on": D(2017, 6, 26),
            "learners_entered": 2,
            "target": 22,  # round(45 * 181 / 365)
            "host_companies": 1,
        },
        {
            "site": "TPM",
            "opened_on": D(2017, 3, 13),
            "learners_entered": 3,
            "target": 45,  # round(90 * 181 / 365)
            "host_companies": 2,  # Alpha, Gamma (confirmed P4 not hosted yet)
        },
        {
            "site": "Total",
            "opened_on": None,
            "learners_entered": 5,
            "target": 67,
            "host_companies": 3,
        },
    ]
    # A whole year keeps the yearly target as is.
    year = school_report(session, manager, StatsFilters(D(2026, 1, 1), D(2026, 12, 31)))
    assert list(year["target"]) == [45, 90, 135]
    assert list(year["learners_entered"]) == [3, 3, 6]


def test_partners_by_sector_active_new_dormant(session, manager):
    rows = _records(partners_by_sector(session, manager, _filters()))
    cols = ["companies", "partners", "active_companies", "new_partners"]
    got = {r["section"]: [r[c] for c in cols] + [r["dormant_partners"]] for r in rows}
    assert got == {
        "F": [1, 0, 1, 0, 0],  # Gamma: contacts and a placement
        "G": [2, 2, 2, 2, 0],  # Alpha, Delta (retired Zeta left out)
        "I": [1, 1, 0, 0, 1],  # Beta: partner, nothing in 12 months
        "?": [1, 0, 0, 0, 0],  # Epsilon without NAF code
        "Total": [5, 3, 3, 2, 1],
    }
    assert [r["section"] for r in rows] == ["F", "G", "I", "?", "Total"]
    assert rows[1]["sector"].startswith("Commerce")


def test_partners_by_rome_domain_of_offers(session, manager):
    rows = _records(partners_by_domain(session, manager, _filters()))
    cols = ["companies", "partners", "active_companies", "new_partners"]
    got = {r["domain"]: [r[c] for c in cols] + [r["dormant_partners"]] for r in rows}
    assert got == {
        "D": [2, 2, 2, 2, 0],  # Alpha, Delta
        "F": [1, 0, 1, 0, 0],  # Gamma
        "G": [2, 2, 1, 1, 1],  # Alpha, Beta
    }


def _partner_counts(df, key):
    cols = ["companies", "partners", "active_companies", "new_partners"]
    return {r[key]: [r[c] for c in cols] + [r["dormant_partners"]] for r in _records(df)}


@pytest.mark.parametrize(
    ("scope", "sector", "by_sector", "by_domain"),
    [
        (
            ("tpm", "cavem"),
            None,
            {
                "F": [1, 0, 1, 0, 0],
                "G": [2, 2, 2, 2, 0],
                "I": [1, 1, 0, 0, 1],
                "?": [1, 0, 0, 0, 0],
                "Total": [5, 3, 3, 2, 1],
            },
            {"D": [2, 2, 2, 2, 0], "F": [1, 0, 1, 0, 0], "G": [2, 2, 1, 1, 1]},
        ),
        (
            ("tpm", "cavem"),
            "G",
            {"G": [2, 2, 2, 2, 0], "Total": [2, 2, 2, 2, 0]},
            {"D": [2, 2, 2, 2, 0], "G": [1, 1, 1, 1, 0]},  # Alpha and Delta; Alpha only in G
        ),
        (
            ("cavem",),
            None,
            {"G": [1, 1, 1, 1, 0], "?": [1, 0, 0, 0, 0], "Total": [2, 1, 1, 1, 0]},
            {"D": [1, 1, 1, 1, 0]},  # Delta
        ),
    ],
)
def test_dashboard_partner_tables_share_one_computation_with_the_same_figures(
    session, network, scope, sector, by_sector, by_domain
):
    # The dashboard computes the partner flags once for both tables (partner_tables):
    # the figures are the hand-computed ones and those of each table asked alone.
    actor = make_actor(session, Role.MANAGER, *(network[k] for k in scope))
    filters = _filters(sector=sector)
    tables = dashboard(session, actor, filters)
    assert _partner_counts(tables["partners_by_sector"], "section") == by_sector
    assert _partner_counts(tables["partners_by_domain"], "domain") == by_domain
    assert list(tables["partners_by_sector"]["section"]) == list(by_sector)
    assert list(tables["partners_by_domain"]["domain"]) == sorted(by_domain)
    assert tables["partners_by_sector"].equals(partners_by_sector(session, actor, filters))
    assert tables["partners_by_domain"].equals(partners_by_domain(session, actor, filters))


def test_capacity_occupancy_free_seats_unused_offers(session, manager):
    rows = _records(capacity(session, manager, _filters()))
    assert rows == [
        {
            "site": "CAVEM",
            "offers": 1,
            "seats_offered": 3,
            "seats_used": 3,  # two placements + one proposed, all hold a seat
            "occupancy_pct": 100.0,
            "companies_with_free_seats": 0,
            "offers_never_used": 0,
        },
        {
            "site": "TPM",
            "offers": 3,
            "seats_offered": 4,
            "seats_used": 3,  # O1 2/2, O2 1/1 (the cancelled one frees its seat), O5 0/1
            "occupancy_pct": 75.0,
            "companies_with_free_seats": 1,
            "offers_never_used": 1,
        },
        {
            "site": "Total",
            "offers": 4,
            "seats_offered": 7,
            "seats_used": 6,
            "occupancy_pct": 85.7,
            "companies_with_free_seats": 1,
            "offers_never_used": 1,
        },
    ]
    unused = unused_offers(session, manager, _filters())
    assert list(unused["company"]) == ["Gamma"]
    assert list(unused["rome_code"]) == ["F1602"]


def test_placements_per_month_site_and_job(session, manager):
    by_month = placements_by_month(session, manager, _filters())
    assert len(by_month) == 12  # 6 months x 2 sites, empty months included
    got = {(r["month"], r["site"]): r["placements"] for r in _records(by_month) if r["placements"]}
    assert got == {
        ("2026-02", "TPM"): 1,
        ("2026-03", "TPM"): 2,
        ("2026-03", "CAVEM"): 1,
        ("2026-04", "TPM"): 1,
        ("2026-06", "CAVEM"): 1,
    }
    jobs = _records(placements_by_job(session, manager, _filters()))
    assert jobs == [
        {"rome_code": "D1106", "job": "Vente en alimentation", "placements": 4},
        {"rome_code": "F1602", "job": "Électricité bâtiment", "placements": 1},
        {"rome_code": "G1603", "job": "Personnel polyvalent en restauration", "placements": 1},
    ]


def test_share_placed_and_median_days_to_first_placement(session, manager):
    rows = _records(placements_by_site(session, manager, _filters()))
    assert rows == [
        {
            "site": "CAVEM",
            "placements": 2,
            "learners_entered": 2,
            "learners_placed": 1,
            "share_placed_pct": 50.0,
            "median_days_to_first": 20,
        },
        {
            "site": "TPM",
            "placements": 4,
            "learners_entered": 3,
            "learners_placed": 3,
            "share_placed_pct": 100.0,
            "median_days_to_first": 30,  # 30, 40, 5
        },
        {
            "site": "Total",
            "placements": 6,
            "learners_entered": 5,
            "learners_placed": 4,
            "share_placed_pct": 80.0,
            "median_days_to_first": 25,  # median of 5, 20, 30, 40
        },
    ]


def test_outcomes_positive_exits_per_site(session, manager):
    rows = _records(outcomes(session, manager, _filters()))
    keys = ["exits", "employment", "apprenticeship", "training", "none"]
    keys += ["unknown", "positive_exits", "positive_exit_pct"]
    got = {r["site"]: [r[k] for k in keys] for r in rows}
    assert got == {
        "CAVEM": [1, 0, 0, 0, 0, 1, 0, 0.0],
        "TPM": [3, 1, 1, 1, 0, 0, 3, 100.0],
        "Total": [4, 1, 1, 1, 0, 1, 3, 75.0],
    }


def test_officer_contacts_per_iso_week_and_overdue_followups(session, manager):
    rows = _records(officer_activity(session, manager, _filters()))
    assert [(r["officer"], r["week"], r["monday"], r["contacts"]) for r in rows] == [
        ("Bruno", "2026-S01", D(2025, 12, 29), 1),
        ("Alice", "2026-S10", D(2026, 3, 2), 2),  # Wednesday and Sunday evening
        ("Alice", "2026-S11", D(2026, 3, 9), 1),
    ]
    overdue = _records(overdue_followups(session, manager, _filters()))
    assert overdue == [
        {"officer": "Alice", "overdue": 1, "oldest_due": D(2026, 7, 1)},
        {"officer": "Bruno", "overdue": 1, "oldest_due": D(2025, 8, 15)},
    ]


def test_officer_weeks_clipped_to_the_period_and_long_periods(session, manager):
    """Weeks are cut at the period's ends; a period of several years (queried in chunks
    of weeks) gives every week once."""
    short = StatsFilters(D(2026, 3, 5), D(2026, 3, 8), today=TODAY)  # Thursday → Sunday
    rows = _records(officer_activity(session, manager, short))
    assert [(r["officer"], r["week"], r["contacts"]) for r in rows] == [
        ("Alice", "2026-S10", 1)  # Wednesday's contact is before the period
    ]
    years = StatsFilters(D(2020, 1, 1), TO, today=TODAY)  # ~340 weeks
    rows = _records(officer_activity(session, manager, years))
    assert [(r["officer"], r["week"], r["monday"], r["contacts"]) for r in rows] == [
        ("Bruno", "2025-S31", D(2025, 7, 28), 1),
        ("Bruno", "2026-S01", D(2025, 12, 29), 1),
        ("Alice", "2026-S10", D(2026, 3, 2), 2),
        ("Alice", "2026-S11", D(2026, 3, 9), 1),
    ]


def test_sector_filter_restricts_company_figures(session, manager):
    tables = dashboard(session, manager, _filters(sector="g"))
    report = tables["school_report"]
    assert list(report["host_companies"]) == [1, 1, 2]
    assert list(report["learners_entered"]) == [2, 3, 5]  # learners do not depend on sector
    assert list(tables["partners_by_sector"]["section"]) == ["G", "Total"]
    by_site = tables["placements_by_site"].set_index("site")
    assert by_site.loc["TPM", "placements"] == 3
    assert by_site.loc["TPM", "share_placed_pct"] == 66.7
    assert by_site.loc["TPM", "median_days_to_first"] == 35
    assert list(tables["officer_activity"]["officer"]) == ["Bruno", "Alice"]


def test_single_site_manager_never_sees_another_site(session, network):
    cavem_manager = make_actor(session, Role.MANAGER, network["cavem"])
    tables = dashboard(session, cavem_manager, _filters())
    assert list(tables["school_report"]["site"]) == ["CAVEM", "Total"]
    assert tables["school_report"].iloc[-1]["learners_entered"] == 2
    assert tables["capacity"].iloc[-1]["seats_offered"] == 3
    assert set(tables["placements_by_month"]["site"]) == {"CAVEM"}
    assert tables["partners_by_sector"].iloc[-1]["companies"] == 2  # Delta, Epsilon
    assert set(tables["officer_activity"]["officer"]) == {"Bruno"}
    assert set(tables["overdue_followups"]["officer"]) == {"Bruno"}
    assert kpis(tables)["placements"] == 2
    with pytest.raises(PermissionDenied):
        dashboard(session, cavem_manager, _filters(site_ids=(network["tpm"].id,)))


def test_roles_without_stats_are_refused_and_admin_sees_all(session, network):
    officer = make_actor(session, Role.OFFICER, network["tpm"])
    with pytest.raises(PermissionDenied):
        school_report(session, officer, _filters())
    admin = make_actor(session, Role.ADMIN)
    assert list(school_report(session, admin, _filters())["site"]) == ["CAVEM", "TPM", "Total"]
    with pytest.raises(ValidationError):
        school_report(session, admin, StatsFilters(TO, FROM))


def test_export_is_audited_without_personal_data(session, manager):
    record_export(session, manager, "capacity", "xlsx", _filters())
    session.commit()
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert event.entity == "stats"
    assert event.actor_id == manager.user_id
    assert event.details["table"] == "capacity"
    assert event.details["date_from"] == "2026-01-01"


def test_period_presets():
    today = D(2026, 11, 23)
    assert period_preset("this_year", today) == (D(2026, 1, 1), D(2026, 12, 31))
    assert period_preset("last_quarter", today) == (D(2026, 7, 1), D(2026, 9, 30))
    assert period_preset("this_quarter", today) == (D(2026, 10, 1), D(2026, 12, 31))
    assert period_preset("last_quarter", D(2026, 2, 1)) == (D(2025, 10, 1), D(2025, 12, 31))
    assert period_preset("last_12_months", today) == (D(2025, 11, 24), today)


def test_cli_stats_json(db_url, session, network):
    args = ["stats", "--from", "2026-01-01", "--to", "2026-06-30", "--today", "2026-07-15"]
    r = run_cli(db_url, *args, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    report = data["tables"]["school_report"]
    # The command shows the dashboard's French column titles in every format.
    assert [(x["Site"], x["Stagiaires entrés"], x["Prévision"]) for x in report] == [
        ("CAVEM", 2, 22),
        ("TPM", 3, 45),
        ("Total", 5, 67),
    ]
    assert report[1]["Ouverture"] == "2017-03-13"
    assert data["tables"]["capacity"][-1]["Taux d'occupation (%)"] == 85.7
    assert data["tables"]["placements_by_site"][-1]["Délai médian entrée → 1er stage (jours)"] == 25

    r = run_cli(db_url, *args, "--site", "CAVEM", "--table", "outcomes", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert list(data["tables"]) == ["outcomes"]
    assert [x["Site"] for x in data["tables"]["outcomes"]] == ["CAVEM", "Total"]
    assert data["tables"]["outcomes"][-1]["Non renseignée"] == 1

    r = run_cli(db_url, *args, "--format", "csv", "--table", "school_report")
    assert r.returncode == 0, r.stderr
    assert "Site;Ouverture;Stagiaires entrés;Prévision;" in r.stdout
    assert "TPM;2017-03-13;3;45;2" in r.stdout

    officer = make_actor(session, Role.OFFICER, network["tpm"], username="off1")
    session.commit()
    r = run_cli(db_url, *args, "--as-user", officer.username)
    assert r.returncode == 2
    assert "Accès refusé" in r.stderr
    # --as-user is a live account: unknown or disabled ones are refused, as for imports.
    r = run_cli(db_url, *args, "--as-user", "personne")
    assert r.returncode == 2 and "Utilisateur inconnu" in r.stderr, r.stderr
    manager = make_actor(session, Role.MANAGER, network["tpm"], username="dir1")
    session.get(User, manager.user_id).is_active = False
    session.commit()
    r = run_cli(db_url, *args, "--as-user", "dir1")
    assert r.returncode == 2 and "désactivé" in r.stderr, r.stderr


def test_quarterly_workbook_has_one_sheet_per_table(session, manager):
    import io

    from openpyxl import load_workbook

    from crm.services.stats import TITLES, report_workbook
    from crm.spreadsheet import to_xlsx_bytes

    filters = StatsFilters(D(2026, 1, 1), D(2026, 3, 31), today=TODAY)
    book = load_workbook(io.BytesIO(to_xlsx_bytes(report_workbook(session, manager, filters))))
    assert book.sheetnames == ["Paramètres", *[t[:31] for t in TITLES.values()]]
    assert next(book["Paramètres"].iter_rows(values_only=True)) == ("Paramètre", "Valeur")
    params = {r[0]: r[1] for r in book["Paramètres"].iter_rows(min_row=2, values_only=True)}
    assert params["Période"] == "01/01/2026 – 31/03/2026"
    assert params["Sites"] == "CAVEM, TPM"
    rows = list(book["Sites et stagiaires"].iter_rows(values_only=True))
    assert rows[0] == (
        "Site",
        "Ouverture",
        "Stagiaires entrés",
        "Prévision",
        "Entreprises ayant reçu des stagiaires",
    )
    assert [r[0] for r in rows[1:]] == ["CAVEM", "TPM", "Total"]
    assert [r[2] for r in rows[1:]] == [1, 3, 4]  # L4 (March); L1, L2, L7
    # Every sheet is headed by the French titles users see on the dashboard.
    titles = set(STAT_COLUMN_FR.values())
    for sheet in book.sheetnames[1:]:
        header = next(book[sheet].iter_rows(values_only=True))
        assert set(header) <= titles, sheet
    outcome_header = next(book["Sorties par site"].iter_rows(values_only=True))
    assert outcome_header[:3] == ("Site", "Sorties", "Emploi")
    assert "Non renseignée" in outcome_header


def test_every_statistics_column_has_a_french_title(session, manager):
    """Tables are keyed in English; french_columns gives each column its French title."""
    tables = dashboard(session, manager, _filters())
    tables["unused_offers"] = unused_offers(session, manager, _filters())
    for key, df in tables.items():
        assert set(df.columns) <= set(STAT_COLUMN_FR), key
        shown = french_columns(df)
        assert list(shown.columns) == [STAT_COLUMN_FR[c] for c in df.columns], key
        assert shown.set_axis(df.columns, axis=1).equals(df), key  # only the titles change
    assert list(french_columns(tables["overdue_followups"]).columns) == [
        "Chargé(e)",
        "Relances en retard",
        "Plus ancienne échéance",
    ]
    assert list(tables["outcomes"].columns[2:7]) == [*OUTCOME_COLUMNS]


def test_filter_errors_are_keyed_in_english_and_shown_in_french():
    with pytest.raises(ValidationError) as caught:
        StatsFilters(TO, FROM, sector="Z").validate()
    assert set(caught.value.errors) == {"period", "sector"}
    assert set(caught.value.labelled()) == {"Période", "Secteur"}
