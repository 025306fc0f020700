"""Ingesting landing files (数据入库): parse → validate → enrich → load, one transaction per file.

Every input row of a file ends in exactly one counter: ``inserted`` (a record never seen),
``updated`` (a record seen before whose content changed: recorded in ``record_history``),
``unchanged`` (seen before, same content) or ``quarantined`` (kept in ``quarantine`` with its reason).
So for every file ``rows_in == inserted + updated + unchanged + quarantined``. A file whose bytes
were loaded before is ``skipped``; a file that cannot be read is ``rejected`` whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from nlp import pii
from pipeline import sources as source_adapters
from pipeline.canonical import SOURCES, ParsedFile, QuarantinedRow, RejectedFile
from pipeline.config import load_areas, load_sources, settings
from pipeline.enrich import _clean, enrich_feedback, entity_hash, get_enricher, review_threshold, stable_id
from pipeline.workdays import is_working_day
from warehouse import load as wl
from warehouse.db import get_engine, upgrade
from warehouse.models import (
    Feedback,
    LabelCorrection,
    QuarantineRow,
    RecordHistory,
    ReviewQueueItem,
    SourceRecord,
    SurveyAnswer,
    SurveyScore,
)

log = logging.getLogger("yingshang.ingest")

DATA_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls"}


@dataclass
class FileResult:
    """What happened to one file; the JSON shape of ``ingest --json`` (cli.md)."""

    path: str
    source: str | None
    status: str = "loaded"
    rows_in: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    error: str | None = None
    ignored_rows: int = field(default=0, repr=False)
    # Days and months whose marts this file touched (for the incremental mart refresh).
    touched_dates: set = field(default_factory=set, repr=False)
    touched_months: set = field(default_factory=set, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("path", "source", "status", *COUNTERS, "error")}


COUNTERS = ("rows_in", "inserted", "updated", "unchanged", "quarantined")


def totals(results: list[FileResult]) -> dict[str, int]:
    out = {c: sum(getattr(r, c) for r in results) for c in COUNTERS}
    out["files"] = len(results)
    for status in ("loaded", "skipped", "rejected"):
        out[status] = sum(1 for r in results if r.status == status)
    return out


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


_NAME_HEADER_HINTS = ("姓名", "来电人", "监督员", "联系人", "诉求人", "填报人")
_ORG_HEADER_HINTS = ("企业名称", "单位名称", "涉及企业")


def mask_raw_row(raw: dict[str, Any]) -> dict[str, Any]:
    """The raw row with every personal datum masked, for quarantine and change history."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        value = _clean(value)
        if value is None:
            out[str(key)] = None
            continue
        text = str(value)
        header = str(key)
        if any(h in header for h in _NAME_HEADER_HINTS) and "类型" not in header:
            out[header] = pii.mask_name(text)
        elif any(h in header for h in _ORG_HEADER_HINTS):
            out[header] = pii.mask_org_name(text)
        else:
            out[header] = pii.mask_pii(text)
    return out


def _row_hash(raw: dict[str, Any]) -> str:
    norm = {str(k): (None if _clean(v) is None else str(v).strip()) for k, v in raw.items()}
    return hashlib.sha1(json.dumps(norm, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def warehouse_record_key(source: str, natural_key: str) -> str:
    return stable_id(source, natural_key)


# --------------------------------------------------------------------------- the per-file load


class _FileLoader:
    """Loads the chunks of one file inside one transaction and keeps its counters."""

    def __init__(self, conn: Connection, source: str, file_id: int, result: FileResult):
        self.conn, self.source, self.file_id, self.result = conn, source, file_id, result
        self.now = _utcnow()
        self.enricher = get_enricher()

    def load_chunk(self, parsed: ParsedFile) -> None:
        res = self.result
        res.ignored_rows += parsed.ignored_rows
        self._quarantine(parsed.quarantine)
        rows = parsed.rows
        if rows.empty:
            return
        natural = [str(k) for k in rows["record_key"].tolist()]
        wkeys = {k: warehouse_record_key(self.source, k) for k in natural}
        known = wl.fetch_record_hashes(self.conn, list(wkeys.values()))
        current = {k: v[0] for k, v in known.items()}
        versions = {k: v[1] for k, v in known.items()}
        first_seen_in_file: dict[str, int] = {}
        final: dict[str, dict[str, Any]] = {}
        history: list[dict[str, Any]] = []
        old_payloads = self._payloads([wkeys[k] for k in natural if wkeys[k] in current])
        for nat, row_number, raw in zip(natural, rows["row_number"].tolist(), rows["raw"].tolist(), strict=True):
            wkey = wkeys[nat]
            h = _row_hash(raw)
            masked = mask_raw_row(raw)
            if wkey not in current:
                res.inserted += 1
            elif current[wkey] == h:
                res.unchanged += 1
                continue
            else:
                res.updated += 1
                versions[wkey] = versions.get(wkey, 1) + 1
                old = old_payloads.get(wkey) or final.get(wkey, {}).get("payload") or {}
                changes = {k: [old.get(k), v] for k, v in masked.items() if old.get(k) != v}
                history.append({"record_key": wkey, "file_id": self.file_id, "version": versions[wkey],
                                 "changed_at": self.now, "old_hash": current[wkey], "new_hash": h,
                                 "changes": changes})
            current[wkey] = h
            first_seen_in_file.setdefault(wkey, int(row_number))
            final[wkey] = {"natural": nat, "hash": h, "row_number": int(row_number), "payload": masked}
        if not final:
            return
        self._write_records(final, known, versions, history)
        self._write_facts(parsed, final, wkeys)

    def _payloads(self, keys: list[str]) -> dict[str, dict]:
        t = SourceRecord.__table__
        out: dict[str, dict] = {}
        for part in wl.chunked(list(dict.fromkeys(keys)), 900):
            for key, payload in self.conn.execute(select(t.c.record_key, t.c.payload).where(t.c.record_key.in_(part))):
                out[key] = payload or {}
        return out

    def _write_records(self, final, known, versions, history) -> None:
        rows = []
        for wkey, f in final.items():
            rows.append({
                "record_key": wkey, "source": self.source, "natural_key": pii.mask_pii(f["natural"]),
                "content_hash": f["hash"], "first_file_id": self.file_id, "last_file_id": self.file_id,
                "row_number": f["row_number"], "version": versions.get(wkey, 1), "payload": f["payload"],
                "created_at": self.now, "updated_at": self.now,
            })
        new_rows = [r for r in rows if r["record_key"] not in known]
        upd_rows = [r for r in rows if r["record_key"] in known]
        wl.upsert(self.conn, SourceRecord.__table__, new_rows, ["record_key"])
        if upd_rows:
            # first_file_id and created_at describe the first sighting: keep them on update.
            for r in upd_rows:
                r.pop("first_file_id")
                r.pop("created_at")
            t = SourceRecord.__table__
            for r in upd_rows:
                key = r.pop("record_key")
                self.conn.execute(t.update().where(t.c.record_key == key).values(**r))
        wl.insert_rows(self.conn, RecordHistory.__table__, history)

    def _write_facts(self, parsed: ParsedFile, final: dict[str, dict], wkeys: dict[str, str]) -> None:
        keep = {f["natural"] for f in final.values()}
        record_keys = {nat: wkeys[nat] for nat in keep}
        write_keys = list(record_keys.values())

        fb = parsed.feedback
        if not fb.empty:
            fb = fb[fb["record_key"].astype(str).isin(keep)]
            fb = fb.assign(record_key=fb["record_key"].astype(str), part=fb["part"].fillna("").astype(str))
            fb = fb.drop_duplicates(["record_key", "part"], keep="last")
        if fb is not None and not fb.empty:
            ids = [stable_id(record_keys[k], p) for k, p in zip(fb["record_key"], fb["part"], strict=True)]
            corrections = self._corrections(ids)
            rows = enrich_feedback(self.source, fb, record_keys, corrections, self.enricher)
        else:
            rows = []
        # Feedback that a changed record no longer yields is removed; the rest is upserted.
        t = Feedback.__table__
        new_ids = {r["feedback_id"] for r in rows}
        stale = []
        for part in wl.chunked(write_keys, 900):
            stale += [fid for (fid,) in self.conn.execute(select(t.c.feedback_id).where(t.c.record_key.in_(part)))
                      if fid not in new_ids]
        if stale:
            from warehouse.models import ClueMember

            wl.delete_where_in(self.conn, ClueMember.__table__, "feedback_id", stale)
            wl.delete_where_in(self.conn, t, "feedback_id", stale)
        credit_info = {}
        if not fb.empty and "credit_code" in fb:
            for code, name in zip(fb["credit_code"].tolist(), fb["entity_name"].tolist(), strict=True):
                code = _clean(code)
                if code:
                    h = entity_hash(str(code), _clean(name))
                    credit_info[h] = (pii.mask_pii(str(code)) if pii.find_pii(str(code)) else
                                      pii.mask_credit_code(str(code)), pii.is_valid_credit_code(str(code)))
        wl.upsert_entities(self.conn, rows, credit_info)
        wl.upsert(self.conn, t, rows, ["feedback_id"])
        self._queue_for_review(rows)
        days = [r["received_date"] for r in rows if r["received_date"]]
        wl.ensure_dates(self.conn, days, is_working_day)
        self.result.touched_dates.update(days)

        ans = parsed.answers
        wl.delete_where_in(self.conn, SurveyAnswer.__table__, "record_key", write_keys)
        if not ans.empty:
            ans = ans[ans["record_key"].astype(str).isin(keep)]
            ans = ans.assign(record_key=ans["record_key"].astype(str))
            ans = ans.drop_duplicates(["record_key", "question"], keep="last")
            answer_rows = [self._answer_row(a, record_keys) for a in ans.to_dict("records")]
            wl.insert_rows(self.conn, SurveyAnswer.__table__, answer_rows)
            self.result.touched_months.update(f"{a['submitted_date']:%Y-%m}" for a in answer_rows
                                              if a["submitted_date"])
        sc = parsed.scores
        wl.delete_where_in(self.conn, SurveyScore.__table__, "record_key", write_keys)
        if not sc.empty:
            sc = sc[sc["record_key"].astype(str).isin(keep)]
            sc = sc.assign(record_key=sc["record_key"].astype(str))
            sc = sc.drop_duplicates(["record_key", "indicator", "method"], keep="last")
            score_rows = [self._score_row(s, record_keys) for s in sc.to_dict("records")]
            wl.insert_rows(self.conn, SurveyScore.__table__, score_rows)
            self.result.touched_months.update(s["month"] for s in score_rows)

    def _queue_for_review(self, rows: list[dict[str, Any]]) -> None:
        """Uncertain area labels go to the review queue; a confident relabel takes an item out."""
        threshold = review_threshold()
        low = [r for r in rows if r["area_origin"] == "model" and r["area_confidence"] < threshold]
        sure = [r["feedback_id"] for r in rows if r not in low]
        t = ReviewQueueItem.__table__
        if sure:
            for part in wl.chunked(sure, 900):
                self.conn.execute(t.delete().where(t.c.feedback_id.in_(part), t.c.status == "open"))
        wl.upsert(self.conn, t, [
            {"feedback_id": r["feedback_id"], "area": r["area"], "area_confidence": r["area_confidence"],
             "reason": f"area confidence {r['area_confidence']:.2f} < {threshold:.2f}", "status": "open",
             "queued_at": self.now, "resolved_at": None}
            for r in low
        ], ["feedback_id"])

    def _answer_row(self, a: dict, record_keys: dict[str, str]) -> dict[str, Any]:
        from pipeline.enrich import _to_dt

        submitted = _to_dt(a.get("submitted_at"))
        score = _clean(a.get("score_100"))
        rk = record_keys[a["record_key"]]
        return {
            "answer_id": stable_id(rk, a.get("question")), "record_key": rk,
            "response_no": str(_clean(a.get("source_record_id")) or a["record_key"]),
            "submitted_at": submitted, "submitted_date": submitted.date() if submitted else None,
            "question": str(a.get("question") or ""), "area": _clean(a.get("area_code")),
            "answer_text": pii.mask_pii(str(_clean(a.get("answer_text")) or "")) or None,
            "score_100": float(score) if score is not None else None,
            "entity_hash": entity_hash(_clean(a.get("credit_code")), _clean(a.get("entity_name"))),
            "street": _clean(a.get("street")), "industry": _clean(a.get("industry")),
            "size": _clean(a.get("size")),
        }

    def _score_row(self, s: dict, record_keys: dict[str, str]) -> dict[str, Any]:
        rk = record_keys[s["record_key"]]

        def _int(v):
            v = _clean(v)
            try:
                return int(float(v)) if v is not None else None
            except (TypeError, ValueError):
                return None

        return {
            "score_id": stable_id(rk, s.get("indicator"), s.get("method")), "record_key": rk,
            "month": str(s.get("month")), "unit": str(s.get("unit")), "indicator": str(s.get("indicator")),
            "area": _clean(s.get("area_code")), "method": _clean(s.get("method")),
            "score": float(s.get("score")), "sample_size": _int(s.get("sample_size")), "rank": _int(s.get("rank")),
        }

    def _corrections(self, feedback_ids: list[str]) -> dict[str, dict]:
        t = LabelCorrection.__table__
        out: dict[str, dict] = {}
        for part in wl.chunked(feedback_ids, 900):
            for row in self.conn.execute(select(t).where(t.c.feedback_id.in_(part))).mappings():
                out[row["feedback_id"]] = dict(row)
        return out

    def _quarantine(self, rows: list[QuarantinedRow]) -> None:
        if not rows:
            return
        self.result.quarantined += len(rows)
        wl.upsert(self.conn, QuarantineRow.__table__, [
            {"file_id": self.file_id, "source": self.source, "row_number": q.row_number,
             "raw": mask_raw_row(q.raw), "reason": pii.mask_pii(q.reason), "status": "open",
             "created_at": self.now, "resolved_at": None}
            for q in rows
        ], ["file_id", "row_number"])


def _iter_parsed(path: Path, source: str, cfg: dict, chunk_rows: int) -> Iterator[ParsedFile]:
    iter_parse = getattr(source_adapters, "iter_parse_file", None)
    if iter_parse is not None:
        yield from iter_parse(path, source, cfg, chunk_rows=chunk_rows)
    else:
        yield source_adapters.parse_file(path, source, cfg)


def ingest_file(path: Path, source: str | None = None, db_url: str | None = None) -> FileResult:
    """Ingest one landing file; never raises for bad input (the result says what happened)."""
    path = Path(path)
    source = source or source_adapters.detect_source(path)
    result = FileResult(path=str(path), source=source)
    if source not in SOURCES:
        result.status, result.error = "rejected", (
            f"cannot tell the source of {path.name}: put it under a hotline/, questionnaire/, survey/ or "
            "supervisor/ folder or pass --source")
        return result
    engine = get_engine(db_url)
    if not path.exists() or not path.is_file():
        result.status, result.error = "rejected", f"{path}: no such file"
        return result
    sha = file_sha256(path)
    size = path.stat().st_size
    cfg = load_sources()
    st = settings().get("ingest", {})
    max_bytes = int(float(st.get("max_file_mb", 200)) * 1024 * 1024)
    chunk_rows = int(st.get("chunk_rows", 50_000))
    started = _utcnow()
    with engine.connect() as conn:
        if wl.find_loaded_file(conn, sha) is not None:
            result.status = "skipped"
            return result
    try:
        if size > max_bytes:
            raise RejectedFile(f"file is {size / 1048576:.1f} MB, over the {max_bytes / 1048576:.0f} MB limit "
                               "(ingest.max_file_mb in config/settings.yaml)")
        with engine.begin() as conn:
            file_id = wl.register_file(conn, path=str(path), file_name=path.name, source=source, sha256=sha,
                                       size_bytes=size, status="loading", started_at=started)
            loader = _FileLoader(conn, source, file_id, result)
            for parsed in _iter_parsed(path, source, cfg, chunk_rows):
                loader.load_chunk(parsed)
            result.rows_in = result.inserted + result.updated + result.unchanged + result.quarantined
            conn.execute(wl.table("ingest_file").update().where(wl.table("ingest_file").c.file_id == file_id)
                         .values(status="loaded", rows_in=result.rows_in, inserted=result.inserted,
                                 updated=result.updated, unchanged=result.unchanged,
                                 quarantined=result.quarantined, ignored_rows=result.ignored_rows,
                                 finished_at=_utcnow()))
    except RejectedFile as exc:
        for c in COUNTERS:
            setattr(result, c, 0)
        result.status, result.error = "rejected", str(exc).splitlines()[0] if str(exc) else "unreadable file"
        with engine.begin() as conn:
            wl.register_file(conn, path=str(path), file_name=path.name, source=source, sha256=sha,
                             size_bytes=size, status="rejected", error=result.error, started_at=started,
                             finished_at=_utcnow())
    return result


def ensure_schema(db_url: str | None = None) -> None:
    """Create or migrate the schema if needed and sync the configured dimensions."""
    upgrade(db_url)
    engine = get_engine(db_url)
    sources_cfg = settings().get("sources", {}) or {s: {"name_zh": s} for s in SOURCES}
    with engine.begin() as conn:
        wl.sync_dimensions(conn, load_areas(), sources_cfg)


def ingest_files(paths: Iterable[Path], source: str | None = None, db_url: str | None = None,
                 progress: Callable[[Path], None] | None = None) -> list[FileResult]:
    ensure_schema(db_url)
    results = []
    for p in paths:
        if progress:
            progress(Path(p))
        results.append(ingest_file(Path(p), source, db_url))
    return results


def discover_landing(landing: Path) -> list[Path]:
    """Every data file under the landing folder, in a stable order (sorted by relative path)."""
    landing = Path(landing)
    return sorted((p for p in landing.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
                   and not p.name.startswith((".", "~$"))), key=lambda p: str(p.relative_to(landing)))
