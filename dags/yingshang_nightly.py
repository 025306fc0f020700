"""### yingshang_nightly — 夜间入库 (the nightly load)

Every night at 02:00 Asia/Shanghai, for the day that just ended (the run's data interval):

1. **prepare_warehouse** — create or migrate the warehouse schema (`pipeline.ingest.ensure_schema`).
2. **discover** — the landing files of the interval, grouped into *lanes*
   (`pipeline.orchestrate.discover_lanes`): files under `landing/<YYYY-MM-DD>/` for the interval's
   day, plus flat files (`landing/<source>/…`) whose bytes were never loaded. A lane is the files of
   one source in path order (a later export of the same 工单 must win).
3. **ingest** — dynamically mapped, one task per lane (one file per lane on an ordinary day),
   spread over the Celery workers (`pipeline.orchestrate.ingest_lane` → `pipeline.ingest.ingest_file`).
4. **refresh_marts** — only the days and months the files touched (`pipeline.nightly.refresh_after`).
5. **quality_checks** — counters reconcile, rejected files, quarantine share, labels present, marts
   cover the touched days (`pipeline.quality.check_nightly`); a failure fails the run, no retry.
6. **mark_warehouse_updated** — emits the `yingshang_warehouse` asset when rows changed.

Idempotent per data interval: nothing reads the clock; a file's bytes load once. The warehouse URL
comes from the Airflow connection `yingshang_warehouse`, else `YINGSHANG_DB_URL`; the landing folder
from the `landing` parameter, else `YINGSHANG_LANDING`. See docs/deploy.md.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, task

from pipeline.airflow_support import (
    DEFAULT_ARGS,
    DISTRICT_TZ,
    dag_failure_summary,
    task_failure_summary,
    warehouse_db_url,
)

WAREHOUSE = Asset(name="yingshang_warehouse", uri="x-yingshang://warehouse/marts", group="yingshang")
# Operators can cap concurrent file loads with a pool (docs/deploy.md); default: the DAG's pool.
INGEST_POOL = os.environ.get("YINGSHANG_INGEST_POOL") or DEFAULT_ARGS["pool"]


@dag(
    dag_id="yingshang_nightly",
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone=DISTRICT_TZ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=ZoneInfo(DISTRICT_TZ)),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "on_failure_callback": task_failure_summary},
    on_failure_callback=dag_failure_summary,
    params={
        "landing": Param(None, type=["null", "string"], description="Landing folder (else YINGSHANG_LANDING)."),
        "max_quarantine_share": Param(None, type=["null", "number"], minimum=0, maximum=1,
                                      description="Override quality.max_quarantine_share for this run."),
    },
    doc_md=__doc__,
    tags=["yingshang", "nightly"],
)
def yingshang_nightly() -> None:
    @task
    def prepare_warehouse() -> None:
        from pipeline.ingest import ensure_schema

        ensure_schema(warehouse_db_url())

    @task
    def discover(params: dict[str, Any], dag_run=None, data_interval_start=None,
                 data_interval_end=None) -> list[list[str]]:
        from pipeline.orchestrate import discover_lanes, landing_dir, run_interval

        start, end = run_interval(data_interval_start, data_interval_end, dag_run.run_after)
        lanes = discover_lanes(landing_dir(params.get("landing")), start, end, warehouse_db_url(), DISTRICT_TZ)
        print(f"{sum(map(len, lanes))} file(s) in {len(lanes)} lane(s) for {start} → {end}")
        return lanes

    @task(pool=INGEST_POOL, map_index_template="{{ lane_label }}")
    def ingest(lane: list[str]) -> list[dict[str, Any]]:
        from airflow.sdk import get_current_context

        from pipeline.orchestrate import ingest_lane, lane_label

        get_current_context()["lane_label"] = lane_label(lane)  # the mapped task's name in the UI
        results = ingest_lane(lane, warehouse_db_url())
        for r in results:
            print(f"{r['status']:8s} {r['path']}: rows_in={r['rows_in']} inserted={r['inserted']} "
                  f"updated={r['updated']} unchanged={r['unchanged']} quarantined={r['quarantined']}"
                  + (f" error={r['error']}" if r["error"] else ""))
        return results

    @task(trigger_rule="none_failed")
    def refresh_marts(lane_results: list[list[dict[str, Any]]]) -> dict[str, Any]:
        from pipeline.orchestrate import flatten_results, refresh_for_results

        return refresh_for_results(flatten_results(lane_results), warehouse_db_url())

    @task(trigger_rule="none_failed", retries=0)
    def quality_checks(lane_results: list[list[dict[str, Any]]], refreshed: dict[str, Any],
                       params: dict[str, Any]) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline.orchestrate import flatten_results
        from pipeline.quality import QualityError, check_nightly

        try:
            report = check_nightly(flatten_results(lane_results), warehouse_db_url(),
                                   max_quarantine_share=params.get("max_quarantine_share"))
        except QualityError as exc:
            # AirflowFailException: no retry — the data will not be better on the next try.
            raise AirflowFailException(str(exc)) from exc
        for c in report["checks"]:
            print(f"OK {c['name']}: {c['detail']}")
        return {"ok": report["ok"], "totals": report["totals"]}

    @task(outlets=[WAREHOUSE])
    def mark_warehouse_updated(report: dict[str, Any], outlet_events=None) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowSkipException

        totals = report["totals"]
        if not (totals["inserted"] or totals["updated"]):
            # Nothing changed: skipping emits no asset event, so nothing downstream re-runs for nothing.
            raise AirflowSkipException("no row inserted or updated: the warehouse did not change")
        outlet_events[WAREHOUSE].extra = {k: totals[k] for k in ("files", "inserted", "updated", "quarantined")}
        return totals

    lanes = discover()
    prepare_warehouse() >> lanes
    results = ingest.expand(lane=lanes)
    report = quality_checks(results, refresh_marts(results))
    mark_warehouse_updated(report)


yingshang_nightly()
