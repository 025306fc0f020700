"""Glue for schedulers (调度编排): what the Airflow DAGs in ``dags/`` call, with no Airflow import.

The DAG files only wire these functions into tasks; everything here takes and returns plain values
(paths as strings, counters, ISO dates) so that what passes between tasks is small JSON.

Which files a nightly run loads (每日增量文件的选取), decided by the run's data interval and never by
the wall clock, so a re-run of the same interval picks the same files:

- files under a dated sub-folder ``landing/<YYYY-MM-DD>/…`` belong to that day (Asia/Shanghai):
  a run loads the folders whose day lies in its data interval ``[start, end)``;
- files anywhere else under the landing folder (the flat ``landing/<source>/…`` layout of
  ``yingshang sample`` and of ``yingshang run``) are loaded by the first run that sees them: the run
  lists those whose bytes the file registry (``ingest_file``) does not hold yet.

Either way a file's bytes are loaded once (the registry skips a file loaded before), so re-running an
interval, or two intervals seeing the same flat file, never loads anything twice.

Files are handed to the mapped ingest task in *lanes* (批次): a lane is the files of one source in
path order. Files of one source can carry the same record (a 12345 work order exported again with a
new status a week later), and the later file must win, so a lane is loaded in order by one task; files
of different sources never share a record, so lanes run in parallel on as many workers as there are.
In a daily run with one export per source a lane is exactly one file.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DISTRICT_TZ = "Asia/Shanghai"
WAREHOUSE_CONN_ID = "yingshang_warehouse"
DEFAULT_LANDING = "var/landing"
DEFAULT_OUT = "var/out"
# The folder the area and sentiment loaders read by default (nlp/classify.py, nlp/sentiment.py).
PACKAGE_MODEL_DIR = Path(__file__).resolve().parents[1] / "nlp" / "models"

_DATED = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


# --------------------------------------------------------------------------- configuration


def warehouse_url(conn_uri: str | None = None, conn_extra: Mapping[str, Any] | None = None) -> str | None:
    """The warehouse URL (数据仓库地址) from an Airflow connection, else ``YINGSHANG_DB_URL``.

    The connection ``yingshang_warehouse`` may hold the SQLAlchemy URL in its extra field
    (``{"sqlalchemy_url": "postgresql+psycopg://…"}``, the only way for SQLite) or be an ordinary
    Postgres connection, whose URI (``postgres://user:pw@host:5432/db``) is driven by psycopg 3.
    ``None`` means the warehouse default (``sqlite:///var/warehouse.db``).
    """
    extra = dict(conn_extra or {})
    url = extra.get("sqlalchemy_url") or extra.get("url")
    if not url and conn_uri:
        url = conn_uri.split("?", 1)[0] if conn_uri.startswith(("postgres://", "postgresql://")) else conn_uri
    url = url or os.environ.get("YINGSHANG_DB_URL") or None
    if url and url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def landing_dir(value: str | None = None) -> Path:
    """The landing folder (落地目录): the run's parameter, else ``YINGSHANG_LANDING``, else var/landing."""
    return Path(value or os.environ.get("YINGSHANG_LANDING") or DEFAULT_LANDING)


def output_dir(value: str | None = None) -> Path:
    """Where monthly outputs go (成果目录): the parameter, else ``YINGSHANG_OUT``, else var/out."""
    return Path(value or os.environ.get("YINGSHANG_OUT") or DEFAULT_OUT)


def model_dir(value: str | None = None) -> Path:
    """Where the active models live (模型目录): the parameter, else ``YINGSHANG_MODEL_DIR``, else nlp/models.

    The default is the folder the enrichment step loads ``area.joblib`` and ``sentiment.joblib`` from,
    so a promoted model is the one the next nightly run uses.
    """
    return Path(value or os.environ.get("YINGSHANG_MODEL_DIR") or PACKAGE_MODEL_DIR)


# --------------------------------------------------------------------------- intervals


def _local(value: dt.datetime | str, tz: str) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:  # a naive time is taken as UTC, Airflow's internal zone
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(ZoneInfo(tz))


def _local_day(value: dt.datetime | str, tz: str) -> dt.date:
    return _local(value, tz).date()


def interval_days(start: dt.datetime | str, end: dt.datetime | str, tz: str = DISTRICT_TZ) -> list[dt.date]:
    """The local days a data interval ``[start, end)`` touches; a zero-length interval is its start day.

    A daily interval from local midnight to midnight (or 02:00 to 02:00) is one day: its start day.
    """
    s, e = _local(start, tz), _local(end, tz)
    first = s.date()
    last = (e - dt.timedelta(microseconds=1)).date() if e > s else first
    # An interval that starts after midnight and ends at the same clock time the next day
    # (02:00 → 02:00) belongs to its start day only.
    if e > s and e.time() == s.time() and last > first:
        last -= dt.timedelta(days=1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def run_interval(start: dt.datetime | str | None, end: dt.datetime | str | None,
                 run_after: dt.datetime | str | None) -> tuple[Any, Any]:
    """The data interval of a run; a manual run without one covers the day before it was triggered.

    Airflow 3 runs triggered without a logical date have no data interval: such a nightly run loads
    what a scheduled run at the same moment would (the 24 hours before ``run_after``).
    """
    if start is not None and end is not None:
        return start, end
    if run_after is None:
        raise ValueError("a run without a data interval needs run_after")
    after = dt.datetime.fromisoformat(run_after) if isinstance(run_after, str) else run_after
    return after - dt.timedelta(days=1), after


def previous_month(moment: dt.datetime | str, tz: str = DISTRICT_TZ) -> str:
    """'YYYY-MM' of the month before ``moment``'s local month (上月), e.g. for a run on the 1st."""
    day = _local_day(moment, tz).replace(day=1) - dt.timedelta(days=1)
    return f"{day:%Y-%m}"


def interval_month(start: dt.datetime | str, tz: str = DISTRICT_TZ) -> str:
    """'YYYY-MM' of the local month a monthly data interval starts in (数据区间所属月份)."""
    return f"{_local_day(start, tz):%Y-%m}"


def _dated_folder(rel: Path) -> dt.date | None:
    if len(rel.parts) < 2:
        return None
    m = _DATED.match(rel.parts[0])
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _registered_hashes(hashes: Iterable[str], db_url: str | None) -> set[str]:
    """The hashes among ``hashes`` the file registry holds as loaded or rejected (seen before)."""
    from sqlalchemy import inspect, select

    from warehouse.db import get_engine
    from warehouse.models import IngestFile

    hashes = list(dict.fromkeys(hashes))
    engine = get_engine(db_url)
    if not hashes or not inspect(engine).has_table("ingest_file"):
        return set()
    t = IngestFile.__table__
    out: set[str] = set()
    with engine.connect() as conn:
        for i in range(0, len(hashes), 900):
            part = hashes[i:i + 900]
            out |= {h for (h,) in conn.execute(select(t.c.sha256).where(t.c.sha256.in_(part),
                                                                        t.c.status.in_(("loaded", "rejected"))))}
    return out


def files_for_interval(landing: Path | str, start: dt.datetime | str, end: dt.datetime | str,
                       db_url: str | None = None, tz: str = DISTRICT_TZ) -> list[Path]:
    """The landing files a run over ``[start, end)`` loads (see the module docstring), in path order."""
    from pipeline.ingest import discover_landing, file_sha256

    landing = Path(landing)
    if not landing.is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist (set YINGSHANG_LANDING or the "
                                "run's 'landing' parameter)")
    days = set(interval_days(start, end, tz))
    dated, flat = [], []
    for p in discover_landing(landing):
        day = _dated_folder(p.relative_to(landing))
        if day is None:
            flat.append(p)
        elif day in days:
            dated.append(p)
    if flat:
        sha = {p: file_sha256(p) for p in flat}
        seen = _registered_hashes(sha.values(), db_url)
        flat = [p for p in flat if sha[p] not in seen]
    return sorted(dated + flat, key=lambda p: str(p.relative_to(landing)))


def lanes(paths: Iterable[Path | str]) -> list[list[str]]:
    """Group files into lanes: one per source, in path order (see the module docstring)."""
    from pipeline.sources import detect_source

    groups: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        groups[detect_source(Path(p)) or f"?{Path(p).name}"].append(str(p))
    # Unknown-source files each get their own lane: ingest rejects them with a clear reason.
    return [groups[k] for k in sorted(groups)]


def lane_label(lane: list[str]) -> str:
    """A short name for a lane in the UI: its source folder and first file, and how many more."""
    if not lane:
        return "empty"
    first = Path(lane[0])
    more = f" +{len(lane) - 1}" if len(lane) > 1 else ""
    return f"{first.parent.name}/{first.name}{more}"


def discover_lanes(landing: Path | str, start: dt.datetime | str, end: dt.datetime | str,
                   db_url: str | None = None, tz: str = DISTRICT_TZ) -> list[list[str]]:
    """The lanes of files a nightly run over ``[start, end)`` loads: input of the mapped ingest."""
    return lanes(files_for_interval(landing, start, end, db_url, tz))


# --------------------------------------------------------------------------- nightly steps


def result_json(result: Any) -> dict[str, Any]:
    """A FileResult as small JSON: the ``ingest --json`` counters plus the days and months it touched."""
    out = result.as_json()
    out["touched_dates"] = sorted(d.isoformat() for d in result.touched_dates)
    out["touched_months"] = sorted(str(m) for m in result.touched_months)
    return out


def ingest_lane(paths: Iterable[str], db_url: str | None = None) -> list[dict[str, Any]]:
    """Ingest a lane's files in order, one transaction per file; the per-file results as JSON."""
    from pipeline.ingest import ingest_file

    return [result_json(ingest_file(Path(p), None, db_url)) for p in paths]


def flatten_results(results: Iterable[Any]) -> list[dict[str, Any]]:
    """The per-file results of all lanes as one list (a lane's result is a list; None is skipped)."""
    out: list[dict[str, Any]] = []
    for item in results or []:
        if item is None:
            continue
        if isinstance(item, Mapping):
            out.append(dict(item))
        else:
            out.extend(dict(r) for r in item)
    return out


def refresh_for_results(results: Iterable[Mapping[str, Any]], db_url: str | None = None) -> dict[str, Any]:
    """Refresh the marts for the days and months the files touched (``pipeline.nightly.refresh_after``)."""
    from pipeline.ingest import FileResult
    from pipeline.nightly import refresh_after

    objs = []
    for r in results:
        fr = FileResult(path=r["path"], source=r.get("source"), status=r.get("status", "loaded"))
        fr.touched_dates = {dt.date.fromisoformat(d) for d in r.get("touched_dates", [])}
        fr.touched_months = set(r.get("touched_months", []))
        objs.append(fr)
    summary = refresh_after(objs, db_url)
    return _jsonable(summary)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    if isinstance(obj, int | float | str | bool) or obj is None:
        return obj
    return str(obj)


def totals_json(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The run's totals (the ``totals`` of ``run --json``) from per-file JSON results."""
    results = list(results)
    counters = ("rows_in", "inserted", "updated", "unchanged", "quarantined")
    out = {c: sum(int(r.get(c) or 0) for r in results) for c in counters}
    out["files"] = len(results)
    for status in ("loaded", "skipped", "rejected"):
        out[status] = sum(1 for r in results if r.get("status") == status)
    return out


# --------------------------------------------------------------------------- monthly steps


def clue_workbook_path(month: str, out: Path | str | None = None) -> Path:
    """The clue workbook of a month: ``<out>/问题线索清单_<YYYY-MM>.xlsx`` (as ``make demo`` writes it)."""
    return output_dir(str(out) if out else None) / f"问题线索清单_{month}.xlsx"


def report_dir(month: str, out: Path | str | None = None) -> Path:
    """The report folder of a month: ``<out>/report_<YYYY-MM>``."""
    return output_dir(str(out) if out else None) / f"report_{month}"


def build_clues_step(month: str, out: Path | str | None, db_url: str | None) -> dict[str, Any]:
    """Build the month's clues, merge them into the ledger and write the workbook (问题线索清单)."""
    from pipeline.monthly import build_month_clues

    path = clue_workbook_path(month, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = _jsonable(build_month_clues(month, path, db_url) or {})
    summary.setdefault("workbook", str(path))
    return summary


def report_step(month: str, out: Path | str | None, db_url: str | None) -> dict[str, Any]:
    """Write the month's HTML report (月度报告); returns the report's path."""
    from pipeline.report import write_report

    folder = report_dir(month, out)
    folder.mkdir(parents=True, exist_ok=True)
    return {"month": month, "report": str(write_report(month, folder, db_url))}


# --------------------------------------------------------------------------- failure summaries


def failure_summary(*, dag_id: str, run_id: str | None, task_id: str | None = None,
                    map_index: int | None = None, try_number: int | None = None,
                    interval: tuple[Any, Any] | None = None, error: BaseException | str | None = None,
                    failed_tasks: Iterable[str] = (), log_url: str | None = None) -> str:
    """A short, plain summary of a failed run or task for the log and for alerting (失败摘要)."""
    lines = [f"YINGSHANG FAILURE in {dag_id} run {run_id}"]
    if task_id:
        where = task_id + (f"[{map_index}]" if map_index is not None and map_index >= 0 else "")
        lines.append(f"  task: {where}" + (f" (try {try_number})" if try_number else ""))
    if interval and interval[0] is not None:
        lines.append(f"  data interval: {interval[0]} → {interval[1]}")
    failed = sorted(set(failed_tasks))
    if failed:
        lines.append(f"  failed tasks: {', '.join(failed)}")
    if error is not None:
        text = str(error).strip() or type(error).__name__
        first, *rest = text.splitlines()
        lines.append(f"  error: {type(error).__name__ + ': ' if isinstance(error, BaseException) else ''}{first}")
        lines += [f"    {x}" for x in rest[:20]]
    if log_url:
        lines.append(f"  log: {log_url}")
    lines.append("  re-run: clear the failed task in the UI or `airflow tasks clear`; loads are idempotent.")
    return "\n".join(lines)
