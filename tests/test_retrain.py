"""Retraining (pipeline/retrain.py): seed + corrections, a fixed held-back slice, promote only if not worse.

The trainer is a tiny character n-gram model with the signatures of ``nlp.modeling.train`` /
``evaluate`` (and a deliberately bad one that always answers the most frequent label), so these
tests are about the promotion logic, not about model quality.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from pipeline.retrain import SEED_DIR, held_back, retrain, split_holdout, training_frame


def _make_trainer(kind: str = "tiny"):
    import joblib
    from sklearn.dummy import DummyClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline

    calls: list[tuple] = []

    def train(task, path, text_col, label_col, model_out):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        est = (DummyClassifier(strategy="most_frequent") if kind == "bad" else
               LogisticRegression(max_iter=300))
        model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 2)), est)
        model.fit(df[text_col], df[label_col])
        joblib.dump(model, model_out)
        calls.append(("train", task, Path(path).name))
        return {"n": len(df)}

    def evaluate(task, path, text_col, label_col, model_path=None, cv=None):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        pred = joblib.load(model_path).predict(df[text_col])
        calls.append(("evaluate", task, Path(model_path).parent.name))
        return {"n": len(df), "macro_f1": float(f1_score(df[label_col], pred, average="macro"))}

    return SimpleNamespace(train=train, evaluate=evaluate, calls=calls)


def _seed(tmp_path: Path) -> Path:
    """A small seed corpus in the real format: 40 texts per area for three areas."""
    seed = tmp_path / "seed"
    seed.mkdir()
    real = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(SEED_DIR.glob("*.csv"))])
    for area in ("A1", "A2", "A5"):
        real[real["label"] == area].head(40).to_csv(seed / f"area_{area}.csv", index=False)
    return seed


NO_CORRECTIONS = pd.DataFrame(columns=["text", "area", "area2", "sentiment"])


def test_corrections_join_the_seed_and_win_over_it(tmp_path):
    seed = _seed(tmp_path)
    first = pd.read_csv(seed / "area_A1.csv", dtype=str).iloc[0]
    corrections = pd.DataFrame([
        {"text": first["text"], "area": "A5", "area2": None, "sentiment": "neu"},   # relabels a seed text
        {"text": "新办的厂房消防验收排了两个月还没排上", "area": "A2", "area2": None, "sentiment": "neg"},
        {"text": "只改了情感", "area": None, "area2": None, "sentiment": "pos"},       # no area label
    ])
    area = training_frame("area", seed_dir=seed, corrections=corrections)
    assert len(area) == 120 + 1  # one new text; the relabelled one is not duplicated; no-area row dropped
    assert area.loc[area["text"] == first["text"], "label"].tolist() == ["A5"]
    assert (area["origin"] == "correction").sum() == 2
    sentiment = training_frame("sentiment", seed_dir=seed, corrections=corrections)
    assert sentiment.loc[sentiment["text"] == "只改了情感", "label"].tolist() == ["pos"]
    with pytest.raises(ValueError, match="unknown task"):
        training_frame("topic", seed_dir=seed, corrections=corrections)


def test_the_held_back_slice_is_fixed_by_the_text_not_the_row_order():
    texts = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in SEED_DIR.glob("*.csv")])
    df = texts[["text", "label"]].drop_duplicates("text").reset_index(drop=True)
    _, hold = split_holdout(df, 0.2)
    _, hold_shuffled = split_holdout(df.sample(frac=1, random_state=3), 0.2)
    assert set(hold["text"]) == set(hold_shuffled["text"])
    assert 0.15 < len(hold) / len(df) < 0.25
    # Full-width and half-width spellings of one text land on the same side.
    assert held_back("营业执照ＡＢＣ 办了三周", 0.5) == held_back("营业执照ABC  办了三周", 0.5)


def test_first_training_promotes_and_keeps_the_data_and_metrics(tmp_path):
    seed, models = _seed(tmp_path), tmp_path / "models"
    trainer = _make_trainer()
    out = retrain("area", models, seed_dir=seed, corrections=NO_CORRECTIONS, trainer=trainer)
    assert out["promoted"] is True and out["reason"] == "no active model yet"
    assert out["active_macro_f1_before"] is None and out["previous_path"] is None
    assert Path(out["active_path"]) == models / "area.joblib" and (models / "area.joblib").is_file()
    vdir = models / "area" / "versions" / out["version"]
    assert {p.name for p in vdir.iterdir()} == {"train.csv", "holdout.csv", "area.joblib", "retrain.json"}
    assert out["n_train"] + out["n_holdout"] == 120
    saved = json.loads((vdir / "retrain.json").read_text(encoding="utf-8"))
    assert saved["candidate_metrics"]["macro_f1"] == out["candidate_macro_f1"]
    json.dumps(out)  # small JSON for XCom


def test_a_worse_candidate_is_not_promoted_and_the_active_model_stays(tmp_path):
    seed, models = _seed(tmp_path), tmp_path / "models"
    retrain("area", models, seed_dir=seed, corrections=NO_CORRECTIONS, trainer=_make_trainer())
    before = (models / "area.joblib").read_bytes()
    out = retrain("area", models, seed_dir=seed, corrections=NO_CORRECTIONS, trainer=_make_trainer("bad"),
                  version="bad-candidate")
    assert out["promoted"] is False
    assert out["candidate_macro_f1"] < out["active_macro_f1_before"]
    assert "worse than active" in out["reason"]
    assert (models / "area.joblib").read_bytes() == before
    assert not (models / "area.joblib.prev").exists()
    assert (models / "area" / "versions" / "bad-candidate" / "area.joblib").is_file()  # kept for inspection


def test_a_candidate_as_good_as_the_active_one_is_promoted_and_the_old_kept_as_prev(tmp_path):
    seed, models = _seed(tmp_path), tmp_path / "models"
    first = retrain("area", models, seed_dir=seed, corrections=NO_CORRECTIONS, trainer=_make_trainer())
    old = (models / "area.joblib").read_bytes()
    corrections = pd.DataFrame([{"text": "税务登记信息变更要跑三个窗口", "area": "A5", "area2": None, "sentiment": "neg"}])
    second = retrain("area", models, seed_dir=seed, corrections=corrections, trainer=_make_trainer(),
                     tolerance=0.05)
    assert second["version"] != first["version"]  # new training data, new version folder
    assert second["promoted"] is True
    assert (models / "area.joblib.prev").read_bytes() == old
    assert second["previous_path"] == str(models / "area.joblib.prev")
    assert second["n_corrections"] == 1


def test_retrain_with_the_project_trainer(tmp_path):
    """The real nlp.modeling on the small seed: the same contract (skipped until it exists)."""
    pytest.importorskip("nlp.modeling", reason="nlp/modeling.py not available")
    seed = _seed(tmp_path)
    out = retrain("area", tmp_path / "models", seed_dir=seed, corrections=NO_CORRECTIONS)
    assert out["promoted"] is True and 0 <= out["candidate_macro_f1"] <= 1
