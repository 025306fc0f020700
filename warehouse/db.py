"""Connecting to the warehouse and keeping its schema current (数据库连接与迁移).

The URL comes from ``--db``, else ``YINGSHANG_DB_URL``, else ``sqlite:///var/warehouse.db``.
``postgresql://`` URLs are driven by psycopg 3.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, text

DEFAULT_URL = "sqlite:///var/warehouse.db"
# PostgreSQL advisory lock key held while the schema is migrated ('yingshang' in ASCII, as an int)
SCHEMA_LOCK_KEY = int.from_bytes(b"yingshng", "big") & 0x7FFFFFFFFFFFFFFF
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def resolve_url(url: str | None = None) -> str:
    """The warehouse URL: the argument, else ``YINGSHANG_DB_URL``, else the local SQLite file."""
    url = url or os.environ.get("YINGSHANG_DB_URL") or DEFAULT_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via engine use
    cur = dbapi_conn.cursor()
    # WAL lets analysts read while the nightly job writes; foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """A cached engine for the resolved URL; creates the SQLite file's folder when needed."""
    url = resolve_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at the project's migrations and the given warehouse."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", resolve_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Create or migrate the schema to ``revision``; returns the revision now in force."""
    url = resolve_url(url)
    engine = get_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # two processes starting at once (a manual run beside the DAG's) must not both create the
            # schema: the second waits here, then finds it done
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revision(url) or ""


def current_revision(url: str | None = None) -> str | None:
    """The Alembic revision of the warehouse, or None when it was never migrated."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_initialised(url: str | None = None) -> bool:
    return inspect(get_engine(url)).has_table("feedback")
