"""Returned ledger workbooks as departments and their tools really produce them (red team, session 9).

Each case was exit 0 with an edit lost or put on the wrong item, a crash that applied nothing, or a
false conflict; each test fails on the code before the fix.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from test_clue_workbook import _area_sheet_names, areas, built  # noqa: F401 (fixtures)

from pipeline.clue_workbook import read_ledger_workbook, write_clue_workbook, write_ledger_workbook
from pipeline.ledger_rules import apply_department_edits

NOW = datetime(2025, 11, 5, 9)


@pytest.fixture()
def export(tmp_path, built, areas):  # noqa: F811
    _, _, clues, _, ledger = built
    path = tmp_path / "ledger.xlsx"
    write_ledger_workbook(path, ledger, areas, clues)
    return path, ledger


def _edit(src, dst, edit):
    wb = load_workbook(src)
    ws = wb[_area_sheet_names(wb)[0]]
    col = {c.value: i + 1 for i, c in enumerate(ws[1])}
    edit(wb, ws, col)
    wb.save(dst)
    return dst


def _sheet(got, name=None):
    """The rows of one sheet (the first area sheet unless named), indexed by Excel row."""
    name = name or got["sheet"].iloc[0]
    return got[got["sheet"] == name].set_index("excel_row")


def _ids(ws, col):
    return {r: ws.cell(r, col["线索编号"]).value for r in range(2, ws.max_row + 1)}


def test_numbers_dates_and_percentages_in_text_columns_are_read_as_text(tmp_path, export):
    """A number in 责任单位 crashed the whole import (TypeError from pandas 3's str columns: nothing
    applied, no row named); a typed 100% (stored 1.0) came back as '1.0'."""
    path, ledger = export

    def edit(wb, ws, col):
        ws.cell(2, col["责任单位"]).value = 12345
        ws.cell(2, col["整改进展"]).value = 1.0
        ws.cell(2, col["整改进展"]).number_format = "0%"
        ws.cell(3, col["整改措施"]).value = datetime(2025, 11, 5)
        ws.cell(3, col["整改进展"]).value = 0.5
        ws.cell(3, col["整改进展"]).number_format = "General"

    got = read_ledger_workbook(_edit(path, tmp_path / "n.xlsx", edit))
    rows = _sheet(got)
    assert rows.loc[2, "responsible_unit"] == "12345" and rows.loc[2, "progress"] == "100%"
    assert rows.loc[3, "measures"] == "2025-11-05" and rows.loc[3, "progress"] == "0.5"
    led = ledger.copy()
    led["measures"] = led["measures"].astype("str").where(led["measures"].notna(), None)  # a text column
    new, events, errors = apply_department_edits(led, got, "甲", NOW)
    assert errors == [] and {e["field"] for e in events} == {"responsible_unit", "progress", "measures"}


def test_a_stray_cell_far_away_does_not_blow_up_the_import(tmp_path, export):
    """One value at XFD1048576 made the reader walk 17 billion cells (24 GB, killed after 4 minutes)."""
    path, _ = export

    def edit(wb, ws, col):
        ws.cell(2, col["整改措施"]).value = "加派人手"
        ws["XFD1048576"] = "x"
        ws["GR1048576"] = "y"  # (within the 200 columns read: a million empty rows were still built)
        ws["A1048576"] = " "

    far = _edit(path, tmp_path / "far.xlsx", edit)
    # In a child process capped at 2 GB of address space and 120 s, so that a regression fails here
    # with a message instead of taking the machine's memory.
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30));"
        "from pipeline.clue_workbook import read_ledger_workbook;"
        f"got = read_ledger_workbook({str(far)!r});"
        "first = got[got['sheet'] == got['sheet'].iloc[0]].set_index('excel_row');"
        "print(first.loc[2, 'measures'])"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "加派人手"


def test_a_second_column_for_one_field_never_wipes_the_exported_one(tmp_path, export):
    """An added, empty 整改情况 column (an alias of 整改进展) silently replaced the filled yellow column
    (exit 0, edits lost); filled, it won silently; an added 编号 column hijacked 线索编号."""
    path, ledger = export

    def edit(wb, ws, col):
        n = ws.max_column
        ws.cell(1, n + 1).value = "整改情况"
        ws.cell(1, n + 2).value = "当前状态"
        ws.cell(1, n + 3).value = "编号"
        for r in range(2, ws.max_row + 1):
            ws.cell(r, n + 3).value = r - 1  # the department's own numbering
        ws.cell(2, col["整改进展"]).value = "黄色列的进展"
        ws.cell(2, col["状态"]).value = "整改中"
        ws.cell(3, n + 1).value = "旁边列的进展"

    got = read_ledger_workbook(_edit(path, tmp_path / "alias.xlsx", edit))
    row2 = _sheet(got).loc[2]
    assert row2["progress"] == "黄色列的进展" and row2["status"] == "整改中"
    assert str(row2["clue_id"]).startswith("2025-10-")
    # (session 11: the filled alias is read where the exported column is empty, and said so; a row where
    # both hold different text is refused — see test_renamed_and_added_columns_of_other_ledgers)
    assert _sheet(got).loc[3, "progress"] == "旁边列的进展"
    notes = " ".join(p["error"] for p in got.attrs["warnings"])
    assert "「编号」" in notes and "「整改情况」" in notes
    _, events, errors = apply_department_edits(ledger, got, "甲", NOW)
    assert errors == [] and {e["field"] for e in events} == {"progress", "status"}


def test_an_id_overtyped_with_another_items_id_is_refused_and_retyped_titles_are_noted(tmp_path, export):
    """A 线索编号 overtyped with the next item's id put the row's edits on that item (exit 0); a retyped
    问题标题 or 分级 was ignored without a word. The hidden 行校验 written at export tells both."""
    path, ledger = export
    wb = load_workbook(path)
    ws = wb[_area_sheet_names(wb)[0]]
    ids = _ids(ws, {c.value: i + 1 for i, c in enumerate(ws[1])})

    def edit(wb, ws, col):
        ws.cell(2, col["线索编号"]).value = ids[3]
        ws.cell(2, col["整改措施"]).value = "写给第2行的措施"
        ws.cell(4, col["分级"]).value = "C" if ws.cell(4, col["分级"]).value != "C" else "A"
        ws.cell(4, col["整改措施"]).value = "第4行的措施"

    got = read_ledger_workbook(_edit(path, tmp_path / "typo.xlsx", edit))
    assert 2 not in set(_sheet(got).index)
    assert any(p["row"] == 2 and "导出时是另一个线索编号" in p["error"] for p in got.attrs["problems"])
    assert any(p["row"] == 4 and "分级由系统生成" in p["error"] for p in got.attrs["warnings"])
    new, events, errors = apply_department_edits(ledger, got, "甲", NOW)
    by_id = new.set_index("clue_id")
    assert by_id.loc[ids[3], "measures"] is None or by_id.loc[ids[3], "measures"] != "写给第2行的措施"
    assert by_id.loc[ids[4], "measures"] == "第4行的措施"
    # an untouched export reads without a single note
    clean = read_ledger_workbook(path)
    assert clean.attrs["problems"] == [] and clean.attrs["warnings"] == []


def test_formulas_without_a_computed_value_are_refused_by_row(tmp_path, export):
    """A workbook written by a script holds formulas without cached values: they read as blank, so the
    edit was dropped with exit 0."""
    path, _ = export

    def edit(wb, ws, col):
        ws.cell(2, col["整改措施"]).value = "=1+1"
        ws.cell(3, col["整改措施"]).value = "普通文字"

    got = read_ledger_workbook(_edit(path, tmp_path / "f.xlsx", edit))
    assert any(p["row"] == 2 and "公式" in p["error"] for p in got.attrs["problems"])
    assert _sheet(got).loc[3, "measures"] == "普通文字"


def test_unknown_columns_and_a_renamed_area_sheet_are_not_lost_silently(tmp_path, export):
    """备注 and 完成情况 columns vanished without a word; an area sheet renamed 汇总 was skipped by name."""
    path, _ = export

    def edit(wb, ws, col):
        ws.cell(1, ws.max_column + 1).value = "备注"
        ws.cell(2, ws.max_column).value = "请领导阅示"
        ws.cell(3, col["整改措施"]).value = "改名后的表里的措施"
        del wb["汇总"]
        ws.title = "汇总"

    got = read_ledger_workbook(_edit(path, tmp_path / "u.xlsx", edit))
    assert "改名后的表里的措施" in set(got["measures"].dropna())
    assert any("「备注」" in p["error"] for p in got.attrs["warnings"])


def test_deadlines_as_people_type_them(tmp_path, export):
    """20261105 typed into the date-formatted column arrived as #VALUE! and was called a broken formula;
    a time of day, full-width digits and 号 were refused; 2099 and a date before the clue's month were
    taken. (The fixture's first area sheet has five rows.)"""
    path, ledger = export

    def edit(wb, ws, col):
        c = col["整改时限"]
        ws.cell(2, c).value = 20251120
        ws.cell(2, c).number_format = "yyyy-mm-dd"
        ws.cell(3, c).value = "2025-11-21 00:00:00"
        ws.cell(4, c).value = "２０２５年１１月２２号"
        ws.cell(5, c).value = "2099-12-31"
        ws.cell(6, c).value = "2025-09-30"

    got = read_ledger_workbook(_edit(path, tmp_path / "d.xlsx", edit))
    new, events, errors = apply_department_edits(ledger, got, "甲", NOW)
    first = _sheet(got)
    by_row = dict(zip(first.index, first["clue_id"], strict=True))
    deadlines = new.set_index("clue_id")["deadline"]
    assert [deadlines[by_row[r]] for r in (2, 3, 4)] == [date(2025, 11, d) for d in (20, 21, 22)]
    refused = {e["row"]: e["error"] for e in errors}
    assert set(refused) == {5, 6}, refused
    assert "晚了3年以上" in refused[5] and "早于线索所属月份" in refused[6]


def test_done_and_unsatisfied_in_one_row_sends_the_item_back(export):
    """待交办 → 已整改待回访 with 不满意 in the same row stayed 已整改待回访 with 不满意: no new round, never
    overdue, never closable."""
    _, ledger = export
    cid = str(ledger["clue_id"].iloc[0])
    edits = ledger[ledger["clue_id"] == cid][["clue_id", "version"]].assign(
        status="已整改待回访", followup="不满意", excel_row=2, sheet="A1")
    new, events, errors = apply_department_edits(ledger, edits, "甲", NOW)
    assert errors == []
    item = new.set_index("clue_id").loc[cid]
    assert item["status"] == "重新交办" and item["followup"] is None
    trail = [(e["field"], e["to_value"]) for e in events]
    assert trail[:3] == [("followup", "不满意"), ("status", "已整改待回访"), ("status", "重新交办")]


def test_statuses_typed_loosely_and_duplicate_rows(export):
    """'整改 中', '［整改中］', '已整改,待回访' and '已銷號'-style characters were refused although plainly a
    status; a zero-width space made a valid-looking status unknown. A row repeated with other edits was
    called a conflict with 'someone else'."""
    _, ledger = export
    ids = [str(x) for x in ledger["clue_id"].iloc[:3]]
    v = dict(zip(ledger["clue_id"].astype(str), ledger["version"], strict=True))
    rows = [
        {"clue_id": ids[0], "version": v[ids[0]], "status": "整改 中", "excel_row": 2, "sheet": "A1"},
        {"clue_id": ids[1], "version": v[ids[1]], "status": "［整改中］", "excel_row": 3, "sheet": "A1"},
        {"clue_id": ids[2], "version": v[ids[2]], "status": "整改中\u3000", "excel_row": 4, "sheet": "A1"},
        {"clue_id": ids[0], "version": v[ids[0]], "measures": "另一行的措施", "excel_row": 9, "sheet": "A1"},
    ]
    import pandas as pd

    new, _, errors = apply_department_edits(ledger, pd.DataFrame(rows), "甲", NOW)
    assert set(new.set_index("clue_id").loc[ids, "status"]) == {"整改中"}
    assert len(errors) == 1 and errors[0]["row"] == 9 and "与第2行（A1）是同一线索编号" in errors[0]["error"]


def test_orphaned_items_being_worked_on_stay_in_the_month_workbook(tmp_path, built, areas):  # noqa: F811
    """After a rebuild moved an item's complaints to another clue, the item being worked on (整改中)
    vanished from the month's list the department works through."""
    _, _, clues, members, ledger = built
    led = ledger.copy()
    gone = str(led["clue_id"].iloc[0])
    led.loc[led["clue_id"] == gone, "status"] = "整改中"
    rest = clues[clues["clue_id"] != gone]
    out = tmp_path / "clues.xlsx"
    write_clue_workbook(out, "2025-10", rest, members[members["clue_id"] != gone], led, areas)
    wb = load_workbook(out, read_only=True)
    found = [r for ws in wb.worksheets for r in ws.iter_rows(values_only=True) if gone in r]
    assert found and any("归入其他线索" in str(c) for c in found[0])


def test_the_same_row_imported_again_after_a_followup_changes_nothing(export):
    """After 不满意 the first import moves the item on (重新交办, new deadline, version + 1); importing the
    same file again was refused as a conflict with 'someone else' (exit 1)."""
    import pandas as pd

    _, ledger = export
    cid = str(ledger["clue_id"].iloc[0])
    v = int(ledger.set_index("clue_id").loc[cid, "version"])
    done = pd.DataFrame([{"clue_id": cid, "version": v, "status": "已整改待回访", "excel_row": 2, "sheet": "A1"}])
    led, _, errors = apply_department_edits(ledger, done, "甲", NOW)
    assert errors == []
    back = pd.DataFrame([{"clue_id": cid, "version": v + 1, "status": "已整改待回访", "followup": "不满意",
                          "excel_row": 2, "sheet": "A1"}])
    led, events, errors = apply_department_edits(led, back, "甲", NOW)
    assert errors == [] and led.set_index("clue_id").loc[cid, "status"] == "重新交办"
    again, events, errors = apply_department_edits(led, back, "甲", datetime(2025, 11, 6))
    assert errors == [] and events == []
    # another department's stale row with a real edit is still a conflict
    stale = back.assign(measures="另一部门的措施")
    _, _, errors = apply_department_edits(again, stale, "乙", datetime(2025, 11, 6))
    assert len(errors) == 1 and "导出后已被更新" in errors[0]["error"]


def test_overdue_and_deadlines_count_the_districts_day():
    """At 06:00 in Beijing (22:00 UTC the day before) 'today' was the UTC date: overdue flags and the new
    deadline of 重新交办 were a day behind."""
    from pipeline.monthly import district_today

    assert district_today(datetime(2026, 11, 29, 22, 0)) == date(2026, 11, 30)
    assert district_today(datetime(2026, 11, 30, 15, 59)) == date(2026, 11, 30)


def test_files_that_are_no_workbook_say_what_they_are(tmp_path, sqlite_url):
    """A password-protected workbook (an OLE container) or an .xls renamed .xlsx said only 'BadZipFile';
    a folder was 'no such file'; an empty file 'BadZipFile'."""
    from pipeline.monthly import import_ledger

    ole = tmp_path / "locked.xlsx"
    ole.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(ValueError, match="设了打开密码"):
        import_ledger(ole, sqlite_url)
    (tmp_path / "dir.xlsx").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        import_ledger(tmp_path / "dir.xlsx", sqlite_url)
    (tmp_path / "empty.xlsx").write_bytes(b"")
    with pytest.raises(ValueError, match="0 bytes"):
        import_ledger(tmp_path / "empty.xlsx", sqlite_url)


def test_a_list_built_late_is_not_overdue_the_day_it_is_issued(built):  # noqa: F811
    """Deadlines counted from the clue month's end: October's list built on 30 November had 144 of 163
    items overdue the day the departments received them."""
    from pipeline.ledger_rules import empty_ledger, flag_overdue, merge_clues_into_ledger
    from pipeline.workdays import deadline_for

    cfg, _, clues, _, _ = built
    issued = datetime(2025, 12, 30, 9)
    led, _ = merge_clues_into_ledger(empty_ledger(), clues, issued, cfg=cfg, today=issued.date())
    assert not flag_overdue(led, issued.date())["overdue"].any()
    c_item = led[led["grade"] == "C"].iloc[0]
    assert c_item["deadline"] == deadline_for("C", issued.date(), cfg)
    # a rebuild weeks later keeps the deadline (counted from the item's creation day)
    again, events = merge_clues_into_ledger(led, clues, datetime(2026, 1, 20), cfg=cfg, today=date(2026, 1, 20))
    assert [e for e in events if e["field"] == "deadline"] == []
    # built on time, the month-end count stands
    on_time, _ = merge_clues_into_ledger(empty_ledger(), clues, datetime(2025, 11, 1, 8), cfg=cfg,
                                         today=date(2025, 11, 1))
    assert list(on_time["deadline"]) == [c for c in clues["deadline"]]


def test_yellow_cells_sorted_or_pasted_apart_from_their_id_are_refused(tmp_path, export):
    """Sorting only the yellow columns (or pasting a yellow block from a working copy) put 32 edits on
    the wrong items with exit 0: the hidden 行校验 stays with the id. A second hidden check inside the
    yellow block travels with the yellow cells."""
    path, ledger = export

    def edit(wb, ws, col):
        first, last = col["责任单位"], col["回访结果"]
        ws.cell(2, col["整改措施"]).value = "第2行条目的措施"
        block = [[ws.cell(r, c).value for c in range(first, last + 1)] for r in (2, 3)]
        for r, vals in zip((3, 2), block, strict=True):  # the block of rows 2 and 3 swapped
            for c, v in zip(range(first, last + 1), vals, strict=True):
                ws.cell(r, c).value = v

    got = read_ledger_workbook(_edit(path, tmp_path / "sorted.xlsx", edit))
    refused = {p["row"] for p in got.attrs["problems"] if "黄色列的内容是另一行" in p["error"]}
    assert refused == {2, 3}
    _, events, errors = apply_department_edits(ledger, got, "甲", NOW)
    assert not any(e["to_value"] == "第2行条目的措施" for e in events)


def test_without_the_hidden_checks_a_title_that_does_not_fit_the_id_is_refused(export):
    """With the hidden columns deleted (visible cells copied into a new workbook), an overtyped id sent
    the edits to another item with exit 0."""
    import pandas as pd

    _, ledger = export
    a, b = ledger.iloc[0], ledger.iloc[1]
    row = {"clue_id": b["clue_id"], "version": b["version"], "title": a["title"], "measures": "给第一条的措施",
           "excel_row": 2, "sheet": "A1"}
    _, events, errors = apply_department_edits(ledger, pd.DataFrame([row]), "甲", NOW)
    assert events == [] and len(errors) == 1 and "问题标题" in errors[0]["error"]


def test_odd_version_and_time_cells_refuse_their_row_not_the_file(export):
    """版本 1e999 (OverflowError) or a text 更新时间 with no 版本 (DateParseError) aborted the whole import."""
    import pandas as pd

    _, ledger = export
    ids = list(ledger["clue_id"].iloc[:3])
    rows = pd.DataFrame([
        {"clue_id": ids[0], "version": "1e999", "measures": "甲", "excel_row": 2, "sheet": "A1"},
        {"clue_id": ids[1], "version": None, "updated_at": "上周五", "measures": "乙", "excel_row": 3, "sheet": "A1"},
        {"clue_id": ids[2], "version": ledger["version"].iloc[2], "measures": "丙", "excel_row": 4, "sheet": "A1"},
    ])
    new, events, errors = apply_department_edits(ledger, rows, "甲", NOW)
    assert {e["row"] for e in errors} == {2, 3}
    assert new.set_index("clue_id").loc[ids[2], "measures"] == "丙"


def test_punctuation_inside_a_followup_is_never_dropped():
    """'不，满意' and '(不)满意' were read as 不满意, which sends the item back with a new deadline."""
    from pipeline.ledger_rules import choice_text

    assert choice_text("不，满意") == "不，满意" and choice_text("(不)满意") == "(不)满意"
    assert choice_text("满意！") == "满意" and choice_text("［整改中］") == "整改中" and choice_text("整改 中") == "整改中"


def test_a_rebuild_counts_from_the_districts_day_of_creation(built):  # noqa: F811
    """The monthly job runs at 06:00 Beijing (22:00 UTC the day before); a later rebuild took created_at's
    UTC date and moved every default deadline a working day earlier (and bumped the version)."""
    from pipeline.ledger_rules import empty_ledger, merge_clues_into_ledger

    cfg, _, clues, _, _ = built
    run = datetime(2025, 12, 4, 22, 0)  # = 2025-12-05 06:00 in Beijing
    led, _ = merge_clues_into_ledger(empty_ledger(), clues, run, cfg=cfg, today=date(2025, 12, 5))
    again, events = merge_clues_into_ledger(led, clues, datetime(2025, 12, 9, 3), cfg=cfg, today=date(2025, 12, 9))
    assert [e for e in events if e["field"] == "deadline"] == []


def test_ids_typed_back_in_capitals_or_full_width_are_the_same_item(export):
    """An id retyped as 2026－10－A1－A5C7DB was 'another id' (refused)."""
    import unicodedata

    import pandas as pd

    _, ledger = export
    cid = str(ledger["clue_id"].iloc[0])
    typed = "".join(chr(ord(c) + 0xFEE0) if c == "-" else c for c in cid.upper())
    assert unicodedata.normalize("NFKC", typed) != cid
    row = {"clue_id": typed, "version": ledger["version"].iloc[0], "measures": "全角编号的措施", "excel_row": 2, "sheet": "A1"}
    new, _, errors = apply_department_edits(ledger, pd.DataFrame([row]), "甲", NOW)
    assert errors == [] and new.set_index("clue_id").loc[cid, "measures"] == "全角编号的措施"


def test_untouched_items_a_rebuild_superseded_are_not_overdue(export):
    """Items whose complaints a rebuild moved to other clues stayed 待交办 and turned overdue, counting the
    same complaints against a unit twice."""
    from pipeline.ledger_rules import flag_overdue

    _, ledger = export
    gone = {str(ledger["item_id"].iloc[0])}
    later = date(2030, 1, 1)
    flagged = flag_overdue(ledger, later, gone).set_index("item_id")["overdue"]
    assert not flagged[next(iter(gone))] and flagged.drop(list(gone)).all()
    worked = ledger.copy()
    worked.loc[worked["item_id"].isin(gone), "status"] = "整改中"
    assert flag_overdue(worked, later, gone).set_index("item_id")["overdue"].all()


def test_hidden_check_values_hold_no_digits(export):
    """A hex 行校验 read as the landline 0731…67 to `audit pii` in the demo workbook (1 false hit)."""
    import re

    path, _ = export
    wb = load_workbook(path)
    ws = wb[_area_sheet_names(wb)[0]]
    col = {c.value: i + 1 for i, c in enumerate(ws[1])}
    values = [ws.cell(r, col[h]).value for h in ("行校验", "编号校验") for r in range(2, ws.max_row + 1)]
    assert values and all(re.fullmatch(r"[a-p]+", v) for v in values)


def test_renamed_and_added_columns_of_other_ledgers(tmp_path, export):
    """Headers renamed to other ledgers' wording (落实情况, 完成时间) or translated (Progress) lost their edits
    with exit 0 and a note; a 满意度 column added beside 回访结果 lost the follow-up, so an unsatisfied item was
    never sent back (ledger red team 2, session 11)."""
    path, ledger = export

    def edit(wb, ws, col):
        ws.cell(1, col["整改进展"]).value = "落实情况"
        ws.cell(1, col["整改时限"]).value = "完成时间"
        ws.cell(1, col["整改措施"]).value = "Rectification measures"
        ws.cell(1, ws.max_column + 1).value = "满意度"
        ws.cell(2, col["整改进展"]).value = "已完成一半"
        ws.cell(2, col["整改时限"]).value = "2025-12-20"
        ws.cell(3, col["整改措施"]).value = "增设窗口"
        ws.cell(3, ws.max_column).value = "满意"
        ws.cell(4, col["回访结果"]).value = "满意"
        ws.cell(4, ws.max_column).value = "不满意"  # two different answers: the row is refused

    got = read_ledger_workbook(_edit(path, tmp_path / "renamed.xlsx", edit))
    rows = _sheet(got)
    assert rows.loc[2, "progress"] == "已完成一半" and str(rows.loc[2, "deadline"]).startswith("2025-12-20")
    assert rows.loc[3, "measures"] == "增设窗口" and rows.loc[3, "followup"] == "满意"
    assert 4 not in set(rows.index)
    assert any(p["row"] == 4 and "都是回访结果" in p["error"] for p in got.attrs["problems"])


def test_an_unknown_column_that_reads_like_an_edit_is_an_error_not_a_note(tmp_path, export):
    """A column named like an edit the ledger does not know (推进计划完成日期) was a note and exit 0."""
    path, _ = export

    def edit(wb, ws, col):
        ws.cell(1, ws.max_column + 1).value = "计划完成日期"
        ws.cell(2, ws.max_column).value = "2025-12-01"

    got = read_ledger_workbook(_edit(path, tmp_path / "plan.xlsx", edit))
    assert any("「计划完成日期」不是台账的列" in p["error"] for p in got.attrs["problems"])


def test_refused_values_are_quoted_masked(export):
    """A refused 回访结果 typed with the person and the phone called was echoed in full to the terminal and
    the JSON output (ledger red team 2)."""
    import pandas as pd

    _, ledger = export
    row = ledger.iloc[0]
    edits = pd.DataFrame([{"sheet": "A1", "excel_row": 2, "clue_id": row["clue_id"], "version": row["version"],
                           "updated_at": row["updated_at"], "followup": "满意（回访对象张三，13812345678）"}])
    _, _, errors = apply_department_edits(ledger, edits, "甲", NOW)
    assert errors and "13812345678" not in errors[0]["error"] and "138****5678" in errors[0]["error"]


def test_a_sort_that_leaves_the_far_hidden_columns_behind_is_read_by_id(tmp_path, export):
    """Selecting the visible table (A→版本) and sorting it moves each row's 编号校验 with its id and yellow
    cells but leaves the hidden 导出校验 and 行校验 at the far right in place: every moved row was refused as
    'exported for another id' (117 rows, exit 1, in the red team's case). The 编号校验 that moved along says the
    row is the item its id names (ledger red team 2, session 11)."""
    path, ledger = export

    def edit(wb, ws, col):
        last = col["版本"]
        rows = [[ws.cell(r, c).value for c in range(1, last + 1)] for r in range(2, ws.max_row + 1)]
        rows.reverse()  # the sort
        for r, values in enumerate(rows, start=2):
            for c, v in enumerate(values, start=1):
                ws.cell(r, c).value = v
        ws.cell(2, col["整改措施"]).value = "排序后填写的措施"

    got = read_ledger_workbook(_edit(path, tmp_path / "sorted.xlsx", edit))
    assert got.attrs["problems"] == []
    assert any("隐藏的校验列没有随行移动" in p["error"] for p in got.attrs["warnings"])
    target = _sheet(got).loc[2, "clue_id"]
    new, events, errors = apply_department_edits(ledger, got, "甲", NOW)
    assert errors == [] and [e["field"] for e in events] == ["measures"]
    assert new.set_index("clue_id").loc[target, "measures"] == "排序后填写的措施"


def test_edits_in_rows_a_filter_hid_are_refused_by_row(tmp_path, export):
    """整改中 filled over a filtered range reached the rows the filter hid: 34 items changed without a word
    (ledger red team 2, session 11). Hidden rows' edits are refused, naming the row; visible rows apply."""
    path, ledger = export

    def edit(wb, ws, col):
        for r in (3, 4):
            ws.row_dimensions[r].hidden = True
        for r in range(2, 6):
            ws.cell(r, col["状态"]).value = "整改中"

    got = read_ledger_workbook(_edit(path, tmp_path / "filtered.xlsx", edit))
    new, events, errors = apply_department_edits(ledger, got, "甲", NOW)
    assert sorted(e["row"] for e in errors) == [3, 4] and all("隐藏" in e["error"] for e in errors)
    assert len(events) == 2 and {e["field"] for e in events} == {"status"}
