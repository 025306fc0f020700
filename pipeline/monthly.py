"""The monthly job (月度作业): clue list → ledger → workbooks, stored in the warehouse.

``pipeline.clues`` and ``pipeline.ledger_rules`` are pure functions on frames; this module loads
their inputs from the warehouse, stores their outputs (clues, members, ledger items, the event
trail) in one transaction, and writes the workbooks departments receive.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from pipeline.clue_workbook import read_ledger_workbook, write_clue_workbook, write_ledger_workbook
from pipeline.clues import build_clues, load_clue_config, select_candidates
from pipeline.config import load_areas
from pipeline.ingest import ensure_schema
from pipeline.ledger_rules import (
    LEDGER_COLUMNS,
    apply_department_edits,
    district_day,
    flag_overdue,
    issued_deadline,
    merge_clues_into_ledger,
    orphaned_items,
)
from pipeline.report import month_bounds, shift_month
from warehouse import load as wl
from warehouse.db import get_engine
from warehouse.models import ClueMember, Feedback, LedgerEvent, LedgerItem, ProblemClue

CLUE_TABLE_COLUMNS = [c.name for c in ProblemClue.__table__.columns]
FEEDBACK_COLUMNS = ["feedback_id", "source", "source_record_id", "received_at", "area", "sentiment",
                    "sentiment_score", "request_type", "entity_hash", "phone_hash", "street", "address_masked", "text", "tokens", "score_100"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def district_today(now_utc: dt.datetime) -> dt.date:
    """The district's calendar day at ``now_utc`` (naive UTC, as event times are stored): overdue flags
    and deadlines count Beijing days — between 00:00 and 08:00 there the UTC date is yesterday's."""
    return district_day(now_utc)


def _areas_as_dicts() -> list[dict[str, Any]]:
    return [{"code": a.code, "name_zh": a.name_zh, "name_en": a.name_en, "lead_unit": a.lead_unit}
            for a in load_areas()]


def _month_feedback(conn: Connection, month: str) -> pd.DataFrame:
    start, end = month_bounds(month)
    f = Feedback.__table__
    rows = conn.execute(select(*[f.c[c] for c in FEEDBACK_COLUMNS])
                        .where(f.c.received_date >= start, f.c.received_date < end)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=FEEDBACK_COLUMNS)


def _clues_of(conn: Connection, month: str) -> pd.DataFrame:
    t = ProblemClue.__table__
    rows = conn.execute(select(t).where(t.c.month == month)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=CLUE_TABLE_COLUMNS)


def _members_of(conn: Connection, month: str) -> pd.DataFrame:
    m, c, f = ClueMember.__table__, ProblemClue.__table__, Feedback.__table__
    rows = conn.execute(select(m.c.clue_id, m.c.feedback_id, f.c.text, f.c.tokens)
                        .join(c, c.c.clue_id == m.c.clue_id).join(f, f.c.feedback_id == m.c.feedback_id)
                        .where(c.c.month == month)).mappings().all()
    return pd.DataFrame([dict(r) for r in rows], columns=["clue_id", "feedback_id", "text", "tokens"])


def _history_tokens(conn: Connection, month: str, limit: int = 50_000) -> list[list[str]]:
    """Token lists of the warehouse's feedback up to the end of ``month``, oldest first.

    The clue grouping learns its word space from these (plus the seed corpus), so it recognises
    paraphrases better as the warehouse grows. Tokens were made once at load; nothing is re-tokenized.
    """
    _, end = month_bounds(month)
    f = Feedback.__table__
    rows = conn.execute(select(f.c.tokens).where(f.c.received_date < end)
                        .order_by(f.c.received_date.desc(), f.c.feedback_id.desc()).limit(limit)).scalars().all()
    return [str(t).split() for t in reversed(rows) if t]


def load_ledger(conn: Connection) -> pd.DataFrame:
    t = LedgerItem.__table__
    rows = conn.execute(select(t).order_by(t.c.month, t.c.item_id)).mappings().all()
    df = pd.DataFrame([dict(r) for r in rows], columns=LEDGER_COLUMNS)
    df["edited_fields"] = df["edited_fields"].map(lambda v: list(v) if isinstance(v, list | tuple) else
                                                  (json.loads(v) if isinstance(v, str) else []))
    return df


def _ledger_records(ledger: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in ledger.to_dict("records"):
        row = {}
        for col in LEDGER_COLUMNS:
            v = rec.get(col)
            if col == "edited_fields":
                v = list(v) if isinstance(v, list | tuple) else []
            elif col == "overdue":
                v = bool(v) if v is not None and not (isinstance(v, float) and pd.isna(v)) else False
            elif col == "version":
                v = int(v) if v is not None and not pd.isna(v) else 1
            elif v is not None and not isinstance(v, list) and pd.isna(v):
                v = None
            if isinstance(v, pd.Timestamp):
                v = v.date() if col == "deadline" else v.to_pydatetime()
            if col == "deadline" and isinstance(v, dt.datetime):
                v = v.date()
            row[col] = v
        out.append(row)
    return out


def _store_ledger(conn: Connection, ledger: pd.DataFrame, events: list[dict[str, Any]]) -> None:
    wl.upsert(conn, LedgerItem.__table__, _ledger_records(ledger), ["item_id"])
    wl.insert_rows(conn, LedgerEvent.__table__, [
        {k: e.get(k) for k in ("item_id", "at", "who", "field", "from_value", "to_value", "note")} for e in events
    ])


def _clue_records(clues: pd.DataFrame, built_at: dt.datetime) -> list[dict[str, Any]]:
    out = []
    for rec in clues.to_dict("records"):
        row = {c: rec.get(c) for c in CLUE_TABLE_COLUMNS if c != "built_at"}
        row["built_at"] = built_at
        row["examples"] = list(rec.get("examples") or [])
        kw = rec.get("keywords")
        row["keywords"] = " ".join(kw) if isinstance(kw, list | tuple) else kw
        for c in ("first_seen", "last_seen"):
            v = row.get(c)
            row[c] = None if v is None or pd.isna(v) else pd.Timestamp(v).to_pydatetime()
        d = row.get("deadline")
        row["deadline"] = None if d is None or pd.isna(d) else pd.Timestamp(d).date()
        for c in ("n_items", "n_entities", "n_sources", "n_streets"):
            row[c] = int(row[c])
        row["heat"] = float(row["heat"])
        row["recurring"] = bool(row.get("recurring"))
        prev = row.get("previous_clue_id")
        row["previous_clue_id"] = None if prev is None or (isinstance(prev, float) and pd.isna(prev)) else prev
        out.append(row)
    return out


def build_month_clues(month: str, out: Path | None, db_url: str | None, now: dt.datetime | None = None) -> dict:
    """Build ``month``'s problem clues, merge them into the ledger and write the clue workbook.

    The workbook is written inside the transaction: if it cannot be written (a folder given as
    ``out``, a full disk), the clues and the ledger stay as they were."""
    if out is not None:
        check_output_file(out)
    cfg = load_clue_config()
    cfg.sentence_encoder()  # a configured encoder that cannot be loaded stops the job before any work
    ensure_schema(db_url)
    now = now or _now()
    engine = get_engine(db_url)
    from pipeline.enrich import get_enricher

    extractor = get_enricher().keyword_extractor
    with engine.begin() as conn:
        feedback = _month_feedback(conn, month)
        candidates = select_candidates(feedback, cfg, month)
        prev_month = shift_month(month, -1)
        previous = _clues_of(conn, prev_month)
        prev_members = _members_of(conn, prev_month)
        existing = _members_of(conn, month)
        clues, members = build_clues(candidates, month, previous if len(previous) else None, cfg,
                                     extractor, previous_members=prev_members if len(prev_members) else None,
                                     existing_members=existing if len(existing) else None,
                                     history_texts=_history_tokens(conn, month))
        # The clue's deadline as its ledger item has it: never before the grade's allowance from the
        # day the item entered the ledger (v_clues and v_ledger showed two deadlines for one problem).
        ledger = load_ledger(conn)
        created = {str(c): district_day(t) for c, t in zip(ledger["clue_id"], ledger["created_at"], strict=True)
                   if t is not None and not pd.isna(t)} if len(ledger) else {}
        today = district_today(now)
        if len(clues):
            clues["deadline"] = [issued_deadline(d, g, created.get(str(c), today), cfg)
                                 for c, d, g in zip(clues["clue_id"], clues["deadline"], clues["grade"], strict=True)]
        # Replace the month's clues; ledger items keep their own copy of what people need.
        old_ids = [c for c in _clues_of(conn, month)["clue_id"].tolist()]
        wl.delete_where_in(conn, ClueMember.__table__, "clue_id", old_ids)
        wl.delete_where_in(conn, ProblemClue.__table__, "clue_id", old_ids)
        wl.insert_rows(conn, ProblemClue.__table__, _clue_records(clues, now))
        wl.insert_rows(conn, ClueMember.__table__, [
            {"clue_id": m["clue_id"], "feedback_id": m["feedback_id"],
             "similarity": None if pd.isna(m.get("similarity")) else float(m["similarity"])}
            for m in members.to_dict("records")
        ])
        n_before = len(ledger)
        ledger, events = merge_clues_into_ledger(ledger, clues, now, cfg=cfg, today=today)
        orphaned = orphaned_items(ledger, clues)
        ledger = flag_overdue(ledger, district_today(now), superseded_items(conn, ledger))
        _store_ledger(conn, ledger, events)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_clue_workbook(out, month, clues, members, ledger[ledger["month"] == month], _areas_as_dicts())
    return {"month": month, "feedback": len(feedback), "candidates": len(candidates), "clues": len(clues),
            "members": len(members),
            "new_ledger_items": len(ledger) - n_before, "events": len(events), "orphaned": orphaned}


def check_output_file(out: Path) -> None:
    """Refuse, before any work, an output path that cannot be a file: an existing folder, or a
    parent that is a file or not writable."""
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a folder: give a file name, e.g. {out / 'clues.xlsx'}")
    parent = next((p for p in [out.parent, *out.parent.parents] if p.exists()), Path("."))
    if not parent.is_dir():
        raise ValueError(f"cannot write {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"cannot write {out}: no permission to write in {parent}")


def superseded_items(conn: Connection, ledger: pd.DataFrame) -> set[str]:
    """Items of a built month whose clue the last build no longer produces (its complaints went to
    other clues)."""
    if ledger.empty:
        return set()
    t = ProblemClue.__table__
    built: dict[str, set[str]] = {}
    for cid, m in conn.execute(select(t.c.clue_id, t.c.month)):
        built.setdefault(str(m), set()).add(str(cid))
    return {str(r.item_id) for r in ledger.itertuples()
            if str(r.month) in built and str(r.clue_id) not in built[str(r.month)]}


def export_ledger(out: Path, db_url: str | None) -> int:
    check_output_file(out)
    ensure_schema(db_url)
    with get_engine(db_url).begin() as conn:
        ledger = load_ledger(conn)
        # Overdue is a fact of today: refresh it before the departments see the sheet.
        ledger = flag_overdue(ledger, district_today(_now()), superseded_items(conn, ledger))
        _store_ledger(conn, ledger, [])
        t = ProblemClue.__table__
        clues = pd.DataFrame([dict(r) for r in conn.execute(select(t)).mappings()], columns=CLUE_TABLE_COLUMNS)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_ledger_workbook(out, ledger, _areas_as_dicts(), clues)
    return len(ledger)


# Free text departments type into the ledger: masked for personal data before it is stored.
TYPED_TEXT_FIELDS = ("responsible_unit", "measures", "progress")


def _mask_typed_text(edits: pd.DataFrame) -> pd.DataFrame:
    """Departments write phone numbers and ID numbers into 整改进展 too: mask them (个人信息脱敏)."""
    from nlp.pii import mask_pii

    for col in TYPED_TEXT_FIELDS:
        if col in edits.columns:
            edits[col] = edits[col].map(lambda v: mask_pii(v) if isinstance(v, str) else v)
    return edits


def import_ledger(path: Path, db_url: str | None, who: str = "import", now: dt.datetime | None = None) -> dict:
    """Apply the departments' edits; every refused row is reported with its Excel row number."""
    ensure_schema(db_url)
    if Path(path).is_dir():
        raise ValueError(f"{path} is a folder: give the returned workbook's file name")
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if Path(path).stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes): the department's file did not arrive whole")
    try:
        edits = read_ledger_workbook(path)
    except Exception as exc:
        hint = "；请另存为 .xlsx 后再导入" if Path(path).suffix.lower() in (".xls", ".csv", ".ods", ".et", ".wps") else ""
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE container: .xls, or an encrypted .xlsx
            hint = "；这是旧版 .xls 工作簿或设了打开密码的文件：请取消密码并另存为 .xlsx 后再导入"
        raise ValueError(f"{path}: not a readable ledger workbook ({type(exc).__name__}: {exc}){hint}") from exc
    problems = list(edits.attrs.get("problems", []))
    edits = _mask_typed_text(edits)
    now = now or _now()
    with get_engine(db_url).begin() as conn:
        ledger = load_ledger(conn)
        new_ledger, events, errors = apply_department_edits(ledger, edits, who, now, load_clue_config(),
                                                            today=district_today(now))
        # Items whose month was built and whose clue a rebuild no longer produces (their complaints
        # went to other clues): an edit is kept, but the department should know where the item went.
        orphans = superseded_items(conn, new_ledger)
        new_ledger = flag_overdue(new_ledger, district_today(now), orphans)
        _store_ledger(conn, new_ledger, events)
    def shape(items: list[dict]) -> list[dict]:
        return [{"row": e.get("row"), "sheet": e.get("sheet"), "clue_id": e.get("clue_id"), "message": e.get("error")}
                for e in items]

    touched = sorted({str(ev["item_id"]) for ev in events} & orphans)
    notes = list(edits.attrs.get("warnings", []))
    for item in touched:
        notes.append({"row": None, "sheet": None, "clue_id": item,
                      "error": f"线索编号 {item}：该线索在月度重建后已不再生成（其投诉已归入其他线索），修改已记入台账；"
                               "线索清单里它标为「重建后其投诉已归入其他线索」"})
    return {"rows": len(edits), "accepted": len(events),
            "items_changed": len({str(ev["item_id"]) for ev in events}),
            "errors": shape(problems + errors), "warnings": shape(notes)}
