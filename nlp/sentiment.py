"""Sentiment of feedback (情感倾向): ``neg`` (投诉/不满), ``neu`` (咨询/中性建议), ``pos`` (表扬/感谢).

The model is one scikit-learn ``Pipeline`` (:func:`build_sentiment_pipeline`):

    tokens (jieba, or tokens passed in) ─┬─ word 1–2-gram TF-IDF
                                         └─ char 1–3-gram TF-IDF
    ─▶ linear SVM with Platt-calibrated probabilities

It is trained on any labels: the shipped government model on neg/neu/pos (seed corpus plus
review corpora as auxiliary neg/pos data, see scripts/build_models.py), a review model on 0/1.

:class:`SentimentModel` adds what a pipeline cannot see: the source's 诉求类型 (request type). A
投诉/举报 is very likely negative, a 咨询 neutral, a 表扬 positive; when the caller knows the request
type the class probabilities are multiplied by a learned likelihood ratio P(sentiment | 诉求类型) /
P(sentiment) (Bayes' rule, treating text and request type as independent evidence) and
renormalised. ``score`` = P(pos) − P(neg) ∈ [−1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import FeatureUnion, Pipeline

from nlp.features import SVMNBEnsemble, TextTokens, char_tfidf, compact_estimator, word_tfidf
from nlp.model_files import active_model_file

__all__ = [
    "DEFAULT_REQUEST_PRIOR",
    "DEFAULT_SENTIMENT_MODEL",
    "SentimentModel",
    "build_sentiment_pipeline",
    "canonical_request_type",
    "learn_request_prior",
    "load_sentiment_model",
]

MODEL_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_SENTIMENT_MODEL = MODEL_DIR / "sentiment.joblib"

POS_LABELS = frozenset({"pos", "positive", "1", "正面", "积极"})
NEG_LABELS = frozenset({"neg", "negative", "0", "-1", "负面", "消极"})

# 诉求类型 spellings seen in hotline, questionnaire and supervisor exports → one canonical key.
_REQUEST_ALIASES: dict[str, tuple[str, ...]] = {
    "投诉": ("投诉", "申诉", "不满"),
    "举报": ("举报", "检举", "揭发"),
    "求助": ("求助", "求援", "请求帮助"),
    "咨询": ("咨询", "查询", "询问", "问询"),
    "建议": ("建议", "意见", "献策"),
    "表扬": ("表扬", "感谢", "致谢", "点赞", "好评"),
}

# Used when the training data carried no request types: likelihood ratios in the direction of the
# design rule (投诉/举报 → neg, 咨询/建议 → neu, 表扬 → pos), deliberately mild.
DEFAULT_REQUEST_PRIOR: dict[str, dict[str, float]] = {
    "投诉": {"neg": 1.5, "neu": 0.6, "pos": 0.3},
    "举报": {"neg": 1.5, "neu": 0.6, "pos": 0.3},
    "求助": {"neg": 1.3, "neu": 0.9, "pos": 0.3},
    "咨询": {"neg": 0.5, "neu": 2.0, "pos": 0.5},
    "建议": {"neg": 0.8, "neu": 1.6, "pos": 0.6},
    "表扬": {"neg": 0.1, "neu": 0.3, "pos": 5.0},
}


def canonical_request_type(value: Any) -> str | None:
    """Map a raw 诉求类型 (e.g. "投诉举报", "咨询类", "感谢信") to 投诉/举报/求助/咨询/建议/表扬, or None."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    s = str(value).strip()
    if not s or s.lower() in {"nan", "none", "<na>"}:
        return None
    for key, aliases in _REQUEST_ALIASES.items():
        if any(a in s for a in aliases):
            return key
    return None


def build_sentiment_pipeline(
    *,
    user_words: Sequence[str] = (),
    word_ngrams: tuple[int, int] = (1, 2),
    char_ngrams: tuple[int, int] = (1, 3),
    min_df: int = 1,
    max_features: int | None = None,
    C: float = 0.3,
    class_weight: str | dict | None = None,
    calibration_cv: int = 3,
    backend: str = "auto",
    random_state: int = 0,
) -> Pipeline:
    """Build an unfitted sentiment ``Pipeline`` (any label set: neg/neu/pos, 0/1, …).

    Word 1–2-grams plus char 1–3-grams with sublinear TF-IDF and a linear SVM (``C``) whose
    margins are Platt-calibrated on ``calibration_cv`` folds. Chosen by 5-fold CV on the review
    corpora and the seed corpus (docs/quality.md). ``max_features`` caps each TF-IDF block (used to
    keep the shipped model small).
    """
    features = FeatureUnion(
        [
            ("word", word_tfidf(word_ngrams, min_df=min_df, max_features=max_features)),
            ("char", char_tfidf(char_ngrams, min_df=min_df, max_features=max_features)),
        ]
    )
    return Pipeline(
        [
            ("tokens", TextTokens(user_words=tuple(user_words), backend=backend)),
            ("features", features),
            (
                "clf",
                SVMNBEnsemble(
                    C=C,
                    class_weight=class_weight,
                    nb_weight=0.0,
                    calibration_cv=calibration_cv,
                    random_state=random_state,
                ),
            ),
        ]
    )


def learn_request_prior(
    sentiments: Sequence[Any], request_types: Sequence[Any], alpha: float = 1.0
) -> dict[str, dict[str, float]]:
    """Likelihood ratios P(sentiment | 诉求类型) / P(sentiment) from labelled data (add-``alpha``).

    Request types that do not map to a canonical key are ignored.
    """
    df = pd.DataFrame({"s": [str(s) for s in sentiments], "r": [canonical_request_type(r) for r in request_types]})
    df = df.dropna(subset=["r"])
    if df.empty:
        return {}
    labels = sorted(df["s"].unique())
    base = df["s"].value_counts()
    base = (base + alpha) / (base.sum() + alpha * len(labels))
    out: dict[str, dict[str, float]] = {}
    for rt, grp in df.groupby("r"):
        counts = grp["s"].value_counts()
        cond = {s: (counts.get(s, 0) + alpha) / (len(grp) + alpha * len(labels)) for s in labels}
        out[str(rt)] = {s: float(cond[s] / base[s]) for s in labels}
    return out


@dataclass
class SentimentModel:
    """A fitted sentiment classifier plus the request-type prior and model metadata.

    ``request_prior`` maps a canonical 诉求类型 to per-label likelihood ratios; ``prior_strength``
    is the exponent applied to them (0 = ignore request types).
    """

    estimator: Any
    version: str = "untrained"
    request_prior: dict[str, dict[str, float]] = field(default_factory=dict)
    prior_strength: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.estimator.classes_)

    def predict_proba(self, X: Sequence[Any], request_types: Sequence[Any] | None = None) -> np.ndarray:
        """Class probabilities (``classes_`` order), adjusted by the request type where given."""
        X = list(X)
        if not X:
            return np.zeros((0, len(self.classes_)))
        P = np.asarray(self.estimator.predict_proba(X), dtype=float)
        if request_types is None or not self.request_prior or self.prior_strength == 0:
            return P
        request_types = list(request_types)
        if len(request_types) != len(X):
            raise ValueError(f"request_types has {len(request_types)} items for {len(X)} texts")
        labels = [str(c) for c in self.classes_]
        # Row by row this is q = P[i] * f(type); P[i] = q / q.sum() if q.sum() > 0. Done for all rows
        # at once with the same element-wise arithmetic (each row's sum still adds its own few values
        # left to right), so the probabilities are bit-for-bit those of the row loop.
        factors: dict[Any, np.ndarray | None] = {}
        rows: list[int] = []
        picked: list[np.ndarray] = []
        for i, rt in enumerate(request_types):
            try:
                f = factors[rt]
            except (KeyError, TypeError):  # (TypeError: an unhashable request type)
                ratios = self.request_prior.get(canonical_request_type(rt) or "")
                f = np.array([ratios.get(lab, 1.0) for lab in labels]) ** self.prior_strength if ratios else None
                try:
                    factors[rt] = f
                except TypeError:
                    pass
            if f is not None:
                rows.append(i)
                picked.append(f)
        if rows:
            at = np.asarray(rows, dtype=np.intp)
            Q = P[at] * np.vstack(picked)
            s = Q.sum(axis=1)
            ok = s > 0
            P[at[ok]] = Q[ok] / s[ok][:, None]
        return P

    def predict(self, X: Sequence[Any], request_types: Sequence[Any] | None = None) -> np.ndarray:
        return self.predict_frame(X, request_types)["label"].to_numpy()

    def predict_frame(self, X: Sequence[Any], request_types: Sequence[Any] | None = None) -> pd.DataFrame:
        """``label``, ``confidence`` (probability of ``label``) and ``score`` = P(pos) − P(neg).

        ``request_types``: the source's 诉求类型 per text (None / missing = unknown).
        """
        X = list(X)
        if not X:
            return pd.DataFrame(
                {"label": pd.Series(dtype=object), "confidence": pd.Series(dtype=float),
                 "score": pd.Series(dtype=float)}
            )
        P = self.predict_proba(X, request_types)
        classes = self.classes_
        top = P.argmax(axis=1)
        names = [str(c).strip().lower() for c in classes]
        pos = [i for i, n in enumerate(names) if n in POS_LABELS]
        neg = [i for i, n in enumerate(names) if n in NEG_LABELS]
        score = P[:, pos].sum(axis=1) - P[:, neg].sum(axis=1)
        return pd.DataFrame(
            {
                "label": pd.Series([classes[i].item() if hasattr(classes[i], "item") else classes[i] for i in top],
                                   dtype=object),
                "confidence": np.clip(P[np.arange(len(X)), top], 0.0, 1.0),
                "score": np.clip(score, -1.0, 1.0),
            }
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        compact_estimator(self.estimator)
        joblib.dump(self, path, compress=("xz", 3))
        return path


def load_sentiment_model(path: str | Path | None = None) -> SentimentModel:
    """Load the sentiment model from ``path`` (default: ``sentiment.joblib`` of ``YINGSHANG_MODEL_DIR`` when it
    holds one, else the shipped ``nlp/models/sentiment.joblib``).

    A file holding a bare fitted estimator is wrapped in :class:`SentimentModel` with the default
    request-type prior. Raises ``FileNotFoundError`` when the file is missing.
    """
    target = Path(path) if path is not None else active_model_file(DEFAULT_SENTIMENT_MODEL.name)
    if not target.exists():
        raise FileNotFoundError(f"sentiment model not found: {target}")
    obj = joblib.load(target)
    if isinstance(obj, SentimentModel):
        return obj
    if isinstance(obj, dict) and "estimator" in obj:
        return SentimentModel(**obj)
    if type(obj).__name__ == "AreaModel" or getattr(obj, "meta", {}).get("task") == "area":
        raise TypeError(f"{target} is an area model, not a sentiment model")  # (see load_area_model)
    return SentimentModel(estimator=obj, version=f"file:{target.name}", request_prior=dict(DEFAULT_REQUEST_PRIOR))
