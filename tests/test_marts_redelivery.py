"""A re-delivered record that moves to another day or disappears must leave the marts of the day it
was counted on (analyst red team, session 9: the old day was never refreshed, so the record was counted
twice — in October's daily, monthly and area marts and in November's)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import text

from pipeline.nightly import run_nightly
from warehouse.db import get_engine

HEADER = "工单编号,来电时间,诉求类型,诉求内容\n"


def _orders(rows: list[tuple[str, str]]) -> str:
    return HEADER + "".join(f"{no},{when},投诉,园区停电三次影响生产请核实{no}\n" for no, when in rows)


def _counts(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        q = lambda sql: int(conn.execute(text(sql)).scalar() or 0)  # noqa: E731
        return {
            "base_oct": q("select count(*) from feedback where received_date < '2026-11-01'"),
            "daily_oct": q("select sum(n_feedback) from mart_feedback_daily where month = '2026-10'"),
            "monthly_oct": q("select sum(n_feedback) from mart_feedback_monthly where month = '2026-10'"),
            "base_nov": q("select count(*) from feedback where received_date >= '2026-11-01'"),
            "daily_nov": q("select sum(n_feedback) from mart_feedback_daily where month = '2026-11'"),
        }


def test_a_record_moved_across_midnight_leaves_its_old_day(tmp_path: Path, sqlite_url: str) -> None:
    first = tmp_path / "a" / "hotline"
    first.mkdir(parents=True)
    (first / "orders_1.csv").write_text(_orders([("GD1", "2026-10-31 23:38:52"), ("GD2", "2026-10-30 10:00:00"),
                                                 ("GD3", "2026-10-15 09:00:00")]), encoding="utf-8")
    run_nightly(tmp_path / "a", sqlite_url)
    assert _counts(sqlite_url) == {"base_oct": 3, "daily_oct": 3, "monthly_oct": 3, "base_nov": 0, "daily_nov": 0}
    # the correction: GD1 was taken after midnight
    second = tmp_path / "b" / "hotline"
    second.mkdir(parents=True)
    (second / "orders_1_fixed.csv").write_text(_orders([("GD1", "2026-11-01 00:08:52")]), encoding="utf-8")
    run_nightly(tmp_path / "b", sqlite_url)
    got = _counts(sqlite_url)
    assert got == {"base_oct": 2, "daily_oct": 2, "monthly_oct": 2, "base_nov": 1, "daily_nov": 1}, got
    with get_engine(sqlite_url).connect() as conn:
        day = pd.read_sql("select day, sum(n_feedback) n from mart_feedback_daily group by day", conn)
    assert "2026-10-31" not in set(day.loc[day["n"] > 0, "day"].astype(str))
