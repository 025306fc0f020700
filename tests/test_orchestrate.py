"""Scheduler glue (pipeline/orchestrate.py), without Airflow: which files a run over a data interval
loads, how they are grouped into lanes, which month a monthly run builds, where the warehouse is."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.orchestrate import (
    failure_summary,
    files_for_interval,
    flatten_results,
    interval_days,
    interval_month,
    lanes,
    previous_month,
    totals_json,
    warehouse_url,
)

SH = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def test_a_nightly_interval_is_the_local_day_it_starts_on():
    # 02:00 → 02:00 Shanghai time: the day that just ended
    assert interval_days(dt.datetime(2026, 10, 31, 2, tzinfo=SH), dt.datetime(2026, 11, 1, 2, tzinfo=SH)) == [
        dt.date(2026, 10, 31)]
    # the same interval as Airflow stores it, in UTC (18:00 the day before)
    assert interval_days("2026-10-30T18:00:00+00:00", "2026-10-31T18:00:00+00:00") == [dt.date(2026, 10, 31)]
    # midnight to midnight, and a zero-length interval (a manual run)
    assert interval_days(dt.datetime(2026, 10, 5, tzinfo=SH), dt.datetime(2026, 10, 6, tzinfo=SH)) == [
        dt.date(2026, 10, 5)]
    moment = dt.datetime(2026, 10, 5, 9, tzinfo=SH)
    assert interval_days(moment, moment) == [dt.date(2026, 10, 5)]
    # a weekly interval covers seven days
    assert len(interval_days(dt.datetime(2026, 10, 5, 2, tzinfo=SH), dt.datetime(2026, 10, 12, 2, tzinfo=SH))) == 7


def test_months_of_monthly_runs():
    # the monthly data interval starts on the 1st at 06:00 Shanghai = 22:00 UTC the day before
    assert interval_month(dt.datetime(2026, 9, 30, 22, tzinfo=UTC)) == "2026-10"
    assert previous_month(dt.datetime(2026, 11, 1, 6, tzinfo=SH)) == "2026-10"
    assert previous_month(dt.datetime(2027, 1, 1, 0, 30, tzinfo=SH)) == "2026-12"
    # 1 January 00:30 in Shanghai is still 31 December in UTC: the local day decides
    assert previous_month(dt.datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == "2026-12"


def _touch(path: Path, content: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def test_dated_folders_belong_to_their_day_and_flat_files_to_the_first_run(tmp_path, sqlite_url):
    landing = tmp_path / "landing"
    d30 = _touch(landing / "2026-10-30" / "hotline" / "工单_30.csv", "a")
    d31 = _touch(landing / "2026-10-31" / "hotline" / "工单_31.csv", "b")
    q31 = _touch(landing / "2026-10-31" / "questionnaire" / "问卷.csv", "c")
    flat = _touch(landing / "survey" / "测评.csv", "d")
    _touch(landing / "2026-10-31" / "notes.json", "{}")  # not a data file
    start, end = dt.datetime(2026, 10, 31, 2, tzinfo=SH), dt.datetime(2026, 11, 1, 2, tzinfo=SH)
    assert files_for_interval(landing, start, end, sqlite_url) == [d31, q31, flat]
    assert files_for_interval(landing, start - dt.timedelta(days=1), start, sqlite_url) == [d30, flat]

    # once the flat file's bytes are in the registry, later runs no longer list it
    from pipeline.ingest import file_sha256
    from warehouse import load as wl
    from warehouse.db import get_engine, upgrade

    upgrade(sqlite_url)
    with get_engine(sqlite_url).begin() as conn:
        wl.register_file(conn, path=str(flat), file_name=flat.name, source="survey", sha256=file_sha256(flat),
                         size_bytes=1, status="loaded", started_at=dt.datetime(2026, 10, 31))
    assert files_for_interval(landing, start, end, sqlite_url) == [d31, q31]
    with pytest.raises(FileNotFoundError, match="landing folder"):
        files_for_interval(tmp_path / "nowhere", start, end, sqlite_url)


def test_lanes_keep_one_sources_files_together_and_in_order():
    paths = ["/l/hotline/w2.csv", "/l/survey/s.xlsx", "/l/hotline/w1.xlsx", "/l/hotline/w3.csv", "/l/odd/x.csv"]
    got = lanes(sorted(paths))
    assert ["/l/hotline/w1.xlsx", "/l/hotline/w2.csv", "/l/hotline/w3.csv"] in got
    assert ["/l/survey/s.xlsx"] in got
    assert ["/l/odd/x.csv"] in got  # unknown source: its own lane, ingest rejects it with the reason
    assert sum(map(len, got)) == len(paths)


def test_lane_results_flatten_and_total():
    r = {"path": "a", "status": "loaded", "rows_in": 3, "inserted": 2, "updated": 1, "unchanged": 0,
         "quarantined": 0}
    s = {**r, "path": "b", "status": "skipped", "rows_in": 0, "inserted": 0, "updated": 0}
    flat = flatten_results([[r], [s], None])
    assert [x["path"] for x in flat] == ["a", "b"]
    assert totals_json(flat) == {"rows_in": 3, "inserted": 2, "updated": 1, "unchanged": 0, "quarantined": 0,
                                 "files": 2, "loaded": 1, "skipped": 1, "rejected": 0}


def test_warehouse_url_from_a_connection_or_the_environment(monkeypatch):
    monkeypatch.setenv("YINGSHANG_DB_URL", "sqlite:///env.db")
    assert warehouse_url() == "sqlite:///env.db"
    # an ordinary Airflow Postgres connection (its URI), driven by psycopg 3
    assert warehouse_url("postgres://etl:s3cr%40t@db:5432/yingshang?sslmode=require") == \
        "postgresql+psycopg://etl:s3cr%40t@db:5432/yingshang"
    # the SQLAlchemy URL in the connection's extra wins (the only way to name a SQLite file)
    assert warehouse_url("sqlite://", {"sqlalchemy_url": "sqlite:////srv/wh.db"}) == "sqlite:////srv/wh.db"
    monkeypatch.delenv("YINGSHANG_DB_URL")
    assert warehouse_url() is None  # the warehouse default applies


def test_failure_summary_says_what_where_and_how_to_rerun():
    text = failure_summary(dag_id="yingshang_nightly", run_id="scheduled__2026-10-31", task_id="ingest",
                           map_index=2, try_number=4, interval=("2026-10-31T02:00", "2026-11-01T02:00"),
                           error=RuntimeError("database is down\nsecond line"), log_url="http://x/log")
    assert text.splitlines()[0] == "YINGSHANG FAILURE in yingshang_nightly run scheduled__2026-10-31"
    assert "  task: ingest[2] (try 4)" in text
    assert "  error: RuntimeError: database is down" in text and "    second line" in text
    assert "data interval: 2026-10-31T02:00 → 2026-11-01T02:00" in text
    assert "re-run:" in text


def test_a_manual_run_without_an_interval_covers_the_day_before_it():
    from pipeline.orchestrate import run_interval

    after = dt.datetime(2026, 11, 1, 9, 30, tzinfo=SH)
    start, end = run_interval(None, None, after)
    assert (start, end) == (after - dt.timedelta(days=1), after)
    assert interval_days(start, end) == [dt.date(2026, 10, 31)]  # dated folder of the day before
    given = (dt.datetime(2026, 10, 31, 2, tzinfo=SH), dt.datetime(2026, 11, 1, 2, tzinfo=SH))
    assert run_interval(*given, after) == given
