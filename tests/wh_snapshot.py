"""A comparable picture of a whole warehouse: every table's rows, minus what differs by run.

Two loads of the same files — by ``yingshang run`` and by the Airflow DAG — must give equal
snapshots. What legitimately differs is left out: wall-clock columns (when a row was written) and
surrogate keys (the order files were loaded in); a file id is replaced by the file's name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# Columns that record *when* a row was written, not what it says.
WALL_CLOCK = {"loaded_at", "created_at", "updated_at", "started_at", "finished_at", "changed_at",
              "queued_at", "corrected_at", "built_at", "at", "resolved_at"}
SURROGATE = {"history_id", "quarantine_id", "event_id"}
SKIP_TABLES = {"alembic_version", "warehouse_meta"}


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def snapshot(url: str, tables: set[str] | None = None) -> dict[str, list[tuple]]:
    """``{table: sorted rows}`` of the warehouse at ``url`` (see the module docstring)."""
    from sqlalchemy import MetaData, create_engine, select

    from warehouse.db import resolve_url

    engine = create_engine(resolve_url(url))
    try:
        md = MetaData()
        md.reflect(engine, views=False)
        out: dict[str, list[tuple]] = {}
        with engine.connect() as conn:
            files = {fid: name for fid, name in conn.execute(
                select(md.tables["ingest_file"].c.file_id, md.tables["ingest_file"].c.file_name))}
            for name, table in sorted(md.tables.items()):
                if name in SKIP_TABLES or (tables is not None and name not in tables):
                    continue
                cols = [c for c in table.columns if c.name not in WALL_CLOCK | SURROGATE]
                rows = []
                for row in conn.execute(select(*cols)):
                    rows.append(tuple(
                        (c.name, files.get(v, v) if c.name.endswith("file_id") else _norm(v))
                        for c, v in zip(cols, row, strict=True)))
                out[name] = sorted(rows, key=repr)
        return out
    finally:
        engine.dispose()
