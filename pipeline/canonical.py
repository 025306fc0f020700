"""The canonical frames every source adapter produces (规范化数据帧).

A source adapter (``pipeline/sources/<kind>.py``) turns one landing file into a :class:`ParsedFile`.
Counting is per *input row*: every data row of the file (title rows, the header, blank rows and
合计/总计 summary rows are not data rows) is either parsed into a record or quarantined with a reason.
Each parsed input row has a ``record_key`` — the source's natural key (工单编号 for a work order,
序号 for a questionnaire response, month+unit+indicator for a score …) — and produces zero or more
derived rows in ``feedback``, ``answers`` and ``scores``, each carrying that ``record_key``.

Adapters do not mask personal data and do not classify text: enrichment (``pipeline/enrich.py``)
normalises, masks and labels afterwards, so an adapter's only job is faithful parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

SOURCES = ("hotline", "questionnaire", "survey", "supervisor")

# One row per input row that parsed. ``raw`` is the original row as {header: cell text}.
ROW_COLUMNS = ["record_key", "row_number", "raw"]

# One row per piece of feedback text (工单诉求, 问卷意见建议, 暗访发现, 监督员反映).
FEEDBACK_COLUMNS = [
    "record_key",  # natural key of the input row this feedback came from
    "source_record_id",  # the source's own id shown to people (工单编号, 序号 …) = 原始编号
    "part",  # "" for the main text; question label when one response yields several texts
    "channel",  # 受理渠道 / 来源 (电话/网站/微信/APP/信件 …)
    "received_at",  # pandas Timestamp, naive local time (Asia/Shanghai)
    "request_type",  # 咨询/投诉/举报/建议/求助/表扬/其他, or None
    "writer_type",  # "enterprise" | "person" | None
    "person_name",  # raw, masked later
    "phone",  # raw, masked later
    "entity_name",  # raw enterprise name, masked later
    "credit_code",  # raw 统一社会信用代码, hashed later
    "address",
    "street",
    "title",
    "text",  # the free text (raw; normalised and masked later)
    "call_taker_category",  # 问题分类 as the call-taker wrote it
    "unit",  # 承办单位 / 涉及单位 / 评价对象
    "due_at",
    "closed_at",
    "handling_result",
    "status",
    "satisfaction",  # 满意 / 基本满意 / 不满意 / 未回访, or None
    "resolved",  # True / False / None
    "reporter_category",  # supervisor 身份类别
    "score_100",  # a numeric score attached to the text (low questionnaire answers), or NaN
]

# Questionnaire answers, long: one row per response × question.
ANSWER_COLUMNS = [
    "record_key",
    "source_record_id",
    "submitted_at",
    "question",  # the question text, e.g. "8、(开办企业)"
    "area_code",  # A1..A9 for matrix rows mapped in config, else None
    "answer_text",  # the answer as exported (text export) or the number as text
    "score_100",  # on the documented 100-point scale; NaN for skipped / 不了解 / non-scored questions
    "entity_name",
    "credit_code",
    "street",
    "industry",
    "size",
]

# Third-party evaluation scores (第三方测评), long: one row per month × unit × indicator × method.
SCORE_COLUMNS = [
    "record_key",
    "month",  # "YYYY-MM"
    "unit",
    "indicator",
    "area_code",  # mapped from the indicator through config, else None
    "method",
    "score",  # 0..100
    "sample_size",
    "rank",
]


@dataclass
class QuarantinedRow:
    """An input row that could not be accepted (隔离行), with a reason a person understands."""

    row_number: int  # row number as a person sees it in Excel or a text editor (1-based, header counted)
    raw: dict[str, object]
    reason: str
    sheet: str = ""  # the sheet of a workbook that has several used sheets (row numbers repeat across them)


@dataclass
class ParsedFile:
    """The result of parsing one landing file."""

    source: str
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROW_COLUMNS))
    feedback: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FEEDBACK_COLUMNS))
    answers: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ANSWER_COLUMNS))
    scores: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCORE_COLUMNS))
    quarantine: list[QuarantinedRow] = field(default_factory=list)
    ignored_rows: int = 0  # blank and 合计/总计 rows: not data, not counted in rows_in
    sheet: str = ""  # the sheet these rows come from, when the file has several used sheets

    @property
    def rows_in(self) -> int:
        return len(self.rows) + len(self.quarantine)


class RejectedFile(Exception):
    """The whole file cannot be read (拒收文件); nothing of it is loaded. The message is one line."""
