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


Q_HEADER = ("序号,提交答卷时间,1、企业名称,5、所在街道,6、您对以下方面的满意度—开办企业,"
            "10、您对优化营商环境有何意见建议\n")


def _answers(rows: list[tuple[int, str]]) -> str:
    return Q_HEADER + "".join(f"{n},2026/10/{10 + n} 10:00:00,郑州某{n}机械有限公司,博学路街道,1,{t}\n"
                              for n, t in rows)


COMPLAINT = "营业执照变更登记要跑三趟窗口，材料反复退回，希望一次告知"


def _three_complaints_in_a_clue(tmp_path: Path, url: str) -> None:
    """October's answers 1-3, three wordings of one complaint, loaded and the month's clues built."""
    from pipeline.monthly import build_month_clues

    first = tmp_path / "a" / "questionnaire"
    first.mkdir(parents=True)
    (first / "q_1-3.csv").write_text(_answers([(1, COMPLAINT), (2, COMPLAINT + "。"), (3, "执照变更登记材料反复被退回，跑了三趟")]),
                                     encoding="utf-8")
    run_nightly(tmp_path / "a", url)
    build_month_clues("2026-10", None, url)


def test_a_clue_counts_its_members_after_a_redelivery_drops_one(tmp_path: Path, sqlite_url: str) -> None:
    """A re-delivered questionnaire whose open answer was emptied lost its feedback row and clue membership,
    but the clue kept n_items 6 for 5 members until the month was rebuilt (analyst red team, session 9)."""

    _three_complaints_in_a_clue(tmp_path, sqlite_url)
    q = ("select c.clue_id, c.n_items, (select count(*) from clue_member m where m.clue_id = c.clue_id) "
         "from problem_clue c where c.month = '2026-10'")
    with get_engine(sqlite_url).connect() as conn:
        before = conn.execute(text(q)).all()
    assert any(n == members >= 2 for _, n, members in before), before
    second = tmp_path / "b" / "questionnaire"
    second.mkdir(parents=True)
    (second / "q_1-3_fixed.csv").write_text(_answers([(1, "")]), encoding="utf-8")
    run_nightly(tmp_path / "b", sqlite_url)
    with get_engine(sqlite_url).connect() as conn:
        after = conn.execute(text(q)).all()
    assert sum(m for _, _, m in after) == sum(m for _, _, m in before) - 1
    assert all(n == members for _, n, members in after), after


def test_a_clue_shows_its_members_as_they_are_after_redeliveries(tmp_path: Path, sqlite_url: str) -> None:
    """Between rebuilds a clue's enterprises, dates, examples and description follow its members: a dropped
    answer no longer counts as an enterprise nor sets the last day, and a corrected text replaces the old one
    among the examples (session 9 note: they stayed the build's until the month was rebuilt)."""
    import json


    _three_complaints_in_a_clue(tmp_path, sqlite_url)
    q = text("select c.clue_id, c.n_items, c.n_entities, c.last_seen, c.examples, c.description from problem_clue c "
             "where c.month = '2026-10' order by c.n_items desc")

    def clue(conn):
        row = conn.execute(q).first()
        ex = row.examples if isinstance(row.examples, list) else json.loads(row.examples)
        return row, ex

    with get_engine(sqlite_url).connect() as conn:
        before, ex_before = clue(conn)
    assert (before.n_items, before.n_entities) == (3, 3), before
    assert str(before.last_seen).startswith("2026-10-13"), before
    assert any("跑了三趟" in e for e in ex_before), ex_before

    second = tmp_path / "b" / "questionnaire"
    second.mkdir(parents=True)
    corrected = "营业执照变更登记要跑四趟窗口，材料反复退回，希望一次告知清楚"
    (second / "q_1-3_fixed.csv").write_text(_answers([(1, corrected), (3, "")]), encoding="utf-8")
    run_nightly(tmp_path / "b", sqlite_url)
    with get_engine(sqlite_url).connect() as conn:
        after, ex_after = clue(conn)
    assert after.clue_id == before.clue_id
    assert (after.n_items, after.n_entities) == (2, 2), after
    assert str(after.last_seen).startswith("2026-10-12"), after
    assert not any("跑了三趟" in e for e in ex_after), ex_after
    assert sorted(ex_after) == sorted([corrected, COMPLAINT + "。"]), ex_after
