"""Shared fixtures: a temporary SQLite warehouse, a temporary PostgreSQL database when
YINGSHANG_TEST_PG_URL is set, a generated sample month, and the path of ../shared/data."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("YINGSHANG_HASH_SALT", "test-salt-not-secret")


def shared_data_dir() -> Path:
    return Path(os.environ.get("YINGSHANG_SHARED_DATA") or ROOT.parent / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path} (set YINGSHANG_SHARED_DATA)")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'warehouse.db'}"


def make_pg_database() -> tuple[str, callable]:
    """Create a throw-away database on the YINGSHANG_TEST_PG_URL server; returns (url, drop)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from warehouse.db import resolve_url

    base = os.environ.get("YINGSHANG_TEST_PG_URL")
    if not base:
        pytest.skip("YINGSHANG_TEST_PG_URL not set: PostgreSQL tests skipped")
    admin_url = make_url(resolve_url(base))
    name = f"yingshang_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.skip(f"cannot create a PostgreSQL test database: {exc}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        from warehouse.db import get_engine

        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture
def pg_url():
    url, drop = make_pg_database()
    yield url
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path):
    """Run a test on SQLite, and again on PostgreSQL when YINGSHANG_TEST_PG_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url, drop = make_pg_database()
        yield url
        drop()


@pytest.fixture(scope="session")
def sample_month(tmp_path_factory) -> tuple[Path, str]:
    """A generated month of landing files (scale 0.5 keeps the suite quick)."""
    from pipeline.sample import generate_sample

    out = tmp_path_factory.mktemp("landing")
    month = "2026-10"
    generate_sample(out, month, seed=11, scale=0.5)
    return out, month


def run_cli(*args: str) -> int:
    """Run the yingshang command in-process; returns its exit code."""
    from pipeline.cli import main

    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def add_ingest_file(url: str, started_at) -> None:
    """Register ingest_file 1 (the parent row that source records and feedback point to)."""
    from warehouse.db import get_engine
    from warehouse.models import IngestFile

    with get_engine(url).begin() as conn:
        conn.execute(IngestFile.__table__.insert(), [{
            "file_id": 1, "path": "/x", "file_name": "x", "source": "hotline", "sha256": "0" * 64, "size_bytes": 1,
            "status": "loaded", "rows_in": 0, "inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0,
            "ignored_rows": 0, "started_at": started_at}])
