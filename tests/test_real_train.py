"""The hand-labelled real training messages (nlp/resources/real_train): never the evaluation set,
and the join of ids + labels with the shared texts (nlp.real_text), on a tiny synthetic folder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

from nlp.real_text import (
    EVAL_LABELS,
    SOURCES,
    TRAIN_LABELS,
    join_labels,
    normalise_body,
    overlap,
    read_labels,
    texts_sha256,
)

ROOT = Path(__file__).resolve().parents[1]


def test_training_label_file_is_valid_and_in_the_eval_format():
    train = read_labels(TRAIN_LABELS)
    ev = read_labels(EVAL_LABELS)
    assert list(train.columns) == list(ev.columns)
    assert len(train) >= 400
    assert set(train["slice"]) == {"random", "enriched"}
    assert set(train["area"]) == {"A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "Z"}
    assert (train["area"] != train["area2"]).all()


def test_training_ids_are_not_evaluation_ids():
    train = read_labels(TRAIN_LABELS)
    ev = read_labels(EVAL_LABELS)
    shared = set(zip(train["file"], train["留言编号"], strict=True)) & set(
        zip(ev["file"], ev["留言编号"], strict=True))
    assert not shared


def test_training_texts_are_not_evaluation_texts(shared_data):
    """Duplicates exist across 附件2/3/4 under different ids: compare the normalised bodies too."""
    train = join_labels(TRAIN_LABELS, shared_data)
    ev = join_labels(EVAL_LABELS, shared_data)
    found = overlap(train, ev)
    assert found == {"ids": [], "bodies": []}
    assert not train["body"].duplicated().any()
    assert (train["text"].str.len() > 10).all()


# ---- the loader on a synthetic shared folder ------------------------------------------------------

def _write_shared(root: Path) -> Path:
    shared = root / "shared"
    rows = {
        "hot_messages": [(1, "停电", "小区 每天\n停电"), (2, "噪音", "楼下 KTV 太吵")],
        "replies": [(1, "营业执照", "注销 营业执照 要跑三次"), (7, "噪音", "楼下KTV太吵")],
        "messages": [(5, "发票", "税务局 不给开发票")],
    }
    for name, data in rows.items():
        path = shared / SOURCES[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        df = pd.DataFrame(data, columns=["留言编号", "留言主题", "留言详情"])
        df["留言用户"] = "u"
        df.to_csv(path, index=False, encoding="utf-8")  # .csv.gz is compressed by the suffix
    return shared


def _labels(path: Path, rows: list[tuple]) -> Path:
    df = pd.DataFrame(rows, columns=["file", "留言编号", "slice", "area", "area2", "sentiment", "note"])
    df.to_csv(path, index=False, encoding="utf-8")
    return path


def test_join_labels_on_a_synthetic_folder(tmp_path):
    shared = _write_shared(tmp_path)
    labels = _labels(tmp_path / "l.csv", [
        ("replies", 1, "enriched", "A9", "A1", "neg", "three trips"),
        ("hot_messages", 1, "random", "A3", "", "neg", ""),
        ("messages", 5, "enriched", "A5", "", "neu", ""),
    ])
    out = join_labels(labels, shared)
    assert out["text"].tolist() == ["营业执照。注销 营业执照 要跑三次", "停电。小区 每天\n停电", "发票。税务局 不给开发票"]
    assert out["label"].tolist() == ["A9", "A3", "A5"]
    assert out["label2"].tolist() == ["A1", "", ""]
    assert out["sentiment"].tolist() == ["neg", "neg", "neu"]
    assert out["body"].tolist()[1] == "小区每天停电"
    assert texts_sha256(out["text"], out["label"]) != texts_sha256(out["text"], ["Z", "A3", "A5"])


def test_join_labels_errors(tmp_path):
    shared = _write_shared(tmp_path)
    with pytest.raises(KeyError):
        join_labels(_labels(tmp_path / "a.csv", [("replies", 99, "random", "Z", "", "neg", "")]), shared)
    with pytest.raises(ValueError):
        join_labels(_labels(tmp_path / "b.csv", [("replies", 1, "random", "A10", "", "neg", "")]), shared)
    with pytest.raises(ValueError):
        join_labels(_labels(tmp_path / "c.csv", [("replies", 1, "random", "Z", "", "neg", ""),
                                                 ("replies", 1, "random", "Z", "", "neg", "")]), shared)
    with pytest.raises(FileNotFoundError):
        join_labels(_labels(tmp_path / "d.csv", [("replies", 1, "random", "Z", "", "neg", "")]), tmp_path / "none")


def test_overlap_finds_the_same_text_under_another_id(tmp_path):
    shared = _write_shared(tmp_path)
    train = join_labels(_labels(tmp_path / "t.csv", [("replies", 7, "random", "Z", "", "neg", "")]), shared)
    ev = join_labels(_labels(tmp_path / "e.csv", [("hot_messages", 2, "random", "Z", "", "neg", ""),
                                                  ("hot_messages", 1, "random", "A3", "", "neg", "")]), shared)
    found = overlap(train, ev)
    assert found["ids"] == []
    assert found["bodies"] == [normalise_body("楼下 KTV 太吵")]


def _build_models():
    spec = importlib.util.spec_from_file_location("build_models_under_test", ROOT / "scripts" / "build_models.py")
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "scripts"))
    spec.loader.exec_module(mod)
    return mod


def test_build_without_shared_folder_is_seed_only_and_says_so(tmp_path):
    bm = _build_models()
    real, info = bm.load_real_train(tmp_path / "no_shared_here")
    assert real is None
    assert info["used"] is False and "seed corpus" in info["note"]
    assert info["labels_sha256"] == bm.file_sha256(TRAIN_LABELS)


def test_build_refuses_training_labels_that_are_evaluation_messages(shared_data, tmp_path):
    bm = _build_models()
    ev = read_labels(EVAL_LABELS).head(3)
    leaked = _labels(tmp_path / "leak.csv", [tuple(r) for r in ev[
        ["file", "留言编号", "slice", "area", "area2", "sentiment", "note"]].itertuples(index=False)])
    with pytest.raises(SystemExit):
        bm.load_real_train(shared_data, leaked)
