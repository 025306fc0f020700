"""The monthly job against a real warehouse: stable rebuilds, ledger round trip, illegal transitions,
planted problems found as clues."""

from __future__ import annotations

import hashlib

import openpyxl
import pytest
from planted_quality import planted_quality
from sqlalchemy import create_engine, func, select

from pipeline.monthly import build_month_clues, export_ledger, import_ledger
from pipeline.nightly import run_nightly
from warehouse.db import resolve_url
from warehouse.models import LedgerEvent, LedgerItem, ProblemClue


def _sheet_rows(path):
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    wb.close()
    return out


@pytest.fixture(scope="module")
def month_warehouse(tmp_path_factory, sample_month):
    landing, month = sample_month
    url = f"sqlite:///{tmp_path_factory.mktemp('wh') / 'w.db'}"
    run_nightly(landing, url)
    return url, month, landing


def test_rebuild_is_stable_and_keeps_people_edits(month_warehouse, tmp_path):
    url, month, _ = month_warehouse
    first = build_month_clues(month, tmp_path / "a.xlsx", url)
    assert first["clues"] > 0
    eng = create_engine(resolve_url(url))
    with eng.connect() as conn:
        ids1 = sorted(conn.scalars(select(ProblemClue.clue_id).where(ProblemClue.month == month)))
    second = build_month_clues(month, tmp_path / "b.xlsx", url)
    assert second["new_ledger_items"] == 0
    with eng.connect() as conn:
        ids2 = sorted(conn.scalars(select(ProblemClue.clue_id).where(ProblemClue.month == month)))
    assert ids1 == ids2
    assert _sheet_rows(tmp_path / "a.xlsx") == _sheet_rows(tmp_path / "b.xlsx")

    # A department takes an item into work and writes its measures; another row tries to close an
    # item that was never followed up (illegal), and is refused by its row number.
    ledger_x = tmp_path / "ledger.xlsx"
    assert export_ledger(ledger_x, url) == len(ids1)
    wb = openpyxl.load_workbook(ledger_x)
    ws = next(w for w in wb.worksheets if w.title not in ("汇总", "线索明细", "填表说明"))
    header_row = next(r for r in range(1, 11) if "线索编号" in [c.value for c in ws[r]])
    header = [c.value for c in ws[header_row]]
    col = {name: header.index(name) + 1 for name in ("线索编号", "状态", "整改措施")}
    edited_id = ws.cell(header_row + 1, col["线索编号"]).value
    ws.cell(header_row + 1, col["状态"]).value = "整改中"
    ws.cell(header_row + 1, col["整改措施"]).value = "窗口增派2人，联系人王先生13812345678"
    bad_row = header_row + 2
    if ws.cell(bad_row, col["线索编号"]).value:
        ws.cell(bad_row, col["状态"]).value = "已销号"
    wb.save(ledger_x)
    result = import_ledger(ledger_x, url, who="区市场监管局")
    assert result["accepted"] >= 2
    if ws.cell(bad_row, col["线索编号"]).value:
        assert [e["row"] for e in result["errors"]] == [bad_row]
        assert "已销号" in result["errors"][0]["message"] or "销号" in result["errors"][0]["message"]

    build_month_clues(month, tmp_path / "c.xlsx", url)  # rebuild after the edits
    with eng.connect() as conn:
        item = conn.execute(select(LedgerItem.status, LedgerItem.measures).where(LedgerItem.clue_id == edited_id)).one()
        events = conn.scalar(select(func.count()).select_from(LedgerEvent).where(LedgerEvent.item_id == edited_id,
                                                                                   LedgerEvent.who == "区市场监管局"))
    eng.dispose()
    assert item.status == "整改中"
    assert "王先生" not in item.measures and "13812345678" not in item.measures  # masked on import
    assert "窗口增派2人" in item.measures
    assert events >= 2


def test_planted_problems_are_found(month_warehouse, tmp_path):
    """End to end (parsers, masking, the shipped classifier and sentiment models, the warehouse): every
    problem the generator planted has a clue in its own area holding most of it.

    Measured on this month (seed 11, scale 0.5; 2026-11-29): best clue in the planted area for 12 of
    12, mean F1 0.931, 11 of 12 at F1 >= 0.8 (P02 0.75; before the places of work orders and the
    先还后贷 / 款到法院 wordings of the kinds: 0.873, 9 of 12). 2026-11-30: mean 0.973, 12 of 12 at
    >= 0.8 (lowest P04 0.92); clue sizes against the planted counts within one item for 11 of 12 (P04
    14 for 12: an office building's and a shop's certificate complaints without address join the
    compound's clue). The issue's target (F1 >= 0.8 for every planted problem) is not met on every
    sample month; docs/clues.md says where. The bounds below keep a margin of one problem for model
    rebuilds and guard against regressions; the grouping itself is measured in tests/test_clues.py.
    """
    url, month, landing = month_warehouse
    build_month_clues(month, tmp_path / "x.xlsx", url)
    quality = planted_quality(url, landing, month)
    for q in quality:
        assert q["clue_area"] == q["area"], q
    f1 = {q["id"]: q["f1"] for q in quality}
    assert sum(f1.values()) / len(f1) >= 0.9, f1
    assert sum(v >= 0.8 for v in f1.values()) >= 11, f1
    assert min(f1.values()) >= 0.6, f1


def test_workbook_hash_is_deterministic(month_warehouse, tmp_path):
    url, month, _ = month_warehouse
    build_month_clues(month, tmp_path / "1.xlsx", url)
    build_month_clues(month, tmp_path / "2.xlsx", url)
    h = [hashlib.sha256((tmp_path / f"{i}.xlsx").read_bytes()).hexdigest() for i in (1, 2)]
    assert h[0] == h[1]


def _libreoffice() -> str | None:
    import shutil

    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(_libreoffice() is None, reason="LibreOffice is not installed (Debian: libreoffice-calc-nogui)")
def test_workbooks_convert_to_pdf_with_libreoffice(month_warehouse, tmp_path):
    """The clue list and the ledger open in openpyxl and LibreOffice prints them to PDF without error
    (what a department does before a meeting)."""
    import subprocess

    from pypdf import PdfReader

    url, month, _ = month_warehouse
    books = [tmp_path / "问题线索清单.xlsx", tmp_path / "问题台账.xlsx"]
    build_month_clues(month, books[0], url)
    export_ledger(books[1], url)
    for book in books:
        wb = openpyxl.load_workbook(book)  # opens, with every sheet
        assert wb.worksheets and all(ws.max_row >= 2 for ws in wb.worksheets)
        wb.close()
    profile = tmp_path / "lo-profile"  # a private profile: no clash with a running LibreOffice
    out = tmp_path / "pdf"
    proc = subprocess.run(
        [_libreoffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(out), *map(str, books)],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    for book in books:
        pdf = out / (book.stem + ".pdf")
        assert pdf.exists(), (proc.stdout, proc.stderr)
        assert pdf.read_bytes()[:5] == b"%PDF-"
        reader = PdfReader(pdf)
        assert len(reader.pages) >= 1
        text = "".join(p.extract_text() or "" for p in reader.pages[:3])
        assert "线索" in text  # the Chinese header made it into the PDF, not empty boxes


def test_the_clue_and_its_ledger_item_have_one_deadline(month_warehouse, tmp_path):
    """A month built weeks after its end: the ledger's deadline was moved to count from the day the item
    was issued, but v_clues still showed the month-end one (two deadlines for one problem)."""
    import datetime as dt

    from sqlalchemy import text

    url, month, _ = month_warehouse
    build_month_clues(month, tmp_path / "late.xlsx", url, now=dt.datetime(2027, 3, 1, 2))
    with create_engine(resolve_url(url)).connect() as conn:
        rows = conn.execute(text("SELECT c.deadline, l.deadline, l.overdue FROM problem_clue c "
                                 "JOIN ledger_item l ON l.clue_id = c.clue_id WHERE c.month = :m"), {"m": month}).all()
    assert rows and all(str(a) == str(b) for a, b, _ in rows)
