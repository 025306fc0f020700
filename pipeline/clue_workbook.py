"""Excel workbooks of the problem-clue list (问题线索清单) and the ledger (问题台账).

* :func:`write_clue_workbook` — the monthly list for department leads: a summary sheet (汇总), one
  sheet per indicator area with the columns officials expect, and 线索明细 with every member of
  every clue (one row each).
* :func:`write_ledger_workbook` / :func:`read_ledger_workbook` — round trip of the ledger with the
  departments (``yingshang ledger export`` / ``import``). The reader also reads a returned monthly
  clue workbook: both share the per-area sheet layout, and columns are found by their header.

Safety: every text cell is written with ``write_string`` (XlsxWriter never turns it into a formula)
and text beginning with ``= + - @``, tab or CR additionally gets Excel's quote-prefix style (the
apostrophe a person would type), so it stays text when edited in Excel. For CSV, where no style
exists, use :func:`csv_safe` / :func:`write_csv_safe`, which prefix such text with an apostrophe.
The files depend only on their inputs (fixed document dates), so rebuilding gives the same bytes.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from pipeline.clues import SOURCE_NAMES_ZH, SOURCE_ORDER
from pipeline.ledger_rules import (
    EDITABLE_FIELDS,
    FIELD_NAMES_ZH,
    FOLLOWUPS,
    ROW_CHECK_FIELDS,
    STATUSES,
    edit_fingerprint,
    row_check,
)
from pipeline.readers import unescape_ooxml
from pipeline.validate import echo

SUMMARY_SHEET = "汇总"
DETAIL_SHEET = "线索明细"
NOTE_SHEET = "填表说明"

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

# Per-area sheet: (header, field, width, kind). kind: text | int | float | date | wrap | edit | edit_date
AREA_COLUMNS: list[tuple[str, str, float, str]] = [
    ("序号", "_seq", 6, "int"),
    ("线索编号", "clue_id", 22, "text"),
    ("月份", "month", 9, "text"),
    ("指标领域", "area_label", 14, "text"),
    ("问题标题", "title", 20, "wrap"),
    ("问题描述", "description", 48, "wrap"),
    ("反映件数", "n_items", 9, "int"),
    ("涉及企业数", "n_entities", 10, "int"),
    ("来源", "sources_zh", 22, "wrap"),
    ("首次发现", "first_seen", 12, "date"),
    ("最近发现", "last_seen", 12, "date"),
    ("热度", "heat", 8, "float"),
    ("分级", "grade", 6, "text"),
    ("反复出现", "recurring_zh", 9, "text"),
    ("上月线索编号", "previous_clue_id", 22, "text"),
    ("责任单位", "responsible_unit", 18, "edit"),
    # hidden, inside the yellow block: the row's id travels with the yellow cells when a department
    # sorts or pastes only them (selecting 责任单位:回访结果 takes this column along), so yellow cells
    # that moved to another item's row are seen on import (the 行校验 below stays with the id)
    ("编号校验", "yellow_check", 10, "hidden"),
    ("整改时限", "deadline", 12, "edit_date"),
    ("整改措施", "measures", 30, "edit"),
    ("整改进展", "progress", 30, "edit"),
    ("状态", "status", 13, "edit"),
    ("回访结果", "followup", 10, "edit"),
    ("是否超期", "overdue_zh", 9, "text"),
    ("版本", "version", 6, "int"),
    # hidden: the people-owned fields as exported (ledger_rules.edit_fingerprint), so that an import
    # can tell a row the department left alone from one it edited
    ("导出校验", "export_hash", 14, "hidden"),
    # hidden: which item this row was exported for, and its system-owned text (ledger_rules.row_check):
    # an id overtyped with another item's, or a retyped 问题标题/分级, is seen on import
    ("行校验", "row_check", 18, "hidden"),
]
# Header → ledger field, for reading back (aliases accepted: people retype headers).
HEADER_FIELDS = {
    "线索编号": "clue_id", "台账编号": "item_id", "责任单位": "responsible_unit", "整改时限": "deadline",
    "整改措施": "measures", "整改进展": "progress", "状态": "status", "回访结果": "followup",
    "回访情况": "followup", "版本": "version", "版本号": "version", "更新时间": "updated_at",
    "指标领域": "area_label", "问题标题": "title", "月份": "month", "导出校验": "export_hash",
    "行校验": "row_check", "编号校验": "yellow_check", "问题描述": "description", "分级": "grade",
    # what people retype the headers as
    "当前状态": "status", "整改状态": "status", "办理状态": "status", "整改期限": "deadline", "完成时限": "deadline",
    "整改时间": "deadline", "责任部门": "responsible_unit", "牵头单位": "responsible_unit", "整改单位": "responsible_unit",
    "整改举措": "measures", "整改情况": "progress", "进展情况": "progress", "回访": "followup", "回访意见": "followup",
    "编号": "clue_id", "线索号": "clue_id",
    # (ledger red team 2: the wording of other ledgers, and the headers translated)
    "落实情况": "progress", "完成情况": "progress", "推进情况": "progress", "工作进展": "progress", "整改进度": "progress",
    "进度": "progress", "完成时间": "deadline", "截止时间": "deadline", "截止日期": "deadline", "完成期限": "deadline",
    "办结时限": "deadline", "满意度": "followup", "回访满意度": "followup", "回访评价": "followup", "群众满意度": "followup",
    "整改方案": "measures", "工作措施": "measures", "具体措施": "measures", "处置措施": "measures",
    "牵头部门": "responsible_unit", "责任科室": "responsible_unit", "承办单位": "responsible_unit",
    "clueid": "clue_id", "clueno": "clue_id", "clueno.": "clue_id", "responsibleunit": "responsible_unit",
    "department": "responsible_unit", "deadline": "deadline", "measures": "measures",
    "rectificationmeasures": "measures", "progress": "progress", "status": "status", "follow-up": "followup",
    "followup": "followup", "feedback": "followup",
}
# A header that is none of the above but reads like an editable column: its edits would be lost, so the
# import refuses the sheet's edits and names it (a note only for 备注-like columns).
_EDIT_LIKE = re.compile(r"责任|单位|时限|期限|措施|举措|方案|进展|进度|情况|落实|完成|状态|回访|满意|评价|编号|时间|日期"
                        r"|(?i:unit|dept|department|deadline|measure|progress|status|feedback|follow)")


def _header_key(name: str) -> str:
    """A header as people leave it, compared loosely: no spaces or line breaks, no （必填）-style notes,
    Latin letters in lower case (Responsible unit → responsibleunit)."""
    name = re.sub(r"\s+", "", name)
    name = re.sub(r"[（(【\[][^）)】\]]*[）)】\]]", "", name)
    return name.lower() if name.isascii() else name
DETAIL_COLUMNS = [("线索编号", 22), ("来源", 14), ("原始编号", 20), ("时间", 17), ("指标领域", 14),
                  ("反映内容（已脱敏）", 80), ("来源名称", 16)]


# --------------------------------------------------------------------------- safety helpers


def needs_text_guard(value: str) -> bool:
    """True if ``value`` would be read as a formula by a spreadsheet (= + - @ tab CR at the start)."""
    return isinstance(value, str) and value.startswith(_DANGEROUS)


def csv_safe(value: Any) -> Any:
    """For CSV output: prefix formula-looking text with an apostrophe (OWASP CSV injection advice)."""
    if isinstance(value, str) and needs_text_guard(value):
        return "'" + value
    return value


def write_csv_safe(df: pd.DataFrame, path: str | Path, **kwargs: Any) -> None:
    """Write ``df`` as UTF-8 (with BOM, for Excel) CSV with every text cell passed through :func:`csv_safe`.

    Lines end in CRLF (Excel's own CSV line end): the csv module then quotes every field holding a CR
    or an LF, so a text with a bare CR (回车) stays in its cell instead of splitting the row.
    """
    safe = df.copy()
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = safe[col].map(csv_safe)
    kwargs.setdefault("lineterminator", "\r\n")
    safe.to_csv(path, index=False, encoding=kwargs.pop("encoding", "utf-8-sig"), **kwargs)


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, (list, tuple, dict)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _sheet_name(code: str, name: str, used: set[str]) -> str:
    raw = re.sub(r"[\[\]:*?/\\]", "", f"{code} {name}".strip())[:31] or code
    out, k = raw, 2
    while out in used or out in (SUMMARY_SHEET, DETAIL_SHEET, NOTE_SHEET):
        out = f"{raw[:28]}({k})"
        k += 1
    used.add(out)
    return out


class _Writer:
    """Typed, injection-safe cell writing on top of XlsxWriter."""

    def __init__(self, path: str | Path, stamp: datetime):
        self.wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                                  "strings_to_numbers": False})
        # Fixed document dates: the same inputs give the same file.
        self.wb.set_properties({"title": "问题线索清单", "author": "yingshang", "created": stamp})
        f = self.wb.add_format
        base = {"font_name": "宋体", "font_size": 10, "valign": "top"}
        self.fmt = {
            "header": f({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                         "valign": "vcenter", "align": "center"}),
            "text": f({**base}),
            "wrap": f({**base, "text_wrap": True}),
            "int": f({**base, "num_format": "0"}),
            "float": f({**base, "num_format": "0.0"}),
            "date": f({**base, "num_format": "yyyy-mm-dd"}),
            "datetime": f({**base, "num_format": "yyyy-mm-dd hh:mm"}),
            "edit": f({**base, "text_wrap": True, "bg_color": "#FFF2CC"}),
            "edit_date": f({**base, "num_format": "yyyy-mm-dd", "bg_color": "#FFF2CC"}),
            "title": f({"font_name": "黑体", "font_size": 14, "bold": True}),
        }
        self._guarded: dict[str, Any] = {}

    def _guard(self, kind: str) -> Any:
        # Same look, plus the quote prefix (Excel's stored apostrophe): the cell stays text.
        if kind not in self._guarded:
            props = {"font_name": "宋体", "font_size": 10, "valign": "top", "quote_prefix": True}
            if kind in ("wrap", "edit"):
                props["text_wrap"] = True
            if kind.startswith("edit"):
                props["bg_color"] = "#FFF2CC"
            self._guarded[kind] = self.wb.add_format(props)
        return self._guarded[kind]

    def cell(self, ws: Any, r: int, c: int, value: Any, kind: str = "text") -> None:
        if _blank(value):
            fmt = self.fmt["edit"] if kind.startswith("edit") else None
            ws.write_blank(r, c, None, fmt)
            return
        if kind in ("date", "edit_date", "datetime"):
            ts = pd.Timestamp(value)
            fmt = self.fmt["datetime" if kind == "datetime" else kind]
            ws.write_datetime(r, c, ts.to_pydatetime().replace(tzinfo=None), fmt)
            return
        if kind in ("int", "float") and isinstance(value, (int, float)) and not isinstance(value, bool):
            ws.write_number(r, c, float(value), self.fmt[kind])
            return
        text = str(value)
        fmt = self._guard(kind) if needs_text_guard(text) else self.fmt.get(kind, self.fmt["text"])
        ws.write_string(r, c, text, fmt)

    def close(self) -> None:
        self.wb.close()


# --------------------------------------------------------------------------- rows


def _area_labels(areas: Iterable[dict]) -> dict[str, str]:
    return {str(a["code"]): f"{a['code']} {a.get('name_zh', '')}".strip() for a in areas}


def _sources_zh(sources: Any) -> str:
    # (a ledger item whose clue vanished on a rebuild has no sources: NaN, which is truthy, printed 'nan')
    items = [s for s in ("" if _blank(sources) else str(sources)).split(",") if s]
    return "、".join(SOURCE_NAMES_ZH.get(s, s) for s in items)


def _area_rows(clues: pd.DataFrame | None, ledger: pd.DataFrame | None, labels: dict[str, str]) -> pd.DataFrame:
    """One row per clue/ledger item with every per-area column; ledger fields win over the clue's."""
    people = ["responsible_unit", "deadline", "measures", "progress", "status", "followup", "overdue", "version"]
    if clues is not None and len(clues):
        rows = clues.copy()
        if ledger is not None and len(ledger):
            led = ledger.drop_duplicates("clue_id").set_index("clue_id")
            for f in people:
                if f in led.columns:
                    vals = rows["clue_id"].map(led[f])
                    rows[f] = vals.where(rows["clue_id"].isin(led.index), rows.get(f))
    elif ledger is not None and len(ledger):
        rows = ledger.copy()
    else:
        return pd.DataFrame(columns=[f for _, f, _, _ in AREA_COLUMNS] + ["area"])
    for f in [f for _, f, _, _ in AREA_COLUMNS] + people:
        if f not in rows.columns:
            rows[f] = None
    rows["status"] = rows["status"].where(rows["status"].notna(), "待交办")
    rows["area_label"] = rows["area"].map(lambda a: labels.get(str(a), str(a)))
    rows["sources_zh"] = rows["sources"].map(_sources_zh) if "sources" in rows.columns else None
    rows["recurring_zh"] = rows["recurring"].map(lambda v: "是" if v is True or v == 1 else "否") \
        if "recurring" in rows.columns else None
    rows["overdue_zh"] = rows["overdue"].map(lambda v: "是" if v is True or v == 1 else "否")
    rows["export_hash"] = [edit_fingerprint(r) for r in rows[list(EDITABLE_FIELDS)].to_dict("records")]
    rows["row_check"] = [row_check(r) for r in rows[["clue_id", *ROW_CHECK_FIELDS]].to_dict("records")]
    rows["yellow_check"] = [row_check({"clue_id": c})[:8] for c in rows["clue_id"]]
    return rows


def _write_area_sheet(w: _Writer, ws: Any, rows: pd.DataFrame) -> None:
    cols = AREA_COLUMNS
    for c, (head, _, width, kind) in enumerate(cols):
        ws.write_string(0, c, head, w.fmt["header"])
        ws.set_column(c, c, width, None, {"hidden": True} if kind == "hidden" else None)
    ws.set_row(0, 30)
    ws.freeze_panes(1, 2)  # header row and the id columns stay visible
    for r, rec in enumerate(rows.to_dict("records"), start=1):
        for c, (_, field, _, kind) in enumerate(cols):
            value = r if field == "_seq" else rec.get(field)
            w.cell(ws, r, c, value, kind)
    last = max(len(rows), 1)
    status_col = next(i for i, c in enumerate(cols) if c[1] == "status")
    follow_col = next(i for i, c in enumerate(cols) if c[1] == "followup")
    ws.data_validation(1, status_col, last, status_col, {
        "validate": "list", "source": list(STATUSES),
        "input_title": "状态", "input_message": "待交办→整改中→已整改待回访→已销号；回访不满意→重新交办",
        "error_title": "状态无效", "error_message": "请从下拉列表中选择状态",
    })
    ws.data_validation(1, follow_col, last, follow_col, {
        "validate": "list", "source": list(FOLLOWUPS),
        "error_title": "回访结果无效", "error_message": "请选择 满意 / 基本满意 / 不满意",
    })
    ws.autofilter(0, 0, last, len(cols) - 1)


def _write_note_sheet(w: _Writer) -> None:
    ws = w.wb.add_worksheet(NOTE_SHEET)
    ws.set_column(0, 0, 100)
    lines = [
        "填表说明",
        "1. 黄色列（责任单位、整改时限、整改措施、整改进展、状态、回访结果）由责任单位填写，其他列请勿修改。",
        "2. 状态流转：待交办 → 整改中 → 已整改待回访 → 已销号；回访不满意的条目重新交办。",
        "3. 销号须经回访，且回访结果为「满意」或「基本满意」。",
        "4. 「版本」列用于防止覆盖他人的修改，请勿改动；导入时版本落后而又改动过的行会被退回并说明原因"
        "（未改动的行不受影响，同一文件重复导入不会出错）。",
        "5. 空白单元格视为「不修改」。",
        "6. 回访结果在整改完成（已整改待回访）之后填写；重新交办后须重新回访。已销号的条目不能再修改。",
        "7. 整改时限请写带年份的日期，如 2026-11-20 或 2026年11月20日。",
        "8. 请勿删除「线索编号」列；新发现的问题请通过12345热线或特邀监督员渠道反映，不要在本表中加行。",
        "9. 排序或粘贴请整行进行：只对黄色列排序、或从另一份表粘贴黄色列的行，导入时会按行退回（以免把修改记到别的条目上）。",
    ]
    for r, text in enumerate(lines):
        w.cell(ws, r, 0, text, "wrap")
    ws.set_row(0, 20, w.fmt["title"])


def _stamp(month: str | None) -> datetime:
    if month:
        return datetime.fromisoformat(f"{month}-01T00:00:00")
    return datetime(2000, 1, 1)


def _areas_in_order(areas: list[dict], rows: pd.DataFrame) -> list[dict]:
    known = [str(a["code"]) for a in areas]
    extra = sorted(set(map(str, rows["area"].dropna())) - set(known)) if len(rows) else []
    return list(areas) + [{"code": c, "name_zh": ""} for c in extra]


def _sort_rows(rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return rows
    keys = [k for k in ("month", "heat", "clue_id") if k in rows.columns]
    asc = [k != "heat" for k in keys]
    if "month" in keys:
        asc[keys.index("month")] = False  # newest month first in the ledger
    return rows.sort_values(keys, ascending=asc, kind="stable")


# --------------------------------------------------------------------------- public


def write_clue_workbook(path: str | Path, month: str, clues: pd.DataFrame, members: pd.DataFrame,
                        ledger: pd.DataFrame | None, areas: list[dict]) -> None:
    """Write the month's 问题线索清单: 汇总, one sheet per area, 线索明细 and 填表说明."""
    labels = _area_labels(areas)
    rows = _area_rows(clues, ledger, labels)
    if ledger is not None and len(ledger) and len(clues):
        # Items a rebuild no longer produces a clue for (their complaints went to other clues) but that
        # people are working on: they stay on the list the department works through, marked as such.
        gone = ledger[~ledger["clue_id"].astype(str).isin(set(clues["clue_id"].astype(str)))]
        worked = gone[(gone["status"] != "已销号") & ((gone["status"] != "待交办")
                                                     | gone["edited_fields"].map(lambda v: bool(v) if isinstance(v, list) else not _blank(v)))]
        if len(worked):
            extra = _area_rows(None, worked, labels)
            extra["sources_zh"] = "（重建后其投诉已归入其他线索）"
            rows = pd.concat([rows, extra[rows.columns.intersection(extra.columns)]], ignore_index=True)
    w = _Writer(path, _stamp(month))
    ws_sum = w.wb.add_worksheet(SUMMARY_SHEET)
    area_list = _areas_in_order(areas, rows)
    sheet_of = _write_area_sheets(w, rows, area_list)
    _write_summary(w, ws_sum, month, rows, area_list, labels, sheet_of)
    _write_detail(w, members, labels)
    _write_note_sheet(w)
    w.close()


def _write_area_sheets(w: _Writer, rows: pd.DataFrame, area_list: list[dict]) -> dict[str, str]:
    """One sheet per area (in taxonomy order) with its rows; returns area code → sheet name."""
    used: set[str] = set()
    sheet_of: dict[str, str] = {}
    for a in area_list:
        code = str(a["code"])
        sheet_of[code] = _sheet_name(code, str(a.get("name_zh", "")), used)
        ws = w.wb.add_worksheet(sheet_of[code])
        sub = rows[rows["area"].astype(str) == code] if len(rows) else rows
        _write_area_sheet(w, ws, _sort_rows(sub))
    return sheet_of


def _write_summary(w: _Writer, ws: Any, month: str, rows: pd.DataFrame, area_list: list[dict],
                   labels: dict[str, str], sheet_of: dict[str, str]) -> None:
    ws.write_string(0, 0, f"{month} 营商环境问题线索清单（汇总）", w.fmt["title"])
    heads = ["指标领域", "牵头单位", "线索数", "反映件数", "A级", "B级", "C级", "反复出现", "已销号", "超期",
             "最热线索", "工作表"]
    widths = [16, 22, 8, 9, 6, 6, 6, 9, 8, 6, 40, 18]
    hr = 2
    for c, (h, wd) in enumerate(zip(heads, widths, strict=True)):
        ws.write_string(hr, c, h, w.fmt["header"])
        ws.set_column(c, c, wd)
    ws.freeze_panes(hr + 1, 0)
    totals = [0] * 8
    r = hr
    for a in area_list:
        code = str(a["code"])
        sub = rows[rows["area"].astype(str) == code] if len(rows) else rows
        n_items = int(pd.to_numeric(sub.get("n_items"), errors="coerce").fillna(0).sum()) if len(sub) else 0
        grades = sub["grade"].value_counts() if len(sub) else pd.Series(dtype=int)
        rec = sub["recurring_zh"].eq("是").sum() if len(sub) else 0
        closed = sub["status"].eq("已销号").sum() if len(sub) else 0
        over = sub["overdue_zh"].eq("是").sum() if len(sub) else 0
        top = ""
        if len(sub) and "heat" in sub.columns:
            t = sub.sort_values(["heat", "clue_id"], ascending=[False, True]).iloc[0]
            top = f"{t['title']}（{t['clue_id']}）"
        vals = [len(sub), n_items, int(grades.get("A", 0)), int(grades.get("B", 0)), int(grades.get("C", 0)),
                int(rec), int(closed), int(over)]
        totals = [x + y for x, y in zip(totals, vals, strict=True)]
        r += 1
        w.cell(ws, r, 0, labels.get(code, code))
        w.cell(ws, r, 1, a.get("lead_unit") or "")
        for k, v in enumerate(vals):
            w.cell(ws, r, 2 + k, v, "int")
        w.cell(ws, r, 10, top, "wrap")
        w.cell(ws, r, 11, sheet_of.get(code, ""))
    r += 1
    w.cell(ws, r, 0, "合计")
    for k, v in enumerate(totals):
        w.cell(ws, r, 2 + k, v, "int")
    r += 2
    notes = [
        "热度（0–100）：反映量（按来源加权）、涉及企业数、负面程度、较上月增长、特邀监督员反映，加权合成。",
        "分级：A级（重大/系统性，整改时限一个月）、B级（较重要，15个工作日）、C级（一般，5个工作日）；"
        "工作日按国家法定节假日及调休安排计算。",
    ]
    for n in notes:
        w.cell(ws, r, 0, n)
        r += 1


def _write_detail(w: _Writer, members: pd.DataFrame | None, labels: dict[str, str]) -> None:
    ws = w.wb.add_worksheet(DETAIL_SHEET)
    for c, (h, wd) in enumerate(DETAIL_COLUMNS):
        ws.write_string(0, c, h, w.fmt["header"])
        ws.set_column(c, c, wd)
    ws.freeze_panes(1, 1)
    if members is None or members.empty:
        return
    src_rank = {s: i for i, s in enumerate(SOURCE_ORDER)}
    m = members.copy()
    m["_t"] = pd.to_datetime(m["received_at"], errors="coerce")
    m["_s"] = m["source"].map(lambda s: src_rank.get(s, 99))
    m = m.sort_values(["clue_id", "_t", "_s", "feedback_id"], kind="stable", na_position="last")
    for r, rec in enumerate(m.to_dict("records"), start=1):
        w.cell(ws, r, 0, rec["clue_id"])
        w.cell(ws, r, 1, rec.get("source"))
        w.cell(ws, r, 2, rec.get("source_record_id"))
        w.cell(ws, r, 3, rec.get("_t"), "datetime")
        w.cell(ws, r, 4, labels.get(str(rec.get("area")), rec.get("area")))
        w.cell(ws, r, 5, rec.get("text"), "wrap")
        w.cell(ws, r, 6, SOURCE_NAMES_ZH.get(rec.get("source"), rec.get("source")))
    ws.autofilter(0, 0, len(m), len(DETAIL_COLUMNS) - 1)


def write_ledger_workbook(path: str | Path, ledger: pd.DataFrame, areas: list[dict],
                          clues: pd.DataFrame | None = None) -> None:
    """Write the whole ledger (问题台账) for the departments: 汇总, one sheet per area, 填表说明.

    ``clues`` (optional, all months) adds counts, sources, first/last seen and heat to each item.
    """
    labels = _area_labels(areas)
    led = ledger.copy()
    if clues is not None and len(clues):
        extra = [c for c in ("n_items", "n_entities", "sources", "first_seen", "last_seen", "heat",
                             "recurring", "previous_clue_id") if c in clues.columns and c not in led.columns]
        led = led.merge(clues[["clue_id", *extra]].drop_duplicates("clue_id"), on="clue_id", how="left")
    rows = _area_rows(None, led, labels)
    if clues is not None and len(clues) and len(rows):
        # An item whose clue a rebuild no longer produces says so (its complaints went to other clues).
        built = set(map(str, clues["month"]))
        gone = rows["month"].astype(str).isin(built) & ~rows["clue_id"].astype(str).isin(set(clues["clue_id"].astype(str)))
        rows.loc[gone, "sources_zh"] = "（重建后其投诉已归入其他线索）"
    months = sorted(set(map(str, rows["month"].dropna()))) if len(rows) else []
    w = _Writer(path, _stamp(months[-1] if months else None))
    ws_sum = w.wb.add_worksheet(SUMMARY_SHEET)
    area_list = _areas_in_order(areas, rows)
    sheet_of = _write_area_sheets(w, rows, area_list)
    span = f"{months[0]}—{months[-1]}" if months else ""
    _write_summary(w, ws_sum, f"问题台账 {span}".strip(), rows, area_list, labels, sheet_of)
    _write_note_sheet(w)
    w.close()


# Our own sheets without ledger rows: skipped without a word when they hold no 线索编号 header.
_OWN_SHEETS = (SUMMARY_SHEET, DETAIL_SHEET, NOTE_SHEET)
_MAX_COLUMNS = 200  # columns read from a sheet (ours has 27); a stray cell at XFD1048576 is ignored
_MAX_ROW_PROBLEMS = 100  # rows without an id reported one by one per sheet; the rest are counted
_MAX_SHEET_XML = 64 << 20  # a sheet part bigger than this is no ledger (a column filled to row 1048576)
_TEXT_FIELDS = ("responsible_unit", "measures", "progress", "status", "followup")
_FORMAT_CHARS = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")  # zero-width and other invisible marks


def _sparse_grid(ws: Any) -> tuple[list[tuple[int, list[Any]]], dict[tuple[int, int], Any]]:
    """The sheet's rows that hold a value, as ``(row number, values)``, from the cells that exist.

    ``ws.iter_rows`` walks the whole max_row × max_column rectangle and creates a cell for every
    coordinate: one stray value at XFD1048576 in a 190 KB file took 24 GB, and one at GR1048576 still
    built a million empty rows. The cells the file holds are in ``ws._cells`` (openpyxl's store,
    stable since 2.x); only rows holding a value are returned, each as wide as the widest of the first
    ten rows plus 20 columns (the header and what a department adds beside it). Merged cells count for
    every cell they cover.
    """
    values: dict[tuple[int, int], Any] = {}
    for (r, c), cell in ws._cells.items():
        if c <= _MAX_COLUMNS and cell.value is not None and cell.value != "":
            values[(r, c)] = cell.value
    for rng in ws.merged_cells.ranges:  # a merged 责任单位 over rows 3–5 is meant for all three
        top = values.get((rng.min_row, rng.min_col))
        if top is None or (rng.max_row - rng.min_row + 1) * (rng.max_col - rng.min_col + 1) > 100_000:
            continue
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, min(rng.max_col, _MAX_COLUMNS) + 1):
                values[(r, c)] = top
    if not values:
        return [], {}
    head = [c for r, c in values if r <= 10]
    width = min(_MAX_COLUMNS, (max(head) if head else 0) + 20)
    by_row: dict[int, list[Any]] = {}
    for (r, c), v in values.items():
        if c <= width:
            by_row.setdefault(r, [None] * width)[c - 1] = v
    return sorted(by_row.items()), values


def _formula_cells(path: str | Path) -> dict[str, dict[tuple[int, int], str]]:
    """Per sheet, the cells holding a formula (=1+1), read without cached values."""
    with warnings.catch_warnings():  # (openpyxl's warnings were said twice, and onto --json's stderr)
        warnings.simplefilter("ignore")
        wb = load_workbook(str(path), data_only=False)
    try:
        out: dict[str, dict[tuple[int, int], str]] = {}
        for ws in wb.worksheets:
            out[ws.title] = {k: v.value for k, v in ws._cells.items()
                             if k[1] <= _MAX_COLUMNS and v.data_type == "f" and isinstance(v.value, str)}
        return out
    finally:
        wb.close()


def _cell_as_text(v: Any, number_format: str | None) -> Any:
    """A value typed into a text column as the department saw it: 0.5 formatted as % is '50%', a date
    is 2026-11-05, 3.0 is '3'. (Numbers and dates could not be stored in these text columns.)"""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d") if v.time() == datetime.min.time() else v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (int, float)):
        if number_format and "%" in number_format:
            return f"{v * 100:g}%"
        return str(int(v)) if float(v).is_integer() else f"{v:g}"
    return str(v)


def read_ledger_workbook(path: str | Path) -> pd.DataFrame:
    """Read the area sheets of a returned ledger or clue workbook.

    Returns one row per data row with ``sheet``, ``excel_row`` (the row number Excel shows) and the
    ledger fields found by header (clue_id, responsible_unit, deadline, measures, progress, status,
    followup, version, export_hash, row_check …); headers are matched loosely (整改措施（必填）, 当前状态,
    a line break typed into a header). Merged cells count for every row they cover. A sheet is read
    when a 线索编号 header is in its first ten rows, whatever the sheet is called.

    What cannot be taken is listed, never dropped silently. ``df.attrs["problems"]`` (rows refused:
    ``{"row", "sheet", "clue_id", "error"}``): a row with edits but no 线索编号 (a problem typed in by
    hand), a formula cell without a computed value, a sheet with ledger-like columns but no 线索编号.
    ``df.attrs["warnings"]`` (same shape; nothing refused, but something in the file is not taken): a
    column that is not a ledger column but holds text (备注), a second column for one field (整改情况
    beside 整改进展: the exported header wins), a sheet without a 线索编号 header. A workbook with no
    readable sheet at all raises ``ValueError``.
    """
    import zipfile

    has_formulas = True
    try:  # (before openpyxl builds every cell: a column filled to row 1048576 took 2 minutes and 5 GB)
        with zipfile.ZipFile(path) as z:
            sheets = [i for i in z.infolist() if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
            big = [i for i in sheets if i.file_size > _MAX_SHEET_XML]
            # A second read for formulas without cached values only when a sheet holds a formula at all
            # (<f> or <f …>): most returned workbooks hold none.
            if not big:
                has_formulas = any(re.search(rb"<(?:\w+:)?f[ >/]", z.read(i)) for i in sheets)
    except zipfile.BadZipFile:
        big = []  # openpyxl says what the file is
    if big:
        raise ValueError(f"工作表数据有 {big[0].file_size >> 20} MB，远超台账的规模（整列填充到了表格末尾？）："
                         "请删除表格以外的内容后再导入")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wb = load_workbook(str(path), data_only=True)  # (not read-only: merged cells are needed)
    # A number typed into the date-formatted 整改时限 column (20261105) is not a date serial: openpyxl
    # turns it into #VALUE! and says so in a warning, which keeps the number.
    # (The warning names the cell but not its sheet: a coordinate seen with two numbers is left alone.)
    typed: dict[str, set[str]] = {}
    for w in caught:
        m = re.search(r"Cell ([A-Z]+[0-9]+) is marked as a date but the serial value (\S+) is outside", str(w.message))
        if m:
            typed.setdefault(m.group(1), set()).add(m.group(2).removesuffix(".0"))
    typed_numbers = {k: next(iter(v)) for k, v in typed.items() if len(v) == 1}
    formulas: dict[str, dict[tuple[int, int], str]] | None = None
    out: list[dict] = []
    problems: list[dict] = []
    notes: list[dict] = []
    read_sheets = 0

    def problem(sheet: str, row: int | None, msg: str, *, warning: bool = False) -> None:
        (notes if warning else problems).append({"row": row, "sheet": sheet, "clue_id": None, "error": msg})

    try:
        for ws in wb.worksheets:
            rows, present = _sparse_grid(ws)
            header_row, mapping, names = None, {}, []
            for r_idx, values in rows:
                if r_idx > 10:
                    break
                names = [_header_key(unescape_ooxml(str(v))) if v is not None else "" for v in values]
                if "线索编号" in names or "台账编号" in names:
                    header_row = r_idx
                    break
            first = str(rows[0][1][0]) if rows and rows[0][0] == 1 and rows[0][1][0] is not None else ""
            # Our summary and notes, however renamed (总表, 说明): their first cell says what they are.
            own = ws.title in _OWN_SHEETS or first.endswith("（汇总）") or first.startswith(("问题台账", "填表说明"))
            if header_row is None:
                if not own and rows:
                    edit_like = any(_EDIT_LIKE.search(_header_key(str(v))) for r, row in rows if r <= 10 for v in row
                                    if isinstance(v, str))
                    problem(ws.title, None, f"工作表「{ws.title}」的前10行里没有「线索编号」列，整张表未导入"
                            + ("" if edit_like else "（若只是说明或备注，可忽略）"), warning=not edit_like)
                continue
            data_rows = [(r, v) for r, v in rows if r > header_row]
            # Columns: the exported header wins over an alias (整改情况 beside 整改进展); one field, one column.
            by_field: dict[str, list[int]] = {}
            for i, n in enumerate(names):
                if n in HEADER_FIELDS:
                    by_field.setdefault(HEADER_FIELDS[n], []).append(i)
            if not any(f in EDITABLE_FIELDS for f in by_field) and own:
                continue  # 线索明细: a list of clue ids, nothing to edit
            exported = {h: f for h, f, _, _ in AREA_COLUMNS}
            col_has_data = {i: any(i < len(row) and row[i] not in (None, "") for _, row in data_rows)
                            for i in range(len(names))}
            fallback: dict[str, list[int]] = {}  # editable field → its other columns (满意度 beside 回访结果)
            for field, cols in by_field.items():
                preferred = [i for i in cols if exported.get(names[i]) == field] or cols[:1]
                keep = preferred[0]
                mapping[keep] = field
                for i in cols:
                    if i != keep and col_has_data.get(i):
                        if field in EDITABLE_FIELDS:
                            fallback.setdefault(field, []).append(i)  # read where the exported column is empty
                            problem(ws.title, header_row,
                                    f"第{header_row}行（{ws.title}）：列「{names[i]}」也是{FIELD_NAMES_ZH.get(field, field)}："
                                    f"「{names[keep]}」为空的行按「{names[i]}」导入，两列都填且不同的行不导入", warning=True)
                            continue
                        problem(ws.title, header_row,
                                f"第{header_row}行（{ws.title}）：列「{names[i]}」和列「{names[keep]}」都是"
                                f"{FIELD_NAMES_ZH.get(field, field)}，按「{names[keep]}」导入，「{names[i]}」列的内容未导入；"
                                "请把内容填在导出时的列里", warning=True)
            known = set(HEADER_FIELDS) | {h for h, _, _, _ in AREA_COLUMNS}
            for i, n in enumerate(names):
                edit_like = bool(_EDIT_LIKE.search(n))
                if n and n not in known and (edit_like or col_has_data.get(i)):
                    problem(ws.title, header_row,
                            f"第{header_row}行（{ws.title}）：列「{n}」不是台账的列，其中的内容不会导入"
                            + (f"；请使用导出时的列名（{'、'.join(h for h, _, _, k in AREA_COLUMNS if k.startswith('edit'))}）"
                               if edit_like else ""), warning=not edit_like)
            edit_cols = [i for i, f in mapping.items() if f in EDITABLE_FIELDS]
            if not edit_cols:
                continue  # 线索明细 and other lists of clue ids: nothing to edit
            read_sheets += 1
            no_id = moved_rows = 0
            for r_idx, values in data_rows:
                rec: dict[str, Any] = {"sheet": ws.title, "excel_row": r_idx}
                if ws.row_dimensions[r_idx].hidden if r_idx in ws.row_dimensions else False:
                    rec["hidden_row"] = True  # filtered out or hidden: an edit there is refused (ledger_rules)
                bad_formula = None
                def cell_value(i: int, field: str, values: list = values, r_idx: int = r_idx, ws: Any = ws) -> Any:
                    """The cell as the department saw it (typed numbers and dates in text columns as text, a
                    CR typed in Excel — OOXML's _x000D_ — as Excel shows it); None for an empty cell."""
                    v = values[i] if i < len(values) else None
                    if field == "deadline" and v == "#VALUE!":
                        v = typed_numbers.get(f"{get_column_letter(i + 1)}{r_idx}", v)
                    if field in _TEXT_FIELDS and not isinstance(v, str) and v is not None:
                        cell = ws._cells.get((r_idx, i + 1))
                        v = _cell_as_text(v, getattr(cell, "number_format", None))
                    if isinstance(v, str):
                        v = _FORMAT_CHARS.sub("", unescape_ooxml(v)).strip()
                    return None if v == "" else v

                for i, field in mapping.items():
                    if (values[i] if i < len(values) else None) is None and has_formulas and \
                            field in EDITABLE_FIELDS and (r_idx, i + 1) not in present:
                        if formulas is None:
                            formulas = _formula_cells(path)
                        f_text = formulas.get(ws.title, {}).get((r_idx, i + 1))
                        if f_text:
                            bad_formula = (field, f_text)
                    rec[field] = cell_value(i, field)
                key = rec.get("clue_id") or rec.get("item_id")
                clash = None
                for field, cols in fallback.items():
                    for i in cols:
                        v = cell_value(i, field)
                        if v is None:
                            continue
                        if rec.get(field) is None:
                            rec[field] = v  # 满意度 filled, 回访结果 left empty: the department's answer
                        elif str(rec[field]) != str(v):
                            keep = next(k for k, f in mapping.items() if f == field)
                            clash = (f"第{r_idx}行（{ws.title}），线索编号 {key}：列「{names[keep]}」和列「{names[i]}」"
                                     f"都是{FIELD_NAMES_ZH.get(field, field)}，填的内容不同（{echo(rec[field], 20)} / "
                                     f"{echo(v, 20)}），本行未导入；请只在「{names[keep]}」里填写")
                if clash and key:
                    problems.append({"row": r_idx, "sheet": ws.title, "clue_id": str(key), "error": clash})
                    continue
                if bad_formula and key:
                    field, f_text = bad_formula
                    problems.append({"row": r_idx, "sheet": ws.title, "clue_id": str(key),
                                     "error": f"第{r_idx}行（{ws.title}），线索编号 {key}：{FIELD_NAMES_ZH.get(field, field)}是公式"
                                              f"「{f_text[:40]}」，文件里没有它的计算结果，本行未导入；请改为文字"})
                    continue
                check = rec.get("row_check")
                yellow = rec.get("yellow_check")
                if key and isinstance(check, str) and re.fullmatch(r"[a-p]{16}", check) and \
                        row_check({"clue_id": key})[:8] != check[:8] and yellow == row_check({"clue_id": key})[:8]:
                    # The id and the yellow block moved together (编号校验 agrees) and only the hidden columns at
                    # the far right stayed behind: the table was sorted with a selection that stopped at 版本
                    # (A→X). The row is the item its id says; its stale hidden checks are not used.
                    rec["row_check"] = rec["export_hash"] = check = None
                    moved_rows += 1
                if key and isinstance(check, str) and re.fullmatch(r"[a-p]{16}", check):
                    if row_check({"clue_id": key})[:8] != check[:8]:
                        problems.append({"row": r_idx, "sheet": ws.title, "clue_id": str(key),
                                         "error": f"第{r_idx}行（{ws.title}），线索编号 {key}：这一行导出时是另一个线索编号"
                                                  "（编号被改动，或只对部分列排序、粘贴过），为免把修改记到别的条目上，本行未导入；"
                                                  "请撤销排序或改回原编号后再导入"})
                        continue
                    if row_check(rec)[8:] != check[8:]:
                        notes.append({"row": r_idx, "sheet": ws.title, "clue_id": str(key),
                                      "error": f"第{r_idx}行（{ws.title}），线索编号 {key}：问题标题、问题描述、分级由系统生成，"
                                               "本行对它们的改动不会导入（如需调整分级或说明，请写在整改措施或整改进展里）"})
                if key and isinstance(yellow, str) and re.fullmatch(r"[a-p]{8}", yellow) \
                        and row_check({"clue_id": key})[:8] != yellow:
                    problems.append({"row": r_idx, "sheet": ws.title, "clue_id": str(key),
                                     "error": f"第{r_idx}行（{ws.title}），线索编号 {key}：黄色列的内容是另一行（另一个线索编号）导出的"
                                              "（只对黄色列排序，或从另一份表粘贴过），为免把修改记到别的条目上，本行未导入；"
                                              "请整行排序或按线索编号粘贴后再导入"})
                    continue
                if key:
                    out.append(rec)
                elif any(not _blank(values[i]) for i in edit_cols if i < len(values)):
                    no_id += 1
                    if no_id <= _MAX_ROW_PROBLEMS:
                        problems.append({"row": r_idx, "sheet": ws.title, "clue_id": None,
                                         "error": f"第{r_idx}行（{ws.title}）：缺少线索编号，无法对应台账条目，本行未导入"
                                                  "（新问题请通过12345热线或特邀监督员渠道反映）"})
            if moved_rows:
                problem(ws.title, None, f"工作表「{ws.title}」有 {moved_rows} 行排序时隐藏的校验列没有随行移动（只选中到「版本」列排序）："
                        "按各行的线索编号导入；问题标题、分级等系统列的改动在这些行里无法核对", warning=True)
            if no_id > _MAX_ROW_PROBLEMS:
                problems.append({"row": None, "sheet": ws.title, "clue_id": None,
                                 "error": f"工作表「{ws.title}」另有 {no_id - _MAX_ROW_PROBLEMS} 行有内容但缺少线索编号，未导入"
                                          "（整列填充或粘贴到了表格之外？）"})
    finally:
        wb.close()
    if read_sheets == 0:
        raise ValueError("没有找到含「线索编号」列的工作表：请使用 yingshang ledger export / clues 导出的台账填写")
    cols = ["sheet", "excel_row", "clue_id", "item_id", "month", "area_label", "title", "description", "grade",
            "responsible_unit", "deadline", "measures", "progress", "status", "followup", "version", "updated_at",
            "export_hash", "row_check", "yellow_check"]
    df = pd.DataFrame(out)
    for c in cols:
        if c not in df.columns:
            df[c] = None
    df = df[cols + [c for c in df.columns if c not in cols]]
    df.attrs["problems"] = problems
    df.attrs["warnings"] = notes
    return df


def as_date(v: Any) -> date | None:
    """A cell value as a date (for callers comparing deadlines read back from Excel)."""
    if _blank(v):
        return None
    return pd.Timestamp(v).date()
