"""Load benchmark (入库性能): the project's bulk path against a bare COPY / executemany of the same rows.

Generates N synthetic feedback-shaped rows (every column of the ``feedback`` table, numpy, seeded),
then loads them
  1. bare:    PostgreSQL ``COPY … FROM STDIN`` with psycopg's ``write_row`` / SQLite ``executemany``
              of a plain INSERT, on a raw driver connection, one transaction — the reference;
  2. project: ``warehouse.bulk.bulk_upsert`` through a SQLAlchemy connection, one transaction;
  3. append:  ``bulk_upsert`` of the rows into a table that already holds a row (so the
              temp-table + ``INSERT … ON CONFLICT`` path runs, every key new);
  4. re-run:  ``bulk_upsert`` of the same rows again with 10 % of them changed (the nightly case:
              every key conflicts, unchanged rows must not be rewritten);
each into its own fresh table with the feedback table's columns, primary key and indexes (foreign
keys left out so the rows need no parents). Bare and first load are alternated --repeat times
and the best of each counts (the machine may be shared). Prints rows/s and the ratios project ÷ bare, and
writes them into benchmarks/results_load.md. Optionally (--sqlalchemy-rows N) also times the
generic ``warehouse.load.upsert`` on the first N rows for comparison.

    .venv/bin/python benchmarks/bench_load.py --db sqlite --rows 1000000
    YINGSHANG_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/bench_load.py --db pg --rows 1000000

For PostgreSQL a throw-away database is created on the server of --url (default
YINGSHANG_TEST_PG_URL) and dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Column, Index, MetaData, Table, create_engine, text  # noqa: E402

from warehouse.models import Feedback  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results_load.md"
WORDS = np.array(["营业执照", "办理", "窗口", "排队", "材料", "退税", "发票", "停电", "报装", "贷款", "执行", "法院",
                  "检查", "罚款", "不动产", "登记", "施工", "许可", "服务", "态度", "系统", "故障", "政策", "补贴",
                  "企业", "反映", "希望", "尽快", "解决", "多次", "没有", "回复"])


def bench_table(name: str, metadata: MetaData) -> Table:
    """A copy of the feedback table (columns, primary key, indexes) without foreign keys."""
    src = Feedback.__table__
    t = Table(name, metadata, *[Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
                                for c in src.columns])
    for ix in src.indexes:
        Index(f"{ix.name}_{name}"[:63], *[t.c[c.name] for c in ix.columns])
    return t


def generate(n: int, seed: int = 0) -> tuple[list[str], list[tuple]]:
    """N feedback rows as tuples in the table's column order (fast: numpy columns, zipped)."""
    rng = np.random.default_rng(seed)
    cols = [c.name for c in Feedback.__table__.columns]
    base = np.datetime64("2025-01-01T00:00:00", "s")
    received = base + rng.integers(0, 400 * 86400, n).astype("timedelta64[s]")
    due = received + rng.integers(3 * 86400, 15 * 86400, n).astype("timedelta64[s]")
    closed = received + rng.integers(86400, 20 * 86400, n).astype("timedelta64[s]")
    has_close = rng.random(n) < 0.7
    received_l = received.astype("datetime64[us]").tolist()
    due_l = due.astype("datetime64[us]").tolist()
    closed_l = [c if h else None for c, h in zip(closed.astype("datetime64[us]").tolist(), has_close, strict=True)]
    on_time = [(c <= d) if c is not None else None for c, d in zip(closed_l, due_l, strict=True)]
    ids = [f"{x:040x}" for x in rng.integers(0, 2**62, n, dtype=np.int64) * 1_000_003 + np.arange(n)]
    w = WORDS[rng.integers(0, len(WORDS), (n, 6))]
    texts = ["".join(r) + f"第{i}号" for i, r in enumerate(w.tolist())]
    areas = np.array(["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "Z"])[rng.integers(0, 10, n)].tolist()
    sents = np.array(["neg", "neu", "pos"])[rng.integers(0, 3, n)].tolist()
    streets = np.array(["东城街道", "西城街道", "南湖街道", "北山街道"])[rng.integers(0, 4, n)].tolist()
    channels = np.array(["电话", "网站", "微信", "APP"])[rng.integers(0, 4, n)].tolist()
    rtypes = np.array(["投诉", "咨询", "建议", "举报", "求助"])[rng.integers(0, 5, n)].tolist()
    ents = [f"{x:032x}" if x % 3 else None for x in rng.integers(0, 50_000, n).tolist()]
    sscore = np.round(rng.uniform(-1, 1, n), 4).tolist()
    conf = np.round(rng.random(n), 4).tolist()
    loaded = dt.datetime(2026, 4, 1, 3, 0, 0)
    rows = []
    for i in range(n):
        r = received_l[i]
        t = texts[i]
        e = ents[i]
        rows.append((
            ids[i], ids[i], "hotline", f"GD{i:010d}", "", channels[i], r, r.date(), rtypes[i],
            "enterprise" if e else "person", e, "某某**有限公司" if e else None, "张*", "138****0000", None,
            "某区**路", streets[i], t[:8], t, len(t), None, None, "行政审批局", due_l[i], closed_l[i],
            "已办理" if closed_l[i] else None, "已办结" if closed_l[i] else "办理中",
            "满意" if closed_l[i] else None, True if closed_l[i] else None, on_time[i], None, None,
            areas[i], None, conf[i], "model", sents[i], sscore[i], conf[i], "办理 窗口", "bench", loaded,
        ))
    return cols, rows


def changed_copy(cols: list[str], rows: list[tuple], share: float = 0.1) -> list[tuple]:
    """The same rows with ``share`` of them given a new status and satisfaction (a nightly update)."""
    si, ti = cols.index("status"), cols.index("satisfaction")
    step = max(1, round(1 / share))
    out = []
    for i, r in enumerate(rows):
        if i % step == 0:
            r = list(r)
            r[si], r[ti] = "已回访", "不满意"
            r = tuple(r)
        out.append(r)
    return out


# --------------------------------------------------------------------------- databases


def make_pg_database(admin_url: str) -> tuple[str, callable]:
    from sqlalchemy.engine import make_url

    from warehouse.db import resolve_url

    admin_url = resolve_url(admin_url)
    name = f"yingshang_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def bare_sqlite(path: str, table: str, cols: list[str], rows: list[tuple]) -> float:
    from warehouse.bulk import SQLITE_BULK_CACHE_KIB

    con = sqlite3.connect(path)
    # The same settings the project's connection has (warehouse.db pragmas, bulk cache size), so the
    # ratio measures the code path, not a different database configuration.
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
    stmt = f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" for _ in cols)})'
    t0 = time.perf_counter()
    con.executemany(stmt, rows)
    con.commit()
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def bare_pg(url: str, table: str, cols: list[str], rows: list[tuple]) -> float:
    import psycopg

    con = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    t0 = time.perf_counter()
    with con.cursor() as cur, cur.copy(f'COPY "{table}" ({", ".join(cols)}) FROM STDIN') as copy:
        for r in rows:
            copy.write_row(r)
    con.commit()
    elapsed = time.perf_counter() - t0
    con.close()
    return elapsed


def project(engine, table: Table, cols: list[str], rows: list[tuple]) -> float:
    from warehouse.bulk import bulk_upsert

    t0 = time.perf_counter()
    with engine.begin() as conn:
        bulk_upsert(conn, table, rows, ["feedback_id"], columns=cols)
    return time.perf_counter() - t0


def generic_upsert(engine, table: Table, cols: list[str], rows: list[tuple]) -> float:
    from warehouse.load import upsert

    dicts = [dict(zip(cols, r, strict=True)) for r in rows]
    t0 = time.perf_counter()
    with engine.begin() as conn:
        upsert(conn, table, dicts, ["feedback_id"])
    return time.perf_counter() - t0


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    ap.add_argument("--url", help="PostgreSQL server URL (default YINGSHANG_TEST_PG_URL)")
    ap.add_argument("--sqlalchemy-rows", type=int, default=0,
                    help="also time warehouse.load.upsert (SQLAlchemy executemany) on this many rows")
    ap.add_argument("--repeat", type=int, default=2, help="bare and first-load runs, alternated; best counts")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/results_load.md")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    cols, rows = generate(args.rows)
    print(f"generated {len(rows):,} rows × {len(cols)} columns in {time.perf_counter() - t0:.1f}s", flush=True)
    drop = None
    tmpdir = None
    if args.db == "pg":
        server = args.url or os.environ.get("YINGSHANG_TEST_PG_URL")
        if not server:
            ap.error("--db pg needs --url or YINGSHANG_TEST_PG_URL")
        url, drop = make_pg_database(server)
    else:
        tmpdir = tempfile.TemporaryDirectory(prefix="bench_load_")
        url = f"sqlite:///{Path(tmpdir.name) / 'bench.db'}"
    try:
        from warehouse.db import get_engine

        engine = get_engine(url)
        md = MetaData()
        tables = {n: bench_table(n, md) for n in ("bench_bare", "bench_project", "bench_append", "bench_generic")}
        raw_url = engine.url.render_as_string(hide_password=False)

        def fresh(name: str) -> Table:
            tables[name].drop(engine, checkfirst=True)
            tables[name].create(engine)
            return tables[name]

        bare_t, proj_t = [], []
        for rep in range(args.repeat):  # alternate, so background load hits both paths alike
            fresh("bench_bare")
            bare_t.append(bare_pg(raw_url, "bench_bare", cols, rows) if args.db == "pg"
                          else bare_sqlite(engine.url.database, "bench_bare", cols, rows))
            print(f"[{rep + 1}] bare     {len(rows) / bare_t[-1]:>10,.0f} rows/s  ({bare_t[-1]:.1f}s)", flush=True)
            proj_t.append(project(engine, fresh("bench_project"), cols, rows))
            print(f"[{rep + 1}] project  {len(rows) / proj_t[-1]:>10,.0f} rows/s  ({proj_t[-1]:.1f}s)", flush=True)
        bare_s, proj_s = min(bare_t), min(proj_t)
        # append: new keys into a table that is not empty (the temp-table + ON CONFLICT path)
        t_app = fresh("bench_append")
        project(engine, t_app, cols, generate(1, seed=99)[1])
        append_s = project(engine, t_app, cols, rows)
        print(f"append   {len(rows) / append_s:>10,.0f} rows/s  ({append_s:.1f}s, non-empty table, new keys)",
              flush=True)
        rerun_rows = changed_copy(cols, rows)
        rerun_s = project(engine, tables["bench_project"], cols, rerun_rows)
        print(f"re-run   {len(rows) / rerun_s:>10,.0f} rows/s  ({rerun_s:.1f}s, same keys, 10% changed)", flush=True)
        assert count(engine, "bench_bare") == count(engine, "bench_project") == len(rows)
        assert count(engine, "bench_append") == len(rows) + 1
        with engine.connect() as conn:
            n_changed = conn.execute(text("SELECT COUNT(*) FROM bench_project WHERE status = '已回访'")).scalar_one()
        assert n_changed == sum(1 for r in rerun_rows if r[cols.index("status")] == "已回访")
        gen = None
        if args.sqlalchemy_rows:
            k = min(args.sqlalchemy_rows, len(rows))
            gen_s = generic_upsert(engine, fresh("bench_generic"), cols, rows[:k])
            gen = (k, k / gen_s)
            print(f"generic  {gen[1]:>10,.0f} rows/s  (warehouse.load.upsert on {k:,} rows)", flush=True)
        print(f"ratio project ÷ bare = {bare_s / proj_s:.2f}; append ÷ bare = {bare_s / append_s:.2f}; "
              f"re-run ÷ bare = {bare_s / rerun_s:.2f}  (best of {args.repeat})")
        engine.dispose()
    finally:
        if drop:
            drop()
        if tmpdir:
            tmpdir.cleanup()
    if not args.no_write:
        n = len(rows)
        write_results(args.db, n, args.repeat, n / bare_s, n / proj_s, n / append_s, n / rerun_s, gen)
    return 0


def write_results(db: str, n: int, repeat: int, bare: float, proj: float, append: float, rerun: float,
                  gen: tuple[int, float] | None) -> None:
    """Replace this database's section of benchmarks/results_load.md."""
    header = ("# Load benchmark results\n\nWritten by `benchmarks/bench_load.py` (see its docstring for what is "
              "measured). Ratio = project rows/s ÷ bare rows/s; target ≥ 0.5.\n")
    text_ = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else header
    name = {"sqlite": "SQLite", "pg": "PostgreSQL"}[db]
    lines = [f"## {name}", "",
             f"- date: {dt.date.today().isoformat()}; rows: {n:,}; machine: {platform.machine()}, "
             f"{os.cpu_count()} CPUs, Python {platform.python_version()}; bare and first load: best of {repeat}",
             "", "| path | rows/s | ratio to bare |", "|---|---:|---:|",
             f"| bare {'COPY (psycopg write_row)' if db == 'pg' else 'executemany (sqlite3)'} | {bare:,.0f} | 1.00 |",
             f"| project `bulk_upsert`, first load (empty table) | {proj:,.0f} | {proj / bare:.2f} |",
             f"| project `bulk_upsert`, append (non-empty table, new keys) | {append:,.0f} | {append / bare:.2f} |",
             f"| project `bulk_upsert`, re-run (all keys exist, 10 % changed) | {rerun:,.0f} | {rerun / bare:.2f} |"]
    if gen:
        lines.append(f"| generic `warehouse.load.upsert` ({gen[0]:,} rows) | {gen[1]:,.0f} | {gen[1] / bare:.2f} |")
    section = "\n".join(lines) + "\n"
    pattern = re.compile(rf"^## {name}\n.*?(?=^## |\Z)", re.S | re.M)
    text_ = pattern.sub(section + "\n", text_) if pattern.search(text_) else text_.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text_, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
