"""Grouping quality of planted problems (植入问题) read back from a warehouse.

Shared by tests/test_monthly.py (the end-to-end assertion) and ``python tests/test_clues.py
--warehouse URL LANDING MONTH`` (the per-problem report after ``make demo``).
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, select

from warehouse.db import resolve_url
from warehouse.models import ClueMember, Feedback, ProblemClue


def planted_quality(url: str, landing: str | Path, month: str) -> list[dict]:
    """Per planted problem of ``landing/planted_problems.json``: the month's clue holding most of its
    members (by source and source record id), that clue's area and size, precision, recall and F1."""
    planted = json.loads((Path(landing) / "planted_problems.json").read_text(encoding="utf-8"))
    problems = planted["problems"] if isinstance(planted, dict) else planted
    eng = create_engine(resolve_url(url))
    try:
        with eng.connect() as conn:
            rows = conn.execute(select(ClueMember.clue_id, Feedback.source, Feedback.source_record_id, ProblemClue.area)
                                .join(Feedback, Feedback.feedback_id == ClueMember.feedback_id)
                                .join(ProblemClue, ProblemClue.clue_id == ClueMember.clue_id)
                                .where(ProblemClue.month == month)).all()
    finally:
        eng.dispose()
    by_clue: dict[str, set] = {}
    area_of: dict[str, str] = {}
    for cid, src, rid, area in rows:
        by_clue.setdefault(cid, set()).add((src, str(rid)))
        area_of[cid] = area
    out = []
    for p in problems:
        ids = {(m["source"], str(m["source_record_id"])) for m in p["members"]}
        best, overlap = max(((c, len(ids & m)) for c, m in by_clue.items()), key=lambda t: t[1], default=(None, 0))
        size = len(by_clue.get(best, ()))
        precision = overlap / size if size else 0.0
        recall = overlap / len(ids) if ids else 0.0
        f1 = 2 * precision * recall / (precision + recall) if overlap else 0.0
        out.append({"id": p["id"], "title": p["title"], "area": p["area"], "planted": len(ids), "clue_id": best,
                    "clue_area": area_of.get(best), "clue_items": size, "precision": precision, "recall": recall,
                    "f1": f1})
    return out
