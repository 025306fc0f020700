"""The quarantine (隔离区): list, show and retry rows that were not accepted.

Retry re-parses the rows with the *current* configuration (after, say, a column alias or an
enumeration was added). It reads the original file again when it is still where it was and
unchanged (so the real values, not the masked copy, are parsed); the masked raw row kept in the
quarantine table is parsed only when asked (``--from-masked``). Rows that now parse are loaded exactly
as a fresh ingest would load them and marked ``resolved`` — unless a later file has loaded their record
meanwhile (a corrected re-delivery), then they are ``superseded``; the others stay ``open`` with their
new reason.
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
    stmt = (select(q.c.quarantine_id, q.c.source, q.c.sheet, q.c.row_number, q.c.reason, q.c.status, q.c.created_at,
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


class RetryError(Exception):
    """A retry or dismissal that cannot be done as asked (an unknown or closed quarantine id)."""


def retry_quarantine(db_url: str | None, ids: list[int] | None = None, *,
                     from_masked: bool = False) -> dict[str, Any]:
    """Re-process open quarantined rows (all, or the given ids) with the current configuration.

    A row is parsed again from its original file when that file is still where it was loaded from and
    unchanged. When it is not, the row stays quarantined (its reason says why) unless ``from_masked``:
    the masked copy kept in the quarantine parses, but hashes of masked phone numbers and names are
    not the real ones (a supervisor report keyed by its writer's name would load a second time).
    A row whose record a later file has loaded meanwhile (a corrected re-delivery) is not loaded over
    it: it is marked ``superseded``. Returns the counts: loaded, still_quarantined, superseded.
    """
    ensure_schema(db_url)
    engine = get_engine(db_url)
    q, f = QuarantineRow.__table__, IngestFile.__table__
    with engine.connect() as conn:
        stmt = select(q, f.c.path, f.c.sha256).join(f, f.c.file_id == q.c.file_id)
        stmt = stmt.where(q.c.quarantine_id.in_(ids)) if ids else stmt.where(q.c.status == "open")
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
    if ids:
        found = {r["quarantine_id"]: r for r in rows}
        unknown = [i for i in ids if i not in found]
        if unknown:
            raise RetryError(f"no quarantined row #{', #'.join(map(str, unknown))} (see 'yingshang quarantine list --status all')")
        closed = [i for i in ids if found[i]["status"] != "open"]
        if closed:
            raise RetryError(f"quarantined row #{', #'.join(map(str, closed))} is {found[closed[0]]['status']}, "
                             "not open: nothing to retry")
    by_file: dict[int, list[dict]] = {}
    for r in rows:
        by_file.setdefault(r["file_id"], []).append(r)
    cfg = load_sources()
    counts = {"loaded": 0, "still_quarantined": 0, "superseded": 0}
    results: list[FileResult] = []
    for file_id, qrows in by_file.items():
        source, path, sha = qrows[0]["source"], Path(qrows[0]["path"]), qrows[0]["sha256"]
        wanted = {(r["sheet"] or "", r["row_number"]): r for r in qrows}
        # --from-masked parses the stored copy even when the file is there: rows fixed by hand are in it
        original = not from_masked and path.is_file() and file_sha256(path) == sha
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        if not original and not from_masked:
            why = (f"the original file is no longer at {path}" if not path.is_file() else
                   f"{path} has changed since it was loaded")
            with engine.begin() as conn:
                for qrow in qrows:
                    conn.execute(q.update().where(q.c.quarantine_id == qrow["quarantine_id"]).values(
                        reason=_with_note(qrow["reason"], f"not retried: {why}; put it back, re-deliver a "
                                                          "corrected file, or retry --from-masked")))
            counts["still_quarantined"] += len(qrows)
            continue
        parsed = _reparse_original(path, source, cfg, wanted) if original else _reparse_masked(source, cfg, wanted)
        result = FileResult(path=str(path), source=source)
        with engine.begin() as conn:
            newer = _loaded_later(conn, source, file_id, parsed)
            good = parsed.rows[~parsed.rows["record_key"].astype(str).isin(newer)] if newer else parsed.rows
            ok_rows = {(s, int(n)) for s, n in zip(good["sheet"], good["row_number"], strict=True)} if len(good) else set()
            skipped = {(s, int(n)): newer[k] for s, n, k in zip(parsed.rows["sheet"], parsed.rows["row_number"],
                                                                parsed.rows["record_key"].astype(str), strict=True)
                       if k in newer} if len(parsed.rows) else {}
            bad = {(qr.sheet, qr.row_number): qr for qr in parsed.quarantine}
            keep = set(good["record_key"].astype(str)) if len(good) else set()
            parsed.rows = good.drop(columns="sheet")
            for attr in ("feedback", "answers", "scores"):
                frame = getattr(parsed, attr)
                if len(frame):
                    setattr(parsed, attr, frame[frame["record_key"].astype(str).isin(keep)])
            parsed.quarantine = []
            loader = _FileLoader(conn, source, file_id, result)
            loader.load_chunk(parsed)
            for key, qrow in wanted.items():
                upd = q.update().where(q.c.quarantine_id == qrow["quarantine_id"])
                if key in ok_rows:
                    conn.execute(upd.values(status="resolved", resolved_at=now))
                    counts["loaded"] += 1
                elif key in skipped:
                    conn.execute(upd.values(status="superseded", resolved_at=now, reason=_with_note(
                        qrow["reason"], f"superseded: a later file ({skipped[key]}) loaded this record")))
                    counts["superseded"] += 1
                else:
                    reason = bad[key].reason if key in bad else qrow["reason"]
                    conn.execute(upd.values(reason=reason))
                    counts["still_quarantined"] += 1
            if result.inserted or result.updated or result.unchanged:
                # the file's counters move with its rows: what retry loaded is no longer quarantined
                moved = result.inserted + result.updated + result.unchanged
                conn.execute(f.update().where(f.c.file_id == file_id).values(
                    inserted=f.c.inserted + result.inserted, updated=f.c.updated + result.updated,
                    unchanged=f.c.unchanged + result.unchanged, quarantined=f.c.quarantined - moved))
        results.append(result)
    refresh_after(results, db_url)
    return counts


def dismiss_quarantine(db_url: str | None, ids: list[int], note: str) -> int:
    """Close open quarantined rows by hand (status ``dismissed``, the note added to the reason): a row
    whose record a corrected file has loaded since, or that is no data at all. Returns how many."""
    engine = get_engine(db_url)
    q = QuarantineRow.__table__
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    with engine.begin() as conn:
        rows = {r.quarantine_id: r for r in conn.execute(select(q.c.quarantine_id, q.c.status, q.c.reason)
                                                        .where(q.c.quarantine_id.in_(ids)))}
        unknown = [i for i in ids if i not in rows]
        if unknown:
            raise RetryError(f"no quarantined row #{', #'.join(map(str, unknown))}")
        closed = [i for i in ids if rows[i].status != "open"]
        if closed:
            raise RetryError(f"quarantined row #{', #'.join(map(str, closed))} is {rows[closed[0]].status}, not open")
        for i in ids:
            conn.execute(q.update().where(q.c.quarantine_id == i).values(
                status="dismissed", resolved_at=now, reason=_with_note(rows[i].reason, f"dismissed: {note}")))
    return len(ids)


def _with_note(reason: str, note: str) -> str:
    """``reason`` with ``note`` in place of an earlier note of the same kind."""
    base = reason.split(" [retry: ")[0]
    return f"{base} [retry: {note}]"


def _loaded_later(conn: Any, source: str, file_id: int, parsed: ParsedFile) -> dict[str, str]:
    """Natural keys of ``parsed.rows`` whose record a file loaded after ``file_id`` holds: {key: file name}."""
    from pipeline.ingest import warehouse_record_key
    from warehouse.models import SourceRecord

    if parsed.rows.empty:
        return {}
    keys = {warehouse_record_key(source, str(k)): str(k) for k in parsed.rows["record_key"]}
    sr, f = SourceRecord.__table__, IngestFile.__table__
    later = conn.execute(select(sr.c.record_key, f.c.file_name).join(f, f.c.file_id == sr.c.last_file_id)
                         .where(sr.c.record_key.in_(list(keys)), sr.c.last_file_id > file_id)).all()
    return {keys[k]: name for k, name in later}


def _reparse_original(path: Path, source: str, cfg: dict, wanted: dict[tuple[str, int], dict]) -> ParsedFile:
    """The wanted (sheet, row) rows of the original file, parsed again; ``rows`` gets a ``sheet`` column."""
    import pandas as pd

    out = ParsedFile(source=source)
    rows, keys = [], set()
    frames: dict[str, list[pd.DataFrame]] = {"feedback": [], "answers": [], "scores": []}
    for c in _iter_parsed(path, source, cfg, chunk_rows=50_000):
        mine = {n for s, n in wanted if s == c.sheet}
        out.quarantine += [qr for qr in c.quarantine if (qr.sheet, qr.row_number) in wanted]
        if c.rows.empty or not mine:
            continue
        sel = c.rows[c.rows["row_number"].astype(int).isin(mine)].assign(sheet=c.sheet)
        rows.append(sel)
        chunk_keys = set(sel["record_key"].astype(str))
        keys |= chunk_keys
        for attr in frames:
            frame = getattr(c, attr)
            if len(frame):
                frames[attr].append(frame[frame["record_key"].astype(str).isin(chunk_keys)])
    out.rows = pd.concat(rows, ignore_index=True) if rows else out.rows.assign(sheet=pd.Series(dtype=str))
    for attr, parts in frames.items():
        if parts:
            setattr(out, attr, pd.concat(parts, ignore_index=True))
    return out


def _reparse_masked(source: str, cfg: dict, wanted: dict[tuple[str, int], dict]) -> ParsedFile:
    """The masked copies of the wanted rows, parsed; each row numbered by its place in ``wanted`` so
    rows of different sheets with one row number stay apart, then given back its (sheet, row)."""
    items = list(wanted)
    parsed = source_adapters.parse_rows([wanted[k]["raw"] for k in items], source, cfg, list(range(1, len(items) + 1)))
    back = {i + 1: k for i, k in enumerate(items)}
    if len(parsed.rows):
        parsed.rows = parsed.rows.assign(sheet=[back[int(n)][0] for n in parsed.rows["row_number"]],
                                         row_number=[back[int(n)][1] for n in parsed.rows["row_number"]])
    else:
        parsed.rows = parsed.rows.assign(sheet=[])
    for qr in parsed.quarantine:
        qr.sheet, qr.row_number = back[qr.row_number]
    return parsed
