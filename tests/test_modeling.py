"""train / evaluate / predict on labelled files (the functions behind `yingshang train|evaluate|predict`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import nlp.classify as classify
from nlp.modeling import (
    classification_metrics,
    evaluate,
    predict,
    read_labelled,
    read_table,
    train,
)

ROOT = Path(__file__).resolve().parents[1]
EVAL_KEYS = {"n", "accuracy", "macro_f1", "per_class", "confusion"}

# Hand-written sentiment rows (not from the seed corpus), repeated to allow 3-fold CV.
ROWS = [
    ("窗口服务热情周到，非常感谢", "pos"), ("审批很快，给你们点赞", "pos"), ("工作人员认真负责，表扬", "pos"),
    ("排队太久，没人管，很失望", "neg"), ("推诿扯皮，跑了五趟还没办", "neg"), ("乱收费，强烈投诉", "neg"),
    ("请问需要带什么材料", "neu"), ("咨询一下办理时间", "neu"), ("想了解一下申请流程", "neu"),
] * 2


def write_csv(path: Path, df: pd.DataFrame, encoding: str = "utf-8") -> Path:
    df.to_csv(path, index=False, encoding=encoding)
    return path


@pytest.fixture()
def sentiment_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "s.csv", pd.DataFrame(ROWS, columns=["text", "label"]))


def assert_eval_shape(res: dict, n: int) -> None:
    assert EVAL_KEYS <= set(res)
    assert res["n"] == n
    assert 0 <= res["accuracy"] <= 1 and 0 <= res["macro_f1"] <= 1
    labels = res["confusion"]["labels"]
    assert set(res["per_class"]) == set(labels)
    for stats in res["per_class"].values():
        assert set(stats) == {"precision", "recall", "f1", "support"}
        assert isinstance(stats["support"], int)
    matrix = res["confusion"]["matrix"]
    assert len(matrix) == len(labels) and all(len(r) == len(labels) for r in matrix)
    assert sum(map(sum, matrix)) == n
    json.dumps(res)  # plain JSON types only


def test_classification_metrics_exact_shape():
    res = classification_metrics(["A1", "Z", "Z", "A2"], ["A1", "Z", "A1", "Z"], z_label="Z")
    assert set(res) == EVAL_KEYS | {"business_vs_z"}
    assert res["confusion"] == {"labels": ["A1", "A2", "Z"], "matrix": [[1, 0, 0], [0, 0, 1], [1, 0, 1]]}
    assert res["accuracy"] == 0.5
    assert res["per_class"]["A1"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert set(res["business_vs_z"]) == {"precision", "recall", "f1"}
    assert set(classification_metrics(["neg"], ["neg"])) == EVAL_KEYS


def test_read_labelled_encodings_gz_xlsx_and_joined_columns(tmp_path: Path):
    df = pd.DataFrame({"留言主题": ["停电问题", "办证难"], "留言详情": ["厂里三天停电两次", "房产证五年没下来"],
                       "一级分类": ["A3", "A4"]})
    for name, enc in (("u.csv", "utf-8"), ("g.csv", "gbk")):
        texts, labels = read_labelled(write_csv(tmp_path / name, df, enc), "留言主题+留言详情", "一级分类")
        assert texts == ["停电问题。厂里三天停电两次", "办证难。房产证五年没下来"] and labels == ["A3", "A4"]
    df.to_csv(tmp_path / "z.csv.gz", index=False)
    assert read_labelled(tmp_path / "z.csv.gz", "留言主题", "一级分类")[0] == ["停电问题", "办证难"]
    df.to_excel(tmp_path / "x.xlsx", index=False)
    assert read_labelled(tmp_path / "x.xlsx", "留言详情", "一级分类")[1] == ["A3", "A4"]
    with pytest.raises(KeyError):
        read_labelled(tmp_path / "u.csv", "正文", "一级分类")
    # rows without a label are dropped; numeric labels come back as strings
    write_csv(tmp_path / "n.csv", pd.DataFrame({"text": ["好", "差", "中"], "label": ["1", "0", None]}))
    assert read_labelled(tmp_path / "n.csv") == (["好", "差"], ["1", "0"])


def test_evaluate_cross_validation_shape(sentiment_csv: Path):
    res = evaluate("sentiment", sentiment_csv, cv=3)
    assert_eval_shape(res, len(ROWS))
    assert res["confusion"]["labels"] == ["neg", "neu", "pos"]
    assert "business_vs_z" not in res
    with pytest.raises(ValueError):
        evaluate("sentiment", sentiment_csv, cv=10)  # fewer than 10 rows per label
    with pytest.raises(ValueError):
        evaluate("topic", sentiment_csv, cv=3)


def test_train_then_evaluate_and_predict_with_that_model(sentiment_csv: Path, tmp_path: Path):
    out = tmp_path / "m" / "sent.joblib"
    summary = train("sentiment", sentiment_csv, model_out=out)
    assert summary["n"] == len(ROWS) and out.exists()
    card = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["training_data"]["n"] == len(ROWS) and len(card["training_data"]["sha256"]) == 64
    res = evaluate("sentiment", sentiment_csv, model_path=out)
    assert_eval_shape(res, len(ROWS))
    assert res["accuracy"] >= 0.9  # training data
    pred_out = tmp_path / "p.csv"
    n = predict("sentiment", sentiment_csv, model_path=out, out=pred_out)
    got = read_table(pred_out)
    assert n == len(ROWS) == len(got)
    assert list(got.columns) == ["text", "label_input", "label", "confidence", "score"]
    assert (got["label"] == got["label_input"]).mean() >= 0.9
    assert got["confidence"].astype(float).between(0, 1).all()


def test_area_train_with_keywords_and_predict_label2(tmp_path: Path):
    seed = sorted((ROOT / "nlp" / "resources" / "seed").glob("area_*.csv"))
    if not seed:
        pytest.skip("seed corpus not present")
    df = pd.concat([pd.read_csv(f, dtype=str) for f in seed], ignore_index=True)
    df = df.groupby("label").head(15)[["text", "label"]].reset_index(drop=True)
    data = write_csv(tmp_path / "area.csv", df)
    kw = {"A3": ["停电", "供电"], "A5": ["发票", "电子税务局"], "Q9": ["不在数据里"]}
    out = tmp_path / "area.joblib"
    train("area", data, model_out=out, keywords=kw)
    model = classify.load_area_model(out)
    assert "lexicon" in dict(model.estimator.named_steps["features"].transformer_list)
    res = evaluate("area", data, model_path=out)
    assert_eval_shape(res, len(df))
    assert set(res["business_vs_z"]) == {"precision", "recall", "f1"}
    pred_out = tmp_path / "p.csv"
    predict("area", data, model_path=out, out=pred_out)
    got = read_table(pred_out)
    assert list(got.columns) == ["text", "label_input", "label", "label2", "confidence"]


def test_evaluate_shipped_area_model(tmp_path: Path):
    if not classify.DEFAULT_AREA_MODEL.exists():
        pytest.skip("shipped area model not built")
    df = pd.DataFrame({"text": ["电子税务局开不了发票", "小区门口的路灯坏了一个月"], "label": ["A5", "Z"]})
    res = evaluate("area", write_csv(tmp_path / "a.csv", df))
    assert_eval_shape(res, 2)
    assert "business_vs_z" in res
