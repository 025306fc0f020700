"""Analyst views (分析视图): present, stable, masked, and consistent with the marts, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from mart_data import PERSON_TRAP, PHONE_HASH_TRAP, TOKEN_TRAP, build_warehouse
from pg import drop_pg_database, pg_url_or_skip
from sqlalchemy import inspect, text

from pipeline.marts import refresh_marts
from warehouse.db import get_engine
from warehouse.views import VIEW_NAMES, create_views

REQUIRED = {"v_feedback", "v_area_daily", "v_area_monthly", "v_survey_area_monthly", "v_repeat_entities",
            "v_clues", "v_ledger", "v_ledger_overdue"}
NEVER_IN_VIEWS = {"phone_hash", "phone_masked", "person_name_masked", "tokens", "record_key", "payload", "raw"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def url(request, tmp_path_factory):
    if request.param == "sqlite":
        u = f"sqlite:///{tmp_path_factory.mktemp('views') / 'warehouse.db'}"
    else:
        u = pg_url_or_skip()
    build_warehouse(u)
    refresh_marts(u)
    yield u
    if request.param == "postgresql":
        drop_pg_database(u)


def rows(url: str, sql: str) -> list[dict]:
    with get_engine(url).connect() as conn:
        return [dict(r) for r in conn.execute(text(sql)).mappings()]


def test_every_required_view_exists(url):
    views = set(inspect(get_engine(url)).get_view_names())
    assert REQUIRED <= views
    assert set(VIEW_NAMES) <= views


def test_views_expose_no_personal_or_internal_columns(url):
    insp = inspect(get_engine(url))
    for v in VIEW_NAMES:
        cols = {c["name"] for c in insp.get_columns(v)}
        assert not cols & NEVER_IN_VIEWS, f"{v} exposes {cols & NEVER_IN_VIEWS}"


def test_no_view_returns_a_trap_value(url):
    # The base rows carry a phone hash, masked person names and tokens; no view may return them.
    for v in VIEW_NAMES:
        for r in rows(url, f"SELECT * FROM {v}"):
            for value in r.values():
                s = str(value)
                assert PHONE_HASH_TRAP not in s and TOKEN_TRAP not in s and PERSON_TRAP not in s, v


def test_v_feedback_has_area_names_and_months(url):
    got = rows(url, "SELECT area, area_name, received_date, received_month, source_name FROM v_feedback "
                    "WHERE area = 'A1'")
    assert got and all(r["area_name"] == "开办企业" for r in got)
    for r in got:
        d = r["received_date"]
        d = d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))
        assert r["received_month"] == f"{d.year:04d}-{d.month:02d}"
        assert r["source_name"]
    total = rows(url, "SELECT COUNT(*) AS n FROM v_feedback")[0]["n"]
    assert total == rows(url, "SELECT COUNT(*) AS n FROM feedback")[0]["n"]


def test_v_area_daily_and_monthly_add_up_to_the_feedback(url):
    n = rows(url, "SELECT COUNT(*) AS n FROM feedback WHERE received_date IS NOT NULL")[0]["n"]
    assert rows(url, "SELECT SUM(n_feedback) AS n FROM v_area_daily")[0]["n"] == n
    assert rows(url, "SELECT SUM(n_feedback) AS n FROM v_feedback_monthly")[0]["n"] == n
    assert rows(url, "SELECT SUM(n_feedback) AS n FROM v_area_monthly")[0]["n"] == n


def test_v_area_monthly_carries_mom_and_yoy(url):
    got = rows(url, "SELECT v.month, v.area, v.area_name, v.n_feedback, v.n_feedback_prev_month, "
                    "v.n_feedback_prev_year, v.n_feedback_mom_pct, v.n_feedback_yoy_pct, v.composite_rank "
                    "FROM v_area_monthly v WHERE v.month = '2026-02' AND v.area = 'A3'")
    assert len(got) == 1
    r = got[0]
    assert r["area_name"] == "获得水电气暖"
    prev = rows(url, "SELECT n_feedback FROM mart_area_monthly WHERE month = '2026-01' AND area = 'A3'")
    prev_year = rows(url, "SELECT n_feedback FROM mart_area_monthly WHERE month = '2025-02' AND area = 'A3'")
    assert r["n_feedback_prev_month"] == prev[0]["n_feedback"]
    assert r["n_feedback_prev_year"] == prev_year[0]["n_feedback"]
    want = (r["n_feedback"] - prev[0]["n_feedback"]) * 100.0 / prev[0]["n_feedback"]
    assert abs(r["n_feedback_mom_pct"] - want) < 1e-9


def test_v_ledger_overdue_lists_open_items_past_deadline_only(url):
    assert [r["item_id"] for r in rows(url, "SELECT item_id FROM v_ledger_overdue ORDER BY item_id")] == ["L0"]
    assert len(rows(url, "SELECT item_id FROM v_ledger")) == 4
    assert {r["area_name"] for r in rows(url, "SELECT area_name FROM v_clues")} == {"开办企业"}


def test_v_repeat_entities_and_survey(url):
    rep = rows(url, "SELECT entity_hash, name_masked, top_area, top_area_name FROM v_repeat_entities "
                    "WHERE month = '2025-03'")
    assert "rep00" in {r["entity_hash"] for r in rep}
    assert all("*" in (r["name_masked"] or "*") for r in rep)
    sv = rows(url, "SELECT satisfaction_mean, n_answers FROM v_survey_area_monthly WHERE month = '2026-03'")
    assert sv and all(0 <= r["satisfaction_mean"] <= 100 and r["n_answers"] > 0 for r in sv)


def test_create_views_again_changes_nothing(url):
    before = rows(url, "SELECT * FROM v_area_monthly ORDER BY month, area")
    with get_engine(url).begin() as conn:
        assert create_views(conn) == list(VIEW_NAMES)
    assert rows(url, "SELECT * FROM v_area_monthly ORDER BY month, area") == before


def test_overdue_view_uses_the_ledger_rules_open_statuses():
    from pipeline.ledger_rules import OPEN_STATUSES
    from warehouse.views import LEDGER_OPEN_STATUSES, VIEWS

    assert tuple(LEDGER_OPEN_STATUSES) == tuple(OPEN_STATUSES)
    assert all(f"'{s}'" in VIEWS["v_ledger_overdue"] for s in OPEN_STATUSES)


def test_overdue_view_counts_today_in_beijing_time(url):
    """The warehouse's times are Beijing times: "today" for 超期 is Beijing's date, not the UTC date
    (SQLite's CURRENT_DATE), which lags behind from 00:00 to 08:00 in Beijing."""
    import datetime as dt

    from sqlalchemy import text

    from warehouse.views import TODAY_SQL

    with get_engine(url).connect() as conn:
        today = conn.execute(text(f"SELECT {TODAY_SQL[conn.dialect.name]}")).scalar()
    beijing = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).date()
    assert str(today)[:10] == str(beijing)
