-- Analyst queries (分析查询示例) over the analyst views (v_*), one question each.
--
-- Every query is portable SQL: it runs unchanged on SQLite and PostgreSQL, and reads views only, so
-- it works for the read-only role made by `yingshang db grant-analyst`. "This month" is the latest
-- month holding feedback; replace the subquery by a literal ('2026-03') to ask about another one.
-- 环比 (month-on-month) and 同比 (year-on-year) come ready-made in v_area_monthly,
-- v_survey_area_monthly and v_score_monthly; v_month gives prev_month / prev_year_month for
-- building your own comparisons (see streets_fastest_growing_complaints).
-- Format: each query is preceded by `-- name:` and `-- question:` lines and ends with `;`
-- (tests/test_analyst_queries.py runs every one on both databases).

-- name: top_areas_this_month
-- question: Which indicator areas received the most feedback this month, how negative was it, and how does the volume compare with last month (环比)?
SELECT v.area, v.area_name, v.n_feedback, v.n_negative, v.negative_share,
       v.n_feedback_prev_month, v.n_feedback_mom_pct
FROM v_area_monthly v
WHERE v.month = (SELECT MAX(month) FROM v_area_monthly WHERE n_feedback > 0)
  AND v.n_feedback > 0
ORDER BY v.n_feedback DESC, v.area;

-- name: areas_worse_this_month
-- question: Which areas got worse this month: where did the negative share rise most against last month, and how did the composite index move?
SELECT v.area, v.area_name, v.negative_share, v.negative_share_prev_month, v.negative_share_mom_pp,
       v.composite_index, v.composite_index_mom_pts, v.composite_rank, v.composite_rank_prev_month
FROM v_area_monthly v
WHERE v.month = (SELECT MAX(month) FROM v_area_monthly WHERE n_feedback > 0)
  AND v.negative_share_mom_pp IS NOT NULL
ORDER BY v.negative_share_mom_pp DESC, v.area;

-- name: streets_fastest_growing_complaints
-- question: In which streets did complaints (投诉/举报 or negative feedback) grow fastest this month compared with last month?
WITH latest AS (
    SELECT MAX(month) AS month FROM v_feedback_monthly
), cur AS (
    SELECT f.street, SUM(f.n_complaints) AS n
    FROM v_feedback_monthly f
    WHERE f.month = (SELECT month FROM latest)
    GROUP BY f.street
), prev AS (
    SELECT f.street, SUM(f.n_complaints) AS n
    FROM v_feedback_monthly f
    JOIN v_month m ON m.prev_month = f.month
    WHERE m.month = (SELECT month FROM latest)
    GROUP BY f.street
)
SELECT cur.street, cur.n AS complaints, COALESCE(prev.n, 0) AS complaints_prev_month,
       cur.n - COALESCE(prev.n, 0) AS change,
       CASE WHEN prev.n > 0 THEN (cur.n - prev.n) * 100.0 / prev.n END AS change_pct
FROM cur
LEFT JOIN prev ON prev.street = cur.street
WHERE cur.street <> '未知'
ORDER BY change DESC, cur.street;

-- name: repeat_enterprises
-- question: Which enterprises complained three or more times in the last 90 days (as of this month's end), about what and where?
SELECT r.entity_hash, r.name_masked, r.n_complaints, r.n_complaints_month, r.areas, r.top_area,
       r.top_area_name, r.street, r.first_at, r.last_at
FROM v_repeat_entities r
WHERE r.month = (SELECT MAX(month) FROM v_repeat_entities)
ORDER BY r.n_complaints DESC, r.entity_hash;

-- name: repeat_enterprises_persistent
-- question: Which enterprises have been on the repeat-complainant list in more than one month, and since when?
SELECT r.entity_hash, MAX(r.name_masked) AS name_masked, COUNT(*) AS months_listed,
       MIN(r.month) AS first_listed, MAX(r.month) AS last_listed, MAX(r.n_complaints) AS max_complaints_90d
FROM v_repeat_entities r
GROUP BY r.entity_hash
HAVING COUNT(*) > 1
ORDER BY months_listed DESC, r.entity_hash;

-- name: satisfaction_vs_last_year
-- question: How satisfied are firms with each area this month on the questionnaire (100-point scale), compared with last month (环比) and the same month last year (同比)?
SELECT s.area, s.area_name, s.n_answers, s.n_responses, s.satisfaction_mean,
       s.satisfaction_prev_month, s.satisfaction_mom_pts,
       s.satisfaction_prev_year, s.satisfaction_yoy_pts
FROM v_survey_area_monthly s
WHERE s.month = (SELECT MAX(month) FROM v_survey_area_monthly)
ORDER BY s.satisfaction_mean, s.area;

-- name: composite_ranking
-- question: What is this month's composite business-environment index and rank of each indicator area, and how did the rank move since last month?
SELECT v.composite_rank, v.area, v.area_name, v.composite_index, v.composite_components,
       v.composite_rank_prev_month, v.composite_index_mom_pts, v.composite_index_yoy_pts
FROM v_area_monthly v
WHERE v.month = (SELECT MAX(month) FROM v_area_monthly WHERE n_feedback > 0)
  AND v.composite_rank IS NOT NULL
ORDER BY v.composite_rank, v.area;

-- name: third_party_lowest_units
-- question: Which evaluated units scored lowest in the latest third-party evaluation (第三方测评), and how did their scores move against last month?
SELECT s.unit, s.area, s.area_name, s.n_scores, s.score_mean, s.score_prev_month, s.score_mom_pts,
       s.score_prev_year, s.score_yoy_pts
FROM v_score_monthly s
WHERE s.month = (SELECT MAX(month) FROM v_score_monthly)
ORDER BY s.score_mean, s.unit, s.area;

-- name: on_time_and_followup_by_unit
-- question: Which responsible units handled this month's work orders late most often, and how satisfied were callers at follow-up (回访)?
SELECT f.unit,
       COUNT(f.on_time) AS handled,
       SUM(CASE WHEN f.on_time THEN 1 ELSE 0 END) AS on_time,
       SUM(CASE WHEN f.on_time THEN 1 ELSE 0 END) * 1.0 / COUNT(f.on_time) AS on_time_rate,
       SUM(CASE WHEN f.satisfaction IN ('满意', '基本满意') THEN 1 ELSE 0 END) AS satisfied,
       SUM(CASE WHEN f.satisfaction IN ('满意', '基本满意', '不满意') THEN 1 ELSE 0 END) AS followed_up
FROM v_feedback f
WHERE f.received_month = (SELECT MAX(month) FROM v_area_monthly WHERE n_feedback > 0)
  AND f.unit IS NOT NULL
GROUP BY f.unit
HAVING COUNT(f.on_time) > 0
ORDER BY on_time_rate, f.unit;

-- name: district_monthly_trend
-- question: How did the district's total feedback volume and negative share develop month by month, against the same month last year (同比)?
WITH m AS (
    SELECT month, SUM(n_feedback) AS n_feedback, SUM(n_negative) AS n_negative
    FROM v_area_monthly
    GROUP BY month
    HAVING SUM(n_feedback) > 0
)
SELECT m.month, m.n_feedback, m.n_negative * 1.0 / m.n_feedback AS negative_share,
       ly.n_feedback AS n_feedback_prev_year,
       CASE WHEN ly.n_feedback > 0 THEN (m.n_feedback - ly.n_feedback) * 100.0 / ly.n_feedback END
           AS n_feedback_yoy_pct
FROM m
JOIN v_month c ON c.month = m.month
LEFT JOIN m ly ON ly.month = c.prev_year_month
ORDER BY m.month;

-- name: daily_volume_this_month
-- question: Day by day this month, how much feedback arrived and how much of it was negative?
SELECT d.day, SUM(d.n_feedback) AS n_feedback, SUM(d.n_negative) AS n_negative,
       SUM(d.n_complaints) AS n_complaints
FROM v_area_daily d
WHERE d.month = (SELECT MAX(month) FROM v_area_daily)
GROUP BY d.day
ORDER BY d.day;

-- name: enterprises_vs_persons
-- question: Are enterprises more negative than private persons this month, per source?
SELECT f.source, f.source_name, f.writer_type, SUM(f.n_feedback) AS n_feedback,
       SUM(f.n_negative) * 1.0 / SUM(f.n_feedback) AS negative_share
FROM v_feedback_monthly f
WHERE f.month = (SELECT MAX(month) FROM v_feedback_monthly)
GROUP BY f.source, f.source_name, f.writer_type
ORDER BY f.source, f.writer_type;

-- name: overdue_ledger_by_unit
-- question: Which responsible units have rectification items past their deadline and still open (超期未销号)?
-- (Empty on a fresh demo warehouse: a ledger item's deadline is counted since the day it entered the ledger,
-- so nothing is overdue until its grade's allowance (config/clues.yaml deadlines: C 5 and B 15 working days,
-- A one month) has passed.)
SELECT o.responsible_unit, COUNT(*) AS overdue_items, MIN(o.deadline) AS oldest_deadline
FROM v_ledger_overdue o
GROUP BY o.responsible_unit
ORDER BY overdue_items DESC, o.responsible_unit;

-- name: clues_this_month
-- question: What are this month's hottest problem clues (问题线索) per area, with their grade and responsible unit?
SELECT c.area, c.area_name, c.clue_id, c.title, c.heat, c.grade, c.n_items, c.n_entities,
       c.responsible_unit, c.recurring
FROM v_clues c
WHERE c.month = (SELECT MAX(month) FROM v_clues)
ORDER BY c.heat DESC, c.clue_id;
