"""Analyst label corrections (人工标注更正): export for review, import corrections.

Export lists a month's feedback lowest area confidence first; analysts fill the 更正 columns.
Import validates every row (known feedback id, known area codes, known sentiment labels), stores the
corrections in ``label_correction`` — where the next training picks them up — and applies them to
``feedback`` at once. Refused rows are reported by their Excel row number; nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import xlsxwriter
from sqlalchemy import select

from nlp.pii import mask_pii
from pipeline.config import load_areas
from pipeline.enrich import text_sha1
from pipeline.excel import cell_text, write_cell
from pipeline.ingest import ensure_schema
from warehouse import load as wl
from warehouse.db import get_engine
from warehouse.models import Feedback, LabelCorrection, ReviewQueueItem

SENTIMENTS = ("neg", "neu", "pos")
COLUMNS = ["feedback_id", "来源", "原始编号", "时间", "文本", "预测领域", "置信度", "预测次领域", "预测情感",
           "更正领域", "更正次领域", "更正情感", "备注"]


def _month_bounds(month: str) -> tuple[dt.date, dt.date]:
    y, m = (int(x) for x in month.split("-"))
    start = dt.date(y, m, 1)
    end = dt.date(y + (m == 12), m % 12 + 1, 1)
    return start, end


def export_labels(month: str, out: Path, db_url: str | None) -> int:
    ensure_schema(db_url)
    start, end = _month_bounds(month)
    f = Feedback.__table__
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(f.c.feedback_id, f.c.source, f.c.source_record_id, f.c.received_at, f.c.text,
                                   f.c.area, f.c.area_confidence, f.c.area2, f.c.sentiment)
                            .where(f.c.received_date >= start, f.c.received_date < end)
                            .order_by(f.c.area_confidence, f.c.feedback_id)).all()
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False})
    ws = wb.add_worksheet("待复核标注")
    head = wb.add_format({"bold": True, "bg_color": "#DDDDDD", "border": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    datef = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for c, name in enumerate(COLUMNS):
        ws.write_string(0, c, name, head)
    for r, row in enumerate(rows, start=1):
        values = [row.feedback_id, row.source, row.source_record_id, row.received_at, row.text, row.area,
                  round(row.area_confidence, 3), row.area2, row.sentiment, None, None, None, None]
        for c, v in enumerate(values):
            write_cell(ws, r, c, v, wrap if c == 4 else None, datef)
    codes = [a.code for a in load_areas()]
    last = max(1, len(rows))
    ws.data_validation(1, 9, last, 10, {"validate": "list", "source": codes})
    ws.data_validation(1, 11, last, 11, {"validate": "list", "source": list(SENTIMENTS)})
    ws.freeze_panes(1, 0)
    ws.set_column(0, 0, 12)
    ws.set_column(4, 4, 60)
    ws.set_column(1, 3, 14)
    wb.close()
    return len(rows)


def import_labels(path: Path, db_url: str | None, who: str = "analyst") -> dict[str, Any]:
    ensure_schema(db_url)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable .xlsx workbook ({type(exc).__name__})") from exc
    ws = wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    # The same sheet read for its formulas: a formula in a correction cell has no value in a file
    # saved by a script (it was skipped) and Excel's result in one saved by Excel (="A"&"4" became A4);
    # either way it is no label a person typed, so the row is refused.
    formulas = _formula_rows(path)
    header = [cell_text(h) for h in next(it, [])]
    if "feedback_id" not in header:
        raise ValueError(f"{path}: first sheet has no feedback_id column; export it with 'yingshang labels export'")
    idx = {name: header.index(name) for name in COLUMNS if name in header}
    codes = {a.code for a in load_areas()}
    errors: list[dict[str, Any]] = []
    wanted: list[tuple[int, dict[str, Any]]] = []
    first_row: dict[str, int] = {}
    for excel_row, values in enumerate(it, start=2):
        def get(name, values=values):
            i = idx.get(name)
            return cell_text(values[i]) if i is not None and i < len(values) else None

        area, area2, sentiment = get("更正领域"), get("更正次领域"), get("更正情感")
        typed = formulas.get(excel_row, {})
        bad_formulas = [f"{name} is a formula ({typed[name]}): type the label itself"
                        for name in ("更正领域", "更正次领域", "更正情感") if name in typed]
        if not (area or area2 or sentiment or bad_formulas):
            continue
        fid = get("feedback_id")
        problems = list(bad_formulas)
        if area and area.upper() not in codes:
            problems.append(f"更正领域 '{area}' is not an area code ({', '.join(sorted(codes))})")
        if area2 and area2.upper() not in codes:
            problems.append(f"更正次领域 '{area2}' is not an area code")
        if sentiment and sentiment.lower() not in SENTIMENTS:
            problems.append(f"更正情感 '{sentiment}' must be one of neg, neu, pos")
        if not fid:
            problems.append("feedback_id is empty")
        if fid and fid in first_row and not problems:
            problems.append(f"feedback_id {fid} is corrected in row {first_row[fid]} already: one row per feedback")
        if problems:
            errors.append({"row": excel_row, "message": "; ".join(problems)})
            continue
        first_row[fid] = excel_row
        wanted.append((excel_row, {"feedback_id": fid, "_text": get("文本"), "area": area.upper() if area else None,
                                   "area2": area2.upper() if area2 else None,
                                   "sentiment": sentiment.lower() if sentiment else None,
                                   # analysts paste phone numbers into notes too: masked (脱敏)
                                   "note": mask_pii(get("备注")) or None}))
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    f = Feedback.__table__
    applied = 0
    with get_engine(db_url).begin() as conn:
        known: dict[str, str] = {}  # feedback id → its text in the warehouse now
        for part in wl.chunked([w[1]["feedback_id"] for w in wanted], 900):
            known.update(dict(conn.execute(select(f.c.feedback_id, f.c.text).where(f.c.feedback_id.in_(part))).all()))
        rows = []
        for excel_row, w in wanted:
            shown = w.pop("_text")
            if w["feedback_id"] not in known:
                errors.append({"row": excel_row, "message": f"feedback_id {w['feedback_id']} is not in the warehouse"})
                continue
            if shown is not None and _same_text(shown) != _same_text(known[w["feedback_id"]]):
                # The record was re-delivered with another text after the export: the label was chosen
                # for the text in the workbook, not for this one.
                errors.append({"row": excel_row, "message": f"the text of {w['feedback_id']} has changed since the "
                                                            "export; export the labels again and review it anew"})
                continue
            rows.append({**w, "corrected_by": who, "corrected_at": now,
                         "text_hash": text_sha1(known[w["feedback_id"]])})
        # A correction adds to the one stored before (a sentiment now, the area last week): the fields
        # this row leaves empty keep their earlier correction instead of being erased.
        lc = LabelCorrection.__table__
        before = {}
        for part in wl.chunked([r["feedback_id"] for r in rows], 900):
            before.update({r["feedback_id"]: r for r in conn.execute(
                select(lc.c.feedback_id, lc.c.area, lc.c.area2, lc.c.sentiment, lc.c.note, lc.c.text_hash)
                .where(lc.c.feedback_id.in_(part))).mappings()})
        for r in rows:
            old = before.get(r["feedback_id"])
            if old is not None and old["text_hash"] in (None, r["text_hash"]):  # (for another text: a new start)
                for col in ("area", "area2", "sentiment", "note"):
                    if r[col] is None:
                        r[col] = old[col]
        wl.upsert(conn, lc, rows, ["feedback_id"])
        rq = ReviewQueueItem.__table__
        for r in rows:
            values: dict[str, Any] = {}
            if r["area"]:
                values.update(area=r["area"], area2=r["area2"], area_confidence=1.0, area_origin="correction")
            elif r["area2"]:
                values.update(area2=r["area2"])  # (a second area alone: the first stays the model's)
            if r["sentiment"]:
                values.update(sentiment=r["sentiment"], sentiment_confidence=1.0)
            if values:
                conn.execute(f.update().where(f.c.feedback_id == r["feedback_id"]).values(**values))
            conn.execute(rq.update().where(rq.c.feedback_id == r["feedback_id"], rq.c.status == "open")
                         .values(status="resolved", resolved_at=now))
            applied += 1
        days = set()
        for part in wl.chunked([r["feedback_id"] for r in rows], 900):
            days |= {d for (d,) in conn.execute(select(f.c.received_date).where(f.c.feedback_id.in_(part)))
                     if d is not None}
    if days:
        # Corrected labels change the marts' counts by area and sentiment for those days.
        from pipeline.nightly import refresh_marts_for

        refresh_marts_for(db_url, days)
    return {"corrections": applied, "errors": sorted(errors, key=lambda e: e["row"])}


def _same_text(text: str | None) -> str:
    """A text as compared between the workbook and the warehouse: Excel and LibreOffice may change line
    ends and trailing spaces, and a formula-like text was written with a leading apostrophe."""
    return " ".join(str(text or "").lstrip("'").split())


def _formula_rows(path: Path) -> dict[int, dict[str, str]]:
    """{excel row: {column header: formula}} for the formulas typed into the first sheet."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        it = wb.worksheets[0].iter_rows()
        header = [cell_text(c.value) for c in next(it, [])]
        out: dict[int, dict[str, str]] = {}
        for excel_row, cells in enumerate(it, start=2):
            found = {header[i]: str(c.value) for i, c in enumerate(cells)
                     if i < len(header) and getattr(c, "data_type", None) == "f"}
            if found:
                out[excel_row] = found
        return out
    finally:
        wb.close()


def corrections_frame(db_url: str | None):
    """All corrections joined to their texts: extra training data for the next model."""
    import pandas as pd

    f, c = Feedback.__table__, LabelCorrection.__table__
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(f.c.text, c.c.area, c.c.area2, c.c.sentiment, c.c.text_hash)
                            .join(c, c.c.feedback_id == f.c.feedback_id)).mappings().all()
    # Only corrections of the text as it is now: a label for a complaint that was since replaced by
    # another text would teach the next model a wrong pair.
    keep = [dict(r) for r in rows if r["text_hash"] in (None, text_sha1(r["text"]))]
    return pd.DataFrame(keep, columns=["text", "area", "area2", "sentiment"])
