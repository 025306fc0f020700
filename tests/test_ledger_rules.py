"""Ledger rules (问题台账): legal status flow, merge without losing edits, department edits by row."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from pipeline.clues import load_clue_config
from pipeline.ledger_rules import (
    EVENT_COLUMNS,
    LEDGER_COLUMNS,
    STATUSES,
    IllegalTransition,
    apply_department_edits,
    check_transition,
    empty_ledger,
    flag_overdue,
    merge_clues_into_ledger,
    orphaned_items,
)

NOW = datetime(2025, 11, 3, 9, 0)


def _clues(**over) -> pd.DataFrame:
    base = {
        "clue_id": ["2025-10-A1-aaaaaa", "2025-10-A9-bbbbbb"],
        "month": ["2025-10", "2025-10"],
        "area": ["A1", "A9"],
        "title": ["营业执照、审核", "窗口、排队"],
        "description": ["营业执照申请一个月没批", "大厅排队三小时"],
        "grade": ["A", "C"],
        "responsible_unit": ["市场监督管理局", "行政审批和政务服务局"],
        "deadline": [date(2025, 12, 1), date(2025, 11, 7)],
        "previous_clue_id": [None, "2025-09-A9-cccccc"],
    }
    base.update(over)
    return pd.DataFrame(base)


def _ledger() -> pd.DataFrame:
    led, _ = merge_clues_into_ledger(empty_ledger(), _clues(), NOW)
    return led


def _edit(led: pd.DataFrame, clue_id: str, row: int = 5, **fields) -> pd.DataFrame:
    cur = led.set_index("clue_id").loc[clue_id]
    rec = {"excel_row": row, "sheet": "A1 开办企业", "clue_id": clue_id, "version": cur["version"]}
    rec.update(fields)
    return pd.DataFrame([rec])


# --------------------------------------------------------------------------- transitions


@pytest.mark.parametrize("cur,new,fu", [
    ("待交办", "整改中", None),
    ("整改中", "已整改待回访", None),
    ("已整改待回访", "已销号", "满意"),
    ("已整改待回访", "已销号", "基本满意"),
    ("已整改待回访", "重新交办", "不满意"),
    ("重新交办", "整改中", "不满意"),
    ("整改中", "整改中", None),
])
def test_legal_transitions(cur, new, fu):
    check_transition(cur, new, fu)


@pytest.mark.parametrize("cur,new,fu,words", [
    ("整改中", "已销号", "满意", "须先整改完成"),
    ("待交办", "已销号", None, "已销号"),
    ("已整改待回访", "已销号", "不满意", "满意或基本满意"),
    ("已整改待回访", "已销号", None, "没有回访结果"),
    ("已销号", "整改中", None, "已销号的条目"),
    ("整改中", "重新交办", "不满意", "回访不满意"),
    ("整改中", "完成", None, "未知状态"),
    ("已整改待回访", "已销号", "非常满意", "未知回访结果"),
])
def test_illegal_transitions_say_why(cur, new, fu, words):
    with pytest.raises(IllegalTransition) as exc:
        check_transition(cur, new, fu)
    assert words in str(exc.value)


def test_statuses_constant():
    assert STATUSES == ("待交办", "整改中", "已整改待回访", "已销号", "重新交办")


# --------------------------------------------------------------------------- merge


def test_merge_creates_items_and_events():
    led, events = merge_clues_into_ledger(empty_ledger(), _clues(), NOW)
    assert list(led.columns) == LEDGER_COLUMNS
    assert list(led["status"]) == ["待交办", "待交办"]
    assert list(led["version"]) == [1, 1]
    assert len(events) == 2 and set(events[0]) == set(EVENT_COLUMNS)
    assert events[0]["to_value"] == "待交办" and events[0]["who"] == "system"
    assert "2025-09-A9-cccccc" in events[1]["note"]  # recurring clue is noted


def test_rebuild_never_overwrites_people_fields():
    led = _ledger()
    edits = _edit(led, "2025-10-A1-aaaaaa", responsible_unit="行政审批局", measures="增开两个窗口",
                  progress="已完成人员培训", status="整改中")
    led, ev, err = apply_department_edits(led, edits, "张科长", NOW)
    assert err == [] and len(ev) == 4
    # Rebuild: grade, description, default unit and deadline change in the clue.
    clues = _clues(grade=["B", "B"], description=["营业执照审批慢（更新）", "大厅排队三小时"],
                   responsible_unit=["市场监督管理局（新）", "政务服务中心"],
                   deadline=[date(2025, 11, 21), date(2025, 11, 21)])
    led2, ev2 = merge_clues_into_ledger(led, clues, datetime(2025, 11, 4))
    a = led2.set_index("clue_id").loc["2025-10-A1-aaaaaa"]
    assert a["responsible_unit"] == "行政审批局"  # edited: kept
    assert a["measures"] == "增开两个窗口" and a["progress"] == "已完成人员培训" and a["status"] == "整改中"
    assert a["grade"] == "B" and a["description"] == "营业执照审批慢（更新）"  # the build's own fields
    assert a["deadline"] == date(2025, 11, 21)  # deadline was never edited: follows the clue
    b = led2.set_index("clue_id").loc["2025-10-A9-bbbbbb"]
    assert b["responsible_unit"] == "政务服务中心" and b["version"] == 2
    fields = {(e["item_id"], e["field"]) for e in ev2}
    assert ("2025-10-A1-aaaaaa", "responsible_unit") not in fields
    assert ("2025-10-A1-aaaaaa", "grade") in fields
    # Same clues again: nothing changes, no events.
    led3, ev3 = merge_clues_into_ledger(led2, clues, datetime(2025, 11, 5))
    assert ev3 == []
    pd.testing.assert_frame_equal(led2, led3)


def test_orphaned_items_are_kept_and_reported():
    led = _ledger()
    clues = _clues().iloc[:1]
    led2, _ = merge_clues_into_ledger(led, clues, NOW)
    assert len(led2) == 2
    assert orphaned_items(led2, clues) == ["2025-10-A9-bbbbbb"]


# --------------------------------------------------------------------------- department edits


def test_full_lifecycle_with_followups():
    cfg = load_clue_config()
    led = _ledger()
    cid = "2025-10-A1-aaaaaa"
    steps = [
        dict(status="整改中", measures="增开窗口"),
        dict(status="已整改待回访", progress="窗口已增开"),
        dict(followup="不满意"),  # → 重新交办 automatically, new deadline by grade
        dict(status="整改中"),
        dict(status="已整改待回访"),
        dict(status="已销号", followup="满意"),
    ]
    all_events = []
    for k, s in enumerate(steps):
        now = datetime(2025, 11, 3 + k, 10)
        led, ev, err = apply_department_edits(led, _edit(led, cid, **s), "王**", now, cfg=cfg)
        assert err == [], (k, err)
        all_events += ev
    item = led.set_index("clue_id").loc[cid]
    assert item["status"] == "已销号" and item["followup"] == "满意"
    assert item["closed_at"] == datetime(2025, 11, 8, 10)
    assert item["version"] == 7
    statuses = [(e["from_value"], e["to_value"]) for e in all_events if e["field"] == "status"]
    assert statuses == [("待交办", "整改中"), ("整改中", "已整改待回访"), ("已整改待回访", "重新交办"),
                        ("重新交办", "整改中"), ("整改中", "已整改待回访"), ("已整改待回访", "已销号")]
    redo = [e for e in all_events if e["field"] == "deadline"]
    assert redo and redo[0]["to_value"] == "2025-12-05"  # grade A: one month from 2025-11-05
    assert all(e["who"] == "王**" for e in all_events)


def test_illegal_close_is_refused_naming_the_row():
    led = _ledger()
    cid = "2025-10-A1-aaaaaa"
    edits = _edit(led, cid, row=7, status="已销号", measures="已处理")
    led2, ev, err = apply_department_edits(led, edits, "李**", NOW)
    assert ev == []
    assert len(err) == 1 and err[0]["row"] == 7 and err[0]["clue_id"] == cid
    assert "第7行" in err[0]["error"] and cid in err[0]["error"] and "已销号" in err[0]["error"]
    # The whole row is refused: the measures were not applied either.
    assert pd.isna(led2.set_index("clue_id").loc[cid, "measures"])


def test_conflict_by_version_is_reported_not_applied():
    led = _ledger()
    cid = "2025-10-A9-bbbbbb"
    stale = _edit(led, cid, row=4, progress="第一版进展")
    led, _, err = apply_department_edits(led, _edit(led, cid, progress="他人先改"), "甲", NOW)
    assert err == []
    led2, ev, err = apply_department_edits(led, stale, "乙", NOW)
    assert ev == [] and len(err) == 1
    assert "第4行" in err[0]["error"] and "版本" in err[0]["error"]
    assert led2.set_index("clue_id").loc[cid, "progress"] == "他人先改"


def test_unknown_id_missing_version_and_bad_values_are_errors():
    led = _ledger()
    edits = pd.DataFrame([
        {"excel_row": 3, "clue_id": "2025-10-A5-ffffff", "version": 1, "progress": "x"},
        {"excel_row": 4, "clue_id": "2025-10-A1-aaaaaa", "progress": "y"},
        {"excel_row": 5, "clue_id": "2025-10-A1-aaaaaa", "version": 1, "deadline": "下周"},
        {"excel_row": 6, "clue_id": "2025-10-A1-aaaaaa", "version": 1, "followup": "很好"},
        {"excel_row": 7, "clue_id": "2025-10-A9-bbbbbb", "version": 1, "progress": ""},  # unchanged
    ])
    _, ev, err = apply_department_edits(led, edits, "x", NOW)
    assert [e["row"] for e in err] == [3, 4, 5, 6]
    assert "没有这个线索编号" in err[0]["error"]
    assert "版本号" in err[1]["error"]
    assert "整改时限" in err[2]["error"]
    assert "回访结果" in err[3]["error"]
    assert ev == []


def test_deadline_edit_and_overdue_flag():
    led = _ledger()
    cid = "2025-10-A9-bbbbbb"
    led, ev, err = apply_department_edits(led, _edit(led, cid, deadline="2025/11/14"), "x", NOW)
    assert err == [] and ev[0]["to_value"] == "2025-11-14"
    led = flag_overdue(led, date(2025, 11, 17))
    assert led.set_index("clue_id").loc[cid, "overdue"]
    # Edited deadline is kept on rebuild.
    led2, _ = merge_clues_into_ledger(led, _clues(), NOW)
    assert led2.set_index("clue_id").loc[cid, "deadline"] == date(2025, 11, 14)
    # Rectified items are not overdue.
    led3, _, _ = apply_department_edits(led2, _edit(led2, cid, status="已整改待回访"), "x", NOW)
    assert not flag_overdue(led3, date(2025, 11, 17)).set_index("clue_id").loc[cid, "overdue"]


# --------------------------------------------------------------------------- found by a red-team run


def test_same_file_twice_and_rows_left_alone_are_not_conflicts():
    """Importing the same sheet again changes nothing and refuses nothing; a row a department left as
    exported (its 导出校验 fingerprint matches) is skipped even though another department has moved
    the item on since."""
    from pipeline.ledger_rules import edit_fingerprint

    led = _ledger()
    cid = "2025-10-A9-bbbbbb"
    cur = led.set_index("clue_id").loc[cid].to_dict()
    exported = {**cur, "excel_row": 4, "clue_id": cid, "export_hash": edit_fingerprint(cur)}
    first = _edit(led, cid, progress="已增开窗口")
    led, ev, err = apply_department_edits(led, first, "甲", NOW)
    assert len(ev) == 1 and err == []
    led, ev, err = apply_department_edits(led, first, "甲", NOW)  # the same file again
    assert ev == [] and err == []
    # another department's sheet, exported before 甲's import, with this row untouched
    led, ev, err = apply_department_edits(led, pd.DataFrame([exported]), "乙", NOW)
    assert ev == [] and err == []
    # … and the same stale row, edited: a conflict, named
    edited = {**exported, "measures": "乙的措施"}
    _, ev, err = apply_department_edits(led, pd.DataFrame([edited]), "乙", NOW)
    assert ev == [] and len(err) == 1 and "整改措施" in err[0]["error"] and "版本" in err[0]["error"]


def test_followup_belongs_to_a_finished_rectification():
    cfg = load_clue_config()
    led = _ledger()
    cid = "2025-10-A1-aaaaaa"
    _, ev, err = apply_department_edits(led, _edit(led, cid, followup="满意"), "甲", NOW, cfg=cfg)
    assert ev == [] and "已整改待回访" in err[0]["error"]  # 待交办: nothing to follow up yet
    steps = [dict(status="整改中"), dict(status="已整改待回访"), dict(followup="不满意"),  # → 重新交办
             dict(status="整改中"), dict(status="已整改待回访"), dict(followup="不满意")]   # second round
    for k, s in enumerate(steps):
        led, ev, err = apply_department_edits(led, _edit(led, cid, **s), "甲", datetime(2025, 11, 4 + k), cfg=cfg)
        assert err == [], (k, err)
    item = led.set_index("clue_id").loc[cid]
    assert item["status"] == "重新交办"  # the second 不满意 counted: it is not "the same value as before"
    _, ev, err = apply_department_edits(led, _edit(led, cid, status="已整改待回访", followup=None), "甲", NOW, cfg=cfg)
    assert err == []


def test_closed_items_error_values_and_yearless_deadlines_are_refused():
    led = _ledger()
    cid = "2025-10-A1-aaaaaa"
    for s in (dict(status="整改中"), dict(status="已整改待回访"), dict(status="已销号", followup="满意")):
        led, _, err = apply_department_edits(led, _edit(led, cid, **s), "甲", NOW)
        assert err == []
    _, ev, err = apply_department_edits(led, _edit(led, cid, responsible_unit="另一个局"), "甲", NOW)
    assert ev == [] and "已销号" in err[0]["error"]
    other = "2025-10-A9-bbbbbb"
    cases = {"#NAME?": "错误值", "11月5日": "年份", "5/12/2026": "年份", "1970-01-01": "年份"}
    for value, words in cases.items():
        field = "measures" if value.startswith("#") else "deadline"
        _, ev, err = apply_department_edits(led, _edit(led, other, **{field: value}), "甲", NOW)
        assert ev == [] and words in err[0]["error"], (value, err)
    for value, want in {"2026年1月5日": date(2026, 1, 5), "20260105": date(2026, 1, 5), 46027: date(2026, 1, 5),
                        "2026/1/5": date(2026, 1, 5)}.items():
        out, _, err = apply_department_edits(led, _edit(led, other, deadline=value), "甲", NOW)
        assert err == [] and out.set_index("clue_id").loc[other, "deadline"] == want, value
