"""The process pool changes nothing (并行入库 = 单进程入库): a sample month loaded with the batches
prepared in two worker processes leaves exactly the warehouse rows of a load done in one process —
every table, every column (both runs get the same load time ``now``; only the file registry's
started/finished clock times differ). Also: the vectorised row hash / payload masking and the batch
model features give exactly what the per-row functions and the shipped models give.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from sqlalchemy import create_engine, text

MONTH = "2026-10"
NOW = dt.datetime(2026, 11, 1, 2, 0, 0)
# Columns that are clock times of the run itself, not data.
CLOCK = {"ingest_file": {"started_at", "finished_at"}}


def _enricher():
    try:
        from pipeline.enrich import get_enricher

        return get_enricher()
    except FileNotFoundError as exc:  # the shipped models are built by `make model`
        pytest.skip(f"models not built: {exc}")


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from pipeline.config import PROJECT_ROOT
    from pipeline.sample import generate_sample

    base = tmp_path_factory.mktemp("parallel")
    generate_sample(base / "landing", MONTH, seed=11, scale=0.7)
    # Small chunks, so a file has several chunks and a chunk several batches.
    cfg = base / "config"
    shutil.copytree(PROJECT_ROOT / "config", cfg)
    settings = yaml.safe_load((cfg / "settings.yaml").read_text(encoding="utf-8"))
    settings.setdefault("ingest", {})["chunk_rows"] = 700
    (cfg / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("YINGSHANG_CONFIG_DIR", str(cfg))
        yield base / "landing"


def _tables(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        names = [n for (n,) in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"))]
        for name in names:
            cols = [r[1] for r in conn.execute(text(f"PRAGMA table_info({name})"))
                    if r[1] not in CLOCK.get(name, set())]
            rows = conn.execute(text(f"SELECT {', '.join(cols)} FROM {name}")).fetchall()
            out[name] = sorted((tuple(r) for r in rows), key=repr)
    engine.dispose()
    return out


def test_pool_writes_exactly_the_single_process_rows(landing, tmp_path, monkeypatch) -> None:
    _enricher()
    from pipeline import ingest

    # Use the pool for every chunk, in small batches.
    monkeypatch.setattr(ingest, "_BATCH_ROWS", 150)
    monkeypatch.setattr(ingest, "_MIN_POOL_ROWS", 0)
    started = []
    real_start = ingest._start_pool

    def start_pool(workers):
        pool = real_start(workers)
        started.append(pool)
        return pool

    monkeypatch.setattr(ingest, "_start_pool", start_pool)
    paths = ingest.discover_landing(landing)
    single, parallel = f"sqlite:///{tmp_path}/single.db", f"sqlite:///{tmp_path}/parallel.db"
    res1 = ingest.ingest_files(paths, None, single, now=NOW, workers=1)
    assert not started
    res2 = ingest.ingest_files(paths, None, parallel, now=NOW, workers=2)
    assert started and all(p is not None for p in started), "the pool was not used"

    assert [r.as_json() | {"path": None} for r in res1] == [r.as_json() | {"path": None} for r in res2]
    loaded = [r for r in res1 if r.status == "loaded"]
    assert len(loaded) == len(paths) and sum(r.updated for r in loaded) > 0  # updates and history too
    a, b = _tables(single), _tables(parallel)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name] == b[name], f"table {name} differs between the single-process and the pool load"
    assert len(a["feedback"]) > 800 and len(a["record_history"]) > 0 and len(a["survey_answer"]) > 0


def test_vectorised_row_hash_and_masking_match_the_row_functions(landing) -> None:
    from pipeline import ingest
    from pipeline.config import load_sources

    cfg = load_sources()
    seen = 0
    for source in ("hotline", "questionnaire", "survey", "supervisor"):
        for path in ingest.discover_landing(landing / source):
            for parsed in ingest._iter_parsed(path, source, cfg, 700):
                raws = parsed.rows["raw"].tolist() + [q.raw for q in parsed.quarantine]
                hashes, payloads = ingest.hash_and_mask_rows(raws)
                assert hashes == [ingest._row_hash(r) for r in raws]
                expected = [ingest.mask_raw_row(r) for r in raws]
                assert payloads == expected
                assert [list(p) for p in payloads] == [list(p) for p in expected]  # key order too
                seen += len(raws)
    assert seen > 1500
    # Rows that do not share keys, hold non-text cells or are empty take the per-row path.
    odd = [{"工单编号": "A1", "联系电话": "13812345678"}, {"工单编号": 7, "金额": 1.5, None: "x"}, {},
           {"工单编号": "A2", "联系电话": None}]
    hashes, payloads = ingest.hash_and_mask_rows(odd)
    assert hashes == [ingest._row_hash(r) for r in odd]
    assert payloads == [ingest.mask_raw_row(r) for r in odd]


def test_batch_model_features_equal_the_shipped_models(landing) -> None:
    enricher = _enricher()
    if enricher.fast_area is None or enricher.fast_sentiment is None:
        pytest.skip("batch features not applicable to these models (self-check fell back)")
    from pipeline import ingest
    from pipeline.config import load_sources
    from pipeline.enrich import clean_tokens, feedback_docs

    path = ingest.discover_landing(landing / "hotline")[-1]
    parsed = next(iter(ingest._iter_parsed(path, "hotline", load_sources(), 700)))
    tokens = enricher.tokenize(feedback_docs(parsed.feedback)[2])
    types = parsed.feedback["request_type"].tolist()
    for slow, fast, kw in ((enricher.area_model, enricher.fast_area, {}),
                           (enricher.sentiment_model, enricher.fast_sentiment, {"request_types": types})):
        expected = slow.predict_proba(tokens, **kw)
        assert np.array_equal(expected, fast.predict_proba(tokens, **kw))
        assert np.array_equal(expected, fast.predict_proba(clean_tokens(tokens), **kw))
    # Content words and keywords with per-token memos are the tokenizer's and the extractor's own.
    from pipeline.enrich import content_and_keywords

    content, keywords = content_and_keywords(enricher.tokenizer, enricher.keyword_extractor, tokens, k=5)
    assert content == [enricher.tokenizer.content_tokens(t) for t in tokens]
    assert keywords == [enricher.keyword_extractor.keywords(c, k=5) for c in content]


def test_a_pool_started_beside_another_thread_keeps_its_workers() -> None:
    """With a second thread running (the CLI's progress bar in a terminal) the pool starts under
    forkserver, where a worker's parent is the forkserver process: the workers' parent-watch killed them
    after a second and `make demo` in a terminal failed with BrokenProcessPool (operator audit, session 10)."""
    import os
    import threading
    import time

    from pipeline import ingest

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    pool = None
    try:
        pool = ingest._start_pool(2)
        assert pool is not None and ingest.POOL_STARTS[-1] in ("forkserver", "spawn")
        assert pool.submit(time.sleep, 2.5).result(timeout=120) is None  # outlives the 1 s watch
        assert pool.submit(os.getpid).result(timeout=120) > 0
    finally:
        stop.set()
        if pool is not None:
            pool.shutdown()


def test_the_terminal_progress_bar_starts_no_thread(monkeypatch) -> None:
    """The ingest progress bar draws on each file, without rich's refresh thread: a second thread makes
    the ingest pool start under forkserver, where every worker loads the models again for every file."""
    import threading

    from pipeline import cli

    monkeypatch.setattr(cli, "_interactive", lambda: True)
    seen = []

    def work(tick):
        for p in ("a.csv", "b.csv", "c.csv"):
            seen.append(threading.active_count())
            tick(p)
        return "done"

    before = threading.active_count()
    assert cli._with_progress(["a.csv", "b.csv", "c.csv"], work) == "done"
    assert seen == [before] * 3
