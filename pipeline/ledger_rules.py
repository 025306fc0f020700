"""Ledger rules (问题台账规则): statuses, legal transitions, merging clues, applying department edits.

Pure functions on pandas frames; storage is the caller's. The ledger frame has the columns of
``warehouse.models.LedgerItem`` (:data:`LEDGER_COLUMNS`); every accepted change is returned as an
append-only event (台账变更记录) with the columns of ``LedgerEvent`` (:data:`EVENT_COLUMNS`).

Status flow (状态流转)::

    待交办 ─▶ 整改中 ─▶ 已整改待回访 ─▶ 已销号            (回访 满意 / 基本满意)
       └──────────────▶ 已整改待回访 ─▶ 重新交办 ─▶ 整改中  (回访 不满意)

* 销号 (closing) is only allowed from 已整改待回访 and only with a 满意 or 基本满意 follow-up (回访).
* A 不满意 follow-up sends the item back: 已整改待回访 → 重新交办 (done automatically when a
  department records 不满意 without changing the status).
* 已销号 is final: a closed item takes no more edits.
* A follow-up (回访) is about a finished rectification: it is accepted only when the item is, or
  in the same row becomes, 已整改待回访; 重新交办 clears it (the next round is judged by its own), and
  so does reaching 已整改待回访 again without one.

Importing a returned sheet (:func:`apply_department_edits`): a row whose editable fields equal the
ledger's is skipped (so the same file can be imported twice), and so is a row whose fields still
match the hidden 导出校验 fingerprint written at export (:func:`edit_fingerprint`: the department
left it alone, although another department's import may have moved the item on since). Only a row
that was edited *and* exported from an older 版本 is a conflict, reported with the fields it changed.
Excel error values (#NAME? …), deadlines without a year (11月5日) or in day/month order (5/12/2026)
are refused by row.

Who owns which field: the clue build owns title, description, grade, area and month; people own
responsible_unit (责任单位), deadline (整改时限), measures (整改措施), progress (整改进展), status,
followup. A rebuild refreshes the former and fills the defaults of responsible_unit and deadline
only while nobody has edited them (``edited_fields``); it never touches what people entered.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from typing import Any

import pandas as pd

from nlp.pii import mask_pii
from pipeline import workdays

STATUSES = ("待交办", "整改中", "已整改待回访", "已销号", "重新交办")
FOLLOWUPS = ("满意", "基本满意", "不满意")
SATISFIED = ("满意", "基本满意")
OPEN_STATUSES = ("待交办", "整改中", "重新交办")  # rectification not yet reported done: can be overdue

# Allowed moves (besides staying put). 已整改待回访 → 已销号 / 重新交办 also need a follow-up.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "待交办": ("整改中", "已整改待回访"),
    "整改中": ("已整改待回访",),
    "已整改待回访": ("已销号", "重新交办"),
    "重新交办": ("整改中", "已整改待回访"),
    "已销号": (),
}

LEDGER_COLUMNS = [
    "item_id", "clue_id", "month", "area", "title", "description", "grade", "responsible_unit",
    "deadline", "measures", "progress", "status", "followup", "followup_at", "closed_at", "overdue",
    "edited_fields", "last_import", "version", "created_at", "updated_at",
]
EVENT_COLUMNS = ["item_id", "at", "who", "field", "from_value", "to_value", "note"]

EDITABLE_FIELDS = ("responsible_unit", "deadline", "measures", "progress", "status", "followup")
SYSTEM_FIELDS = ("month", "area", "title", "description", "grade")
# Filled from the clue while nobody has edited them.
DEFAULTED_FIELDS = ("responsible_unit", "deadline")

FIELD_NAMES_ZH = {
    "responsible_unit": "责任单位", "deadline": "整改时限", "measures": "整改措施", "progress": "整改进展",
    "status": "状态", "followup": "回访结果", "title": "问题标题", "description": "问题描述",
    "grade": "分级", "area": "指标领域", "month": "月份", "item": "台账条目", "clue_id": "线索编号",
    "item_id": "台账编号", "version": "版本", "export_hash": "导出校验", "row_check": "行校验",
}


# What Excel shows in a cell whose formula failed (a typed 「-已完成」 or 「=+约谈」 becomes #NAME?).
EXCEL_ERRORS = ("#NAME?", "#REF!", "#N/A", "#VALUE!", "#DIV/0!", "#NUM!", "#NULL!", "#SPILL!", "#CALC!")


def edit_fingerprint(values: dict[str, Any]) -> str:
    """A short fingerprint of the people-owned fields of one ledger row (导出校验), written into a
    hidden column of every exported sheet: on import, a row whose fields still match it was not
    touched by the department, however much the ledger changed since (another department's edits)."""
    import hashlib

    parts = []
    for f in EDITABLE_FIELDS:
        v = values.get(f)
        v = _parse_deadline_quiet(v) if f == "deadline" else _norm(v)
        parts.append("" if v is None else (v.isoformat() if isinstance(v, date) else str(v)))
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]


# System-owned text a department might retype (问题标题, 问题描述, 分级): covered by the hidden 行校验.
ROW_CHECK_FIELDS = ("title", "description", "grade")


_HEX_AS_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")


def _sha(text: str, n: int = 8) -> str:
    """``n`` letters a–p of the text's SHA-1: no digits, so a check value never looks like a phone
    number to ``audit pii`` (a hex value read as the landline 0731…67 in the demo workbook)."""
    import hashlib

    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n].translate(_HEX_AS_LETTERS)


def row_check(values: dict[str, Any]) -> str:
    """The hidden 行校验 of an exported row: 8 hex digits of its 线索编号 and 8 of its system-owned
    text (:data:`ROW_CHECK_FIELDS`). On import, the first half tells an id overtyped with another
    item's id (or a column sorted apart from the rest) from the row it was exported as; the second,
    a retyped 问题标题 or 分级, which the import does not take."""
    text = "\x1f".join("" if _text(values.get(f)) is None else str(_text(values.get(f))) for f in ROW_CHECK_FIELDS)
    return _sha(id_key(values.get("clue_id"))) + _sha(text)


def id_key(value: Any) -> str:
    """A 线索编号 compared as typed back: full-width characters folded, case ignored (2026－10－A1－A5C7DB is
    2026-10-A1-a5c7db)."""
    return unicodedata.normalize("NFKC", str(_text(value) or "")).strip().lower()


def _parse_deadline_quiet(v: Any) -> date | None:
    try:
        return _parse_deadline(v)
    except ValueError:
        return None


class IllegalTransition(ValueError):
    """A status change the rules do not allow (非法状态变更); the message says why in Chinese."""


def empty_ledger() -> pd.DataFrame:
    """An empty ledger frame with the right columns."""
    return pd.DataFrame(columns=LEDGER_COLUMNS)


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        if v is pd.NaT or (not isinstance(v, (str, list, tuple)) and pd.isna(v)):
            return True
    except (TypeError, ValueError):
        pass
    return isinstance(v, str) and v.strip() == ""


def _norm(v: Any) -> Any:
    """Comparable form of a cell: None for blanks, stripped text, dates as date."""
    if _blank(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        return v.strip()
    return v


_CHOICE_EDGES = "。．.，,、;；:：!！?？[]［］【】()（）\"'“”‘’「」"
_TRADITIONAL = str.maketrans("訪辦銷號滿實換", "访办销号满实换")


def choice_text(v: Any) -> Any:
    """A status or follow-up as typed, read as one of the choices where it plainly is one: spaces
    dropped, punctuation and brackets around it dropped, full-width and traditional characters folded
    ('整改 中', '［整改中］', '满意！', '已銷號'). Punctuation *inside* is kept, so '不，满意' or '(不)满意'
    never becomes 不满意 (which sends the item back): anything else is returned as it was and refused."""
    if not isinstance(v, str):
        return v
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", v)).strip(_CHOICE_EDGES).translate(_TRADITIONAL)
    return folded if folded in STATUSES or folded in FOLLOWUPS else v


def _text(v: Any) -> str | None:
    v = _norm(v)
    return None if v is None else str(v)


def check_transition(current: str, new: str, followup: str | None) -> None:
    """Raise :class:`IllegalTransition` unless moving from ``current`` to ``new`` is allowed.

    ``followup`` is the follow-up result (回访结果) that goes with the change, if any.
    """
    if new not in STATUSES:
        raise IllegalTransition(f"未知状态「{new}」，可选：{'、'.join(STATUSES)}")
    if current not in STATUSES:
        raise IllegalTransition(f"台账中的当前状态「{current}」无效")
    fu = _text(followup)
    if fu is not None and fu not in FOLLOWUPS:
        raise IllegalTransition(f"未知回访结果「{fu}」，可选：{'、'.join(FOLLOWUPS)}")
    if new == current:
        return
    if current == "已销号":
        raise IllegalTransition("已销号的条目不能再修改状态；问题再次出现时会作为新线索交办")
    if new not in TRANSITIONS[current]:
        if new == "已销号":
            raise IllegalTransition(
                f"不能从「{current}」直接改为「已销号」：须先整改完成（已整改待回访），"
                "并经回访且回访结果为满意或基本满意")
        if new == "重新交办":
            raise IllegalTransition(f"不能从「{current}」改为「重新交办」：只有回访不满意的条目才重新交办")
        raise IllegalTransition(
            f"不能从「{current}」改为「{new}」；「{current}」之后只能是：{'、'.join(TRANSITIONS[current])}")
    if new == "已销号" and fu not in SATISFIED:
        got = f"回访结果为「{fu}」" if fu else "没有回访结果"
        raise IllegalTransition(f"不能销号：{got}；销号须经回访且回访结果为满意或基本满意")
    if new == "重新交办" and fu != "不满意":
        raise IllegalTransition("重新交办须有回访结果「不满意」")


def flag_overdue(ledger: pd.DataFrame, today: date, superseded: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """Set ``overdue`` (是否超期): still open (待交办/整改中/重新交办) after its deadline (整改时限).

    ``superseded``: items whose clue a rebuild no longer produces (their complaints went to other
    clues, whose items carry the deadline now); while nobody has worked on them (待交办, no edits)
    they are not overdue — the same complaints would otherwise count against a unit twice."""
    out = ledger.copy()
    if out.empty:
        out["overdue"] = pd.Series(dtype=bool)
        return out
    deadline = pd.to_datetime(out["deadline"], errors="coerce").dt.date
    idle = [str(i) in superseded and s == "待交办" and not (e if isinstance(e, list) else [])
            for i, s, e in zip(out["item_id"], out["status"], out["edited_fields"], strict=True)] \
        if superseded and "edited_fields" in out.columns else [False] * len(out)
    out["overdue"] = [
        bool(s in OPEN_STATUSES and d is not None and not pd.isna(d) and d < today and not gone)
        for s, d, gone in zip(out["status"], deadline, idle, strict=True)
    ]
    return out


def _event(item_id: str, at: datetime, who: str, field: str, old: Any, new: Any, note: str | None) -> dict:
    return {"item_id": item_id, "at": at, "who": who, "field": field,
            "from_value": _text(old), "to_value": _text(new), "note": note}


def orphaned_items(ledger: pd.DataFrame, clues: pd.DataFrame) -> list[str]:
    """Items of the rebuilt months whose clue is no longer produced. They are kept (never deleted);
    the caller may warn about them."""
    if ledger.empty or clues.empty:
        return []
    months = set(clues["month"])
    mask = ledger["month"].isin(months) & ~ledger["clue_id"].isin(set(clues["clue_id"]))
    return ledger.loc[mask, "item_id"].astype(str).tolist()


def district_day(utc: Any) -> date:
    """The district's calendar day (Asia/Shanghai) of a stored time (naive UTC, as created_at is): the
    monthly job runs at 06:00 Beijing, 22:00 UTC the day before — the UTC date would move every
    default deadline of a later rebuild one working day earlier."""
    from zoneinfo import ZoneInfo

    from pipeline.orchestrate import DISTRICT_TZ

    ts = pd.Timestamp(utc)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return ts.tz_convert(ZoneInfo(DISTRICT_TZ)).date()


def issued_deadline(clue_deadline: Any, grade: str, issued: date | None, cfg: Any | None) -> Any:
    """The clue's deadline, or — when the item entered the ledger after the day the clue's deadline is
    counted from (a month's list built late) — the same allowance counted from that day: an item must
    not be overdue on the day a department receives it. ``issued``: the item's creation day."""
    d = _norm(clue_deadline)
    if cfg is None or issued is None or not isinstance(d, date):
        return d
    fresh = workdays.deadline_for(str(grade), issued, cfg)
    return max(d, fresh) if getattr(cfg, "deadline_not_before_issue", True) else d


def merge_clues_into_ledger(ledger: pd.DataFrame, clues: pd.DataFrame, now: datetime,
                            who: str = "system", *, cfg: Any | None = None,
                            today: date | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Create a ledger item (台账条目, status 待交办) for every new clue and refresh existing ones.

    Refreshes only the build's own fields (title, description, grade, area, month) and the defaults
    responsible_unit / deadline while they are not in ``edited_fields``. Measures, progress, status
    and follow-up are never touched. Returns the new ledger and the events of every change.
    With ``cfg`` (a ClueConfig) the default deadline is never earlier than the grade's allowance
    counted from the day the item entered the ledger (``today`` for a new item, its ``created_at`` day
    for an existing one: a rebuild gives the same deadline).
    """
    led = ledger.copy() if ledger is not None and len(ledger) else empty_ledger()
    for col in LEDGER_COLUMNS:
        if col not in led.columns:
            led[col] = None
    led = led.astype({"edited_fields": object})
    events: list[dict] = []
    pos = {str(c): i for i, c in enumerate(led["clue_id"].astype(str))}
    new_rows = []
    for c in clues.itertuples(index=False):
        cid = str(c.clue_id)
        if cid not in pos:
            prev = getattr(c, "previous_clue_id", None)
            note = "由问题线索生成" + (f"；延续上月线索 {prev}" if not _blank(prev) else "")
            new_rows.append({
                "item_id": cid, "clue_id": cid, "month": c.month, "area": c.area, "title": c.title,
                "description": c.description, "grade": c.grade, "responsible_unit": c.responsible_unit,
                "deadline": issued_deadline(c.deadline, c.grade, today or now.date(), cfg), "measures": None, "progress": None, "status": "待交办",
                "followup": None, "followup_at": None, "closed_at": None, "overdue": False,
                "edited_fields": [], "last_import": None, "version": 1, "created_at": now, "updated_at": now,
            })
            events.append(_event(cid, now, who, "status", None, "待交办", note))
            continue
        i = pos[cid]
        row = led.iloc[i]
        edited = set(row["edited_fields"] or [])
        bump = False
        for f in SYSTEM_FIELDS + DEFAULTED_FIELDS:
            if f in DEFAULTED_FIELDS and f in edited:
                continue  # a person set it: the rebuild never overwrites it
            old, new = _norm(row[f]), _norm(getattr(c, f))
            if f == "deadline":
                created = row["created_at"]
                issued = district_day(created) if not _blank(created) else None
                new = issued_deadline(new, c.grade, issued, cfg)
            if old != new:
                led.iat[i, led.columns.get_loc(f)] = new
                events.append(_event(str(row["item_id"]), now, who, f, old, new, "线索重建更新"))
                bump = bump or f in DEFAULTED_FIELDS
        if bump:
            # A default a department can see and edit changed: exported sheets of the old version
            # must not silently overwrite it, so the version moves on.
            led.iat[i, led.columns.get_loc("version")] = int(row["version"] or 1) + 1
            led.iat[i, led.columns.get_loc("updated_at")] = now
    if new_rows:
        add = pd.DataFrame(new_rows, columns=LEDGER_COLUMNS)
        led = add if led.empty else pd.concat([led, add], ignore_index=True)
    return led.reset_index(drop=True), events


_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?|(\d{4})(\d{2})(\d{2})")
# A time of day copied along with the date (2026-11-05 00:00:00, 2026-11-05T00:00) says nothing more.
_TIME_SUFFIX = re.compile(r"(?:[T\s]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")


def _parse_deadline(v: Any) -> date | None:
    """A deadline cell: a date cell, an Excel serial number, or text with the year first (2026-11-05,
    2026/11/5, 2026年11月5日, 2026.11.5, 20261105). 11月5日 (no year) and 5/12/2026 (month or day
    first?) are refused rather than guessed, and so is a year outside 2000–2099."""
    if _blank(v):
        return None
    if isinstance(v, (datetime, pd.Timestamp)):
        d = v.date()
    elif isinstance(v, date):
        d = v
    elif isinstance(v, (int, float)) and not isinstance(v, bool) and 36526 <= v < 73051:
        d = (pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(v))).date()  # Excel serial, General format
    else:
        text = _TIME_SUFFIX.sub("", unicodedata.normalize("NFKC", str(v)).strip())  # ２０２６－１１－０５
        m = _DATE_TEXT.fullmatch(text)
        if not m:
            raise ValueError(f"整改时限「{v}」不是带年份的日期（例：2026-11-20 或 2026年11月20日）")
        y, mo, dd = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(4), m.group(5), m.group(6))
        try:
            d = date(int(y), int(mo), int(dd))
        except ValueError as exc:
            raise ValueError(f"整改时限「{v}」不是有效日期") from exc
    if not 2000 <= d.year <= 2099:
        raise ValueError(f"整改时限「{v}」的年份不对（{d.year}）")
    return d


MAX_UNIT_CHARS = 128  # ledger_item.responsible_unit is String(128): longer aborts a PostgreSQL import
MAX_DEADLINE_YEARS = 3  # a deadline further out than this after the clue's month is a typo (2099)


def _check_deadline_range(d: date, item: Any) -> None:
    """A deadline before the clue's month began, or years after it, is a typo (2025 for 2026, 2099)."""
    month = _text(item.get("month") if hasattr(item, "get") else None)
    if not month or not re.fullmatch(r"\d{4}-\d{2}", month):
        return
    start = date(int(month[:4]), int(month[5:]), 1)
    if d < start:
        raise ValueError(f"整改时限 {d.isoformat()} 早于线索所属月份（{month}）：请检查年份和月份")
    if d.year > start.year + MAX_DEADLINE_YEARS:
        raise ValueError(f"整改时限 {d.isoformat()} 比线索所属月份（{month}）晚了{MAX_DEADLINE_YEARS}年以上：请检查年份")


def apply_department_edits(
    ledger: pd.DataFrame,
    edits: pd.DataFrame,
    who: str,
    now: datetime,
    cfg: Any | None = None,
    *,
    today: date | None = None,
) -> tuple[pd.DataFrame, list[dict], list[dict]]:
    """Apply the rows a department returned (e.g. from :func:`read_ledger_workbook`).

    Each row is applied whole or not at all. A row is refused, with an error naming its Excel row
    and clue id, when: the id is unknown; its 版本 is older than the ledger's (someone changed the
    item since the sheet was exported — a conflict); a value is invalid; or the status change is
    illegal. Unchanged rows are skipped silently (nothing to do); nothing else is dropped. A blank
    cell means 'unchanged' (it never erases what was entered).
    With ``cfg`` (a ClueConfig), 重新交办 gets a fresh deadline by the item's grade from ``today`` (the
    district's day; default ``now``'s date).
    Returns ``(ledger, events, errors)``; ``errors`` items are
    ``{"row", "sheet", "clue_id", "error"}``.
    """
    led = ledger.copy()
    led = led.astype({"edited_fields": object}) if len(led) else led
    events: list[dict] = []
    errors: list[dict] = []
    by_item = {id_key(x): i for i, x in enumerate(led["item_id"].astype(str))}
    by_clue = {id_key(x): i for i, x in enumerate(led["clue_id"].astype(str))}
    if today is None:  # (the caller passes the district's day; ``now`` is the event time, UTC)
        today = now.date() if isinstance(now, datetime) else now

    applied_rows: dict[str, str] = {}  # item → the row of this file that changed it ("第2行（A1 …）")
    for n, e in enumerate(edits.to_dict("records")):
        row_no = e.get("excel_row", n + 2)
        sheet = e.get("sheet")
        key = _text(e.get("item_id")) or _text(e.get("clue_id"))
        where = f"第{row_no}行" + (f"（{sheet}）" if sheet else "") + (f"，线索编号 {key}" if key else "")

        def fail(msg: str, _where: str = where, _row: Any = row_no, _sheet: Any = sheet, _key: Any = key) -> None:
            # The refused value is quoted, and a department may have typed a phone or a name into it
            # (满意（回访对象张三，13812345678）): masked like any text before it is printed or logged.
            errors.append({"row": _row, "sheet": _sheet, "clue_id": _key, "error": f"{_where}：{mask_pii(msg)}"})

        if key is None:
            fail("缺少线索编号，无法对应台账条目")
            continue
        i = by_item.get(id_key(key), by_clue.get(id_key(key)))
        if i is None:
            fail("台账中没有这个线索编号")
            continue
        cur = led.iloc[i]
        bad = next(((f"整改时限显示为错误值「{e[f]}」：日期格式的单元格里输入的数字不是日期；请写带年份的日期，如 2026-11-20"
                     if f == "deadline" else
                     f"{FIELD_NAMES_ZH[f]}是 Excel 错误值「{e[f]}」（公式出错）；请改为文字，开头的 = + - @ 前加一个英文单引号")
                    for f in EDITABLE_FIELDS if isinstance(e.get(f), str) and e[f].strip() in EXCEL_ERRORS), None)
        if bad:
            fail(bad)
            continue

        # Collect changes of the editable fields present in the row.
        changes: dict[str, tuple[Any, Any]] = {}
        try:
            for f in EDITABLE_FIELDS:
                if f not in e:
                    continue
                new = _parse_deadline(e[f]) if f == "deadline" else _norm(choice_text(e[f]) if f in ("status", "followup") else e[f])
                old = _norm(cur[f])
                if new is None:
                    # A blank cell means 'unchanged': sheets differ in which columns they carry, and
                    # an accidentally emptied cell must not erase what someone entered.
                    continue
                if new != old:
                    changes[f] = (old, new)
            if "deadline" in changes:
                _check_deadline_range(changes["deadline"][1], cur)
            unit = changes.get("responsible_unit", (None, None))[1]
            if unit is not None and len(str(unit)) > MAX_UNIT_CHARS:
                raise ValueError(f"责任单位超过{MAX_UNIT_CHARS}个字（{len(str(unit))}个）：请只写单位名称，说明写在整改措施里")
        except ValueError as exc:
            fail(str(exc))
            continue
        if not changes:
            continue  # nothing new (a row nobody touched, or the same file imported again)
        exported = _text(e.get("export_hash"))
        if exported is not None and exported == edit_fingerprint(e):
            continue  # untouched since export: the ledger moved on (another department's edit), keep it
        if e.get("hidden_row") is True:
            # A value filled or pasted over a filtered range reaches the rows the filter hid (WPS and
            # paste do): 34 items moved to 整改中 without a word in the red team's case.
            fail("这一行在表中是隐藏的（筛选或隐藏行），其中的修改未导入：可能是在筛选状态下整列填充或粘贴带到的；"
                 "请取消筛选、核对这一行后再导入")
            continue
        signature = f"{'' if _blank(e.get('version')) else _text(e.get('version')).removesuffix('.0')}:{edit_fingerprint(e)}"
        if signature == _text(cur.get("last_import")):
            continue  # this very row was applied before (the same file imported again)

        checks = [_text(e.get("row_check")), _text(e.get("yellow_check"))]
        title = _text(e.get("title"))
        if not any(c and re.fullmatch(r"[a-p]{8}(?:[a-p]{8})?", c) for c in checks) \
                and title is not None and title != _text(cur["title"]):
            # Without the hidden checks (deleted, or visible cells copied to a new workbook) the title is
            # all that tells an overtyped id: an edit is not put on an item of another problem.
            fail(f"本行的问题标题「{title[:30]}」与台账中该编号的标题「{str(_text(cur['title']))[:30]}」不同"
                 "（编号输错，或线索重建后标题已更新），本行未导入；请核对线索编号，或重新导出后再填写")
            continue
        if _norm(cur["status"]) == "已销号":
            fail("已销号的条目不能再修改（整改已完成并经回访满意）；问题再次出现时会作为新线索交办")
            continue
        # Conflict check (版本): the sheet must have been exported from the current version.
        cur_version = int(cur["version"] or 1)
        row_version = e.get("version")
        if _blank(row_version):
            row_ts, cur_ts = e.get("updated_at"), cur["updated_at"]
            if _blank(row_ts):
                fail("缺少版本号，无法判断是否与他人的修改冲突；请使用最新导出的台账")
                continue
            try:
                row_time = pd.Timestamp(row_ts)
            except (ValueError, TypeError, OverflowError):
                fail(f"更新时间「{row_ts}」不是时间，无法判断是否与他人的修改冲突；请使用最新导出的台账")
                continue
            if row_time < pd.Timestamp(cur_ts):
                fail(f"台账已于 {pd.Timestamp(cur_ts):%Y-%m-%d %H:%M} 被更新，晚于本表；请重新导出后再修改")
                continue
        else:
            try:
                rv = int(float(row_version))
            except (TypeError, ValueError, OverflowError):
                fail(f"版本号「{row_version}」不是数字")
                continue
            if rv < cur_version:
                if str(cur["item_id"]) in applied_rows:
                    fail(f"与{applied_rows[str(cur['item_id'])]}是同一线索编号：同一条目在表中出现两次，且内容不同，"
                         "本行未导入；请只保留一行")
                    continue
                fail(f"台账在本表导出后已被更新（当前版本 {cur_version}，本表版本 {rv}：其他部门的导入、先前的导入或线索重建），"
                     f"为避免覆盖这些修改，本行未导入；本行与台账不同的列：{'、'.join(FIELD_NAMES_ZH[f] for f in changes)}。"
                     "请重新导出后再修改")
                continue
            if rv > cur_version:
                fail(f"版本号「{row_version}」比台账中的版本（{cur_version}）还新：版本列不能手工修改，请使用导出的台账")
                continue

        status_old = _norm(cur["status"])
        status_new = changes.get("status", (status_old, status_old))[1]
        followup = changes.get("followup", (None, _norm(cur["followup"])))[1]
        note = f"台账导入 {where}"
        via_done = False  # 整改完成 and 回访不满意 in one row: done, then back to the unit
        if "followup" in changes and followup == "不满意" and status_new == "已整改待回访":
            via_done = status_old != "已整改待回访"
            status_new = "重新交办"  # 回访不满意 → back to the unit
            changes["status"] = (status_old, status_new)
            note += "；回访不满意，自动重新交办"
        try:
            if followup is not None and followup not in FOLLOWUPS:
                raise IllegalTransition(f"未知回访结果「{followup}」，可选：{'、'.join(FOLLOWUPS)}")
            if "followup" in changes and status_old != "已整改待回访" and status_new != "已整改待回访" and not via_done:
                raise IllegalTransition(
                    f"回访结果只能在整改完成（已整改待回访）之后填写；本条目当前是「{status_old}」")
            if via_done:
                check_transition(status_old, "已整改待回访", None)
                check_transition("已整改待回访", status_new, followup)
            elif "status" in changes:
                check_transition(status_old, status_new, followup)
        except IllegalTransition as exc:
            fail(str(exc))
            continue

        item_id = str(cur["item_id"])
        applied_rows[item_id] = f"第{row_no}行" + (f"（{sheet}）" if sheet else "")
        # The follow-up before the status it justifies (回访满意, then 已销号) in the event trail.
        for f in sorted(changes, key=lambda f: (f == "status", f != "followup")):
            old, new = changes[f]
            led.iat[i, led.columns.get_loc(f)] = new
            if f == "status" and via_done:
                events.append(_event(item_id, now, who, f, old, "已整改待回访", note))
                old = "已整改待回访"
            events.append(_event(item_id, now, who, f, old, new, note))
        if "followup" in changes:
            led.iat[i, led.columns.get_loc("followup_at")] = now
        if status_new == "已销号" and status_old != "已销号":
            led.iat[i, led.columns.get_loc("closed_at")] = now
        if status_new == "已整改待回访" and status_old != "已整改待回访" and "followup" not in changes \
                and _norm(cur["followup"]) is not None:
            # a follow-up recorded before the rectification was reported says nothing about it
            events.append(_event(item_id, now, who, "followup", _norm(cur["followup"]), None, "整改完成，待重新回访"))
            led.iat[i, led.columns.get_loc("followup")] = None
            led.iat[i, led.columns.get_loc("followup_at")] = None
        if status_new == "重新交办" and status_old != "重新交办":
            # the 不满意 belongs to this round: the next round is judged by its own follow-up
            events.append(_event(item_id, now, who, "followup", followup, None, "重新交办，回访结果留待下一轮"))
            led.iat[i, led.columns.get_loc("followup")] = None
            led.iat[i, led.columns.get_loc("followup_at")] = None
        if status_new == "重新交办" and "deadline" not in changes and cfg is not None:
            new_deadline = workdays.deadline_for(str(cur["grade"]), today, cfg)
            old_deadline = _norm(cur["deadline"])
            if new_deadline != old_deadline:
                led.iat[i, led.columns.get_loc("deadline")] = new_deadline
                events.append(_event(item_id, now, who, "deadline", old_deadline, new_deadline,
                                     "重新交办，按分级重新计算整改时限"))
        edited = list(cur["edited_fields"] or [])
        for f in changes:
            if f not in edited:
                edited.append(f)
        led.iat[i, led.columns.get_loc("edited_fields")] = edited
        led.iat[i, led.columns.get_loc("last_import")] = signature
        led.iat[i, led.columns.get_loc("version")] = cur_version + 1
        led.iat[i, led.columns.get_loc("updated_at")] = now

    led = flag_overdue(led, today)
    return led, events, errors
