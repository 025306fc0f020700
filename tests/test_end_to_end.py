"""End to end: sample → run → clues → report, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import json

import openpyxl
from sqlalchemy import create_engine, func, select

from tests.conftest import run_cli
from warehouse.models import Feedback, IngestFile, SourceRecord, SurveyAnswer, SurveyScore


def _counts(url: str) -> dict[str, int]:
    from warehouse.db import resolve_url

    eng = create_engine(resolve_url(url))
    with eng.connect() as conn:
        out = {t.__tablename__: conn.scalar(select(func.count()).select_from(t))
               for t in (Feedback, SourceRecord, SurveyAnswer, SurveyScore)}
    eng.dispose()
    return out


def test_sample_run_clues_report(db_url, sample_month, tmp_path, capsys):
    landing, month = sample_month
    assert run_cli("--db", db_url, "db", "upgrade") == 0
    capsys.readouterr()
    assert run_cli("--db", db_url, "run", "--landing", str(landing), "--json") == 0
    first = json.loads(capsys.readouterr().out)
    assert first["files"], "no landing files were found"
    for f in first["files"]:
        assert f["status"] == "loaded", f
        assert f["rows_in"] == f["inserted"] + f["updated"] + f["unchanged"] + f["quarantined"], f
    assert {f["source"] for f in first["files"]} == {"hotline", "questionnaire", "survey", "supervisor"}
    # The hotline exports repeat some work orders with a new status: those are updates, not new rows.
    assert first["totals"]["updated"] > 0
    counts = _counts(db_url)

    from warehouse.db import resolve_url

    eng = create_engine(resolve_url(db_url))
    with eng.connect() as conn:
        by_source = dict(conn.execute(select(Feedback.source, func.count()).group_by(Feedback.source)).all())
        bad = conn.scalar(select(func.count()).select_from(Feedback).where(
            (Feedback.area.is_(None)) | (Feedback.sentiment.is_(None)) | (Feedback.area_confidence.is_(None))))
        areas = {a for (a,) in conn.execute(select(Feedback.area).distinct())}
        n_files = conn.scalar(select(func.count()).select_from(IngestFile))
    eng.dispose()
    assert set(by_source) == {"hotline", "questionnaire", "survey", "supervisor"}
    assert bad == 0
    assert areas <= {"A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "Z"}
    assert len(areas) >= 8, areas

    # Second run: every file is recognised as seen, nothing changes.
    assert run_cli("--db", db_url, "run", "--landing", str(landing), "--json") == 0
    second = json.loads(capsys.readouterr().out)
    assert {f["status"] for f in second["files"]} == {"skipped"}
    assert _counts(db_url) == counts
    eng = create_engine(resolve_url(db_url))
    with eng.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(IngestFile)) == n_files
    eng.dispose()

    out_xlsx = tmp_path / "clues.xlsx"
    assert run_cli("--db", db_url, "clues", "--month", month, "--out", str(out_xlsx)) == 0
    wb = openpyxl.load_workbook(out_xlsx, read_only=True)
    assert "线索明细" in wb.sheetnames
    wb.close()

    report_dir = tmp_path / "report"
    assert run_cli("--db", db_url, "report", "--month", month, "--out", str(report_dir)) == 0
    page = (report_dir / "report.html").read_text(encoding="utf-8")
    assert month in page and "<img" in page

    assert run_cli("--db", db_url, "audit", "pii", "--exports", str(tmp_path)) == 0
