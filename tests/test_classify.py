"""Area classifier (指标领域): estimator contract, predict_frame, lexicon fallback, shipped model."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

import nlp.classify as classify
from nlp.classify import (
    AreaModel,
    LexiconAreaClassifier,
    build_area_pipeline,
    lexicon_examples,
    load_area_model,
)
from nlp.features import as_token_lists

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "nlp" / "resources" / "seed"
AREAS = [f"A{i}" for i in range(1, 10)] + ["Z"]

# Hand-written for this test (not from the seed corpus): one unambiguous text per area.
OBVIOUS = [
    ("我们公司想把营业执照上的经营范围增加一项，变更登记要带哪些材料？", "A1"),
    ("仓库扩建项目的施工许可证报上去两个月了，施工图审查一直没通过。", "A2"),
    ("工业园区这个月停电四次，生产线全部停摆，供电所也不提前通知。", "A3"),
    ("交房五年了，小区业主至今拿不到不动产权证，办证到底卡在哪里？", "A4"),
    ("电子税务局申报增值税时一直提示系统错误，眼看要逾期产生滞纳金。", "A5"),
    ("小微企业去银行申请贷款，要求找担保公司还要抵押，融资太难了。", "A6"),
    ("法院判决对方支付我公司货款，判决生效一年了还没有强制执行到位。", "A7"),
    ("这次政府采购项目招投标存在围标串标，评标结果明显不公正。", "A8"),
    ("政务服务中心窗口排队三个小时，工作人员推诿说材料不全让我们再跑一趟。", "A9"),
    ("小区楼下的广场舞每天晚上放音乐到十点多，噪音太大影响休息。", "Z"),
    ("孩子今年上小学，学区划片太不合理，离家最近的学校不能上。", "Z"),
]


@pytest.fixture(scope="module")
def keywords() -> dict[str, list[str]]:
    cfg = yaml.safe_load((ROOT / "config" / "areas.yaml").read_text(encoding="utf-8"))
    return {a["code"]: [str(k) for k in a.get("keywords") or []] for a in cfg["areas"]}


@pytest.fixture(scope="module")
def small_seed() -> tuple[list[list[str]], list[str]]:
    files = sorted(SEED.glob("area_*.csv"))
    if not files:
        pytest.skip("seed corpus nlp/resources/seed/area_*.csv not present")
    df = pd.concat([pd.read_csv(f, dtype=str) for f in files], ignore_index=True)
    df = df.groupby("label").sample(n=30, random_state=0)
    return as_token_lists(df["text"].tolist()), df["label"].tolist()


def small_pipeline(**kw):
    return build_area_pipeline(k_best=2000, **kw)


def test_pipeline_is_a_real_estimator(small_seed):
    X, y = small_seed
    est = small_pipeline()
    cloned = clone(est)
    assert cloned.get_params()["clf__C"] == est.get_params()["clf__C"]
    assert cloned.fit(X, y) is cloned  # fit returns self
    assert set(cloned.classes_) == set(AREAS)
    restored = pickle.loads(pickle.dumps(cloned))
    assert np.array_equal(restored.predict(X[:40]), cloned.predict(X[:40]))
    scores = cross_val_score(small_pipeline(), X, y, cv=3, scoring="accuracy")
    assert scores.shape == (3,) and scores.mean() > 1.0 / len(AREAS)


def test_texts_and_tokens_give_the_same_prediction(small_seed):
    X, y = small_seed
    est = small_pipeline().fit(X, y)
    texts = [t for t, _ in OBVIOUS]
    tokens = as_token_lists(texts)
    assert np.allclose(est.predict_proba(texts), est.predict_proba(tokens))


def test_predict_frame_columns_and_ranges(small_seed):
    X, y = small_seed
    model = AreaModel(small_pipeline().fit(X, y))
    frame = model.predict_frame([t for t, _ in OBVIOUS] + [""])
    assert list(frame.columns) == ["label", "label2", "confidence", "label2_confidence"]
    assert len(frame) == len(OBVIOUS) + 1
    assert set(frame["label"]) <= set(AREAS)
    assert frame["confidence"].between(0, 1).all()
    for _, row in frame.iterrows():
        if row["label2"] is not None:
            assert row["label2"] != "Z" and row["label2"] != row["label"]
            assert 0 < row["label2_confidence"] <= row["confidence"]
        else:
            assert np.isnan(row["label2_confidence"])
    assert model.predict_frame([]).shape == (0, 4)


def test_prior_adjust_moves_uncertain_texts_to_z(small_seed):
    X, y = small_seed
    est = small_pipeline().fit(X, y)
    plain = AreaModel(est).predict_proba(X)
    shifted = AreaModel(est, prior_adjust={"Z": 50.0}).predict_proba(X)
    z = list(est.classes_).index("Z")
    assert np.allclose(shifted.sum(axis=1), 1.0)
    assert (shifted[:, z] >= plain[:, z] - 1e-12).all()


def test_lexicon_examples_and_features(keywords, small_seed):
    texts, labels, weights = lexicon_examples(keywords, weight=0.25)
    assert "Z" not in labels and set(labels) == set(AREAS) - {"Z"}
    assert "营业执照" in texts and all(w == 0.25 for w in weights)
    X, y = small_seed
    est = small_pipeline(keywords=keywords).fit(X + texts, y + labels, clf__sample_weight=[1.0] * len(y) + weights)
    assert "lexicon" in dict(est.named_steps["features"].transformer_list)


def test_lexicon_fallback_when_no_model_file(keywords, tmp_path, monkeypatch):
    monkeypatch.setattr(classify, "DEFAULT_AREA_MODEL", tmp_path / "missing.joblib")
    model = load_area_model(keywords=keywords)
    assert model.version == "lexicon-fallback"
    frame = model.predict_frame(["电子税务局开发票总是失败", "今天天气不错", "营业执照和刻章怎么办理"])
    assert frame["label"].tolist() == ["A5", "Z", "A1"]
    assert frame["confidence"].between(0, 1).all()
    with pytest.raises(FileNotFoundError):
        load_area_model(tmp_path / "nope.joblib", keywords=keywords)
    with pytest.raises(FileNotFoundError):
        load_area_model()  # no file and no keywords: nothing to fall back on


def test_lexicon_classifier_is_an_estimator(keywords):
    clf = LexiconAreaClassifier(keywords=keywords)
    assert clone(clf).fit() is not None
    restored = pickle.loads(pickle.dumps(clf.fit()))
    assert restored.predict(["银行抽贷断贷"])[0] == "A6"


@pytest.fixture(scope="module")
def shipped() -> AreaModel:
    if not classify.DEFAULT_AREA_MODEL.exists():
        pytest.skip("shipped area model not built (run `make model`)")
    return load_area_model()


def test_shipped_model_labels_obvious_texts(shipped):
    frame = shipped.predict_frame([t for t, _ in OBVIOUS])
    expected = [a for _, a in OBVIOUS]
    wrong = [(t, a, p) for (t, a), p in zip(OBVIOUS, frame["label"], strict=True) if a != p]
    # one slip allowed: the point is "the shipped model works", not a benchmark
    assert len(wrong) <= 1, wrong
    assert (frame["label"] == pd.Series(expected)).sum() >= len(OBVIOUS) - 1
    assert shipped.meta.get("task") == "area"


def test_training_is_deterministic(small_seed):
    X, y = small_seed
    a = small_pipeline().fit(X, y).predict_proba(X[:50])
    b = small_pipeline().fit(X, y).predict_proba(X[:50])
    assert np.array_equal(a, b)


def test_trains_when_a_label_has_a_single_example():
    # calibration folds shrink to the rarest class; one example means uncalibrated margins
    X = ["停电三天了", "停电又来了", "供电不稳定", "发票开不出来", "电子税务局登录不了", "税务申报失败", "小区噪音"]
    y = ["A3", "A3", "A3", "A5", "A5", "A5", "Z"]
    model = AreaModel(build_area_pipeline(min_df=1).fit(X, y))
    frame = model.predict_frame(["又停电了", "发票问题"])
    assert frame["label"].tolist() == ["A3", "A5"]
    assert frame["confidence"].between(0, 1).all()
