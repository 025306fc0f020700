"""A small synthetic warehouse for the mart, view and query tests.

``build_warehouse(url)`` upgrades an empty database, inserts raw rows straight into the base tables
with SQLAlchemy (no NLP pipeline) and returns them as pandas frames, so a test can compute the
expected numbers on its own. The data spans 2025-01 … 2026-03 (so 同比 exists for 2026-01 … 03),
with a few enterprises that complain again and again, work orders with deadlines and follow-up
satisfaction, questionnaire answers and third-party scores. Personal-data "traps" (a phone hash,
masked person names, tokens) let the view tests check that nothing of them leaks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert

AREAS = ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "Z"]
SOURCES = {"hotline": "12345热线工单", "questionnaire": "企业问卷", "survey": "第三方测评", "supervisor": "特邀监督员"}
STREETS = ["东城街道", "西城街道", "南湖街道", "北山街道", None]
CHANNELS = ["电话", "网站", "微信", None]
WRITERS = ["enterprise", "person", None]
REQUEST_TYPES = ["投诉", "举报", "咨询", "建议", "求助", None]
SATISFACTION = ["满意", "基本满意", "不满意", "未回访", None]
UNITS = ["行政审批局", "税务局", "市场监督管理局", "供电公司"]
PHONE_HASH_TRAP = "deadbeefphonehash000000000000001"
TOKEN_TRAP = "令牌陷阱词"
PERSON_TRAP = "张*三"
FIRST_MONTH, N_MONTHS = (2025, 1), 15
LOADED_AT = dt.datetime(2026, 4, 1, 3, 0, 0)


def months() -> list[str]:
    y, m = FIRST_MONTH
    out = []
    for i in range(N_MONTHS):
        idx = y * 12 + m - 1 + i
        out.append(f"{idx // 12:04d}-{idx % 12 + 1:02d}")
    return out


def _day_in(month: str, rng: np.random.Generator) -> dt.date:
    y, m = int(month[:4]), int(month[5:])
    first = dt.date(y, m, 1)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return first + dt.timedelta(days=int(rng.integers(0, (nxt - first).days)))


def feedback_row(i: int, day: dt.date, rng: np.random.Generator, entity: str | None = None,
                 **over: Any) -> dict[str, Any]:
    """One feedback row shaped like the enrichment output."""
    source = str(rng.choice(list(SOURCES), p=[0.6, 0.2, 0.1, 0.1]))
    writer = entity and "enterprise" or WRITERS[int(rng.integers(0, 3))]
    ent = entity if entity else (f"ent{int(rng.integers(0, 40)):03d}" if writer == "enterprise" else None)
    received = dt.datetime.combine(day, dt.time(int(rng.integers(8, 20)), int(rng.integers(0, 60))))
    hotline = source == "hotline"
    due = received + dt.timedelta(days=int(rng.integers(3, 15))) if hotline else None
    closed = None
    if hotline and rng.random() < 0.8:
        closed = received + dt.timedelta(days=int(rng.integers(1, 20)), hours=int(rng.integers(0, 5)))
    sentiment = str(rng.choice(["neg", "neu", "pos"], p=[0.45, 0.35, 0.2]))
    row = {
        "feedback_id": f"fb{i:06d}", "record_key": f"rk{i:06d}", "source": source,
        "source_record_id": f"GD{i:06d}", "part": "",
        "channel": CHANNELS[int(rng.integers(0, len(CHANNELS)))] if source == "hotline" else None,
        "received_at": received, "received_date": day,
        "request_type": REQUEST_TYPES[int(rng.integers(0, len(REQUEST_TYPES)))] if hotline else None,
        "writer_type": writer, "entity_hash": ent,
        "entity_name_masked": f"某某{ent[-2:]}**有限公司" if ent else None,
        "person_name_masked": PERSON_TRAP, "phone_masked": "138****0000", "phone_hash": PHONE_HASH_TRAP,
        "address_masked": "某区**路", "street": STREETS[int(rng.integers(0, len(STREETS)))],
        "title": "办事难", "text": f"反映问题第{i}号", "text_length": 8, "tokens": TOKEN_TRAP,
        "call_taker_category": None, "unit": UNITS[int(rng.integers(0, len(UNITS)))], "due_at": due,
        "closed_at": closed, "handling_result": "已办理" if closed else None,
        "status": "已办结" if closed else "办理中",
        "satisfaction": SATISFACTION[int(rng.integers(0, len(SATISFACTION)))] if closed else None,
        "resolved": bool(rng.random() < 0.6) if closed else None,
        "on_time": (closed <= due) if (closed and due) else None,
        "reporter_category": "企业家代表" if source == "supervisor" else None, "score_100": None,
        "area": AREAS[int(rng.integers(0, len(AREAS)))], "area2": None,
        "area_confidence": float(rng.random()), "area_origin": "model", "sentiment": sentiment,
        "sentiment_score": float(np.round(rng.uniform(-1, 1), 6)), "sentiment_confidence": 0.8,
        "keywords": "办事 难", "model_version": "test", "loaded_at": LOADED_AT,
    }
    row.update(over)
    return row


def generate(seed: int = 7) -> dict[str, pd.DataFrame]:
    """The raw rows (as frames) of the synthetic warehouse."""
    rng = np.random.default_rng(seed)
    fb: list[dict[str, Any]] = []
    for month in months():
        for _ in range(int(rng.integers(60, 110))):
            fb.append(feedback_row(len(fb), _day_in(month, rng), rng))
    # Repeat complainants: a few enterprises complaining within short spans.
    for k, (start, n) in enumerate([(dt.date(2025, 3, 2), 5), (dt.date(2025, 11, 20), 4),
                                    (dt.date(2026, 2, 10), 3), (dt.date(2026, 3, 5), 2)]):
        for j in range(n):
            fb.append(feedback_row(len(fb), start + dt.timedelta(days=9 * j), rng, entity=f"rep{k:02d}",
                                   source="hotline", request_type="投诉", channel="电话"))
    answers: list[dict[str, Any]] = []
    for month in months():
        for r in range(int(rng.integers(8, 15))):
            resp = f"Q{month}-{r:03d}"
            day = _day_in(month, rng)
            ent = f"ent{int(rng.integers(0, 40)):03d}"
            for q, area in enumerate(AREAS[:9] + [None]):
                score = [0.0, 25.0, 50.0, 75.0, 100.0, None][int(rng.integers(0, 6))]
                answers.append({
                    # 序号 restarts in every questionnaire: two exports of a month share numbers
                    "answer_id": f"{resp}-{q}", "record_key": f"rq{resp}", "response_no": str(r % 6 + 1),
                    "submitted_at": dt.datetime.combine(day, dt.time(10, 0)), "submitted_date": day,
                    "question": f"{q + 1}、满意度" if area else "10、意见建议", "area": area,
                    "answer_text": None, "score_100": score if area else None, "entity_hash": ent,
                    "street": STREETS[int(rng.integers(0, 4))], "industry": "制造业", "size": "小型",
                })
    scores: list[dict[str, Any]] = []
    for month in months():
        for unit in UNITS:
            for area in ["A1", "A3", "A5", "A9", None]:
                if rng.random() < 0.25:
                    continue
                scores.append({
                    "score_id": f"S{month}-{unit}-{area}", "record_key": f"rs{month}-{unit}-{area}",
                    "month": month, "unit": unit, "indicator": f"指标{area}", "area": area,
                    "method": "暗访", "score": float(np.round(rng.uniform(60, 100), 2)),
                    "sample_size": int(rng.integers(5, 50)) if rng.random() < 0.8 else None, "rank": None,
                })
    frame = pd.DataFrame(fb)
    ents = sorted({e for e in frame["entity_hash"].dropna()})
    entities = pd.DataFrame([{"entity_hash": e, "name_masked": f"登记{e[-2:]}**公司", "credit_code_masked": None,
                              "credit_code_valid": None, "first_seen": None, "last_seen": None}
                             for e in ents if not e.startswith("rep01")])
    return {"feedback": frame, "survey_answer": pd.DataFrame(answers), "survey_score": pd.DataFrame(scores),
            "dim_entity": entities}


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if (v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT) else v)
             for k, v in r.items()} for r in df.astype(object).to_dict("records")]


def _source_rows(keys: list[str], source: str, now: dt.datetime) -> list[dict[str, Any]]:
    return [{"record_key": k, "source": source, "natural_key": k, "content_hash": "h", "first_file_id": 1,
             "last_file_id": 1, "row_number": i + 2, "version": 1, "payload": {}, "created_at": now,
             "updated_at": now} for i, k in enumerate(keys)]


def insert_feedback(conn, rows: list[dict[str, Any]]) -> None:
    """Insert feedback rows with their source records and calendar days (raw SQLAlchemy inserts)."""
    from warehouse.models import DimDate, Feedback, SourceRecord

    if not rows:
        return
    conn.execute(insert(SourceRecord.__table__), _source_rows([r["record_key"] for r in rows], "hotline",
                                                              LOADED_AT))
    conn.execute(insert(Feedback.__table__), rows)
    days = sorted({r["received_date"] for r in rows if r["received_date"]})
    have = {d for (d,) in conn.execute(DimDate.__table__.select().with_only_columns(DimDate.__table__.c.date_key)
                                       .where(DimDate.__table__.c.date_key.in_(days)))}
    new = [{"date_key": d, "year": d.year, "month": f"{d.year:04d}-{d.month:02d}", "day": d.day,
            "weekday": d.isoweekday(), "is_workday": d.isoweekday() < 6} for d in days if d not in have]
    if new:
        conn.execute(insert(DimDate.__table__), new)


def build_warehouse(url: str, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Upgrade the database at ``url``, insert the synthetic rows, return them as frames."""
    from pipeline.config import load_areas
    from warehouse.db import get_engine, upgrade
    from warehouse.models import (
        DimArea,
        DimEntity,
        DimSource,
        IngestFile,
        LedgerItem,
        ProblemClue,
        SourceRecord,
        SurveyAnswer,
        SurveyScore,
    )

    upgrade(url)
    data = generate(seed)
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(DimArea.__table__), [
            {"code": a.code, "name_zh": a.name_zh, "name_en": a.name_en, "lead_unit": a.lead_unit,
             "description": a.description, "sort_order": i} for i, a in enumerate(load_areas())])
        conn.execute(insert(DimSource.__table__), [{"code": k, "name_zh": v, "weight": 1.0} for k, v in SOURCES.items()])
        conn.execute(insert(IngestFile.__table__), [{
            "file_id": 1, "path": "/landing/x.csv", "file_name": "x.csv", "source": "hotline", "sha256": "0" * 64,
            "size_bytes": 1, "status": "loaded", "rows_in": 0, "inserted": 0, "updated": 0, "unchanged": 0,
            "quarantined": 0, "ignored_rows": 0, "error": None, "started_at": LOADED_AT, "finished_at": LOADED_AT}])
        insert_feedback(conn, _records(data["feedback"]))
        answers = _records(data["survey_answer"])
        conn.execute(insert(SourceRecord.__table__), _source_rows(sorted({a["record_key"] for a in answers}),
                                                                  "questionnaire", LOADED_AT))
        conn.execute(insert(SurveyAnswer.__table__), answers)
        scores = _records(data["survey_score"])
        conn.execute(insert(SourceRecord.__table__), _source_rows([s["record_key"] for s in scores], "survey",
                                                                  LOADED_AT))
        conn.execute(insert(SurveyScore.__table__), scores)
        conn.execute(insert(DimEntity.__table__), _records(data["dim_entity"]))
        clue = {"month": "2026-03", "area": "A1", "title": "营业执照办理慢", "description": "多家企业反映",
                "keywords": "营业执照", "n_items": 3, "n_entities": 2, "n_sources": 1, "n_streets": 1,
                "sources": "hotline", "first_seen": LOADED_AT, "last_seen": LOADED_AT,
                "examples": [{"text": "反映问题"}], "heat": 3.0, "grade": "B", "responsible_unit": "市场监督管理局",
                "deadline": None, "previous_clue_id": None, "recurring": False, "built_at": LOADED_AT}
        conn.execute(insert(ProblemClue.__table__), [dict(clue, clue_id=f"C{i}") for i in range(4)])
        item = {"month": "2026-03", "area": "A1", "title": "营业执照办理慢", "description": "多家企业反映",
                "grade": "B", "responsible_unit": "市场监督管理局", "measures": None, "progress": None,
                "followup": None, "followup_at": None, "edited_fields": [], "version": 1,
                "created_at": LOADED_AT, "updated_at": LOADED_AT, "overdue": False}
        today = dt.date.today()
        conn.execute(insert(LedgerItem.__table__), [
            dict(item, item_id="L0", clue_id="C0", status="整改中", deadline=today - dt.timedelta(days=5),
                 closed_at=None),  # overdue
            dict(item, item_id="L1", clue_id="C1", status="已销号", deadline=today - dt.timedelta(days=5),
                 closed_at=LOADED_AT),  # closed: not overdue
            dict(item, item_id="L2", clue_id="C2", status="整改中", deadline=today + dt.timedelta(days=30),
                 closed_at=None),  # not yet due
            dict(item, item_id="L3", clue_id="C3", status="已整改待回访", deadline=today - dt.timedelta(days=5),
                 closed_at=None),  # reported done, awaiting follow-up: not overdue
        ])
    return data
