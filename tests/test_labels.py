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


def test_hostile_label_files_lose_nothing(sample_month, sqlite_url, tmp_path):
    """Found by a red-team run: a row correcting only 更正次领域 crashed the whole import (an UPDATE with
    nothing to set); one feedback twice in a file kept only the second row's fields in label_correction
    (the sentiment of the first was lost at the next re-ingest); a later correction of the sentiment
    erased the stored area correction; a formula in a correction cell was skipped without a word (or,
    after Excel, its result taken as typed)."""
    landing, month = sample_month
    run_nightly(landing, sqlite_url)
    out = tmp_path / "labels.xlsx"
    export_labels(month, out, sqlite_url)

    def edit(cells: dict[tuple[int, str], str], name: str):
        wb = openpyxl.load_workbook(out)
        ws = wb.active
        header = [c.value for c in ws[1]]
        for (row, col), value in cells.items():
            ws.cell(row=row, column=header.index(col) + 1).value = value
        ids = [ws.cell(row=r, column=header.index("feedback_id") + 1).value for r in range(2, 8)]
        wb.save(tmp_path / name)
        return tmp_path / name, ids

    path, ids = edit({(2, "更正次领域"): "A5", (3, "更正领域"): "A1", (4, "更正领域"): '="A"&"4"'}, "a.xlsx")
    summary = import_labels(path, sqlite_url)
    assert summary["corrections"] == 2
    assert [(e["row"], "formula" in e["message"]) for e in summary["errors"]] == [(4, True)]
    # the same feedback twice (rows 5 and 6 of a file that carries row 5's id on row 6 too)
    wb = openpyxl.load_workbook(out)
    ws = wb.active
    header = [c.value for c in ws[1]]
    col = {h: header.index(h) + 1 for h in ("feedback_id", "更正领域", "更正情感")}
    ws.cell(row=6, column=col["feedback_id"]).value = ws.cell(row=5, column=col["feedback_id"]).value
    ws.cell(row=5, column=col["更正情感"]).value = "pos"
    ws.cell(row=6, column=col["更正领域"]).value = "A2"
    wb.save(tmp_path / "dup.xlsx")
    summary = import_labels(tmp_path / "dup.xlsx", sqlite_url)
    assert summary["corrections"] == 1 and [e["row"] for e in summary["errors"]] == [6]
    assert "row 5 already" in summary["errors"][0]["message"]
    # a later file corrects the sentiment of row 3's feedback: its area correction stays
    path, _ = edit({(3, "更正情感"): "neg"}, "b.xlsx")
    assert import_labels(path, sqlite_url)["corrections"] == 1
    eng = create_engine(resolve_url(sqlite_url))
    with eng.connect() as conn:
        corr = {r.feedback_id: r for r in conn.execute(select(LabelCorrection))}
        area2 = conn.scalar(select(Feedback.area2).where(Feedback.feedback_id == ids[0]))
    eng.dispose()
    assert area2 == "A5" and corr[ids[0]].area2 == "A5"
    assert (corr[ids[1]].area, corr[ids[1]].sentiment) == ("A1", "neg")
    assert ids[2] not in corr
