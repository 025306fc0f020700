"""Ingesting landing files (数据入库): parse → validate → enrich → load, one transaction per file.

Every input row of a file ends in exactly one counter: ``inserted`` (a record never seen),
``updated`` (a record seen before whose content changed: recorded in ``record_history``),
``unchanged`` (seen before, same content) or ``quarantined`` (kept in ``quarantine`` with its reason).
So for every file ``rows_in == inserted + updated + unchanged + quarantined``. A file whose bytes
were loaded before is ``skipped``; a file that cannot be read is ``rejected`` whole.

Throughput (吞吐): the parent process reads and parses a file in chunks (``ingest.chunk_rows``) and
keeps the one database transaction; the per-row work of a chunk — row hash and masked payload,
normalising, masking, tokenizing, area and sentiment labels, keywords — runs in batches of
``_BATCH_ROWS`` rows in a process pool (``ingest.workers``, default: the number of CPUs; 1 = no pool)
while the parent writes the chunk before. Every batch result is a pure function of its rows, and the
parent writes chunks, and the batches inside a chunk, in file order, so the warehouse rows are exactly
those of a single-process load. Small chunks (under ``_MIN_POOL_ROWS`` rows) are prepared in the
parent. ``FileResult.stage_seconds`` says where the time went.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
import logging
import math
import multiprocessing
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from functools import lru_cache
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, bindparam, func, select

from nlp import pii
from pipeline import enrich as _enrich
from pipeline import sources as source_adapters
from pipeline.canonical import SOURCES, ParsedFile, QuarantinedRow, RejectedFile
from pipeline.clue_figures import member_snapshot, refresh_clue_figures
from pipeline.config import load_areas, load_sources, settings
from pipeline.enrich import (
    _clean,
    _entity_hash,
    _to_dt,
    apply_corrections,
    enrich_feedback,
    entity_hash,  # noqa: F401 - re-exported (older callers import it from here)
    get_enricher,
    memo_map,
    review_threshold,
    stable_id,
)
from pipeline.pii_upgrade import upgrade_masking
from pipeline.salt import hash_salt
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

# The table files the readers take (one list, in pipeline.sources: .et, a WPS spreadsheet, was once added to
# only one of two copies).
DATA_SUFFIXES = frozenset(source_adapters.TABLE_SUFFIXES)
# Documents that are no table but land beside the exports (a Word report, a PDF, a scan): listed by the
# nightly run as rejected with the reason, instead of being passed over in silence.
DOCUMENT_SUFFIXES = {".doc", ".docx", ".wps", ".pdf", ".odt", ".ods", ".ppt", ".pptx", ".jpg", ".jpeg", ".png"}
# Archives are not read, but a landing folder that holds one (导出.zip) gets a rejected file with the
# reason ("unpack it into the landing folder") instead of silence.
ARCHIVE_SUFFIXES = {".zip", ".gz", ".rar", ".7z", ".tar", ".tgz", ".bz2", ".xz"}
_BATCH_ROWS = 1_000  # rows per pool task
_MIN_POOL_ROWS = 1_000  # a chunk smaller than this is prepared in the parent (no pool start-up)


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
    # Seconds per stage (parse, rows, normalise_mask, tokenize, area, sentiment, keywords_rows, load),
    # summed over the processes that did the work; not part of the JSON.
    stage_seconds: dict = field(default_factory=dict, repr=False)

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


_ORG_HEADER_HINTS = ("企业名称", "单位名称", "涉及企业")


def mask_raw_row(raw: dict[str, Any]) -> dict[str, Any]:
    """The raw row with every personal datum masked, for quarantine and change history."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        value = _clean(value)
        if value is None:
            out[str(key)] = None
            continue
        header = str(key)
        out[header] = _mask_for_header(header)(str(value))
    return _hide_row_names(raw, out)


def _row_hash(raw: dict[str, Any]) -> str:
    norm = {str(k): (None if _clean(v) is None else str(v).strip()) for k, v in raw.items()}
    return hashlib.sha1(json.dumps(norm, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def warehouse_record_key(source: str, natural_key: str) -> str:
    return stable_id(source, natural_key)


def _mask_for_header(header: str) -> Callable[[str], Any]:
    """The masking rule of a raw column, chosen by its header: person names, enterprise names, IP
    addresses, ID numbers and postal addresses by their own rules (:func:`nlp.pii.field_kind`),
    anything else as free text."""
    if pii.field_kind(header) != "person" and any(h in header for h in _ORG_HEADER_HINTS):
        return pii.mask_org_name
    rule = pii.field_mask(header)  # 来电人 / 留言用户 / 来自IP / 身份证号 / 事发地址 …
    if rule is not None:
        return rule
    return pii.mask_pii


def _json_str(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value.strip())


def hash_and_mask_rows(raws: Sequence[dict[str, Any]], memo: dict[str, str] | None = None,
                       ) -> tuple[list[str], list[dict[str, Any]]]:
    """``([_row_hash(r)], [mask_raw_row(r)])`` for many raw rows, column by column.

    Rows of a CSV chunk share their keys; for such a group of str keys and str/None cells the JSON
    text that ``_row_hash`` hashes is assembled per column (each distinct cell encoded once) and each
    distinct cell of a column is masked once. Anything else goes through the per-row functions.
    ``memo``, if given, receives ``{cell: mask_pii(cell)}`` for the cells masked that way.
    """
    hashes: list[str] = [""] * len(raws)
    payloads: list[dict[str, Any]] = [{}] * len(raws)
    groups: dict[tuple, list[int]] = {}
    for i, raw in enumerate(raws):
        groups.setdefault(tuple(raw), []).append(i)
    for keys, idx in groups.items():
        rows = [raws[i] for i in idx]
        columns = list(zip(*(r.values() for r in rows), strict=True)) if keys else []
        simple = all(type(k) is str for k in keys) and all(
            v is None or type(v) is str for col in columns for v in col)
        if not simple:
            for i, raw in zip(idx, rows, strict=True):
                hashes[i], payloads[i] = _row_hash(raw), mask_raw_row(raw)
            continue
        masked_cols = []
        for key, col in zip(keys, columns, strict=True):
            mask = _mask_for_header(key)
            if mask is pii.mask_pii:
                # mask_many == [mask_pii(t) ...], with a cheap gate that passes most cells untouched
                uniq = list(dict.fromkeys(v for v in col if v is not None))
                done = dict(zip(uniq, pii.mask_many(uniq), strict=True))
                if memo is not None:
                    memo.update(done)
                masked_cols.append([None if v is None else done[v] for v in col])
            else:
                masked_cols.append(memo_map(lambda v, mask=mask: None if v is None else mask(v), col))
        order = sorted(range(len(keys)), key=keys.__getitem__)
        encoded = [[encode_basestring(keys[j]) + ": " + e for e in memo_map(_json_str, columns[j])] for j in order]
        sha1 = hashlib.sha1
        for n, (i, parts) in enumerate(zip(idx, zip(*encoded, strict=True) if encoded else [()] * len(idx),
                                           strict=True)):
            hashes[i] = sha1(("{" + ", ".join(parts) + "}").encode("utf-8")).hexdigest()
            payloads[i] = dict(zip(keys, (c[n] for c in masked_cols), strict=True))
    for i, raw in enumerate(raws):
        payloads[i] = _hide_row_names(raw, payloads[i])
    return hashes, payloads


@lru_cache(maxsize=4096)
def _name_column_kind(header: str) -> str | None:
    if pii.field_kind(header) == "person":
        return "person"
    return "org" if any(h in header for h in _ORG_HEADER_HINTS) else None


def _hide_row_names(raw: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The row's own enterprise and caller names masked where its other cells repeat them (the text of
    a work order names the shop whose 企业名称 column is masked): :func:`nlp.pii.hide_known_names`."""
    orgs, people = [], []
    for key, value in raw.items():
        if not isinstance(value, str) or not value.strip():
            continue
        kind = _name_column_kind(str(key))
        if kind == "person":
            people.append(value.strip())
        elif kind == "org":
            orgs.append(value.strip())
    if not orgs and not people:
        return payload
    return {k: pii.hide_known_names(v, orgs, people) if isinstance(v, str) else v for k, v in payload.items()}


# --------------------------------------------------------------------------- batch preparation (pool tasks)


@dataclass
class _PreparedRows:
    natural: list[str]
    wkeys: list[str]
    row_numbers: list[int]
    hashes: list[str]
    payloads: list[dict[str, Any]]
    masked_keys: list[str]  # the natural key as stored (masked)
    seconds: float = 0.0


@dataclass
class _PreparedFacts:
    feedback: list[tuple]  # one enriched row per feedback row of the batch (no corrections yet), as
    # tuples in the order of ``columns`` (what the parent holds for batches it has not written yet
    # is then far smaller than 42-key dicts); the parent makes them dicts batch by batch
    credit: list[tuple | None]  # (entity_hash, (masked code, valid)) per feedback row with a credit code
    answers: list[dict[str, Any]]
    scores: list[dict[str, Any]]
    seconds: dict[str, float] = field(default_factory=dict)
    columns: tuple[str, ...] = ()

    def feedback_row(self, i: int) -> dict[str, Any]:
        return dict(zip(self.columns, self.feedback[i], strict=True))


def _prepare_rows(source: str, rows: pd.DataFrame) -> _PreparedRows:
    t0 = _cpu()
    natural = [str(k) for k in rows["record_key"].tolist()]
    wkeys = memo_map(lambda k: warehouse_record_key(source, k), natural)
    row_numbers = [int(n) for n in rows["row_number"].tolist()]
    memo: dict[str, str] = {}
    hashes, payloads = hash_and_mask_rows(rows["raw"].tolist(), memo)
    # the natural key is usually a cell of the row (工单编号), masked just now
    masked_keys = [memo[k] if k in memo else pii.mask_many([k])[0] for k in natural]
    return _PreparedRows(natural, wkeys, row_numbers, hashes, payloads, masked_keys, _cpu() - t0)


def _credit_info(code: Any, name: Any, salt: str) -> tuple | None:
    if (code is None or type(code) is str) and (name is None or type(name) is str):
        return _credit_info_cached(code, name, salt)
    return _credit_info_plain(code, name, salt)


def _credit_info_plain(code: Any, name: Any, salt: str) -> tuple | None:
    code = _clean(code)
    if not code:
        return None
    code = str(code)
    return _entity_hash(code, _clean(name), salt), pii.credit_code_cell(code)


_credit_info_cached = lru_cache(maxsize=1 << 16)(_credit_info_plain)  # enterprises recur across batches


def _prepare_facts(source: str, fb: pd.DataFrame, ans: pd.DataFrame, sc: pd.DataFrame,
                   now: dt.datetime) -> _PreparedFacts:
    """Everything about a batch's feedback, answers and scores that does not need the database."""
    before = dict(_enrich.STAGE_SECONDS)
    out = _PreparedFacts([], [], [], [])
    salt = hash_salt()
    if not fb.empty:
        fb = fb.assign(record_key=fb["record_key"].astype(str), part=fb["part"].fillna("").astype(str))
        record_keys = {k: warehouse_record_key(source, k) for k in dict.fromkeys(fb["record_key"].tolist())}
        rows = enrich_feedback(source, fb, record_keys, None, get_enricher(), now=now)
        out.columns = tuple(rows[0]) if rows else ()
        # (every row is built by the same dict display: same keys in the same order)
        out.feedback = [tuple(r.values()) for r in rows]
        del rows
        if "credit_code" in fb:
            t0 = _cpu()
            out.credit = memo_map(lambda cn: _credit_info(cn[0], cn[1], salt),
                                  zip(fb["credit_code"].tolist(), fb["entity_name"].tolist(), strict=True))
            _enrich.STAGE_SECONDS["keywords_rows"] += _cpu() - t0
    t0 = _cpu()
    if not ans.empty:
        ans = ans.assign(record_key=ans["record_key"].astype(str))
        record_keys = {k: warehouse_record_key(source, k) for k in dict.fromkeys(ans["record_key"].tolist())}
        out.answers = [_answer_row(a, record_keys, salt) for a in ans.to_dict("records")]
    if not sc.empty:
        sc = sc.assign(record_key=sc["record_key"].astype(str))
        record_keys = {k: warehouse_record_key(source, k) for k in dict.fromkeys(sc["record_key"].tolist())}
        out.scores = [_score_row(r, record_keys) for r in sc.to_dict("records")]
    _enrich.STAGE_SECONDS["keywords_rows"] += _cpu() - t0
    out.seconds = {k: v - before.get(k, 0.0) for k, v in _enrich.STAGE_SECONDS.items()}
    return out


def _answer_row(a: dict, record_keys: dict[str, str], salt: str | None = None) -> dict[str, Any]:
    submitted = _to_dt(a.get("submitted_at"))
    score = _clean(a.get("score_100"))
    rk = record_keys[a["record_key"]]
    salt = salt or hash_salt()
    return {
        # (with the option: a multi-choice answer 设立登记┋不动产登记 is one row per option)
        "answer_id": stable_id(rk, a.get("question"), _clean(a.get("answer_text"))), "record_key": rk,
        "response_no": str(_clean(a.get("source_record_id")) or a["record_key"]),
        "submitted_at": submitted, "submitted_date": submitted.date() if submitted else None,
        "question": str(a.get("question") or ""), "area": _clean(a.get("area_code")),
        # by the question's own rule, like a raw column (11、您的姓名及身份证号 → a name field)
        "answer_text": _mask_for_header(str(a.get("question") or ""))(str(_clean(a.get("answer_text")) or "")) or None,
        "score_100": float(score) if score is not None else None,
        "entity_hash": _entity_hash(_clean(a.get("credit_code")), _clean(a.get("entity_name")), salt),
        "street": _clean(a.get("street")), "industry": _clean(a.get("industry")),
        "size": _clean(a.get("size")),
    }


def _score_row(s: dict, record_keys: dict[str, str]) -> dict[str, Any]:
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


def _cpu() -> float:
    """CPU seconds of this process: what a stage costs, whatever else runs on the machine."""
    return time.process_time()


class _Done:
    """A finished future (the inline 'pool')."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


def _bounds(n: int, parts: int) -> list[tuple[int, int]]:
    return [(n * i // parts, n * (i + 1) // parts) for i in range(parts)]


class _ChunkJob:
    """A parsed chunk and the batches preparing it (in the pool, or already done inline)."""

    def __init__(self, source: str, parsed: ParsedFile, now: dt.datetime, executor: Executor | None,
                 owns_parsed: bool = False) -> None:
        self.parsed = parsed
        self.owns_parsed = owns_parsed  # the parsed chunk is ours to trim once prepared
        rows, fb, ans, sc = parsed.rows, parsed.feedback, parsed.answers, parsed.scores
        self.row_futures: list[Any] = []
        self.fact_futures: list[Any] = []
        self.fb_bounds: list[tuple[int, int]] = []
        if rows.empty:
            return
        parts = max(1, math.ceil(max(len(rows), len(fb), len(ans), len(sc)) / _BATCH_ROWS))

        def submit(fn: Callable, *args: Any) -> Any:
            return executor.submit(fn, *args) if executor is not None else _Done(fn(*args))

        # Row hashes first: the parent needs all of them before it can decide what changed.
        self.row_futures = [submit(_prepare_rows, source, rows.iloc[a:b]) for a, b in _bounds(len(rows), parts)]
        self.fb_bounds = _bounds(len(fb), parts)
        ab, sb = _bounds(len(ans), parts), _bounds(len(sc), parts)
        self.fact_futures = [
            submit(_prepare_facts, source, fb.iloc[f0:f1], ans.iloc[a0:a1], sc.iloc[s0:s1], now)
            for (f0, f1), (a0, a1), (s0, s1) in zip(self.fb_bounds, ab, sb, strict=True)]
        if owns_parsed:
            # The raw cells live on only in the submitted tasks (until they are done): the parent's
            # copy of a waiting chunk costs little memory.
            parsed.rows = rows.drop(columns="raw")

    def rows(self) -> _PreparedRows:
        parts = [f.result() for f in self.row_futures]
        self.row_futures = []  # (the merged lists below are all that is kept)
        out = _PreparedRows([], [], [], [], [], [], 0.0)
        for p in parts:
            out.masked_keys += p.masked_keys
            out.natural += p.natural
            out.wkeys += p.wkeys
            out.row_numbers += p.row_numbers
            out.hashes += p.hashes
            out.payloads += p.payloads
            out.seconds += p.seconds
        return out

    def facts(self) -> Iterator[tuple[int, _PreparedFacts]]:
        """(first feedback position, prepared batch), in order, as each batch is ready."""
        for i, (lo, _) in enumerate(self.fb_bounds):
            batch = self.fact_futures[i].result()
            self.fact_futures[i] = None  # a written batch is not kept
            yield lo, batch


# --------------------------------------------------------------------------- the per-file load


class _FileLoader:
    """Loads the chunks of one file inside one transaction and keeps its counters."""

    def __init__(self, conn: Connection, source: str, file_id: int, result: FileResult,
                 now: dt.datetime | None = None):
        self.conn, self.source, self.file_id, self.result = conn, source, file_id, result
        self.now = now or _utcnow()
        self.enricher = get_enricher()
        t = LabelCorrection.__table__
        # Most warehouses have few or no label corrections: then there is nothing to look up per chunk.
        self._has_corrections = bool(conn.execute(select(func.count()).select_from(t)).scalar())

    def _add_seconds(self, stage: str, seconds: float) -> None:
        st = self.result.stage_seconds
        st[stage] = st.get(stage, 0.0) + seconds

    def load_chunk(self, parsed: ParsedFile) -> None:
        """Prepare (in this process) and load one parsed chunk."""
        self.load_job(_ChunkJob(self.source, parsed, self.now, None))

    def load_job(self, job: _ChunkJob) -> None:
        parsed = job.parsed
        res = self.result
        res.ignored_rows += parsed.ignored_rows
        t_wait = time.perf_counter()
        prepared = job.rows() if not parsed.rows.empty else None
        self._add_seconds("wait", time.perf_counter() - t_wait)
        t0 = _cpu()  # the parent's CPU for the load (waits for the pool cost none)
        self._quarantine(parsed.quarantine)
        if prepared is None:
            self._add_seconds("load", _cpu() - t0)
            return
        self._add_seconds("rows", prepared.seconds)
        natural = prepared.natural
        wkeys = dict(zip(natural, prepared.wkeys, strict=True))
        known = wl.fetch_record_hashes(self.conn, list(wkeys.values()))
        current = {k: v[0] for k, v in known.items()}
        versions = {k: v[1] for k, v in known.items()}
        final: dict[str, dict[str, Any]] = {}
        history: list[dict[str, Any]] = []
        old_payloads = self._payloads([wkeys[k] for k in natural if wkeys[k] in current])
        for nat, row_number, h, masked, masked_key in zip(natural, prepared.row_numbers, prepared.hashes,
                                                          prepared.payloads, prepared.masked_keys, strict=True):
            wkey = wkeys[nat]
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
            final[wkey] = {"natural": nat, "hash": h, "row_number": int(row_number), "payload": masked,
                           "masked_key": masked_key}
        if final:
            self._write_records(final, known, versions, history)
            self._write_facts(parsed, final, wkeys, known, job)
        self._add_seconds("load", _cpu() - t0)

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
            masked_key = f["masked_key"] if "masked_key" in f else pii.mask_pii(f["natural"])
            rows.append({
                "record_key": wkey, "source": self.source, "natural_key": masked_key,
                "content_hash": f["hash"], "first_file_id": self.file_id, "last_file_id": self.file_id,
                "row_number": f["row_number"], "version": versions.get(wkey, 1), "payload": f["payload"],
                "created_at": self.now, "updated_at": self.now,
            })
        new_rows = [r for r in rows if r["record_key"] not in known]
        upd_rows = [r for r in rows if r["record_key"] in known]
        wl.upsert(self.conn, SourceRecord.__table__, new_rows, ["record_key"])
        if upd_rows:
            # first_file_id and created_at describe the first sighting: keep them on update.
            t = SourceRecord.__table__
            cols = [c for c in upd_rows[0] if c not in ("record_key", "first_file_id", "created_at")]
            stmt = (t.update().where(t.c.record_key == bindparam("_key"))
                    .values({c: bindparam("_v_" + c) for c in cols}))
            self.conn.execute(stmt, [{"_key": r["record_key"], **{"_v_" + c: r[c] for c in cols}}
                                     for r in upd_rows])
        wl.insert_rows(self.conn, RecordHistory.__table__, history)

    def _write_facts(self, parsed: ParsedFile, final: dict[str, dict], wkeys: dict[str, str],
                     known: Container[str] | None = None, job: _ChunkJob | None = None) -> None:
        if job is None:  # (callers from before the batch pipeline)
            job = _ChunkJob(self.source, parsed, self.now, None)
        if known is None:
            known = set(wkeys.values())
        keep = {f["natural"] for f in final.values()}
        record_keys = {nat: wkeys[nat] for nat in keep}
        # Records new to the warehouse cannot have facts yet (foreign keys to source_record).
        known_keys = [k for k in record_keys.values() if k in known]

        fb = parsed.feedback
        picked: list[int] = []
        ids: list[str] = []
        if not fb.empty:
            sel = pd.DataFrame({"record_key": fb["record_key"].astype(str).to_numpy(),
                                "part": fb["part"].fillna("").astype(str).to_numpy()})
            sel = sel[sel["record_key"].isin(keep)].drop_duplicates(["record_key", "part"], keep="last")
            picked = sel.index.tolist()
            if self._has_corrections or known_keys:
                # (the workers compute the same ids; here only to look up corrections and stale rows)
                ids = [stable_id(record_keys[k], p) for k, p in zip(sel["record_key"], sel["part"], strict=True)]
        corrections = self._corrections(ids) if ids and self._has_corrections else {}
        # Feedback that a changed record no longer yields is removed; the rest is upserted.
        t = Feedback.__table__
        new_ids = set(ids)
        stale = []
        for part in wl.chunked(known_keys, 900):
            for fid, day in self.conn.execute(select(t.c.feedback_id, t.c.received_date).where(t.c.record_key.in_(part))):
                if fid not in new_ids:
                    stale.append(fid)
                if day:
                    # The day the record was counted on until now: a re-delivery that moves it to
                    # another day (来电时间 corrected across midnight) or drops it must refresh that
                    # day's and month's marts too, or the record is counted twice.
                    self.result.touched_dates.add(day)
        # A built clue's figures follow its members until the month is rebuilt: a re-delivered answer
        # that dropped its text left 6 items for 5, and a corrected work order left the old text among
        # the clue's examples (pipeline/clue_figures.py).
        members_before = member_snapshot(self.conn, stale + ids) if known_keys else {}
        if stale:
            from warehouse.models import ClueMember

            wl.delete_where_in(self.conn, ClueMember.__table__, "feedback_id", stale)
            wl.delete_where_in(self.conn, t, "feedback_id", stale)

        rows: list[dict[str, Any]] = []
        credit_info: dict[str, tuple] = {}
        answers: list[dict[str, Any]] = []
        scores: list[dict[str, Any]] = []
        # Written batch by batch as the pool finishes them (feedback ids are unique in a chunk, so
        # the order of upserts does not matter beyond being the same in every run).
        pos = 0
        t_wait = time.perf_counter()
        for lo, batch in job.facts():
            self._add_seconds("wait", time.perf_counter() - t_wait)
            for stage, sec in batch.seconds.items():
                self._add_seconds(stage, sec)
            answers += batch.answers
            scores += batch.scores
            hi = lo + len(batch.feedback)
            take = []
            while pos < len(picked) and picked[pos] < hi:
                i = picked[pos] - lo
                take.append(batch.feedback_row(i))
                if batch.credit and batch.credit[i]:
                    h, info = batch.credit[i]
                    credit_info[h] = info
                pos += 1
            if corrections:
                apply_corrections(take, corrections)
            wl.upsert(self.conn, t, take, ["feedback_id"])
            self._queue_for_review(take, known)
            # only what the entity merge and the calendar need is kept past the batch
            rows += [{"entity_hash": r["entity_hash"], "entity_name_masked": r["entity_name_masked"],
                      "received_at": r["received_at"], "received_date": r["received_date"]} for r in take]
            del take, batch
            t_wait = time.perf_counter()
        if members_before:
            after = member_snapshot(self.conn, members_before)
            changed = {v[0] for fid, v in members_before.items() if after.get(fid) != v}
            refresh_clue_figures(self.conn, changed)
        wl.upsert_entities(self.conn, rows, credit_info)
        days = [r["received_date"] for r in rows if r["received_date"]]
        wl.ensure_dates(self.conn, days, is_working_day)
        self.result.touched_dates.update(days)

        ans = parsed.answers
        sa_t, ss_t = SurveyAnswer.__table__, SurveyScore.__table__
        for part in wl.chunked(known_keys, 900):  # (the months the old answers and scores counted in)
            self.result.touched_months.update(
                f"{d:%Y-%m}" for (d,) in self.conn.execute(select(sa_t.c.submitted_date).where(sa_t.c.record_key.in_(part)))
                if d)
            self.result.touched_months.update(
                str(m) for (m,) in self.conn.execute(select(ss_t.c.month).where(ss_t.c.record_key.in_(part))) if m)
        wl.delete_where_in(self.conn, SurveyAnswer.__table__, "record_key",
                           [k for k in known_keys])
        if not ans.empty:
            sel = pd.DataFrame({"record_key": ans["record_key"].astype(str).to_numpy(),
                                "question": ans["question"].astype(str).to_numpy(),
                                "answer": ans["answer_text"].astype(str).to_numpy()})
            # A response's answers come as one run of rows; a response delivered twice in the file is
            # two runs, and the last one counts. Within it every option of a multi-choice question is a
            # row (keeping the last row per question kept one option of 设立登记┋不动产登记┋其他).
            run = (sel["record_key"] != sel["record_key"].shift()).cumsum()
            sel = sel[run == run.groupby(sel["record_key"]).transform("max")]
            sel = sel[sel["record_key"].isin(keep)].drop_duplicates(["record_key", "question", "answer"], keep="last")
            answer_rows = [answers[i] for i in sel.index.tolist()]
            wl.insert_rows(self.conn, SurveyAnswer.__table__, answer_rows)
            self.result.touched_months.update(f"{a['submitted_date']:%Y-%m}" for a in answer_rows
                                              if a["submitted_date"])
        sc = parsed.scores
        wl.delete_where_in(self.conn, SurveyScore.__table__, "record_key", known_keys)
        if not sc.empty:
            sel = pd.DataFrame({"record_key": sc["record_key"].astype(str).to_numpy(),
                                "indicator": sc["indicator"].to_numpy(), "method": sc["method"].to_numpy()})
            sel = sel[sel["record_key"].isin(keep)].drop_duplicates(["record_key", "indicator", "method"],
                                                                    keep="last")
            score_rows = [scores[i] for i in sel.index.tolist()]
            wl.insert_rows(self.conn, SurveyScore.__table__, score_rows)
            self.result.touched_months.update(s["month"] for s in score_rows)

    def _queue_for_review(self, rows: list[dict[str, Any]], known: Container[str] | None = None) -> None:
        """Uncertain area labels go to the review queue; a confident relabel takes an item out.

        ``known``: record keys that were in the warehouse before this chunk; only their feedback
        can have an open queue item to take out.
        """
        threshold = review_threshold()
        low = [r for r in rows if r["area_origin"] == "model" and r["area_confidence"] < threshold]
        low_ids = {r["feedback_id"] for r in low}
        sure = [r["feedback_id"] for r in rows
                if r["feedback_id"] not in low_ids and (known is None or r["record_key"] in known)]
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
        return _answer_row(a, record_keys)

    def _score_row(self, s: dict, record_keys: dict[str, str]) -> dict[str, Any]:
        return _score_row(s, record_keys)

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
        values = [
            {"file_id": self.file_id, "source": self.source, "sheet": q.sheet, "row_number": q.row_number,
             "raw": mask_raw_row(q.raw), "reason": pii.mask_pii(q.reason), "status": "open",
             "created_at": self.now, "resolved_at": None}
            for q in rows
        ]
        wl.upsert(self.conn, QuarantineRow.__table__, values, ["file_id", "sheet", "row_number"])
        self._supersede_repeats(values)

    def _supersede_repeats(self, values: list[dict[str, Any]]) -> None:
        """A cumulative export (每日全量导出) quarantines the same broken row every night: the open copies that
        earlier files quarantined — same source, same raw row, same reason — are marked ``superseded`` by
        this one, so ``quarantine list`` shows each broken row once, at its latest delivery (each file keeps
        its own counters)."""
        t = QuarantineRow.__table__
        wanted: dict[str, list[dict[str, Any]]] = {}
        for v in values:
            wanted.setdefault(v["reason"], []).append(v["raw"])
        stale: list[int] = []
        for part in wl.chunked(list(wanted), 500):
            for qid, raw, reason in self.conn.execute(
                    select(t.c.quarantine_id, t.c.raw, t.c.reason).where(
                        t.c.source == self.source, t.c.status == "open", t.c.file_id != self.file_id,
                        t.c.reason.in_(part))):
                if raw in wanted.get(reason, ()):
                    stale.append(qid)
        for part in wl.chunked(stale, 500):
            self.conn.execute(t.update().where(t.c.quarantine_id.in_(part)).values(
                status="superseded", resolved_at=self.now,
                reason=t.c.reason + f" (superseded: quarantined again from file #{self.file_id})"))


def _iter_parsed(path: Path, source: str, cfg: dict, chunk_rows: int,
                 max_bytes: int = 200 * 1024 * 1024) -> Iterator[ParsedFile]:
    # max_bytes: the configured size limit, also the base of the reader's uncompressed-size limit
    iter_parse = getattr(source_adapters, "iter_parse_file", None)
    if iter_parse is not None:
        yield from iter_parse(path, source, cfg, chunk_rows=chunk_rows, max_bytes=max_bytes)
    else:
        yield source_adapters.parse_file(path, source, cfg, max_bytes=max_bytes)


def configured_workers() -> int:
    """``ingest.workers`` in config/settings.yaml (default: the number of CPUs; 1 = no process pool)."""
    value = settings().get("ingest", {}).get("workers")
    return max(1, int(value)) if value else max(1, os.cpu_count() or 1)


POOL_STARTS: list[str] = []  # start method of each pool this process started (for benchmarks)


def _worker_init(parent_pid: int) -> None:
    # Ctrl-C is the parent's to handle (it stops the pool); a worker whose parent died exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # The worker's own parent is the ingesting process under fork but the forkserver process under
    # forkserver (a progress bar's thread makes the pool use forkserver): comparing getppid() with the
    # ingesting process's pid killed every forkserver worker after a second (`make demo` in a terminal
    # failed with BrokenProcessPool). Watch both: the parent it started with, and the ingesting process.
    started_under = os.getppid()

    def parent_gone() -> bool:
        if os.getppid() != started_under:
            return True
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, another user's (cannot happen for our own parent; be safe)
            return False
        return False

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if parent_gone():
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    get_enricher()  # already loaded when the worker was forked; loads it under forkserver


def _start_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` processes, or None where child processes cannot be used.

    Fork (the workers inherit the loaded models and tokenizer) when this process runs a single
    thread; forkserver otherwise, since forking a multi-threaded process is unsafe.
    """
    if multiprocessing.current_process().daemon:  # e.g. a Celery prefork worker: no children allowed
        log.info("running inside a daemon process: ingest without a process pool")
        return None
    methods = multiprocessing.get_all_start_methods()
    method = "fork" if "fork" in methods and threading.active_count() == 1 else (
        "forkserver" if "forkserver" in methods else "spawn")
    hash_salt()  # create the salt file (if needed) before the workers read it
    POOL_STARTS.append(method)
    try:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                                   initializer=_worker_init, initargs=(os.getpid(),))
        if method == "fork":
            # The loaded models and dictionaries are shared with the workers copy-on-write. Frozen,
            # the cyclic collector never touches them (and so never makes the workers copy their
            # pages); the first task forks all workers at once.
            gc.freeze()
            try:
                pool.submit(int).result()
            finally:
                gc.unfreeze()
        return pool
    except (OSError, ValueError) as exc:  # pragma: no cover - no processes on this platform
        log.warning("no process pool (%s): ingest in one process", exc)
        return None


def _jobs(chunks: Iterator[ParsedFile], source: str, now: dt.datetime, workers: int,
          result: FileResult) -> Iterator[_ChunkJob]:
    """The file's chunks as jobs, in order. With a pool, the next chunk is parsed and submitted
    before the current one is handed out, so the workers prepare it while the caller writes."""
    pool: ProcessPoolExecutor | None = None
    pool_failed = workers <= 1
    pending: deque[_ChunkJob] = deque()
    try:
        while True:
            t0 = _cpu()
            parsed = next(chunks, None)
            result.stage_seconds["parse"] = result.stage_seconds.get("parse", 0.0) + _cpu() - t0
            if parsed is None:
                break
            size = max(len(parsed.rows), len(parsed.feedback), len(parsed.answers))
            if pool is None and not pool_failed and size >= _MIN_POOL_ROWS:
                pool = _start_pool(workers)
                pool_failed = pool is None
            if pool is None or size < _MIN_POOL_ROWS:
                while pending:
                    yield pending.popleft()
                yield _ChunkJob(source, parsed, now, None, owns_parsed=True)
                continue
            pending.append(_ChunkJob(source, parsed, now, pool, owns_parsed=True))
            while len(pending) > 1:
                yield pending.popleft()
        while pending:
            yield pending.popleft()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class _LoadedMeanwhile(Exception):
    """The same file content was loaded by another process while this one waited to start."""


def ingest_file(path: Path, source: str | None = None, db_url: str | None = None, *,
                now: dt.datetime | None = None, workers: int | None = None) -> FileResult:
    """Ingest one landing file; never raises for bad input (the result says what happened).

    ``now``: the load time written to created_at/updated_at/loaded_at/queued_at (default: the time
    the file's load starts; a run may pass one time for all its files). ``workers``: processes that
    prepare batches (default ``ingest.workers``; 1 = everything in this process).
    """
    path = Path(path)
    source = source or source_adapters.detect_source(path)
    result = FileResult(path=str(path), source=source)
    if not path.is_file():  # (before the source: 'cannot tell the source' of a typo misled)
        result.status, result.error = "rejected", "a folder, not a file" if path.is_dir() else "no such file"
        return result
    if source not in SOURCES and path.suffix.lower() in ARCHIVE_SUFFIXES:
        result.status, result.error = "rejected", (
            f"{path.name} is an archive: unpack it into the landing folder (archives are not read)")
        return result
    if path.suffix.lower() in DOCUMENT_SUFFIXES and path.suffix.lower() != ".ods":
        kind = {".doc": "a Word document", ".docx": "a Word document", ".wps": "a WPS document",
                ".pdf": "a PDF document", ".odt": "an OpenDocument text", ".ppt": "a presentation",
                ".pptx": "a presentation"}.get(path.suffix.lower(), "an image")
        result.status, result.error = "rejected", (
            f"{path.name} is {kind}, not a table: save the table it holds as .xlsx or .csv in the landing folder")
        return result
    if source not in SOURCES:
        result.status, result.error = "rejected", (
            f"cannot tell the source of {path.name}: put it under a hotline/, questionnaire/, survey/ or "
            "supervisor/ folder or pass --source")
        return result
    engine = get_engine(db_url)
    sha = file_sha256(path)
    size = path.stat().st_size
    cfg = load_sources()
    st = settings().get("ingest", {})
    max_bytes = int(float(st.get("max_file_mb", 200)) * 1024 * 1024)
    chunk_rows = int(st.get("chunk_rows", 50_000))
    workers = configured_workers() if workers is None else max(1, int(workers))
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
            wl.lock_file_sha(conn, sha)  # PostgreSQL: another process loading these bytes finishes first
            file_id = wl.register_file(conn, path=str(path.resolve()), file_name=path.name, source=source, sha256=sha,
                                       size_bytes=size, status="loading", started_at=started)
            # (SQLite: the insert above took the write lock.) Loaded by another process since the check
            # above? Then this load is not needed: roll it back and say skipped.
            if wl.find_loaded_file(conn, sha) is not None:
                raise _LoadedMeanwhile
            loader = _FileLoader(conn, source, file_id, result, now=now)
            chunks = _iter_parsed(path, source, cfg, chunk_rows, max_bytes)
            with closing(_jobs(chunks, source, loader.now, workers, result)) as jobs:  # stops the pool
                for job in jobs:
                    loader.load_job(job)
            result.rows_in = result.inserted + result.updated + result.unchanged + result.quarantined
            conn.execute(wl.table("ingest_file").update().where(wl.table("ingest_file").c.file_id == file_id)
                         .values(status="loaded", rows_in=result.rows_in, inserted=result.inserted,
                                 updated=result.updated, unchanged=result.unchanged,
                                 quarantined=result.quarantined, ignored_rows=result.ignored_rows,
                                 finished_at=_utcnow()))
    except _LoadedMeanwhile:
        for c in COUNTERS:
            setattr(result, c, 0)
        result.status = "skipped"
        return result
    except RejectedFile as exc:
        for c in COUNTERS:
            setattr(result, c, 0)
        result.status, result.error = "rejected", str(exc).splitlines()[0] if str(exc) else "unreadable file"
        with engine.begin() as conn:
            wl.register_file(conn, path=str(path.resolve()), file_name=path.name, source=source, sha256=sha,
                             size_bytes=size, status="rejected", error=result.error, started_at=started,
                             finished_at=_utcnow())
    return result


def ensure_schema(db_url: str | None = None) -> None:
    """Create or migrate the schema if needed and sync the configured dimensions."""
    upgrade(db_url)
    engine = get_engine(db_url)
    sources_cfg = settings().get("sources", {}) or {s: {"name_zh": s} for s in SOURCES}
    with engine.begin() as conn:
        check_salt(conn)
        wl.sync_dimensions(conn, load_areas(), sources_cfg)
        # rows stored under older masking rules are masked to the current ones (once; then a no-op)
        upgrade_masking(conn)


SALT_CHECK_KEY = "hash_salt_check"


class SaltMismatch(RuntimeError):
    """The hash salt of this process is not the one the warehouse was loaded with."""


def check_salt(conn: Connection) -> None:
    """Refuse to load with another hash salt than the warehouse's (脱敏盐校验).

    Phone numbers and credit codes are joined by salted hashes; a process started from another
    directory (the default salt file var/hash_salt is relative) or without YINGSHANG_SALT_FILE made a
    new salt silently, and every hash it stored matched nothing before it. The warehouse keeps a
    fingerprint of its salt (not the salt) in warehouse_meta; the first run records it."""
    from pipeline.salt import hash_salt
    from warehouse.models import WarehouseMeta

    mine = hashlib.sha256(("yingshang-salt-check\x1f" + hash_salt()).encode("utf-8")).hexdigest()[:16]
    meta = WarehouseMeta.__table__
    stored = conn.scalar(select(meta.c.value).where(meta.c.key == SALT_CHECK_KEY))
    if stored is None:
        wl.upsert(conn, meta, [{"key": SALT_CHECK_KEY, "value": mine}], ["key"])
    elif stored != mine:
        raise SaltMismatch(
            "this process's hash salt is not the one the warehouse was loaded with: set YINGSHANG_SALT_FILE "
            "(or YINGSHANG_HASH_SALT) to the salt used before — the default var/hash_salt is relative to the "
            "working directory, so a run from another folder makes a new one (docs/deploy.md)")


def ingest_files(paths: Iterable[Path], source: str | None = None, db_url: str | None = None,
                 progress: Callable[[Path], None] | None = None, *, now: dt.datetime | None = None,
                 workers: int | None = None) -> list[FileResult]:
    """Ingest files in order (``now`` and ``workers`` as in :func:`ingest_file`)."""
    ensure_schema(db_url)
    results = []
    for p in paths:
        if progress:
            progress(Path(p))
        results.append(ingest_file(Path(p), source, db_url, now=now, workers=workers))
    return results


def natural_key(name: str) -> tuple:
    """Sort key that reads the numbers in a name as numbers: 工单_10月9日 before 工单_10月10日 (by plain text
    order the 10th day's export loaded first and the 9th's older statuses then reopened closed orders)."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in _DIGIT_RUNS.split(name) if part)


_DIGIT_RUNS = re.compile(r"(\d+)")


def discover_landing(landing: Path) -> list[Path]:
    """Every data file (and archive, to be rejected with its reason) under the landing folder, in a
    stable order: by relative path, numbers compared as numbers (:func:`natural_key`)."""
    landing = Path(landing)
    wanted = DATA_SUFFIXES | ARCHIVE_SUFFIXES | DOCUMENT_SUFFIXES
    return sorted((p for p in landing.rglob("*") if p.is_file() and p.suffix.lower() in wanted
                   and not p.name.startswith((".", "~$"))), key=lambda p: natural_key(str(p.relative_to(landing))))
