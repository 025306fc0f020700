"""Data contracts and value normalisation for the source adapters (数据校验与枚举规范化).

Everything here is a pure function on cell text, so the same rules apply whether a value came from
an xlsx cell, a GBK CSV or a quarantined row being retried:

* header matching (表头匹配): :func:`norm_header`, :func:`map_columns` — aliases from
  ``config/sources.yaml`` matched ignoring spaces, full/half-width brackets and case;
* dates (日期): :func:`parse_datetime`, :func:`parse_month` — the many spellings real exports use;
* enumerations (枚举): 受理渠道, 诉求类型, 回访满意度, 是否解决, 诉求人类型, 监督员身份类别 — known
  synonyms are folded onto the documented values, unknown values are kept as given;
* the canonical frame contract (规范化数据帧契约): :func:`conform`, :func:`check_contract`.

Functions that can fail raise :class:`ValueError` with a message a person understands; adapters turn
that message into the quarantine reason of the row.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import pandas as pd

from nlp.pii import mask_pii
from pipeline.canonical import (
    ANSWER_COLUMNS,
    FEEDBACK_COLUMNS,
    ROW_COLUMNS,
    SCORE_COLUMNS,
    ParsedFile,
    QuarantinedRow,
)

# ----------------------------------------------------------------------------------------------
# Text helpers
# ----------------------------------------------------------------------------------------------

_WS = re.compile(r"\s+")
# Brackets of every width and style; NFKC already folds （）［］｛｝ onto ()[]{}.
_BRACKET_CHARS = "()[]{}<>【】《》〈〉「」『』〔〕〖〗"
_BRACKET_DROP = str.maketrans("", "", _BRACKET_CHARS)
_BRACKETED = re.compile(r"[(\[{<【《〈「『〔〖][^)\]}>】》〉」』〕〗]*[)\]}>】》〉」』〕〗]")


def clean(value: object) -> str:
    """Cell text stripped of surrounding whitespace (incl. full-width space and BOM); '' for None/NaN.
    Excel's ways of keeping a number as text in a CSV are undone: ``="GD2026…"`` and ``'GD2026…`` are
    ``GD2026…`` (the same work order loaded twice beside its xlsx copy, and ``="138****0001"`` stored as
    a phone, when they were kept)."""
    if type(value) is str:  # the hot path: every cell of a CSV
        text = value.strip()
        if text[:1] in ("'", "="):
            text = _excel_text(text)
        return text.strip("\ufeff").strip() if text[:1] == "\ufeff" or text[-1:] == "\ufeff" else text
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip().strip("\ufeff").strip()


def _excel_text(text: str) -> str:
    if text.startswith('="') and text.endswith('"') and len(text) >= 3 and '"' not in text[2:-1]:
        return text[2:-1].strip()
    if text.startswith("'") and _APOSTROPHE_NUMBER.fullmatch(text):
        return text[1:]  # (only a number or code: a text may begin with a quote of its own)
    return text


_APOSTROPHE_NUMBER = re.compile(r"'[0-9A-Za-z][0-9A-Za-z\-_.+]*")


_FLOAT_ID = re.compile(r"\d+\.0")


def id_text(value: object) -> str:
    """An identifier cell (工单编号, 序号, 编号): :func:`clean`, full-width letters and digits as ASCII, and a whole
    number that passed through a float (``2026100500001.0``, ``12.0``) without its ``.0`` — the same record
    would otherwise load twice."""
    text = clean(value)
    if not text.isascii():  # ＧＤ２０２６…: full-width, as an IME writes it, is the same id as GD2026…
        text = unicodedata.normalize("NFKC", text)
    return text[:-2] if _FLOAT_ID.fullmatch(text) else text


ECHO_MAX = 80


def echo(value: object, limit: int = ECHO_MAX) -> str:
    """A cell as quoted in a quarantine reason (隔离原因): whitespace runs — line breaks included —
    collapsed to one space, and cut to ``limit`` characters with "…", so every reason stays one line
    in ``yingshang quarantine list`` and in the registry."""
    # Masked before it is cut: a phone or ID number cut in half is no longer recognised, and its first
    # digits (13812…, 41010519…) would be stored in the reason.
    text = " ".join(mask_pii(clean(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    """``text`` with every whitespace run (line breaks, tabs) as one space."""
    return " ".join(text.split())


def norm_header(text: object) -> str:
    """Normalised header for alias matching (表头归一): NFKC, no whitespace, no brackets, lower case.

    ``"来自 IP"``, ``"来自ＩＰ"`` and ``"【来自IP】"`` all become ``"来自ip"``; a trailing required-field
    marker (``*``) or colon is dropped too.
    """
    s = unicodedata.normalize("NFKC", clean(text))
    s = _WS.sub("", s).lower().strip("*:：")
    return s.translate(_BRACKET_DROP)


def norm_header_loose(text: object) -> str:
    """Like :func:`norm_header` but bracketed remarks are removed: ``诉求内容（必填）`` → ``诉求内容``."""
    s = unicodedata.normalize("NFKC", clean(text))
    s = _BRACKETED.sub("", _WS.sub("", s))
    return s.lower().strip("*:：").translate(_BRACKET_DROP)


def norm_value(text: object) -> str:
    """Normalised enumeration value: NFKC, no whitespace, lower case."""
    return _WS.sub("", unicodedata.normalize("NFKC", clean(text))).lower()


_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def strip_punct(text: object) -> str:
    """Text without whitespace and punctuation (for non-answer detection: ``无。`` → ``无``)."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", clean(text))).lower()


# ----------------------------------------------------------------------------------------------
# Header → canonical field mapping
# ----------------------------------------------------------------------------------------------


def header_hints(columns_cfg: Mapping[str, Sequence[str]]) -> list[str]:
    """All alias names of a column map (used to find the header row under title rows)."""
    return [alias for aliases in columns_cfg.values() for alias in aliases]


def map_columns(header: Sequence[str], columns_cfg: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Map canonical fields to header positions through the configured aliases (列名映射).

    Fields are taken in configuration order, each field's aliases in order; a header cell is used by
    at most one field. Exact (normalised) matches win over matches that ignore bracketed remarks, so
    ``工单编号`` is preferred to ``工单编号（系统）`` when both exist.
    """
    exact = [norm_header(h) for h in header]
    loose = [norm_header_loose(h) for h in header]
    taken: set[int] = set()
    result: dict[str, int] = {}
    for normalised in (exact, loose):
        for fld, aliases in columns_cfg.items():
            if fld in result:
                continue
            for alias in aliases:
                key = norm_header(alias)
                idx = next((i for i, h in enumerate(normalised) if h == key and i not in taken), None)
                if idx is not None:
                    result[fld] = idx
                    taken.add(idx)
                    break
    return result


def field_label(fld: str, columns_cfg: Mapping[str, Sequence[str]]) -> str:
    """``工单编号 (order_no)``: the default Chinese header and the canonical field name."""
    aliases = columns_cfg.get(fld) or [fld]
    return f"{aliases[0]} ({fld})"


def missing_columns_reason(missing: Iterable[str], columns_cfg: Mapping[str, Sequence[str]],
                           header: Sequence[str] | None = None) -> str:
    """'missing required columns: …'; when ``header`` is given and names none of the known columns, the
    reader found no header row at all, and the reason says that first (a header below row 15 was
    reported as if the columns were missing from a header). Sources whose header also holds other
    columns (a questionnaire's questions) do not pass it."""
    reason = "missing required columns: " + ", ".join(field_label(f, columns_cfg) for f in missing)
    if header is not None and not map_columns(header, columns_cfg):  # (no known column: no header row)
        reason = ("no header row found in the first 15 rows of the sheet (a row naming the columns, such as "
                  + ", ".join(field_label(f, columns_cfg) for f in list(missing)[:3]) + "): " + reason)
    return reason


# ----------------------------------------------------------------------------------------------
# Dates (日期)
# ----------------------------------------------------------------------------------------------

_CST = timezone(timedelta(hours=8))
_EXCEL_EPOCH = datetime(1899, 12, 30)
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[ T]?(\d{2})(\d{2})(\d{2})?)?$")
_GENERAL = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:[\sT,]*(上午|下午|晚上|凌晨|中午|早上|am|pm)?\s*"
    r"(\d{1,2})\s*[:时点]\s*(?:(\d{1,2})\s*分?)?\s*(?:[:]?\s*(\d{1,2})(?:\.\d+)?\s*秒?)?)?\s*$",
    re.IGNORECASE,
)
_PM = {"下午", "晚上", "pm"}
_AM = {"上午", "凌晨", "早上", "am"}  # 上午12:15 is a quarter past midnight (Excel's Chinese AM/PM format)
# 2026-10-05 09:03-09:10: a call from 09:03 to 09:10, which fromisoformat would read as 09:03 at UTC-09:10
_TIME_RANGE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?)\s*[-~～至]\s*\d{1,2}(?::\d{2}){0,2}$")
DATE_HINT = "expected a date such as 2026-11-03 08:15"
# A weekday some systems write beside the date (2026-10-05 周一 09:30, 2026/10/07(周三) 10:00, 星期二): dropped.
_WEEKDAY = re.compile(r"\s*[(（]?(?:周|星期|礼拜)[一二三四五六日天][)）]?\s*")
# A day without its year (10-08 16:30, 10月9日 10:00): the year comes from a reference moment.
_NO_YEAR = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(.*)$")


def _build(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    if not 1900 <= y <= 2100:
        raise ValueError(f"year {y} is out of range")
    if h == 24 and mi == 0 and s == 0:
        # 24:00 is the end of the day (办理时限 2026-10-10 24:00:00, as many 12345 platforms write a
        # deadline): the next day's 00:00. The whole order was quarantined for "hour must be in 0..23".
        return datetime(y, mo, d) + timedelta(days=1)
    return datetime(y, mo, d, h, mi, s)


def parse_datetime(value: object) -> datetime | None:
    """Parse a date/time cell (日期时间) into a naive local datetime; ``None`` when the cell is empty.

    Accepted: ``2026-11-03 08:15:00``, ``2026-11-03T08:15``, ``2026/11/3 8:15``,
    ``2026年11月3日 8时15分``, ``2026.11.03``, ``20261103``, ``20261103081500``, Excel serial numbers
    (``46329.34375``), ISO strings with an offset (converted to UTC+8), 上午/下午 (上午12:15 is 00:15)
    and a time range ``2026-11-03 09:03-09:10`` (its start); 24:00 is the next day's 00:00. Raises ``ValueError``.
    """
    if isinstance(value, datetime):
        return value.astimezone(_CST).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    s = clean(value)
    if not s:
        return None
    m = _TIME_RANGE.match(s)
    if m:  # a range: the call began at its start (an offset is written with T, Z or +)
        s = m.group(1)
    try:  # the C-speed path for the usual machine export
        dt = datetime.fromisoformat(s)
    except ValueError:
        pass
    else:
        if dt.tzinfo is not None:
            dt = dt.astimezone(_CST).replace(tzinfo=None)
        if not 1900 <= dt.year <= 2100:
            raise ValueError(f"year {dt.year} is out of range")
        return dt
    s = unicodedata.normalize("NFKC", s)
    if "周" in s or "星期" in s or "礼拜" in s:
        s = _WEEKDAY.sub(" ", s).strip()
    if _SERIAL.match(s):
        serial = float(s)
        if 20000 <= serial < 80000:  # 1954 … 2119: anything else is not an Excel date
            return _EXCEL_EPOCH + timedelta(seconds=round(serial * 86400))
        raise ValueError("number is not an Excel date serial")
    m = _COMPACT.match(s)
    if m:
        y, mo, d, h, mi, sec = (int(g) if g else 0 for g in m.groups())
        return _build(y, mo, d, h, mi, sec)
    m = _GENERAL.match(s)
    if m:
        y, mo, d, ampm, h, mi, sec = m.groups()
        hour = int(h) if h else 0
        if ampm and ampm.lower() in _PM and hour < 12:
            hour += 12
        elif ampm and ampm.lower() in _AM and hour == 12:
            hour = 0
        return _build(int(y), int(mo), int(d), hour, int(mi or 0), int(sec or 0))
    raise ValueError("unrecognised format")


def parse_datetime_near(value: object, reference: datetime | None) -> datetime | None:
    """:func:`parse_datetime`, and a day written without its year (``10-08 16:30``, ``10月9日``) taken in the
    year of ``reference`` (the 来电时间 of the same order), or the next one when that would fall more than a
    day before it (an order of 12月28日 closed 1-03). Raises ``ValueError`` like :func:`parse_datetime`."""
    try:
        return parse_datetime(value)
    except ValueError:
        m = _NO_YEAR.match(unicodedata.normalize("NFKC", clean(value))) if reference is not None else None
        if m is None or not 1 <= int(m.group(1)) <= 12:
            raise
        moment = parse_datetime(f"{reference.year}-{m.group(1)}-{m.group(2)} {m.group(3).strip()}".strip())
        if moment is not None and moment < reference - timedelta(days=1):
            moment = moment.replace(year=moment.year + 1)
        return moment


_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")


def with_date_column(times: Sequence[str], dates: Sequence[str]) -> list[str]:
    """Exports that split the moment over two columns (来电日期 2026-10-05, 来电时间 09:03): a time-only
    cell gets the date of its row in front; every other cell is returned as it is."""
    out = list(times)
    for i, t in enumerate(out):
        if t and dates[i] and _TIME_ONLY.match(t.strip()):
            try:
                d = parse_datetime(dates[i])
            except ValueError:
                continue  # the time stays alone and is reported as not a date
            if d is not None:
                out[i] = f"{d:%Y-%m-%d} {t.strip()}"
    return out


def parse_datetime_column(values: Sequence[str]) -> tuple[list[datetime | None], dict[int, str]]:
    """Parse a column of stripped cell texts: (datetimes, {index: why}) — the fast path of
    :func:`parse_datetime` for the machine-written ISO form, inlined for large files."""
    fromiso = datetime.fromisoformat
    out: list[datetime | None] = []
    errors: dict[int, str] = {}
    for i, s in enumerate(values):
        if not s:
            out.append(None)
            continue
        try:
            dt = fromiso(s)
            if dt.tzinfo is not None or not 1900 <= dt.year <= 2100:
                dt = parse_datetime(s)
        except ValueError:
            try:
                dt = parse_datetime(s)
            except ValueError as exc:
                errors[i] = str(exc)
                dt = None
        out.append(dt)
    return out, errors


def date_error(column: str, value: object, why: str = "") -> str:
    """Quarantine reason for a bad date: ``来电时间 '明天' is not a date (expected …)``."""
    detail = f"{one_line(why)}; " if why and why != "unrecognised format" else ""  # (one_line ate the space)
    return f"{column} '{echo(value)}' is not a date ({detail}{DATE_HINT})"


_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:份)?$")
_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")


def parse_month(value: object) -> str | None:
    """Parse a 月份 cell into ``YYYY-MM`` (``2026-11``, ``2026年11月``, ``202611``, ``2026/11``, or any
    full date). ``None`` when empty; raises ``ValueError`` otherwise."""
    if isinstance(value, datetime | date):
        return f"{value.year:04d}-{value.month:02d}"
    s = unicodedata.normalize("NFKC", clean(value))
    if not s:
        return None
    m = _MONTH.match(s) or _MONTH_COMPACT.match(s)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        if not (1900 <= y <= 2100 and 1 <= mo <= 12):
            raise ValueError("month out of range")
        return f"{y:04d}-{mo:02d}"
    dt = parse_datetime(s)
    return None if dt is None else f"{dt.year:04d}-{dt.month:02d}"


_DURATION = re.compile(r"^(\d{1,3})\s*个?\s*(工作日|自然日|天|日|小时|钟头)\s*(?:内|以内)?$")
# Urgent orders (即时办理, 立即办理, 当场办结): due when received.
_IMMEDIATE = frozenset(["即时办理", "立即办理", "即办", "立即", "马上办", "当场办结", "当场办理", "即时"])
# What an export writes in an optional date column of an order not yet there (办结时间 of an open order).
NOT_YET = frozenset(["未办结", "未完成", "办理中", "处理中", "未结案", "暂无", "无", "/", "-", "--", "—", "——", "n/a", "na",
                     # an order sent back is not closed (the red team's 办结时间 '退回重办' quarantined it)
                     "退回重办", "已退回", "退回", "重办", "待办理", "待处理", "已受理"])


def optional_datetime_text(text: str) -> str:
    """'' for the not-applicable markers of an optional date column (未办结, /, —), else the text."""
    return "" if unicodedata.normalize("NFKC", text).strip().lower() in NOT_YET else text


def parse_due(value: object, received: datetime | None, header: str = "") -> datetime | None:
    """办理时限: a date (``2026-10-10``, ``2026-10-10前``), or a duration such as ``5个工作日``,
    ``3天``, ``5个工作日内``, ``2小时``, ``24小时内`` counted from the 来电时间; ``即时办理`` is the 来电时间.
    A bare number (``5`` under ``办理时限（天）`` or ``办理时限（工作日）``) takes its unit from the column's
    ``header``: working days when it says 工作日, hours when it says 小时, else calendar days.

    Working days follow the official holiday calendar (chinesecalendar) when it covers the year,
    else Monday–Friday. Raises ``ValueError`` for anything else.
    """
    s = unicodedata.normalize("NFKC", clean(value))
    if s in _IMMEDIATE:
        return received
    if s.isdigit() and 0 < int(s) <= 366:
        s += "工作日" if "工作日" in header else ("小时" if "小时" in header else "天")
    m = _DURATION.match(s)
    if not m:
        return parse_datetime(re.sub(r"\s*(?:前|之前|以前)$", "", s))  # 2026-10-10前: the date itself
    if received is None:
        return None
    n, unit = int(m.group(1)), m.group(2)
    if unit in ("小时", "钟头"):  # urgent orders: 2小时, 24小时内
        return received + timedelta(hours=n)
    if unit != "工作日":
        return received + timedelta(days=n)
    return _add_workdays(received, n)


@lru_cache(maxsize=4096)
def _is_workday(day: date) -> bool:
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (ImportError, NotImplementedError):
        return day.weekday() < 5


@lru_cache(maxsize=4096)
def _workday_offset(start: date, n: int) -> int:
    """Calendar days from ``start`` to the n-th working day after it."""
    day, days = start, 0
    while n > 0:
        day += timedelta(days=1)
        days += 1
        if _is_workday(day):
            n -= 1
    return days


def _add_workdays(start: datetime, n: int) -> datetime:
    return start + timedelta(days=_workday_offset(start.date(), n))


# ----------------------------------------------------------------------------------------------
# Numbers
# ----------------------------------------------------------------------------------------------

# Cells that mean "not evaluated" rather than a broken value.
NOT_APPLICABLE = {"", "-", "--", "/", "—", "——", "无", "n/a", "na", "不适用", "未测评"}


def parse_number(value: object) -> float | None:
    """A numeric cell (``85``, ``85.5``, ``85.5分``, ``８５``, ``90%`` — a score written as a percentage
    of the full 100, as 得分率 columns do); ``None`` for empty / not-applicable markers (``-``, ``/``,
    ``无``); ``ValueError`` for anything else."""
    s = unicodedata.normalize("NFKC", clean(value)).replace(",", "")
    if s.lower() in NOT_APPLICABLE:
        return None
    s = s.removesuffix("分").removesuffix("%").strip()
    try:
        number = float(s)
    except ValueError:
        raise ValueError("not a number") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError("not a number")
    return number


def parse_int(value: object) -> int | None:
    """样本量 / 排名: an integer or ``None`` (never fails: these columns are informative only)."""
    s = unicodedata.normalize("NFKC", clean(value)).removeprefix("第").removesuffix("名").removesuffix("份")
    try:
        number = float(s)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


_SCI = re.compile(r"^\d(?:\.\d+)?e\+\d+$", re.IGNORECASE)


def looks_like_excel_scientific(value: str) -> bool:
    """``2.02611E+12``: an id that went through Excel as a number and lost digits."""
    return ("E+" in value or "e+" in value) and bool(_SCI.match(value.strip()))


# ----------------------------------------------------------------------------------------------
# Enumerations (枚举)
# ----------------------------------------------------------------------------------------------


def _synonyms(table: Mapping[str, Iterable[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, words in table.items():
        out[norm_value(canonical)] = canonical
        for word in words:
            out[norm_value(word)] = canonical
    return out


CHANNELS = ("电话", "网站", "微信", "APP", "信件")
_CHANNEL = _synonyms(
    {
        "电话": ["热线", "12345", "12345热线", "热线电话", "来电", "电话来电", "电话受理", "语音", "座机", "手机来电"],
        "网站": ["网络", "网上", "网站留言", "门户网站", "网络留言", "政府网站", "网页", "留言板", "pc端", "网上留言"],
        "微信": ["微信公众号", "公众号", "微信小程序", "小程序", "微信端"],
        "APP": ["手机app", "客户端", "移动端", "手机客户端", "app端", "移动app"],
        "信件": ["来信", "信函", "书信", "邮寄", "写信", "信访件"],
    }
)

REQUEST_TYPES = ("咨询", "投诉", "举报", "建议", "求助", "表扬", "其他")
_REQUEST = _synonyms(
    {
        "咨询": ["问询", "询问", "政策咨询", "咨询类"],
        "投诉": ["投诉类", "申诉", "投诉件"],
        "举报": ["检举", "揭发", "举报类"],
        "建议": ["意见", "意见建议", "建言", "建言献策", "建议类", "意见和建议"],
        "求助": ["求援", "帮助", "求助类"],
        "表扬": ["感谢", "点赞", "赞扬", "表扬类", "表扬感谢"],
        "其他": ["其它", "其他类"],
    }
)

SATISFACTION = ("满意", "基本满意", "不满意", "未回访")
_SATISFACTION = _synonyms(
    {
        "满意": ["非常满意", "十分满意", "很满意"],
        "基本满意": ["比较满意", "一般", "较满意"],
        "不满意": ["非常不满意", "很不满意", "不太满意", "十分不满意"],
        "未回访": ["不回访", "无需回访", "拒绝回访", "未接通", "无法联系", "回访未接通", "待回访"],
    }
)

_RESOLVED = {
    **{norm_value(w): True for w in ["是", "已解决", "解决", "y", "yes", "true", "1", "√", "已办结解决"]},
    **{norm_value(w): False for w in ["否", "未解决", "没解决", "n", "no", "false", "0", "×", "部分解决"]},
}

_WRITER = {
    **{norm_value(w): "enterprise" for w in
       ["企业", "法人", "单位", "公司", "企业法人", "个体工商户", "个体户", "市场主体", "商户", "enterprise"]},
    **{norm_value(w): "person" for w in ["个人", "自然人", "市民", "群众", "居民", "person"]},
}

REPORTER_CATEGORIES = ("人大代表", "企业家代表", "媒体记者", "行业协会", "商会", "群众代表")
_REPORTER = _synonyms(
    {
        "人大代表": ["人大", "区人大代表", "市人大代表"],
        "企业家代表": ["企业家", "企业代表"],
        "媒体记者": ["记者", "媒体", "新闻记者"],
        "行业协会": ["行业协会负责人", "协会", "协会代表"],
        "商会": ["商会负责人", "商会代表"],
        "群众代表": ["群众", "市民代表", "居民代表"],
    }
)


def _enum(value: object, table: Mapping[str, str]) -> str | None:
    s = clean(value)
    if not s:
        return None
    return table.get(norm_value(s), s)


def normalise_channel(value: object) -> str | None:
    """受理渠道 → 电话/网站/微信/APP/信件; unknown values kept as given; empty → None."""
    return _enum(value, _CHANNEL)


def normalise_request_type(value: object) -> str | None:
    """诉求类型 → 咨询/投诉/举报/建议/求助/表扬/其他; unknown values kept as given."""
    return _enum(value, _REQUEST)


def normalise_satisfaction(value: object) -> str | None:
    """回访满意度 → 满意/基本满意/不满意/未回访 (非常满意→满意, 比较满意→基本满意 …); empty → None."""
    return _enum(value, _SATISFACTION)


def normalise_resolved(value: object) -> bool | None:
    """是否解决 → True/False; empty or unknown → None (部分解决 counts as not solved)."""
    s = clean(value)
    return _RESOLVED.get(norm_value(s)) if s else None


def normalise_writer_type(value: object, *, entity_name: object = "", credit_code: object = "") -> str | None:
    """诉求人类型 → ``enterprise`` / ``person``; an 企业名称 or 统一社会信用代码 means enterprise."""
    if clean(entity_name) or clean(credit_code):
        return "enterprise"
    s = clean(value)
    return _WRITER.get(norm_value(s)) if s else None


def normalise_reporter_category(value: object) -> str | None:
    """监督员身份类别 → 人大代表/企业家代表/媒体记者/行业协会/商会/群众代表; unknown kept as given."""
    return _enum(value, _REPORTER)


# ----------------------------------------------------------------------------------------------
# The canonical frame contract
# ----------------------------------------------------------------------------------------------

_FRAMES = {"rows": ROW_COLUMNS, "feedback": FEEDBACK_COLUMNS, "answers": ANSWER_COLUMNS, "scores": SCORE_COLUMNS}
_DATETIME_COLUMNS = {"received_at", "due_at", "closed_at", "submitted_at"}


def conform(data: Mapping[str, Sequence[object]], columns: Sequence[str]) -> pd.DataFrame:
    """Build a canonical frame from column lists: exact column set and order, datetimes as
    ``datetime64``, missing columns filled with ``None``."""
    n = len(next(iter(data.values()))) if data else 0
    out: dict[str, object] = {}
    for col in columns:
        values = data.get(col)
        if values is None:
            values = [None] * n
        if col in _DATETIME_COLUMNS:
            out[col] = pd.to_datetime(pd.Series(values, dtype=object), errors="raise").astype("datetime64[us]")
        elif col == "row_number":
            out[col] = pd.Series(values, dtype="int64")
        elif col in ("score_100", "score"):
            out[col] = pd.Series(values, dtype="float64")
        else:
            out[col] = pd.Series(values, dtype=object)
    return pd.DataFrame(out, columns=list(columns))


def check_contract(parsed: ParsedFile, score_range: tuple[float, float] = (0, 100)) -> list[str]:
    """Problems with a :class:`ParsedFile` (empty list when it honours the contract).

    Checked: exact column lists; every derived row's ``record_key`` belongs to a parsed input row;
    row numbers are positive; feedback text is not empty; scores lie in ``score_range``;
    questionnaire scores lie in 0..100.
    """
    problems: list[str] = []
    for name, columns in _FRAMES.items():
        frame = getattr(parsed, name)
        if list(frame.columns) != list(columns):
            problems.append(f"{name}: columns {list(frame.columns)} != {list(columns)}")
    if problems:
        return problems
    keys = set(parsed.rows["record_key"])
    if parsed.rows["record_key"].isna().any():
        problems.append("rows: record_key is empty")
    if (pd.to_numeric(parsed.rows["row_number"]) < 1).any():
        problems.append("rows: row_number must be >= 1")
    for name in ("feedback", "answers", "scores"):
        frame = getattr(parsed, name)
        stray = set(frame["record_key"]) - keys
        if stray:
            problems.append(f"{name}: record_key not among parsed rows: {sorted(map(str, stray))[:3]}")
    text = parsed.feedback["text"]
    if (text.isna() | (text.astype(str).str.strip() == "")).any():
        problems.append("feedback: empty text")
    lo, hi = score_range
    scores = parsed.scores["score"]
    if ((scores < lo) | (scores > hi) | scores.isna()).any():
        problems.append(f"scores: score outside {lo}..{hi}")
    answers = parsed.answers["score_100"].dropna()
    if ((answers < 0) | (answers > 100)).any():
        problems.append("answers: score_100 outside 0..100")
    if any(not isinstance(q, QuarantinedRow) or q.row_number < 1 or not q.reason for q in parsed.quarantine):
        problems.append("quarantine: every row needs a row number >= 1 and a reason")
    return problems


# ----------------------------------------------------------------------------------------------
# Building a ParsedFile from a chunk of rows (shared by the four adapters)
# ----------------------------------------------------------------------------------------------

OVERFLOW_KEY = "__extra_cells__"


def stable_hash(*parts: object) -> str:
    """A short, stable hex digest of the parts (for natural keys of sources without an id)."""
    import hashlib

    joined = "\x1f".join(clean(p) for p in parts)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:16]


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def street_from_group(label: str, pattern: str | None) -> str:
    """The street a group label names (所属街道 from a label row or a sheet name), or "".

    ``pattern`` (a source's ``street_from_group`` in config/sources.yaml) must match the whole label;
    its first group is the street: ``龙子湖街道（12件）`` → ``龙子湖街道``; ``Sheet1`` → "".
    """
    if not label or not pattern:
        return ""
    m = _compiled(pattern).match(clean(label))
    return (m.group(1) if m.groups() else m.group(0)) if m else ""


class RowCollector:
    """Collects, for one chunk of input rows, which rows parsed (with their record_key) and which
    were quarantined (with a reason); builds the :class:`ParsedFile` at the end.

    ``cells[i]`` is aligned with ``header``; ``row_numbers[i]`` is its 1-based row number.
    ``overflow`` rows (cells right of the last header column in a CSV) are quarantined up front.
    """

    def __init__(
        self,
        source: str,
        header: Sequence[str],
        cells: Sequence[Sequence[str]],
        row_numbers: Sequence[int],
        overflow: Mapping[int, Sequence[str]] | None = None,
        sheet: str | None = None,
    ) -> None:
        self.source = source
        self.header = list(header)
        self.cells = cells
        self.row_numbers = list(row_numbers)
        self.prefix = f"[{sheet}] " if sheet else ""
        self.keys: list[str | None] = [None] * len(cells)
        self.errors: dict[int, list[str]] = {}
        self.overflow = dict(overflow or {})
        width = len(self.header)
        for i, extra in self.overflow.items():
            self.reject(
                i,
                f"row has {width + len(extra)} or more cells but the header has {width} columns "
                f"(extra cell '{echo(extra[0], 30)}'): a delimiter inside an unquoted field? "
                "Fix the file and ingest it again",
            )

    def raw(self, i: int) -> dict[str, object]:
        row: dict[str, object] = dict(zip(self.header, self.cells[i], strict=False))
        if i in self.overflow:
            row[OVERFLOW_KEY] = "|".join(self.overflow[i])
        return row

    def reject(self, i: int, reason: str) -> None:
        # Adapters echo cells in their own messages too: whatever they quote, a reason is one line.
        if "\n" in reason or "\r" in reason or not reason.isprintable():
            reason = one_line(reason)
        self.errors.setdefault(i, []).append(reason)

    def ok(self, i: int) -> bool:
        return i not in self.errors

    def required_datetime(self, i: int, label: str, text: str) -> datetime | None:
        """Parse a required date/time cell; an empty or unparseable cell rejects row ``i`` (with why)."""
        if not text:
            self.reject(i, f"{label} is empty")
            return None
        try:
            return parse_datetime(text)
        except ValueError as exc:
            self.reject(i, date_error(label, text, str(exc)))
            return None

    def accept(self, i: int, record_key: str) -> None:
        self.keys[i] = record_key

    def build(
        self,
        feedback: Mapping[str, Sequence[object]] | None = None,
        answers: Mapping[str, Sequence[object]] | None = None,
        scores: Mapping[str, Sequence[object]] | None = None,
    ) -> ParsedFile:
        good = [i for i in range(len(self.cells)) if i not in self.errors and self.keys[i] is not None]
        quarantine = [
            QuarantinedRow(self.row_numbers[i], self.raw(i), self.prefix + "; ".join(self.errors[i]))
            for i in sorted(self.errors)
        ]
        parsed = ParsedFile(
            source=self.source,
            rows=conform(
                {
                    "record_key": [self.keys[i] for i in good],
                    "row_number": [self.row_numbers[i] for i in good],
                    "raw": [self.raw(i) for i in good],
                },
                ROW_COLUMNS,
            ),
            quarantine=quarantine,
        )
        if feedback:
            parsed.feedback = conform(feedback, FEEDBACK_COLUMNS)
        else:
            parsed.feedback = conform({}, FEEDBACK_COLUMNS)
        parsed.answers = conform(answers or {}, ANSWER_COLUMNS)
        parsed.scores = conform(scores or {}, SCORE_COLUMNS)
        return parsed


def new_frame(columns: Sequence[str]) -> dict[str, list[object]]:
    """Empty column lists for a canonical frame, to be appended to row by row."""
    return {c: [] for c in columns}


def append_row(frame: dict[str, list[object]], **values: object) -> None:
    """Append one row (missing columns → None) to column lists made by :func:`new_frame`."""
    for col, lst in frame.items():
        lst.append(values.get(col))
