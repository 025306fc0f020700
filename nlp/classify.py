"""Indicator-area classifier (指标领域分类): which of A1…A9 a piece of feedback is about, or Z (其他).

The model is one scikit-learn ``Pipeline`` (see :func:`build_area_pipeline`):

    tokens (jieba, or tokens passed in) ─┬─ word 1–2-gram TF-IDF
                                         ├─ char 1–3-gram TF-IDF
                                         ├─ lead sentence (首句/留言主题) word + char TF-IDF
                                         └─ keyword-lexicon counts per area (optional)
    ─▶ chi² top-k features ─▶ calibrated linear SVM + complement NB (soft vote)

``confidence`` is the calibrated probability of the top class; ``label2`` (次要领域) is the second
most probable area when it is not Z and has a non-trivial probability.

Weak supervision from the taxonomy's keyword lexicon (config/areas.yaml ``keywords``): the caller
passes the ``{code: [keyword, …]}`` dict (nlp never reads pipeline config) and
:func:`lexicon_examples` turns it into short low-weight training examples; without a trained model
file :func:`load_area_model` falls back to a pure lexicon classifier built from the same dict.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted

from nlp.features import (
    ChiSquareTopK,
    LeadTokens,
    LexiconCounts,
    SVMNBEnsemble,
    TextTokens,
    as_token_lists,
    char_tfidf,
    compact_estimator,
    join_tokens,
    topic_stop_words,
    word_tfidf,
)
from nlp.model_files import active_model_file

__all__ = [
    "DEFAULT_AREA_MODEL",
    "Z_LABEL",
    "AreaModel",
    "LexiconAreaClassifier",
    "build_area_pipeline",
    "lexicon_examples",
    "load_area_model",
]

MODEL_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_AREA_MODEL = MODEL_DIR / "area.joblib"
Z_LABEL = "Z"
AREA_FRAME_COLUMNS = ["label", "label2", "confidence", "label2_confidence"]


def build_area_pipeline(
    *,
    user_words: Sequence[str] = (),
    keywords: Mapping[str, Sequence[str]] | None = None,
    lexicon_weight: float = 1.0,
    stop_words: bool = True,
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (1, 3),
    min_df: int = 2,
    lead_chars: int = 40,
    lead_weight: float = 1.0,
    k_best: int | None = 3000,
    C: float = 1.0,
    nb_weight: float = 1.0,
    nb_alpha: float = 0.1,
    class_weight: str | dict | None = "balanced",
    calibration_cv: int = 3,
    backend: str = "auto",
    random_state: int = 0,
) -> Pipeline:
    """Build an unfitted area classifier ``Pipeline`` (works for any label set, not only A1…Z).

    Parameters map onto pipeline steps (all also reachable with ``set_params`` for grid search):
    ``user_words`` extra jieba words; ``keywords`` adds a lexicon-count block (weight
    ``lexicon_weight``); ``stop_words`` drops the project's stop words (except user words and
    keywords) from the word block; n-gram ranges and ``min_df`` of the TF-IDF blocks; ``lead_chars``/
    ``lead_weight`` for the lead-sentence block (0 weight drops it); ``k_best`` chi² features;
    ``C``/``class_weight`` of the SVM; ``nb_weight``/``nb_alpha`` of complement NB.
    Defaults were chosen by 5-fold CV (docs/quality.md).
    """
    keep = set(user_words) | {str(w) for v in (keywords or {}).values() for w in v}
    stop = topic_stop_words(keep) if stop_words else None
    blocks: list[tuple[str, Any]] = [
        ("word", word_tfidf(word_ngrams, min_df=min_df, stop_words=stop)),
        ("char", char_tfidf(char_ngrams, min_df=min_df)),
    ]
    weights: dict[str, float] = {"word": 1.0, "char": 1.0}
    if lead_weight > 0:
        lead = Pipeline(
            [
                ("lead", LeadTokens(n_chars=lead_chars)),
                ("tfidf", FeatureUnion([("word", word_tfidf((1, 1))), ("char", char_tfidf((1, 3)))])),
            ]
        )
        blocks.append(("lead", lead))
        weights["lead"] = lead_weight
    if keywords:
        blocks.append(("lexicon", LexiconCounts(keywords=dict(keywords))))
        weights["lexicon"] = lexicon_weight
    return Pipeline(
        [
            ("tokens", TextTokens(user_words=tuple(user_words), backend=backend)),
            ("features", FeatureUnion(blocks, transformer_weights=weights)),
            ("select", ChiSquareTopK(k=k_best)),
            (
                "clf",
                SVMNBEnsemble(
                    C=C,
                    class_weight=class_weight,
                    nb_alpha=nb_alpha,
                    nb_weight=nb_weight,
                    calibration_cv=calibration_cv,
                    random_state=random_state,
                ),
            ),
        ]
    )


# Short phrases a complaint or a question would wrap a keyword in; they give the keyword examples a
# little context so word bigrams and char n-grams around the keyword are learned too.
_KEYWORD_TEMPLATES = ("{kw}", "{kw}问题", "关于{kw}的问题", "咨询{kw}", "反映{kw}", "{kw}办理")


def lexicon_examples(
    keywords: Mapping[str, Sequence[str]],
    weight: float = 0.3,
    templates: Sequence[str] = _KEYWORD_TEMPLATES,
) -> tuple[list[str], list[str], list[float]]:
    """Weak-supervision examples from the keyword lexicon (关键词词典).

    Returns ``(texts, labels, sample_weights)``: every keyword of every area, alone and inside a few
    short phrase templates, each with ``weight`` (the real examples weigh 1). Areas without
    keywords (Z) contribute nothing.
    """
    texts: list[str] = []
    labels: list[str] = []
    for code, words in keywords.items():
        for kw in words or ():
            for tpl in templates:
                texts.append(tpl.format(kw=kw))
                labels.append(code)
    return texts, labels, [float(weight)] * len(texts)


class LexiconAreaClassifier(ClassifierMixin, BaseEstimator):
    """Keyword-count classifier used when no trained model file exists (the lexicon fallback).

    Each area scores the sum of ``len(keyword)`` over keyword occurrences (longer keywords are more
    specific); Z scores ``z_score``. Probabilities are the scores normalised, so a text without any
    keyword is Z with confidence 1 and a text with one short hit is uncertain. ``fit`` needs no data.
    """

    def __init__(
        self,
        keywords: Mapping[str, Sequence[str]] | None = None,
        z_label: str = Z_LABEL,
        z_score: float = 2.0,
    ) -> None:
        self.keywords = keywords
        self.z_label = z_label
        self.z_score = z_score

    def fit(self, X: Any = None, y: Any = None) -> LexiconAreaClassifier:
        kw = {str(k): tuple(v or ()) for k, v in (self.keywords or {}).items()}
        kw.pop(self.z_label, None)
        if not kw:
            raise ValueError("LexiconAreaClassifier needs a non-empty keyword dict")
        self.classes_ = np.asarray(sorted([*kw, self.z_label]), dtype=object)
        self.keywords_ = kw
        return self

    def predict_proba(self, X: Iterable[Any]) -> np.ndarray:
        check_is_fitted(self, "keywords_")
        index = {c: i for i, c in enumerate(self.classes_)}
        rows = []
        for item in X:
            text = join_tokens(item) if item is not None else ""
            s = np.zeros(len(self.classes_))
            for code, words in self.keywords_.items():
                s[index[code]] = sum(text.count(w) * len(w) for w in words)
            s[index[self.z_label]] = self.z_score
            rows.append(s / s.sum())
        return np.asarray(rows).reshape(-1, len(self.classes_))

    def predict(self, X: Iterable[Any]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@dataclass
class AreaModel:
    """A fitted area classifier plus what is needed to label a frame and document the model.

    ``estimator`` is any fitted classifier with ``predict_proba``/``classes_`` that accepts the
    shared ``X`` (texts or token lists), normally a :func:`build_area_pipeline` pipeline.
    ``prior_adjust`` multiplies class probabilities before renormalising ({"Z": 2.0} moves the
    training mix — 41% Z in the seed corpus — towards a traffic where most texts are Z).
    """

    estimator: Any
    version: str = "untrained"
    z_label: str = Z_LABEL
    label2_min_proba: float = 0.15
    prior_adjust: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.estimator.classes_)

    def predict_proba(self, X: Sequence[Any]) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        X = list(X)
        if not X:
            return np.zeros((0, len(self.classes_)))
        P = np.asarray(self.estimator.predict_proba(X), dtype=float)
        if self.prior_adjust:
            f = np.array([float(self.prior_adjust.get(str(c), 1.0)) for c in self.classes_])
            P = P * f
            P = P / np.clip(P.sum(axis=1, keepdims=True), 1e-12, None)
        return P

    def predict(self, X: Sequence[Any]) -> np.ndarray:
        return self.predict_frame(X)["label"].to_numpy()

    def predict_frame(self, X: Sequence[Any]) -> pd.DataFrame:
        """Label texts or token lists: ``label`` (主要领域), ``label2`` (次要领域, or None),
        ``confidence`` (probability of ``label``), ``label2_confidence`` (of ``label2``, or NaN)."""
        X = list(X)
        P = self.predict_proba(X)
        classes = self.classes_
        if len(X) == 0:
            return pd.DataFrame(
                {
                    "label": pd.Series(dtype=object),
                    "label2": pd.Series(dtype=object),
                    "confidence": pd.Series(dtype=float),
                    "label2_confidence": pd.Series(dtype=float),
                }
            )
        order = np.argsort(-P, axis=1, kind="stable")
        rows = np.arange(len(X))
        top = order[:, 0]
        second = order[:, 1] if P.shape[1] > 1 else order[:, 0]
        p1 = P[rows, top]
        p2 = P[rows, second]
        label = [str(classes[i]) for i in top]
        label2: list[str | None] = []
        conf2: list[float] = []
        for i, p in zip(second, p2, strict=True):
            lab = str(classes[i])
            if P.shape[1] > 1 and lab != self.z_label and p >= self.label2_min_proba:
                label2.append(lab)
                conf2.append(float(p))
            else:
                label2.append(None)
                conf2.append(float("nan"))
        return pd.DataFrame(
            {
                "label": pd.Series(label, dtype=object),
                "label2": pd.Series(label2, dtype=object),
                "confidence": np.clip(p1, 0.0, 1.0).astype(float),
                "label2_confidence": np.asarray(conf2, dtype=float),
            }
        )

    def save(self, path: str | Path) -> Path:
        """Write the model with joblib (compressed)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        compact_estimator(self.estimator)
        joblib.dump(self, path, compress=("xz", 3))
        return path


def load_area_model(
    path: str | Path | None = None,
    keywords: Mapping[str, Sequence[str]] | None = None,
) -> AreaModel:
    """Load the area model from ``path`` (default: ``area.joblib`` of ``YINGSHANG_MODEL_DIR`` when it holds
    one — where the retraining DAG promotes models — else the shipped ``nlp/models/area.joblib``).

    A file holding a bare fitted estimator is wrapped in :class:`AreaModel`. If no path is given
    and the shipped file is missing, returns the keyword-lexicon fallback built from ``keywords``
    (config/areas.yaml keywords, passed by the caller); an explicit path that does not exist, or no
    model and no keywords, raises ``FileNotFoundError``.
    """
    target = Path(path) if path is not None else active_model_file(DEFAULT_AREA_MODEL.name)
    if target.exists():
        obj = joblib.load(target)
        if isinstance(obj, AreaModel):
            return obj
        if isinstance(obj, dict) and "estimator" in obj:
            return AreaModel(**obj)
        classes = {str(c) for c in getattr(obj, "classes_", ())}
        if type(obj).__name__ == "SentimentModel" or getattr(obj, "meta", {}).get("task") == "sentiment" \
                or (classes and classes <= {"neg", "neu", "pos"}):
            # (a bare estimator is wrapped, but a model of the other task must not be: it would label
            # every text with neg/pos as an "area", silently — its card may not have been copied along)
            raise TypeError(f"{target} is a sentiment model, not an area model")
        return AreaModel(estimator=obj, version=f"file:{target.name}")
    if path is None and keywords:
        clf = LexiconAreaClassifier(keywords=keywords).fit()
        return AreaModel(
            estimator=clf,
            version="lexicon-fallback",
            meta={"built": _dt.date.today().isoformat(), "kind": "lexicon"},
        )
    raise FileNotFoundError(f"area model not found: {target}")


def tokens_for(X: Iterable[Any], user_words: Sequence[str] = ()) -> list[list[str]]:
    """Segment once, reuse for several models (convenience for callers without a tokenizer)."""
    return as_token_lists(X, tuple(user_words))
