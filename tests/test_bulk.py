"""Bulk loading (warehouse.bulk): what goes in comes back, upserts are idempotent, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import add_ingest_file
from pg import drop_pg_database, pg_url_or_skip
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from warehouse.bulk import bulk_insert, bulk_upsert
from warehouse.db import get_engine, upgrade
from warehouse.models import SourceRecord, WarehouseMeta

T0 = dt.datetime(2026, 3, 2, 9, 15, 30, 120)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    u = f"sqlite:///{tmp_path / 'w.db'}" if request.param == "sqlite" else pg_url_or_skip()
    upgrade(u)
    add_ingest_file(u, T0)
    yield u
    if request.param == "postgresql":
        drop_pg_database(u)


def record(i: int, **over) -> dict:
    r = {"record_key": f"rk{i:04d}", "source": "hotline", "natural_key": f"GD{i}", "content_hash": "h1",
         "first_file_id": 1, "last_file_id": 1, "row_number": i + 2, "version": 1,
         "payload": {"工单编号": f"GD{i}", "n": i, "nested": [1, None]},
         "created_at": T0 + dt.timedelta(minutes=i), "updated_at": T0}
    r.update(over)
    return r


def read_records(url: str) -> dict[str, dict]:
    t = SourceRecord.__table__
    with get_engine(url).connect() as conn:
        return {r["record_key"]: dict(r) for r in conn.execute(select(t)).mappings()}


def test_values_round_trip_through_sqlalchemy(url):
    rows = [record(i) for i in range(50)]
    with get_engine(url).begin() as conn:
        assert bulk_insert(conn, "source_record", rows) == 50
    got = read_records(url)
    assert len(got) == 50
    r = got["rk0007"]
    assert r["created_at"] == T0 + dt.timedelta(minutes=7)  # microseconds kept, a real datetime back
    assert r["payload"] == {"工单编号": "GD7", "n": 7, "nested": [1, None]}
    # rows written by bulk compare like rows written by SQLAlchemy (same text format on SQLite)
    t = SourceRecord.__table__
    with get_engine(url).connect() as conn:
        n = conn.execute(select(func.count()).select_from(t).where(t.c.created_at >= T0 + dt.timedelta(minutes=10)))
        assert n.scalar_one() == 40


def test_upsert_updates_changed_rows_and_rerun_changes_nothing(url):
    with get_engine(url).begin() as conn:
        bulk_upsert(conn, "source_record", [record(i) for i in range(20)], ["record_key"])
    changed = [record(i, content_hash="h2", version=2) if i % 5 == 0 else record(i) for i in range(25)]
    for _ in range(2):  # the second run is a re-run: same result
        with get_engine(url).begin() as conn:
            assert bulk_upsert(conn, "source_record", changed, ["record_key"]) == 25
        got = read_records(url)
        assert len(got) == 25
        assert {k for k, r in got.items() if r["content_hash"] == "h2"} == {f"rk{i:04d}" for i in range(0, 25, 5)}
        assert got["rk0005"]["version"] == 2 and got["rk0006"]["version"] == 1


def test_duplicate_keys_in_one_batch_keep_the_last_row(url):
    rows = [record(1, content_hash="first"), record(2), record(1, content_hash="last")]
    with get_engine(url).begin() as conn:
        assert bulk_upsert(conn, "source_record", rows, ["record_key"]) == 2
    assert read_records(url)["rk0001"]["content_hash"] == "last"


def test_upsert_into_non_empty_table_and_do_nothing_mode(url):
    with get_engine(url).begin() as conn:
        bulk_upsert(conn, "source_record", [record(0)], ["record_key"])
        # non-empty now: on PostgreSQL this goes through the temporary table and ON CONFLICT
        bulk_upsert(conn, "source_record", [record(0, content_hash="x"), record(1)], ["record_key"], update=False)
    got = read_records(url)
    assert got["rk0000"]["content_hash"] == "h1" and "rk0001" in got


def test_tuples_with_columns_and_missing_mapping_keys(url):
    cols = ["key", "value"]
    with get_engine(url).begin() as conn:
        bulk_upsert(conn, WarehouseMeta.__table__, [("a", "1"), ("b", "2")], ["key"], columns=cols)
        bulk_upsert(conn, WarehouseMeta.__table__, [("a", "3")], ["key"], columns=cols)
        got = dict(conn.execute(select(WarehouseMeta.__table__)).all())
    assert got == {"a": "3", "b": "2"}
    with get_engine(url).begin() as conn:
        rows = [record(9), {k: v for k, v in record(10).items()}]
        bulk_insert(conn, "source_record", rows)
    with pytest.raises(ValueError, match="no such column"):
        with get_engine(url).begin() as conn:
            bulk_insert(conn, "warehouse_meta", [{"key": "z", "nope": 1}])


def test_failure_rolls_back_the_whole_load(url):
    with get_engine(url).begin() as conn:
        bulk_insert(conn, "source_record", [record(1)])
    with pytest.raises(IntegrityError):
        with get_engine(url).begin() as conn:
            bulk_insert(conn, "source_record", [record(2), record(1)])  # rk0001 exists: plain insert fails
    assert set(read_records(url)) == {"rk0001"}
    with get_engine(url).connect() as conn:
        conn.execute(text("SELECT 1"))  # the pooled connection is usable after the failure
