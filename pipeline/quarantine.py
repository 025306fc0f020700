"""The quarantine (隔离区): list, show and retry rows that were not accepted.

Retry re-parses the rows with the *current* configuration (after, say, a column alias or an
enumeration was added). It reads the original file again when it is still where it was and
unchanged (so the real values, not the masked copy, are parsed); otherwise it parses the masked raw
row kept in the quarantine table. Rows that now parse are loaded exactly as a fresh ingest would load
them and marked ``resolved``; the others stay ``open`` with their new reason.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pipeline import sources as source_adapters
from pipeline.canonical import ParsedFile
from pipeline.config import load_sources
from pipeline.ingest import FileResult, _FileLoader, _iter_parsed, ensure_schema, file_sha256
from pipeline.nightly import refresh_after
from warehouse.db import get_engine
from warehouse.models import IngestFile, QuarantineRow


def list_quarantine(db_url: str | None, status: str = "open") -> list[dict[str, Any]]:
    q, f = QuarantineRow.__table__, IngestFile.__table__
    stmt = (select(q.c.quarantine_id, q.c.source, q.c.row_number, q.c.reason, q.c.status, q.c.created_at,
                   f.c.file_name, f.c.path)
            .join(f, f.c.file_id == q.c.file_id).order_by(q.c.quarantine_id))
    if status != "all":
        stmt = stmt.where(q.c.status == status)
    with get_engine(db_url).connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def get_quarantined(db_url: str | None, quarantine_id: int) -> dict[str, Any]:
    q, f = QuarantineRow.__table__, IngestFile.__table__
    with get_engine(db_url).connect() as conn:
        row = conn.execute(select(q, f.c.file_name, f.c.path).join(f, f.c.file_id == q.c.file_id)
                           .where(q.c.quarantine_id == quarantine_id)).mappings().first()
    if row is None:
        raise LookupError(f"no quarantined row #{quarantine_id}")
    return dict(row)


def retry_quarantine(db_url: str | None, ids: list[int] | None = None) -> dict[str, int]:
    """Re-process open quarantined rows (all, or the given ids) with the current configuration."""
    ensure_schema(db_url)
    engine = get_engine(db_url)
    q, f = QuarantineRow.__table__, IngestFile.__table__
    with engine.connect() as conn:
        stmt = select(q, f.c.path, f.c.sha256).join(f, f.c.file_id == q.c.file_id).where(q.c.status == "open")
        if ids:
            stmt = stmt.where(q.c.quarantine_id.in_(ids))
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    by_file: dict[int, list[dict]] = {}
    for r in rows:
        by_file.setdefault(r["file_id"], []).append(r)
    cfg = load_sources()
    loaded = still = 0
    results: list[FileResult] = []
    for file_id, qrows in by_file.items():
        source, path, sha = qrows[0]["source"], Path(qrows[0]["path"]), qrows[0]["sha256"]
        wanted = {r["row_number"]: r for r in qrows}
        parsed = _reparse(path, sha, source, cfg, wanted)
        result = FileResult(path=str(path), source=source)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        with engine.begin() as conn:
            loader = _FileLoader(conn, source, file_id, result)
            ok_rows = set(int(n) for n in parsed.rows["row_number"].tolist()) if not parsed.rows.empty else set()
            bad = {qr.row_number: qr for qr in parsed.quarantine}
            parsed.quarantine = []
            loader.load_chunk(parsed)
            for n, qrow in wanted.items():
                if n in ok_rows:
                    conn.execute(q.update().where(q.c.quarantine_id == qrow["quarantine_id"])
                                 .values(status="resolved", resolved_at=now))
                    loaded += 1
                else:
                    reason = bad[n].reason if n in bad else qrow["reason"]
                    conn.execute(q.update().where(q.c.quarantine_id == qrow["quarantine_id"]).values(reason=reason))
                    still += 1
        results.append(result)
    refresh_after(results, db_url)
    return {"loaded": loaded, "still_quarantined": still}


def _reparse(path: Path, sha: str, source: str, cfg: dict, wanted: dict[int, dict]) -> ParsedFile:
    """Parse only the wanted rows: from the original file when it is unchanged, else the masked copy."""
    if path.is_file() and file_sha256(path) == sha:
        chunks = list(_iter_parsed(path, source, cfg, chunk_rows=50_000))
        out = ParsedFile(source=source)
        import pandas as pd

        rows = [c.rows[c.rows["row_number"].isin(list(wanted))] for c in chunks if not c.rows.empty]
        out.rows = pd.concat(rows, ignore_index=True) if rows else out.rows
        keys = set(out.rows["record_key"].astype(str)) if not out.rows.empty else set()
        for attr in ("feedback", "answers", "scores"):
            frames = [getattr(c, attr) for c in chunks if not getattr(c, attr).empty]
            if frames:
                frame = pd.concat(frames, ignore_index=True)
                setattr(out, attr, frame[frame["record_key"].astype(str).isin(keys)])
        out.quarantine = [qr for c in chunks for qr in c.quarantine if qr.row_number in wanted]
        return out
    return source_adapters.parse_rows([w["raw"] for w in wanted.values()], source, cfg, list(wanted))
