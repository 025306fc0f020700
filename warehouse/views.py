"""Analyst views (分析视图): the stable, documented surface analysts and BI tools query.

The views never expose unmasked personal data, nor the salted phone hash or the token lists: a
PostgreSQL role made by ``yingshang db grant-analyst`` can read these views and nothing else (views
run with their owner's rights, so reading a view needs no right on the tables under it).

The SQL is plain and portable (the same text on SQLite and PostgreSQL); column names are a public
interface documented in docs/data_dictionary.md. ``create_views`` is called by the Alembic
migration and may be called again at any time; on PostgreSQL it keeps existing grants where the
columns did not change (``CREATE OR REPLACE VIEW``).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_FEEDBACK_MEASURES = """
    m.n_feedback, m.n_negative, m.negative_share, m.sentiment_mean, m.n_complaints, m.n_entities,
    m.n_handled, m.n_on_time, m.on_time_rate, m.n_followup, m.n_satisfied, m.followup_satisfaction_rate"""

VIEWS: dict[str, str] = {
    # Indicator areas, for labels and sort order.
    "v_area": """
SELECT a.code AS area, a.name_zh AS area_name, a.name_en AS area_name_en, a.lead_unit, a.sort_order
FROM dim_area a""",
    # Month calendar: join cur.prev_month = prev.month for 环比, prev_year_month for 同比.
    "v_month": """
SELECT mm.month, mm.year, mm.month_no, mm.quarter, mm.first_day, mm.last_day, mm.n_days,
       mm.prev_month, mm.prev_year_month, mm.next_month
FROM mart_month mm""",
    # One row per piece of feedback; masked columns only (no person names, phones, phone hashes, tokens).
    "v_feedback": """
SELECT f.feedback_id, f.source, s.name_zh AS source_name, f.source_record_id, f.part, f.channel,
       f.received_at, f.received_date, d.month AS received_month, f.request_type, f.writer_type,
       f.entity_hash, f.entity_name_masked, f.address_masked, f.street, f.title, f.text, f.text_length,
       f.call_taker_category, f.unit, f.due_at, f.closed_at, f.handling_result, f.status,
       f.satisfaction, f.resolved, f.on_time, f.reporter_category, f.score_100,
       f.area, a.name_zh AS area_name, f.area2, f.area_confidence, f.area_origin,
       f.sentiment, f.sentiment_score, f.sentiment_confidence, f.keywords, f.model_version, f.loaded_at
FROM feedback f
LEFT JOIN dim_area a ON a.code = f.area
LEFT JOIN dim_source s ON s.code = f.source
LEFT JOIN dim_date d ON d.date_key = f.received_date""",
    "v_area_daily": f"""
SELECT m.day, m.month, m.area, a.name_zh AS area_name, m.source, s.name_zh AS source_name, m.channel,
       m.street, m.writer_type,{_FEEDBACK_MEASURES}
FROM mart_feedback_daily m
LEFT JOIN dim_area a ON a.code = m.area
LEFT JOIN dim_source s ON s.code = m.source""",
    "v_feedback_monthly": f"""
SELECT m.month, m.area, a.name_zh AS area_name, m.source, s.name_zh AS source_name, m.channel,
       m.street, m.writer_type,{_FEEDBACK_MEASURES}
FROM mart_feedback_monthly m
LEFT JOIN dim_area a ON a.code = m.area
LEFT JOIN dim_source s ON s.code = m.source""",
    "v_area_monthly": f"""
SELECT m.month, m.area, a.name_zh AS area_name,{_FEEDBACK_MEASURES},
       m.survey_satisfaction, m.survey_n_answers, m.third_party_score, m.third_party_n,
       m.composite_index, m.composite_components, m.composite_rank,
       m.n_feedback_prev_month, m.n_feedback_mom_pct, m.n_feedback_prev_year, m.n_feedback_yoy_pct,
       m.negative_share_prev_month, m.negative_share_mom_pp, m.negative_share_prev_year,
       m.negative_share_yoy_pp, m.survey_satisfaction_prev_month, m.survey_satisfaction_mom_pts,
       m.survey_satisfaction_prev_year, m.survey_satisfaction_yoy_pts, m.composite_index_prev_month,
       m.composite_index_mom_pts, m.composite_index_prev_year, m.composite_index_yoy_pts,
       m.composite_rank_prev_month
FROM mart_area_monthly m
LEFT JOIN dim_area a ON a.code = m.area""",
    "v_survey_area_monthly": """
SELECT m.month, m.area, a.name_zh AS area_name, m.n_answers, m.n_responses, m.n_entities,
       m.satisfaction_mean, m.satisfaction_prev_month, m.satisfaction_mom_pts,
       m.satisfaction_prev_year, m.satisfaction_yoy_pts
FROM mart_survey_area_monthly m
LEFT JOIN dim_area a ON a.code = m.area""",
    "v_score_monthly": """
SELECT m.month, m.area, a.name_zh AS area_name, m.unit, m.n_scores, m.score_mean, m.score_min,
       m.score_max, m.sample_size, m.score_prev_month, m.score_mom_pts, m.score_prev_year,
       m.score_yoy_pts
FROM mart_score_monthly m
LEFT JOIN dim_area a ON a.code = m.area""",
    "v_repeat_entities": """
SELECT r.month, r.entity_hash, r.name_masked, r.window_start, r.window_end, r.n_complaints,
       r.n_complaints_month, r.n_areas, r.areas, r.top_area, a.name_zh AS top_area_name, r.n_sources,
       r.first_at, r.last_at, r.street
FROM mart_repeat_entity r
LEFT JOIN dim_area a ON a.code = r.top_area""",
    # Clues without their JSON example list (v_feedback holds the masked texts).
    "v_clues": """
SELECT c.clue_id, c.month, c.area, a.name_zh AS area_name, c.title, c.description, c.keywords,
       c.n_items, c.n_entities, c.n_sources, c.n_streets, c.sources, c.first_seen, c.last_seen,
       c.heat, c.grade, c.responsible_unit, c.deadline, c.previous_clue_id, c.recurring, c.built_at
FROM problem_clue c
LEFT JOIN dim_area a ON a.code = c.area""",
    "v_ledger": """
SELECT l.item_id, l.clue_id, l.month, l.area, a.name_zh AS area_name, l.title, l.description, l.grade,
       l.responsible_unit, l.deadline, l.measures, l.progress, l.status, l.followup, l.followup_at,
       l.closed_at, l.overdue, l.version, l.created_at, l.updated_at
FROM ledger_item l
LEFT JOIN dim_area a ON a.code = l.area""",
    # Open items past their deadline (超期未整改), judged against today's date when queried. "Open"
    # = rectification not reported done: the statuses of pipeline.ledger_rules.OPEN_STATUSES
    # (a test keeps the two lists equal).
    "v_ledger_overdue": """
SELECT l.item_id, l.clue_id, l.month, l.area, a.name_zh AS area_name, l.title, l.grade,
       l.responsible_unit, l.deadline, l.status, l.progress, l.followup, l.created_at, l.updated_at
FROM ledger_item l
LEFT JOIN dim_area a ON a.code = l.area
WHERE l.status IN ('待交办', '整改中', '重新交办') AND l.deadline IS NOT NULL AND l.deadline < {TODAY}""",
}

VIEW_NAMES: tuple[str, ...] = tuple(VIEWS)
LEDGER_OPEN_STATUSES = ("待交办", "整改中", "重新交办")  # as written in v_ledger_overdue


# "Today" in Beijing time (the warehouse's times are naive local times, Asia/Shanghai, UTC+8 all
# year): CURRENT_DATE is UTC in SQLite, so from 00:00 to 08:00 items due the day before were not yet
# overdue in v_ledger_overdue.
TODAY_SQL = {"sqlite": "date('now', '+8 hours')",
             "postgresql": "CAST((now() AT TIME ZONE 'Asia/Shanghai') AS date)"}


def create_views(conn: Connection) -> list[str]:
    """Create or replace every analyst view; returns their names."""
    today = TODAY_SQL.get(conn.dialect.name, "CURRENT_DATE")
    for name, body in VIEWS.items():
        body = body.replace("{TODAY}", today)
        if conn.dialect.name == "postgresql":
            # CREATE OR REPLACE keeps grants; it refuses when columns were renamed or removed, and
            # then the view is dropped and made again (re-run grant-analyst afterwards).
            try:
                with conn.begin_nested():
                    conn.execute(text(f"CREATE OR REPLACE VIEW {name} AS {body}"))
                continue
            except Exception:  # any refusal: fall back to drop and create
                pass
        conn.execute(text(f"DROP VIEW IF EXISTS {name}"))
        conn.execute(text(f"CREATE VIEW {name} AS {body}"))
    return list(VIEWS)


def drop_views(conn: Connection) -> None:
    """Drop every analyst view (for a downgrade)."""
    for name in reversed(VIEW_NAMES):
        conn.execute(text(f"DROP VIEW IF EXISTS {name}"))
