"""Keywords: TF-IDF per text and per group, TextRank, sklearn contract, determinism."""

from __future__ import annotations

import pickle

import pytest
from sklearn.base import clone

from nlp.keywords import KeywordExtractor, jieba_idf

DOCS = [
    ["营业执照", "办理", "太慢", "窗口", "材料", "不全", "营业执照"],
    ["不动产权证", "半年", "没拿到", "交房即交证", "落实"],
    ["留抵退税", "到账", "电子税务局", "系统故障"],
    ["营业执照", "变更登记", "窗口", "排队", "小时"],
    ["窗口", "态度", "排队", "小时"],
]


def test_unfitted_extractor_uses_jieba_prior() -> None:
    ke = KeywordExtractor()
    assert not hasattr(ke, "idf_")
    idf, med = jieba_idf()
    assert len(idf) > 100_000 and med > 0
    assert ke.keywords(DOCS[0], k=2)[0] == "营业执照"  # repeated, and rare in general text


def test_fit_learns_idf_and_returns_self() -> None:
    ke = KeywordExtractor()
    assert ke.fit(DOCS) is ke
    assert ke.n_docs_ == 5
    # 窗口 is in 3 of 5 documents: lower IDF than 留抵退税 (1 of 5)
    assert ke.idf_["窗口"] < ke.idf_["留抵退税"]
    assert ke.default_idf_ == pytest.approx(sorted(ke.idf_.values())[len(ke.idf_) // 2], rel=0.5)
    # after fit, a corpus-wide word loses to a word specific to this text
    assert ke.keywords(DOCS[4], k=1) == ["态度"]


def test_stopwords_punctuation_numbers_and_short_words_are_never_keywords() -> None:
    ke = KeywordExtractor()
    tokens = ["的", "我们", "，", "2026", "12.5%", "办", "营商环境", "营商环境"]
    assert ke.keywords(tokens, k=10) == ["营商环境"]
    assert KeywordExtractor(stopwords=["营商环境"]).keywords(tokens, k=10) == ["我们"]
    assert ke.keywords([], k=3) == [] and ke.textrank([], k=3) == []


def test_group_keywords_prefer_words_many_members_share() -> None:
    ke = KeywordExtractor().fit(DOCS)
    group = [DOCS[0], DOCS[3], DOCS[4]]
    top = ke.group_keywords(group, k=2)
    assert top[0] in {"窗口", "营业执照"}
    # a word only one member repeats many times does not beat a word all members use
    noisy = [["窗口", "态度"], ["窗口", "排队"], ["窗口"] + ["打印机"] * 20]
    assert ke.group_keywords(noisy, k=1) == ["窗口"]


def test_textrank_ranks_the_hub_word_first_and_is_deterministic() -> None:
    ke = KeywordExtractor()
    tokens = ["窗口", "排队", "窗口", "态度", "窗口", "材料", "系统", "窗口"]
    assert ke.textrank(tokens, k=1) == ["窗口"]
    assert ke.textrank(tokens, k=4) == ke.textrank(list(tokens), k=4)


def test_ties_break_by_first_occurrence() -> None:
    ke = KeywordExtractor(stopwords=[]).fit([["甲乙", "丙丁", "戊己"]])
    assert ke.keywords(["戊己", "甲乙", "丙丁"], k=3) == ["戊己", "甲乙", "丙丁"]


def test_sklearn_contract() -> None:
    ke = KeywordExtractor(top_k=2)
    assert clone(ke).get_params()["top_k"] == 2
    fitted = ke.fit(DOCS)
    assert fitted.transform(DOCS[:2]) == [fitted.keywords(DOCS[0], 2), fitted.keywords(DOCS[1], 2)]
    again = pickle.loads(pickle.dumps(fitted))
    assert again.keywords(DOCS[2], 3) == fitted.keywords(DOCS[2], 3)


def test_stopwords_from_tokenizer_keeps_domain_words() -> None:
    from nlp.tokenize import get_tokenizer

    tok = get_tokenizer()
    ke = KeywordExtractor(stopwords_from=tok)
    tokens = tok.content_tokens(tok.lcut("推行一件事一次办，企业开办只进一扇门，一件事一次办真方便"))
    assert ke.keywords(tokens, k=1) == ["一件事一次办"]
