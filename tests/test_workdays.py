"""Working days (工作日) on China's official calendar, incl. adjusted working weekends (调休)."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from pipeline import workdays
from pipeline.clues import load_clue_config
from pipeline.workdays import (
    add_working_days,
    calendar_years,
    deadline_for,
    is_working_day,
    set_calendar_overrides,
    working_days_between,
)


@pytest.fixture(autouse=True)
def _no_overrides():
    set_calendar_overrides()
    yield
    set_calendar_overrides()


def test_national_day_2025():
    for day in range(1, 9):  # 2025-10-01..08 National Day + Mid-Autumn
        assert not is_working_day(date(2025, 10, day)), day
    assert is_working_day(date(2025, 9, 28))  # Sunday, adjusted working day
    assert is_working_day(date(2025, 10, 11))  # Saturday, adjusted working day
    assert not is_working_day(date(2025, 10, 18))  # ordinary Saturday
    assert is_working_day(date(2025, 10, 9))


def test_add_working_days_across_national_day():
    assert add_working_days(date(2025, 9, 30), 1) == date(2025, 10, 9)
    # 10-09 Thu, 10-10 Fri, 10-11 Sat (调休), 10-13 Mon, 10-14 Tue
    assert add_working_days(date(2025, 9, 30), 5) == date(2025, 10, 14)
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 28)  # Friday → working Sunday
    assert add_working_days(date(2025, 10, 3), 0) == date(2025, 10, 9)  # rolled to a working day
    assert add_working_days(date(2025, 10, 9), -1) == date(2025, 9, 30)


def test_spring_festival_2026():
    assert is_working_day(date(2026, 2, 14))  # Saturday before the holiday: 调休
    assert all(not is_working_day(date(2026, 2, d)) for d in range(15, 24))
    assert is_working_day(date(2026, 2, 28))  # Saturday after: 调休
    # From Friday 2026-02-13: 02-14 (Sat, working), then 02-24, 02-25
    assert add_working_days(date(2026, 2, 13), 3) == date(2026, 2, 25)
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6


def test_deadlines_by_grade_from_config():
    cfg = load_clue_config()
    start = date(2025, 9, 30)
    assert deadline_for("C", start, cfg) == date(2025, 10, 14)  # 5 working days
    # 15 working days: 10-09..11 (3), 10-13..17 (5), 10-20..24 (5), 10-27, 10-28
    assert deadline_for("B", start, cfg) == date(2025, 10, 28)
    # one month: 2025-10-31 → 2025-11-30 is a Sunday → Monday 12-01
    assert deadline_for("A", date(2025, 10, 31), cfg) == date(2025, 12, 1)
    assert deadline_for("A", date(2026, 1, 14), cfg) == date(2026, 2, 14)  # a working Saturday (调休)
    assert deadline_for("A", date(2026, 1, 16), cfg) == date(2026, 2, 24)  # 02-16 falls in Spring Festival
    with pytest.raises(KeyError, match="grade"):
        deadline_for("Z", start, cfg)


def test_month_end_clamp():
    assert workdays.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)


def test_years_outside_library_fall_back_with_warning_and_overrides(caplog):
    first, last = calendar_years()
    assert first <= 2025 and last >= 2026
    future = date(last + 2, 1, 1)
    with caplog.at_level(logging.WARNING, logger="pipeline.workdays"):
        fallback = is_working_day(future)
    assert fallback == (future.weekday() < 5)
    assert any("chinesecalendar" in r.message for r in caplog.records)
    set_calendar_overrides(extra_holidays=[future.isoformat()], extra_workdays=["2025-10-18"])
    assert not is_working_day(future)
    assert is_working_day(date(2025, 10, 18))
