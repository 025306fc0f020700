"""The analyst role (只读分析角色): reads the views, nothing else; PostgreSQL only."""

from __future__ import annotations

import uuid

import pytest
from mart_data import build_warehouse
from pg import drop_pg_database, pg_url_or_skip
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pipeline.access import AccessError, grant_analyst
from pipeline.marts import refresh_marts
from warehouse.db import get_engine, upgrade
from warehouse.views import VIEW_NAMES, create_views


def test_sqlite_gets_a_clear_one_line_error(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    with pytest.raises(AccessError) as exc:
        grant_analyst("analyst", url)
    msg = str(exc.value)
    assert "PostgreSQL" in msg and "\n" not in msg


def test_cli_reports_the_sqlite_error_on_one_line(tmp_path, capsys):
    from pipeline.cli import main

    url = f"sqlite:///{tmp_path / 'w.db'}"
    upgrade(url)
    with pytest.raises(SystemExit) as exc:
        main(["--db", url, "db", "grant-analyst", "analyst"])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "PostgreSQL" in err


@pytest.fixture(scope="module")
def pg_warehouse():
    url = pg_url_or_skip()
    try:
        build_warehouse(url)
        refresh_marts(url)
        yield url
    finally:
        get_engine(url).dispose()
        drop_pg_database(url)


@pytest.fixture
def pg_with_role(pg_warehouse):
    """(url, role name): the role is dropped after the test (roles are server-wide)."""
    role = f"yingshang_t_analyst_{uuid.uuid4().hex[:8]}"
    yield pg_warehouse, role
    with get_engine(pg_warehouse).begin() as conn:
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
            conn.execute(text(f'DROP OWNED BY "{role}"'))  # its grants in this database
            conn.execute(text(f'DROP ROLE "{role}"'))


def _as_role(url: str, role: str, sql: str):
    """Run ``sql`` as ``role`` (SET ROLE from the owner's session); returns rows or raises DBAPIError."""
    with get_engine(url).connect() as conn:
        try:
            conn.execute(text(f'SET ROLE "{role}"'))
            return conn.execute(text(sql)).all()
        finally:
            conn.rollback()
            conn.execute(text("RESET ROLE"))
            conn.commit()


def test_role_reads_views_but_no_table_and_writes_nothing(pg_with_role):
    url, role = pg_with_role
    msg = grant_analyst(role, url)
    assert role in msg and f"{len(VIEW_NAMES)} views" in msg and "\n" not in msg
    # reads every view
    for v in VIEW_NAMES:
        _as_role(url, role, f"SELECT * FROM {v} LIMIT 1")
    assert _as_role(url, role, "SELECT COUNT(*) FROM v_feedback")[0][0] > 0
    # no base or mart table
    for table in ("feedback", "dim_entity", "source_record", "mart_area_monthly", "survey_answer"):
        with pytest.raises(DBAPIError, match="permission denied"):
            _as_role(url, role, f"SELECT * FROM {table} LIMIT 1")
    # no writes, through tables or (auto-updatable) views, and no new tables
    for sql in ("INSERT INTO warehouse_meta (key, value) VALUES ('x', 'y')",
                "UPDATE ledger_item SET status = 'x'",
                "UPDATE v_month SET n_days = 0",  # a single-table view PostgreSQL could update
                "DELETE FROM v_area",
                "CREATE TABLE analyst_scratch (a int)"):
        with pytest.raises(DBAPIError, match="permission denied|read-only"):
            _as_role(url, role, sql)
    with get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM v_month WHERE n_days = 0")).scalar_one() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM v_area")).scalar_one() == 10


def test_grant_is_repeatable_and_survives_view_refresh(pg_with_role):
    url, role = pg_with_role
    grant_analyst(role, url)
    second = grant_analyst(role, url)
    assert "existing role" in second
    with get_engine(url).begin() as conn:
        create_views(conn)  # CREATE OR REPLACE keeps the grants
    assert _as_role(url, role, "SELECT COUNT(*) FROM v_area_monthly")[0][0] > 0


def test_rejects_odd_role_names(pg_with_role):
    url, _ = pg_with_role
    with pytest.raises(AccessError, match="not a plain role name"):
        grant_analyst('x"; DROP TABLE feedback; --', url)
