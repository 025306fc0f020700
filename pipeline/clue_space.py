"""Distributional word space for problem-clue grouping (问题线索归并的分布式语义空间).

Paraphrases of one problem rarely share words ('占线', '打不通', '无人接听'), but the words they use
keep similar company across many complaints. This module learns that from text we own — the
committed seed corpus (nlp/resources/seed/area_*.csv), the warehouse's feedback history and the month's
own candidates — so it needs no downloaded model and gets better as the warehouse fills:

* word vectors (词向量): positive pointwise mutual information (PPMI) of words that occur near each
  other (within ``window`` content words) or, with weight ``doc_weight``, in the same text; context
  distribution smoothing (α = 0.75); truncated SVD (``dim`` dimensions, vectors U·√S, L2-normalised).
  This is the count-based embedding of Levy, Goldberg & Dagan (2015): deterministic, seconds to fit;
* text vectors (文本向量): smooth-inverse-frequency (SIF) weighted mean of the word vectors, minus the
  corpus' first principal direction — what every complaint shares ('反映', '希望', '尽快') — after
  Arora, Liang & Ma (2017).

How :mod:`pipeline.clues` uses the vectors: within an indicator area, the cosine of two texts is
turned into a z-score against all pairs of that area (:func:`pair_stats`), so only pairs that are
unusually close *for that area* get extra similarity; the scale therefore does not depend on how
long or how formulaic a month's texts are.

Measured on the clue fixtures (tests/test_clues.py, 20 problems) as the ROC AUC of 'same problem'
over pairs in one area: this block 0.81 on problems inside and outside the concept lexicon alike,
the lexicon-driven similarity 0.99 inside and 0.64 outside it. Without the seed corpus the block
drops to 0.64, so more text (the warehouse history) is what makes it better.

Everything is a pure function of the given corpus (SVD with a fixed random state, vocabulary sorted),
so a rebuild of a month with the same inputs gives identical vectors.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import randomized_svd
from threadpoolctl import threadpool_limits

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SEED_DIR = PROJECT_ROOT / "nlp" / "resources" / "seed"


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """nlp.tokenize.Tokenizer with the areas' keywords, imported lazily (jieba's start-up)."""
    from nlp.tokenize import Tokenizer
    from pipeline.config import all_keywords

    return Tokenizer(user_words=all_keywords())


def tokenize_texts(texts: Sequence[str]) -> list[list[str]]:
    """Content tokens (实词) of raw texts, as the enrich step (pipeline/enrich.py) makes them."""
    tok = _tokenizer()
    return [tok.content_tokens(t) for t in tok.lcut_many([str(t) for t in texts])]


def as_token_lists(items: Iterable[Any]) -> list[list[str]]:
    """History items as token lists: a list/tuple/array is tokens; anything else is a raw text
    (tokenized here); None and NaN are empty."""
    out: list[list[str]] = []
    raw_pos, raw = [], []
    for d in items:
        if isinstance(d, (list, tuple, np.ndarray)):
            out.append([str(w) for w in d if isinstance(w, str) and w.strip()])
            continue
        out.append([])
        if d is None or (isinstance(d, float) and d != d):
            continue
        raw_pos.append(len(out) - 1)
        raw.append(str(d))
    for i, toks in zip(raw_pos, tokenize_texts(raw), strict=True):
        out[i] = toks
    return out


@lru_cache(maxsize=1)
def seed_tokens() -> tuple[tuple[str, ...], ...]:
    """The committed seed corpus's letters (种子语料, area_*.csv), tokenized once per process. Not the
    short questionnaire answers of remarks.csv: a handful of words each, they teach little
    co-occurrence and were measured to move the grouping (tests/test_clues.py P1 0.80 -> 0.75)."""
    texts: list[str] = []
    for path in sorted(SEED_DIR.glob("area_*.csv")):
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "text" in df.columns:
            texts.extend(t for t in df["text"].tolist() if t.strip())
    return tuple(tuple(t) for t in tokenize_texts(texts))


class WordSpace:
    """PPMI-SVD word vectors and SIF text vectors fitted on a corpus of token lists."""

    def __init__(self, dim: int = 150, min_df: int = 2, window: int = 2, doc_weight: float = 0.3,
                 alpha: float = 0.75, sif_a: float = 1e-3, max_vocab: int = 50_000, n_common: int = 1,
                 doc_span: int = 128):
        self.dim, self.min_df, self.window, self.doc_weight = dim, min_df, window, doc_weight
        self.doc_span = doc_span
        self.n_common = n_common
        self.alpha, self.sif_a, self.max_vocab = alpha, sif_a, max_vocab
        self.vocab: dict[str, int] = {}
        self.vectors = np.zeros((0, dim))
        self.prob = np.zeros(0)
        self.common = np.zeros((0, dim))

    def fit(self, docs: Sequence[Sequence[str]]) -> WordSpace:
        seqs = [list(d) for d in docs]
        df: dict[str, int] = {}
        for d in seqs:
            for w in set(d):
                df[w] = df.get(w, 0) + 1
        words = sorted((w for w, c in df.items() if c >= self.min_df), key=lambda w: (-df[w], w))[: self.max_vocab]
        self.vocab = {w: i for i, w in enumerate(words)}
        v = len(words)
        ids, doc, span = [], [], []
        n_spans = 0
        for i, d in enumerate(seqs):
            k = 0
            for w in d:
                j = self.vocab.get(w)
                if j is not None:
                    ids.append(j)
                    doc.append(i)
                    span.append(n_spans + k // self.doc_span)
                    k += 1
            n_spans += max(1, -(-k // self.doc_span))
        ids_a, doc_a = np.asarray(ids, dtype=np.int64), np.asarray(doc, dtype=np.int64)
        x = sp.csr_matrix((np.ones(len(ids_a)), (doc_a, ids_a)), shape=(len(seqs), v))
        x.data = np.ones_like(x.data)  # presence, not count
        counts = np.asarray(x.sum(axis=0)).ravel()
        self.prob = counts / max(float(counts.sum()), 1.0)
        k = min(self.dim, v - 1)
        if k < 2:
            self.vectors = np.zeros((v, self.dim))
            return self
        # Co-occurrence: in the same text (topic) and, more strongly, next to each other (usage).
        # 'The same text' is a span of at most doc_span known words: a work order or a questionnaire
        # answer is one span (all texts of the seed corpus and the sample months are under 90), a
        # 2,000-word letter is many — its first and last paragraphs are not one topic, and the
        # all-pairs product of such a letter would cost its length squared (a month of real
        # message-board letters took 40 s in the SVD of a matrix made dense by them).
        xs = sp.csr_matrix((np.ones(len(ids_a)), (np.asarray(span, dtype=np.int64), ids_a)), shape=(n_spans, v))
        xs.data = np.ones_like(xs.data)
        c = (xs.T @ xs).tocsr() * self.doc_weight
        for o in range(1, self.window + 1):
            ok = doc_a[o:] == doc_a[:-o]
            a, b = ids_a[:-o][ok], ids_a[o:][ok]
            wc = sp.csr_matrix((np.ones(len(a)), (a, b)), shape=(v, v))
            c = c + wc + wc.T
        c = sp.csr_matrix(c)
        c.setdiag(0)
        c.eliminate_zeros()
        total = float(c.sum())
        row = np.asarray(c.sum(axis=1)).ravel()
        ctx = np.power(row, self.alpha)
        ctx = ctx / max(float(ctx.sum()), 1e-12)
        coo = c.tocoo()
        with np.errstate(divide="ignore"):
            pmi = np.log(coo.data / total) - np.log(row[coo.row] / total) - np.log(ctx[coo.col])
        keep = pmi > 0
        ppmi = sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=(v, v))
        # One thread: the randomized SVD is slower with oversubscribed BLAS than on one core.
        with threadpool_limits(1):
            u, s, _ = randomized_svd(ppmi, n_components=k, n_iter=5, random_state=0)
        vec = u * np.sqrt(s)
        if k < self.dim:
            vec = np.hstack([vec, np.zeros((v, self.dim - k))])
        self.vectors = normalize(vec)
        self.common = np.zeros((0, self.dim))
        self.common = self._common_directions(self.embed(seqs))
        return self

    def _common_directions(self, e: np.ndarray) -> np.ndarray:
        e = e[np.abs(e).sum(axis=1) > 0]
        k = min(self.n_common, len(e) - 1, self.dim - 1)
        if k < 1:
            return np.zeros((0, self.dim))
        with threadpool_limits(1):
            _, _, vt = randomized_svd(e, n_components=k, n_iter=5, random_state=0)
        return normalize(vt)

    def embed(self, docs: Sequence[Sequence[str]]) -> np.ndarray:
        """SIF text vectors, rows L2-normalised; a text without a known word is the zero vector."""
        rows, cols = [], []
        for i, d in enumerate(docs):
            for j in {self.vocab[w] for w in d if w in self.vocab}:
                rows.append(i)
                cols.append(j)
        n, v = len(docs), len(self.vocab)
        m = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, v))
        sif = self.sif_a / (self.sif_a + self.prob) if v else np.zeros(0)
        m = sp.diags(1.0 / np.maximum(np.asarray(m.sum(axis=1)).ravel(), 1.0)) @ m @ sp.diags(sif)
        e = np.asarray(m @ self.vectors) if v else np.zeros((n, self.dim))
        if len(self.common):
            e = e - (e @ self.common.T) @ self.common
        return normalize(e)


_CACHE: OrderedDict[str, WordSpace] = OrderedDict()


def fit_word_space(month_tokens: Sequence[Sequence[str]], history_tokens: Sequence[Sequence[str]] = (),
                   *, dim: int = 150, window: int = 2, doc_weight: float = 0.3, min_df: int = 2,
                   use_seed: bool = True, n_common: int = 1) -> WordSpace:
    """A :class:`WordSpace` on seed corpus + history + the month's texts (cached by content)."""
    docs = ([list(d) for d in seed_tokens()] if use_seed else []) + [list(d) for d in history_tokens] + \
        [list(d) for d in month_tokens]
    h = hashlib.sha1(repr((dim, window, doc_weight, min_df, n_common)).encode())
    for d in docs:
        h.update("\x1f".join(d).encode("utf-8"))
        h.update(b"\x1e")
    key = h.hexdigest()
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    ws = WordSpace(dim=dim, window=window, doc_weight=doc_weight, min_df=min_df, n_common=n_common).fit(docs)
    _CACHE[key] = ws
    while len(_CACHE) > 4:
        _CACHE.popitem(last=False)
    return ws


def pair_stats(e: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the cosine over all pairs i ≠ j of the rows of ``e`` (unit or
    zero rows), in O(n·d²) without the n×n matrix: the background a pair is compared with."""
    n = e.shape[0]
    if n < 3:
        return 1.0, 1.0  # no background to compare with, so no pair is unusually close
    sq = np.einsum("ij,ij->i", e, e)
    s = e.sum(axis=0)
    total = float(s @ s - sq.sum())
    g = e.T @ e
    total2 = float((g * g).sum() - (sq * sq).sum())
    pairs = n * (n - 1)
    mean = total / pairs
    var = max(total2 / pairs - mean * mean, 0.0)
    return mean, max(var ** 0.5, 1e-6)
