"""docs/analyst_queries.sql: every query runs unchanged on SQLite and PostgreSQL and answers right.

Answers are checked against pandas over the raw rows the test inserted; when PostgreSQL is
available, the two databases must also return the same rows for every query.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from mart_data import build_warehouse
from pg import drop_pg_database, pg_url_or_skip
from sqlalchemy import text

from pipeline.marts import refresh_marts
from warehouse.db import get_engine

QUERIES_FILE = Path(__file__).resolve().parents[1] / "docs" / "analyst_queries.sql"
LATEST = "2026-03"  # the synthetic data's last month with feedback


def parse_queries(path: Path = QUERIES_FILE) -> dict[str, dict[str, str]]:
    """{name: {"question": ..., "sql": ...}} from `-- name:` / `-- question:` blocks."""
    out: dict[str, dict[str, str]] = {}
    blocks = re.split(r"^-- name:\s*", path.read_text(encoding="utf-8"), flags=re.M)[1:]
    for block in blocks:
        name, _, rest = block.partition("\n")
        m = re.match(r"-- question:\s*(.+)\n", rest)
        assert m, f"query {name.strip()} has no '-- question:' line"
        sql = rest[m.end():].strip()
        assert sql.endswith(";"), f"query {name.strip()} does not end with ';'"
        assert name.strip() not in out, f"duplicate query name {name.strip()}"
        out[name.strip()] = {"question": m.group(1).strip(), "sql": sql.rstrip(";").strip()}
    return out


QUERIES = parse_queries()


def test_at_least_ten_named_questions():
    assert len(QUERIES) >= 10
    for name, q in QUERIES.items():
        assert re.fullmatch(r"[a-z0-9_]+", name), name
        assert q["question"].endswith("?"), name
        assert ";" not in q["sql"], f"{name}: one statement per query"
        # analysts' queries read views only (the read-only role can run them)
        tables = re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", q["sql"], flags=re.I)
        named_ctes = set(re.findall(r"\b([a-z_]+)\s+AS\s*\(", q["sql"], flags=re.I))
        assert all(t.startswith("v_") or t in named_ctes for t in tables), f"{name} reads {tables}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def wh(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('queries') / 'warehouse.db'}"
    else:
        url = pg_url_or_skip()
    data = build_warehouse(url)
    refresh_marts(url)
    yield url, data
    if request.param == "postgresql":
        drop_pg_database(url)


def run(url: str, name: str) -> list[dict]:
    with get_engine(url).connect() as conn:
        return [dict(r) for r in conn.execute(text(QUERIES[name]["sql"])).mappings()]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_query_runs_and_answers(wh, name):
    url, _ = wh
    assert run(url, name), f"{name} returned no rows on the test warehouse"


def _complaints(fb: pd.DataFrame) -> pd.DataFrame:
    df = fb.copy()
    df["month"] = df["received_date"].map(lambda d: f"{d.year:04d}-{d.month:02d}")
    df["complaint"] = df["request_type"].isin(["投诉", "举报"]) | (df["sentiment"] == "neg")
    return df


def test_top_areas_this_month(wh):
    url, data = wh
    df = _complaints(data["feedback"])
    want = df[df["month"] == LATEST].groupby("area").size().sort_values(ascending=False)
    got = {r["area"]: r["n_feedback"] for r in run(url, "top_areas_this_month")}
    assert got == want.to_dict()
    assert run(url, "top_areas_this_month")[0]["n_feedback"] == want.max()


def test_streets_fastest_growing_complaints(wh):
    url, data = wh
    df = _complaints(data["feedback"])
    df = df[df["complaint"] & df["street"].notna()]
    cur = df[df["month"] == LATEST].groupby("street").size()
    prev = df[df["month"] == "2026-02"].groupby("street").size()
    got = run(url, "streets_fastest_growing_complaints")
    assert {r["street"]: (r["complaints"], r["complaints_prev_month"]) for r in got} == \
        {s: (int(n), int(prev.get(s, 0))) for s, n in cur.items()}
    changes = [r["change"] for r in got]
    assert changes == sorted(changes, reverse=True)


def test_repeat_enterprises(wh):
    url, data = wh
    df = _complaints(data["feedback"])
    end = dt.date(2026, 3, 31)
    w = df[df["complaint"] & df["entity_hash"].notna() & (df["received_date"] > end - dt.timedelta(days=90))
           & (df["received_date"] <= end)]
    counts = w.groupby("entity_hash").size()
    want = {e: int(n) for e, n in counts.items() if n >= 3}
    got = {r["entity_hash"]: r["n_complaints"] for r in run(url, "repeat_enterprises")}
    assert got == want and "rep02" in got


def test_satisfaction_vs_last_year(wh):
    url, data = wh
    a = data["survey_answer"]
    a = a[a["area"].notna() & a["score_100"].notna()].copy()
    a["month"] = a["submitted_date"].map(lambda d: f"{d.year:04d}-{d.month:02d}")
    now = a[a["month"] == LATEST].groupby("area")["score_100"].mean()
    before = a[a["month"] == "2025-03"].groupby("area")["score_100"].mean()
    for r in run(url, "satisfaction_vs_last_year"):
        assert r["satisfaction_mean"] == pytest.approx(now[r["area"]])
        assert r["satisfaction_yoy_pts"] == pytest.approx(now[r["area"]] - before[r["area"]])


def test_district_monthly_trend(wh):
    url, data = wh
    df = _complaints(data["feedback"])
    per_month = df.groupby("month").size()
    got = {r["month"]: r for r in run(url, "district_monthly_trend")}
    assert {m: r["n_feedback"] for m, r in got.items()} == per_month.to_dict()
    r = got["2026-02"]
    assert float(r["n_feedback_yoy_pct"]) == pytest.approx((per_month["2026-02"] - per_month["2025-02"]) * 100
                                                           / per_month["2025-02"])
    assert got["2025-02"]["n_feedback_prev_year"] is None


def test_overdue_ledger_by_unit(wh):
    url, _ = wh
    assert [(r["responsible_unit"], r["overdue_items"]) for r in run(url, "overdue_ledger_by_unit")] == \
        [("市场监督管理局", 1)]


def test_sqlite_and_postgresql_return_the_same_rows(tmp_path):
    pg = pg_url_or_skip()
    lite = f"sqlite:///{tmp_path / 'warehouse.db'}"
    try:
        for url in (lite, pg):
            build_warehouse(url)
            refresh_marts(url)
        for name in QUERIES:
            a, b = run(lite, name), run(pg, name)
            assert len(a) == len(b), name
            for ra, rb in zip(a, b, strict=True):
                assert ra.keys() == rb.keys(), name
                for k in ra:
                    va, vb = ra[k], rb[k]
                    if isinstance(va, (int, float)) and not isinstance(va, bool) and vb is not None:
                        assert float(va) == pytest.approx(float(vb), rel=1e-9, abs=1e-9), (name, k)
                    elif isinstance(vb, (dt.date, dt.datetime)) and isinstance(va, str):
                        assert va.startswith(str(vb)[:10]), (name, k)
                    else:
                        assert va == vb, (name, k, va, vb)
    finally:
        drop_pg_database(pg)
