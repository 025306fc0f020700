"""The nightly job (夜间作业): ingest everything new under the landing folder, then refresh marts.

The same function runs from ``yingshang run`` and from the Airflow DAG's tasks; it is idempotent:
files loaded before are skipped, so a second run changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pipeline.ingest import FileResult, discover_landing, ensure_schema, ingest_file

log = logging.getLogger("yingshang.nightly")


def refresh_after(results: list[FileResult], db_url: str | None) -> dict:
    """Refresh the marts for the days and months the loaded files touched (nothing when none)."""
    from pipeline.marts import refresh_marts

    dates = set().union(*(r.touched_dates for r in results)) if results else set()
    months = set().union(*(r.touched_months for r in results)) if results else set()
    months |= {f"{d:%Y-%m}" for d in dates}
    if not dates and not months:
        return {"refreshed": 0}
    return refresh_marts(db_url, dates=sorted(dates), months=sorted(months))


def run_nightly(landing: Path, db_url: str | None = None,
                progress_factory: Callable | None = None) -> list[FileResult]:
    """Ingest every data file under ``landing`` (source from sub-folder or file name), then marts."""
    ensure_schema(db_url)
    paths = discover_landing(landing)

    def _work(tick):
        out = []
        for p in paths:
            if tick:
                tick(p)
            out.append(ingest_file(p, None, db_url))
        return out

    results = progress_factory(paths, _work) if progress_factory else _work(None)
    refresh_after(results, db_url)
    return results
