"""Working days (工作日) and rectification deadlines (整改时限).

Deadlines are counted in China's official working days: weekends and public holidays (法定节假日)
are skipped, and the adjusted working weekends (调休上班日) count as working days. The calendar is
the maintained ``chinesecalendar`` library (``import chinese_calendar``), which encodes each year's
State Council holiday notice (国务院办公厅关于部分节假日安排的通知).

Keeping the calendar current (how to update):

1. The State Council publishes next year's schedule every autumn/winter; ``chinesecalendar`` ships a
   release within days. Upgrade with ``pip install -U chinesecalendar`` and bump the pin in
   ``requirements.txt``. ``calendar_years()`` tells which years the installed release covers.
2. Until a release is out (or for a local arrangement), list dates in ``config/clues.yaml`` under
   ``calendar.extra_holidays`` / ``calendar.extra_workdays``; they override the library.
3. For a year the library does not cover, the fallback is Monday–Friday (plus the overrides) and a
   warning is logged once per year, so a deadline is never silently wrong without a trace.
"""

from __future__ import annotations

import calendar as _calendar
import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar

log = logging.getLogger(__name__)

_extra_holidays: set[date] = set()
_extra_workdays: set[date] = set()
_warned_years: set[int] = set()


def _as_date(d: date | datetime | str) -> date:
    if isinstance(d, datetime):
        return d.date()
    if isinstance(d, date):
        return d
    if hasattr(d, "to_pydatetime"):  # pandas Timestamp
        return d.to_pydatetime().date()
    return date.fromisoformat(str(d)[:10])


def calendar_years() -> tuple[int, int]:
    """First and last year covered by the installed ``chinesecalendar`` release."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def set_calendar_overrides(extra_holidays: Iterable[Any] = (), extra_workdays: Iterable[Any] = ()) -> None:
    """Add local overrides (config ``calendar.extra_holidays`` / ``extra_workdays``); they win over the library."""
    _extra_holidays.clear()
    _extra_workdays.clear()
    _extra_holidays.update(_as_date(x) for x in extra_holidays)
    _extra_workdays.update(_as_date(x) for x in extra_workdays)


def is_working_day(d: date) -> bool:
    """True if ``d`` is an official working day (工作日), counting 调休 weekends as working days."""
    d = _as_date(d)
    if d in _extra_workdays:
        return True
    if d in _extra_holidays:
        return False
    first, last = calendar_years()
    if first <= d.year <= last:
        return bool(chinese_calendar.is_workday(d))
    if d.year not in _warned_years:
        _warned_years.add(d.year)
        log.warning(
            "chinesecalendar %s has no holiday data for %s; counting Monday–Friday only. "
            "Run `pip install -U chinesecalendar` or add dates under calendar: in config/clues.yaml.",
            chinese_calendar.__version__,
            d.year,
        )
    return d.weekday() < 5


def next_working_day(d: date) -> date:
    """``d`` itself if it is a working day, else the first working day after it (顺延)."""
    d = _as_date(d)
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself not counted).

    ``n == 0`` returns ``start`` rolled forward to a working day. Negative ``n`` counts backwards.
    Example: 2025-09-30 + 1 → 2025-10-09 (National Day 10-01..08 skipped).
    """
    d = _as_date(start)
    if n == 0:
        return next_working_day(d)
    step = 1 if n > 0 else -1
    remaining = abs(n)
    while remaining:
        d += timedelta(days=step)
        if is_working_day(d):
            remaining -= 1
    return d


def working_days_between(start: date, end: date) -> int:
    """Number of working days in (start, end]; negative if end is before start."""
    a, b = _as_date(start), _as_date(end)
    if b < a:
        return -working_days_between(b, a)
    return sum(1 for k in range(1, (b - a).days + 1) if is_working_day(a + timedelta(days=k)))


def add_months(start: date, months: int) -> date:
    """Same day ``months`` calendar months later, clipped to the month's last day (1-31 + 1 month → 2-28)."""
    d = _as_date(start)
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, _calendar.monthrange(year, month)[1]))


def deadline_for(grade: str, start: date, cfg: Any) -> date:
    """Rectification deadline (整改时限) of a clue of ``grade`` assigned on ``start``.

    ``cfg`` is a :class:`pipeline.clues.ClueConfig` or a plain mapping ``{grade: rule}``; a rule is
    ``{"working_days": N}`` (N working days after ``start``) or ``{"months": N}`` (N calendar months
    later, moved forward to a working day if it falls on a weekend or holiday).
    """
    rules = getattr(cfg, "deadlines", cfg)
    if grade not in rules:
        raise KeyError(f"no deadline rule for grade {grade!r} (configured: {', '.join(sorted(rules))})")
    rule = rules[grade]
    start_d = _as_date(start)
    if "working_days" in rule:
        return add_working_days(start_d, int(rule["working_days"]))
    if "months" in rule:
        return next_working_day(add_months(start_d, int(rule["months"])))
    if "days" in rule:
        return next_working_day(start_d + timedelta(days=int(rule["days"])))
    raise ValueError(f"deadline rule for grade {grade!r} needs working_days, months or days: {rule!r}")
