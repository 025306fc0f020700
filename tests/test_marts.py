"""Marts (数据集市): every number checked against pandas over the raw rows, on SQLite and PostgreSQL.

The expected values are computed here from the rows the test inserted, following the definitions
in config/marts.yaml, not by calling the refresh code. Re-running a refresh (full or for a day) must
leave every mart unchanged, and an incremental refresh must end where a full rebuild ends.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mart_data import build_warehouse, feedback_row, insert_feedback
from pg import drop_pg_database, pg_url_or_skip
from sqlalchemy import delete, select, update

from pipeline.marts import refresh_marts
from warehouse.db import get_engine
from warehouse.marts import MART_TABLES
from warehouse.models import Feedback

CFG = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "marts.yaml").read_text(encoding="utf-8"))
FB_KEYS = ["area", "source", "channel", "street", "writer_type"]


def _make(kind: str, tmp_path_factory) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('marts') / 'warehouse.db'}"
    return pg_url_or_skip()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def wh(request, tmp_path_factory):
    """A warehouse with the synthetic rows and fully refreshed marts (shared by read-only tests)."""
    url = _make(request.param, tmp_path_factory)
    data = build_warehouse(url)
    summary = refresh_marts(url)
    yield url, data, summary
    if request.param == "postgresql":
        drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request, tmp_path_factory):
    """A warehouse of its own, for tests that change rows."""
    url = _make(request.param, tmp_path_factory)
    data = build_warehouse(url)
    yield url, data
    if request.param == "postgresql":
        drop_pg_database(url)


def read(url: str, table: str) -> pd.DataFrame:
    t = next(t for t in MART_TABLES if t.name == table)
    with get_engine(url).connect() as conn:
        rows = [dict(r) for r in conn.execute(select(t)).mappings()]
    return pd.DataFrame(rows, columns=[c.name for c in t.columns])


def snapshot(url: str) -> dict[str, list[tuple]]:
    out = {}
    for t in MART_TABLES:
        df = read(url, t.name)
        out[t.name] = sorted(tuple(None if (isinstance(v, float) and np.isnan(v)) else
                                   (round(v, 9) if isinstance(v, float) else v) for v in row)
                             for row in df.astype(object).itertuples(index=False))
    return out


def assert_frames(actual: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    """Same keys; every expected column equal (floats to 1e-9, NaN == None)."""
    a = actual.sort_values(keys).reset_index(drop=True)
    e = expected.sort_values(keys).reset_index(drop=True)
    assert len(a) == len(e), f"{len(a)} rows, expected {len(e)}"
    for k in keys:
        assert a[k].astype(str).tolist() == e[k].astype(str).tolist(), f"keys differ in {k}"
    for col in e.columns:
        if col in keys:
            continue
        av = pd.to_numeric(a[col], errors="coerce").to_numpy(dtype=float) if e[col].dtype != object else None
        if av is None:
            assert a[col].tolist() == e[col].tolist(), col
            continue
        ev = pd.to_numeric(e[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isclose(av, ev, rtol=1e-9, atol=1e-9, equal_nan=True)
        assert not bad.any(), f"{col}: {np.flatnonzero(bad).size} rows differ, e.g. key " \
                              f"{e.loc[np.flatnonzero(bad)[0], keys].tolist()}: {av[bad][0]} != {ev[bad][0]}"


# --------------------------------------------------------------------------- expected values


def _month(d) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _prepared(fb: pd.DataFrame) -> pd.DataFrame:
    df = fb[fb["received_date"].notna()].copy()
    df["channel"] = df["channel"].fillna("未知")
    df["street"] = df["street"].fillna("未知")
    df["writer_type"] = df["writer_type"].fillna("unknown")
    df["day"] = df["received_date"]
    df["month"] = df["received_date"].map(_month)
    neg = df["sentiment"] == CFG["negative_label"]
    df["neg"] = neg.astype(int)
    complaint = df["request_type"].isin(CFG["complaint"]["request_types"])
    if CFG["complaint"]["negative_sentiment"]:
        complaint |= neg
    df["complaint"] = complaint.astype(int)
    df["handled"] = df["on_time"].notna().astype(int)
    df["ontime"] = (df["on_time"] == True).astype(int)  # noqa: E712 - object column of True/False/None
    df["answered"] = df["satisfaction"].isin(CFG["followup"]["answered"]).astype(int)
    df["satisfied"] = df["satisfaction"].isin(CFG["followup"]["satisfied"]).astype(int)
    return df


def expected_feedback(fb: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    df = _prepared(fb)
    g = df.groupby(keys, dropna=False)
    out = pd.DataFrame({
        "n_feedback": g.size(), "n_negative": g["neg"].sum(), "sentiment_mean": g["sentiment_score"].mean(),
        "n_complaints": g["complaint"].sum(), "n_entities": g["entity_hash"].nunique(),
        "n_handled": g["handled"].sum(), "n_on_time": g["ontime"].sum(), "n_followup": g["answered"].sum(),
        "n_satisfied": g["satisfied"].sum(),
    }).reset_index()
    out["negative_share"] = out["n_negative"] / out["n_feedback"]
    out["on_time_rate"] = (out["n_on_time"] / out["n_handled"]).where(out["n_handled"] > 0)
    out["followup_satisfaction_rate"] = (out["n_satisfied"] / out["n_followup"]).where(out["n_followup"] > 0)
    return out


def expected_survey(ans: pd.DataFrame) -> pd.DataFrame:
    df = ans[ans["area"].notna() & ans["score_100"].notna()].copy()
    df["month"] = df["submitted_date"].map(_month)
    g = df.groupby(["month", "area"])
    out = pd.DataFrame({"n_answers": g.size(), "n_responses": g["record_key"].nunique(),
                        "n_entities": g["entity_hash"].nunique(), "satisfaction_mean": g["score_100"].mean()})
    return out.reset_index()


def expected_scores(sc: pd.DataFrame) -> pd.DataFrame:
    df = sc[sc["area"].notna()].copy()
    df["sample_size"] = pd.to_numeric(df["sample_size"])
    g = df.groupby(["month", "area", "unit"])
    return pd.DataFrame({"n_scores": g.size(), "score_mean": g["score"].mean(), "score_min": g["score"].min(),
                         "score_max": g["score"].max(),
                         "sample_size": g["sample_size"].sum(min_count=1)}).reset_index()


def _add_month(m: str, k: int) -> str:
    idx = int(m[:4]) * 12 + int(m[5:]) - 1 + k
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def _ranked_max(month_fb: pd.DataFrame) -> float:
    """Complaints of the month's most-complained ranked area (Z, not ranked, does not set the scale)."""
    excluded = set(CFG["composite_index"]["rank_exclude"])
    ranked = month_fb[~month_fb.index.isin(excluded)]
    return (ranked if len(ranked) else month_fb)["n_complaints"].max()


def expected_area(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    fb = expected_feedback(data["feedback"], ["month", "area"]).set_index(["month", "area"])
    sv = expected_survey(data["survey_answer"]).set_index(["month", "area"])
    scores = data["survey_score"][data["survey_score"]["area"].notna()]
    tp = scores.groupby(["month", "area"])["score"].agg(["mean", "size"])
    keys = sorted(set(fb.index) | set(sv.index) | set(tp.index))
    fb_months = {m for m, _ in fb.index}
    weights = CFG["composite_index"]["weights"]
    rows = []
    for month, area in keys:
        f = fb.loc[(month, area)] if (month, area) in fb.index else None
        month_fb = fb.loc[month] if month in fb_months else None
        r = {"month": month, "area": area,
             "n_feedback": int(f["n_feedback"]) if f is not None else 0,
             "n_complaints": int(f["n_complaints"]) if f is not None else 0,
             "negative_share": f["negative_share"] if f is not None else np.nan,
             "on_time_rate": f["on_time_rate"] if f is not None else np.nan,
             "followup_satisfaction_rate": f["followup_satisfaction_rate"] if f is not None else np.nan,
             "sentiment_mean": f["sentiment_mean"] if f is not None else np.nan,
             "n_entities": int(f["n_entities"]) if f is not None else 0,
             "survey_satisfaction": sv.loc[(month, area), "satisfaction_mean"] if (month, area) in sv.index else np.nan,
             "survey_n_answers": int(sv.loc[(month, area), "n_answers"]) if (month, area) in sv.index else 0,
             "third_party_score": tp.loc[(month, area), "mean"] if (month, area) in tp.index else np.nan,
             "third_party_n": int(tp.loc[(month, area), "size"]) if (month, area) in tp.index else 0}
        comps = {
            "sentiment": 100 * (1 - r["negative_share"]), "survey": r["survey_satisfaction"],
            "third_party": r["third_party_score"], "on_time": 100 * r["on_time_rate"],
            "followup": 100 * r["followup_satisfaction_rate"],
            "volume": np.nan if month_fb is None else (
                100.0 if _ranked_max(month_fb) == 0
                else max(0.0, 100 * (1 - r["n_complaints"] / _ranked_max(month_fb)))),
        }
        used = {k: v for k, v in comps.items() if not pd.isna(v) and weights.get(k, 0) > 0}
        r["composite_components"] = len(used)
        r["composite_index"] = (round(sum(weights[k] * v for k, v in used.items()) / sum(weights[k] for k in used), 4)
                                if used else np.nan)
        rows.append(r)
    out = pd.DataFrame(rows)
    excluded = set(CFG["composite_index"]["rank_exclude"])
    ranked = out[~out["area"].isin(excluded) & out["composite_index"].notna()]
    out["composite_rank"] = ranked.groupby("month")["composite_index"].rank(method="min", ascending=False)
    idx = out.set_index(["month", "area"])
    months_with_fb = {m for m in fb_months}
    for sfx, tag, k in (("prev_month", "mom", 1), ("prev_year", "yoy", 12)):
        prev_n, pct, share_prev, share_pp = [], [], [], []
        for month, area, n, share in out[["month", "area", "n_feedback", "negative_share"]].itertuples(index=False):
            pm = _add_month(month, -k)
            p = idx.loc[(pm, area)] if (pm, area) in idx.index else None
            pn = (int(p["n_feedback"]) if p is not None else 0) if pm in months_with_fb else np.nan
            prev_n.append(pn)
            pct.append((n - pn) * 100 / pn if not pd.isna(pn) and pn > 0 else np.nan)
            ps = p["negative_share"] if p is not None else np.nan
            share_prev.append(ps)
            share_pp.append((share - ps) * 100)
        out[f"n_feedback_{sfx}"] = prev_n
        out[f"n_feedback_{tag}_pct"] = pct
        out[f"negative_share_{sfx}"] = share_prev
        out[f"negative_share_{tag}_pp"] = share_pp
        for col in ("survey_satisfaction", "composite_index"):
            prev = [idx.loc[(_add_month(m, -k), a), col] if (_add_month(m, -k), a) in idx.index else np.nan
                    for m, a in out[["month", "area"]].itertuples(index=False)]
            out[f"{col}_{sfx}"] = prev
            out[f"{col}_{tag}_pts"] = out[col] - out[f"{col}_{sfx}"]
    out["composite_rank_prev_month"] = [
        idx.loc[(_add_month(m, -1), a), "composite_rank"] if (_add_month(m, -1), a) in idx.index else np.nan
        for m, a in out[["month", "area"]].itertuples(index=False)]
    return out


def expected_repeat(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    df = _prepared(data["feedback"])
    window, min_n = CFG["repeat_entities"]["window_days"], CFG["repeat_entities"]["min_complaints"]
    comp = df[(df["complaint"] == 1) & df["entity_hash"].notna()]
    names = dict(zip(data["dim_entity"]["entity_hash"], data["dim_entity"]["name_masked"], strict=True))
    rows = []
    for month in sorted(df["month"].unique()):
        y, m = int(month[:4]), int(month[5:])
        last = dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
        first = dt.date(y, m, 1)
        start = last - dt.timedelta(days=window - 1)
        w = comp[(comp["received_date"] >= start) & (comp["received_date"] <= last)]
        for ent, g in w.groupby("entity_hash"):
            if len(g) < min_n:
                continue
            g = g.sort_values(["received_at", "feedback_id"])
            counts = g["area"].value_counts()
            top = sorted(counts.index[counts == counts.max()])[0]
            streets = g["street"][g["street"] != "未知"]
            rows.append({"month": month, "entity_hash": ent,
                         "name_masked": names.get(ent) or g["entity_name_masked"].dropna().iloc[-1],
                         "window_start": start, "window_end": last, "n_complaints": len(g),
                         "n_complaints_month": int((g["received_date"] >= first).sum()),
                         "n_areas": int(g["area"].nunique()), "areas": ",".join(sorted(g["area"].unique())),
                         "top_area": top, "n_sources": int(g["source"].nunique()),
                         "first_at": g["received_at"].min(), "last_at": g["received_at"].max(),
                         "street": streets.iloc[-1] if len(streets) else None})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- tests


def test_daily_mart_matches_raw_rows(wh):
    url, data, _ = wh
    exp = expected_feedback(data["feedback"], ["day", "month", *FB_KEYS])
    act = read(url, "mart_feedback_daily")
    assert_frames(act, exp, ["day", *FB_KEYS])
    assert act["n_feedback"].sum() == len(data["feedback"])


def test_monthly_mart_matches_raw_rows(wh):
    url, data, _ = wh
    exp = expected_feedback(data["feedback"], ["month", *FB_KEYS])
    assert_frames(read(url, "mart_feedback_monthly"), exp, ["month", *FB_KEYS])


def test_survey_mart_is_100_point_satisfaction_with_sample_size(wh):
    url, data, _ = wh
    exp = expected_survey(data["survey_answer"])
    act = read(url, "mart_survey_area_monthly")
    assert_frames(act, exp, ["month", "area"])
    assert act["satisfaction_mean"].between(0, 100).all()
    # 环比 / 同比 of questionnaire satisfaction
    e = exp.set_index(["month", "area"])["satisfaction_mean"]
    for row in act.itertuples():
        for col, k in (("satisfaction_prev_month", 1), ("satisfaction_prev_year", 12)):
            key = (_add_month(row.month, -k), row.area)
            want = e.get(key, np.nan)
            assert np.isclose(getattr(row, col) if getattr(row, col) is not None else np.nan, want, equal_nan=True)


def test_third_party_score_mart(wh):
    url, data, _ = wh
    act = read(url, "mart_score_monthly")
    assert_frames(act, expected_scores(data["survey_score"]), ["month", "area", "unit"])
    one = act.dropna(subset=["score_prev_month"]).iloc[0]
    assert np.isclose(one["score_mom_pts"], one["score_mean"] - one["score_prev_month"])


def test_area_monthly_composite_index_rank_mom_yoy(wh):
    url, data, _ = wh
    exp = expected_area(data)
    act = read(url, "mart_area_monthly")
    assert_frames(act, exp, ["month", "area"])
    # The index is a 0-100 score and rank 1 goes to the best indicator area of each month.
    assert act["composite_index"].dropna().between(0, 100).all()
    march = act[(act["month"] == "2026-03") & (act["area"] != "Z")]
    assert march.loc[march["composite_rank"] == 1, "composite_index"].iloc[0] == march["composite_index"].max()
    assert act.loc[act["area"] == "Z", "composite_rank"].isna().all()
    # 同比 exists for 2026 months only; the first month has no 环比 at all.
    assert act.loc[act["month"] == "2026-02", "n_feedback_prev_year"].notna().all()
    assert act.loc[act["month"] == "2025-01", "n_feedback_prev_month"].isna().all()


def test_repeat_complainants(wh):
    url, data, _ = wh
    exp = expected_repeat(data)
    act = read(url, "mart_repeat_entity")
    assert_frames(act, exp, ["month", "entity_hash"])
    # The planted enterprise with 5 complaints 9 days apart from 2025-03-02 is listed for 2025-03.
    row = act[(act["month"] == "2025-03") & (act["entity_hash"] == "rep00")].iloc[0]
    assert row["n_complaints"] >= 4 and row["top_area"]
    # Names are masked: the name of an enterprise missing from dim_entity comes from its feedback.
    assert act.loc[act["entity_hash"] == "rep01", "name_masked"].str.contains(r"\*").all()


def test_month_calendar(wh):
    url, _, _ = wh
    cal = read(url, "mart_month").set_index("month")
    assert cal.loc["2026-03", "prev_month"] == "2026-02"
    assert cal.loc["2026-01", "prev_month"] == "2025-12"
    assert cal.loc["2026-03", "prev_year_month"] == "2025-03"
    assert cal.loc["2024-02", "n_days"] == 29 and cal.loc["2024-02", "quarter"] == 1


def test_rerun_leaves_every_mart_unchanged(wh):
    url, data, _ = wh
    before = snapshot(url)
    day = sorted(data["feedback"]["received_date"])[len(data["feedback"]) // 2]
    summary = refresh_marts(url, dates=[day])
    assert summary["days"] == 1 and summary["rows"]["mart_feedback_daily"] > 0
    assert snapshot(url) == before
    refresh_marts(url, months=["2025-06"])
    assert snapshot(url) == before
    refresh_marts(url)
    assert snapshot(url) == before


def test_incremental_refresh_equals_full_rebuild(fresh):
    url, data = fresh
    refresh_marts(url)
    rng = np.random.default_rng(3)
    new_day = dt.date(2025, 12, 14)
    changed = data["feedback"].iloc[5]
    removed = data["feedback"].iloc[17]
    with get_engine(url).begin() as conn:
        # a new night's load: new rows, one updated work order (now negative), one withdrawn
        insert_feedback(conn, [feedback_row(900_000 + i, new_day, rng) for i in range(25)])
        f = Feedback.__table__
        conn.execute(update(f).where(f.c.feedback_id == changed["feedback_id"])
                     .values(sentiment="neg", request_type="投诉", on_time=False))
        conn.execute(delete(f).where(f.c.feedback_id == removed["feedback_id"]))
    touched = [new_day, changed["received_date"], removed["received_date"]]
    summary = refresh_marts(url, dates=touched)
    # December's change reaches January's 环比 and next December's 同比
    assert {"2025-12", "2026-01", "2026-12"} <= set(summary["area_months"])
    incremental = snapshot(url)
    refresh_marts(url)
    assert incremental == snapshot(url)


def test_refresh_rejects_bad_month(wh):
    url, _, _ = wh
    with pytest.raises(ValueError, match="not a month"):
        refresh_marts(url, months=["2026-13"])


def test_touched_since_finds_the_days_and_months_of_recent_loads(wh):
    from mart_data import LOADED_AT

    from pipeline.marts import touched_since

    url, data, _ = wh
    days, months = touched_since(url, LOADED_AT)
    assert days == sorted(set(data["feedback"]["received_date"]))
    answer_months = {f"{d:%Y-%m}" for d in data["survey_answer"]["submitted_date"]}
    assert set(months) == answer_months | set(data["survey_score"]["month"])
    assert touched_since(url, LOADED_AT + dt.timedelta(seconds=1)) == ([], [])


def test_an_overall_score_is_not_counted_beside_its_method_scores(fresh):
    """A vendor's 汇总 row (no method) for an indicator stands for its 明细 rows (暗访, 问卷调查 …):
    counting both weighed that indicator twice (found by a reconciliation run: n 12 instead of 9)."""
    from mart_data import _source_rows
    from sqlalchemy import insert

    from warehouse.models import SourceRecord, SurveyScore

    url, _ = fresh
    month, unit = "2026-03", "区某局"
    rows = [("指标一", "暗访", 80.0, 10), ("指标一", "问卷调查", 90.0, 200), ("指标一", None, 86.0, None),
            ("指标二", "暗访", 70.0, 8), ("指标二", "问卷调查", 74.0, 100)]
    with get_engine(url).begin() as conn:
        keys = [f"rx{i}" for i in range(len(rows))]
        conn.execute(insert(SourceRecord.__table__), _source_rows(keys, "survey", dt.datetime(2026, 4, 1)))
        conn.execute(insert(SurveyScore.__table__), [
            {"score_id": f"X{i}", "record_key": k, "month": month, "unit": unit, "indicator": ind, "area": "A2",
             "method": m, "score": v, "sample_size": n, "rank": None}
            for i, (k, (ind, m, v, n)) in enumerate(zip(keys, rows, strict=True))])
    refresh_marts(url)
    got = read(url, "mart_score_monthly").set_index(["month", "area", "unit"]).loc[(month, "A2", unit)]
    # 指标一 by its overall 86; 指标二 by its two method scores 70 and 74
    assert got["n_scores"] == 3 and np.isclose(got["score_mean"], (86 + 70 + 74) / 3)
    assert got["sample_size"] == 318 and got["score_min"] == 70 and got["score_max"] == 86
