"""Refreshing the marts (数据集市刷新) after a load: only the days and months that changed.

The nightly job calls :func:`refresh_marts` with the received dates of the feedback it inserted or
updated and the months of the questionnaire answers and third-party scores it loaded
(:func:`touched_since` finds both from the load times). Everything happens in one transaction:
a failed refresh leaves the marts as they were, and a repeated one leaves them unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select

from pipeline.config import ConfigError, load_yaml
from warehouse.db import get_engine
from warehouse.marts import MartSettings, month_of, refresh
from warehouse.models import Feedback, SourceRecord, SurveyAnswer, SurveyScore


def mart_settings() -> MartSettings:
    """config/marts.yaml as :class:`MartSettings` (the built-in defaults when the file is absent)."""
    try:
        cfg = load_yaml("marts")
    except ConfigError as exc:
        if "not found" in str(exc):
            return MartSettings()
        raise
    try:
        return MartSettings.from_mapping(cfg)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def refresh_marts(db_url: str | None = None, dates: Iterable[dt.date | str] | None = None,
                  months: Iterable[str] | None = None) -> dict[str, Any]:
    """Rebuild the mart rows of ``dates`` (days) and ``months`` ('YYYY-MM'); everything when both are None.

    The monthly marts of the days' months are rebuilt too, and so are the months whose 环比
    (next month) and 同比 (same month next year) read a rebuilt month, and the repeat-complainant
    lists whose 90-day window holds a rebuilt day. Returns a summary (see warehouse.marts.refresh).
    """
    engine = get_engine(db_url)
    if not inspect(engine).has_table("mart_area_monthly"):
        raise RuntimeError("the warehouse has no marts yet: run `yingshang db upgrade` first")
    day_list = None if dates is None else [_as_date(d) for d in dates if d is not None]
    month_list = None if months is None else [str(m) for m in months]
    settings = mart_settings()
    with engine.begin() as conn:
        return refresh(conn, day_list, month_list, settings)


def touched_since(db_url: str | None, since: dt.datetime) -> tuple[list[dt.date], list[str]]:
    """Days and months whose mart rows may have changed by loads at or after ``since``.

    Days: received dates of feedback loaded since then (new or updated work orders keep their
    original date). Months: submission months of questionnaire answers and the months of
    third-party scores whose source record was written since then.
    """
    f = Feedback.__table__.c
    a = SurveyAnswer.__table__.c
    sc = SurveyScore.__table__.c
    sr = SourceRecord.__table__.c
    with get_engine(db_url).connect() as conn:
        days = sorted({d for (d,) in conn.execute(
            select(f.received_date).where(f.loaded_at >= since, f.received_date.is_not(None)).distinct())})
        months = {month_of(d) for (d,) in conn.execute(
            select(a.submitted_date).join(SourceRecord.__table__, sr.record_key == a.record_key)
            .where(sr.updated_at >= since, a.submitted_date.is_not(None)).distinct())}
        months |= {m for (m,) in conn.execute(
            select(sc.month).join(SourceRecord.__table__, sr.record_key == sc.record_key)
            .where(sr.updated_at >= since).distinct())}
    return days, sorted(months)
