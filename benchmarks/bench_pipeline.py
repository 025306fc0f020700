"""Nightly-path throughput (夜间作业吞吐) against bare ``jieba.lcut`` on the same texts.

For each size (10k, 100k, 1M hotline records: ``yingshang sample --month 2026-10 --scale 5 / 50 /
500``, generated once under --data) it runs, each in a fresh subprocess:

1. the pipeline: ``pipeline.ingest.ingest_files`` over the month's hotline exports into a new SQLite
   warehouse — parse → validate → normalise and mask → tokenize → area and sentiment → keywords →
   load, with ``--workers`` processes (default: ``ingest.workers``, i.e. the number of CPUs);
2. the reference: bare ``jieba.lcut`` (jieba's own default dictionary, precise mode, HMM on — what a
   plain jieba pipeline calls) over exactly the documents the pipeline tokenizes (title + text,
   normalised and masked), built before the clock starts.

Pipeline and reference alternate --repeat times and the best of each counts (the machine may be
shared); the ranges are printed too. Reported: records/s end to end, the ratio end-to-end ÷ bare
jieba, records/s per stage (records ÷ CPU seconds of that stage, summed over the processes that ran
it), peak RSS (the parent's own maximum, and the peak of RSS and of PSS summed over the parent and its
pool workers, sampled every 0.2 s by the benchmark process; PSS counts pages shared after fork once)
and the per-record cost.
Writes benchmarks/results.md.

    .venv/bin/python benchmarks/bench_pipeline.py                      # 10k and 100k
    .venv/bin/python benchmarks/bench_pipeline.py --sizes 10k,100k,1m --repeat 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results.md"
SCALES = {"10k": 5, "100k": 50, "1m": 500}
STAGES = ("parse", "rows", "normalise_mask", "tokenize", "area", "sentiment", "keywords_rows", "load")
STAGE_NAMES = {
    "parse": "read + parse + validate (parent)",
    "rows": "row hash + masked payload",
    "normalise_mask": "normalise + mask texts",
    "tokenize": "tokenize (exact rjieba)",
    "area": "area model",
    "sentiment": "sentiment model",
    "keywords_rows": "keywords + row building",
    "load": "load into SQLite (parent)",
}


# ----------------------------------------------------------------------------------------------- children


def _tree_memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes summed over ``pid`` and its descendants."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    rss = pss = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1]) * 1024
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


def _cpu_total(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def child_pipeline(landing: Path, workers: int | None) -> dict:
    from pipeline.enrich import get_enricher
    from pipeline.ingest import POOL_STARTS, discover_landing, ensure_schema, ingest_files

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/warehouse.db"
        get_enricher()  # loading models is start-up, not throughput (a nightly run loads them once)
        ensure_schema(url)
        paths = discover_landing(landing)
        cpu0 = _cpu_total(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        results = ingest_files(paths, "hotline", url, workers=workers)
        wall = time.perf_counter() - t0
    stages: dict[str, float] = {}
    for r in results:
        for k, v in r.stage_seconds.items():
            stages[k] = stages.get(k, 0.0) + v
    return {
        "records": sum(r.rows_in for r in results), "wall": wall, "stages": stages,
        "statuses": sorted({r.status for r in results}),
        "rss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_child_max": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "pool_starts": list(POOL_STARTS),
        # CPU of the load itself: this process after start-up, plus its (reaped) pool workers
        "cpu": _cpu_total(resource.RUSAGE_SELF) - cpu0 + _cpu_total(resource.RUSAGE_CHILDREN),
    }


def child_jieba(landing: Path) -> dict:
    import logging

    import jieba

    from pipeline import sources
    from pipeline.config import load_sources
    from pipeline.enrich import feedback_docs
    from pipeline.ingest import discover_landing

    logging.getLogger("jieba").setLevel(logging.WARNING)
    cfg = load_sources()
    docs: list[str] = []
    for path in discover_landing(landing):
        for parsed in sources.iter_parse_file(path, "hotline", cfg, chunk_rows=50_000):
            if not parsed.feedback.empty:
                docs += feedback_docs(parsed.feedback)[2]
    jieba.initialize()
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    n_tokens = 0
    for d in docs:
        n_tokens += len(jieba.lcut(d))
    wall = time.perf_counter() - t0
    return {"texts": len(docs), "wall": wall, "chars": sum(map(len, docs)), "tokens": n_tokens,
            "cpu": time.process_time() - cpu0}


# ----------------------------------------------------------------------------------------------- parent


def _run_child(kind: str, landing: Path, workers: int | None) -> dict:
    """Run a child; its memory (with its pool workers) is sampled from here every 0.2 s, so the
    child itself stays single-threaded (the pool forks only from a single-threaded process)."""
    cmd = [sys.executable, __file__, "--child", kind, "--landing", str(landing)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    with tempfile.TemporaryFile("w+") as out, subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL,
                                                                text=True, cwd=ROOT) as proc:
        peak_rss = peak_pss = 0
        while proc.poll() is None:
            rss, pss = _tree_memory(proc.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.2)
        if proc.returncode:
            raise SystemExit(f"{kind} child failed ({proc.returncode}): {' '.join(cmd)}")
        out.seek(0)
        result = json.loads(out.read().strip().splitlines()[-1])
    result["tree_rss_peak"], result["tree_pss_peak"] = peak_rss, peak_pss
    return result


def _ensure_sample(data: Path, size: str) -> Path:
    out = data / f"scale{SCALES[size]}"
    landing = out / "hotline"
    if not landing.is_dir():
        cli = Path(sys.executable).with_name("yingshang")
        cmd = [str(cli)] if cli.exists() else [sys.executable, "-m", "pipeline.cli"]
        subprocess.run(cmd + ["sample", "--out", str(out), "--month", "2026-10", "--scale", str(SCALES[size])],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return landing


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} CPUs, {mem:.0f} GiB RAM, "
            f"Python {platform.python_version()}")


def _mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10k,100k", help="comma-separated: 10k, 100k, 1m")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "yingshang-bench",
                    help="where the generated samples are kept (reused across runs)")
    ap.add_argument("--workers", type=int, default=None, help="pool size (default: ingest.workers)")
    ap.add_argument("--repeat", type=int, default=2, help="alternating pipeline/jieba runs per size")
    ap.add_argument("--child", choices=("pipeline", "jieba"), help=argparse.SUPPRESS)
    ap.add_argument("--landing", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--no-write", action="store_true", help="do not write benchmarks/results.md")
    args = ap.parse_args()
    if args.child:
        fn = child_pipeline if args.child == "pipeline" else (lambda landing, _w: child_jieba(landing))
        print(json.dumps(fn(args.landing, args.workers)))
        return

    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    load_before = os.getloadavg()
    rows = []
    for size in sizes:
        landing = _ensure_sample(args.data, size)
        pipes, jiebas = [], []
        for _ in range(max(1, args.repeat)):
            pipes.append(_run_child("pipeline", landing, args.workers))
            jiebas.append(_run_child("jieba", landing, None))
            p, j = pipes[-1], jiebas[-1]
            print(f"{size}: pipeline {p['records'] / p['wall']:,.0f} rec/s, jieba {j['texts'] / j['wall']:,.0f} "
                  f"texts/s, load avg {os.getloadavg()[0]:.1f}", flush=True)
        best_p = max(pipes, key=lambda r: r["records"] / r["wall"])
        best_j = max(jiebas, key=lambda r: r["texts"] / r["wall"])
        rows.append({"size": size, "pipe": best_p, "jieba": best_j, "pipes": pipes, "jiebas": jiebas})
    load_after = os.getloadavg()

    lines = [f"- date: {dt.date.today().isoformat()}; machine: {_machine()}",
             f"- workers: {args.workers or 'ingest.workers (default: number of CPUs)'}; repeats: {args.repeat} "
             f"(best of each counts); load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f}",
             "", "| records | end to end rec/s (range) | bare jieba texts/s (range) | ratio (range) | "
             "s per 1k records | peak RSS parent | peak RSS parent+workers (sum RSS / sum PSS) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    per_record = {}
    for r in rows:
        p, j = r["pipe"], r["jieba"]
        rates = [x["records"] / x["wall"] for x in r["pipes"]]
        jrates = [x["texts"] / x["wall"] for x in r["jiebas"]]
        ratios = [a / b for a, b in zip(rates, jrates, strict=True)]
        per_record[r["size"]] = p["wall"] / p["records"]
        lines.append(
            f"| {p['records']:,} | {p['records'] / p['wall']:,.0f} ({min(rates):,.0f}–{max(rates):,.0f}) | "
            f"{j['texts'] / j['wall']:,.0f} ({min(jrates):,.0f}–{max(jrates):,.0f}) | "
            f"**{(p['records'] / p['wall']) / (j['texts'] / j['wall']):.2f}** "
            f"({min(ratios):.2f}–{max(ratios):.2f}) | {1000 * p['wall'] / p['records']:.3f} | "
            f"{_mb(p['rss_self'])} | {_mb(p['tree_rss_peak'])} / {_mb(p['tree_pss_peak'])} |")
    lines += ["", "CPU cost (robust to other jobs on the machine, unlike the wall-clock figures above): CPU "
              "seconds of the load in all its processes ÷ records, against bare jieba's CPU ÷ texts. "
              "'2-core bound' = 2 × jieba CPU per text ÷ pipeline CPU per record: the ratio the two cores would "
              "give if nothing else ran and the parent never waited. 'Serial bound' = jieba CPU per text ÷ the "
              "parent's own CPU per record for reading and loading (parse + load stages): the ratio no number "
              "of workers can pass, since one process reads the file and one writes SQLite.", "",
              "| records | pipeline CPU ms/record | bare jieba CPU ms/text | CPU ratio (1 core) | 2-core bound "
              "| serial bound |",
              "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        p, j = r["pipe"], r["jieba"]
        if "cpu" in p and "cpu" in j:
            pc, jc = 1000 * p["cpu"] / p["records"], 1000 * j["cpu"] / j["texts"]
            serial = 1000 * sum(p["stages"].get(s, 0.0) for s in ("parse", "load")) / p["records"]
            bound = f"{jc / serial:.2f}" if serial else "–"
            lines.append(f"| {p['records']:,} | {pc:.3f} | {jc:.3f} | {jc / pc:.2f} | {2 * jc / pc:.2f} | {bound} |")
    if "100k" in per_record and "1m" in per_record:
        lines += ["", f"- per-record cost 1M ÷ 100k: {per_record['1m'] / per_record['100k']:.2f}"]
    lines += ["", "Per stage (best pipeline run): records ÷ CPU seconds of the stage, summed over processes; "
              "share = the stage's part of all stage CPU. Pool start method(s): "
              + ", ".join(f"{r['size']}: {sorted(set(r['pipe']['pool_starts'])) or 'no pool'}" for r in rows) + ".",
              "",
              "| stage | " + " | ".join(f"{r['size']} rec/s (share)" for r in rows) + " |",
              "|---|" + "---:|" * len(rows)]
    for st in STAGES:
        cells = []
        for r in rows:
            p = r["pipe"]
            total = sum(p["stages"].get(s, 0.0) for s in STAGES)
            sec = p["stages"].get(st, 0.0)
            cells.append(f"{p['records'] / sec:,.0f} ({100 * sec / total:.0f} %)" if sec else "–")
        lines.append(f"| {STAGE_NAMES[st]} | " + " | ".join(cells) + " |")
    cells = []
    for r in rows:
        p = r["pipe"]
        total = sum(p["stages"].get(s, 0.0) for s in STAGES)
        cells.append(f"{p['records'] / total:,.0f} (CPU {total:,.1f} s, wall {p['wall']:,.1f} s)")
    lines.append("| all stages, one core | " + " | ".join(cells) + " |")
    lines.append("| bare jieba.lcut, one core | " + " | ".join(
        f"{r['jieba']['texts'] / r['jieba']['wall']:,.0f} ({r['jieba']['chars'] / r['jieba']['texts']:.0f} chars/text)"
        for r in rows) + " |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        _write_results(text)


def _write_results(body: str) -> None:
    head = (
        "# Pipeline throughput results\n\n"
        "Written by `benchmarks/bench_pipeline.py` (see its docstring). Target (issue 9): end-to-end "
        "throughput ≥ 3 × bare `jieba.lcut` on the same texts at 100k and 1M records; peak RSS ≤ 1 GB at "
        "1M; per-record cost at 1M within 20 % of 100k.\n\n"
    )
    notes = ""
    if RESULTS.exists():
        old = RESULTS.read_text(encoding="utf-8")
        if "\n## Notes" in old:
            notes = old[old.index("\n## Notes"):]
    RESULTS.write_text(head + "## Latest run\n\n" + body + "\n" + notes, encoding="utf-8")


if __name__ == "__main__":
    main()
