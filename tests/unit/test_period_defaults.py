"""The dates a trainer finds pre-filled: the booking dialog's period, the suggestions' window."""

from __future__ import annotations

import datetime as dt

from crm.models import Learner
from crm.services.matching import SEARCH_WINDOW_DAYS, search_window
from crm.services.placements import PMSMP_DAYS, default_period

TODAY = dt.date(2026, 11, 29)


def test_booking_proposes_the_usual_pmsmp_length_from_the_first_possible_day():
    start, end = default_period(None, None, today=TODAY)
    assert (start, end) == (TODAY, TODAY + dt.timedelta(days=PMSMP_DAYS - 1))
    # Never before the offer opens nor before the learner is available.
    later = TODAY + dt.timedelta(days=20)
    assert default_period(later, None, today=TODAY)[0] == later
    assert default_period(TODAY, None, earliest=later, today=TODAY)[0] == later
    # Within the offer's window, even a short one.
    short_end = TODAY + dt.timedelta(days=3)
    assert default_period(TODAY, short_end, today=TODAY) == (TODAY, short_end)


def test_suggestions_search_the_learners_availability_never_the_past():
    open_ended = Learner(available_from=None, available_to=None)
    assert search_window(open_ended, TODAY) == (
        TODAY,
        TODAY + dt.timedelta(days=SEARCH_WINDOW_DAYS),
    )
    soon = TODAY + dt.timedelta(days=10)
    bounded = Learner(available_from=soon, available_to=soon + dt.timedelta(days=30))
    assert search_window(bounded, TODAY) == (soon, soon + dt.timedelta(days=30))
    # Available since last month, until next week: from today, not from the past.
    past = Learner(
        available_from=TODAY - dt.timedelta(days=30), available_to=TODAY + dt.timedelta(days=7)
    )
    assert search_window(past, TODAY) == (TODAY, TODAY + dt.timedelta(days=7))
    # An availability already over: an empty window starting today, never reversed.
    over = Learner(available_from=None, available_to=TODAY - dt.timedelta(days=1))
    assert search_window(over, TODAY) == (TODAY, TODAY)
