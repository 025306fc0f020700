"""Analyst corrections: export lowest confidence first, import overrides the model and the marts."""

from __future__ import annotations

import openpyxl
from sqlalchemy import create_engine, select

from pipeline.labels import export_labels, import_labels
from pipeline.nightly import run_nightly
from warehouse.db import resolve_url
from warehouse.models import Feedback, LabelCorrection, ReviewQueueItem


def test_label_round_trip(sample_month, sqlite_url, tmp_path):
    landing, month = sample_month
    run_nightly(landing, sqlite_url)
    out = tmp_path / "labels.xlsx"
    n = export_labels(month, out, sqlite_url)
    assert n > 100
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    header = [c.value for c in ws[1]]
    conf = [ws.cell(row=r, column=header.index("置信度") + 1).value for r in range(2, 40)]
    assert conf == sorted(conf), "lowest confidence must come first"
    fid_col, area_col, sent_col = header.index("feedback_id") + 1, header.index("更正领域") + 1, header.index("更正情感") + 1
    target = ws.cell(row=2, column=fid_col).value
    ws.cell(row=2, column=area_col).value = "A4"
    ws.cell(row=2, column=sent_col).value = "neu"
    ws.cell(row=3, column=area_col).value = "A99"  # not an area code: refused, reported by row
    wb.save(out)
    summary = import_labels(out, sqlite_url, who="analyst-1")
    assert summary["corrections"] == 1
    assert [e["row"] for e in summary["errors"]] == [3]
    eng = create_engine(resolve_url(sqlite_url))
    with eng.connect() as conn:
        row = conn.execute(select(Feedback.area, Feedback.sentiment, Feedback.area_origin)
                           .where(Feedback.feedback_id == target)).one()
        corr = conn.execute(select(LabelCorrection.corrected_by).where(LabelCorrection.feedback_id == target)).scalar()
        queued = conn.execute(select(ReviewQueueItem.status).where(ReviewQueueItem.feedback_id == target)).scalar()
    eng.dispose()
    assert tuple(row) == ("A4", "neu", "correction")
    assert corr == "analyst-1"
    assert queued in (None, "resolved")
