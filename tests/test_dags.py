"""The Airflow DAGs (dags/): they import, have the documented shape, and really run.

``dag.test()`` runs the nightly and monthly DAGs end to end on a generated sample month into SQLite
(and PostgreSQL when YINGSHANG_TEST_PG_URL is set); the warehouse must then hold exactly what
``yingshang run`` + ``yingshang clues`` leave for the same files. Needs Apache Airflow (the optional
``airflow`` extra: ``make airflow-install``); skipped without it. Airflow runs against a throw-away
AIRFLOW_HOME with a SQLite metadata database.
"""

from __future__ import annotations

import atexit
import datetime as dt
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAG_IDS = {"yingshang_nightly", "yingshang_monthly", "yingshang_retrain"}

if importlib.util.find_spec("airflow") is not None:
    # Airflow reads its configuration when first imported: isolate it before that.
    _HOME = tempfile.mkdtemp(prefix="yingshang_airflow_test_")
    atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
    os.environ.update({
        "AIRFLOW_HOME": _HOME,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
        # A failing task fails at once in tests instead of waiting minutes for its retries.
        "YINGSHANG_TASK_RETRIES": "0",
    })

pytest.importorskip("airflow", reason="Apache Airflow is not installed (optional extra: make airflow-install)")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def airflow_db():
    """Airflow's metadata database, migrated once for the module (``airflow db migrate``)."""
    proc = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True,
                          timeout=300, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-3000:]
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


# --------------------------------------------------------------------------- the folder and the shapes


def test_dag_folder_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS


def test_dag_files_import_nothing_heavy_at_parse_time():
    """Parsing a DAG file must not import pandas, scikit-learn, jieba or the pipeline's loaders."""
    heavy = ("pandas", "numpy", "sklearn", "jieba", "rjieba", "matplotlib", "pipeline.ingest", "nlp")
    code = ("import runpy, sys\n"
            f"for f in {[str(p) for p in sorted(DAGS.glob('*.py'))]!r}: runpy.run_path(f)\n"
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1:] in ([], [""]), f"imported at parse time: {proc.stdout}"


def _edges(dag) -> dict[str, set[str]]:
    return {t.task_id: set(t.downstream_task_ids) for t in dag.tasks}


def test_nightly_shape(dagbag):
    from airflow.sdk import Asset

    dag = dagbag.dags["yingshang_nightly"]
    assert _edges(dag) == {
        "prepare_warehouse": {"discover"},
        "discover": {"ingest"},
        "ingest": {"refresh_marts", "quality_checks"},
        "refresh_marts": {"quality_checks"},
        "quality_checks": {"mark_warehouse_updated"},
        "mark_warehouse_updated": set(),
    }
    ingest = dag.get_task("ingest")
    assert type(ingest).__name__.endswith("MappedOperator")  # dynamic task mapping over the discovered lanes
    assert dag.catchup is False and dag.max_active_runs == 1
    assert "0 2 * * *" in repr(dag.timetable) and "Asia/Shanghai" in repr(dag.timetable)
    assert dag.get_task("quality_checks").retries == 0  # a failed check is not retried
    assert dag.get_task("refresh_marts").trigger_rule == "none_failed"
    outlets = dag.get_task("mark_warehouse_updated").outlets
    assert [o.name for o in outlets if isinstance(o, Asset)] == ["yingshang_warehouse"]
    assert dag.on_failure_callback is not None
    # Retries back off exponentially (2, 4, 8 … minutes, at most 30); this module sets retries to 0.
    assert dag.default_args["retry_exponential_backoff"] >= 2
    assert dag.default_args["retry_delay"] == dt.timedelta(minutes=2)
    assert dag.default_args["on_failure_callback"] is not None


def test_monthly_and_retrain_shapes(dagbag):
    monthly = dagbag.dags["yingshang_monthly"]
    assert _edges(monthly) == {
        "month": {"refresh_month_marts", "build_clues", "write_report"},
        "refresh_month_marts": {"build_clues"},
        "build_clues": {"write_report"},
        "write_report": set(),
    }
    assert "0 6 1 * *" in repr(monthly.timetable) and "Asia/Shanghai" in repr(monthly.timetable)
    retrain = dagbag.dags["yingshang_retrain"]
    assert _edges(retrain) == {"retrain": {"summary"}, "summary": set()}
    assert type(retrain.get_task("retrain")).__name__.endswith("MappedOperator")


def test_monthly_builds_the_month_before_the_run(dagbag):
    """A run on 1 November (Asia/Shanghai) has October as its data interval, hence builds 2026-10."""
    from airflow.serialization.encoders import coerce_to_core_timetable

    from pipeline.orchestrate import interval_month

    tt = coerce_to_core_timetable(dagbag.dags["yingshang_monthly"].timetable)
    interval = tt.infer_manual_data_interval(run_after=dt.datetime(2026, 11, 1, 6, tzinfo=SHANGHAI))
    assert interval_month(interval.start) == "2026-10"
    tt = coerce_to_core_timetable(dagbag.dags["yingshang_nightly"].timetable)
    interval = tt.infer_manual_data_interval(run_after=dt.datetime(2026, 11, 1, 2, tzinfo=SHANGHAI))
    from pipeline.orchestrate import interval_days

    assert interval_days(interval.start, interval.end) == [dt.date(2026, 10, 31)]


# --------------------------------------------------------------------------- end to end with dag.test()


@pytest.fixture(scope="module")
def sample_landing(tmp_path_factory) -> Path:
    from pipeline.sample import generate_sample

    landing = tmp_path_factory.mktemp("landing")
    generate_sample(landing, "2026-10", seed=7, scale=0.05)
    return landing


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_pair(request, tmp_path):
    """Two empty warehouses of the same kind: one for ``yingshang run``, one for the DAG."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}", f"sqlite:///{tmp_path / 'dag.db'}"
        return
    from pg import drop_pg_database, pg_url_or_skip

    urls = pg_url_or_skip(), pg_url_or_skip()
    yield urls
    for u in urls:
        drop_pg_database(u)


def _states(dag_run) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ti in dag_run.get_task_instances():
        out.setdefault(ti.task_id, []).append(str(ti.state))
    return out


@pytest.mark.slow
def test_dag_test_runs_nightly_and_monthly_like_the_cli(dagbag, airflow_db, sample_landing, warehouse_pair,
                                                        tmp_path, monkeypatch):
    from wh_snapshot import snapshot

    from pipeline.monthly import build_month_clues
    from pipeline.nightly import run_nightly
    from pipeline.report import write_report

    cli_url, dag_url = warehouse_pair
    # The reference: what `yingshang run` and `yingshang clues` / `report` leave.
    results = run_nightly(sample_landing, cli_url)
    assert results and all(r.status == "loaded" for r in results)
    cli_loaded = snapshot(cli_url)

    monkeypatch.setenv("YINGSHANG_DB_URL", dag_url)
    nightly = dagbag.dags["yingshang_nightly"]
    run_at = dt.datetime(2026, 11, 1, 2, tzinfo=SHANGHAI)
    dr = nightly.test(logical_date=run_at, run_conf={"landing": str(sample_landing)})
    states = _states(dr)
    assert str(dr.state) == "success", states
    assert len(states["ingest"]) == 4 and set(states["ingest"]) == {"success"}  # one lane per source
    assert states["mark_warehouse_updated"] == ["success"]
    assert snapshot(dag_url) == cli_loaded

    # The same interval again: nothing new, nothing changes, no asset event.
    dr = nightly.test(logical_date=run_at, run_conf={"landing": str(sample_landing)})
    states = _states(dr)
    assert str(dr.state) == "success", states
    assert states["ingest"] == ["skipped"] and states["mark_warehouse_updated"] == ["skipped"]
    assert snapshot(dag_url) == cli_loaded

    # Monthly on the 1st: October's clues, ledger, workbook and report.
    cli_out = tmp_path / "cli_out"
    cli_out.mkdir()
    build_month_clues("2026-10", cli_out / "问题线索清单_2026-10.xlsx", cli_url)
    write_report("2026-10", cli_out / "report_2026-10", cli_url)
    dag_out = tmp_path / "dag_out"
    dr = dagbag.dags["yingshang_monthly"].test(logical_date=dt.datetime(2026, 11, 1, 6, tzinfo=SHANGHAI),
                                               run_conf={"out": str(dag_out)})
    assert str(dr.state) == "success", _states(dr)
    assert (dag_out / "问题线索清单_2026-10.xlsx").stat().st_size > 0
    assert (dag_out / "report_2026-10" / "report.html").is_file()
    assert snapshot(dag_url) == snapshot(cli_url)


@pytest.mark.slow
def test_nightly_fails_loudly_on_a_rejected_file(dagbag, airflow_db, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    (landing / "hotline").mkdir(parents=True)
    (landing / "hotline" / "12345工单_损坏.xlsx").write_bytes(b"this is not a workbook")
    monkeypatch.setenv("YINGSHANG_DB_URL", f"sqlite:///{tmp_path / 'wh.db'}")
    dr = dagbag.dags["yingshang_nightly"].test(logical_date=dt.datetime(2026, 11, 2, 2, tzinfo=SHANGHAI),
                                               run_conf={"landing": str(landing)})
    states = _states(dr)
    assert str(dr.state) == "failed"
    assert states["ingest"] == ["success"]  # ingest reports the rejection; the checks fail the run
    assert states["quality_checks"] == ["failed"]
    assert states["mark_warehouse_updated"] == ["upstream_failed"]
