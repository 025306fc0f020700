"""Bring personal data already stored up to the current masking rules (存量数据脱敏升级).

When a masking rule is added, rows loaded before it keep what the old rule left: re-running the
nightly job does not help, because an unchanged file or record is skipped. Each rule change therefore
bumps :data:`MASKING_VERSION`, and :func:`upgrade_masking` (called by ``ensure_schema`` before every
run, a no-op once done) rewrites the stored values that the new rule masks further, then records the
version in ``warehouse_meta``. It only ever masks more: every rule is idempotent, so a value already
masked is left as it is.

Versions:

1. phones, ID numbers, credit codes, bank cards, e-mail addresses and names (the first release);
2. homes and IP addresses: a postal address keeps the building or house number but not the household
   (单元/层/室) — ``feedback.address_masked`` and the address columns of the raw rows kept in
   ``source_record.payload``, ``record_history.changes`` and ``quarantine.raw``; an IP address of a
   questionnaire answer (来自IP) keeps its first two parts; a flat written in a free text (3单元1502,
   1803室, 房号1502) loses its numbers in every text and JSON column of every table (feedback texts,
   clue descriptions and examples, ledger items, payloads).
3. a number with 号 after a compound (祥润花园1203号) is a flat, not a street number (金水东路88号):
   addresses masked by version 2 are masked again (the rules of version 2 and 3 run the same pass).
4. names seen unmasked in real message-board letters: after 姓名 and a comma (本人姓名，罗某某), after
   我是 (我是吴某某，), and with 72 more common surnames (我叫喻某某, 户主康某某) — in every text and JSON
   column of every table.
5. what a red-team run of 207 hand-written letters found missed (docs/ingestion.md): 15-digit ID numbers
   (the date check read them as 18-digit), an 18-digit number after 身份证号 with a wrong check digit,
   19-digit cards written 4-4-4-4-3, landlines written 0371-6789 1234, flats written 12-3-502, a surname
   on its own (姓王的女士, 经理姓陈), names after 举报人/留言人/委托人/经营者/户名/签名/落款, and the
   surnames 关, 符, 华, 车; names with no label or title after a person's role (业主孙志强, 包工头王大明)
   or opening a sentence before a reporting verb (刘洋反映：) — in every text and JSON column of every
   table; ID and account columns by header (身份证号码, 银行卡号) masked whole.
6. what a red-team run of the quarantine found (docs/ingestion.md): cells under a caller's header that
   the person-name rule did not know (留言用户, 留言人, 来信人, 申请人, 投诉人, 经办人 …) masked as names in
   the raw rows of ``source_record.payload``, ``record_history.changes`` and ``quarantine.raw``; an
   18-digit number shaped like an ID number (province, birth date of somebody at least ten years old)
   with a wrong check digit, anywhere; a quarantine reason that quoted a cell cut before it was masked
   (13812…) — such a reason keeps the cut digits, so reasons are masked with the rest.
7. what an analyst's red-team run of the demo warehouse found (session 9): names after 办事人, 其叫,
   他叫/她叫, 名叫, 名字叫 (办事人郭华卫，身份证号… — the ID number beside it was masked), and a clerk's name
   after 工作人员 before 态度/工作认真/热情/耐心 (praise names the clerk); then, from its re-test, names
   before 经理/主任/科长/处长/局长/所长/队长/警官 (魏**经理, *局长) and after 名字为/名字是/承办人/受理人/接线员
   — in every text and JSON column. (The same release stops masking a place after a label — 来电人是黄河花苑的租户 — and reads 市政 in an
   enterprise name as a trade, not a city; what earlier versions masked there stays masked, and
   ``entity_name_masked`` values already stored are not re-masked.)
8. what a third red-team run of 384 hand-written texts found (session 10; 120 of 277 items hidden before,
   221 after, false alterations of clean texts 25 → 3): phones typed 139.3712.6688, 138—3712—5577,
   (150)3712 8899, 1 3 8 3 …, with a trunk 0, in Chinese numerals, 0371—65432198, +86-371-…, and a second
   number after 、; phone columns (联系电话, 手机 …) masked by the phone-field rule in raw rows too; ID numbers
   and credit codes written in groups; licence plates (豫A12345), WeChat/QQ ids and passports after their
   label; names after more titles (张总, 刘工, 王姐, X书记, X医生, X律师, X老板, X同志 …), 老X/小X, officials'
   and supervisors' labels (督查员, 监督员, 处理人, 回复人, 对接人, 法人, 民警, 专员 …), more roles (家属,
   邻居, 同学 …), names joined to a name (吴建平、谢美玲), before a phone (李桂香139…) and before 家/电话/
   都/今年; and no longer masked: 于 before a time after any label (来电人于近日), places after a label
   (来电人是高新区, 投诉人为周边居民, 联系人是万达广场的) or opening a sentence (李寨反映) — in every text and
   JSON column (what earlier versions masked there stays masked). Then, from a blind fourth run: staff named
   in replies after their job (…员, 人员, 大队, 窗口: 执法人员杨帆、李军), parties of a complaint (其妻, 前妻,
   租客 …), form fields (填表人, 受访者, 报告人, 甲方/乙方), reply greetings (李建华网友：), the surnames 占 卫 寇 智
   曲 计 豆 门 封, and a signature right before a phone.
9. what a blind fifth run of 311 hand-written texts found (session 11; 181 of 328 items hidden before):
   a name found once is masked wherever else the text writes it (民警闫** … 闫晓东于当日); names in a list
   of three or more, or of two before a head count (涉及张伟、李娜、王磊五人); a three-character name after a
   role whatever follows it (保安郭志强推搡) and after a role with a bracket (房东（宁秀珍）); more roles (辅警,
   楼长, 置业顾问, 经纪人, 财务, 之子 …) and labels (胸牌, 真名, 大名, 付款人, 接收人, 名字 …); a two-character
   name padded to three (承办人：薛　勇); a full name in brackets after a nickname (小杜（杜亚楠）); names in
   Latin letters (Zhou Pengfei, Tony Wang, ZHANG XIAOLI) and transliterated with a middle dot
   (阿依古丽·买买提); a name signed alone on its line or after —— ; an ID number inside a longer number
   (残疾人证号, 学籍号 G…); a lower-case plate; 抖音号/快手号/WeChat ids; a village house number (三组43号); a
   landline after 留的号码; the surnames 仝 亓 逯 昝 郄 禚 訾 缑 阚 亢 冼. No longer masked: a common word after a
   label (已向来电人解释, 来电人车辆; 18 of 25 such replies were altered), public figures (学习焦裕禄同志), a
   place after a label (金光派出所). (Pure-ASCII values are still skipped by the upgrade: a WeChat id in an
   all-ASCII cell is masked on new loads only.)
10. a phone column (联系电话, 联系方式) masked with the free-text rules around its numbers too: a
   supervisor's "微信：zhangjg_1975 / 139…" kept the WeChat id in ``feedback.phone_masked`` (session 12, a
   fifth exports red-team run).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Column, Connection, String, Table, Text, select, tuple_, update

from nlp import pii
from warehouse import load as wl
from warehouse.models import Base, WarehouseMeta

log = logging.getLogger(__name__)

MASKING_VERSION = 10
META_KEY = "pii_masking_version"
PAGE_ROWS = 2000


@lru_cache(maxsize=4096)
def _key_rule(key: str) -> Callable[[str], str | None] | None:
    """The rule (from version 2) for a column or raw header: IP address, postal address, ID number or
    (from version 6) person name, else None. A name cell with a ``*`` was masked already (欧阳** must
    not become 欧***)."""
    if pii.field_kind(key) == "person":
        return lambda v: v if "*" in v else pii.mask_name(v)
    return pii.field_mask(key)


# Space-joined word lists (feedback.tokens, problem_clue.keywords) were cut from masked texts: the name
# rules read them out of context ('经办人 杨桥 街道' → 经办人 杨*), so only what is personal data as a
# single word (a phone, an ID number) is masked there. (Every upgrade before this one garbled such
# tokens; found in session 8 when a place name in the tokens moved a clue.)
_WORD_LIST_COLUMNS = frozenset({"tokens", "keywords"})


def _mask_words(text: str) -> str:
    new = [m for m in pii.find_pii(text) if m.kind != "person_name"] if pii.might_contain_pii(text) else []
    return pii.mask_matches(text, new) if new else text


def _mask_text(text: str) -> str:
    """A stored free text with what later versions find masked too. What an earlier version masked is
    not found again (138****5678, 张* and 3单元**** are no personal data to the rules), so only the
    newly recognised pieces change. ASCII-only values are left alone: no rule added after version 1 is
    ASCII-only, and checksums and paths (ingest_file.sha256) must not be touched."""
    if (text.isascii() and not _LONG_DIGITS.search(text)) or not pii.might_contain_pii(text):
        return text
    new = pii.find_pii(text)
    return pii.mask_matches(text, new) if new else text


# (from version 6 an ID-shaped number with a wrong check digit is masked: an ASCII-only value may hold one)
_LONG_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# A quarantine reason of an earlier version quoted a cell cut before masking: '来来…13812…' kept the
# first digits of a number. Such a cut run of digits before the ellipsis is masked (version 6).
_CUT_DIGITS = re.compile(r"\d{4,}…")


def remask_value(value: Any, key: str = "") -> Any:
    """A stored value masked to the current version: strings by the rule of their column or key (``key``) or,
    for free text, what the current rules find; dicts and lists walked (a dict's keys name its cells); others as they are."""
    if isinstance(value, str):
        rule = _key_rule(key) if key else None
        return rule(value) if rule is not None else _mask_text(value)
    if isinstance(value, dict):
        return {k: remask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [remask_value(v, key) for v in value]
    return value


def remask_raw(raw: Any) -> Any:
    """A stored raw row (``{header: value}``, or ``record_history.changes``: ``{header: [old, new]}``)
    masked to the current version; a JSON text is read first; anything else is returned as it is."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return raw
    return remask_value(raw) if isinstance(raw, dict) else raw


def stored_version(conn: Connection) -> int:
    value = conn.scalar(select(WarehouseMeta.value).where(WarehouseMeta.key == META_KEY))
    try:
        return int(value) if value is not None else 1
    except ValueError:
        return 1


def _text_tables() -> list[tuple[Table, list[Column], list[Column]]]:
    """(table, primary key, text and JSON columns) of every warehouse table with a primary key."""
    import warehouse.marts  # noqa: F401  (puts the marts on Base.metadata)

    out = []
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        cols = [c for c in table.columns if c not in pk and (isinstance(c.type, String | Text | JSON))
                and not c.name.endswith(("_hash", "_id", "_key"))]
        if pk and cols and table.name != META_KEY:
            out.append((table, pk, cols))
    return out


def upgrade_masking(conn: Connection, page_rows: int = PAGE_ROWS) -> dict[str, int]:
    """Mask stored values to :data:`MASKING_VERSION`; returns rows changed per table (empty when the
    warehouse was already at the current version). Safe to run again.

    Tables are read in pages of ``page_rows`` rows in primary-key order (keyset paging), and each
    page's changes are written before the next page is read, so memory stays flat on a warehouse
    of millions of rows."""
    if stored_version(conn) >= MASKING_VERSION:
        return {}
    changed: dict[str, int] = {}
    for table, pk, cols in _text_tables():
        n_changed, last = 0, None
        while True:
            stmt = select(*pk, *cols).order_by(*pk).limit(page_rows)
            if last is not None:
                stmt = stmt.where(tuple_(*pk) > tuple_(*last))
            rows = conn.execute(stmt).all()
            for row in rows:
                new = _remasked(cols, row[len(pk):])
                if new:
                    conn.execute(update(table).where(*(c == v for c, v in zip(pk, row[:len(pk)], strict=True)))
                                 .values(new))
                    n_changed += 1
            if len(rows) < page_rows:
                break
            last = tuple(rows[-1][:len(pk)])
        if n_changed:
            changed[table.name] = n_changed
    # an upsert: two runs starting at once both mask (idempotently) and neither fails on the key
    wl.upsert(conn, WarehouseMeta.__table__, [{"key": META_KEY, "value": str(MASKING_VERSION)}], ["key"])
    if changed:
        log.info("stored personal data masked to version %s: %s", MASKING_VERSION, changed)
    return changed


def _remasked(cols: list[Column], values: Any) -> dict[str, Any]:
    """{column: new value} for the values of one row that the current rules mask further."""
    new = {}
    for col, value in zip(cols, values, strict=True):
        if isinstance(col.type, JSON) and isinstance(value, str):
            value_new = remask_raw(value)
        elif col.name in _WORD_LIST_COLUMNS and isinstance(value, str):
            value_new = _mask_words(value)
        else:
            value_new = remask_value(value, col.name)
        if col.table.name == "quarantine" and col.name == "reason" and isinstance(value_new, str):
            value_new = _CUT_DIGITS.sub(lambda m: "*" * (len(m.group()) - 1) + "…", value_new)
        if value_new != value:
            new[col.name] = value_new
    return new
