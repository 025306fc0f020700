"""Keywords (关键词提取) from already tokenised texts: TF-IDF for one text or a group, and TextRank.

:class:`KeywordExtractor` follows scikit-learn's estimator contract: ``fit(token_lists)`` learns the
inverse document frequency (``idf_``, ``default_idf_``, ``n_docs_``) from a corpus and returns
``self``; parameters are only stored by ``__init__``. It never re-tokenises: it works on the token
lists of :class:`nlp.tokenize.Tokenizer` (usually its ``content_tokens``).

Before ``fit`` the extractor uses jieba's bundled IDF table (``jieba/analyse/idf.txt``, general
Chinese text) as a prior, so a freshly built extractor already gives sensible keywords; after ``fit``
only the corpus' own IDF is used. A word the IDF table has never seen gets ``default_idf_`` — the
median IDF, as jieba does: a never-seen token is as likely a typo as a rare term.

Which tokens can be keywords: not a stop word, not punctuation, not a pure number, and at least two
characters long (single characters such as 办, 慢 rarely name a topic; jieba's ``extract_tags`` uses
the same rule). Ties are broken deterministically: higher score, then earlier first occurrence, then
the word itself.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from statistics import median
from typing import Any

from sklearn.base import BaseEstimator

from nlp.tokenize import is_content_word, load_stopwords

__all__ = ["KeywordExtractor", "jieba_idf"]


@lru_cache(maxsize=1)
def jieba_idf() -> tuple[dict[str, float], float]:
    """jieba's bundled IDF table and its median (the prior used before :meth:`KeywordExtractor.fit`)."""
    import jieba.analyse

    path = Path(jieba.analyse.__file__).resolve().parent / "idf.txt"
    idf: dict[str, float] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 2:
                idf[parts[0]] = float(parts[1])
    return idf, median(idf.values())


class KeywordExtractor(BaseEstimator):
    """TF-IDF and TextRank keywords over token lists (关键词).

    Parameters
    ----------
    stopwords : words never returned as keywords; default: the project's merged stop-word list.
    stopwords_from : a :class:`~nlp.tokenize.Tokenizer` whose ``stopwords`` (the merged list minus
        its domain words) are used instead.
    min_len : shortest keyword, in characters (default 2).
    top_k : default number of keywords for :meth:`transform`.
    """

    def __init__(
        self,
        stopwords: Iterable[str] | None = None,
        stopwords_from: Any = None,
        min_len: int = 2,
        top_k: int = 5,
    ) -> None:
        self.stopwords = stopwords
        self.stopwords_from = stopwords_from
        self.min_len = min_len
        self.top_k = top_k

    # -- helpers ------------------------------------------------------------------------------------

    def _stop(self) -> frozenset[str]:
        cached = self.__dict__.get("_stop_cache")
        key = (id(self.stopwords), id(self.stopwords_from))
        if cached is not None and cached[0] == key:
            return cached[1]
        if self.stopwords_from is not None:
            stop = frozenset(self.stopwords_from.stopwords)
        elif self.stopwords is not None:
            stop = frozenset(self.stopwords)
        else:
            stop = load_stopwords()
        self.__dict__["_stop_cache"] = (key, stop)
        return stop

    def _candidates(self, tokens: Iterable[str]) -> list[str]:
        stop = self._stop()
        min_len = self.min_len
        return [t for t in tokens if len(t) >= min_len and t not in stop and is_content_word(t)]

    def _idf(self) -> tuple[dict[str, float], float]:
        if hasattr(self, "idf_"):
            return self.idf_, self.default_idf_
        return jieba_idf()

    # -- estimator ----------------------------------------------------------------------------------

    def fit(self, token_lists: Iterable[Sequence[str]], y: Any = None) -> KeywordExtractor:
        """Learn IDF from a corpus of token lists: ``idf = ln((1 + n) / (1 + df)) + 1`` (smoothed, as in
        scikit-learn's TfidfTransformer); ``default_idf_`` is the median IDF."""
        df: Counter[str] = Counter()
        n = 0
        for tokens in token_lists:
            n += 1
            df.update(set(self._candidates(tokens)))
        self.n_docs_ = n
        self.idf_ = {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}
        self.default_idf_ = median(self.idf_.values()) if self.idf_ else math.log(1 + n) + 1.0
        return self

    def transform(self, token_lists: Iterable[Sequence[str]]) -> list[list[str]]:
        """Top ``top_k`` TF-IDF keywords of each token list."""
        return [self.keywords(tokens, self.top_k) for tokens in token_lists]

    # -- keywords -----------------------------------------------------------------------------------

    @staticmethod
    def _rank(scores: dict[str, float], first: dict[str, int], k: int) -> list[str]:
        return sorted(scores, key=lambda w: (-scores[w], first[w], w))[: max(k, 0)]

    def keywords(self, tokens: Sequence[str], k: int = 5) -> list[str]:
        """The ``k`` content words of one text with the highest TF-IDF (TF = count / content words)."""
        words = self._candidates(tokens)
        if not words:
            return []
        idf, default = self._idf()
        counts = Counter(words)
        first: dict[str, int] = {}
        for i, w in enumerate(words):
            first.setdefault(w, i)
        total = len(words)
        scores = {w: c / total * idf.get(w, default) for w, c in counts.items()}
        return self._rank(scores, first, k)

    def group_keywords(self, token_lists: Sequence[Sequence[str]], k: int = 5) -> list[str]:
        """Keywords of a group of texts (e.g. a 问题线索 of similar complaints).

        score(w) = Σ_members TF_member(w) × IDF(w) × coverage(w), where coverage is the share of members
        that contain w: a word several writers use beats one a single long text repeats.
        """
        idf, default = self._idf()
        tf_sum: defaultdict[str, float] = defaultdict(float)
        members: Counter[str] = Counter()
        first: dict[str, int] = {}
        pos = 0
        n = 0
        for tokens in token_lists:
            n += 1
            words = self._candidates(tokens)
            if not words:
                continue
            counts = Counter(words)
            for w, c in counts.items():
                tf_sum[w] += c / len(words)
            members.update(counts.keys())
            for w in words:
                if w not in first:
                    first[w] = pos
                pos += 1
        if not tf_sum:
            return []
        scores = {w: tf_sum[w] * idf.get(w, default) * members[w] / n for w in tf_sum}
        return self._rank(scores, first, k)

    def textrank(self, tokens: Sequence[str], k: int = 5, window: int = 5, iterations: int = 30,
                 damping: float = 0.85) -> list[str]:
        """TextRank keywords of one text over its own tokens (no re-tokenising).

        Content words that co-occur within ``window`` positions (of the content-word sequence) are
        linked, edge weight = number of co-occurrences; weighted PageRank with ``damping``.
        """
        words = self._candidates(tokens)
        if not words:
            return []
        first: dict[str, int] = {}
        for i, w in enumerate(words):
            first.setdefault(w, i)
        weights: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        for i, w in enumerate(words):
            for v in words[i + 1 : i + window]:
                if v != w:
                    weights[w][v] += 1.0
                    weights[v][w] += 1.0
        nodes = sorted(first, key=first.__getitem__)  # fixed order: deterministic sums
        if len(nodes) == 1:
            return nodes[:k]
        out_sum = {w: sum(weights[w].values()) for w in nodes}
        score = dict.fromkeys(nodes, 1.0)
        for _ in range(iterations):
            score = {
                w: (1 - damping)
                + damping * sum(weights[v][w] / out_sum[v] * score[v] for v in sorted(weights[w], key=first.__getitem__))
                for w in nodes
            }
        return self._rank(score, first, k)
