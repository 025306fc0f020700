"""Join hand labels of real message-board posts with their texts from the shared data folder.

The repository stores only identifiers and labels of real messages (the texts are third-party
data without a licence and stay in ``../shared/data``). Two label files use this:

- ``benchmarks/real_eval/labels.csv`` — the held-out evaluation set (never trained on);
- ``nlp/resources/real_train/labels.csv`` — the real-text training set of the area model.

Both have the columns ``file,留言编号,slice,area,area2,sentiment,note``; ``file`` names one of
:data:`SOURCES`. :func:`join_labels` returns one row per label with ``text`` = 留言主题 + "。" +
留言详情 (the same text the evaluation and the training see), and raises if an id is missing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
EVAL_LABELS = ROOT / "benchmarks" / "real_eval" / "labels.csv"
TRAIN_LABELS = ROOT / "nlp" / "resources" / "real_train" / "labels.csv"

# file name used in the label files -> path of the source file under the shared data folder
SOURCES: dict[str, str] = {
    "hot_messages": "tipdm2020c_hot_messages/hot_messages.csv",  # 附件3
    "replies": "tipdm2020c_replies/replies.csv.gz",  # 附件4
    "messages": "tipdm2020c_messages/messages_dev.csv",  # 附件2 (official sample, dev part)
}
AREA_CODES = ("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "Z")
SENTIMENTS = ("neg", "neu", "pos")
_WS = re.compile(r"\s+")


def normalise_body(text: object) -> str:
    """留言详情 with all whitespace removed: the key on which messages count as duplicates."""
    return _WS.sub("", "" if text is None or (isinstance(text, float) and text != text) else str(text))


def read_labels(path: str | Path) -> pd.DataFrame:
    """Read a label file (ids as int, empty cells as "") and check its codes."""
    df = pd.read_csv(path, dtype={"留言编号": "int64"}, keep_default_na=False, encoding="utf-8")
    missing = {"file", "留言编号", "area", "area2", "sentiment"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    bad = df.loc[~df["file"].isin(list(SOURCES)), "file"].unique().tolist()
    bad += df.loc[~df["area"].isin(AREA_CODES), "area"].unique().tolist()
    bad += df.loc[~df["area2"].isin(("", *AREA_CODES)), "area2"].unique().tolist()
    bad += df.loc[~df["sentiment"].isin(SENTIMENTS), "sentiment"].unique().tolist()
    if bad:
        raise ValueError(f"{path}: unknown values {bad[:5]}")
    dup = df.duplicated(["file", "留言编号"])
    if dup.any():
        raise ValueError(f"{path}: duplicate ids {df.loc[dup, ['file', '留言编号']].values.tolist()[:5]}")
    return df


def load_texts(shared: str | Path, files: Iterable[str] | None = None) -> pd.DataFrame:
    """留言编号/留言主题/留言详情 (+ ``file``) of the given source files under ``shared``."""
    shared = Path(shared)
    frames = []
    for name in (list(SOURCES) if files is None else list(files)):
        if name not in SOURCES:
            raise KeyError(f"unknown source file {name!r}; known: {sorted(SOURCES)}")
        path = shared / SOURCES[name]
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (is --shared pointing at shared/data?)")
        df = pd.read_csv(path, usecols=["留言编号", "留言主题", "留言详情"], dtype={"留言编号": "int64"},
                         encoding="utf-8")
        df["file"] = name
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def join_labels(labels: str | Path | pd.DataFrame, shared: str | Path) -> pd.DataFrame:
    """Labels joined with their texts, in label-file order.

    Columns: ``file, 留言编号, slice, text, label, label2, sentiment, body`` where text = 留言主题 +
    "。" + 留言详情 (whitespace trimmed), label = area, and body = the normalised 留言详情 (for
    duplicate checks; not for training). Raises ``KeyError`` if a labelled id is not in the data.
    """
    lab = read_labels(labels) if not isinstance(labels, pd.DataFrame) else labels.copy()
    texts = load_texts(shared, sorted(set(lab["file"])))
    merged = lab.merge(texts, on=["file", "留言编号"], how="left", validate="one_to_one")
    missing = merged["留言详情"].isna()
    if missing.any():
        ids = merged.loc[missing, ["file", "留言编号"]].to_records(index=False).tolist()
        raise KeyError(f"{len(ids)} labelled ids not found in the shared data: {ids[:5]}")
    subject = merged["留言主题"].astype(str).str.strip().str.rstrip("。")
    body = merged["留言详情"].astype(str).str.strip()
    return pd.DataFrame(
        {
            "file": merged["file"],
            "留言编号": merged["留言编号"],
            "slice": merged["slice"] if "slice" in merged else "",
            "text": subject + "。" + body,
            "label": merged["area"],
            "label2": merged["area2"],
            "sentiment": merged["sentiment"],
            "body": body.map(normalise_body),
        }
    )


def overlap(train: pd.DataFrame, evaluation: pd.DataFrame) -> dict[str, list]:
    """What two joined label sets share: the same (file, id), or the same normalised body."""
    ids = set(zip(train["file"], train["留言编号"], strict=True)) & set(
        zip(evaluation["file"], evaluation["留言编号"], strict=True))
    bodies = set(train["body"]) & set(evaluation["body"])
    return {"ids": sorted(ids), "bodies": sorted(bodies)}


def texts_sha256(texts: Iterable[str], labels: Iterable[str]) -> str:
    """SHA-256 of the joined (text, label) pairs: identifies the exact training rows in a model card."""
    h = hashlib.sha256()
    for t, y in zip(texts, labels, strict=True):
        h.update(str(y).encode() + b"\t" + str(t).encode() + b"\n")
    return h.hexdigest()
