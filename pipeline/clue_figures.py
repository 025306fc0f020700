"""A built clue's figures (线索统计) kept true to its members between rebuilds.

The monthly build computes a clue's counts, dates, examples and description from its members. When a
re-delivered record drops a member (a questionnaire answer that lost its text) or changes one (a work
order's 诉求内容 corrected), the clue still shows the old figures until the month is rebuilt: a clue
listing 3 enterprises for 2 members, or quoting a text no longer in the warehouse. The nightly load calls
:func:`refresh_clue_figures` for the clues it touched. The grouping itself, the title, keywords, heat,
grade and deadline stay the build's: they are decided by the monthly job (and a deadline that moved
under a department's feet would be worse than a stale one).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from warehouse.load import chunked
from warehouse.models import ClueMember, Feedback, ProblemClue

__all__ = ["member_snapshot", "refresh_clue_figures"]

_FIELDS = ("text", "entity_hash", "street", "received_at", "source")


def member_snapshot(conn: Connection, feedback_ids: Iterable[str]) -> dict[str, tuple]:
    """For the given feedback ids that are members of a clue: ``{feedback_id: (clue_id, *fields)}``,
    the values a clue's figures are computed from (compare before and after a load)."""
    cm, fb = ClueMember.__table__, Feedback.__table__
    out: dict[str, tuple] = {}
    for part in chunked(list(feedback_ids), 900):
        q = (select(cm.c.feedback_id, cm.c.clue_id, *(fb.c[f] for f in _FIELDS))
             .join(fb, fb.c.feedback_id == cm.c.feedback_id).where(cm.c.feedback_id.in_(part)))
        for row in conn.execute(q):
            out[row[0]] = tuple(row[1:])
    return out


def refresh_clue_figures(conn: Connection, clue_ids: Iterable[str], n_examples: int | None = None) -> int:
    """Recompute n_items, n_entities, n_sources, sources, n_streets, first/last seen, examples and the
    description (its most central member) of these clues from their members now. Returns the number of
    clues updated. A clue left without members keeps its row (the ledger item refers to it) with
    n_items 0."""
    from pipeline.clues import load_clue_config, ordered_sources, pick_examples

    ids = sorted(set(clue_ids))
    if not ids:
        return 0
    cfg = load_clue_config()
    n_ex = int(n_examples if n_examples is not None else cfg.g("n_examples"))
    desc_chars = int(cfg.g("description_chars"))
    cm, fb, pc = ClueMember.__table__, Feedback.__table__, ProblemClue.__table__
    for cid in ids:
        rows = conn.execute(
            select(fb.c.text, fb.c.entity_hash, fb.c.street, fb.c.received_at, fb.c.source)
            .join(cm, cm.c.feedback_id == fb.c.feedback_id).where(cm.c.clue_id == cid)
            # the build's order: most central first (clue_member.similarity), ties by id
            .order_by(cm.c.similarity.desc(), fb.c.feedback_id)).all()
        values: dict = {"n_items": len(rows)}
        if rows:
            texts = [r.text for r in rows]
            seen = [r.received_at for r in rows if r.received_at is not None]
            desc = texts[0] if len(texts[0]) <= desc_chars else texts[0][: desc_chars - 1] + "…"
            sources = ordered_sources(r.source for r in rows)
            values.update({
                "n_entities": len({r.entity_hash for r in rows if r.entity_hash}),
                "n_sources": len(sources),
                "sources": ",".join(sources),
                "n_streets": len({str(r.street) for r in rows if r.street}),
                "first_seen": min(seen) if seen else None,
                "last_seen": max(seen) if seen else None,
                "examples": pick_examples(texts, n_ex),
                "description": desc,
            })
        else:
            values.update({"n_entities": 0, "n_sources": 0, "sources": "", "n_streets": 0, "examples": []})
        conn.execute(pc.update().where(pc.c.clue_id == cid).values(**values))
    return len(ids)
