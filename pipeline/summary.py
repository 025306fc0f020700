"""A short summary of what the warehouse holds for a month (概况), printed by ``yingshang summary``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from warehouse.db import get_engine, resolve_url
from warehouse.models import (
    Feedback,
    IngestFile,
    LedgerItem,
    ProblemClue,
    QuarantineRow,
    ReviewQueueItem,
    SurveyAnswer,
    SurveyScore,
)


def month_summary(month: str, db_url: str | None) -> dict[str, Any]:
    y, m = (int(x) for x in month.split("-"))
    start, end = dt.date(y, m, 1), dt.date(y + (m == 12), m % 12 + 1, 1)
    f = Feedback.__table__
    with get_engine(db_url).connect() as conn:
        by_source = {s: n for s, n in conn.execute(
            select(f.c.source, func.count()).where(f.c.received_date >= start, f.c.received_date < end)
            .group_by(f.c.source))}
        by_area = {a: (n, neg) for a, n, neg in conn.execute(
            select(f.c.area, func.count(), func.sum((f.c.sentiment == "neg").cast(f.c.text_length.type)))
            .where(f.c.received_date >= start, f.c.received_date < end).group_by(f.c.area).order_by(f.c.area))}
        files = {s: n for s, n in conn.execute(select(IngestFile.status, func.count()).group_by(IngestFile.status))}
        answers = conn.scalar(select(func.count()).select_from(SurveyAnswer).where(
            SurveyAnswer.submitted_date >= start, SurveyAnswer.submitted_date < end))
        scores = conn.scalar(select(func.count()).select_from(SurveyScore).where(SurveyScore.month == month))
        clues = conn.scalar(select(func.count()).select_from(ProblemClue).where(ProblemClue.month == month))
        ledger_open = conn.scalar(select(func.count()).select_from(LedgerItem).where(LedgerItem.status != "已销号"))
        overdue = conn.scalar(select(func.count()).select_from(LedgerItem).where(LedgerItem.overdue.is_(True)))
        quarantined = conn.scalar(select(func.count()).select_from(QuarantineRow).where(QuarantineRow.status == "open"))
        review = conn.scalar(select(func.count()).select_from(ReviewQueueItem).where(ReviewQueueItem.status == "open"))
    return {"month": month, "feedback_by_source": by_source, "feedback_by_area": by_area, "files": files,
            "survey_answers": answers, "survey_scores": scores, "clues": clues, "ledger_open": ledger_open,
            "ledger_overdue": overdue, "quarantined_open": quarantined, "review_queue_open": review}


def print_summary(month: str, db_url: str | None, landing: Path | None, outputs: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from pipeline.config import load_areas

    s = month_summary(month, db_url)
    names = {a.code: a.name_zh for a in load_areas()}
    con = Console()
    t = Table(title=f"营商 Yingshang — {month}")
    t.add_column("area")
    t.add_column("feedback", justify="right")
    t.add_column("negative", justify="right")
    for code, (n, neg) in s["feedback_by_area"].items():
        t.add_row(f"{code} {names.get(code, '')}", str(n), f"{(neg or 0) / n:.0%}" if n else "-")
    t.add_row("total", str(sum(n for n, _ in s["feedback_by_area"].values())), "")
    con.print(t)
    con.print("feedback by source: " + ", ".join(f"{k} {v}" for k, v in sorted(s["feedback_by_source"].items())))
    files = ", ".join(f"{n} {status}" for status, n in sorted(s["files"].items())) or "none"
    con.print(f"files: {files}; survey answers {s['survey_answers']}, third-party scores {s['survey_scores']}")
    con.print(f"clues {s['clues']}; ledger open {s['ledger_open']}, overdue {s['ledger_overdue']}; "
              f"quarantined rows {s['quarantined_open']}; review queue {s['review_queue_open']}")
    con.print(f"warehouse: {resolve_url(db_url)}")
    if landing:
        con.print(f"landing files: {landing}")
    if outputs and outputs.exists():
        for p in sorted(outputs.rglob("*")):
            if p.is_file() and p.suffix in {".xlsx", ".html"}:
                con.print(f"output: {p}")
