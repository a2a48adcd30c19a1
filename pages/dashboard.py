"""Tableau de bord: the managers' hosting statistics (filters, KPIs, charts, map, exports)."""

import datetime as dt
import functools
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from crm.auth import Perm
from crm.errors import PasserelleError
from crm.labels import STAT_COLUMN_FR
from crm.services.companies import list_companies
from crm.services.geo import company_locations
from crm.services.stats import (
    OUTCOME_COLUMNS,
    PERIOD_PRESETS,
    TITLES,
    StatsFilters,
    dashboard,
    french_columns,
    kpis,
    naf_sections,
    period_preset,
    record_export,
    report_workbook,
    sites_for,
    unused_offers,
)
from crm.spreadsheet import to_csv_bytes, to_xlsx_bytes
from pages._forms import open_company, selected_row
from pages._maps import company_map
from pages._ui import db_session, fmt_date, require_actor, show_error

# Session-state keys of this page.
SITES = "dash_sites"  # the site filter

actor = require_actor(Perm.STATS_READ)
st.title("Tableau de bord")

today = dt.date.today()
CUSTOM = "custom"

# --------------------------------------------------------------------------- filters
with db_session() as session:
    site_options = dict(sites_for(session, actor))

# Streamlit forgets a widget's value once its page is left: keep a copy under another key
# and give it back on return, so the period, sites and sector survive a visit elsewhere.
FILTER_KEYS = (SITES, "dash_period", "dash_sector", "dash_from", "dash_to", "dash_map_color")


def _keep_filters() -> None:
    for key in FILTER_KEYS:
        if key in st.session_state:
            st.session_state[f"_kept_{key}"] = st.session_state[key]


for _key in FILTER_KEYS:
    if _key not in st.session_state and f"_kept_{_key}" in st.session_state:
        st.session_state[_key] = st.session_state[f"_kept_{_key}"]
if SITES in st.session_state:  # a remembered site that is no longer offered is dropped
    st.session_state[SITES] = [x for x in st.session_state[SITES] if x in site_options]

c1, c2, c3 = st.columns([2, 1, 1])
chosen_sites = c1.multiselect(
    "Sites",
    options=list(site_options),
    default=None if SITES in st.session_state else list(site_options),
    format_func=site_options.get,
    key=SITES,
    placeholder="Choisir…",
)
preset = c2.selectbox(
    "Période",
    options=[*PERIOD_PRESETS, CUSTOM],
    format_func=lambda k: PERIOD_PRESETS.get(k, "Personnalisée"),
    key="dash_period",
)
sections = naf_sections()
sector = c3.selectbox(
    "Secteur (section NAF)",
    options=["", *sections],
    format_func=lambda k: f"{k} — {sections[k]}" if k else "Tous les secteurs",
    key="dash_sector",
)
if preset == CUSTOM:
    d1, d2 = st.columns(2)
    date_from = d1.date_input(
        "Du", value=period_preset("this_year", today)[0], format="DD/MM/YYYY", key="dash_from"
    )
    date_to = d2.date_input("Au", value=today, format="DD/MM/YYYY", key="dash_to")
else:
    date_from, date_to = period_preset(preset, today)

_keep_filters()
if not chosen_sites:
    st.info("Choisissez au moins un site.")
    st.stop()

filters = StatsFilters(
    date_from=date_from,
    date_to=date_to,
    site_ids=tuple(sorted(chosen_sites)),
    sector=sector or None,
    today=today,
)
st.caption(
    f"Du {fmt_date(date_from)} au {fmt_date(date_to)} — "
    f"{len(chosen_sites)} site(s) — {f'secteur {sector}' if sector else 'tous secteurs'}"
)

try:
    with db_session() as session:
        tables = dashboard(session, actor, filters)
        unused = unused_offers(session, actor, filters)
except PasserelleError as exc:
    show_error(exc)
    st.stop()


# --------------------------------------------------------------------------- charts
# Vega's d3-format / d3-time-format locale for fr-FR: month names, decimal comma, thin
# space as thousands separator.
FR_LOCALE = {
    "number": {
        "decimal": ",",
        "thousands": "\u202f",
        "grouping": [3],
        "currency": ["", "\u00a0€"],
    },
    "time": {
        "dateTime": "%A %e %B %Y à %X",
        "date": "%d/%m/%Y",
        "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        "months": [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ],
        "shortMonths": [
            "janv.",
            "févr.",
            "mars",
            "avr.",
            "mai",
            "juin",
            "juil.",
            "août",
            "sept.",
            "oct.",
            "nov.",
            "déc.",
        ],
    },
}


def show_chart(chart) -> None:
    """An Altair chart in French (dates and numbers)."""
    st.altair_chart(chart.configure(locale=FR_LOCALE), width="stretch")


def _tip(field: str) -> alt.Tooltip:
    """A tooltip line showing an English-keyed field under its French column title."""
    return alt.Tooltip(field, title=STAT_COLUMN_FR[field.split(":")[0]])


def _long(df: pd.DataFrame, columns, var_name: str, value_name: str) -> pd.DataFrame:
    """Per-site columns stacked into rows (for a chart), each named by its French title."""
    long = df.melt(
        id_vars="site", value_vars=list(columns), var_name=var_name, value_name=value_name
    )
    long[var_name] = long[var_name].map(STAT_COLUMN_FR)
    return long


# --------------------------------------------------------------------------- exports
def _audited(build: Callable[[], bytes], table: str, fmt: str) -> Callable[[], bytes]:
    """The file builder of a download button, recording the export when the file is made.

    The buttons build their file only when clicked (deferred data) and do not rerun the
    page (``on_click="ignore"``): a rerun triggered by the click raced with the deferred
    download, which then never arrived (seen in Chromium on a loaded machine). No file
    leaves without its audit row: if the audit cannot be written, the download fails.
    """

    def make() -> bytes:
        data = build()
        with db_session() as session:
            record_export(session, actor, table, fmt, filters)
        return data

    return make


def downloads(key: str, df: pd.DataFrame, title: str) -> None:
    """CSV and XLSX buttons under a table (files built only when clicked, French titles)."""
    name = f"{key}_{date_from:%Y%m%d}_{date_to:%Y%m%d}"
    df = french_columns(df)
    b1, b2, _ = st.columns([1, 1, 4])
    b1.download_button(
        "Télécharger (CSV)",
        data=_audited(functools.partial(to_csv_bytes, df), key, "csv"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"dl_csv_{key}",
        on_click="ignore",
    )
    b2.download_button(
        "Télécharger (XLSX)",
        data=_audited(functools.partial(to_xlsx_bytes, {title: df}), key, "xlsx"),
        file_name=f"{name}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"dl_xlsx_{key}",
        on_click="ignore",
    )


def show_table(key: str, df: pd.DataFrame, title: str | None = None) -> None:
    """A table with its downloads; rows naming a company open its file in one click."""
    title = title or TITLES[key]
    st.subheader(title)
    if df.empty:
        st.info("Aucune donnée pour ces filtres.")
        return
    ids = _company_ids(df)
    shown, dates = _for_display(df)
    if ids is None:
        st.dataframe(shown, hide_index=True, width="stretch", column_config=dates)
    else:
        event = st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            column_config=dates,
            on_select="rerun",
            selection_mode="single-row",
            key=f"table_{key}",
        )
        row = selected_row(event)
        if row is not None and ids[row] is not None:
            del st.session_state[f"table_{key}"]  # back on the dashboard: nothing selected
            open_company(ids[row])
        st.caption("Cliquez sur une ligne pour ouvrir la fiche de l'entreprise.")
    downloads(key, df, title)


def _for_display(df: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The table as shown: French column titles, dates as JJ/MM/AAAA, empty cells empty
    (never "None")."""
    df = french_columns(df)
    shown = df.copy()
    dates = {}
    for c in df.columns:
        if _is_date(df[c]):
            if df[c].isna().any():  # a date column with gaps (e.g. the Total row): as text
                shown[c] = df[c].map(fmt_date)
            else:
                dates[c] = st.column_config.DateColumn(format="DD/MM/YYYY")
        elif df[c].dtype == object:
            shown[c] = df[c].where(df[c].notna(), "")
    return shown, dates


def _is_date(col: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(col):
        return True
    first = col.dropna().head(1)
    return len(first) == 1 and isinstance(first.iloc[0], dt.date)


@functools.cache
def _company_index() -> dict[tuple[str | None, str], int | None]:
    """(site, company name) -> id among the companies the user may read (None if homonyms)."""
    out: dict[tuple[str | None, str], int | None] = {}
    with db_session() as session:
        for r in list_companies(session, actor):
            k = (r.site, r.name)
            out[k] = None if k in out else r.id
    return out


def _company_ids(df: pd.DataFrame) -> list[int | None] | None:
    if "company" not in df.columns or "site" not in df.columns:
        return None
    index = _company_index()
    return [index.get((site, name)) for site, name in zip(df["site"], df["company"], strict=True)]


def quarterly_report() -> bytes:
    """Workbook for the last complete quarter (current sites and sector), one sheet per table."""
    q_from, q_to = period_preset("last_quarter", today)
    q_filters = StatsFilters(q_from, q_to, filters.site_ids, filters.sector, today)
    with db_session() as session:
        return to_xlsx_bytes(report_workbook(session, actor, q_filters))


q_from, q_to = period_preset("last_quarter", today)
st.download_button(
    f"Rapport trimestriel (XLSX, {fmt_date(q_from)} – {fmt_date(q_to)})",
    data=_audited(quarterly_report, "quarterly_report", "xlsx"),
    file_name=f"rapport_trimestriel_{q_from:%Y}_T{(q_from.month - 1) // 3 + 1}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="dl_quarterly",
    type="primary",
    on_click="ignore",
)

# --------------------------------------------------------------------------- KPIs
k = kpis(tables)


def _pct(value) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1f} %".replace(".", ",")


target = tables["school_report"].iloc[-1]["target"]
m = st.columns(5)
m[0].metric(
    "Stagiaires entrés",
    k["learners_entered"],
    help=f"Prévision sur la période : {target if pd.notna(target) else '—'}",
)
m[1].metric("Entreprises d'accueil", k["host_companies"])
m[2].metric("Entreprises actives (12 mois)", k["active_partners"])
m[3].metric("Nouveaux partenaires", k["new_partners"])
m[4].metric("Taux d'occupation", _pct(k["occupancy_pct"]))
m = st.columns(5)
m[0].metric("Stages", k["placements"])
m[1].metric("Stagiaires avec un stage", _pct(k["share_placed_pct"]))
median = k["median_days_to_first"]
m[2].metric(
    "Délai médian avant 1er stage",
    "—" if median is None or pd.isna(median) else f"{median:g} j",
)
m[3].metric("Sorties positives", _pct(k["positive_exit_pct"]))
overdue = tables["overdue_followups"]
m[4].metric("Relances en retard", int(overdue["overdue"].sum()) if len(overdue) else 0)

# --------------------------------------------------------------------------- tabs
tabs = st.tabs(
    ["Sites", "Partenaires", "Capacité", "Stages", "Sorties", "Activité des chargés", "Carte"]
)

with tabs[0]:
    show_table("school_report", tables["school_report"])
    st.caption(
        "Prévision : objectif annuel du site, au prorata de la durée de la période "
        "(tel quel pour une année entière). Le total des entreprises compte chacune une fois."
    )

with tabs[1]:
    show_table("partners_by_sector", tables["partners_by_sector"])
    show_table("partners_by_domain", tables["partners_by_domain"])
    st.caption(
        "Active : un contact ou un stage dans les 12 mois précédant la fin de la période. "
        "Dormant : partenaire sans activité sur ces 12 mois."
    )

with tabs[2]:
    cap = tables["capacity"]
    per_site = cap[cap["site"] != "Total"]
    if per_site["seats_offered"].sum():
        long = _long(per_site, ["seats_offered", "seats_used"], "kind", "count")
        chart = (
            alt.Chart(long)
            .mark_bar()
            .encode(
                x=alt.X("site:N", title=None),
                xOffset="kind:N",
                y=alt.Y("count:Q", title="Places"),
                color=alt.Color("kind:N", title=None),
                tooltip=[
                    _tip("site:N"),
                    alt.Tooltip("kind:N", title="Places"),
                    alt.Tooltip("count:Q", title="Nombre"),
                ],
            )
            .properties(title="Places offertes et occupées par site", height=300)
        )
        show_chart(chart)
    show_table("capacity", cap)
    show_table("unused_offers", unused, "Offres jamais utilisées")

with tabs[3]:
    by_month = tables["placements_by_month"]
    if by_month["placements"].sum():
        chart = (
            alt.Chart(by_month)
            .mark_bar()
            .encode(
                x=alt.X("yearmonth(month):O", title="Mois", axis=alt.Axis(format="%b %Y")),
                y=alt.Y("sum(placements):Q", title="Stages"),
                color=alt.Color("site:N", title="Site"),
                tooltip=[_tip("month:N"), _tip("site:N"), _tip("placements:Q")],
            )
            .properties(title="Stages par mois (date de début)", height=300)
        )
        show_chart(chart)
    show_table("placements_by_site", tables["placements_by_site"])
    show_table("placements_by_month", by_month)
    show_table("placements_by_job", tables["placements_by_job"])

with tabs[4]:
    out = tables["outcomes"]
    per_site = out[out["site"] != "Total"]
    if per_site["exits"].sum():
        long = _long(per_site, OUTCOME_COLUMNS, "outcome", "learners")
        chart = (
            alt.Chart(long)
            .mark_bar()
            .encode(
                x=alt.X("site:N", title=None),
                y=alt.Y("learners:Q", stack="normalize", title="Part des sorties"),
                color=alt.Color(
                    "outcome:N", sort=[STAT_COLUMN_FR[c] for c in OUTCOME_COLUMNS], title="Sortie"
                ),
                tooltip=[
                    _tip("site:N"),
                    alt.Tooltip("outcome:N", title="Sortie"),
                    alt.Tooltip("learners:Q", title="Stagiaires"),
                ],
            )
            .properties(title="Sorties par site", height=300)
        )
        show_chart(chart)
    show_table("outcomes", out)
    st.caption("Sorties positives : emploi, alternance, formation qualifiante.")

with tabs[5]:
    activity = tables["officer_activity"]
    if not activity.empty:
        monthly = activity.assign(month=pd.to_datetime(activity["monday"]).dt.to_period("M"))
        monthly = monthly.groupby(["officer", "month"], as_index=False)["contacts"].sum()
        monthly["month"] = monthly["month"].dt.to_timestamp()
        chart = (
            alt.Chart(monthly)
            .mark_bar()
            .encode(
                x=alt.X("yearmonth(month):O", title=None, axis=alt.Axis(format="%b %y")),
                y=alt.Y("contacts:Q", title="Contacts"),
                color=alt.Color("officer:N", legend=None),
                tooltip=[
                    _tip("officer:N"),
                    alt.Tooltip("yearmonth(month):T", title="Mois", format="%B %Y"),
                    _tip("contacts:Q"),
                ],
            )
            .properties(width=220, height=140)
            .facet(facet=alt.Facet("officer:N", title=None), columns=3)
            .properties(title="Contacts par chargé(e) et par mois")
        )
        show_chart(chart)
    show_table("officer_activity", activity)
    show_table("overdue_followups", overdue)

with tabs[6]:
    st.subheader("Carte des entreprises")
    color_choice = st.radio(
        "Couleur des points",
        ["status", "sector"],
        format_func={"status": "Statut de partenariat", "sector": "Secteur"}.get,
        horizontal=True,
        key="dash_map_color",
    )
    try:
        with db_session() as session:
            companies = [r for r in list_companies(session, actor) if r.site_id in filters.site_ids]
            placed = company_locations(session, actor, [r.id for r in companies])
    except PasserelleError as exc:
        show_error(exc)
        st.stop()
    company_map(
        [
            {
                "id": r.id,
                "name": r.name,
                "city": r.city,
                "status": r.status,
                "sector": r.sector,
                "seats_free": r.seats_free,
                "latitude": placed[r.id].latitude,
                "longitude": placed[r.id].longitude,
                "precision": placed[r.id].precision,
            }
            for r in companies
            if r.id in placed
        ],
        key="dashboard_map",
        color_by=color_choice,
    )
