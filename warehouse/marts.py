"""Marts (数据集市): summary tables analysts query, refreshed incrementally by the nightly job.

Every mart is a pure function of the base tables (feedback, survey_answer, survey_score, dim_entity):
:func:`refresh` deletes the rows of the days and months it is asked about and inserts them again,
inside the caller's transaction, so running it twice for the same day leaves every mart unchanged
and a crash half-way leaves the previous state. No mart row carries a "refreshed at" time for the
same reason.

Grain and meaning of each mart (details and examples in docs/data_dictionary.md):

- ``mart_feedback_daily`` / ``mart_feedback_monthly``: feedback volume (诉求量), negative share
  (负面占比), mean sentiment, complaints (投诉举报), on-time handling (按时办结率) and follow-up
  satisfaction (回访满意率) per day or month × area × source × channel × street × writer type.
- ``mart_area_monthly``: the same measures per area and month, plus questionnaire satisfaction
  (问卷满意度), the mean third-party score (第三方测评得分), the composite index (综合指数) and its
  rank, and 环比 (month-on-month) / 同比 (year-on-year) changes.
- ``mart_survey_area_monthly``: questionnaire satisfaction per area and month on the 100-point
  scale with its sample size, 环比 and 同比.
- ``mart_score_monthly``: third-party scores per month × area × evaluated unit, 环比 and 同比.
- ``mart_repeat_entity``: repeat complainants (重复投诉企业): enterprises with at least N complaints
  in the W days ending on the month's last day, by hashed id and masked name.
- ``mart_month``: the month calendar (月份维) that makes 环比/同比 self-joins portable SQL.

Aggregation runs in the database through SQLAlchemy Core (the same statements on SQLite and
PostgreSQL); only month arithmetic, the composite index and ranks are computed in Python.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from warehouse.bulk import bulk_insert
from warehouse.models import Base, DimEntity, Feedback, SurveyAnswer, SurveyScore

UNKNOWN = "未知"  # channel or street not given in the source
WRITER_UNKNOWN = "unknown"  # writer_type not given (values are otherwise enterprise / person)
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# The components of the composite index (综合指数), each on a 0–100 scale where higher is better.
COMPONENTS = ("sentiment", "survey", "third_party", "on_time", "followup", "volume")


# --------------------------------------------------------------------------- mart tables


class _FeedbackMeasures:
    """Measures shared by the daily and monthly feedback marts."""

    n_feedback: Mapped[int] = mapped_column(Integer)
    n_negative: Mapped[int] = mapped_column(Integer)
    negative_share: Mapped[float | None] = mapped_column(Float)
    sentiment_mean: Mapped[float | None] = mapped_column(Float)
    n_complaints: Mapped[int] = mapped_column(Integer)
    n_entities: Mapped[int] = mapped_column(Integer)
    n_handled: Mapped[int] = mapped_column(Integer)
    n_on_time: Mapped[int] = mapped_column(Integer)
    on_time_rate: Mapped[float | None] = mapped_column(Float)
    n_followup: Mapped[int] = mapped_column(Integer)
    n_satisfied: Mapped[int] = mapped_column(Integer)
    followup_satisfaction_rate: Mapped[float | None] = mapped_column(Float)


class MartFeedbackDaily(_FeedbackMeasures, Base):
    """Daily feedback (每日诉求汇总) per day × area × source × channel × street × writer type."""

    __tablename__ = "mart_feedback_daily"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    area: Mapped[str] = mapped_column(String(8), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    street: Mapped[str] = mapped_column(String(64), primary_key=True)
    writer_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)


class MartFeedbackMonthly(_FeedbackMeasures, Base):
    """Monthly feedback (每月诉求汇总) per month × area × source × channel × street × writer type."""

    __tablename__ = "mart_feedback_monthly"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    area: Mapped[str] = mapped_column(String(8), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    street: Mapped[str] = mapped_column(String(64), primary_key=True)
    writer_type: Mapped[str] = mapped_column(String(16), primary_key=True)


class MartAreaMonthly(_FeedbackMeasures, Base):
    """Area × month scorecard (领域月度指标): feedback, satisfaction, scores, composite index, 环比/同比."""

    __tablename__ = "mart_area_monthly"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    area: Mapped[str] = mapped_column(String(8), primary_key=True)
    survey_satisfaction: Mapped[float | None] = mapped_column(Float)
    survey_n_answers: Mapped[int] = mapped_column(Integer)
    third_party_score: Mapped[float | None] = mapped_column(Float)
    third_party_n: Mapped[int] = mapped_column(Integer)
    composite_index: Mapped[float | None] = mapped_column(Float)
    composite_components: Mapped[int] = mapped_column(Integer)
    composite_rank: Mapped[int | None] = mapped_column(Integer)
    n_feedback_prev_month: Mapped[int | None] = mapped_column(Integer)
    n_feedback_mom_pct: Mapped[float | None] = mapped_column(Float)
    n_feedback_prev_year: Mapped[int | None] = mapped_column(Integer)
    n_feedback_yoy_pct: Mapped[float | None] = mapped_column(Float)
    negative_share_prev_month: Mapped[float | None] = mapped_column(Float)
    negative_share_mom_pp: Mapped[float | None] = mapped_column(Float)
    negative_share_prev_year: Mapped[float | None] = mapped_column(Float)
    negative_share_yoy_pp: Mapped[float | None] = mapped_column(Float)
    survey_satisfaction_prev_month: Mapped[float | None] = mapped_column(Float)
    survey_satisfaction_mom_pts: Mapped[float | None] = mapped_column(Float)
    survey_satisfaction_prev_year: Mapped[float | None] = mapped_column(Float)
    survey_satisfaction_yoy_pts: Mapped[float | None] = mapped_column(Float)
    composite_index_prev_month: Mapped[float | None] = mapped_column(Float)
    composite_index_mom_pts: Mapped[float | None] = mapped_column(Float)
    composite_index_prev_year: Mapped[float | None] = mapped_column(Float)
    composite_index_yoy_pts: Mapped[float | None] = mapped_column(Float)
    composite_rank_prev_month: Mapped[int | None] = mapped_column(Integer)


class MartSurveyAreaMonthly(Base):
    """Questionnaire satisfaction (问卷满意度) per area and month, 100-point scale, with 环比/同比."""

    __tablename__ = "mart_survey_area_monthly"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    area: Mapped[str] = mapped_column(String(8), primary_key=True)
    n_answers: Mapped[int] = mapped_column(Integer)
    n_responses: Mapped[int] = mapped_column(Integer)
    n_entities: Mapped[int] = mapped_column(Integer)
    satisfaction_mean: Mapped[float] = mapped_column(Float)
    satisfaction_prev_month: Mapped[float | None] = mapped_column(Float)
    satisfaction_mom_pts: Mapped[float | None] = mapped_column(Float)
    satisfaction_prev_year: Mapped[float | None] = mapped_column(Float)
    satisfaction_yoy_pts: Mapped[float | None] = mapped_column(Float)


class MartScoreMonthly(Base):
    """Third-party evaluation scores (第三方测评) per month × area × evaluated unit, with 环比/同比."""

    __tablename__ = "mart_score_monthly"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    area: Mapped[str] = mapped_column(String(8), primary_key=True)
    unit: Mapped[str] = mapped_column(String(128), primary_key=True)
    n_scores: Mapped[int] = mapped_column(Integer)
    score_mean: Mapped[float] = mapped_column(Float)
    score_min: Mapped[float] = mapped_column(Float)
    score_max: Mapped[float] = mapped_column(Float)
    sample_size: Mapped[int | None] = mapped_column(Integer)
    score_prev_month: Mapped[float | None] = mapped_column(Float)
    score_mom_pts: Mapped[float | None] = mapped_column(Float)
    score_prev_year: Mapped[float | None] = mapped_column(Float)
    score_yoy_pts: Mapped[float | None] = mapped_column(Float)


class MartRepeatEntity(Base):
    """Repeat complainants (重复投诉企业): ≥ N complaints in the W days ending on the month's last day."""

    __tablename__ = "mart_repeat_entity"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    entity_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_masked: Mapped[str | None] = mapped_column(String(256))
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    n_complaints: Mapped[int] = mapped_column(Integer)
    n_complaints_month: Mapped[int] = mapped_column(Integer)
    n_areas: Mapped[int] = mapped_column(Integer)
    areas: Mapped[str] = mapped_column(String(128))
    top_area: Mapped[str] = mapped_column(String(8))
    n_sources: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime)
    street: Mapped[str | None] = mapped_column(String(64))


class MartMonth(Base):
    """Month calendar (月份维): previous month and same month last year, for portable 环比/同比 joins."""

    __tablename__ = "mart_month"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    month_no: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    n_days: Mapped[int] = mapped_column(Integer)
    prev_month: Mapped[str] = mapped_column(String(7))
    prev_year_month: Mapped[str] = mapped_column(String(7))
    next_month: Mapped[str] = mapped_column(String(7))


MART_TABLES = (
    MartFeedbackDaily.__table__,
    MartFeedbackMonthly.__table__,
    MartAreaMonthly.__table__,
    MartSurveyAreaMonthly.__table__,
    MartScoreMonthly.__table__,
    MartRepeatEntity.__table__,
    MartMonth.__table__,
)


# --------------------------------------------------------------------------- months


def month_of(day: dt.date) -> str:
    """'YYYY-MM' of a day."""
    return f"{day.year:04d}-{day.month:02d}"


def check_month(month: str) -> str:
    """The month itself when it looks like 2026-11; ValueError otherwise."""
    if not isinstance(month, str) or not MONTH_RE.match(month):
        raise ValueError(f"{month!r} is not a month like 2026-11")
    return month


def add_months(month: str, k: int) -> str:
    """The month ``k`` months after ``month`` (k may be negative)."""
    y, m = int(month[:4]), int(month[5:7])
    idx = y * 12 + (m - 1) + k
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last calendar day of a month."""
    y, m = int(month[:4]), int(month[5:7])
    return dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last`` inclusive."""
    out, m = [], first
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


# --------------------------------------------------------------------------- settings


DEFAULT_WEIGHTS: dict[str, float] = {
    "sentiment": 0.25,
    "survey": 0.25,
    "third_party": 0.20,
    "on_time": 0.10,
    "followup": 0.10,
    "volume": 0.10,
}


@dataclass(frozen=True)
class MartSettings:
    """What counts as negative, a complaint or a satisfied follow-up, and the index weights.

    Loaded from config/marts.yaml by ``pipeline.marts``; the defaults equal the shipped file.
    """

    negative_label: str = "neg"
    complaint_request_types: tuple[str, ...] = ("投诉", "举报")
    complaint_if_negative: bool = True
    followup_satisfied: tuple[str, ...] = ("满意", "基本满意")
    followup_answered: tuple[str, ...] = ("满意", "基本满意", "不满意")
    repeat_window_days: int = 90
    repeat_min_complaints: int = 3
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    rank_exclude: tuple[str, ...] = ("Z",)

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any] | None) -> MartSettings:
        """Build from the parsed config/marts.yaml; unknown components or bad values raise ValueError."""
        cfg = cfg or {}
        d = cls()
        comp = cfg.get("complaint") or {}
        fol = cfg.get("followup") or {}
        rep = cfg.get("repeat_entities") or {}
        idx = cfg.get("composite_index") or {}
        weights = {str(k): float(v) for k, v in (idx.get("weights") or d.weights).items()}
        unknown = sorted(set(weights) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"config/marts.yaml: unknown composite_index components {unknown}; "
                             f"known: {list(COMPONENTS)}")
        if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
            raise ValueError("config/marts.yaml: composite_index weights must be >= 0 and not all 0")
        window = int(rep.get("window_days", d.repeat_window_days))
        min_n = int(rep.get("min_complaints", d.repeat_min_complaints))
        if window < 1 or min_n < 1:
            raise ValueError("config/marts.yaml: repeat_entities window_days and min_complaints must be >= 1")
        return cls(
            negative_label=str(cfg.get("negative_label", d.negative_label)),
            complaint_request_types=tuple(str(x) for x in comp.get("request_types", d.complaint_request_types)),
            complaint_if_negative=bool(comp.get("negative_sentiment", d.complaint_if_negative)),
            followup_satisfied=tuple(str(x) for x in fol.get("satisfied", d.followup_satisfied)),
            followup_answered=tuple(str(x) for x in fol.get("answered", d.followup_answered)),
            repeat_window_days=window,
            repeat_min_complaints=min_n,
            weights=weights,
            rank_exclude=tuple(str(x) for x in idx.get("rank_exclude", d.rank_exclude)),
        )


# --------------------------------------------------------------------------- SQL pieces


def _sql_text(value: str) -> Any:
    # Inline constants (not bound parameters) where they appear in GROUP BY: PostgreSQL treats two
    # parameters $1 and $2 as different expressions even when both carry the same value.
    return literal_column("'" + value.replace("'", "''") + "'")


def _complaint_condition(s: MartSettings) -> Any:
    f = Feedback.__table__.c
    cond = f.request_type.in_(s.complaint_request_types)
    if s.complaint_if_negative:
        cond = or_(cond, f.sentiment == s.negative_label)
    return cond


def _feedback_measures(s: MartSettings) -> list[Any]:
    """The _FeedbackMeasures columns as aggregate expressions over ``feedback``, in column order."""
    f = Feedback.__table__.c
    neg = case((f.sentiment == s.negative_label, 1), else_=0)
    on_time = case((f.on_time == true(), 1), else_=0)
    answered = case((f.satisfaction.in_(s.followup_answered), 1), else_=0)
    satisfied = case((f.satisfaction.in_(s.followup_satisfied), 1), else_=0)
    return [
        func.count().label("n_feedback"),
        func.sum(neg).label("n_negative"),
        (cast(func.sum(neg), Float) / func.count()).label("negative_share"),
        func.avg(f.sentiment_score).label("sentiment_mean"),
        func.sum(case((_complaint_condition(s), 1), else_=0)).label("n_complaints"),
        func.count(f.entity_hash.distinct()).label("n_entities"),
        func.count(f.on_time).label("n_handled"),
        func.sum(on_time).label("n_on_time"),
        (cast(func.sum(on_time), Float) / func.nullif(func.count(f.on_time), 0)).label("on_time_rate"),
        func.sum(answered).label("n_followup"),
        func.sum(satisfied).label("n_satisfied"),
        (cast(func.sum(satisfied), Float) / func.nullif(func.sum(answered), 0))
        .label("followup_satisfaction_rate"),
    ]


MEASURE_COLUMNS = ("n_feedback", "n_negative", "negative_share", "sentiment_mean", "n_complaints",
                   "n_entities", "n_handled", "n_on_time", "on_time_rate", "n_followup", "n_satisfied",
                   "followup_satisfaction_rate")


def _feedback_dims() -> list[Any]:
    """The grouping expressions (unlabelled, for GROUP BY) of the feedback marts, in column order."""
    f = Feedback.__table__.c
    return [
        f.area,
        f.source,
        func.coalesce(f.channel, _sql_text(UNKNOWN)),
        func.coalesce(f.street, _sql_text(UNKNOWN)),
        func.coalesce(f.writer_type, _sql_text(WRITER_UNKNOWN)),
    ]


DIM_COLUMNS = ("area", "source", "channel", "street", "writer_type")


def _labelled(dims: list[Any]) -> list[Any]:
    return [d.label(n) for d, n in zip(dims, DIM_COLUMNS, strict=True)]


def _in_month(col: Any, month: str) -> Any:
    first, last = month_bounds(month)
    return and_(col >= first, col <= last)


# --------------------------------------------------------------------------- the refresh


@dataclass
class _Plan:
    days_by_month: dict[str, list[dt.date]]
    months: list[str]  # the fine monthly mart
    area_months: list[str]  # area / survey / score marts: months plus their 环比/同比 dependants
    repeat_months: list[str]


def plan(dates: Iterable[dt.date] | None, months: Iterable[str] | None, window_days: int) -> _Plan:
    """Which days and months a refresh touches (see :func:`refresh`)."""
    days = sorted({d for d in (dates or ()) if d is not None})
    by_month: dict[str, list[dt.date]] = defaultdict(list)
    for d in days:
        by_month[month_of(d)].append(d)
    base = {check_month(m) for m in (months or ())} | set(by_month)
    # 环比 of the next month and 同比 of the same month next year read this month's values.
    area = base | {add_months(m, 1) for m in base} | {add_months(m, 12) for m in base}
    repeat = set(base)
    span = dt.timedelta(days=window_days - 1)
    for d in days:
        # The day lies in the 90-day window of every month whose last day is within 89 days after it.
        repeat.update(month_range(month_of(d), month_of(d + span)))
    return _Plan(dict(by_month), sorted(base), sorted(area), sorted(repeat))


def refresh(conn: Connection, dates: Iterable[dt.date] | None = None, months: Iterable[str] | None = None,
            settings: MartSettings | None = None) -> dict[str, Any]:
    """Recompute the marts for the given days and months, in the caller's transaction.

    - ``dates``: the daily mart is rebuilt for these days, the monthly marts for their months.
    - ``months`` ('YYYY-MM'): the monthly marts are rebuilt for these months (use it for
      questionnaire and third-party data, which arrive by month).
    - Months whose 环比/同比 read a rebuilt month (the next month, the same month next year) are
      rebuilt too, and every month whose repeat-complainant window contains a rebuilt day.
    - Both None: every mart is emptied and rebuilt from all the data.

    Each touched key is deleted and inserted again, so a second run changes nothing.
    Returns what was done: {"full", "days", "months", "area_months", "repeat_months", "rows": {...}}.
    """
    s = settings or MartSettings()
    full = dates is None and months is None
    if full:
        for t in MART_TABLES:
            conn.execute(delete(t))
        dates, months = _all_days(conn), _all_months(conn)
    p = plan(dates, months, s.repeat_window_days)
    rows: dict[str, int] = defaultdict(int)
    for month, days in sorted(p.days_by_month.items()):
        rows["mart_feedback_daily"] += _refresh_daily(conn, month, days, s)
    for month in p.months:
        rows["mart_feedback_monthly"] += _refresh_feedback_monthly(conn, month, s)
    for month in p.area_months:  # ascending: a month's 环比 reads the month before, rebuilt first
        rows["mart_survey_area_monthly"] += _refresh_survey(conn, month)
        rows["mart_score_monthly"] += _refresh_scores(conn, month)
        rows["mart_area_monthly"] += _refresh_area(conn, month, s)
    for month in p.repeat_months:
        rows["mart_repeat_entity"] += _refresh_repeat(conn, month, s)
    rows["mart_month"] += _refresh_calendar(conn)
    return {
        "full": full,
        "days": sum(len(v) for v in p.days_by_month.values()),
        "months": p.months,
        "area_months": p.area_months,
        "repeat_months": p.repeat_months,
        "rows": dict(rows),
    }


def _all_days(conn: Connection) -> list[dt.date]:
    f = Feedback.__table__.c
    return [d for (d,) in conn.execute(select(f.received_date).where(f.received_date.is_not(None)).distinct())]


def _all_months(conn: Connection) -> list[str]:
    a = SurveyAnswer.__table__.c
    sc = SurveyScore.__table__.c
    out = {month_of(d) for (d,) in conn.execute(select(a.submitted_date).where(a.submitted_date.is_not(None))
                                                .distinct())}
    out |= {m for (m,) in conn.execute(select(sc.month).distinct()) if m and MONTH_RE.match(m)}
    return sorted(out)


def _refresh_daily(conn: Connection, month: str, days: Sequence[dt.date], s: MartSettings) -> int:
    t = MartFeedbackDaily.__table__
    f = Feedback.__table__.c
    conn.execute(delete(t).where(t.c.day.in_(days)))
    dims = _feedback_dims()
    sel = (select(f.received_date.label("day"), _sql_text(month).label("month"), *_labelled(dims),
                  *_feedback_measures(s))
           .where(f.received_date.in_(days))
           .group_by(f.received_date, *dims))
    names = ["day", "month", "area", "source", "channel", "street", "writer_type", *MEASURE_COLUMNS]
    return conn.execute(t.insert().from_select(names, sel).execution_options(preserve_rowcount=True)).rowcount


def _refresh_feedback_monthly(conn: Connection, month: str, s: MartSettings) -> int:
    t = MartFeedbackMonthly.__table__
    f = Feedback.__table__.c
    conn.execute(delete(t).where(t.c.month == month))
    dims = _feedback_dims()
    sel = (select(_sql_text(month).label("month"), *_labelled(dims), *_feedback_measures(s))
           .where(_in_month(f.received_date, month))
           .group_by(*dims))
    names = ["month", "area", "source", "channel", "street", "writer_type", *MEASURE_COLUMNS]
    return conn.execute(t.insert().from_select(names, sel).execution_options(preserve_rowcount=True)).rowcount


def _prev_rows(conn: Connection, table: Any, month: str, keys: Sequence[str]) -> tuple[dict, dict]:
    """Rows of ``table`` for the previous month and the same month last year, keyed by ``keys``."""
    out = []
    for other in (add_months(month, -1), add_months(month, -12)):
        res = conn.execute(select(table).where(table.c.month == other)).mappings()
        out.append({tuple(r[k] for k in keys): dict(r) for r in res})
    return out[0], out[1]


def _diff(a: float | None, b: float | None, scale: float = 1.0) -> float | None:
    return None if a is None or b is None else (a - b) * scale


def _pct(a: int | None, b: int | None) -> float | None:
    return None if a is None or not b else (a - b) * 100.0 / b


def _refresh_survey(conn: Connection, month: str) -> int:
    t = MartSurveyAreaMonthly.__table__
    a = SurveyAnswer.__table__.c
    conn.execute(delete(t).where(t.c.month == month))
    res = conn.execute(
        # (a response is its record: 序号 restarts in every questionnaire of the month)
        select(a.area, func.count(a.score_100), func.count(a.record_key.distinct()),
               func.count(a.entity_hash.distinct()), func.avg(a.score_100))
        .where(_in_month(a.submitted_date, month), a.area.is_not(None), a.score_100.is_not(None))
        .group_by(a.area)).all()
    prev, prev_year = _prev_rows(conn, t, month, ["area"])
    rows = []
    for area, n, n_resp, n_ent, mean in res:
        pm = prev.get((area,), {}).get("satisfaction_mean")
        py = prev_year.get((area,), {}).get("satisfaction_mean")
        rows.append({"month": month, "area": area, "n_answers": int(n), "n_responses": int(n_resp),
                     "n_entities": int(n_ent), "satisfaction_mean": float(mean),
                     "satisfaction_prev_month": pm, "satisfaction_mom_pts": _diff(float(mean), pm),
                     "satisfaction_prev_year": py, "satisfaction_yoy_pts": _diff(float(mean), py)})
    return bulk_insert(conn, t, rows)


def _unit_scores(conn: Connection, month: str) -> list[tuple[str, str, int, float, float, float, int | None]]:
    """Per area × evaluated unit: (area, unit, n, mean, min, max, sample) over its indicators' scores.

    A vendor often delivers an overall score per unit × indicator (汇总: no method) *and* the scores
    by method behind it (明细: 问卷调查, 暗访, 座谈访谈). Counting both would weigh each indicator
    twice over; so an indicator's overall score is used where there is one, else each of its
    method scores. The sample size is summed over the method rows (an overall row carries none)."""
    sc = SurveyScore.__table__.c
    rows = conn.execute(select(sc.area, sc.unit, sc.indicator, sc.method, sc.score, sc.sample_size)
                        .where(sc.month == month, sc.area.is_not(None))).all()
    overall = {(a, u, i) for a, u, i, m, _, _ in rows if m is None}
    used: dict[tuple[str, str], list[float]] = defaultdict(list)
    sample: dict[tuple[str, str], int | None] = {}
    for a, u, i, m, score, size in rows:
        if m is None or (a, u, i) not in overall:
            used[(a, u)].append(float(score))
        if size is not None:
            sample[(a, u)] = (sample.get((a, u)) or 0) + int(size)
        else:
            sample.setdefault((a, u), None)
    return [(a, u, len(v), sum(v) / len(v), min(v), max(v), sample.get((a, u)))
            for (a, u), v in sorted(used.items())]


def _refresh_scores(conn: Connection, month: str) -> int:
    t = MartScoreMonthly.__table__
    conn.execute(delete(t).where(t.c.month == month))
    res = _unit_scores(conn, month)
    prev, prev_year = _prev_rows(conn, t, month, ["area", "unit"])
    rows = []
    for area, unit, n, mean, lo, hi, sample in res:
        pm = prev.get((area, unit), {}).get("score_mean")
        py = prev_year.get((area, unit), {}).get("score_mean")
        rows.append({"month": month, "area": area, "unit": unit, "n_scores": int(n), "score_mean": float(mean),
                     "score_min": float(lo), "score_max": float(hi),
                     "sample_size": int(sample) if sample is not None else None,
                     "score_prev_month": pm, "score_mom_pts": _diff(float(mean), pm),
                     "score_prev_year": py, "score_yoy_pts": _diff(float(mean), py)})
    return bulk_insert(conn, t, rows)


def composite(components: Mapping[str, float | None], weights: Mapping[str, float]) -> tuple[float | None, int]:
    """The composite index (综合指数): weighted mean of the 0–100 components that have data.

    Weights are re-normalised over the components present, so an area without questionnaire
    answers is scored on the rest. Returns (index rounded to 4 decimals, number of components used).
    """
    used = [(weights[k], v) for k, v in components.items() if v is not None and weights.get(k, 0) > 0]
    if not used:
        return None, 0
    total = sum(w for w, _ in used)
    return round(sum(w * v for w, v in used) / total, 4), len(used)


def competition_rank(values: Mapping[str, float]) -> dict[str, int]:
    """Rank 1 = highest; equal values share a rank and the next rank is skipped (1, 2, 2, 4)."""
    ordered = sorted(values.values(), reverse=True)
    return {k: ordered.index(v) + 1 for k, v in values.items()}


def _refresh_area(conn: Connection, month: str, s: MartSettings) -> int:
    t = MartAreaMonthly.__table__
    f = Feedback.__table__.c
    conn.execute(delete(t).where(t.c.month == month))
    fb = {r["area"]: dict(r) for r in conn.execute(
        select(f.area, *_feedback_measures(s)).where(_in_month(f.received_date, month)).group_by(f.area))
        .mappings()}
    sv = MartSurveyAreaMonthly.__table__
    survey = {r["area"]: r for r in conn.execute(select(sv).where(sv.c.month == month)).mappings()}
    sc = MartScoreMonthly.__table__
    scores: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for r in conn.execute(select(sc.c.area, sc.c.score_mean, sc.c.n_scores).where(sc.c.month == month)):
        scores[r[0]].append((float(r[1]), int(r[2])))
    areas = sorted(set(fb) | set(survey) | set(scores))
    if not areas:
        return 0
    # The most-complained *ranked* area sets the scale: Z (其他, not ranked) always has the most and
    # squeezed the volume component of A1–A9 into 85–93 (it did almost nothing for the ranking).
    ranked_fb = [a for a in fb if a not in s.rank_exclude] or list(fb)
    max_complaints = max((int(fb[a]["n_complaints"] or 0) for a in ranked_fb), default=0)
    rows: dict[str, dict[str, Any]] = {}
    for area in areas:
        m = fb.get(area)
        row: dict[str, Any] = {"month": month, "area": area}
        if m is None:
            row.update({c: 0 for c in MEASURE_COLUMNS})
            row.update(negative_share=None, sentiment_mean=None, on_time_rate=None,
                       followup_satisfaction_rate=None)
        else:
            row.update({c: m[c] for c in MEASURE_COLUMNS})
            for c in MEASURE_COLUMNS:
                if c.startswith("n_"):
                    row[c] = int(row[c] or 0)
                elif row[c] is not None:
                    row[c] = float(row[c])
        sv_row = survey.get(area)
        row["survey_satisfaction"] = float(sv_row["satisfaction_mean"]) if sv_row else None
        row["survey_n_answers"] = int(sv_row["n_answers"]) if sv_row else 0
        pairs = scores.get(area, [])
        n_sc = sum(n for _, n in pairs)
        row["third_party_score"] = sum(v * n for v, n in pairs) / n_sc if n_sc else None
        row["third_party_n"] = n_sc
        comps = {
            "sentiment": None if row["negative_share"] is None else 100.0 * (1.0 - row["negative_share"]),
            "survey": row["survey_satisfaction"],
            "third_party": row["third_party_score"],
            "on_time": None if row["on_time_rate"] is None else 100.0 * row["on_time_rate"],
            "followup": None if row["followup_satisfaction_rate"] is None
            else 100.0 * row["followup_satisfaction_rate"],
            "volume": None if not fb else
            (100.0 if max_complaints == 0 else max(0.0, 100.0 * (1.0 - row["n_complaints"] / max_complaints))),
        }
        row["composite_index"], row["composite_components"] = composite(comps, s.weights)
        rows[area] = row
    ranks = competition_rank({a: r["composite_index"] for a, r in rows.items()
                              if r["composite_index"] is not None and a not in s.rank_exclude})
    prev, prev_year = _prev_rows(conn, t, month, ["area"])
    had_feedback = {}
    for k, other in (("m", add_months(month, -1)), ("y", add_months(month, -12))):
        had_feedback[k] = conn.execute(select(func.count()).select_from(t).where(
            t.c.month == other, t.c.n_feedback > 0)).scalar_one() > 0
    for area, row in rows.items():
        row["composite_rank"] = ranks.get(area)
        for k, src, sfx in (("m", prev, "prev_month"), ("y", prev_year, "prev_year")):
            old = src.get((area,))
            # None when the warehouse holds no feedback at all for that month (before the data starts).
            n_prev = (int(old["n_feedback"]) if old else 0) if had_feedback[k] else None
            tag = "mom" if k == "m" else "yoy"
            row[f"n_feedback_{sfx}"] = n_prev
            row[f"n_feedback_{tag}_pct"] = _pct(row["n_feedback"], n_prev)
            for col, unit_sfx, scale in (("negative_share", "pp", 100.0),
                                         ("survey_satisfaction", "pts", 1.0),
                                         ("composite_index", "pts", 1.0)):
                before = old[col] if old else None
                row[f"{col}_{sfx}"] = before
                row[f"{col}_{tag}_{unit_sfx}"] = _diff(row[col], before, scale)
        old = prev.get((area,))
        row["composite_rank_prev_month"] = old["composite_rank"] if old else None
    return bulk_insert(conn, t, list(rows.values()))


def _refresh_repeat(conn: Connection, month: str, s: MartSettings) -> int:
    t = MartRepeatEntity.__table__
    f = Feedback.__table__.c
    conn.execute(delete(t).where(t.c.month == month))
    first, last = month_bounds(month)
    has_feedback = conn.execute(select(f.feedback_id).where(f.received_date >= first, f.received_date <= last)
                                .limit(1)).first()
    # Only months that hold feedback get a list: a month after the last data day would otherwise
    # show the tail of the previous window as if it were news.
    if has_feedback is None:
        return 0
    start = last - dt.timedelta(days=s.repeat_window_days - 1)
    cond = and_(f.entity_hash.is_not(None), f.received_date >= start, f.received_date <= last,
                _complaint_condition(s))
    qualifying = [h for (h,) in conn.execute(select(f.entity_hash).where(cond).group_by(f.entity_hash)
                                             .having(func.count() >= s.repeat_min_complaints))]
    if not qualifying:
        return 0
    items: dict[str, list[tuple]] = defaultdict(list)
    names: dict[str, str | None] = {}
    e = DimEntity.__table__.c
    for i in range(0, len(qualifying), 900):
        part = qualifying[i:i + 900]
        for r in conn.execute(select(f.entity_hash, f.received_at, f.received_date, f.feedback_id, f.area, f.source,
                                     f.street, f.entity_name_masked).where(cond, f.entity_hash.in_(part))):
            items[r[0]].append(tuple(r[1:]))
        for h, name in conn.execute(select(e.entity_hash, e.name_masked).where(e.entity_hash.in_(part))):
            names[h] = name
    rows = []
    for h in sorted(items):
        its = sorted(items[h], key=lambda x: (x[0] or dt.datetime.min, x[2]))  # by (received_at, id)
        area_counts: dict[str, int] = defaultdict(int)
        for it in its:
            area_counts[it[3]] += 1
        top = min(area_counts, key=lambda a: (-area_counts[a], a))
        streets = [it[5] for it in its if it[5]]
        masked = [it[6] for it in its if it[6]]
        times = [it[0] for it in its if it[0] is not None]
        rows.append({
            "month": month, "entity_hash": h,
            "name_masked": names.get(h) or (masked[-1] if masked else None),
            "window_start": start, "window_end": last,
            "n_complaints": len(its), "n_complaints_month": sum(1 for it in its if it[1] >= first),
            "n_areas": len(area_counts), "areas": ",".join(sorted(area_counts)), "top_area": top,
            "n_sources": len({it[4] for it in its}),
            "first_at": min(times) if times else None, "last_at": max(times) if times else None,
            "street": streets[-1] if streets else None,
        })
    return bulk_insert(conn, t, rows)


def _refresh_calendar(conn: Connection) -> int:
    """Make sure mart_month covers the data's months with a year of margin each side."""
    f = Feedback.__table__.c
    a = SurveyAnswer.__table__.c
    sc = SurveyScore.__table__.c
    bounds: list[str] = []
    for lo, hi in (conn.execute(select(func.min(f.received_date), func.max(f.received_date))).one(),
                   conn.execute(select(func.min(a.submitted_date), func.max(a.submitted_date))).one()):
        bounds += [month_of(x) for x in (lo, hi) if x is not None]
    lo, hi = conn.execute(select(func.min(sc.month), func.max(sc.month))).one()
    bounds += [m for m in (lo, hi) if m and MONTH_RE.match(m)]
    if not bounds:
        return 0
    wanted = month_range(add_months(min(bounds), -12), add_months(max(bounds), 12))
    t = MartMonth.__table__
    have = {m for (m,) in conn.execute(select(t.c.month).where(t.c.month >= wanted[0], t.c.month <= wanted[-1]))}
    rows = []
    for m in wanted:
        if m in have:
            continue
        first, last = month_bounds(m)
        rows.append({"month": m, "year": first.year, "month_no": first.month, "quarter": (first.month - 1) // 3 + 1,
                     "first_day": first, "last_day": last, "n_days": last.day, "prev_month": add_months(m, -1),
                     "prev_year_month": add_months(m, -12), "next_month": add_months(m, 1)})
    return bulk_insert(conn, t, rows)
