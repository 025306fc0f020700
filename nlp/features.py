"""Shared scikit-learn text transformers for the area (指标领域) and sentiment (情感) models.

Every model in ``nlp`` takes the same input ``X``: a sequence whose items are either a ``str`` (raw or
normalised 留言/诉求 text) or a ``list[str]`` (tokens the pipeline's tokenizer already produced — the
nightly run segments each text once and hands the tokens to area, sentiment and keyword extraction).
:class:`TextTokens` turns both into token lists (it only segments the ``str`` items), and the
vectorisers below build word n-grams from the tokens and character n-grams from ``"".join(tokens)``
(jieba tokens concatenate back to the text, so char n-grams do not depend on the segmentation).

All classes follow the scikit-learn estimator contract (parameters only in ``__init__``, ``fit``
returns ``self``, learned attributes end in ``_``) so pipelines built from them clone, pickle,
cross-validate and grid-search like any other.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.feature_selection import chi2
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import LinearSVC
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "ChiSquareTopK",
    "compact_estimator",
    "LeadTokens",
    "LexiconCounts",
    "NBLinearClassifier",
    "SVMNBEnsemble",
    "TextTokens",
    "as_token_lists",
    "char_tfidf",
    "identity",
    "join_tokens",
    "token_list",
    "lcut",
    "topic_stop_words",
    "word_tfidf",
]

_SPACE = re.compile(r"\s+")


# --------------------------------------------------------------------------------------------------
# Tokenisation (分词)
# --------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _segmenter(user_words: tuple[str, ...], backend: str) -> Any:
    """Return an object with ``lcut(text)`` and ``lcut_many(texts)``.

    Prefers the project tokenizer (``nlp.tokenize``: jieba precise mode with the domain dictionary,
    the same segmentation the nightly run uses); falls back to rjieba/jieba directly so the models
    still work where that module cannot load. Cached: building a jieba dictionary costs ~1 s.
    """
    try:
        from nlp.tokenize import get_tokenizer

        return get_tokenizer(user_words, backend)
    except ImportError:
        return _FallbackSegmenter(user_words, backend)


class _FallbackSegmenter:
    """Plain rjieba (fast, Rust) or jieba segmentation with optional user words."""

    def __init__(self, user_words: Iterable[str] = (), backend: str = "auto") -> None:
        self._cut = None
        if backend in ("auto", "rjieba") and not user_words:
            try:
                import rjieba

                self._cut = rjieba.cut
            except ImportError:
                self._cut = None
        if self._cut is None:
            import jieba

            tk = jieba.Tokenizer()
            for w in user_words:
                tk.add_word(w)
            self._cut = tk.lcut

    def lcut(self, text: str) -> list[str]:
        return list(self._cut(text)) if text else []

    def lcut_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.lcut(t) for t in texts]


def _normalizer() -> Any:
    try:
        from nlp.text import normalize_many

        return normalize_many
    except ImportError:
        return lambda texts: [t.strip() for t in texts]


def lcut(text: str, user_words: Sequence[str] = (), backend: str = "auto") -> list[str]:
    """Segment one text (分词) with the project tokenizer, or jieba when that is unavailable."""
    return _segmenter(tuple(str(w) for w in user_words), backend).lcut(text)


def _clean_tokens(tokens: Iterable[str]) -> list[str]:
    # Whitespace tokens carry nothing and would create "word n-grams" across line breaks.
    return [t for t in tokens if t and not t.isspace()]


def _is_missing(item: Any) -> bool:
    if item is None:
        return True
    try:
        return bool(item != item)  # NaN, pandas.NA-like floats
    except (TypeError, ValueError):
        return False


def as_token_lists(
    X: Iterable[str | Sequence[str] | None],
    user_words: Sequence[str] = (),
    backend: str = "auto",
    normalize: bool = True,
) -> list[list[str]]:
    """Turn a mix of texts and token lists into token lists; only ``str`` items are segmented.

    ``str`` items are first normalised (``nlp.text.normalize``: 全角→半角, 繁→简, whitespace) so a
    model sees the same text whether the caller normalised it or not; token lists are taken as they
    are (the pipeline produced them from normalised text). Missing values give ``[]``.
    """
    items = list(X)
    out: list[list[str] | None] = [None] * len(items)
    idx: list[int] = []
    texts: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            idx.append(i)
            texts.append(item)
        elif _is_missing(item) or isinstance(item, float | int):
            out[i] = [] if _is_missing(item) else [str(item)]
        else:
            out[i] = _clean_tokens(str(t) for t in item)
    if texts:
        if normalize:
            texts = _normalizer()(texts)
        seg = _segmenter(tuple(str(w) for w in user_words), backend)
        for i, toks in zip(idx, seg.lcut_many(texts), strict=True):
            out[i] = _clean_tokens(toks)
    return [o if o is not None else [] for o in out]


def identity(x: Any) -> Any:
    """Module-level identity (a lambda would not pickle)."""
    return x


def token_list(x: Any) -> list[str]:
    """Tokenizer of the word vectorizer: input is already tokens; a bare ``str`` is one token.

    (sklearn runs each stop word through the tokenizer to check consistency; a stop word must map
    to itself, not to its characters.)
    """
    return [x] if isinstance(x, str) else list(x)


def join_tokens(tokens: Sequence[str] | str) -> str:
    """Tokens back to text for character n-grams (whitespace removed)."""
    if isinstance(tokens, str):
        return _SPACE.sub("", tokens)
    return "".join(tokens)


class TextTokens(BaseEstimator, TransformerMixin):
    """First pipeline step: ``str`` → jieba tokens; token lists pass through (cleaned).

    Parameters
    ----------
    user_words : extra dictionary words (e.g. the areas' keywords) for segmentation.
    backend : "auto", "jieba" or "rjieba", passed to the project tokenizer.
    normalize : normalise ``str`` items with ``nlp.text.normalize`` before segmenting.
    """

    def __init__(self, user_words: Sequence[str] = (), backend: str = "auto", normalize: bool = True) -> None:
        self.user_words = user_words
        self.backend = backend
        self.normalize = normalize

    def fit(self, X: Any, y: Any = None) -> TextTokens:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Iterable[Any]) -> list[list[str]]:
        return as_token_lists(X, tuple(self.user_words or ()), self.backend, self.normalize)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags


def topic_stop_words(keep: Iterable[str] = ()) -> list[str] | None:
    """The project's stop-word list (停用词表, ``nlp.tokenize.load_stopwords``) minus ``keep``.

    For topic features only: the lists contain negations (不, 没有) that sentiment needs. Sorted, so
    the pickled vectorizer is identical from run to run. None when the list is unavailable.
    """
    try:
        from nlp.tokenize import load_stopwords
    except ImportError:
        return None
    keep = {str(w) for w in keep}
    return sorted(w for w in load_stopwords() if w not in keep)


def word_tfidf(
    ngram_range: tuple[int, int] = (1, 2),
    min_df: int | float = 1,
    max_df: float = 1.0,
    max_features: int | None = None,
    sublinear_tf: bool = True,
    stop_words: Sequence[str] | None = None,
) -> TfidfVectorizer:
    """TF-IDF over word (词) n-grams of pre-tokenised input (token lists from :class:`TextTokens`).

    ``stop_words`` are dropped from the tokens before n-grams are formed.
    """
    return TfidfVectorizer(
        analyzer="word",
        tokenizer=token_list,
        preprocessor=identity,
        lowercase=False,
        token_pattern=None,
        ngram_range=ngram_range,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
        stop_words=list(stop_words) if stop_words else None,
        dtype=np.float32,
    )


def char_tfidf(
    ngram_range: tuple[int, int] = (1, 3),
    min_df: int | float = 1,
    max_df: float = 1.0,
    max_features: int | None = None,
    sublinear_tf: bool = True,
) -> TfidfVectorizer:
    """TF-IDF over character (字) n-grams of ``"".join(tokens)``."""
    return TfidfVectorizer(
        analyzer="char",
        preprocessor=join_tokens,
        lowercase=True,
        ngram_range=ngram_range,
        min_df=min_df,
        max_df=max_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
        dtype=np.float32,
    )


_SENTENCE_END = frozenset("。！？!?；;\n")


class LeadTokens(BaseEstimator, TransformerMixin):
    """Tokens of the lead sentence (首句/标题): up to the first 。！？ and at most ``n_chars`` chars.

    Petitions and hotline tickets state their subject first (a 留言主题 joined in front of the
    留言详情, or the caller's opening sentence), so a separate feature block on the lead sentence lets
    the classifier weight it above the narrative that follows.
    """

    def __init__(self, n_chars: int = 40) -> None:
        self.n_chars = n_chars

    def fit(self, X: Any, y: Any = None) -> LeadTokens:
        self.n_features_in_ = 1
        return self

    def transform(self, X: Iterable[Sequence[str]]) -> list[list[str]]:
        out = []
        for tokens in X:
            lead: list[str] = []
            n = 0
            for t in tokens:
                if t in _SENTENCE_END and n > 0:
                    break
                lead.append(t)
                n += len(t)
                if n >= self.n_chars:
                    break
            out.append(lead)
        return out


class ChiSquareTopK(BaseEstimator, TransformerMixin):
    """Keep the ``k`` features with the highest chi² against the labels (all if there are fewer).

    Unlike ``SelectKBest`` it accepts ``k`` larger than the vocabulary, which happens when a small
    file is trained from the command line.
    """

    def __init__(self, k: int | None = 3000) -> None:
        self.k = k

    def fit(self, X: Any, y: Any) -> ChiSquareTopK:
        n = X.shape[1]
        self.n_features_in_ = n
        if self.k is None or self.k >= n:
            self.support_ = np.arange(n)
        else:
            scores, _ = chi2(X, y)
            scores = np.nan_to_num(scores, nan=0.0)
            # stable tie-break on the column index keeps the selection deterministic
            self.support_ = np.sort(np.argsort(-scores, kind="stable")[: self.k])
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "support_")
        return X[:, self.support_]


# --------------------------------------------------------------------------------------------------
# Lexicon features (关键词词典)
# --------------------------------------------------------------------------------------------------


class LexiconCounts(BaseEstimator, TransformerMixin):
    """One feature per area: log(1 + weighted count of that area's keywords in the text).

    ``keywords`` maps an area code to its keywords (config/areas.yaml ``keywords``; the caller reads
    the config — nlp does not). Longer keywords weigh more (``len(word) / 2``) because a hit on
    「不动产登记」 says more than a hit on 「检查」. Areas without keywords (Z) get no column.
    """

    def __init__(self, keywords: Mapping[str, Sequence[str]] | None = None, scale: float = 1.0) -> None:
        self.keywords = keywords
        self.scale = scale

    def fit(self, X: Any, y: Any = None) -> LexiconCounts:
        kw = {k: tuple(v) for k, v in (self.keywords or {}).items() if v}
        self.areas_ = sorted(kw)
        self.keywords_ = [kw[a] for a in self.areas_]
        return self

    def transform(self, X: Iterable[Any]) -> sp.csr_matrix:
        check_is_fitted(self, "areas_")
        rows = []
        for item in X:
            text = join_tokens(item) if item is not None else ""
            rows.append(
                [sum(text.count(w) * len(w) / 2.0 for w in words) for words in self.keywords_]
            )
        arr = np.log1p(np.asarray(rows, dtype=np.float32).reshape(len(rows), len(self.areas_)))
        return sp.csr_matrix(arr * np.float32(self.scale))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "areas_")
        return np.asarray([f"lexicon_{a}" for a in self.areas_], dtype=object)


# --------------------------------------------------------------------------------------------------
# NB-weighted linear classifier (NBSVM, Wang & Manning 2012)
# --------------------------------------------------------------------------------------------------


class NBLinearClassifier(ClassifierMixin, BaseEstimator):
    """One-vs-rest linear model on naive-Bayes log-count-ratio scaled features (NBSVM / NB-LR).

    For each class c the features are multiplied by r_c = log((p_c/|p_c|) / (q_c/|q_c|)) where p_c,
    q_c are the smoothed feature sums inside/outside c, then a binary logistic regression (``base=
    "lr"``) or linear SVM (``"svm"``) is fitted. Binary problems fit one model. ``predict_proba``
    normalises the per-class sigmoid scores (SVM margins go through a logistic with ``svm_scale``).

    Parameters: ``C`` (inverse regularisation), ``alpha`` (NB smoothing), ``binarize`` (use presence
    instead of tf-idf weight when computing r), ``class_weight``, ``base``, ``max_iter``.
    """

    def __init__(
        self,
        C: float = 4.0,
        alpha: float = 1.0,
        binarize: bool = True,
        class_weight: str | dict | None = None,
        base: str = "lr",
        max_iter: int = 2000,
        svm_scale: float = 2.0,
    ) -> None:
        self.C = C
        self.alpha = alpha
        self.binarize = binarize
        self.class_weight = class_weight
        self.base = base
        self.max_iter = max_iter
        self.svm_scale = svm_scale

    def _base(self) -> BaseEstimator:
        if self.base == "svm":
            return LinearSVC(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, random_state=0)
        return LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, solver="liblinear"
        )

    def _ratio(self, Xb: sp.csr_matrix, mask: np.ndarray) -> np.ndarray:
        p = np.asarray(Xb[mask].sum(axis=0)).ravel() + self.alpha
        q = np.asarray(Xb[~mask].sum(axis=0)).ravel() + self.alpha
        return np.log((p / p.sum()) / (q / q.sum())).astype(np.float32)

    def fit(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> NBLinearClassifier:
        X = sp.csr_matrix(X)
        self._le = LabelEncoder()
        yi = self._le.fit_transform(np.asarray(y))
        self.classes_ = self._le.classes_
        if len(self.classes_) < 2:
            raise ValueError("NBLinearClassifier needs at least two classes")
        Xb = X.copy()
        if self.binarize:
            Xb.data = np.ones_like(Xb.data)
        if sample_weight is not None:
            Xb = sp.diags(np.asarray(sample_weight, dtype=np.float32)) @ Xb
        targets = [1] if len(self.classes_) == 2 else range(len(self.classes_))
        self.ratios_ = []
        self.estimators_ = []
        for c in targets:
            mask = yi == c
            r = self._ratio(Xb.tocsr(), mask)
            est = clone(self._base())
            est.fit(X.multiply(r).tocsr(), mask.astype(int), sample_weight=sample_weight)
            self.ratios_.append(r)
            self.estimators_.append(est)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        X = sp.csr_matrix(X)
        scores = np.column_stack(
            [est.decision_function(X.multiply(r).tocsr()) for r, est in zip(self.ratios_, self.estimators_, strict=True)]
        )
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict_proba(self, X: Any) -> np.ndarray:
        d = self.decision_function(X)
        scale = self.svm_scale if self.base == "svm" else 1.0
        s = 1.0 / (1.0 + np.exp(-scale * d))
        if s.ndim == 1:
            return np.column_stack([1 - s, s])
        s = np.clip(s, 1e-9, None)
        return s / s.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        d = self.decision_function(X)
        if d.ndim == 1:
            return self.classes_[(d > 0).astype(int)]
        return self.classes_[np.argmax(d, axis=1)]


# --------------------------------------------------------------------------------------------------
# Calibrated linear SVM + complement naive Bayes (small-data topic classifier)
# --------------------------------------------------------------------------------------------------


class SVMNBEnsemble(ClassifierMixin, BaseEstimator):
    """Soft vote of a probability-calibrated linear SVM and a complement naive Bayes.

    The SVM (Platt-scaled by ``CalibratedClassifierCV``) carries most of the accuracy; complement NB
    is strong on small, imbalanced topic sets (a few dozen letters per 领域) and the average of the two
    beat either alone in cross-validation (docs/quality.md). Calibration folds shrink to the size of
    the rarest class; with a class of one example the SVM margins go through a fixed logistic.

    Parameters: ``C`` and ``class_weight`` of the SVM, ``nb_alpha`` (NB smoothing), ``nb_weight``
    (weight of NB in the vote, 0 = SVM only), ``calibration_cv``, ``random_state``.
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: str | dict | None = "balanced",
        nb_alpha: float = 0.1,
        nb_weight: float = 1.0,
        calibration_cv: int = 3,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.nb_alpha = nb_alpha
        self.nb_weight = nb_weight
        self.calibration_cv = calibration_cv
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> SVMNBEnsemble:
        y = np.asarray(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least two classes to train, got {list(self.classes_)}")
        svm = LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)
        folds = int(min(self.calibration_cv, counts.min()))
        if folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            self.svm_ = CalibratedClassifierCV(svm, cv=cv, method="sigmoid")
        else:
            self.svm_ = svm
        self.svm_.fit(X, y, sample_weight=sample_weight)
        self.nb_ = None
        if self.nb_weight > 0:
            self.nb_ = ComplementNB(alpha=self.nb_alpha).fit(X, y, sample_weight=sample_weight)
        self.n_features_in_ = X.shape[1]
        return self

    def _svm_proba(self, X: Any) -> np.ndarray:
        if hasattr(self.svm_, "predict_proba"):
            return self.svm_.predict_proba(X)
        d = self.svm_.decision_function(X)
        if d.ndim == 1:
            s = 1.0 / (1.0 + np.exp(-2.0 * d))
            return np.column_stack([1 - s, s])
        e = np.exp(2.0 * (d - d.max(axis=1, keepdims=True)))
        return e / e.sum(axis=1, keepdims=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "svm_")
        p = self._svm_proba(X)
        if self.nb_ is not None:
            p = (p + self.nb_weight * self.nb_.predict_proba(X)) / (1.0 + self.nb_weight)
        return p

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def compact_estimator(est: Any) -> Any:
    """Store the fitted linear weights as float32 before saving (halves the model file).

    Walks pipelines, feature unions, calibrated classifiers and the ensembles above; predictions
    change only in the last float digits. Returns ``est`` (modified in place).
    """
    from sklearn.pipeline import FeatureUnion, Pipeline  # local: avoid import cycles at module load

    seen: set[int] = set()

    def walk(o: Any) -> None:
        if o is None or id(o) in seen:
            return
        seen.add(id(o))
        if isinstance(o, Pipeline):
            for _, step in o.steps:
                walk(step)
            return
        if isinstance(o, FeatureUnion):
            for _, t in o.transformer_list:
                walk(t)
            return
        for attr in ("coef_", "feature_log_prob_", "feature_count_", "feature_all_"):
            val = getattr(o, attr, None)
            if isinstance(val, np.ndarray) and val.dtype == np.float64:
                setattr(o, attr, val.astype(np.float32))
        for attr in ("svm_", "nb_", "estimator", "calibrated_classifiers_", "estimators_"):
            val = getattr(o, attr, None)
            if isinstance(val, list | tuple):
                for v in val:
                    walk(v)
            elif isinstance(val, BaseEstimator) or hasattr(val, "estimator"):
                walk(val)

    walk(est)
    return est
