"""Loading rows into the warehouse (入库), idempotently, on SQLite and PostgreSQL.

Upserts use each database's native ``INSERT … ON CONFLICT``; a file is loaded in one transaction
so a crash half-way leaves nothing of it behind and a re-run starts clean.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, delete, select, text

from warehouse.bulk import bulk_insert, bulk_upsert
from warehouse.models import (
    Base,
    DimArea,
    DimDate,
    DimDepartment,
    DimEntity,
    DimSource,
    IngestFile,
    SourceRecord,
)


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def chunked(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def upsert(conn: Connection, tbl: Table, rows: list[dict[str, Any]], keys: Sequence[str],
           update: bool = True) -> None:
    """Insert rows; on a key conflict update the other columns (or leave the row when update=False).

    Goes through :mod:`warehouse.bulk`: COPY into a temporary table and one merge on PostgreSQL,
    one executemany on SQLite, inside the caller's transaction.
    """
    if rows:
        bulk_upsert(conn, tbl, rows, keys, update=update)


def insert_rows(conn: Connection, tbl: Table, rows: list[dict[str, Any]]) -> None:
    """Plain bulk insert (COPY on PostgreSQL, executemany on SQLite)."""
    if rows:
        bulk_insert(conn, tbl, rows)


def delete_where_in(conn: Connection, tbl: Table, column: str, values: Sequence[Any]) -> None:
    for part in chunked(list(values), 900):
        conn.execute(delete(tbl).where(tbl.c[column].in_(part)))


def fetch_record_hashes(conn: Connection, record_keys: Sequence[str]) -> dict[str, tuple[str, int]]:
    """{record_key: (content_hash, version)} for the keys already in the registry."""
    out: dict[str, tuple[str, int]] = {}
    t = SourceRecord.__table__
    for part in chunked(list(dict.fromkeys(record_keys)), 900):
        for key, h, v in conn.execute(select(t.c.record_key, t.c.content_hash, t.c.version)
                                      .where(t.c.record_key.in_(part))):
            out[key] = (h, v)
    return out


def find_loaded_file(conn: Connection, sha256: str) -> IngestFile | None:
    t = IngestFile.__table__
    row = conn.execute(select(t).where(t.c.sha256 == sha256, t.c.status == "loaded")
                       .order_by(t.c.file_id).limit(1)).mappings().first()
    return IngestFile(**row) if row else None


def lock_file_sha(conn: Connection, sha256: str) -> None:
    """PostgreSQL: hold, until this transaction ends, a lock on the file content ``sha256``, so that a
    second process loading the same bytes waits and then finds them loaded (two runs started at once
    loaded files twice). SQLite needs none: its one writer is serialised by the database lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(sha256[:15], 16)})


def register_file(conn: Connection, **values: Any) -> int:
    result = conn.execute(IngestFile.__table__.insert().values(**values))
    return int(result.inserted_primary_key[0])


def sync_dimensions(conn: Connection, areas: Sequence[Any], sources: dict[str, dict]) -> None:
    """Keep dim_area, dim_source and the lead units in dim_department in step with config."""
    upsert(conn, DimArea.__table__, [
        {"code": a.code, "name_zh": a.name_zh, "name_en": a.name_en, "lead_unit": a.lead_unit,
         "description": a.description, "sort_order": i}
        for i, a in enumerate(areas)
    ], ["code"])
    upsert(conn, DimSource.__table__, [
        {"code": code, "name_zh": s.get("name_zh", code), "weight": float(s.get("weight", 1.0))}
        for code, s in sources.items()
    ], ["code"])
    leads: dict[str, list[str]] = {}
    for a in areas:
        if a.lead_unit:
            leads.setdefault(a.lead_unit, []).append(a.code)
    upsert(conn, DimDepartment.__table__, [
        {"name": unit, "lead_of_areas": ",".join(codes)} for unit, codes in leads.items()
    ], ["name"])


def ensure_dates(conn: Connection, dates: Iterable[dt.date], is_workday) -> None:
    """Add the calendar days seen in the data to dim_date (existing days are left alone)."""
    rows = [
        {"date_key": d, "year": d.year, "month": f"{d.year:04d}-{d.month:02d}", "day": d.day,
         "weekday": d.isoweekday(), "is_workday": bool(is_workday(d))}
        for d in sorted(set(dates))
    ]
    upsert(conn, DimDate.__table__, rows, ["date_key"], update=False)


def upsert_entities(conn: Connection, feedback_rows: list[dict[str, Any]],
                    credit_info: dict[str, tuple[str | None, bool | None]]) -> None:
    """Merge the enterprises seen in these rows into dim_entity (first/last seen widen)."""
    seen: dict[str, dict[str, Any]] = {}
    for r in feedback_rows:
        h = r.get("entity_hash")
        if not h:
            continue
        ts = r.get("received_at")
        cur = seen.setdefault(h, {"entity_hash": h, "name_masked": r.get("entity_name_masked"),
                                  "credit_code_masked": credit_info.get(h, (None, None))[0],
                                  "credit_code_valid": credit_info.get(h, (None, None))[1],
                                  "first_seen": ts, "last_seen": ts})
        if ts is not None:
            cur["first_seen"] = min(x for x in (cur["first_seen"], ts) if x is not None)
            cur["last_seen"] = max(x for x in (cur["last_seen"], ts) if x is not None)
    if not seen:
        return
    t = DimEntity.__table__
    existing = {}
    for part in chunked(list(seen), 900):
        for row in conn.execute(select(t).where(t.c.entity_hash.in_(part))).mappings():
            existing[row["entity_hash"]] = row
    for h, cur in seen.items():
        old = existing.get(h)
        if old is None:
            continue
        for key, fn in (("first_seen", min), ("last_seen", max)):
            vals = [v for v in (old[key], cur[key]) if v is not None]
            cur[key] = fn(vals) if vals else None
        cur["name_masked"] = cur["name_masked"] or old["name_masked"]
        cur["credit_code_masked"] = cur["credit_code_masked"] or old["credit_code_masked"]
        if cur["credit_code_valid"] is None:
            cur["credit_code_valid"] = old["credit_code_valid"]
    upsert(conn, t, list(seen.values()), ["entity_hash"])
