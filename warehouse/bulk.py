"""Bulk loading (批量入库) through each database's fastest safe path.

- PostgreSQL: ``COPY … FROM STDIN`` through psycopg 3's ``cursor.copy()`` on the driver connection
  underneath the SQLAlchemy connection (same transaction). An upsert copies into a temporary table
  and merges with one ``INSERT … SELECT … ON CONFLICT DO UPDATE``; rows whose values did not change
  are not rewritten (``WHERE … IS DISTINCT FROM``), so re-running a load creates no dead tuples.
  When the target table is still empty, the upsert copies straight into it (nothing can conflict).
- SQLite: one ``executemany`` of a prepared ``INSERT`` (``… ON CONFLICT DO UPDATE`` for an upsert) on
  the driver connection, inside the caller's transaction. An upsert none of whose keys is in the
  table yet (checked first: one index probe per key) is a plain ``INSERT``: same rows, cheaper.

Both functions run inside the caller's transaction (``engine.begin()``): a failure leaves nothing
behind, and raises SQLAlchemy's exception classes (IntegrityError …) as ``conn.execute`` would. Values are converted exactly as SQLAlchemy would bind them (dates and times on SQLite as
SQLAlchemy's text format, JSON serialised), so rows loaded here read back like any other.

Rows are mappings (``{"column": value}``) or, faster, tuples in the order of ``columns``. A JSON
column's value may be a :class:`JsonText` (serialised already, e.g. in a worker process).
Within one upsert batch a key that appears twice keeps its last row.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, String, Table
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from warehouse.models import Base

Row = Mapping[str, Any] | Sequence[Any]


def _table(table: Table | str) -> Table:
    return Base.metadata.tables[table] if isinstance(table, str) else table


def _column_names(tbl: Table, rows: Sequence[Row], columns: Sequence[str] | None) -> list[str]:
    if columns is None:
        first = rows[0]
        if not isinstance(first, Mapping):
            raise ValueError("rows given as tuples need columns=[...]")
        columns = list(first.keys())
    cols = list(columns)
    unknown = [c for c in cols if c not in tbl.c]
    if unknown:
        raise ValueError(f"{tbl.name}: no such column(s) {unknown}")
    return cols


def _as_tuples(rows: Sequence[Row], cols: list[str]) -> Iterator[tuple]:
    """Rows as tuples in column order (mappings may leave a column out: it becomes NULL)."""
    if rows and not isinstance(rows[0], Mapping):
        for r in rows:
            yield r if isinstance(r, tuple) else tuple(r)
        return
    getter = itemgetter(*cols)
    single = len(cols) == 1
    for r in rows:
        try:
            v = getter(r)
        except KeyError:
            v = tuple(r.get(c) for c in cols) if not single else r.get(cols[0])
        yield (v,) if single else v


_SQLITE_DATETIME_FORMAT = ("%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
                           ".%(microsecond)06d")
_SQLITE_DATE_FORMAT = "%(year)04d-%(month)02d-%(day)02d"


def _fast_datetime(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # Same text as SQLAlchemy's default SQLite DATETIME format, via the C isoformat (~10x faster).
    # The last value is remembered: a load stamps every row with one time (loaded_at, created_at …).
    last: list[Any] = [None, None]

    def convert(v: Any, _dt: type = dt.datetime) -> Any:
        if type(v) is _dt and v.tzinfo is None:
            if v is last[0]:
                return last[1]
            text = v.isoformat(" ", "microseconds")
            last[0], last[1] = v, text
            return text
        return proc(v)

    return convert


def _fast_date(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(v: Any, _d: type = dt.date) -> Any:
        return v.isoformat() if type(v) is _d else proc(v)

    return convert


class JsonText:
    """A JSON column's value already serialised (``.text``) exactly as the column would serialise it
    (e.g. by ``json.dumps`` in a worker process): loaded as it is, not serialised again. (A wrapper,
    not a str subclass: wrapping a text copies nothing.)"""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"JsonText({self.text!r})"


def _pre_serialized(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(v: Any, _t: type = JsonText) -> Any:
        return v.text if type(v) is _t else proc(v)

    return convert


def _converters(conn: Connection, tbl: Table, cols: list[str]) -> list[Callable[[Any], Any] | None]:
    """Per-column value converters: SQLAlchemy's own bind processors (SQLite), JSON text (PostgreSQL)."""
    dialect = conn.dialect
    out: list[Callable[[Any], Any] | None] = []
    for c in cols:
        typ = tbl.c[c].type
        if dialect.name == "postgresql":
            # psycopg adapts dates, times, numbers and booleans itself; JSON must arrive as text.
            out.append(_json_text if isinstance(typ, JSON) else None)
            continue
        if isinstance(typ, (Integer, Float, Boolean, String)) and not isinstance(typ, JSON):
            # sqlite3 binds int, float, bool (as 0/1) and str exactly as SQLAlchemy would store them.
            out.append(None)
            continue
        impl = typ.dialect_impl(dialect)
        proc = impl.bind_processor(dialect)
        fmt = getattr(impl, "_storage_format", None)
        if proc is not None and isinstance(typ, DateTime) and fmt == _SQLITE_DATETIME_FORMAT:
            proc = _fast_datetime(proc)
        elif proc is not None and isinstance(typ, Date) and not isinstance(typ, DateTime) \
                and fmt == _SQLITE_DATE_FORMAT:
            proc = _fast_date(proc)
        elif proc is not None and isinstance(typ, JSON):
            proc = _pre_serialized(proc)
        out.append(proc)
    return out


def _json_text(value: Any) -> Any:
    if type(value) is JsonText:
        return value.text
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _convert(tuples: Iterable[tuple], convs: list[Callable[[Any], Any] | None]) -> Iterator[tuple]:
    if not any(convs):
        return iter(tuples)
    # A row function made for these columns, e.g. ``lambda r: (r[0], r[1], None if r[2] is None
    # else f2(r[2]), …)``: one call per row instead of a Python loop over the columns (3-4x faster).
    # Only column positions go into the generated source.
    names: dict[str, Any] = {}
    parts = []
    for i, f in enumerate(convs):
        if f is None:
            parts.append(f"r[{i}]")
        else:
            names[f"f{i}"] = f
            parts.append(f"(None if r[{i}] is None else f{i}(r[{i}]))")
    row_fn = eval(f"lambda r: ({', '.join(parts)},)", names)
    return map(row_fn, tuples)


def _dedupe(tuples: Iterable[tuple], key_pos: list[int]) -> list[tuple]:
    """Keep the last row of every key (what an executemany of upserts would leave)."""
    rows = list(tuples)
    getter = itemgetter(*key_pos)
    seen: dict[Any, int] = {}
    for i, r in enumerate(rows):
        seen[getter(r)] = i
    if len(seen) == len(rows):
        return rows
    return [rows[i] for i in sorted(seen.values())]


@contextmanager
def _driver_errors(conn: Connection, what: str) -> Iterator[None]:
    """Raise driver errors as SQLAlchemy's (IntegrityError, DataError …), like conn.execute would."""
    try:
        yield
    except conn.dialect.loaded_dbapi.Error as exc:
        raise sa_exc.DBAPIError.instance(what, None, exc, conn.dialect.loaded_dbapi.Error,
                                         hide_parameters=True, dialect=conn.dialect) from exc


# --------------------------------------------------------------------------- PostgreSQL


def _pg_ident(tbl: Table) -> Any:
    from psycopg import sql

    return sql.Identifier(tbl.schema, tbl.name) if tbl.schema else sql.Identifier(tbl.name)


def _pg_copy(conn: Connection, target: Any, cols: list[str], tuples: Iterable[tuple]) -> int:
    from psycopg import sql

    raw = conn.connection.driver_connection
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(target, sql.SQL(", ").join(map(sql.Identifier, cols)))
    n = 0
    with raw.cursor() as cur, cur.copy(stmt) as copy:
        write = copy.write_row
        for row in tuples:
            write(row)
            n += 1
    return n


def _pg_upsert(conn: Connection, tbl: Table, cols: list[str], rows: list[tuple], keys: list[str],
               update: bool) -> int:
    from psycopg import sql

    raw = conn.connection.driver_connection
    target = _pg_ident(tbl)
    with raw.cursor() as cur:
        cur.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(target))
        empty = cur.fetchone() is None
    if empty:
        # Nothing can conflict with an empty table and the batch is already de-duplicated.
        return _pg_copy(conn, target, cols, rows)
    tmp = sql.Identifier(f"_bulk_{tbl.name[:30]}_{uuid.uuid4().hex[:8]}")
    col_list = sql.SQL(", ").join(map(sql.Identifier, cols))
    with raw.cursor() as cur:
        # Same column types as the target, no constraints or indexes: the fastest place to COPY to.
        cur.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA")
                    .format(tmp, col_list, target))
    _pg_copy(conn, tmp, cols, rows)
    others = [c for c in cols if c not in keys]
    conflict = sql.SQL(", ").join(map(sql.Identifier, keys))
    if update and others:
        set_ = sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in others)
        changed = sql.SQL(" OR ").join(
            sql.SQL("{0}.{1}::text IS DISTINCT FROM EXCLUDED.{1}::text" if isinstance(tbl.c[c].type, JSON)
                    else "{0}.{1} IS DISTINCT FROM EXCLUDED.{1}").format(sql.Identifier(tbl.name),
                                                                          sql.Identifier(c))
            for c in others)
        action = sql.SQL("DO UPDATE SET {} WHERE {}").format(set_, changed)
    else:
        action = sql.SQL("DO NOTHING")
    with raw.cursor() as cur:
        cur.execute(sql.SQL("INSERT INTO {} AS {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
            target, sql.Identifier(tbl.name), col_list, col_list, tmp, conflict, action))
        cur.execute(sql.SQL("DROP TABLE {}").format(tmp))
    return len(rows)


# --------------------------------------------------------------------------- SQLite


def _sqlite_insert_sql(conn: Connection, tbl: Table, cols: list[str], keys: list[str] | None,
                       update: bool) -> str:
    q = conn.dialect.identifier_preparer
    name = q.format_table(tbl)
    col_sql = ", ".join(q.quote(c) for c in cols)
    stmt = f"INSERT INTO {name} ({col_sql}) VALUES ({', '.join('?' for _ in cols)})"
    if keys is None:
        return stmt
    others = [c for c in cols if c not in keys]
    conflict = ", ".join(q.quote(k) for k in keys)
    if update and others:
        set_ = ", ".join(f"{q.quote(c)} = excluded.{q.quote(c)}" for c in others)
        changed = " OR ".join(f"{name}.{q.quote(c)} IS NOT excluded.{q.quote(c)}" for c in others)
        return f"{stmt} ON CONFLICT ({conflict}) DO UPDATE SET {set_} WHERE {changed}"
    return f"{stmt} ON CONFLICT ({conflict}) DO NOTHING"


SQLITE_BULK_CACHE_KIB = 65_536


def _sqlite_executemany(conn: Connection, stmt: str, tuples: Iterable[tuple]) -> None:
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        # SQLite's default page cache is 2 MB: a large load into tables with indexes on hashed
        # (random) keys then rewrites the same index pages again and again. 64 MB for this
        # connection keeps them in memory; it changes speed only, never results.
        size = cur.execute("PRAGMA cache_size").fetchone()[0]
        page = cur.execute("PRAGMA page_size").fetchone()[0]
        if (-size if size < 0 else size * page // 1024) < SQLITE_BULK_CACHE_KIB:
            cur.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
        cur.executemany(stmt, tuples)
    finally:
        cur.close()


SQLITE_PLAIN_INSERT_WHEN_NEW = True  # (tests switch it off to compare with the upsert statement)


def _sqlite_any_key_exists(conn: Connection, tbl: Table, key: str, values: list[Any]) -> bool:
    """Whether any of ``values`` is in ``tbl.key`` (an index probe per value)."""
    q = conn.dialect.identifier_preparer
    raw = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        for i in range(0, len(values), 900):
            part = values[i : i + 900]
            sql = (f"SELECT 1 FROM {q.format_table(tbl)} WHERE {q.quote(key)} IN "
                   f"({', '.join('?' for _ in part)}) LIMIT 1")
            if cur.execute(sql, part).fetchone() is not None:
                return True
        return False
    finally:
        cur.close()


# --------------------------------------------------------------------------- public API


def bulk_insert(conn: Connection, table: Table | str, rows: Sequence[Row],
                columns: Sequence[str] | None = None) -> int:
    """Insert rows as fast as the database allows (COPY on PostgreSQL, executemany on SQLite).

    A duplicate key fails the whole call (and the caller's transaction). Returns the rows written.
    """
    if not rows:
        return 0
    tbl = _table(table)
    cols = _column_names(tbl, rows, columns)
    tuples = _convert(_as_tuples(rows, cols), _converters(conn, tbl, cols))
    with _driver_errors(conn, f"bulk insert into {tbl.name}"):
        if conn.dialect.name == "postgresql":
            return _pg_copy(conn, _pg_ident(tbl), cols, tuples)
        if conn.dialect.name == "sqlite":
            _sqlite_executemany(conn, _sqlite_insert_sql(conn, tbl, cols, None, False), tuples)
            return len(rows)
    conn.execute(tbl.insert(), [dict(zip(cols, t, strict=True)) for t in _as_tuples(rows, cols)])
    return len(rows)


def bulk_upsert(conn: Connection, table: Table | str, rows: Sequence[Row], keys: Sequence[str],
                columns: Sequence[str] | None = None, update: bool = True) -> int:
    """Insert rows; a row whose ``keys`` exist already updates that row (or is skipped: update=False).

    Idempotent: loading the same rows twice leaves the table as after the first load, and rows
    whose values did not change are not rewritten. Returns the number of distinct keys sent.
    """
    if not rows:
        return 0
    tbl = _table(table)
    cols = _column_names(tbl, rows, columns)
    keys = list(keys)
    missing = [k for k in keys if k not in cols]
    if missing:
        raise ValueError(f"{tbl.name}: key column(s) {missing} not among the loaded columns")
    key_pos = [cols.index(k) for k in keys]
    tuples = _dedupe(_convert(_as_tuples(rows, cols), _converters(conn, tbl, cols)), key_pos)
    with _driver_errors(conn, f"bulk upsert into {tbl.name}"):
        if conn.dialect.name == "postgresql":
            return _pg_upsert(conn, tbl, cols, tuples, keys, update)
        if conn.dialect.name == "sqlite":
            if update and SQLITE_PLAIN_INSERT_WHEN_NEW and len(keys) == 1 \
                    and not _sqlite_any_key_exists(conn, tbl, keys[0], [t[key_pos[0]] for t in tuples]):
                # None of the (de-duplicated) keys is in the table, and this transaction is the only
                # writer: a plain INSERT writes exactly the rows (and rowids) the upsert would, without
                # the upsert's conflict handling per row (about a third of a feedback row's cost).
                _sqlite_executemany(conn, _sqlite_insert_sql(conn, tbl, cols, None, False), tuples)
            else:
                _sqlite_executemany(conn, _sqlite_insert_sql(conn, tbl, cols, keys, update), tuples)
            return len(tuples)
    raise NotImplementedError(f"bulk_upsert: unsupported database {conn.dialect.name}")
