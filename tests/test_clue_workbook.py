"""The clue-list and ledger workbooks as officials open them, and the round trip back."""

from __future__ import annotations

import hashlib
import zipfile
from datetime import date, datetime

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook
from test_clues import make_month

from pipeline.clue_workbook import (
    DETAIL_SHEET,
    SUMMARY_SHEET,
    csv_safe,
    read_ledger_workbook,
    write_clue_workbook,
    write_csv_safe,
    write_ledger_workbook,
)
from pipeline.clues import PROJECT_ROOT, build_clues, load_clue_config, select_candidates
from pipeline.ledger_rules import STATUSES, apply_department_edits, empty_ledger, merge_clues_into_ledger

NASTY = ["=HYPERLINK(\"http://x\",\"点我\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=1"]


@pytest.fixture(scope="module")
def areas():
    return yaml.safe_load((PROJECT_ROOT / "config" / "areas.yaml").read_text(encoding="utf-8"))["areas"]


def _month_with_nasty_texts() -> pd.DataFrame:
    frame, _, _ = make_month("2025-10", seed=7)
    # Formula-looking texts: supervisor reports (each always a clue) with odd ids and streets.
    extra = [{"feedback_id": f"zzzz{i}", "source": "supervisor", "source_record_id": f"=SUP{i}",
              "received_at": pd.Timestamp(2025, 10, 20), "area": "Z", "sentiment": "neg", "sentiment_score": 0.9,
              "request_type": None, "entity_hash": None, "street": "@街道", "text": t + "，夜间施工扰民",
              "tokens": ["夜间", "施工", "扰民", f"x{i}"], "score_100": float("nan")} for i, t in enumerate(NASTY)]
    return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)


@pytest.fixture(scope="module")
def built():
    cfg = load_clue_config()
    frame = _month_with_nasty_texts()
    cands = select_candidates(frame, cfg, month="2025-10")
    clues, members = build_clues(cands, "2025-10", None, cfg)
    ledger, _ = merge_clues_into_ledger(empty_ledger(), clues, datetime(2025, 11, 1, 8))
    return cfg, frame, clues, members, ledger


def _area_sheet_names(wb):
    return [n for n in wb.sheetnames if n not in (SUMMARY_SHEET, DETAIL_SHEET, "填表说明")]


def test_clue_workbook_layout(tmp_path, built, areas):
    _, _, clues, members, ledger = built
    path = tmp_path / "clues.xlsx"
    write_clue_workbook(path, "2025-10", clues, members, ledger, areas)
    wb = load_workbook(path)
    assert wb.sheetnames[0] == SUMMARY_SHEET and DETAIL_SHEET in wb.sheetnames
    names = _area_sheet_names(wb)
    assert len(names) == len(areas) and names[0].startswith("A1")
    ws = wb[names[0]]
    header = [c.value for c in ws[1]]
    for col in ("序号", "线索编号", "指标领域", "问题描述", "涉及企业数", "来源", "首次发现", "最近发现", "热度",
                "分级", "责任单位", "整改时限", "整改措施", "整改进展", "状态", "是否超期", "版本"):
        assert col in header, col
    assert ws.freeze_panes == "C2"
    assert ws.column_dimensions["F"].width > 30  # 问题描述 is wide
    dv = [d for d in ws.data_validations.dataValidation if "待交办" in (d.formula1 or "")]
    status_col = header.index("状态") + 1
    assert dv and all(s in dv[0].formula1 for s in STATUSES)
    assert any(rng.min_col == status_col for rng in dv[0].sqref.ranges)
    # every clue is a row in its area sheet, with the ledger's status and version
    total = sum(wb[n].max_row - 1 for n in names if wb[n].max_row > 1 and wb[n]["B2"].value)
    assert total == len(clues)
    first = {h: c.value for h, c in zip(header, ws[2], strict=True)}
    assert first["状态"] == "待交办" and first["版本"] == 1 and first["序号"] == 1
    assert isinstance(first["整改时限"], datetime) and first["整改时限"].date() > date(2025, 10, 31)
    # 线索明细: one row per member, the listed columns
    det = wb[DETAIL_SHEET]
    assert [c.value for c in det[1]][:6] == ["线索编号", "来源", "原始编号", "时间", "指标领域", "反映内容（已脱敏）"]
    assert det.max_row - 1 == len(members)
    assert {det.cell(r, 2).value for r in range(2, det.max_row + 1)} <= {"hotline", "questionnaire", "survey",
                                                                            "supervisor"}
    # summary totals add up
    summ = wb[SUMMARY_SHEET]
    total_row = next(r for r in range(1, summ.max_row + 1) if summ.cell(r, 1).value == "合计")
    assert summ.cell(total_row, 3).value == len(clues)
    assert summ.cell(total_row, 4).value == len(members)


def test_no_cell_is_a_formula(tmp_path, built, areas):
    _, _, clues, members, ledger = built
    path = tmp_path / "clues.xlsx"
    write_clue_workbook(path, "2025-10", clues, members, ledger, areas)
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name
    wb = load_workbook(path)
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    assert c.data_type == "s", (ws.title, c.coordinate, c.value)
                    assert c.quotePrefix, (ws.title, c.coordinate)
                    seen += 1
    assert seen >= len(NASTY) * 2  # member texts, record ids, and the clue description/example


def test_csv_guard(tmp_path):
    assert csv_safe("=1+1") == "'=1+1" and csv_safe("-x") == "'-x" and csv_safe("正常") == "正常"
    assert csv_safe(-3) == -3
    p = tmp_path / "x.csv"
    write_csv_safe(pd.DataFrame({"a": ["@SUM(1)", "ok"], "n": [1, 2]}), p)
    text = p.read_text(encoding="utf-8-sig")
    assert "'@SUM(1)" in text and "\n1" not in text.split("\n", 1)[0]


def test_rebuild_gives_identical_workbook(tmp_path, built, areas):
    cfg, frame, clues, members, ledger = built
    p1, p2 = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_clue_workbook(p1, "2025-10", clues, members, ledger, areas)
    # A full rebuild of the month from its rows (in another order), merged into the same ledger.
    cands = select_candidates(frame.sample(frac=1.0, random_state=3), cfg, month="2025-10")
    c2, m2 = build_clues(cands, "2025-10", None, cfg)
    assert list(c2["clue_id"]) == list(clues["clue_id"])
    led2, ev = merge_clues_into_ledger(ledger, c2, datetime(2025, 11, 2))
    assert ev == []
    write_clue_workbook(p2, "2025-10", c2, m2, led2, areas)
    assert hashlib.sha1(p1.read_bytes()).hexdigest() == hashlib.sha1(p2.read_bytes()).hexdigest()


def test_ledger_round_trip_with_row_numbers(tmp_path, built, areas):
    _, _, clues, _, ledger = built
    path = tmp_path / "ledger.xlsx"
    write_ledger_workbook(path, ledger, areas, clues)
    wb = load_workbook(path)
    ws = wb[_area_sheet_names(wb)[0]]
    header = [c.value for c in ws[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    # A department fills two rows: one legal, one illegal (close without follow-up).
    ws.cell(2, col["状态"]).value = "整改中"
    cell = ws.cell(2, col["整改措施"])
    cell.value = "=增开窗口"  # what Excel stores when a person types '=增开窗口: text with a quote prefix
    cell.data_type = "s"
    cell.quotePrefix = True
    ws.cell(3, col["状态"]).value = "已销号"
    ok_id, bad_id = ws.cell(2, col["线索编号"]).value, ws.cell(3, col["线索编号"]).value
    wb.save(path)
    edits = read_ledger_workbook(path)
    assert len(edits) == len(ledger)
    assert edits.loc[edits["clue_id"] == bad_id, "excel_row"].item() == 3
    led2, events, errors = apply_department_edits(ledger, edits, "市场监管局 张**", datetime(2025, 11, 5))
    assert [e["row"] for e in errors] == [3]
    assert bad_id in errors[0]["error"] and "第3行" in errors[0]["error"]
    item = led2.set_index("clue_id").loc[ok_id]
    assert item["status"] == "整改中" and item["measures"] == "=增开窗口" and item["version"] == 2
    assert {e["field"] for e in events} == {"status", "measures"}
    # exporting again carries the new version; an old copy now conflicts
    write_ledger_workbook(tmp_path / "ledger2.xlsx", led2, areas, clues)
    again = read_ledger_workbook(tmp_path / "ledger2.xlsx")
    assert again.loc[again["clue_id"] == ok_id, "version"].item() == 2
    _, _, errs = apply_department_edits(led2, edits.assign(progress="旧表"), "x", datetime(2025, 11, 6))
    assert any("版本" in e["error"] and e["clue_id"] == ok_id for e in errs)


def test_reader_ignores_summary_and_detail(tmp_path, built, areas):
    _, _, clues, members, ledger = built
    path = tmp_path / "clues.xlsx"
    write_clue_workbook(path, "2025-10", clues, members, ledger, areas)
    df = read_ledger_workbook(path)
    assert len(df) == len(clues)
    assert set(df["clue_id"]) == set(clues["clue_id"])
    assert (df["excel_row"] >= 2).all()


def test_departments_sheets_as_people_return_them(tmp_path, built, areas):
    """Two departments fill copies of the same export; headers retyped, cells merged, a row typed in
    by hand, a column renamed beyond recognition: every edit lands or is reported, none is lost."""
    _, _, clues, _, ledger = built
    export = tmp_path / "ledger.xlsx"
    write_ledger_workbook(export, ledger, areas, clues)

    def fill(name: str, edit) -> pd.DataFrame:
        wb = load_workbook(export)
        ws = wb[_area_sheet_names(wb)[0]]
        col = {c.value: i + 1 for i, c in enumerate(ws[1])}
        edit(ws, col)
        wb.save(tmp_path / name)
        return read_ledger_workbook(tmp_path / name)

    def dept_a(ws, col):
        ws.cell(2, col["整改措施"]).value = "甲：增开窗口"

    def dept_b(ws, col):
        ws.cell(1, col["整改措施"]).value = "整改措施\n（必填）"  # a note typed into the header
        ws.cell(1, col["整改进展"]).value = "进展2"  # not a ledger column any more
        ws.cell(3, col["整改措施"]).value = "乙：上门辅导"
        ws.cell(3, col["责任单位"]).value = "区税务局"
        ws.merge_cells(start_row=3, start_column=col["责任单位"], end_row=4, end_column=col["责任单位"])
        last = ws.max_row + 1
        ws.cell(last, col["整改措施"]).value = "新发现的问题，手工加的一行"

    a, b = fill("a.xlsx", dept_a), fill("b.xlsx", dept_b)
    led, ev_a, err_a = apply_department_edits(ledger, a, "甲", datetime(2025, 11, 5))
    assert err_a == [] and [e["field"] for e in ev_a] == ["measures"]
    # 乙's copy was exported before 甲's import; its row 2 is as exported: no conflict there
    led, ev_b, err_b = apply_department_edits(led, b, "乙", datetime(2025, 11, 6))
    assert err_b == []
    ids = b[b["sheet"] == b["sheet"].iloc[0]].set_index("excel_row")["clue_id"]
    item = led.set_index("clue_id")
    assert item.loc[ids[2], "measures"] == "甲：增开窗口"
    assert item.loc[ids[3], "measures"] == "乙：上门辅导"
    assert item.loc[ids[3], "responsible_unit"] == item.loc[ids[4], "responsible_unit"] == "区税务局"
    problems = [p["error"] for p in b.attrs["problems"]]
    assert any("进展2" in p for p in problems) and any("缺少线索编号" in p for p in problems), problems
    assert not any("列「整改措施" in p for p in problems)  # the retyped header was read
    # importing 甲's file again: nothing to do, nothing refused
    _, ev, err = apply_department_edits(led, a, "甲", datetime(2025, 11, 7))
    assert ev == [] and err == []


def test_a_workbook_without_a_ledger_sheet_is_refused(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["序号", "问题", "措施"])
    wb.active.append([1, "排队", "增开窗口"])
    wb.save(tmp_path / "x.xlsx")
    with pytest.raises(ValueError, match="线索编号"):
        read_ledger_workbook(tmp_path / "x.xlsx")
