"""Enterprise questionnaires (问卷星式企业问卷导出) → canonical answers and feedback rows.

Columns: metadata (序号, 提交答卷时间, 所用时间, 来源, 来源详情, 来自IP) and one column per question
named ``N、题干`` (also ``N.题干``, ``Q N 题干``, ``第N题 题干``). A matrix (量表) question has one
column per row, ``N、(行标题)`` or ``N、题干—行标题``; the row title maps to an area through
``questionnaire.matrix_areas``.

* ``record_key`` = ``序号|提交答卷时间`` (ISO), so two questionnaires' 序号 1 do not collide;
* ``answers``: one row per response × question (matrix rows and other scalar questions; a
  multi-select answer ``A┋B`` gives one row per option; empty cells give none). Questions that
  identify the enterprise (企业名称, 信用代码, 行业, 规模, 街道, 联系人, 电话) are attributes of every
  answer row, not answers; open questions become feedback instead;
* ``score_100``: text answers through ``questionnaire.scale`` (非常满意 100 … 非常不满意 0); numbers
  5..1 through ``numeric_scale`` on matrix rows and on questions whose text says 满意/评价; missing
  answers (不了解, -2, -3 …) → NaN;
* ``feedback``: each open answer (question text contains one of ``open_questions``) that is not a
  non-answer (无, 没有, 暂无 … compared without punctuation; a bare scale word such as 满意 counts
  as a non-answer too) → one row with ``part`` = the question,
  request type 建议, writer type enterprise, ``score_100`` = the response's mean matrix score.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipeline.canonical import ANSWER_COLUMNS, FEEDBACK_COLUMNS, ParsedFile, RejectedFile
from pipeline.readers import TableChunk
from pipeline.validate import (
    RowCollector,
    append_row,
    clean,
    header_hints,
    id_text,
    map_columns,
    missing_columns_reason,
    new_frame,
    norm_header,
    norm_value,
    street_from_group,
    strip_punct,
)

SOURCE = "questionnaire"
MULTI_SEPARATOR = "┋"
# Other exporters (and a questionnaire re-typed in Excel) join the options of a multi-select answer
# with | or ｜; questionnaire.multi_separators in config/sources.yaml lists the ones read (not ， or 、:
# an option's own text may hold them, 满意，但需改进).
DEFAULT_MULTI_SEPARATORS = ("┋", "|", "｜")


def split_options(text: str, separators: Sequence[str]) -> list[str]:
    """The options of a (possibly multi-select) answer, stripped, empty parts dropped."""
    if not any(sep in text for sep in separators):
        return [text]
    pattern = "|".join(re.escape(sep) for sep in separators)
    return [o.strip() for o in re.split(pattern, text) if o.strip()]
DEFAULT_CHANNEL = "问卷"

_QUESTION = re.compile(r"^(?:第\s*)?(?:[Qq]\s*)?(\d{1,3})\s*(?:[、.:]|题|(?=\())\s*(.*)$", re.S)
_QUESTION_Q = re.compile(r"^[Qq]\s*(\d{1,3})\s*(.*)$", re.S)
PATTERNS = (re.compile(r"^(?:第\s*)?(?:[Qq]\s*)?\d{1,3}\s*(?:[、.．:：]|题|[(（])"), re.compile(r"^[Qq]\s*\d{1,3}"))
_MATRIX_SPLIT = re.compile(r"\s*(?:—+|─+|－|--+|_)\s*")
# Weaker separators (满意度:开办企业, 满意度-开办企业): a matrix row only when the part after them names
# an area of matrix_areas (a single - also writes ranges such as 1-5分).
_MATRIX_SPLIT_WEAK = re.compile(r"\s*[:：-]\s*")
_SCORED_WORDS = ("满意", "评价")
# An option letter in front of the answer (A.非常满意, B．满意, C 基本满意, D、不满意).
_OPTION_LETTER = re.compile(r"^[a-e]\s*[.．、)）:：]?\s*(.+)$", re.IGNORECASE)
# 问卷星's "other, please specify" answer: 其他〖what was typed〗.
_FILL_IN = re.compile(r"^(?:其他|其它)?\s*〖(.+)〗$")
# A matrix row written after its stem in brackets: 3、满意度评价(开办企业).
_STEM_ROW = re.compile(r"^(.+?)[(（]([^()（）]+)[)）]$")
# The scale a question states (（1-10分）, (0-10分), 满分10分, 10分制) and 1非常满意…5非常不满意 (reversed).
_SCALE_RANGE = re.compile(r"(\d{1,3})\s*(?:-|~|～|－|—|至|到)\s*(\d{1,3})\s*分(?!钟)")
_SCALE_FULL = re.compile(r"满分\s*(\d{1,3})\s*分|(\d{1,3})\s*分制")
_SCALE_REVERSED = re.compile(r"1\s*[=:：.、．]?\s*[(（]?\s*非常满意")


@dataclass
class Question:
    index: int  # column index
    label: str  # header as exported, e.g. "8、(开办企业)"
    number: int
    stem: str  # text after the number
    kind: str  # "matrix" | "field" | "open" | "scalar"
    row_title: str = ""
    area: str | None = None
    fld: str | None = None
    scored: bool = False
    scale: tuple[int, int] | None = None  # (rating worth 0, rating worth 100) when the header states one


@dataclass
class Plan:
    meta: dict[str, int]
    questions: list[Question] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Question]:
        return [q for q in self.questions if q.kind == kind]


def hints(cfg: dict) -> list[str]:
    return header_hints(cfg["columns"])


def parse_question(header: str) -> tuple[int, str] | None:
    """(number, stem) of a question header such as ``8、(开办企业)``, ``Q3 企业名称``; else None."""
    text = unicodedata.normalize("NFKC", clean(header))
    m = _QUESTION.match(text) or _QUESTION_Q.match(text)
    if not m:
        return None
    return int(m.group(1)), m.group(2).strip()


def _matrix_row(header: str, stem: str, cfg: dict | None = None) -> str | None:
    """Row title of a matrix column, or None for an ordinary question. With ``cfg`` (only for a
    question number that heads several columns, as a matrix does), also the weaker forms whose row
    names an area of ``matrix_areas``: 满意度:开办企业, and 6、开办企业 alone (a lone 3、纳税人类型 is a
    question of its own, not a rating)."""
    if stem.startswith("(") and stem.endswith(")") and len(stem) > 2:
        return stem[1:-1].strip()
    raw = clean(header)  # split on the exported dash before NFKC folds － into -
    parts = _MATRIX_SPLIT.split(raw)
    if len(parts) >= 2 and parts[-1].strip():
        return parts[-1].strip()
    if cfg is not None:
        weak = _MATRIX_SPLIT_WEAK.split(stem)
        if len(weak) >= 2 and weak[0].strip() and weak[-1].strip() and _area(weak[-1], cfg) is not None:
            return weak[-1].strip()  # 满意度:开办企业
        key = norm_header(stem)
        if len(key) <= 8 and any(norm_header(p) in key for pats in cfg.get("matrix_areas", {}).values()
                                 for p in pats):
            return stem.strip()  # 6、开办企业, 6、办理建筑许可: the row title alone
        if (m := _STEM_ROW.match(stem.strip())) and _area(m.group(2), cfg) is not None:
            return m.group(2).strip()  # 3、满意度评价(开办企业)
    return None


def _is_number(text: str) -> bool:
    try:
        float(norm_value(text).removesuffix("分"))
    except ValueError:
        return False
    return True


def _scale(header: str) -> tuple[int, int] | None:
    """The rating scale a question's header states, as (rating worth 0, rating worth 100): （1-10分）→
    (1, 10), 满分10分 / 10分制 → (0, 10), 1非常满意…5非常不满意 → (5, 1); None when it states none."""
    text = unicodedata.normalize("NFKC", clean(header))
    if _SCALE_REVERSED.search(text):
        return (5, 1)
    m = _SCALE_RANGE.search(text)
    if m and int(m.group(1)) < int(m.group(2)):
        return int(m.group(1)), int(m.group(2))
    m = _SCALE_FULL.search(text)
    if m:
        return 0, int(m.group(1) or m.group(2))
    return None


def _area(row_title: str, cfg: dict) -> str | None:
    key = norm_header(row_title)
    for area, patterns in cfg.get("matrix_areas", {}).items():
        if any(norm_header(p) and norm_header(p) in key for p in patterns):
            return area
    return None


def plan(header: Sequence[str], cfg: dict) -> Plan:
    meta = map_columns(header, cfg["columns"])
    missing = [f for f in cfg.get("required", []) if f not in meta]
    if missing:
        raise RejectedFile(missing_columns_reason(missing, cfg["columns"]))
    used = set(meta.values())
    field_patterns = cfg.get("questions", {})
    open_patterns = [norm_header(p) for p in cfg.get("open_questions", [])]
    result = Plan(meta)
    taken_fields: set[str] = set()
    numbers: dict[int, int] = {}
    for i, h in enumerate(header):
        if i not in used and (parsed := parse_question(h)) is not None:
            numbers[parsed[0]] = numbers.get(parsed[0], 0) + 1
    for i, h in enumerate(header):
        if i in used:
            continue
        parsed = parse_question(h)
        if parsed is None:
            continue
        number, stem = parsed
        q = Question(index=i, label=clean(h), number=number, stem=stem, kind="scalar", scale=_scale(h))
        key = norm_header(stem)
        is_open = any(p and p in key for p in open_patterns)
        row_title = None if is_open else _matrix_row(h, stem, cfg if numbers.get(number, 0) >= 2 else None)
        if row_title is not None:
            q.kind, q.row_title, q.area, q.scored = "matrix", row_title, _area(row_title, cfg), True
        elif is_open:  # before the fields: 您对所在街道和园区有何意见建议 is no street
            q.kind = "open"
        else:
            fld = next(
                (f for f, pats in field_patterns.items() if f not in taken_fields and any(norm_header(p) in key for p in pats)),
                None,
            )
            if fld is not None:
                q.kind, q.fld = "field", fld
                taken_fields.add(fld)
            else:
                q.scored = any(w in stem for w in _SCORED_WORDS)  # (a stated scale says how, not whether)
        result.questions.append(q)
    if result.questions and all(not q.stem for q in result.questions):
        # 第1题 … 第5题 with the texts on another sheet (or nowhere): nothing says which answer is the
        # street, a rating or an opinion, and the file loaded without scores, street or feedback in silence.
        raise RejectedFile(
            f"the questions are headed only by their numbers ({clean(header[result.questions[0].index])} …), "
            "so nothing says what they ask: export the answers with the question texts in the header "
            "(问卷星: 下载答卷数据, 按文本 or 按序号)")
    return result


class _Scorer:
    """Answer text → score on the documented 100-point scale (or NaN)."""

    def __init__(self, cfg: dict) -> None:
        self.text = {norm_value(k): float(v) for k, v in cfg.get("scale", {}).items()}
        self.numeric = {int(k): float(v) for k, v in cfg.get("numeric_scale", {}).items()}
        self.missing = {norm_value(v) for v in cfg.get("missing_answers", [])}
        # An open answer that is only a scale word ("满意") rates, it does not suggest anything.
        self.non_answers = {strip_punct(v) for v in [*cfg.get("non_answers", []), *cfg.get("scale", {})]} | {""}

    def is_missing(self, answer: str) -> bool:
        return norm_value(answer) in self.missing

    def score(self, answer: str, scored: bool, scale: tuple[int, int] | None = None) -> float:
        key = norm_value(answer)
        if key in self.missing:
            return math.nan
        if key in self.text:
            return self.text[key]
        if (m := _OPTION_LETTER.match(key)) and m.group(1) in self.text:
            return self.text[m.group(1)]  # A.非常满意, B、满意 (a hand-compiled sheet kept the option letters)
        if scored:
            try:
                number = float(key.removesuffix("分"))  # 问卷星 "按分数" exports may write 4分
            except ValueError:
                return math.nan
            if scale is not None:  # the scale the question states: linear onto 0..100
                lo, hi = scale
                inside = min(lo, hi) <= number <= max(lo, hi)
                return 100.0 * (number - lo) / (hi - lo) if inside else math.nan
            if number.is_integer() and int(number) in self.numeric:
                return self.numeric[int(number)]
        return math.nan

    def describe(self, scale: tuple[int, int] | None = None) -> str:
        """The accepted ratings, for error messages: '1–5 or 非常满意/满意/…'."""
        nums = sorted(self.numeric)
        span = f"{min(scale)}–{max(scale)}" if scale else (f"{nums[0]}–{nums[-1]}" if nums else "")
        words = "/".join(self.text)
        return " or ".join(x for x in (span, words) if x) + "; blank or a missing-answer word is fine"

    def is_feedback(self, answer: str) -> bool:
        if self.is_missing(answer):
            return False
        return strip_punct(answer) not in self.non_answers


def parse_chunk(plan: Plan, header: Sequence[str], chunk: TableChunk, cfg: dict, sheet: str | None = None) -> ParsedFile:
    rc = RowCollector(SOURCE, header, chunk.cells, chunk.row_numbers, chunk.overflow, sheet)
    scorer = _Scorer(cfg)
    answers = new_frame(ANSWER_COLUMNS)
    feedback = new_frame(FEEDBACK_COLUMNS)
    meta = plan.meta
    fields = {q.fld: q.index for q in plan.of_kind("field")}
    answered = [q for q in plan.questions if q.kind in ("matrix", "scalar")]
    matrix = [q for q in answered if q.kind == "matrix"]
    open_questions = plan.of_kind("open")
    separators = tuple(str(x) for x in cfg.get("multi_separators") or DEFAULT_MULTI_SEPARATORS)
    street_pattern = cfg.get("street_from_group")

    def label(fld: str) -> str:
        return header[meta[fld]] if fld in meta else fld

    for i, row in enumerate(chunk.cells):
        number = id_text(row[meta["response_no"]])
        submitted_txt = clean(row[meta["submitted_at"]])
        if not number:
            rc.reject(i, f"{label('response_no')} is empty")
        submitted = rc.required_datetime(i, label("submitted_at"), submitted_txt)
        for q in matrix:
            # A number off the scale (11 on 1–5: a typo, or a 10-point questionnaire the config does
            # not know) would load with no score and silently leave the satisfaction figures: the
            # response is quarantined instead, naming the cell, until the file or the scale in
            # config/sources.yaml is fixed. Words stay answers (a matrix of options such as 很快/很慢 is
            # no rating; scale words are scored by questionnaire.scale).
            text = clean(row[q.index])
            if text and not scorer.is_missing(text) and any(
                    _is_number(o) and math.isnan(scorer.score(o.strip(), True, q.scale))
                    for o in split_options(text, separators)):
                rc.reject(i, f"{header[q.index]} {text[:40]!r} is not on the answer scale ({scorer.describe(q.scale)})")
                break
        if not rc.ok(i):
            continue
        key = f"{number}|{submitted.isoformat(sep=' ')}"
        rc.accept(i, key)
        # (跳过) and (空) in a respondent's street or size are no street: they were stored as one
        attrs = {f: (_FILL_IN.sub(r"\1", v) if (v := clean(row[idx])) and not scorer.is_missing(v) else None)
                 for f, idx in fields.items()}  # (其他〖龙子湖高校园区〗: the street the respondent wrote in)
        if not attrs.get("street") and chunk.groups and street_pattern:
            attrs["street"] = street_from_group(chunk.groups[i], street_pattern) or None
        common = {
            "record_key": key,
            "source_record_id": number,
            "submitted_at": submitted,
            "entity_name": attrs.get("entity_name"),
            "credit_code": attrs.get("credit_code"),
            "street": attrs.get("street"),
            "industry": attrs.get("industry"),
            "size": attrs.get("size"),
        }
        matrix_scores: list[float] = []
        for q in answered:
            text = clean(row[q.index])
            if not text:
                continue
            for option in split_options(text, separators):
                if not option:
                    continue
                score = scorer.score(option, q.scored, q.scale)
                if q.kind == "matrix" and not math.isnan(score):
                    matrix_scores.append(score)
                append_row(
                    answers, **common, question=q.label, area_code=q.area, answer_text=option, score_100=score
                )
        mean_score = sum(matrix_scores) / len(matrix_scores) if matrix_scores else math.nan
        channel = clean(row[meta["channel"]]) if "channel" in meta else ""
        for q in open_questions:
            text = clean(row[q.index])
            if not text or not scorer.is_feedback(text):
                continue
            append_row(
                feedback,
                record_key=key,
                source_record_id=number,
                part=q.label,
                channel=channel or DEFAULT_CHANNEL,
                received_at=submitted,
                request_type="建议",
                writer_type="enterprise",
                person_name=attrs.get("contact_name"),
                phone=attrs.get("phone"),
                entity_name=attrs.get("entity_name"),
                credit_code=attrs.get("credit_code"),
                street=attrs.get("street"),
                text=text,
                score_100=mean_score,
            )
    return rc.build(feedback=feedback, answers=answers)
