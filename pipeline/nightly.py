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


WATERMARK_KEY = "marts_file_watermark"


def _pending_since_watermark(conn) -> tuple[set, set, int | None, bool]:
    """Days and months loaded by files after the marts' watermark (an interrupted run's files too).

    Returns (dates, months, newest loaded file id, whether everything must be refreshed). A run
    that crashed after committing some files but before refreshing the marts leaves those files
    above the watermark, so the next run refreshes their days even though it skips the files.
    """
    from sqlalchemy import func, select

    from warehouse.models import Feedback, IngestFile, SourceRecord, SurveyAnswer, SurveyScore, WarehouseMeta

    newest = conn.scalar(select(func.max(IngestFile.file_id)).where(IngestFile.status == "loaded"))
    mark = conn.scalar(select(WarehouseMeta.value).where(WarehouseMeta.key == WATERMARK_KEY))
    if newest is None:
        return set(), set(), None, False
    if mark is None:
        return set(), set(), newest, True
    mark = int(mark)
    sr = SourceRecord.__table__.c
    f, a, sc = Feedback.__table__.c, SurveyAnswer.__table__.c, SurveyScore.__table__.c
    dates = {d for (d,) in conn.execute(select(f.received_date).join(SourceRecord.__table__,
                                                                     sr.record_key == f.record_key)
                                        .where(sr.last_file_id > mark, f.received_date.is_not(None)).distinct())}
    months = {f"{d:%Y-%m}" for (d,) in conn.execute(
        select(a.submitted_date).join(SourceRecord.__table__, sr.record_key == a.record_key)
        .where(sr.last_file_id > mark, a.submitted_date.is_not(None)).distinct())}
    months |= {m for (m,) in conn.execute(select(sc.month).join(SourceRecord.__table__, sr.record_key == sc.record_key)
                                          .where(sr.last_file_id > mark).distinct())}
    return dates, months, newest, False


def refresh_marts_for(db_url: str | None, dates: set | None = None, months: set | None = None) -> dict:
    """Refresh the marts for the given days and months plus everything loaded since the watermark."""
    from pipeline.marts import refresh_marts
    from warehouse import load as wl
    from warehouse.db import get_engine
    from warehouse.models import WarehouseMeta

    engine = get_engine(db_url)
    with engine.connect() as conn:
        pend_dates, pend_months, newest, everything = _pending_since_watermark(conn)
    dates = set(dates or ()) | pend_dates
    months = set(months or ()) | pend_months | {f"{d:%Y-%m}" for d in dates}
    if everything:
        summary = refresh_marts(db_url, dates=None, months=None)
    elif dates or months:
        summary = refresh_marts(db_url, dates=sorted(dates), months=sorted(months))
    else:
        summary = {"refreshed": 0}
    if newest is not None:
        with engine.begin() as conn:
            wl.upsert(conn, WarehouseMeta.__table__, [{"key": WATERMARK_KEY, "value": str(newest)}], ["key"])
    return summary


def refresh_after(results: list[FileResult], db_url: str | None) -> dict:
    """Refresh the marts for the days and months the loaded files touched, and for anything a
    previous, interrupted run loaded without refreshing (see :func:`refresh_marts_for`)."""
    dates = set().union(*(r.touched_dates for r in results)) if results else set()
    months = set().union(*(r.touched_months for r in results)) if results else set()
    return refresh_marts_for(db_url, dates, months)


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
