"""Numbers of the monthly report (月度报告数据): every figure the page shows, as a plain dict.

:func:`collect` reads the analyst views only (v_area, v_area_monthly, v_feedback_monthly,
v_survey_area_monthly, v_clues, v_ledger, v_feedback) and returns JSON-ready data: strings, ints,
floats, None, lists and dicts. pipeline/report.py draws and formats it and adds nothing of its own,
so a test can compare this dict with numbers it computes from the base tables itself.

Conventions (docs/report.md explains them for readers):

- 环比 compares with the previous month, 同比 with the same month a year earlier. Counts change in
  per cent (``*_pct``), shares in percentage points (``*_pp``), scores in points (``*_pts``).
  A comparison is None when the other month holds no data at all (before the warehouse starts).
- Ledger figures (问题台账) are a snapshot on the report's ``as_of`` day: the day it is written, but
  at most the last day of the month after the report month (so an old month's report does not
  count items created long after it). 环比/同比 are the same snapshot one month / one year earlier.
- The summary (本月三大变化) ranks changes by how unusual they are, not by their raw size, so a
  small area's noise does not outrank a real shift in a large one: counts by a Poisson z-score,
  shares by a two-proportion z-score, questionnaire means by a z-score with an assumed spread.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Date, bindparam, text

from pipeline.ledger_rules import FOLLOWUPS, OPEN_STATUSES, SATISFIED
from pipeline.marts import mart_settings
from warehouse.db import get_engine
from warehouse.marts import add_months, check_month, month_bounds, month_range

TREND_MONTHS = 13
TOP_CLUES = 10
UNKNOWN_STREET = "未知"  # the marts' label for "street not given"
NO_UNIT = "（未指定责任单位）"

_REGION_PREFIX = re.compile(r"^(?:国家税务总局|[\u4e00-\u9fa5]{2,6}?(?:省|自治区|市|新区|区|县)|区|县)")


def unit_key(name: str) -> str:
    """A department's name without the region it belongs to, for matching the ledger's unit with the
    work orders' 承办单位: 区市场监督管理局 and 市场监督管理局 are one key, so are 国家税务总局郑州市郑东新区
    税务局, 区税务局 and 税务局. (Within one district's report; 市场… keeps its first character.)"""
    key = re.sub(r"\s+", "", name)
    while True:
        cut = _REGION_PREFIX.sub("", key, count=1)
        if cut == key or len(cut) < 2:
            return key
        key = cut
# The summary: a change is news only when both months have at least this many items / answers.
SUMMARY_MIN_COUNT = 10
SUMMARY_MIN_ANSWERS = 20
SURVEY_SD = 25.0  # assumed spread of one 5-level answer on the 100-point scale (0/25/50/75/100)
SUMMARY_ITEMS = 3
# An area is 变差 (worse) when its composite index fell by at least this many points (or, without
# an index, its negative share rose by at least this many percentage points); smaller moves are 持平.
DIRECTION_MIN_PTS = 1.0
DIRECTION_MIN_PP = 2.0


class NoDataError(ValueError):
    """The warehouse holds no feedback for the report month (nothing to report)."""


# --------------------------------------------------------------------------- small helpers


def _date(v: Any) -> dt.date | None:
    """A date from what a view returns (SQLite gives text, PostgreSQL date or datetime objects)."""
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v)[:10])


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def pct_change(cur: float | None, prev: float | None) -> float | None:
    """Change in per cent; None without a base (or a zero base)."""
    return None if cur is None or prev is None or prev == 0 else (cur - prev) * 100.0 / prev


def diff(cur: float | None, prev: float | None, scale: float = 1.0) -> float | None:
    return None if cur is None or prev is None else (cur - prev) * scale


def shift_day(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months away, clamped to the month's length (31 Oct − 1 month = 30 Sep);
    a month's last day goes to the other month's last day (28 Feb − 1 month = 31 Jan: the day the
    previous report's snapshot was taken, when snapshots are capped at a month's end)."""
    target = add_months(f"{day.year:04d}-{day.month:02d}", months)
    first, last = month_bounds(target)
    if day == month_bounds(f"{day.year:04d}-{day.month:02d}")[1]:
        return last
    return first.replace(day=min(day.day, last.day))


def as_of_day(month: str, today: dt.date) -> dt.date:
    """The ledger snapshot day: today, but no later than the last day of the month after ``month``."""
    _, last_next = month_bounds(add_months(month, 1))
    return min(today, last_next)


def _rows(conn: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    stmt = text(sql)
    binds = [bindparam(k, type_=Date) if isinstance(v, dt.date)
             else bindparam(k, expanding=True) if isinstance(v, tuple | list) else bindparam(k)
             for k, v in params.items()]
    if binds:
        stmt = stmt.bindparams(*binds)
    return [dict(r) for r in conn.execute(stmt, params).mappings()]


def area_direction(composite_mom_pts: float | None, negative_share_mom_pp: float | None) -> str | None:
    """变差 / 向好 / 持平 of an area against last month: "worse", "better", "flat" (None: no comparison).

    Read from the composite index (综合指数) when it has one, else from the negative share; moves
    smaller than :data:`DIRECTION_MIN_PTS` points / :data:`DIRECTION_MIN_PP` percentage points are 持平.
    """
    if composite_mom_pts is not None:
        d, lim = -composite_mom_pts, DIRECTION_MIN_PTS
    elif negative_share_mom_pp is not None:
        d, lim = negative_share_mom_pp, DIRECTION_MIN_PP
    else:
        return None
    return "worse" if d >= lim else "better" if d <= -lim else "flat"


# --------------------------------------------------------------------------- the ledger snapshot


def ledger_state(items: Iterable[Mapping[str, Any]], day: dt.date) -> list[dict[str, Any]]:
    """Each ledger item that existed on ``day``, with ``open`` and ``overdue`` as of that day.

    在办 (open): created on or before ``day`` and not closed (销号) by then. 超期 (overdue): open,
    its deadline (整改时限) before ``day``, and not yet reported done. v_ledger keeps only the current
    status, so "reported done on ``day``" is read as: the current status is past rectification
    (已整改待回访 / 已销号) and the item's last change was on or before ``day``. On the day the report
    is written this equals v_ledger_overdue exactly; for earlier days it errs towards counting an
    item overdue.
    """
    out = []
    for it in items:
        created = _date(it["created_at"])
        if created is None or created > day:
            continue
        closed = _date(it["closed_at"])
        is_open = closed is None or closed > day
        deadline = _date(it["deadline"])
        done_by_day = it["status"] not in OPEN_STATUSES and (_date(it["updated_at"]) or day) <= day
        overdue = bool(is_open and deadline is not None and deadline < day and not done_by_day)
        out.append({**it, "open": is_open, "overdue": overdue, "closed_by_day": not is_open,
                    "deadline_d": deadline, "closed_d": closed})
    return out


# --------------------------------------------------------------------------- collect


def collect(month: str, db_url: str | None = None, *, today: dt.date | None = None) -> dict[str, Any]:
    """Every number of the monthly report for ``month`` ('YYYY-MM'), read from the analyst views.

    Raises :class:`NoDataError` when the month has no feedback at all.
    """
    month = check_month(month)
    today = today or dt.date.today()
    prev, prev_year = add_months(month, -1), add_months(month, -12)
    months = month_range(add_months(month, -(TREND_MONTHS - 1)), month)
    first, last = month_bounds(month)
    settings = mart_settings()
    with get_engine(db_url).connect() as conn:
        areas = _rows(conn, "SELECT area, area_name, sort_order FROM v_area ORDER BY sort_order, area")
        am = _rows(conn, "SELECT * FROM v_area_monthly WHERE month >= :lo AND month <= :hi",
                   lo=months[0], hi=month)
        fm = _rows(conn, "SELECT month, area, source, source_name, channel, street, n_feedback, n_negative "
                         "FROM v_feedback_monthly WHERE month IN (:m0, :m1)", m0=month, m1=prev)
        survey = _rows(conn, "SELECT month, area, n_answers, satisfaction_mean FROM v_survey_area_monthly "
                             "WHERE month IN (:m0, :m1, :m2)", m0=month, m1=prev, m2=prev_year)
        clue_counts = _rows(conn, "SELECT month, COUNT(*) AS n FROM v_clues WHERE month IN (:m0, :m1, :m2) "
                                  "GROUP BY month", m0=month, m1=prev, m2=prev_year)
        top = _rows(conn, "SELECT clue_id, area, area_name, title, n_items, n_entities, n_sources, heat, grade, "
                          "responsible_unit, deadline, recurring FROM v_clues WHERE month = :m "
                          "ORDER BY heat DESC, clue_id LIMIT :k", m=month, k=TOP_CLUES)
        ledger = _rows(conn, "SELECT item_id, clue_id, month, area, title, grade, responsible_unit, deadline, "
                             "status, followup, followup_at, closed_at, created_at, updated_at FROM v_ledger")
        orders = _rows(conn, """
            SELECT unit, COUNT(*) AS n_orders, COUNT(on_time) AS n_handled,
                   SUM(CASE WHEN on_time THEN 1 ELSE 0 END) AS n_on_time,
                   SUM(CASE WHEN satisfaction IN :answered THEN 1 ELSE 0 END) AS n_followup,
                   SUM(CASE WHEN satisfaction IN :satisfied THEN 1 ELSE 0 END) AS n_satisfied
            FROM v_feedback WHERE received_date >= :lo AND received_date <= :hi AND unit IS NOT NULL
            GROUP BY unit""", lo=first, hi=last, answered=tuple(settings.followup_answered),
                       satisfied=tuple(settings.followup_satisfied))

    names = {a["area"]: a["area_name"] for a in areas}
    order = [a["area"] for a in areas]
    for r in am:  # areas the dimension does not list still show, after the listed ones
        if r["area"] not in names:
            names[r["area"]] = r["area_name"] or r["area"]
            order.append(r["area"])
    by_month: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in am:
        by_month[r["month"]][r["area"]] = r

    def total(m: str, col: str) -> int:
        return int(sum(int(r[col] or 0) for r in by_month.get(m, {}).values()))

    volume = {m: total(m, "n_feedback") for m in months}
    if volume[month] == 0:
        raise NoDataError(f"the marts hold no feedback for {month}: load that month with `yingshang run` or "
                          f"`yingshang ingest` (both refresh the marts; after loading by other means run "
                          f"`yingshang marts refresh`)")
    negatives = {m: total(m, "n_negative") for m in months}

    def has(m: str) -> bool:
        return volume.get(m, 0) > 0

    def share(m: str) -> float | None:
        return negatives[m] / volume[m] if has(m) else None

    # -- questionnaire satisfaction overall: the mean of every answer (area means weighted by answers)
    sv: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for r in survey:
        sv[r["month"]].append((float(r["satisfaction_mean"]), int(r["n_answers"])))

    def satisfaction(m: str) -> tuple[float | None, int]:
        n = sum(k for _, k in sv.get(m, []))
        return (sum(v * k for v, k in sv[m]) / n if n else None), n

    # -- ledger snapshots
    as_of = as_of_day(month, today)
    snaps = {"cur": as_of, "prev": shift_day(as_of, -1), "prev_year": shift_day(as_of, -12)}
    states = {k: ledger_state(ledger, d) for k, d in snaps.items()}

    def ledger_count(k: str, what: str) -> int | None:
        st = states[k]
        if k != "cur" and not st:
            return None  # the ledger had not started then
        return sum(1 for it in st if it[what])

    clues_n = {r["month"]: int(r["n"]) for r in clue_counts}

    def card(value: float | None, pm: float | None, py: float | None, kind: str) -> dict[str, Any]:
        if kind == "pct":
            mom, yoy = pct_change(value, pm), pct_change(value, py)
        elif kind == "pp":
            mom, yoy = diff(value, pm, 100.0), diff(value, py, 100.0)
        else:  # "pts" and "count": plain difference
            mom, yoy = diff(value, pm), diff(value, py)
        return {"value": value, "prev_month": pm, "prev_year": py, "mom": mom, "yoy": yoy, "kind": kind}

    sat_cur, sat_n = satisfaction(month)
    cards = {
        "volume": card(volume[month], volume[prev] if has(prev) else None,
                       volume[prev_year] if has(prev_year) else None, "pct"),
        "negative_share": card(share(month), share(prev), share(prev_year), "pp"),
        "satisfaction": card(sat_cur, satisfaction(prev)[0], satisfaction(prev_year)[0], "pts"),
        "new_clues": card(clues_n.get(month, 0), clues_n.get(prev), clues_n.get(prev_year), "pct"),
        "ledger_open": card(ledger_count("cur", "open"), ledger_count("prev", "open"),
                            ledger_count("prev_year", "open"), "count"),
        "ledger_overdue": card(ledger_count("cur", "overdue"), ledger_count("prev", "overdue"),
                               ledger_count("prev_year", "overdue"), "count"),
    }
    cards["satisfaction"]["n_answers"] = sat_n

    trend = {
        "months": months,
        "total": [volume[m] for m in months],
        "negative_share": [share(m) for m in months],
        "has_data": [has(m) for m in months],
        "by_area": {a: [int((by_month.get(m, {}).get(a) or {}).get("n_feedback") or 0) for m in months]
                    for a in order},
    }

    # -- sources and channels, this month and last
    def tally(key: str) -> list[dict[str, Any]]:
        acc: dict[str, dict[str, Any]] = {}
        for r in fm:
            k = r[key]
            e = acc.setdefault(k, {key: k, "name": r.get("source_name") if key == "source" else k,
                                   "n": 0, "n_prev": 0})
            e["n" if r["month"] == month else "n_prev"] += int(r["n_feedback"])
        out = sorted(acc.values(), key=lambda e: (-e["n"], -e["n_prev"], str(e[key])))
        for e in out:
            e["name"] = e["name"] or e[key]
            e["n_prev"] = e["n_prev"] if has(prev) else None
            e["mom"] = pct_change(e["n"], e["n_prev"])
        return out

    sources, channels = tally("source"), tally("channel")

    # -- areas: ranking, satisfaction and third-party scores
    area_rows = []
    for a in order:
        r = by_month.get(month, {}).get(a)
        if r is None:
            continue
        rp = by_month.get(prev, {}).get(a) or {}
        ry = by_month.get(prev_year, {}).get(a) or {}
        tp, tp_prev, tp_year = _num(r["third_party_score"]), _num(rp.get("third_party_score")), \
            _num(ry.get("third_party_score"))
        row = {
            "area": a, "name": names[a],
            "n_feedback": int(r["n_feedback"] or 0), "n_feedback_prev": r["n_feedback_prev_month"],
            "n_feedback_prev_year": r["n_feedback_prev_year"],
            "mom_pct": _num(r["n_feedback_mom_pct"]), "yoy_pct": _num(r["n_feedback_yoy_pct"]),
            "n_negative": int(r["n_negative"] or 0),
            "negative_share": _num(r["negative_share"]), "negative_share_prev": _num(r["negative_share_prev_month"]),
            "negative_share_mom_pp": _num(r["negative_share_mom_pp"]),
            "negative_share_yoy_pp": _num(r["negative_share_yoy_pp"]),
            "composite_index": _num(r["composite_index"]), "composite_prev": _num(r["composite_index_prev_month"]),
            "composite_mom_pts": _num(r["composite_index_mom_pts"]),
            "rank": r["composite_rank"], "rank_prev": r["composite_rank_prev_month"],
            "survey_satisfaction": _num(r["survey_satisfaction"]), "survey_n": int(r["survey_n_answers"] or 0),
            "survey_prev": _num(r["survey_satisfaction_prev_month"]),
            "survey_mom_pts": _num(r["survey_satisfaction_mom_pts"]),
            "survey_yoy_pts": _num(r["survey_satisfaction_yoy_pts"]),
            "survey_n_prev": int(rp.get("survey_n_answers") or 0),
            "third_party": tp, "third_party_n": int(r["third_party_n"] or 0), "third_party_prev": tp_prev,
            "third_party_mom_pts": diff(tp, tp_prev), "third_party_yoy_pts": diff(tp, tp_year),
        }
        row["direction"] = area_direction(row["composite_mom_pts"], row["negative_share_mom_pp"])
        row["worse"] = None if row["direction"] is None else row["direction"] == "worse"
        area_rows.append(row)
    ranked = sorted(area_rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, order.index(r["area"])))

    # -- streets × areas
    cells: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    st_neg: dict[str, int] = defaultdict(int)
    st_prev: dict[str, int] = defaultdict(int)
    for r in fm:
        if r["month"] == month:
            cells[r["street"]][r["area"]] += int(r["n_feedback"])
            st_neg[r["street"]] += int(r["n_negative"])
        else:
            st_prev[r["street"]] += int(r["n_feedback"])
    street_rows = []
    for s in set(cells) | set(st_prev):
        n = sum(cells[s].values()) if s in cells else 0
        np_ = st_prev.get(s, 0) if has(prev) else None
        street_rows.append({"street": s, "n": n, "n_prev": np_, "mom": pct_change(n, np_),
                            "delta": None if np_ is None else n - np_,
                            "n_negative": st_neg.get(s, 0), "negative_share": st_neg.get(s, 0) / n if n else None,
                            "by_area": {a: int(cells[s][a]) for a in order if s in cells and cells[s].get(a)}})
    # the named streets by volume, "street not given" last
    street_rows.sort(key=lambda r: (r["street"] == UNKNOWN_STREET, -r["n"], r["street"]))
    heat_areas = [a for a in order if any(r["by_area"].get(a) for r in street_rows)]

    # -- top clues with their ledger state
    led_by_clue = {it["clue_id"]: it for it in ledger}
    top_clues = []
    for c in top:
        it = led_by_clue.get(c["clue_id"])
        deadline = _date(it["deadline"]) if it else _date(c["deadline"])
        top_clues.append({
            "clue_id": c["clue_id"], "area": c["area"], "area_name": c["area_name"] or names.get(c["area"]),
            "title": c["title"], "n_items": int(c["n_items"]), "n_entities": int(c["n_entities"]),
            "heat": float(c["heat"]), "grade": c["grade"],
            # the ledger holds what people decided; the clue only the default
            "responsible_unit": (it["responsible_unit"] if it else c["responsible_unit"]) or None,
            "deadline": deadline.isoformat() if deadline else None,
            "status": it["status"] if it else None, "recurring": bool(c["recurring"]),
        })

    # -- responsible units: ledger as of the snapshot day + this month's work orders (the ledger's name
    # is shown when both have the unit: the ledger items come first)
    units: dict[str, dict[str, Any]] = {}

    def unit(name: str | None) -> dict[str, Any]:
        # The ledger says 市场监督管理局 (config/areas.yaml), the 12345 export 区市场监督管理局 or
        # 国家税务总局郑州市郑东新区税务局: one department, matched without its region prefix.
        key = unit_key(name) if name else NO_UNIT
        return units.setdefault(key, {
            "unit": name or NO_UNIT, "assigned": 0, "assigned_month": 0, "closed": 0, "closed_on_time": 0, "open": 0,
            "overdue": 0, "followup_n": 0, "followup_satisfied": 0, "orders": 0, "orders_handled": 0,
            "orders_on_time": 0, "orders_followup": 0, "orders_satisfied": 0})

    for it in states["cur"]:
        u = unit(it["responsible_unit"])
        u["assigned"] += 1
        u["assigned_month"] += int(it["month"] == month)
        u["open"] += int(it["open"])
        u["overdue"] += int(it["overdue"])
        if it["closed_by_day"]:
            u["closed"] += 1
            u["closed_on_time"] += int(it["deadline_d"] is None or it["closed_d"] <= it["deadline_d"])
        fu_day = _date(it["followup_at"]) or _date(it["updated_at"])
        if it["followup"] in FOLLOWUPS and fu_day is not None and fu_day <= as_of:
            u["followup_n"] += 1
            u["followup_satisfied"] += int(it["followup"] in SATISFIED)
    for r in orders:
        u = unit(r["unit"])  # (several export names of one department add up: 区税务局 + 国家税务总局…税务局)
        u["orders"] += int(r["n_orders"])
        u["orders_handled"] += int(r["n_handled"] or 0)
        u["orders_on_time"] += int(r["n_on_time"] or 0)
        u["orders_followup"] += int(r["n_followup"] or 0)
        u["orders_satisfied"] += int(r["n_satisfied"] or 0)
    for u in units.values():
        u["closed_on_time_rate"] = u["closed_on_time"] / u["closed"] if u["closed"] else None
        u["followup_rate"] = u["followup_satisfied"] / u["followup_n"] if u["followup_n"] else None
        u["orders_on_time_rate"] = u["orders_on_time"] / u["orders_handled"] if u["orders_handled"] else None
        u["orders_followup_rate"] = u["orders_satisfied"] / u["orders_followup"] if u["orders_followup"] else None
    unit_rows = sorted(units.values(), key=lambda u: (-u["overdue"], -u["open"], -u["assigned"], -u["orders"],
                                                      u["unit"]))

    changes = biggest_changes(area_rows, street_rows)
    data = {
        "month": month, "prev_month": prev, "prev_year_month": prev_year,
        "as_of": as_of.isoformat(), "snapshots": {k: d.isoformat() for k, d in snaps.items()},
        "has_prev_month": has(prev), "has_prev_year": has(prev_year),
        "areas": [{"area": a, "name": names[a]} for a in order],
        "cards": cards, "trend": trend, "sources": sources, "channels": channels,
        "area_rank": ranked, "streets": street_rows, "heat_areas": heat_areas,
        "top_clues": top_clues, "units": unit_rows, "changes": changes,
        "summary": [c["text"] for c in changes] or fallback_summary(month, area_rows, cards),
    }
    return data


# --------------------------------------------------------------------------- the generated summary


def _z_counts(a: int, b: int) -> float:
    return (a - b) / math.sqrt(a + b) if a + b else 0.0


def _z_shares(p1: float, n1: int, p0: float, n0: int) -> float:
    p = (p1 * n1 + p0 * n0) / (n1 + n0)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n0)) if 0 < p < 1 else 0.0
    return (p1 - p0) / se if se else 0.0


def _fmt_pct(x: float) -> str:
    return f"{x:.1f}%"


def biggest_changes(area_rows: list[dict[str, Any]], street_rows: list[dict[str, Any]],
                    k: int = SUMMARY_ITEMS) -> list[dict[str, Any]]:
    """The ``k`` most unusual changes against last month, each with a Chinese sentence (本月三大变化)."""
    cands: list[dict[str, Any]] = []
    for r in area_rows:
        label = f"{r['name']}（{r['area']}）领域"
        n, n0 = r["n_feedback"], r["n_feedback_prev"]
        if n0 is not None and max(n, n0) >= SUMMARY_MIN_COUNT and n != n0:
            up = n > n0
            pct = pct_change(n, n0)
            rate = f"环比{'上升' if up else '下降'}{_fmt_pct(abs(pct))}" if pct is not None else "环比由零起"
            cands.append({"kind": "volume", "subject": r["area"], "before": n0, "after": n,
                          "score": abs(_z_counts(n, n0)), "worse": up,
                          "text": f"{label}反映量{rate}，由 {n0} 件{'增至' if up else '减至'} {n} 件。"})
        p, p0 = r["negative_share"], r["negative_share_prev"]
        if p is not None and p0 is not None and n >= SUMMARY_MIN_COUNT and (n0 or 0) >= SUMMARY_MIN_COUNT \
                and p != p0:
            up = p > p0
            cands.append({"kind": "negative_share", "subject": r["area"], "before": p0, "after": p,
                          "score": abs(_z_shares(p, n, p0, n0)), "worse": up,
                          "text": f"{label}负面占比环比{'上升' if up else '下降'} {abs(p - p0) * 100:.1f} 个百分点，"
                                  f"由 {_fmt_pct(p0 * 100)} {'升至' if up else '降至'} {_fmt_pct(p * 100)}。"})
        s, s0 = r["survey_satisfaction"], r["survey_prev"]
        m, m0 = r["survey_n"], r["survey_n_prev"]
        if s is not None and s0 is not None and min(m, m0) >= SUMMARY_MIN_ANSWERS and s != s0:
            up = s > s0
            z = (s - s0) / (SURVEY_SD * math.sqrt(1 / m + 1 / m0))
            cands.append({"kind": "satisfaction", "subject": r["area"], "before": s0, "after": s,
                          "score": abs(z), "worse": not up,
                          "text": f"{label}问卷满意度环比{'上升' if up else '下降'} {abs(s - s0):.1f} 分，"
                                  f"由 {s0:.1f} 分{'升至' if up else '降至'} {s:.1f} 分（本月 {m} 个回答）。"})
    for r in street_rows:
        n, n0 = r["n"], r["n_prev"]
        if r["street"] == UNKNOWN_STREET or n0 is None or max(n, n0) < SUMMARY_MIN_COUNT or n == n0:
            continue
        up = n > n0
        pct = pct_change(n, n0)
        rate = f"环比{'上升' if up else '下降'}{_fmt_pct(abs(pct))}" if pct is not None else "环比由零起"
        cands.append({"kind": "street_volume", "subject": r["street"], "before": n0, "after": n,
                      "score": abs(_z_counts(n, n0)), "worse": up,
                      "text": f"{r['street']}反映量{rate}，由 {n0} 件{'增至' if up else '减至'} {n} 件。"})
    cands.sort(key=lambda c: (-c["score"], c["kind"], str(c["subject"])))
    out = cands[:k]
    for c in out:
        c["score"] = round(c["score"], 4)
    return out


def fallback_summary(month: str, area_rows: list[dict[str, Any]], cards: Mapping[str, Any]) -> list[str]:
    """Without a previous month to compare with: the month's own three facts, computed."""
    out = [f"{month} 共收到反映 {cards['volume']['value']} 件（上月无可比数据，暂不计算环比）。"]
    named = [r for r in area_rows if r["n_feedback"] > 0]
    if named:
        top = max(named, key=lambda r: (r["n_feedback"], r["area"]))
        out.append(f"反映量最多的是{top['name']}（{top['area']}）领域，共 {top['n_feedback']} 件。")
        neg = [r for r in named if r["n_feedback"] >= SUMMARY_MIN_COUNT and r["negative_share"] is not None]
        if neg:
            worst = max(neg, key=lambda r: (r["negative_share"], r["area"]))
            out.append(f"负面占比最高的是{worst['name']}（{worst['area']}）领域，"
                       f"为 {_fmt_pct(worst['negative_share'] * 100)}。")
    return out
