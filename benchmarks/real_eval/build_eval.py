"""Build the hand-labelled real-text evaluation CSV (真实留言评测集) from ids + labels.

The repository stores only identifiers and labels (``labels.csv``); the message texts stay in
the read-only shared data folder and are joined here at run time, into a file under ``var/``
that is never committed.

Usage::

    python benchmarks/real_eval/build_eval.py --shared ../shared/data --out var/real_eval.csv

Output columns: ``text,label,label2,sentiment`` (label = area code A1..A9 or Z), ready for
``yingshang evaluate``. ``--with-ids`` adds ``file,留言编号,slice`` for error analysis.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from nlp.real_text import join_labels, load_texts  # noqa: E402,F401  (load_texts: old import path)

LABELS = HERE / "labels.csv"


def build(shared: Path, labels_path: Path = LABELS, with_ids: bool = False) -> pd.DataFrame:
    """Join labels with texts (nlp.real_text.join_labels); text = 留言主题 + "。" + 留言详情."""
    joined = join_labels(labels_path, shared)
    cols = (["file", "留言编号", "slice"] if with_ids else []) + ["text", "label", "label2", "sentiment"]
    return joined[cols]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=HERE.parents[2] / "shared" / "data")
    ap.add_argument("--out", type=Path, default=Path("var/real_eval.csv"))
    ap.add_argument("--labels", type=Path, default=LABELS)
    ap.add_argument("--with-ids", action="store_true", help="keep file, 留言编号 and slice columns")
    args = ap.parse_args(argv)
    try:
        df = build(args.shared, args.labels, args.with_ids)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        print(f"build_eval: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False, quoting=csv.QUOTE_MINIMAL)
    counts = df["label"].value_counts().sort_index().to_dict()
    print(f"wrote {len(df)} rows to {args.out}; labels {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
