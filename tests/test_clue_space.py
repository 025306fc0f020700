"""The word space of the clue grouping (pipeline/clue_space.py, 问题线索归并的分布式语义空间)."""

from __future__ import annotations

import numpy as np

from pipeline.clue_space import WordSpace


def _corpus(rng: np.random.Generator, n: int, length: tuple[int, int]) -> list[list[str]]:
    vocab = [f"w{i}" for i in range(60)]
    return [list(rng.choice(vocab, size=int(rng.integers(*length)))) for _ in range(n)]


def test_fit_is_deterministic():
    docs = _corpus(np.random.default_rng(0), 300, (5, 30))
    a, b = WordSpace(dim=20).fit(docs), WordSpace(dim=20).fit(docs)
    assert a.vocab == b.vocab
    assert np.array_equal(a.vectors, b.vectors)
    assert np.array_equal(a.embed(docs[:10]), b.embed(docs[:10]))


def test_texts_within_the_span_are_one_span():
    """Work orders and answers (all under 90 known words in the seed corpus and sample months) give the
    same space whatever the span above their length: the span only cuts long letters."""
    docs = _corpus(np.random.default_rng(1), 300, (5, 90))
    short = WordSpace(dim=20, doc_span=128).fit(docs)
    unlimited = WordSpace(dim=20, doc_span=10**9).fit(docs)
    assert np.allclose(short.vectors, unlimited.vectors)


def test_the_far_ends_of_a_long_letter_are_not_one_topic():
    """Two words that only ever meet at the opposite ends of long letters about two things share
    something when a whole letter counts as one context, and nothing when a context is a span of
    known words."""
    rng = np.random.default_rng(2)
    opening, closing = [f"a{i}" for i in range(100)], [f"b{i}" for i in range(100)]
    docs = []
    for _ in range(200):  # 甲 opens a letter about one thing, 乙 closes it after another
        docs.append(["甲", *rng.choice(opening, size=60), *rng.choice(closing, size=90), "乙"])
    docs += _corpus(rng, 200, (5, 20))  # ordinary short texts around them

    def cos(ws: WordSpace) -> float:
        a, b = ws.vectors[ws.vocab["甲"]], ws.vectors[ws.vocab["乙"]]
        return float(a @ b)

    whole = WordSpace(dim=30, doc_span=10**9).fit(docs)
    spans = WordSpace(dim=30, doc_span=64).fit(docs)
    assert cos(whole) > 0.1
    assert abs(cos(spans)) < 0.05
