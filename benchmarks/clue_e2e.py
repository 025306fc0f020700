#!/usr/bin/env python
"""Problem-clue grouping end to end (问题线索端到端质量) on generated months.

    .venv/bin/python benchmarks/clue_e2e.py 301:2026-01 302:2026-04 ... [--scale 0.5] [--config DIR]

For each ``seed:month``: ``yingshang sample`` writes the month's exports (once, cached under --data),
the nightly job loads them into a fresh SQLite warehouse (parsers, masking, the shipped area and
sentiment models), the monthly job builds the clue list, and every planted member is scored as in
tests/test_monthly.py (tests/planted_quality.py): F1 of the clue holding most of a planted problem's
members. Unlike benchmarks/clue_quality.py (candidates only, no warehouse) this is what an operator
gets. ``--config`` runs the monthly job with another config folder (YINGSHANG_CONFIG_DIR), to compare
two settings on the same warehouses. Use seeds that no setting was chosen on: docs/clues.md lists the
ones already used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("months", nargs="+", metavar="SEED:YYYY-MM")
    ap.add_argument("--scale", type=float, default=0.5, help="sample scale (0.5: about 1,500 records a month)")
    ap.add_argument("--config", type=Path, help="config folder for the monthly job (default: the repository's)")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "yingshang-clue-e2e",
                    help="where the generated months and their warehouses are kept (reused across runs)")
    args = ap.parse_args(argv)
    if args.config:
        os.environ["YINGSHANG_CONFIG_DIR"] = str(args.config.resolve())
    from planted_quality import planted_quality

    from pipeline.monthly import build_month_clues
    from pipeline.nightly import run_nightly
    from pipeline.sample import generate_sample

    means = []
    for item in args.months:
        seed, _, month = item.partition(":")
        d = args.data / f"s{seed}_{month}_{args.scale}"
        landing, loaded = d / "landing", d / "loaded.db"
        if not (d / "complete").exists():
            shutil.rmtree(d, ignore_errors=True)
            generate_sample(landing, month, seed=int(seed), scale=args.scale)
            run_nightly(landing, f"sqlite:///{loaded}")
            (d / "complete").write_text("loaded\n")
        with tempfile.TemporaryDirectory() as work:
            db = Path(work) / "w.db"
            # The monthly job writes clues and ledger: it works on a copy. SQLite's backup API, not a
            # file copy: the warehouse runs in WAL mode, and while this process still holds it open the
            # last transactions are in loaded.db-wal, not in loaded.db (a file copy once lost 140 rows).
            with sqlite3.connect(loaded) as src, sqlite3.connect(db) as dst:
                src.backup(dst)
            url = f"sqlite:///{db}"
            build_month_clues(month, Path(work) / "clues.xlsx", url)
            quality = planted_quality(url, landing, month)
        f1 = {q["id"]: q["f1"] for q in quality}
        # the other figure: the clue's size within 10 % of the planted count (whole items)
        off = [f"{q['id']}:{q['clue_items']}/{q['planted']}" for q in quality
               if abs(q["clue_items"] - q["planted"]) > max(1, round(0.1 * q["planted"]))]
        wrong_area = [q["id"] for q in quality if q["clue_area"] != q["area"]]
        v = np.array(list(f1.values()))
        means.append(v.mean())
        under = " ".join(f"{k}:{x:.2f}" for k, x in f1.items() if x < 0.8)
        print(f"seed {seed} {month}: mean F1 {v.mean():.3f}, lowest {v.min():.2f}, under 0.8: {(v < 0.8).sum()} of {len(v)}"
              + (f" ({under})" if under else "")
              + f"; size within 10 %: {len(quality) - len(off)} of {len(quality)}" + (f" ({' '.join(off)})" if off else "")
              + (f"; wrong area: {' '.join(wrong_area)}" if wrong_area else ""), flush=True)
    if len(means) > 1:
        print(f"mean over {len(means)} months: {np.mean(means):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
