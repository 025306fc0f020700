"""Data-quality checks after a nightly load (pipeline/quality.py): each failure is named, loudly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.quality import QualityError, check_nightly, quality_settings

DAY = dt.date(2026, 10, 12)


def _warehouse(url: str) -> None:
    from warehouse.db import get_engine, upgrade
    from warehouse.models import DimSource

    upgrade(url)
    with get_engine(url).begin() as conn:
        conn.execute(DimSource.__table__.insert().values(code="hotline", name_zh="12345热线工单"))


def _load(url: str, path: str, *, rows_in: int, inserted: int, quarantined: int = 0,
          feedback: list[dict] | None = None) -> dict:
    """Register a loaded file and its feedback the way ingest does; returns its ingest JSON result."""
    from warehouse import load as wl
    from warehouse.db import get_engine
    from warehouse.models import Feedback, SourceRecord

    now = dt.datetime(2026, 10, 13, 2, 0)
    with get_engine(url).begin() as conn:
        fid = wl.register_file(conn, path=path, file_name=Path(path).name, source="hotline", sha256=path * 2,
                               size_bytes=1, status="loaded", rows_in=rows_in, inserted=inserted,
                               quarantined=quarantined, started_at=now, finished_at=now)
        for i, fb in enumerate(feedback or []):
            key = f"{path}-{i}"
            conn.execute(SourceRecord.__table__.insert().values(
                record_key=key, source="hotline", natural_key=str(i), content_hash="h", first_file_id=fid,
                last_file_id=fid, row_number=i + 2, version=1, payload={}, created_at=now, updated_at=now))
            conn.execute(Feedback.__table__.insert().values(
                feedback_id=key, record_key=key, source="hotline", source_record_id=str(i), part="",
                received_at=dt.datetime.combine(DAY, dt.time(9)), received_date=DAY, text="办证太慢",
                text_length=4, area=fb.get("area", "A1"), area_confidence=0.9, sentiment=fb.get("sentiment", "neg"),
                sentiment_score=-0.6, sentiment_confidence=0.9, model_version="test", loaded_at=now))
    return {"path": path, "source": "hotline", "status": "loaded", "rows_in": rows_in, "inserted": inserted,
            "updated": 0, "unchanged": 0, "quarantined": quarantined, "error": None,
            "touched_dates": [DAY.isoformat()] if feedback else [], "touched_months": []}


def _refresh(url: str) -> None:
    from pipeline.marts import refresh_marts

    refresh_marts(url, dates=[DAY], months=[f"{DAY:%Y-%m}"])


def _failed(exc: QualityError) -> set[str]:
    return {c["name"] for c in exc.report["checks"] if not c["ok"]}


def test_a_clean_load_passes_every_check(sqlite_url):
    _warehouse(sqlite_url)
    result = _load(sqlite_url, "/landing/hotline/a.csv", rows_in=2, inserted=2, feedback=[{}, {}])
    _refresh(sqlite_url)
    report = check_nightly([result], sqlite_url)
    assert report["ok"] is True
    assert {c["name"] for c in report["checks"]} == {
        "counters_reconcile", "rejected_files", "quarantine_share", "feedback_labelled", "marts_cover_touched"}
    assert report["totals"]["inserted"] == 2 and report["totals"]["files"] == 1


def test_counters_that_do_not_add_up_or_disagree_with_the_registry_fail(sqlite_url):
    _warehouse(sqlite_url)
    result = _load(sqlite_url, "/landing/hotline/a.csv", rows_in=2, inserted=2, feedback=[{}, {}])
    _refresh(sqlite_url)
    broken = {**result, "rows_in": 3}  # 3 rows read, only 2 accounted for
    with pytest.raises(QualityError) as err:
        check_nightly([broken], sqlite_url)
    assert _failed(err.value) == {"counters_reconcile"}
    assert "/landing/hotline/a.csv: rows_in 3 != inserted+updated+unchanged+quarantined 2" in str(err.value)
    assert "registry differs on rows_in 2 vs 3" in str(err.value)


def test_a_rejected_file_fails_the_run_and_names_the_file(sqlite_url):
    _warehouse(sqlite_url)
    rejected = {"path": "/landing/hotline/bad.xlsx", "source": "hotline", "status": "rejected", "rows_in": 0,
                "inserted": 0, "updated": 0, "unchanged": 0, "quarantined": 0, "error": "not a workbook"}
    with pytest.raises(QualityError) as err:
        check_nightly([rejected], sqlite_url)
    assert _failed(err.value) == {"rejected_files"}
    assert "/landing/hotline/bad.xlsx: not a workbook" in str(err.value)
    assert check_nightly([rejected], sqlite_url, max_rejected_files=1)["ok"] is True


def test_quarantine_share_above_the_threshold_fails(sqlite_url):
    _warehouse(sqlite_url)
    result = _load(sqlite_url, "/landing/hotline/a.csv", rows_in=10, inserted=8, quarantined=2)
    with pytest.raises(QualityError) as err:
        check_nightly([result], sqlite_url)
    assert _failed(err.value) == {"quarantine_share"}
    assert "2 of 10 rows quarantined (20.0%, allowed 5.0%)" in str(err.value)
    assert check_nightly([result], sqlite_url, max_quarantine_share=0.25)["ok"] is True


def test_feedback_without_a_sentiment_fails(sqlite_url):
    _warehouse(sqlite_url)
    result = _load(sqlite_url, "/landing/hotline/a.csv", rows_in=2, inserted=2,
                   feedback=[{}, {"sentiment": ""}])
    _refresh(sqlite_url)
    report = check_nightly([result], sqlite_url, raise_on_failure=False)
    assert report["ok"] is False
    assert [c["detail"] for c in report["checks"] if not c["ok"]] == [
        "1 feedback row(s) without an area or a sentiment"]


def test_touched_days_missing_from_the_marts_fail(sqlite_url):
    _warehouse(sqlite_url)
    result = _load(sqlite_url, "/landing/hotline/a.csv", rows_in=1, inserted=1, feedback=[{}])
    # no mart refresh after the load
    with pytest.raises(QualityError) as err:
        check_nightly([result], sqlite_url)
    assert _failed(err.value) == {"marts_cover_touched"}
    assert "no mart rows for day 2026-10-12, month 2026-10" in str(err.value)


def test_thresholds_come_from_settings_yaml(tmp_path, monkeypatch):
    from pipeline.config import _load_yaml

    (tmp_path / "settings.yaml").write_text("quality:\n  max_quarantine_share: 0.3\n", encoding="utf-8")
    monkeypatch.setenv("YINGSHANG_CONFIG_DIR", str(tmp_path))
    _load_yaml.cache_clear()
    try:
        assert quality_settings()["max_quarantine_share"] == 0.3
        assert quality_settings({"max_quarantine_share": 0.1})["max_quarantine_share"] == 0.1
        assert quality_settings()["max_rejected_files"] == 0
    finally:
        _load_yaml.cache_clear()
