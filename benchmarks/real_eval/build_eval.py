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
LABELS = HERE / "labels.csv"

# file name in labels.csv -> path of the source file under the shared data folder
SOURCES: dict[str, str] = {
    "hot_messages": "tipdm2020c_hot_messages/hot_messages.csv",  # 附件3
    "replies": "tipdm2020c_replies/replies.csv.gz",  # 附件4
}


def load_texts(shared: Path) -> pd.DataFrame:
    """Read 留言编号/留言主题/留言详情 of 附件3 and 附件4 from the shared data folder."""
    frames = []
    for name, rel in SOURCES.items():
        path = shared / rel
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (is --shared pointing at shared/data?)")
        df = pd.read_csv(path, usecols=["留言编号", "留言主题", "留言详情"], dtype={"留言编号": "int64"})
        df["file"] = name
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def build(shared: Path, labels_path: Path = LABELS, with_ids: bool = False) -> pd.DataFrame:
    """Join labels with texts; text = 留言主题 + "。" + 留言详情 (whitespace trimmed)."""
    labels = pd.read_csv(labels_path, dtype={"留言编号": "int64"}, keep_default_na=False)
    texts = load_texts(shared)
    merged = labels.merge(texts, on=["file", "留言编号"], how="left", validate="one_to_one")
    missing = merged["留言详情"].isna()
    if missing.any():
        ids = merged.loc[missing, ["file", "留言编号"]].to_records(index=False).tolist()
        raise KeyError(f"{len(ids)} labelled ids not found in the shared data: {ids[:5]}")
    subject = merged["留言主题"].astype(str).str.strip().str.rstrip("。")
    body = merged["留言详情"].astype(str).str.strip()
    out = pd.DataFrame(
        {
            "text": subject + "。" + body,
            "label": merged["area"],
            "label2": merged["area2"],
            "sentiment": merged["sentiment"],
        }
    )
    if with_ids:
        out = pd.concat([merged[["file", "留言编号", "slice"]], out], axis=1)
    return out


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
    except (FileNotFoundError, KeyError) as exc:
        print(f"build_eval: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False, quoting=csv.QUOTE_MINIMAL)
    counts = df["label"].value_counts().sort_index().to_dict()
    print(f"wrote {len(df)} rows to {args.out}; labels {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
