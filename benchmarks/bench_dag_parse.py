"""How long parsing each DAG file takes, against a trivial one-task DAG parsed in the same run.

Run in the Airflow venv:  .venv-airflow/bin/python benchmarks/bench_dag_parse.py [--repeat 5]

Two measures per file:
- ``dagbag``: Airflow's own per-file parse time (``DagBag.dagbag_stats``) in a process that has
  already imported Airflow — what the dag-processor spends on the file each time it re-parses it;
- ``cold``: a fresh interpreter importing ``airflow.sdk`` and running the file, minus the same
  interpreter's time for the trivial DAG file (so the common cost of importing Airflow cancels out).
The goal is well under one second per file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"

TRIVIAL = textwrap.dedent('''
    """A reference DAG: one task, nothing imported but airflow.sdk."""
    import datetime as dt

    from airflow.sdk import dag, task


    @dag(dag_id="reference_trivial", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False)
    def reference_trivial():
        @task
        def hello() -> str:
            return "hello"

        hello()


    reference_trivial()
''')

COLD = textwrap.dedent('''
    import runpy, sys, time
    import airflow.sdk  # noqa: F401  (imported before timing: the dag-processor has it loaded)
    t = time.perf_counter()
    runpy.run_path(sys.argv[1])
    print(time.perf_counter() - t)
''')


def _cold(path: Path, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", COLD, str(path)], capture_output=True, text=True, env=env,
                         check=True, timeout=300)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "AIRFLOW_HOME": tmp, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        os.environ.update({k: env[k] for k in ("AIRFLOW_HOME", "AIRFLOW__CORE__LOAD_EXAMPLES")})
        ref_dir = Path(tmp) / "ref"
        ref_dir.mkdir()
        ref = ref_dir / "reference_trivial.py"
        ref.write_text(TRIVIAL, encoding="utf-8")
        files = sorted(DAGS.glob("*.py"))

        from airflow.dag_processing.dagbag import DagBag

        bag_times: dict[str, list[float]] = {p.name: [] for p in [ref, *files]}
        for _ in range(args.repeat):
            for folder in (ref_dir, DAGS):
                bag = DagBag(dag_folder=str(folder))
                assert not bag.import_errors, bag.import_errors
                for stat in bag.dagbag_stats:
                    bag_times[Path(stat.file).name].append(stat.duration.total_seconds())
        cold = {p.name: [_cold(p, env) for _ in range(args.repeat)] for p in [ref, *files]}

    ref_bag = statistics.median(bag_times[ref.name])
    ref_cold = statistics.median(cold[ref.name])
    print(f"{'file':28s} {'dagbag s':>9s} {'x trivial':>9s} {'cold s':>8s} {'x trivial':>9s}")
    for name in [ref.name, *(p.name for p in files)]:
        b, c = statistics.median(bag_times[name]), statistics.median(cold[name])
        print(f"{name:28s} {b:9.4f} {b / ref_bag:9.1f} {c:8.4f} {c / ref_cold:9.1f}")
    print(f"(median of {args.repeat}; Airflow import itself, common to every file, is not counted)")


if __name__ == "__main__":
    main()
