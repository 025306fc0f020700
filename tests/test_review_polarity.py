"""benchmarks/review_polarity.py: auxiliary-data hygiene (same-source category dropped, target texts
de-duplicated), the extra feature blocks, and a full run on small synthetic corpora."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

_spec = importlib.util.spec_from_file_location("review_polarity", ROOT / "benchmarks" / "review_polarity.py")
rp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rp)


def frame(rows: list[tuple[str, str, str]], corpus: str) -> pd.DataFrame:
    return pd.DataFrame([{"text": t, "label": lab, "cat": c, "corpus": corpus} for t, lab, c in rows])


def test_auxiliary_rows_drop_same_source_category_and_target_duplicates():
    hotel = frame([("房间很干净", "1", ""), ("服务 太差 了", "0", "")], "hotel")
    waimai = frame([("送餐很快", "1", ""), ("服务太差了", "0", "")], "waimai")
    shop = frame([("酒店位置好", "1", "酒店"), ("衣服质量好", "1", "衣服"), ("房间很干净 ", "1", "书籍")], "shop")
    corpora = {"hotel": hotel, "waimai": waimai, "shop": shop}

    aux = rp.auxiliary_rows("hotel", hotel["text"].tolist(), corpora)
    # 酒店 dropped entirely; "服务太差了" and "房间很干净 " match hotel texts once whitespace is removed
    assert sorted(aux["text"]) == ["衣服质量好", "送餐很快"]

    aux = rp.auxiliary_rows("waimai", waimai["text"].tolist(), corpora)
    # for waimai the 酒店 reviews are ordinary auxiliary data; "服务 太差 了" duplicates a waimai text
    assert sorted(aux["text"]) == sorted(["房间很干净", "酒店位置好", "衣服质量好", "房间很干净 "])
    assert "waimai" not in set(aux["corpus"])


def test_negation_scope_and_after_contrast():
    toks = ["味道", "不", "是", "很", "好", "，", "没有", "辣"]
    assert rp.negation_scope(toks) == ["N_是", "N_很", "N_好", "N_辣"]
    assert rp.negation_scope(["不", "好", "，", "好"]) == ["N_好"]  # punctuation ends the scope
    assert rp.after_contrast(["好吃", "但是", "太", "慢", "不过", "便宜"]) == ["A_便宜"]
    assert rp.after_contrast(["好吃"]) == []


def test_ppmi_svd_vectors_and_doc_vectors():
    docs = [["好吃", "快", "满意"], ["难吃", "慢", "失望"]] * 20 + [["好吃", "满意"], ["慢", "失望"]] * 10
    vocab, vecs = rp.ppmi_svd_vectors(docs, dim=3)
    assert set(vocab) == {"好吃", "快", "满意", "难吃", "慢", "失望"}
    assert vecs.shape == (6, 3)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    idf = rp.unlabelled_idf(docs, vocab)
    D = rp.doc_vectors([["好吃", "满意"], ["失望"], ["未知词"]], vocab, vecs, idf)
    assert D.shape == (3, 3)
    assert np.allclose(D[2], 0.0)  # no known word → zero vector
    # co-occurring words end up closer than words of the other polarity
    v = {w: vecs[i] for w, i in vocab.items()}
    assert v["好吃"] @ v["满意"] > v["好吃"] @ v["失望"]


def _write_synthetic_shared(root: Path) -> None:
    pos = ["很好吃", "送得很快", "服务热情", "干净舒适", "非常满意", "物美价廉"]
    neg = ["不是很好吃", "送得太慢", "服务很差，不会再来", "房间很脏", "好看但是太贵", "又贵又差"]
    rng = np.random.default_rng(0)

    def rows(n: int, extra: str) -> pd.DataFrame:
        labels = np.tile(["1", "0"], n // 2)
        texts = [f"{rng.choice(pos if lab == '1' else neg)}{extra}{i}" for i, lab in enumerate(labels)]
        return pd.DataFrame({"label": labels, "review": texts})

    (root / "chnsenticorp_htl_all").mkdir(parents=True)
    (root / "waimai_10k").mkdir()
    (root / "online_shopping_10_cats").mkdir()
    rows(40, "酒店").to_csv(root / "chnsenticorp_htl_all" / "chnsenticorp_htl_all_dev.csv", index=False)
    rows(40, "外卖").to_csv(root / "waimai_10k" / "waimai_10k_dev.csv", index=False)
    shop = rows(60, "商品")
    shop.insert(0, "cat", ["酒店"] * 20 + ["衣服"] * 40)
    shop.to_csv(root / "online_shopping_10_cats" / "online_shopping_10_cats_dev.csv.gz", index=False)


@pytest.mark.parametrize("experiment", ["aux", "embed", "negation", "curve"])
def test_run_on_synthetic_corpora(tmp_path: Path, experiment: str):
    _write_synthetic_shared(tmp_path)
    res = rp.run(tmp_path, "hotel", experiment)
    assert res
    assert all(0.0 <= v <= 1.0 for v in res.values())
    if experiment != "curve":
        assert res["base"] >= 0.9  # the synthetic polarity words are easy
    if experiment == "aux":
        assert {"stacked aux-model margin", "+ aux, weight 0.3, feature augmentation"} <= set(res)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data not present")
def test_real_hotel_reviews_are_in_the_shopping_hotel_category_and_are_excluded():
    hotel = rp.load_corpus(SHARED, "hotel")
    shop = rp.load_corpus(SHARED, "shop")
    hotel_keys = {rp.text_key(t) for t in hotel["text"]}
    in_shop_hotel = sum(rp.text_key(t) in hotel_keys for t in shop.loc[shop["cat"] == "酒店", "text"])
    assert in_shop_hotel > 5000  # the leak the exclusion guards against
    aux = rp.auxiliary_rows("hotel", hotel["text"].tolist(), {"shop": shop})
    assert "酒店" not in set(aux["cat"])
    assert not any(rp.text_key(t) in hotel_keys for t in aux["text"])


def test_neural_run_on_synthetic_corpora(tmp_path: Path):
    pytest.importorskip("torch")  # optional: torch is not a project dependency
    _write_synthetic_shared(tmp_path)
    res = rp.run(tmp_path, "waimai", "neural")
    assert {"calibrated SVM (the evaluate default)", "BiGRU pre-trained on aux + fine-tuned",
            "mean of calibrated SVM and fine-tuned BiGRU", "BiGRU on the fold only"} <= set(res)
    assert all(0.0 <= v <= 1.0 for v in res.values())
