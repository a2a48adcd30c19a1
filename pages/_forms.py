"""Forms that keep what was typed: errors under the field, cleared only after a successful save.

Small, stable API shared by every page (officers' and trainers' pages):

- ``max_len(Model.column)`` → the column's declared length (``String(80)`` → 80), or ``None``.
  Give it to ``max_chars=`` so the widget never accepts more than the database column holds.
- ``Form(key)``: one form's state. Use it as a context manager around the widgets::

      f = Form("new_company")
      with f:  # an st.form(key, clear_on_submit=False); pending clears applied first
          name = f.text_input("Raison sociale *", "name", column=Company.name)
          seats = f.number_input("Places * (1 à 500)", "seats", value=1, step=1)
          submitted = st.form_submit_button("Créer")
      if submitted:
          f.submit(lambda session: create_company(session, actor, name=name, ...),
                   success="Entreprise créée.")
      f.show_flash()  # the success message after the rerun (optional, anywhere on the page)

  Widget helpers (``text_input``, ``text_area``, ``number_input``, ``date_input``,
  ``selectbox``, ``checkbox``) take ``(label, field, ...)``: the widget key is
  ``f.key(field)`` (so the value survives reruns and refusals) and the service's French
  message for that field is shown right under it. Extra keyword arguments go to Streamlit.
  ``errors=("Prochaine action",)`` adds error keys to match besides the field code, its
  French name (crm.labels.field_label) and the widget label (without " *"). Services key
  errors by English field name; the error's French label (``ValidationError.label``)
  matches too, and is what a message matching no widget is shown with. Numbers: put
  the bounds in the label and let the service refuse (Streamlit's own ``min_value`` only
  shows an English tooltip and ignores the click); text: ``column=Model.field``.
- ``f.field_error(field, *names)``: show the error of a field under a widget you built
  yourself (key it with ``f.key(field)`` to keep its value).
- ``f.submit(action, success=..., clear=True)``: runs ``action(session)`` in one unit of
  work. Refused (``ValidationError``): the per-field messages are kept and the page reruns,
  every typed value stays and each message shows under its field (messages matching no
  field show at the bottom of the form). Other domain error: shown in French, values kept.
  Success: errors forgotten, the form's widgets emptied (``clear=False`` keeps them, e.g.
  an edit form showing the saved record), ``success`` flashed, ``on_success(result)``
  called, page rerun. Returns the action's result only when ``rerun=False``.
  ``f.has_flash()``: a success message is waiting (the last save succeeded).
  ``raises=(SomeError,)``: those domain errors are re-raised for the page to show.
- ``f.fail(errors, labels=None)``: mark fields as refused without calling a service (a
  page-side check); ``labels`` names the fields in French (default crm.labels.field_label).

Shared page helpers (same module, same promise of stability):

- ``md_escape(text)``: user text made literal inside ``st.markdown``/``st.caption``/titles
  (``[lien](https://x) **URGENT**`` stays as typed, no link, no bold). Prefer ``st.text`` or
  a dataframe cell when the text stands alone.
- ``company_label(name, city, siret)``: "Nom — Ville — SIRET" for pickers (homonyms apart).
- ``remember(*keys)``: call before drawing the widgets: their values survive a visit to
  another page (Streamlit drops the state of widgets not drawn in a run).
- ``open_company(company_id)``: go to the company file on that company (URL
  ``?entreprise=ID``, which can be copied).
- ``company_link(company_id, name)``: a real link to the company file (``?entreprise=ID``).
- ``selected_row(event)``: index of the row picked in an ``st.dataframe(on_select="rerun",
  selection_mode="single-row")``, or None.

Values are kept because widgets are keyed in ``st.session_state`` and the form is built with
``clear_on_submit=False``; clearing goes through a pending list applied before the widgets
are drawn on the next run (Streamlit forbids changing a drawn widget's value).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import streamlit as st

from crm.errors import PasserelleError, ValidationError
from crm.labels import field_label
from pages._format import DATE_FORMAT
from pages._state import COMPANY_ID
from pages._ui import db_session, show_error

_ERRORS = "_form_errors::{}"
_LABELS = "_form_labels::{}"
_CLEAR = "_form_clear::{}"
_FLASH = "_form_flash::{}"


def max_len(column) -> int | None:
    """Declared length of a SQLAlchemy column attribute (``Company.name`` → 200)."""
    try:
        prop = column.property
        col = prop.columns[0]
    except (AttributeError, IndexError):
        col = column
    length = getattr(getattr(col, "type", None), "length", None)
    return int(length) if length else None


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$:&@])")
_MD_LINE_START = re.compile(r"^(\s*|\s*\d+)([-+=]|(?<=\d)[.)])", re.MULTILINE)


def md_escape(text) -> str:
    """``text`` shown literally by Markdown-rendering widgets ('' for None).

    Escapes what Markdown/Streamlit would interpret (emphasis, links, code, HTML, headings,
    lists, tables, LaTeX, colour directives, autolinks); ordinary punctuation stays readable.
    """
    if text is None:
        return ""
    out = _MD_SPECIAL.sub(r"\\\1", str(text))
    out = _MD_LINE_START.sub(r"\1\\\2", out)
    return out.replace("\n", "  \n")


def company_label(name: str, city: str | None = None, siret: str | None = None) -> str:
    """What a company picker shows: enough to tell two "Snack Tamaris" apart."""
    return " — ".join(p for p in (name, city or "ville inconnue", siret or "sans SIRET"))


_KEPT = "_kept::{}"


def remember(*keys: str) -> None:
    """Keep the values of these widget keys across page changes (call before the widgets)."""
    for key in keys:
        if key in st.session_state:
            st.session_state[_KEPT.format(key)] = st.session_state[key]
        elif _KEPT.format(key) in st.session_state:
            st.session_state[key] = st.session_state[_KEPT.format(key)]


def open_company(company_id: int) -> None:
    """Switch to the company file on ``company_id`` (the URL gets ``?entreprise=ID``)."""
    st.session_state[COMPANY_ID] = int(company_id)
    st.switch_page("pages/company.py", query_params={"entreprise": str(int(company_id))})


def company_link(company_id: int, name: str, *, container=None) -> None:
    """A link (copyable, opens in a new tab with a middle click) to the company file."""
    (container or st).page_link(
        "pages/company.py",
        label=f"Fiche : {md_escape(name)}",
        query_params={"entreprise": str(int(company_id))},
    )


def selected_row(event) -> int | None:
    """The row index picked in a single-row selectable dataframe, or None."""
    try:
        rows = event.selection.rows
    except AttributeError:
        return None
    return rows[0] if rows else None


def _norm(name: str) -> str:
    return str(name).replace("*", "").strip().casefold()


class Form:
    """State of one form (see the module docstring)."""

    def __init__(self, key: str):
        self.form_key = key
        self._shown: set[str] = set()
        self._fields: set[str] = set()
        self._ctx = None

    # ------------------------------------------------------------------ state
    def key(self, field: str) -> str:
        return f"{self.form_key}__{field}"

    @property
    def errors(self) -> dict[str, str]:
        return st.session_state.get(_ERRORS.format(self.form_key), {})

    def fail(self, errors: Mapping[str, str], labels: Mapping[str, str] | None = None) -> None:
        """Refused fields: ``errors`` keyed by field, ``labels`` their French names."""
        st.session_state[_ERRORS.format(self.form_key)] = dict(errors)
        st.session_state[_LABELS.format(self.form_key)] = {
            k: (labels or {}).get(k) or field_label(k) for k in errors
        }

    def _label(self, key: str) -> str:
        return st.session_state.get(_LABELS.format(self.form_key), {}).get(key) or field_label(key)

    def clear_errors(self) -> None:
        st.session_state.pop(_ERRORS.format(self.form_key), None)
        st.session_state.pop(_LABELS.format(self.form_key), None)

    def reset(self) -> None:
        """Empty the widgets at the next run (and forget the errors)."""
        self.clear_errors()
        st.session_state[_CLEAR.format(self.form_key)] = True

    def _apply_pending_clear(self) -> None:
        if st.session_state.pop(_CLEAR.format(self.form_key), False):
            prefix = f"{self.form_key}__"
            for k in [k for k in st.session_state if str(k).startswith(prefix)]:
                del st.session_state[k]

    # ------------------------------------------------------------------ context manager
    def __enter__(self) -> Form:
        self._apply_pending_clear()
        self._shown = set()
        self._ctx = st.form(self.form_key, clear_on_submit=False)
        self._ctx.__enter__()
        if self.errors:
            st.error("Rien n'a été enregistré : corrigez les champs signalés ci-dessous.")
        return self

    def __exit__(self, *exc) -> bool:
        leftover = {k: m for k, m in self.errors.items() if k not in self._shown}
        for name, msg in leftover.items():
            st.error(f"{md_escape(self._label(name))} : {md_escape(msg)}")
        ctx, self._ctx = self._ctx, None
        return bool(ctx.__exit__(*exc))

    # ------------------------------------------------------------------ errors under fields
    def field_error(self, field: str, *names: str) -> str | None:
        """Show (and return) the refused message for ``field`` (or any of ``names``)."""
        errors = self.errors
        if not errors:
            return None
        wanted = {_norm(field), _norm(field_label(field)), *(_norm(n) for n in names if n)}
        for key, msg in errors.items():
            if key not in self._shown and {_norm(key), _norm(self._label(key))} & wanted:
                self._shown.add(key)
                st.error(md_escape(msg))
                return msg
        return None

    def _after(self, field: str, label: str, errors: Iterable[str]) -> None:
        self._fields.add(field)
        self.field_error(field, label, *errors)

    # ------------------------------------------------------------------ widgets
    def text_input(
        self, label: str, field: str, *, column=None, errors: Iterable[str] = (), **kw
    ) -> str:
        if column is not None and "max_chars" not in kw:
            kw["max_chars"] = max_len(column)
        value = st.text_input(label, key=self.key(field), **kw)
        self._after(field, label, errors)
        return value

    def text_area(
        self, label: str, field: str, *, column=None, errors: Iterable[str] = (), **kw
    ) -> str:
        if column is not None and "max_chars" not in kw:
            kw["max_chars"] = max_len(column)
        value = st.text_area(label, key=self.key(field), **kw)
        self._after(field, label, errors)
        return value

    def number_input(self, label: str, field: str, *, errors: Iterable[str] = (), **kw):
        value = st.number_input(label, key=self.key(field), **kw)
        self._after(field, label, errors)
        return value

    def date_input(self, label: str, field: str, *, errors: Iterable[str] = (), **kw):
        kw.setdefault("format", DATE_FORMAT)
        value = st.date_input(label, key=self.key(field), **kw)
        self._after(field, label, errors)
        return value

    def selectbox(self, label: str, field: str, options, *, errors: Iterable[str] = (), **kw):
        value = st.selectbox(label, options, key=self.key(field), **kw)
        self._after(field, label, errors)
        return value

    def checkbox(self, label: str, field: str, *, errors: Iterable[str] = (), **kw) -> bool:
        value = st.checkbox(label, key=self.key(field), **kw)
        self._after(field, label, errors)
        return value

    # ------------------------------------------------------------------ submit
    def submit(
        self,
        action: Callable[[Any], Any],
        *,
        success: str | None = None,
        clear: bool = True,
        rerun: bool = True,
        on_success: Callable[[Any], None] | None = None,
        raises: tuple[type[PasserelleError], ...] = (),
    ):
        """Run ``action(session)``; refused → values kept, errors under fields (see above).

        Domain errors of the ``raises`` types reach the caller (rolled back, values kept),
        for a page that shows them its own way (e.g. a likely duplicate to confirm).
        """
        try:
            with db_session() as session:
                result = action(session)
        except raises:
            raise
        except ValidationError as exc:
            self.fail(exc.errors, exc.labels)
            if rerun:
                st.rerun()
            return None
        except PasserelleError as exc:
            self.clear_errors()
            show_error(exc)
            return None
        self.clear_errors()
        if on_success is not None:
            on_success(result)
        if clear:
            st.session_state[_CLEAR.format(self.form_key)] = True
        if success:
            st.session_state[_FLASH.format(self.form_key)] = success
        if rerun:
            st.rerun()
        return result

    def has_flash(self) -> bool:
        """A success message is waiting to be shown (the last save succeeded)."""
        return bool(st.session_state.get(_FLASH.format(self.form_key)))

    def show_flash(self) -> None:
        """The success message of the last save (shown once)."""
        msg = st.session_state.pop(_FLASH.format(self.form_key), None)
        if msg:
            st.success(msg)
