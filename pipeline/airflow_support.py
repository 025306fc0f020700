"""Shared wiring of the Yingshang DAGs (调度公共件): default arguments, callbacks, the warehouse URL.

Kept tiny and import-light: only the standard library at import time, so parsing a DAG file stays
fast. Everything with logic lives in ``pipeline/`` (see ``pipeline.orchestrate``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any

log = logging.getLogger("yingshang.airflow")

OWNER = "yingshang"
DISTRICT_TZ = "Asia/Shanghai"

# Retries with exponential back-off: 2 min, 4 min, 8 min … capped at 30 min. Loads are idempotent
# (a file's bytes are registered once), so a retry never loads anything twice.
DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": int(os.environ.get("YINGSHANG_TASK_RETRIES", "3")),
    "retry_delay": dt.timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": dt.timedelta(minutes=30),
    "execution_timeout": dt.timedelta(hours=2),
    # YINGSHANG_POOL puts every task in one pool, e.g. a 1-slot pool when the warehouse is SQLite
    # (one writer at a time); on PostgreSQL the default pool is fine. Read when the DAG is parsed.
    "pool": os.environ.get("YINGSHANG_POOL") or "default_pool",
}


def warehouse_db_url() -> str | None:
    """The warehouse URL: Airflow connection ``yingshang_warehouse``, else ``YINGSHANG_DB_URL``."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from pipeline.orchestrate import WAREHOUSE_CONN_ID, warehouse_url

    try:
        conn = BaseHook.get_connection(WAREHOUSE_CONN_ID)
    except AirflowNotFoundException:
        return warehouse_url()
    return warehouse_url(conn.get_uri(), conn.extra_dejson)


def _ctx_get(context: Any, key: str) -> Any:
    try:
        return context[key]
    except (KeyError, TypeError):
        return getattr(context, key, None) if not isinstance(context, dict) else None


def task_failure_summary(context: Any) -> None:
    """on_failure_callback of every task: one clear summary in the task log after the last try."""
    from pipeline.orchestrate import failure_summary

    ti = _ctx_get(context, "ti") or _ctx_get(context, "task_instance")
    dag_run = _ctx_get(context, "dag_run")
    log.error(failure_summary(
        dag_id=getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?"),
        run_id=getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
        task_id=getattr(ti, "task_id", None), map_index=getattr(ti, "map_index", None),
        try_number=getattr(ti, "try_number", None),
        interval=(_ctx_get(context, "data_interval_start"), _ctx_get(context, "data_interval_end")),
        error=_ctx_get(context, "exception"), log_url=getattr(ti, "log_url", None)))


def _ti_label(ti: Any) -> str:
    idx = getattr(ti, "map_index", -1)
    return ti.task_id + (f"[{idx}]" if idx is not None and idx >= 0 else "")


def dag_failure_summary(context: Any) -> None:
    """on_failure_callback of the DAG: which tasks failed in the run, and why the run stopped."""
    from pipeline.orchestrate import failure_summary

    dag_run = _ctx_get(context, "dag_run")
    failed: list[str] = []
    if hasattr(dag_run, "get_task_instances"):  # a DagRun model (dag.test, older runtimes)
        try:
            failed = [_ti_label(ti) for ti in dag_run.get_task_instances(state=["failed"])]
        except Exception:
            log.debug("could not list failed task instances", exc_info=True)
    if not failed and _ctx_get(context, "ti") is not None:  # Airflow 3: the task that failed the run
        failed = [_ti_label(_ctx_get(context, "ti"))]
    log.error(failure_summary(
        dag_id=getattr(dag_run, "dag_id", "?"), run_id=getattr(dag_run, "run_id", None),
        interval=(getattr(dag_run, "data_interval_start", None), getattr(dag_run, "data_interval_end", None)),
        error=_ctx_get(context, "reason"), failed_tasks=failed))


def worker_hostname() -> str:
    """``[core] hostname_callable`` for several Celery workers on one machine (工作节点名).

    Airflow records the host that ran each task instance; workers on one host would all record the
    same name. With ``AIRFLOW__CORE__HOSTNAME_CALLABLE=pipeline.airflow_support.worker_hostname`` a
    worker started with ``YINGSHANG_WORKER_NAME=worker-a`` records ``worker-a@<host>``.
    """
    import socket

    name = os.environ.get("YINGSHANG_WORKER_NAME")
    host = socket.getfqdn()
    return f"{name}@{host}" if name else host
