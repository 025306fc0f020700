"""Data-quality checks after a load (数据质量校验): fail the nightly run loudly when one fails.

:func:`check_nightly` takes the per-file results of a run (the ``ingest --json`` shape, plus the
days and months each file touched) and checks:

- ``counters_reconcile`` (计数勾稽): for every file ``rows_in == inserted + updated + unchanged +
  quarantined``, and a loaded file's counters are the ones the file registry (``ingest_file``) holds;
- ``rejected_files`` (整文件拒收): at most ``quality.max_rejected_files`` files (default 0) were
  rejected whole; the failure names each file and why;
- ``quarantine_share`` (隔离占比): quarantined rows / rows read over the run's loaded files is at most
  ``quality.max_quarantine_share`` (default 0.05);
- ``feedback_labelled`` (标签完整): no feedback row lacks its indicator area (指标领域) or sentiment;
- ``marts_cover_touched`` (集市覆盖): every day the run touched that has feedback has rows in
  ``mart_feedback_daily``, and every month it touched has rows in ``mart_area_monthly``.

Thresholds are read from ``config/settings.yaml`` (key ``quality``) and can be overridden per call.
When any check fails, :class:`QualityError` is raised with one line per failed check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

COUNTERS = ("rows_in", "inserted", "updated", "unchanged", "quarantined")
DEFAULTS: dict[str, float] = {"max_quarantine_share": 0.05, "max_rejected_files": 0}


class QualityError(RuntimeError):
    """One or more data-quality checks failed; ``report`` holds every check's outcome."""

    def __init__(self, report: dict[str, Any]):
        self.report = report
        failed = [c for c in report["checks"] if not c["ok"]]
        lines = [f"{len(failed)} data-quality check(s) failed:"]
        lines += [f"- {c['name']}: {c['detail']}" for c in failed]
        super().__init__("\n".join(lines))


def quality_settings(overrides: Mapping[str, Any] | None = None) -> dict[str, float]:
    """The thresholds: built-in defaults, then ``quality:`` in settings.yaml, then ``overrides``."""
    from pipeline.config import settings

    out = dict(DEFAULTS)
    out.update({k: v for k, v in (settings().get("quality") or {}).items() if v is not None})
    out.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return out


def _check(name: str, ok: bool, detail: str, **data: Any) -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "detail": detail, **data}


def _reconcile(results: list[Mapping[str, Any]], conn) -> dict[str, Any]:
    from sqlalchemy import select

    from warehouse.models import IngestFile

    problems: list[str] = []
    for r in results:
        parts = sum(int(r.get(c) or 0) for c in COUNTERS[1:])
        if int(r.get("rows_in") or 0) != parts:
            problems.append(f"{r['path']}: rows_in {r.get('rows_in')} != inserted+updated+unchanged+"
                            f"quarantined {parts}")
    t = IngestFile.__table__
    for r in results:
        if r.get("status") != "loaded":
            continue
        row = conn.execute(select(t).where(t.c.path == str(r["path"]), t.c.status == "loaded")
                           .order_by(t.c.file_id.desc()).limit(1)).mappings().first()
        if row is None:
            problems.append(f"{r['path']}: reported loaded but not in the file registry")
            continue
        diff = [c for c in COUNTERS if int(row[c] or 0) != int(r.get(c) or 0)]
        if diff:
            problems.append(f"{r['path']}: registry differs on " + ", ".join(
                f"{c} {row[c]} vs {r.get(c)}" for c in diff))
    detail = "every file's counters add up and match the registry" if not problems else "; ".join(problems[:10])
    return _check("counters_reconcile", not problems, detail, problems=problems)


def check_nightly(results: Iterable[Mapping[str, Any]], db_url: str | None = None, *,
                  max_quarantine_share: float | None = None, max_rejected_files: int | None = None,
                  raise_on_failure: bool = True) -> dict[str, Any]:
    """Run the checks on a nightly run's per-file results; raise :class:`QualityError` if any fails.

    Returns ``{"ok", "checks": [{"name", "ok", "detail", ...}], "totals", "thresholds"}``.
    """
    from sqlalchemy import func, inspect, or_, select

    from warehouse.db import get_engine
    from warehouse.marts import MartAreaMonthly, MartFeedbackDaily
    from warehouse.models import Feedback

    results = [dict(r) for r in results]
    limits = quality_settings({"max_quarantine_share": max_quarantine_share,
                               "max_rejected_files": max_rejected_files})
    engine = get_engine(db_url)
    if not inspect(engine).has_table("feedback"):
        raise RuntimeError("the warehouse has no schema: run `yingshang db upgrade` first")
    checks: list[dict[str, Any]] = []
    with engine.connect() as conn:
        checks.append(_reconcile(results, conn))

        rejected = [r for r in results if r.get("status") == "rejected"]
        checks.append(_check(
            "rejected_files", len(rejected) <= int(limits["max_rejected_files"]),
            f"{len(rejected)} file(s) rejected whole (allowed {int(limits['max_rejected_files'])})"
            + "".join(f"; {r['path']}: {r.get('error')}" for r in rejected[:10]),
            files=[r["path"] for r in rejected]))

        loaded = [r for r in results if r.get("status") == "loaded"]
        rows_in = sum(int(r.get("rows_in") or 0) for r in loaded)
        quarantined = sum(int(r.get("quarantined") or 0) for r in loaded)
        share = quarantined / rows_in if rows_in else 0.0
        worst = sorted(((int(r.get("quarantined") or 0) / int(r["rows_in"]), r["path"]) for r in loaded
                        if int(r.get("rows_in") or 0)), reverse=True)[:3]
        checks.append(_check(
            "quarantine_share", share <= float(limits["max_quarantine_share"]),
            f"{quarantined} of {rows_in} rows quarantined ({share:.1%}, allowed "
            f"{float(limits['max_quarantine_share']):.1%})"
            + ("; highest: " + ", ".join(f"{p} {s:.1%}" for s, p in worst) if worst and share else ""),
            share=share))

        f = Feedback.__table__.c
        unlabelled = conn.execute(select(func.count()).where(or_(
            f.area.is_(None), f.area == "", f.sentiment.is_(None), f.sentiment == ""))).scalar_one()
        checks.append(_check("feedback_labelled", unlabelled == 0,
                             f"{unlabelled} feedback row(s) without an area or a sentiment",
                             count=int(unlabelled)))

        days = sorted({dt.date.fromisoformat(d) for r in results for d in r.get("touched_dates", [])})
        months = sorted({m for r in results for m in r.get("touched_months", [])} |
                        {f"{d:%Y-%m}" for d in days})
        missing: list[str] = []
        if days:
            with_feedback = {d for (d,) in conn.execute(
                select(f.received_date).where(f.received_date.in_(days)).distinct())}
            md = MartFeedbackDaily.__table__.c
            in_mart = {d for (d,) in conn.execute(select(md.day).where(md.day.in_(days)).distinct())}
            missing += [f"day {d}" for d in sorted(with_feedback - in_mart)]
        if months:
            mm = MartAreaMonthly.__table__.c
            in_mart_m = {m for (m,) in conn.execute(select(mm.month).where(mm.month.in_(months)).distinct())}
            missing += [f"month {m}" for m in months if m not in in_mart_m]
        checks.append(_check(
            "marts_cover_touched", not missing,
            f"marts cover the {len(days)} day(s) and {len(months)} month(s) touched" if not missing
            else "no mart rows for " + ", ".join(missing[:15]) + (" …" if len(missing) > 15 else ""),
            missing=missing))

    from pipeline.orchestrate import totals_json

    report = {"ok": all(c["ok"] for c in checks), "checks": checks, "totals": totals_json(results),
              "thresholds": limits}
    if raise_on_failure and not report["ok"]:
        raise QualityError(report)
    return report
