"""A synthetic warehouse with 14 months of history for the monthly-report tests.

``build(url)`` upgrades an empty database, inserts rows straight into the base tables with
SQLAlchemy (no NLP pipeline), refreshes the marts and returns nothing: the report tests then compute
their expected numbers from the base tables on their own. The data has shape a reader would
recognise: 获得水电气暖 (A3) jumps in the report month (heating season), 纳税 (A5) turns more
negative, questionnaire satisfaction of 政务服务 (A9) drops, one street grows; clues and ledger items
cover the last three months with every ledger status, some overdue; a few texts carry HTML/SQL
"traps" that the report must show literally.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import insert

REPORT_MONTH = "2026-10"
TODAY = dt.date(2026, 11, 20)  # the day the report is "written"
FIRST_MONTH = "2025-09"
N_MONTHS = 14
LOADED_AT = dt.datetime(2026, 11, 2, 3, 0, 0)

AREA_BASE = {"A1": 40, "A2": 14, "A3": 30, "A4": 12, "A5": 28, "A6": 10, "A7": 8, "A8": 30, "A9": 55, "Z": 22}
AREA_NEG = {"A1": 0.40, "A2": 0.45, "A3": 0.50, "A4": 0.35, "A5": 0.35, "A6": 0.40, "A7": 0.50, "A8": 0.45,
            "A9": 0.35, "Z": 0.30}
AREA_SAT = {"A1": 86, "A2": 80, "A3": 78, "A4": 84, "A5": 88, "A6": 82, "A7": 76, "A8": 83, "A9": 90}
SOURCES = {"hotline": ("12345热线工单", 0.66), "questionnaire": ("企业问卷", 0.14), "survey": ("第三方测评", 0.08),
           "supervisor": ("特邀监督员", 0.12)}
CHANNELS = ["电话", "电话", "电话", "网站", "微信", "手机App"]
STREETS = ["城关街道", "东城街道", "西湖街道", "南湖街道", "北山镇", "开发区"]
STREET_W = np.array([0.26, 0.2, 0.17, 0.15, 0.1, 0.12])
LEAD_UNIT = {"A1": "市场监督管理局", "A2": "住房和城乡建设局", "A3": "供电公司", "A4": "自然资源和规划局",
             "A5": "税务局", "A6": "金融工作局", "A7": "人民法院", "A8": "市场监督管理局",
             "A9": "行政审批和政务服务局", "Z": "区政府办公室"}
XSS_TITLE = "<script>document.title='pwned'</script>营业执照'; DROP TABLE feedback;--"
XSS_UNIT = "<img src=x onerror=alert(1)>局"
CLUE_TITLES = {
    "A1": ["营业执照变更登记等待时间长", "企业简易注销材料反复退回", "核名系统经常卡顿"],
    "A2": ["施工许可审批超时", "联合验收多次往返"],
    "A3": ["冬季供暖接入迟迟不通", "工业园区频繁停电", "用电报装增容收费不透明", "燃气报装周期长"],
    "A4": ["不动产登记证书发放慢"],
    "A5": ["电子税务局申报系统卡顿", "发票领用限额过低", "退税到账慢"],
    "A6": ["小微企业贷款抵押要求高"],
    "A7": ["合同纠纷执行周期长"],
    "A8": ["执法检查过于频繁", "同一事项多头检查"],
    "A9": ["政务大厅窗口排队时间长", "一网通办系统无法上传材料", "预约号源紧张"],
    "Z": ["小区周边噪音扰民"],
}


def months() -> list[str]:
    y, m = int(FIRST_MONTH[:4]), int(FIRST_MONTH[5:])
    out = []
    for i in range(N_MONTHS):
        idx = y * 12 + m - 1 + i
        out.append(f"{idx // 12:04d}-{idx % 12 + 1:02d}")
    return out


def _bounds(month: str) -> tuple[dt.date, int]:
    y, m = int(month[:4]), int(month[5:])
    first = dt.date(y, m, 1)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return first, (nxt - first).days


def _volume(area: str, i: int, month: str) -> float:
    v = AREA_BASE[area] * (1 + 0.08 * np.sin(i / 2.0))
    if area == "A3" and month[5:] in ("11", "12", "01"):
        v *= 1.35  # heating season
    if month == REPORT_MONTH:
        v *= {"A3": 1.9, "A9": 0.8, "A1": 1.1}.get(area, 1.0)
    return v


def _neg(area: str, month: str) -> float:
    p = AREA_NEG[area]
    if area == "A5" and month == REPORT_MONTH:
        p += 0.25
    return min(p, 0.95)


def _sat(area: str, month: str) -> float:
    s = AREA_SAT[area]
    if area == "A9" and month == REPORT_MONTH:
        s -= 12
    return s


def _source_rows(keys: list[str], source: str) -> list[dict[str, Any]]:
    return [{"record_key": k, "source": source, "natural_key": k, "content_hash": "h", "first_file_id": 1,
             "last_file_id": 1, "row_number": i + 2, "version": 1, "payload": {}, "created_at": LOADED_AT,
             "updated_at": LOADED_AT} for i, k in enumerate(keys)]


def generate(seed: int = 3, month_list: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """The raw rows, by table name."""
    rng = np.random.default_rng(seed)
    ms = month_list or months()
    fb: list[dict[str, Any]] = []
    src_codes = list(SOURCES)
    src_p = np.array([SOURCES[s][1] for s in src_codes])
    for i, month in enumerate(ms):
        first, ndays = _bounds(month)
        for area in AREA_BASE:
            n = int(rng.poisson(_volume(area, i, month)))
            for _ in range(n):
                k = len(fb)
                day = first + dt.timedelta(days=int(rng.integers(0, ndays)))
                received = dt.datetime.combine(day, dt.time(int(rng.integers(8, 19)), int(rng.integers(0, 60))))
                source = str(rng.choice(src_codes, p=src_p))
                hotline = source == "hotline"
                w = STREET_W.copy()
                if month == REPORT_MONTH:
                    w[3] *= 2.2  # 南湖街道 grows in the report month
                street = str(rng.choice(STREETS, p=w / w.sum())) if rng.random() > 0.06 else None
                neg = rng.random() < _neg(area, month)
                due = received + dt.timedelta(days=10) if hotline else None
                closed = received + dt.timedelta(days=int(rng.integers(1, 15))) if hotline and rng.random() < 0.9 \
                    else None
                unit = (XSS_UNIT if (area == "Z" and rng.random() < 0.2) else LEAD_UNIT[area]) if hotline else None
                fb.append({
                    "feedback_id": f"fb{k:06d}", "record_key": f"rk{k:06d}", "source": source,
                    "source_record_id": f"GD{k:06d}", "part": "",
                    "channel": str(rng.choice(CHANNELS)) if hotline else None,
                    "received_at": received, "received_date": day,
                    "request_type": str(rng.choice(["投诉", "咨询", "建议", "求助"])) if hotline else None,
                    "writer_type": "enterprise" if rng.random() < 0.7 else "person",
                    "entity_hash": f"ent{int(rng.integers(0, 300)):04d}", "entity_name_masked": "某某**有限公司",
                    "person_name_masked": None, "phone_masked": None, "phone_hash": None,
                    "address_masked": None, "street": street, "title": None,
                    "text": "反映问题" if k % 97 else "<b>加粗</b> & 'quote'", "text_length": 4, "tokens": None,
                    "call_taker_category": None, "unit": unit, "due_at": due, "closed_at": closed,
                    "handling_result": None, "status": "已办结" if closed else "办理中",
                    "satisfaction": (str(rng.choice(["满意", "满意", "基本满意", "不满意", "未回访"]))
                                     if closed else None),
                    "resolved": None, "on_time": (closed <= due) if closed else None,
                    "reporter_category": None, "score_100": None,
                    "area": area, "area2": None, "area_confidence": 0.9, "area_origin": "model",
                    "sentiment": "neg" if neg else str(rng.choice(["neu", "pos"])),
                    "sentiment_score": -0.6 if neg else 0.3, "sentiment_confidence": 0.8,
                    "keywords": None, "model_version": "test", "loaded_at": LOADED_AT,
                })
    answers: list[dict[str, Any]] = []
    levels = np.array([0.0, 25.0, 50.0, 75.0, 100.0])
    for month in ms:
        first, ndays = _bounds(month)
        for r in range(int(rng.integers(35, 50))):
            resp = f"Q{month}-{r:03d}"
            day = first + dt.timedelta(days=int(rng.integers(0, ndays)))
            for q, area in enumerate(list(AREA_SAT) + [None]):
                score = None
                if area is not None and rng.random() > 0.08:
                    mean = _sat(area, month)
                    score = float(levels[int(np.clip(np.round(rng.normal(mean, 22) / 25), 0, 4))])
                answers.append({
                    "answer_id": f"{resp}-{q}", "record_key": f"rq{resp}", "response_no": resp,
                    "submitted_at": dt.datetime.combine(day, dt.time(10, 0)), "submitted_date": day,
                    "question": f"{q + 1}、满意度" if area else "10、意见建议", "area": area, "answer_text": None,
                    "score_100": score, "entity_hash": f"ent{int(rng.integers(0, 300)):04d}",
                    "street": str(rng.choice(STREETS)), "industry": "制造业", "size": "小型",
                })
    scores: list[dict[str, Any]] = []
    for month in ms:
        for area in ["A1", "A2", "A3", "A5", "A8", "A9"]:
            scores.append({
                "score_id": f"S{month}-{area}", "record_key": f"rs{month}-{area}", "month": month,
                "unit": LEAD_UNIT[area], "indicator": f"{area}综合", "area": area, "method": "暗访",
                "score": float(np.round(rng.normal(AREA_SAT.get(area, 80) - 2, 4), 2)),
                "sample_size": int(rng.integers(10, 40)), "rank": None,
            })
    clues: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    for k, month in enumerate(ms[-3:]):
        first, ndays = _bounds(month)
        built = dt.datetime.combine(first + dt.timedelta(days=ndays + 1), dt.time(6, 0))
        j = 0
        for area, titles in CLUE_TITLES.items():
            for title in titles:
                if rng.random() < 0.15:
                    continue
                j += 1
                heat = float(np.round(rng.uniform(2, 30), 2))
                if month == REPORT_MONTH and area == "A3":
                    heat += 25
                clue_title = title
                unit = LEAD_UNIT[area]
                if month == REPORT_MONTH and j == 1:
                    clue_title, heat, unit = XSS_TITLE, 99.0, XSS_UNIT
                grade = "A" if heat > 25 else "B" if heat > 12 else "C"
                clue_id = f"XS-{month.replace('-', '')}-{area}-{j:03d}"
                deadline = (built + dt.timedelta(days={"A": 10, "B": 20, "C": 30}[grade])).date()
                clues.append({
                    "clue_id": clue_id, "month": month, "area": area, "title": clue_title,
                    "description": f"{clue_title}，多家企业反映", "keywords": None,
                    "n_items": int(heat // 2) + 2, "n_entities": int(heat // 3) + 1, "n_sources": 2, "n_streets": 2,
                    "sources": "hotline,supervisor", "first_seen": None, "last_seen": None, "examples": [],
                    "heat": heat, "grade": grade, "responsible_unit": unit, "deadline": deadline,
                    "previous_clue_id": None, "recurring": bool(k and rng.random() < 0.3), "built_at": built,
                })
                # Ledger: older months further along.
                u = rng.random()
                created = built + dt.timedelta(hours=1)
                item = {"item_id": "L-" + clue_id, "clue_id": clue_id, "month": month, "area": area,
                        "title": clue_title, "description": "", "grade": grade, "responsible_unit": unit,
                        "deadline": deadline, "measures": None, "progress": None, "followup": None,
                        "followup_at": None, "closed_at": None, "overdue": False, "edited_fields": [],
                        "version": 1, "created_at": created, "updated_at": created}
                if k == 2:  # the report month: built in November
                    item["status"] = "待交办" if u < 0.4 else "整改中"
                    if u > 0.8:
                        item["deadline"] = TODAY - dt.timedelta(days=2)  # already overdue
                elif u < 0.35:
                    item["status"] = "整改中"  # overdue: deadline passed long ago
                elif u < 0.55:
                    item["status"] = "已整改待回访"
                    item["updated_at"] = created + dt.timedelta(days=8)
                elif u < 0.65:
                    item.update(status="重新交办", followup="不满意", followup_at=created + dt.timedelta(days=12),
                                updated_at=created + dt.timedelta(days=12),
                                deadline=(created + dt.timedelta(days=40)).date())
                else:
                    late = u > 0.9
                    closed_at = dt.datetime.combine(deadline, dt.time(9)) + dt.timedelta(days=5 if late else -2)
                    item.update(status="已销号", followup="满意" if u < 0.85 else "基本满意",
                                followup_at=closed_at, closed_at=closed_at, updated_at=closed_at)
                ledger.append(item)
    return {"feedback": fb, "survey_answer": answers, "survey_score": scores, "problem_clue": clues,
            "ledger_item": ledger}


def build(url: str, seed: int = 3, month_list: list[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Upgrade the database at ``url``, insert the synthetic rows, refresh the marts; returns the rows."""
    from pipeline.config import load_areas
    from warehouse.db import get_engine, upgrade
    from warehouse.marts import refresh
    from warehouse.models import (
        DimArea,
        DimDate,
        DimSource,
        Feedback,
        IngestFile,
        LedgerItem,
        ProblemClue,
        SourceRecord,
        SurveyAnswer,
        SurveyScore,
    )

    upgrade(url)
    data = generate(seed, month_list)
    with get_engine(url).begin() as conn:
        conn.execute(insert(DimArea.__table__), [
            {"code": a.code, "name_zh": a.name_zh, "name_en": a.name_en, "lead_unit": a.lead_unit,
             "description": a.description, "sort_order": i} for i, a in enumerate(load_areas())])
        conn.execute(insert(DimSource.__table__),
                     [{"code": k, "name_zh": v[0], "weight": 1.0} for k, v in SOURCES.items()])
        conn.execute(insert(IngestFile.__table__), [{
            "file_id": 1, "path": "/landing/x.csv", "file_name": "x.csv", "source": "hotline", "sha256": "0" * 64,
            "size_bytes": 1, "status": "loaded", "rows_in": 0, "inserted": 0, "updated": 0, "unchanged": 0,
            "quarantined": 0, "ignored_rows": 0, "error": None, "started_at": LOADED_AT, "finished_at": LOADED_AT}])
        fb = data["feedback"]
        conn.execute(insert(SourceRecord.__table__), _source_rows([r["record_key"] for r in fb], "hotline"))
        conn.execute(insert(Feedback.__table__), fb)
        days = sorted({r["received_date"] for r in fb})
        conn.execute(insert(DimDate.__table__), [
            {"date_key": d, "year": d.year, "month": f"{d.year:04d}-{d.month:02d}", "day": d.day,
             "weekday": d.isoweekday(), "is_workday": d.isoweekday() < 6} for d in days])
        ans = data["survey_answer"]
        conn.execute(insert(SourceRecord.__table__),
                     _source_rows(sorted({a["record_key"] for a in ans}), "questionnaire"))
        conn.execute(insert(SurveyAnswer.__table__), ans)
        sc = data["survey_score"]
        conn.execute(insert(SourceRecord.__table__), _source_rows([s["record_key"] for s in sc], "survey"))
        conn.execute(insert(SurveyScore.__table__), sc)
        if data["problem_clue"]:
            conn.execute(insert(ProblemClue.__table__), data["problem_clue"])
        if data["ledger_item"]:
            conn.execute(insert(LedgerItem.__table__), data["ledger_item"])
        refresh(conn)
    return data
