"""PostgreSQL for tests: a fresh throw-away database on the YINGSHANG_TEST_PG_URL server.

``pg_url_or_skip()`` creates ``yingshang_t_<random>`` and returns its URL, or skips the test with the
reason (variable unset, server unreachable, no right to create databases). The database is dropped
when the test session ends (or earlier by calling ``drop_pg_database(url)``), connections included.
Import it from a test module as ``from pg import pg_url_or_skip``.
"""

from __future__ import annotations

import atexit
import os
import uuid

import pytest

_created: dict[str, str] = {}  # url -> database name


def _admin_url() -> str | None:
    base = os.environ.get("YINGSHANG_TEST_PG_URL")
    if not base:
        return None
    from warehouse.db import resolve_url

    return resolve_url(base)


def pg_url_or_skip() -> str:
    """URL of a new empty PostgreSQL database, or pytest.skip with a clear reason."""
    admin_url = _admin_url()
    if not admin_url:
        pytest.skip("YINGSHANG_TEST_PG_URL is not set: PostgreSQL variant skipped")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"yingshang_t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a test environment problem, not a product failure
        pytest.skip(f"cannot create a PostgreSQL test database on YINGSHANG_TEST_PG_URL: "
                    f"{str(exc).splitlines()[0]}")
    finally:
        engine.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    _created[url] = name
    return url


def drop_pg_database(url: str) -> None:
    """Drop a database made by pg_url_or_skip (terminating its connections)."""
    name = _created.pop(url, None)
    admin_url = _admin_url()
    if not name or not admin_url:
        return
    from sqlalchemy import create_engine, text

    from warehouse.db import get_engine

    try:
        get_engine(url).dispose()
    except Exception:  # the engine may never have been made
        pass
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@atexit.register
def _drop_all() -> None:
    for url in list(_created):
        try:
            drop_pg_database(url)
        except Exception:  # best effort at interpreter exit
            pass
