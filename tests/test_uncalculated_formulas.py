"""A workbook written by a program holds formulas nobody calculated (openpyxl and Apache POI save no
result, XlsxWriter saves 0 and asks Excel to recalculate on opening). Read as they are, evaluation
scores were stored as 0 (XlsxWriter) or every row quarantined as 'no indicator score' (openpyxl): the
file is now rejected whole with one line saying what to do. A workbook Excel or WPS saved holds the
results it showed and loads as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from pipeline.nightly import run_nightly
from warehouse.db import get_engine

HEADER = ["月份", "评价对象", "开办企业", "纳税", "政务服务"]
ROWS = [["2026年10月", "区市场监督管理局", 80.9, None, 81.5], ["2026年10月", "区税务局", 85.0, 87.5, None],
        ["2026年10月", "区政务服务中心", 76.9, None, 73.9]]
FILE = "survey/第三方测评得分汇总_2026-10.xlsx"


def _scores(url: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return sorted(tuple(r) for r in conn.execute(text("select indicator, score from survey_score")))


def _write_openpyxl(path: Path, formulas: bool, notes_formula: bool = False) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "综合得分"
    ws.append(HEADER)
    for r in ROWS:
        ws.append([f"={v}+0" if formulas and isinstance(v, float) else v for v in r])
    if notes_formula:  # a notes sheet with a formula nobody calculated: not read, so no reason to refuse
        notes = wb.create_sheet("填表说明")
        notes.append(["说明", "=CONCAT(\"共\",3,\"家\")"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def _write_xlsxwriter(path: Path, value: bool) -> None:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("综合得分")
    ws.write_row(0, 0, HEADER)
    for i, r in enumerate(ROWS, start=1):
        for j, v in enumerate(r):
            if isinstance(v, float):
                # value=: the program saved the result too (as Excel would); without it XlsxWriter writes 0
                if value:
                    ws.write_formula(i, j, f"={v}+0", None, v)
                else:
                    ws.write_formula(i, j, f"={v}+0")
            elif v is not None:
                ws.write(i, j, v)
    wb.close()


@pytest.mark.parametrize("writer", ["openpyxl", "xlsxwriter"])
def test_formulas_without_results_reject_the_file_with_one_line(tmp_path: Path, sqlite_url: str, writer: str) -> None:
    landing = tmp_path / "landing"
    if writer == "openpyxl":
        _write_openpyxl(landing / FILE, formulas=True)
    else:
        _write_xlsxwriter(landing / FILE, value=False)
    [result] = run_nightly(landing, sqlite_url)
    assert result.status == "rejected"
    assert "formula" in result.error and "综合得分" in result.error and "C2" in result.error
    assert "\n" not in result.error
    assert _scores(sqlite_url) == []  # no 0 scores, nothing half-loaded
    with get_engine(sqlite_url).connect() as conn:
        assert conn.scalar(text("select count(*) from quarantine")) == 0


def test_formulas_with_saved_results_and_plain_values_load(tmp_path: Path, sqlite_url: str) -> None:
    expected = sorted((ind, v) for ind, v in [("开办企业", 80.9), ("政务服务", 81.5), ("开办企业", 85.0),
                                              ("纳税", 87.5), ("开办企业", 76.9), ("政务服务", 73.9)])
    for n, write in enumerate([lambda p: _write_xlsxwriter(p, value=True),
                               lambda p: _write_openpyxl(p, formulas=False, notes_formula=True)]):
        url = sqlite_url if n == 0 else sqlite_url.replace(".db", f"_{n}.db")
        landing = tmp_path / f"landing{n}"
        write(landing / FILE)
        [result] = run_nightly(landing, url)
        assert result.status == "loaded", result.error
        got = _scores(url)
        assert [(i, round(float(s), 1)) for i, s in got] == [(i, v) for i, v in expected]


def test_a_formula_cut_by_the_read_block_boundary_is_still_found(tmp_path: Path, monkeypatch) -> None:
    """The sheet XML is scanned in blocks: a cell cut by a block boundary (…<c r="C2"><  |  f>…) counts the same."""
    import zipfile

    from pipeline import readers

    path = tmp_path / "s.xlsx"
    _write_openpyxl(path, formulas=True)
    part = next(n for n in zipfile.ZipFile(path).namelist() if n.startswith("xl/worksheets/sheet"))
    whole = readers.uncalculated_formulas(path, part)
    assert whole[0] == 6 and whole[1] == "C2"
    for block in range(5, 120):
        monkeypatch.setattr(readers, "_SCAN_BLOCK", block)
        assert readers.uncalculated_formulas(path, part) == whole, block
