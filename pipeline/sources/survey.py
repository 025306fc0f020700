"""Third-party evaluation (第三方测评) → canonical score rows, and mystery-shopper findings
(暗访发现问题) → canonical feedback rows.

Three table shapes are recognised per sheet:

* **long** — 月份, 评价对象, 指标, 得分 (+ 方法, 样本量, 排名): one input row = one score row,
  ``record_key = 月份|评价对象|指标|方法``;
* **wide** — 月份, 评价对象 and one column per indicator (开办企业, 纳税, 综合得分 …): one input row
  = several score rows, ``record_key = 月份|评价对象|方法``. If any indicator cell is not a number in
  0..100 the whole input row is quarantined, naming the cell. Empty cells and ``-`` ``/`` ``无``
  mean "not evaluated" and give no score row. 样本量 applies to every score of the row; 排名 only to
  the 综合 (overall) score when there is one;
* **findings** — a 暗访发现问题 column: one input row = one feedback row (channel 暗访, request type
  投诉), ``record_key = 月份|评价对象|序号`` (or a hash of the text when there is no 序号).

Indicators map to areas through ``survey.indicator_areas`` in config (exact name, or the configured
name contained in the column/indicator name).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.canonical import FEEDBACK_COLUMNS, SCORE_COLUMNS, ParsedFile, RejectedFile
from pipeline.readers import TableChunk
from pipeline.validate import (
    RowCollector,
    append_row,
    clean,
    date_error,
    header_hints,
    id_text,
    map_columns,
    missing_columns_reason,
    new_frame,
    norm_header,
    norm_header_loose,
    parse_datetime,
    parse_int,
    parse_month,
    parse_number,
    stable_hash,
    strip_punct,
)

SOURCE = "survey"
PATTERNS: tuple = ()
OVERALL = "综合"
_OVERALL_NAMES = {"综合", "综合得分", "综合评分", "总分", "总得分", "综合分", "总体得分", "总体"}
_SUFFIX = re.compile(r"(得分|分数|评分|分值|\(分\)|分)$")
_FULL_MARKS = re.compile(r"[(（]\s*(?:满分|共|计)?\s*(\d{1,3}(?:\.\d+)?)\s*分\s*[)）]")


def _full_marks(header: str) -> float | None:
    """The full marks a wide table's column states when they are not 100 (开办企业（10分）, 纳税(满分15分)): its
    scores are stored on the 0–100 scale (8.5 of 10 → 85), as every other score; None otherwise."""
    m = _FULL_MARKS.search(unicodedata.normalize("NFKC", header))
    value = float(m.group(1)) if m else None
    return value if value and value != 100 else None


@dataclass
class Plan:
    kind: str  # "long" | "wide" | "findings"
    cols: dict[str, int]
    # wide: (column index, indicator name, area code)
    indicators: list[tuple[int, str, str | None]] = field(default_factory=list)
    ranks: dict[str, int] = field(default_factory=dict)  # wide: indicator → its own 排名 column


def _area_table(cfg: dict) -> list[tuple[str, str]]:
    return [(norm_header(alias), area) for area, aliases in cfg.get("indicator_areas", {}).items() for alias in aliases]


def indicator_area(name: str, cfg: dict) -> str | None:
    """The area (A1..A9) of an indicator name, or ``None`` (综合, or not configured)."""
    key = norm_header_loose(name)
    key = _SUFFIX.sub("", key) or key
    table = _area_table(cfg)
    for alias, area in table:
        if key == alias:
            return area
    for alias, area in table:
        if len(alias) >= 2 and alias in key:
            return area
    return None


def hints(cfg: dict) -> list[str]:
    names = header_hints(cfg["columns"]) + header_hints(cfg.get("findings", {}).get("columns", {}))
    names += [a for aliases in cfg.get("indicator_areas", {}).values() for a in aliases]
    return names + sorted(_OVERALL_NAMES)


_JOINT = re.compile(r"[\s—\-–_·:：/|]+$")
# An indicator's own rank beside its score (开办企业排名, 开办企业—排名 under a two-row header).
_RANK_OF = re.compile(r"^(.+?)[\s—\-–_·:：/|]*(?:排名|名次)$")


def _wide_ranks(header: Sequence[str], indicators: list[tuple[int, str, str | None]]) -> dict[str, int]:
    """Indicator name → the column of its own rank (a wide table's 开办企业排名)."""
    names = {name for _, name, _ in indicators}
    out: dict[str, int] = {}
    for i, h in enumerate(header):
        m = _RANK_OF.match(unicodedata.normalize("NFKC", clean(h)))
        if m and m.group(1).strip() in names:
            out.setdefault(m.group(1).strip(), i)
    return out


# Columns beside a wide table's scores that name an indicator but hold something else.
_NOT_A_SCORE = re.compile(r"(?:排名|名次|排序|样本量|样本数|样本|权重|等级|评级)\s*$")


def _wide_indicators(header: Sequence[str], used: set[int], cfg: dict) -> list[tuple[int, str, str | None]]:
    indicators: list[tuple[int, str, str | None]] = []
    for i, h in enumerate(header):
        if i in used:
            continue
        name = clean(h)
        if _NOT_A_SCORE.search(name):
            continue  # 开办企业排名, 纳税样本量: about an indicator, but no score of it
        # (开办企业—得分: a two-row header's title and 得分 below it; the joint must not stay on the name, or
        # the indicator is '开办企业—' in this file and '开办企业' in every other)
        stripped = _JOINT.sub("", _SUFFIX.sub("", _FULL_MARKS.sub("", unicodedata.normalize("NFKC", name))).strip()) or name
        if norm_header_loose(name) in _OVERALL_NAMES or norm_header_loose(stripped) in _OVERALL_NAMES:
            indicators.append((i, OVERALL, None))
            continue
        area = indicator_area(name, cfg)
        if area is not None:
            indicators.append((i, stripped, area))
    return indicators


def plan(header: Sequence[str], cfg: dict) -> Plan:
    """Which shape the table has (long / wide / findings) and where its columns are.

    A table with a 暗访发现问题 column is a findings table unless it also has scores (a 得分 column
    or several indicator columns): then it is a score table and the text column is ignored.
    """
    cols = map_columns(header, cfg["columns"])
    indicators = _wide_indicators(header, set(cols.values()), cfg)
    has_scores = "score" in cols or len(indicators) >= 2
    findings_cfg = cfg.get("findings", {})
    fcols = map_columns(header, findings_cfg.get("columns", {})) if findings_cfg else {}
    if "finding" in fcols and not has_scores:
        missing = [f for f in findings_cfg.get("required", []) if f not in fcols]
        if missing:
            raise RejectedFile(missing_columns_reason(missing, findings_cfg["columns"]))
        return Plan("findings", fcols)
    if "indicator" in cols or "score" in cols:
        missing = [f for f in cfg.get("required", []) if f not in cols]
        if missing:
            raise RejectedFile(missing_columns_reason(missing, cfg["columns"]))
        return Plan("long", cols)
    missing = [f for f in ("month", "unit") if f not in cols]
    if missing or not indicators:
        reason = missing_columns_reason(missing or ["indicator", "score"], cfg["columns"])
        if not indicators:
            reason += (
                " (a long table needs 指标 and 得分; a wide table needs one column per indicator such as "
                "开办企业, 纳税; a findings table needs 暗访发现问题)"
            )
        raise RejectedFile(reason)
    return Plan("wide", cols, indicators, _wide_ranks(header, indicators))


def parse_chunk(plan: Plan, header: Sequence[str], chunk: TableChunk, cfg: dict, sheet: str | None = None) -> ParsedFile:
    if plan.kind == "findings":
        return _parse_findings(plan, header, chunk, cfg, sheet)
    return _parse_scores(plan, header, chunk, cfg, sheet)


def _score_error(label: str, text: str, lo: float, hi: float) -> str | None:
    """None when fine; else a reason. Raises nothing."""
    try:
        value = parse_number(text)
    except ValueError:
        return f"{label} '{text}' is not a number (expected a score {lo:g}..{hi:g})"
    if value is not None and not lo <= value <= hi:
        return f"{label} '{text}' is outside {lo:g}..{hi:g}"
    return None


def _parse_scores(plan: Plan, header: Sequence[str], chunk: TableChunk, cfg: dict, sheet: str | None) -> ParsedFile:
    rc = RowCollector(SOURCE, header, chunk.cells, chunk.row_numbers, chunk.overflow, sheet)
    scores = new_frame(SCORE_COLUMNS)
    lo, hi = (float(x) for x in cfg.get("score_range", [0, 100]))
    cols = plan.cols

    def label(fld: str) -> str:
        return header[cols[fld]] if fld in cols else fld

    aggregate = re.compile(cfg["aggregate_units"]) if cfg.get("aggregate_units") else None
    full_marks = {idx: _full_marks(header[idx]) for idx, _, _ in plan.indicators}
    ignored = 0
    for i, row in enumerate(chunk.cells):
        def get(fld: str, row: Sequence[str] = row) -> str:
            return clean(row[cols[fld]]) if fld in cols else ""

        month_txt, unit, method = get("month"), get("unit"), get("method")
        if aggregate is not None and unit and aggregate.match(strip_punct(unit)):
            ignored += 1  # 全区平均: an aggregate of the units above, not a unit (not data, like 合计)
            continue
        month = None
        if not month_txt:
            rc.reject(i, f"{label('month')} is empty")
        else:
            try:
                month = parse_month(month_txt)
            except ValueError:
                rc.reject(i, f"{label('month')} '{month_txt}' is not a month (expected e.g. 2026-11 or 2026年11月)")
        if not unit:
            rc.reject(i, f"{label('unit')} is empty")
        sample = parse_int(get("sample_size"))
        rank = parse_int(get("rank"))
        if plan.kind == "long":
            indicator, score_txt = get("indicator"), get("score")
            if not indicator:
                rc.reject(i, f"{label('indicator')} is empty")
            if not score_txt:
                rc.reject(i, f"{label('score')} is empty")
            else:
                err = _score_error(label("score"), score_txt, lo, hi)
                if err:
                    rc.reject(i, err)
                elif parse_number(score_txt) is None:
                    rc.reject(i, f"{label('score')} '{score_txt}' is not a score (expected a number {lo:g}..{hi:g})")
            if not rc.ok(i):
                continue
            key = f"{month}|{unit}|{indicator}|{method}"
            rc.accept(i, key)
            append_row(
                scores, record_key=key, month=month, unit=unit, indicator=indicator,
                area_code=indicator_area(indicator, cfg), method=method or None,
                score=parse_number(score_txt), sample_size=sample, rank=rank,
            )
            continue
        # wide: validate every indicator cell before emitting anything for the row
        values: list[tuple[str, str | None, float]] = []
        own_rank: dict[str, int | None] = {}
        for idx, indicator, area in plan.indicators:
            text = clean(row[idx])
            full = full_marks[idx]  # 开办企业（10分）: a part of the total, scored out of its own full marks
            err = _score_error(header[idx], text, lo, full if full is not None else hi)
            if err:
                rc.reject(i, err)
                continue
            value = parse_number(text)
            if value is not None:
                values.append((indicator, area, value * 100.0 / full if full else value))
                if indicator in plan.ranks:
                    own_rank[indicator] = parse_int(clean(row[plan.ranks[indicator]]))
        if rc.ok(i) and not values:
            rc.reject(i, "no indicator score in this row (all indicator cells are empty)")
        if not rc.ok(i):
            continue
        key = f"{month}|{unit}|{method}"
        rc.accept(i, key)
        for indicator, area, value in values:
            append_row(
                scores, record_key=key, month=month, unit=unit, indicator=indicator, area_code=area,
                method=method or None, score=value, sample_size=sample,
                rank=own_rank.get(indicator, rank if indicator == OVERALL else None),
            )
    parsed = rc.build(scores=scores)
    parsed.ignored_rows += ignored
    return parsed


def _parse_findings(plan: Plan, header: Sequence[str], chunk: TableChunk, cfg: dict, sheet: str | None) -> ParsedFile:
    rc = RowCollector(SOURCE, header, chunk.cells, chunk.row_numbers, chunk.overflow, sheet)
    feedback = new_frame(FEEDBACK_COLUMNS)
    cols = plan.cols
    texts_of_key: dict[str, str] = {}  # key → its finding's text, within this file

    def label(fld: str) -> str:
        return header[cols[fld]] if fld in cols else fld

    for i, row in enumerate(chunk.cells):
        def get(fld: str, row: Sequence[str] = row) -> str:
            return clean(row[cols[fld]]) if fld in cols else ""

        when_txt, unit, text, number = get("month"), get("unit"), get("finding"), id_text(get("finding_no"))
        month = when = None
        if not when_txt:
            rc.reject(i, f"{label('month')} is empty")
        else:
            try:
                month = parse_month(when_txt)
            except ValueError as exc:
                rc.reject(i, date_error(label("month"), when_txt, str(exc)).replace("is not a date", "is not a date or month"))
            else:
                try:
                    when = parse_datetime(when_txt)
                except ValueError:  # month only: the visit happened some day that month
                    when = parse_datetime(f"{month}-01")
        if not unit:
            rc.reject(i, f"{label('unit')} is empty")
        if not text:
            rc.reject(i, f"{label('finding')} is empty (no finding text)")
        if not rc.ok(i):
            continue
        key = f"{month}|{unit}|{number}" if number else f"{month}|{unit}|{stable_hash(text)}"
        if texts_of_key.setdefault(key, text) != text:
            # the same 序号 twice in one list with two findings (a numbering slip): both are findings;
            # keyed by their text, the second no longer overwrites the first
            key = f"{key}|{stable_hash(text)}"
        rc.accept(i, key)
        append_row(
            feedback, record_key=key, source_record_id=number or key, part="", channel="暗访",
            received_at=when, request_type="投诉", text=text, unit=unit,
            call_taker_category=get("indicator") or None, score_100=math.nan,
        )
    return rc.build(feedback=feedback)
