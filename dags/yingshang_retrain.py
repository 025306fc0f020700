"""### yingshang_retrain — 模型再训练 (retraining the area and sentiment models)

On the 2nd of every month at 03:00 Asia/Shanghai (after the analysts' corrections of the month's
review queue), and on demand:

1. **retrain** — mapped over the two models (`area`, `sentiment`): train a candidate on the seed
   corpus plus the analysts' label corrections, evaluate it and the active model on a held-back
   slice chosen by a hash of each text, and promote the candidate only when its macro-F1 is not worse;
   the replaced model is kept as `<model>.prev` and every version stays under
   `<model_dir>/<task>/versions/` (`pipeline.retrain.retrain`).
2. **summary** — one line per model: promoted or kept, with both scores.

Models live under the `model_dir` parameter, else `YINGSHANG_MODEL_DIR`, else nlp/models (the folder
the enrichment step loads them from, so a promoted model is used by the next nightly run).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from pipeline.airflow_support import (
    DEFAULT_ARGS,
    DISTRICT_TZ,
    dag_failure_summary,
    task_failure_summary,
    warehouse_db_url,
)


@dag(
    dag_id="yingshang_retrain",
    schedule=CronTriggerTimetable("0 3 2 * *", timezone=DISTRICT_TZ),
    start_date=dt.datetime(2026, 1, 1, tzinfo=ZoneInfo(DISTRICT_TZ)),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1, "on_failure_callback": task_failure_summary},
    on_failure_callback=dag_failure_summary,
    params={
        "model_dir": Param(None, type=["null", "string"], description="Model folder (else YINGSHANG_MODEL_DIR)."),
        "holdout_share": Param(0.2, type="number", exclusiveMinimum=0, exclusiveMaximum=1),
        "tolerance": Param(0.0, type="number", minimum=0, description="Promote if candidate F1 + tolerance "
                                                                        ">= active F1."),
    },
    doc_md=__doc__,
    tags=["yingshang", "models"],
)
def yingshang_retrain() -> None:
    @task(map_index_template="{{ task_name }}")
    def retrain(task_name: str, params: dict[str, Any]) -> dict[str, Any]:
        from airflow.sdk import get_current_context

        from pipeline.orchestrate import model_dir
        from pipeline.retrain import retrain as run_retrain

        get_current_context()["task_name"] = task_name
        return run_retrain(task_name, model_dir(params.get("model_dir")), warehouse_db_url(),
                           holdout_share=float(params["holdout_share"]), tolerance=float(params["tolerance"]))

    @task
    def summary(results: list[dict[str, Any]]) -> list[str]:
        lines = [f"{r['task']}: {'PROMOTED' if r['promoted'] else 'kept active'} — {r['reason']} "
                 f"(version {r['version']}, {r['n_train']} train / {r['n_holdout']} held back, "
                 f"{r['n_corrections']} corrections)" for r in results]
        print("\n".join(lines))
        return lines

    summary(retrain.expand(task_name=["area", "sentiment"]))


yingshang_retrain()
