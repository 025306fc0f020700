"""### yingshang_monthly — 月度线索与报告 (the monthly clue list and report)

On the 1st of every month at 06:00 Asia/Shanghai (after the nightly load of the month's last day),
for the month that just ended — the run's data interval is that month:

1. **month** — the month to build: the `month` parameter, else the local month the data interval
   starts in (`pipeline.orchestrate.interval_month`); a manual run without a logical date builds the
   month before the day it was triggered.
2. **refresh_month_marts** — rebuild the month's marts (cheap and idempotent; makes the report
   independent of how the nightly runs went).
3. **build_clues** — group the month's negative feedback into problem clues (问题线索), merge them into
   the ledger (问题台账) and write `问题线索清单_<YYYY-MM>.xlsx` (`pipeline.monthly.build_month_clues`).
4. **write_report** — the monthly HTML report with charts (`pipeline.report.write_report`).

Outputs go under the `out` parameter, else `YINGSHANG_OUT`, else var/out. The warehouse URL comes
from the Airflow connection `yingshang_warehouse`, else `YINGSHANG_DB_URL`. See docs/deploy.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from pipeline.airflow_support import (
    DEFAULT_ARGS,
    DISTRICT_TZ,
    dag_failure_summary,
    task_failure_summary,
    warehouse_db_url,
)


@dag(
    dag_id="yingshang_monthly",
    schedule=CronDataIntervalTimetable("0 6 1 * *", timezone=DISTRICT_TZ),
    start_date=dt.datetime(2026, 1, 1, 6, tzinfo=ZoneInfo(DISTRICT_TZ)),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "on_failure_callback": task_failure_summary},
    on_failure_callback=dag_failure_summary,
    params={
        "month": Param(None, type=["null", "string"], pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                       description="Month to build, YYYY-MM (else the run's data interval)."),
        "out": Param(None, type=["null", "string"], description="Output folder (else YINGSHANG_OUT)."),
    },
    doc_md=__doc__,
    tags=["yingshang", "monthly"],
)
def yingshang_monthly() -> None:
    @task
    def month(params: dict[str, Any], dag_run=None, data_interval_start=None) -> str:
        from pipeline.orchestrate import interval_month, previous_month

        if params.get("month"):
            return params["month"]
        # A manual run without a logical date has no data interval: the month before the run.
        if data_interval_start is None:
            return previous_month(dag_run.run_after, DISTRICT_TZ)
        return interval_month(data_interval_start, DISTRICT_TZ)

    @task
    def refresh_month_marts(month: str) -> dict[str, Any]:
        from pipeline.ingest import ensure_schema
        from pipeline.orchestrate import refresh_for_results

        db = warehouse_db_url()
        ensure_schema(db)
        return refresh_for_results([{"path": f"month {month}", "touched_months": [month]}], db)

    @task
    def build_clues(month: str, params: dict[str, Any]) -> dict[str, Any]:
        from pipeline.orchestrate import build_clues_step

        summary = build_clues_step(month, params.get("out"), warehouse_db_url())
        print(f"clues for {month}: {summary}")
        return summary

    @task
    def write_report(month: str, params: dict[str, Any]) -> dict[str, Any]:
        from pipeline.orchestrate import report_step

        return report_step(month, params.get("out"), warehouse_db_url())

    m = month()
    clues = build_clues(m)
    refresh_month_marts(m) >> clues >> write_report(m)


yingshang_monthly()
