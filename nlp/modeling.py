"""Train, evaluate and apply the area (指标领域) and sentiment (情感) models on labelled files.

These functions back ``yingshang train / evaluate / predict`` (see shared/design/cli.md); the CLI only
parses flags and prints. Files are CSV (UTF-8 or GBK/GB18030, optionally ``.csv.gz``) or Excel
(``.xlsx``). ``text_col`` may name several columns joined with ``+`` — ``"留言主题+留言详情"`` gives
「主题。详情」 — so a message-board export is usable without preprocessing.

Everything is deterministic: fixed ``random_state`` in the folds and the models.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import gzip
import hashlib
import io
import json
import logging
import re
import unicodedata
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import clone
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.model_selection import StratifiedKFold

from nlp.classify import AreaModel, build_area_pipeline, lexicon_examples, load_area_model
from nlp.features import as_token_lists
from nlp.pii import mask_pii
from nlp.sentiment import (
    DEFAULT_REQUEST_PRIOR,
    SentimentModel,
    build_sentiment_pipeline,
    learn_request_prior,
    load_sentiment_model,
)

log = logging.getLogger(__name__)

__all__ = [
    "TASKS",
    "classification_metrics",
    "evaluate",
    "file_sha256",
    "predict",
    "read_labelled",
    "read_table",
    "train",
    "train_model",
]

TASKS = ("area", "sentiment")
TEXT_JOINER = "。"
RANDOM_STATE = 0
MODEL_FORMAT_VERSION = 1


# --------------------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------------------


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (UTF-8 with or without BOM, else GB18030/GBK, UTF-16 with BOM; comma, tab or ';';
    ``.gz`` ok) or an Excel sheet as strings."""
    df = _read_table(Path(path))
    df.attrs["path"] = str(path)
    return df


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    name = path.name.lower()
    # keep_default_na=False: a text 'N/A', 'NULL' or 'None' is a text (it came out of predict as an
    # empty cell); empty cells are still empty strings.
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        sheets = pd.ExcelFile(path).sheet_names
        if len(sheets) > 1:
            log.warning("%s: only the first sheet (%s) is read, %d more ignored", path.name, sheets[0], len(sheets) - 1)
        return _no_duplicate_columns(pd.read_excel(path, dtype=str, keep_default_na=False), path)
    data = path.read_bytes()
    if name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path.name}: not a readable gzip file ({exc})") from None
    text, enc = _decode_text(data, path)
    sep = _sniff_separator(text, tab_first=name.endswith((".tsv", ".tsv.gz")) or enc == "utf-16")
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    df.attrs["raw_header"] = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    return _no_duplicate_columns(df, path)


def _decode_text(data: bytes, path: Path) -> tuple[str, str]:
    """The file's text and its encoding: UTF-16 by its BOM, else strict UTF-8, else strict GB18030 (a
    GBK export, with or without a UTF-8 BOM some tool put in front of it)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path.name}: starts as UTF-16 but does not decode as UTF-16 ({exc.reason} at byte "
                             f"{exc.start}); save it as CSV UTF-8") from None
    if b"\x00" in data[:65536]:
        raise ValueError(f"{path.name}: not a text table (it contains NUL bytes: UTF-16 without a byte-order mark, "
                         "or a binary file); save it as CSV UTF-8")
    body = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    for enc in ("utf-8", "gb18030"):
        try:
            return body.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path.name}: the text is neither UTF-8 nor GB18030/GBK; save it as CSV UTF-8")


def _sniff_separator(text: str, *, tab_first: bool = False) -> str:
    """The header line's separator: a tab when it has tabs and no commas (Excel's 'Unicode text', a .tsv),
    ';' likewise (a European-locale CSV), else ','."""
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if "\t" in first and ("," not in first or tab_first):
        return "\t"
    if ";" in first and "," not in first:
        return ";"
    return ","


def _no_duplicate_columns(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Note the header's repeated names (pandas renames the second 'text' to 'text.1', so 'Q1.1' in the
    file and a renamed copy look alike: the header is read again as it is) in ``df.attrs``; a command
    refuses them when it uses such a column (:func:`_check_columns_used`)."""
    if path.name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raw = pd.read_excel(path, dtype=str, header=None, nrows=1, keep_default_na=False)
        names = [str(v).strip() for v in raw.iloc[0].tolist()] if len(raw) else []
    else:
        names = [str(v).strip() for v in df.attrs.get("raw_header", [])]
    df.attrs["duplicate_columns"] = sorted({n for n in names if n and names.count(n) > 1})
    return df


def _check_columns_used(df: pd.DataFrame, used: Sequence[str], path: str | Path) -> None:
    """Refuse using a column whose name the header repeats: the first copy would be used silently
    (an empty first 'text' labelled every row from nothing). Unused repeats (two 备注) are fine."""
    bad = [c for c in used if c in df.attrs.get("duplicate_columns", ())]
    if bad:
        raise ValueError(f"{Path(path).name}: column {', '.join(repr(c) for c in bad)} appears more than once in "
                         "the header; rename or remove the copies")


def _text_series(df: pd.DataFrame, text_col: str) -> pd.Series:
    parts = [c.strip() for c in text_col.split("+")] if text_col not in df.columns else [text_col]
    _check_columns_used(df, parts, df.attrs.get("path", "file"))
    if text_col in df.columns:
        return df[text_col].fillna("").astype(str)
    missing = [c for c in parts if c not in df.columns]
    if len(parts) < 2 or missing:
        raise KeyError(f"text column {text_col!r} not found; columns are {list(df.columns)}")
    cols = [df[c].fillna("").astype(str).str.strip() for c in parts]

    def join(row: Sequence[str]) -> str:
        return TEXT_JOINER.join(p for p in row if p)

    return pd.Series([join(r) for r in zip(*cols, strict=True)], index=df.index, dtype=object)


def read_labelled(
    path: str | Path, text_col: str = "text", label_col: str = "label"
) -> tuple[list[str], list[str]]:
    """Texts and labels of a labelled CSV/XLSX (rows without a label are dropped).

    ``text_col`` may be ``"A+B"`` to join columns A and B with 「。」. Labels are returned as
    stripped strings (``0``/``1`` stay ``"0"``/``"1"``).
    """
    df = read_table(path)
    if label_col not in df.columns:
        raise KeyError(f"label column {label_col!r} not found; columns are {list(df.columns)}")
    _check_columns_used(df, [label_col], path)
    texts = _text_series(df, text_col)
    labels = df[label_col].astype("string").str.strip()
    has_label = labels.notna() & (labels != "")
    keep = has_label & (texts.str.strip() != "")  # (a blank text teaches nothing)
    if int((has_label & ~keep).sum()):
        log.warning("%s: %d labelled row(s) without text skipped", Path(path).name, int((has_label & ~keep).sum()))
    return texts[keep].tolist(), [str(v) for v in labels[keep].tolist()]


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# Metrics (the evaluate --json shape)
# --------------------------------------------------------------------------------------------------


def _r(x: float) -> float:
    return round(float(x), 4)


def classification_metrics(
    y_true: Sequence[Any], y_pred: Sequence[Any], z_label: str | None = None
) -> dict[str, Any]:
    """``{"n", "accuracy", "macro_f1", "per_class", "confusion"}`` as in cli.md's evaluate --json.

    Labels are the union of true and predicted labels, sorted. With ``z_label`` (area task, when Z
    occurs) the extra key ``business_vs_z`` scores "any of A1…A9" against Z as a binary task.
    """
    yt = np.asarray([str(v) for v in y_true], dtype=object)
    yp = np.asarray([str(v) for v in y_pred], dtype=object)
    labels = sorted(set(yt.tolist()) | set(yp.tolist()))
    with warnings.catch_warnings():
        # "A single label was found": harmless here, the labels are passed explicitly
        warnings.simplefilter("ignore", UserWarning)
        return _metrics(yt, yp, labels, z_label)


def _metrics(yt: np.ndarray, yp: np.ndarray, labels: list[str], z_label: str | None) -> dict[str, Any]:
    p, r, f, s = precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
    out: dict[str, Any] = {
        "n": len(yt),
        "accuracy": _r(accuracy_score(yt, yp)) if len(yt) else 0.0,
        "macro_f1": _r(f1_score(yt, yp, labels=labels, average="macro", zero_division=0)) if len(yt) else 0.0,
        "per_class": {
            lab: {"precision": _r(p[i]), "recall": _r(r[i]), "f1": _r(f[i]), "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(yt, yp, labels=labels).astype(int).tolist() if len(yt) else [],
        },
    }
    if z_label is not None and z_label in labels:
        bt, bp = yt != z_label, yp != z_label
        bp_, br_, bf_, _ = precision_recall_fscore_support(bt, bp, average="binary", zero_division=0)
        out["business_vs_z"] = {"precision": _r(bp_), "recall": _r(br_), "f1": _r(bf_)}
    return out


# --------------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------------


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")


def _area_kw(labels: Sequence[str], keywords: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """The keyword lexicon restricted to labels that occur in the data (else unused)."""
    if not keywords:
        return {}
    present = set(labels)
    kw = {str(k): [str(w) for w in (v or ())] for k, v in keywords.items() if str(k) in present}
    return {k: v for k, v in kw.items() if v}


def _user_words(keywords: Mapping[str, Sequence[str]] | None) -> list[str]:
    return sorted({str(w) for v in (keywords or {}).values() for w in (v or ())})


def area_estimator(
    labels: Sequence[str], keywords: Mapping[str, Sequence[str]] | None = None, **params: Any
) -> tuple[Any, dict[str, list[str]]]:
    """The area pipeline to train on these labels: with the lexicon block when the labels are
    taxonomy codes that have keywords (else the plain pipeline). Returns (pipeline, used keywords)."""
    kw = _area_kw(labels, keywords)
    if kw:
        params.setdefault("keywords", kw)
        params.setdefault("user_words", _user_words(kw))
    return build_area_pipeline(**params), kw


def train_model(
    task: str,
    texts: Sequence[Any],
    labels: Sequence[str],
    *,
    keywords: Mapping[str, Sequence[str]] | None = None,
    lexicon_weight: float = 0.3,
    request_types: Sequence[Any] | None = None,
    extra: tuple[Sequence[Any], Sequence[str], Sequence[float]] | None = None,
    version: str | None = None,
    params: Mapping[str, Any] | None = None,
) -> AreaModel | SentimentModel:
    """Fit a model object in memory (no files). ``extra`` = additional (texts, labels, weights),
    e.g. review corpora for the sentiment model; area models with keywords also get the lexicon's
    weak-supervision examples (weight ``lexicon_weight``; 0 disables them)."""
    _check_task(task)
    X = list(texts)
    y = [str(v) for v in labels]
    w = [1.0] * len(y)
    version = version or f"{task}-{_dt.date.today().isoformat()}"
    if task == "area":
        est, kw = area_estimator(y, keywords, **dict(params or {}))
        if kw and lexicon_weight > 0:
            kt, kl, kwt = lexicon_examples(kw, weight=lexicon_weight)
            X, y, w = X + kt, y + kl, w + kwt
    else:
        est = build_sentiment_pipeline(**dict(params or {}))
    if extra is not None:
        et, el, ew = extra
        X += list(et)
        y += [str(v) for v in el]
        w += [float(v) for v in ew]
    est.fit(X, y, clf__sample_weight=np.asarray(w, dtype=float))
    if task == "area":
        return AreaModel(estimator=est, version=version)
    prior = learn_request_prior(labels, request_types) if request_types is not None else {}
    if not prior and set(str(c) for c in est.classes_) >= {"neg", "neu", "pos"}:
        prior = dict(DEFAULT_REQUEST_PRIOR)
    return SentimentModel(estimator=est, version=version, request_prior=prior)


def train(
    task: str,
    path: str | Path,
    text_col: str = "text",
    label_col: str = "label",
    model_out: str | Path = "model.joblib",
    *,
    keywords: Mapping[str, Sequence[str]] | None = None,
    taxonomy: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Train a fresh model on a labelled file and write it (joblib) plus a JSON model card.

    Area: pass the taxonomy's ``keywords`` ({code: [keyword, …]}, from config/areas.yaml) to add the
    lexicon block and weak-supervision examples when the file's labels are taxonomy codes.
    Returns a summary: task, n, label counts, model path and size, card path.
    """
    _check_task(task)
    model_out = Path(model_out)
    _check_model_out(model_out, Path(path))
    texts, labels = read_labelled(path, text_col, label_col)
    labels = normalise_labels(task, labels, taxonomy)
    if len(set(labels)) < 2:
        raise ValueError(f"need at least two labels to train, found {sorted(set(labels))}")
    if task == "sentiment" and "neg" not in labels:
        # The model would run, but no feedback it labels would ever be 'neg': the clue list
        # (selection.negative_labels in config/clues.yaml) would get no negative feedback from it.
        log.warning("no label of %s is 'neg' (or Negative, 负面, 消极): the monthly clue list selects "
                    "feedback labelled neg (selection.negative_labels in config/clues.yaml); labels found: %s",
                    Path(path).name, ", ".join(sorted(set(labels))[:10]))
    texts = [mask_pii(t) for t in texts]  # a model file is copied around: no phone number in its vocabulary
    model = train_model(task, texts, labels, keywords=keywords)
    counts = pd.Series(labels).value_counts().sort_index()
    model.meta.update(
        {
            "task": task,
            "trained": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "training_data": {"path": str(path), "sha256": file_sha256(path), "n": len(labels)},
            "labels": {str(k): int(v) for k, v in counts.items()},
            "sklearn": sklearn.__version__,
        }
    )
    model.save(model_out)
    card = write_model_card(model_out, model.meta | {"version": model.version})
    return {
        "task": task,
        "n": len(labels),
        "labels": {str(k): int(v) for k, v in counts.items()},
        "model_out": str(model_out),
        "size_bytes": model_out.stat().st_size,
        "card": str(card),
    }


def _check_model_out(model_out: Path, data: Path) -> None:
    """Refuse a --model-out that would destroy something: the card is written as <model>.json beside
    the model, so a model named *.json was overwritten by its own card, and any other X.json there (an
    earlier `evaluate --json > X.json`) silently replaced; a model written over its training file."""
    if model_out.suffix.lower() == ".json":
        raise ValueError(f"--model-out {model_out}: a model file must not end in .json (its card is written "
                         "beside it as <name>.json); use e.g. .joblib")
    if model_out.exists() and data.exists() and (model_out.resolve() == data.resolve()
                                                 or model_out.stat().st_ino == data.stat().st_ino):
        raise ValueError(f"--model-out {model_out} is the training data file")
    card = model_out.with_suffix(".json")
    if model_out.exists() and not model_out.is_dir() and not _is_our_card(card, model_out):
        # Only a model this command wrote (its card beside it names it) is replaced: any other file at
        # that path (a data file, a model of someone else) would be lost.
        raise ValueError(f"--model-out {model_out} exists and is not a model written by 'yingshang train' "
                         "(no card beside it names it); choose a new path or remove the file")
    if card.exists() and not _is_our_card(card, model_out):
        raise ValueError(f"{card} exists and is not the card of {model_out.name}: the model card would "
                         "replace it; choose another --model-out")


def _is_our_card(card: Path, model_out: Path) -> bool:
    """``card`` is the JSON card that `train` wrote for ``model_out``."""
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return False
    return isinstance(data, dict) and "task" in data and data.get("file") == model_out.name


# Sentiment labels the models know (the monthly clue list selects neg: config/clues.yaml), and the
# names files commonly give them. Any other label stays the file's own (a model of 满意/不满意).
_SENTIMENT_CANON = {"neg", "neu", "pos"}
_SENTIMENT_NAMES = {"negative": "neg", "positive": "pos", "neutral": "neu", "负面": "neg", "正面": "pos",
                    "中性": "neu", "消极": "neg", "积极": "pos", "中立": "neu"}


def normalise_labels(task: str, labels: Sequence[str], taxonomy: Sequence[str] | None = None, *,
                     strict: bool = True) -> list[str]:
    """Labels as the models know them: sentiment neg/neu/pos whatever their case (Neg and neg were two
    classes) or name (Negative, 负面, 消极 …); area labels must be codes of the taxonomy (cli.md), case-folded (a1 → A1), else refused
    naming them (``strict``; evaluating a model on other labels is allowed) — ``taxonomy``: the codes
    of config/areas.yaml (without it, area labels are only stripped)."""
    # NFKC: full-width Ａ２ (a Chinese input method's) is A2.
    out = [unicodedata.normalize("NFKC", str(v)).strip() for v in labels]
    if task == "sentiment":
        return [v.lower() if v.lower() in _SENTIMENT_CANON else _SENTIMENT_NAMES.get(v.lower(), v) for v in out]
    codes = {str(c).upper(): str(c) for c in (taxonomy or ())}
    if not codes:
        return out
    out = [codes.get(v.upper(), v) for v in out]
    unknown = sorted({v for v in out if v not in codes.values()})
    if unknown and strict:
        shown = ", ".join(repr(v) for v in unknown[:5]) + (f" … ({len(unknown)} in all)" if len(unknown) > 5 else "")
        raise ValueError(f"area labels must be taxonomy codes ({', '.join(sorted(codes.values()))}); found {shown} "
                         "— map the file's categories to codes first (config/areas.yaml)")
    return out


def write_model_card(model_path: str | Path, card: Mapping[str, Any]) -> Path:
    """Write ``<model>.json`` next to the model file (UTF-8, keys sorted)."""
    model_path = Path(model_path)
    out = model_path.with_suffix(".json")
    data = dict(card)
    data.setdefault("format", MODEL_FORMAT_VERSION)
    data.setdefault("file", model_path.name)
    if model_path.exists():
        data["size_bytes"] = model_path.stat().st_size
        data["file_sha256"] = file_sha256(model_path)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


def cross_validated_predictions(
    task: str,
    texts: Sequence[Any],
    labels: Sequence[str],
    cv: int = 5,
    *,
    keywords: Mapping[str, Sequence[str]] | None = None,
    lexicon_weight: float = 0.3,
    params: Mapping[str, Any] | None = None,
    prior_adjust: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Out-of-fold predictions of a freshly built pipeline (stratified K-fold, shuffled, seed 0).

    Texts are segmented once up front (the pipelines accept token lists), so the folds only refit
    the features and the classifier. Area folds get the lexicon examples like :func:`train_model`.
    """
    _check_task(task)
    y = np.asarray([str(v) for v in labels], dtype=object)
    if cv < 2:
        raise ValueError("cv must be at least 2")
    min_count = int(pd.Series(y).value_counts().min())
    if min_count < cv:
        raise ValueError(f"cv={cv} needs at least {cv} examples of every label; the rarest has {min_count}")
    kw = _area_kw(y.tolist(), keywords) if task == "area" else {}
    tokens = as_token_lists(texts, _user_words(kw))
    if task == "area":
        est, _ = area_estimator(y.tolist(), keywords, **dict(params or {}))
    else:
        est = build_sentiment_pipeline(**dict(params or {}))
    extra_X: list[Any] = []
    extra_y: list[str] = []
    extra_w: list[float] = []
    if kw and lexicon_weight > 0:
        kt, extra_y, extra_w = lexicon_examples(kw, weight=lexicon_weight)
        extra_X = as_token_lists(kt, _user_words(kw))
    pred = np.empty(len(y), dtype=object)
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=RANDOM_STATE)
    for train_idx, test_idx in folds.split(np.zeros(len(y)), y):
        Xtr = [tokens[i] for i in train_idx] + extra_X
        ytr = y[train_idx].tolist() + list(extra_y)
        wtr = np.asarray([1.0] * len(train_idx) + list(extra_w))
        m = clone(est).fit(Xtr, ytr, clf__sample_weight=wtr)
        Xte = [tokens[i] for i in test_idx]
        if task == "area":
            pred[test_idx] = AreaModel(m, prior_adjust=dict(prior_adjust or {})).predict(Xte)
        else:
            pred[test_idx] = m.predict(Xte)
    return pred


def load_model(task: str, model_path: str | Path | None = None,
               keywords: Mapping[str, Sequence[str]] | None = None) -> AreaModel | SentimentModel:
    """The given model file, else the shipped one (area: lexicon fallback if none is shipped). A model
    whose card (the .json beside it) names another task is refused: a sentiment model asked for areas
    would otherwise label everything with its own classes, silently."""
    _check_task(task)
    if model_path is not None:
        card = Path(model_path).with_suffix(".json")
        try:
            other = json.loads(card.read_text(encoding="utf-8")).get("task") if card.is_file() else None
        except (ValueError, OSError):
            other = None
        if other and other != task:
            article = "an" if other == "area" else "a"
            raise ValueError(f"{model_path} is {article} {other} model (its card {card.name} says so), not "
                             f"{'an' if task == 'area' else 'a'} {task} model")
    try:
        if task == "area":
            return load_area_model(model_path, keywords=keywords)
        return load_sentiment_model(model_path)
    except (FileNotFoundError, TypeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(str(exc)) from None  # a model of the other task (its card was not beside it)
    except Exception as exc:  # joblib/pickle on a file that is no model: KeyError 110, UnpicklingError …
        raise ValueError(f"{model_path} is not a readable {task} model file ({type(exc).__name__}: {exc})") from None


def evaluate(
    task: str,
    path: str | Path,
    text_col: str = "text",
    label_col: str = "label",
    model_path: str | Path | None = None,
    cv: int | None = None,
    *,
    keywords: Mapping[str, Sequence[str]] | None = None,
    taxonomy: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Metrics on a labelled file, in the ``evaluate --json`` shape of cli.md.

    With ``cv=K``: K-fold cross-validation of a fresh pipeline trained on the file itself.
    Otherwise: predictions of ``model_path`` (default: the shipped model). Area results also carry
    ``business_vs_z`` when Z occurs.
    """
    _check_task(task)
    texts, labels = read_labelled(path, text_col, label_col)
    if not labels:
        raise ValueError(f"no labelled rows in {path}")
    labels = normalise_labels(task, labels, taxonomy, strict=False)
    if cv and task == "area" and taxonomy and not set(labels) <= {str(c) for c in taxonomy}:
        # Cross-validation measures what a plain text model learns of any categories (the issue's
        # TipDM target is 一级分类, seven of them); only `train` insists on codes the pipeline can use.
        log.warning("labels of %s are not taxonomy codes (%s): cross-validating a text model on the file's "
                    "own categories, without the area lexicon; `train` would refuse them",
                    Path(path).name, ", ".join(sorted(set(labels))[:7]))
    if cv:
        # The texts `train` would fit on (masked): the estimate is of the model `train` makes.
        pred = cross_validated_predictions(task, [mask_pii(t) for t in texts], labels, cv, keywords=keywords)
    else:
        model = load_model(task, model_path, keywords)
        pred = model.predict(texts)
    return classification_metrics(labels, pred, z_label="Z" if task == "area" else None)


# --------------------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------------------


def predict(
    task: str,
    path: str | Path,
    text_col: str = "text",
    model_path: str | Path | None = None,
    out: str | Path = "predictions.csv",
    *,
    keywords: Mapping[str, Sequence[str]] | None = None,
    request_type_col: str | None = None,
) -> int:
    """Label every row of a file and write ``out`` (CSV, UTF-8 with BOM so Excel opens it; an
    ``.xlsx`` name writes a workbook).

    Returns the number of rows written.

    Output: the input columns, then ``label`` and ``confidence`` (area also ``label2``; sentiment
    also ``score``). An input column already called label/label2/confidence/score is kept as
    ``<name>_input``. Sentiment uses ``request_type_col`` (诉求类型) when given and present.
    """
    _check_task(task)
    if Path(out).suffix.lower() in (".xls", ".json", ".joblib", ".pkl", ".parquet"):
        raise ValueError(f"--out {Path(out).name}: predictions are written as .csv (or as an .xlsx workbook)")
    df = read_table(path)
    texts = _text_series(df, text_col).tolist()
    model = load_model(task, model_path, keywords)
    if task == "area":
        frame = model.predict_frame(texts)[["label", "label2", "confidence"]]
    else:
        rts = df[request_type_col].tolist() if request_type_col and request_type_col in df.columns else None
        frame = model.predict_frame(texts, rts)[["label", "confidence", "score"]]
    # A blank text has nothing to label: no label rather than the model's prior (neg 0.51).
    blank = np.array([not str(t).strip() for t in texts])
    if blank.any():
        frame = frame.astype(object)
        frame.loc[blank, :] = None
    result = df.copy()
    for col in frame.columns:
        if col in result.columns:
            # label → label_input (label_input_2 … when an earlier prediction file is labelled again)
            new, k = f"{col}_input", 2
            while new in result.columns:
                new, k = f"{col}_input_{k}", k + 1
            result = result.rename(columns={col: new})
    for col in frame.columns:
        result[col] = frame[col].to_numpy()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() in (".xlsx", ".xlsm"):
        _write_workbook(result, out)
        return len(result)
    # Texts from the public can start with = + - @ (or tab/CR): a spreadsheet opening this CSV would
    # run them as formulas, so such cells get a leading apostrophe (OWASP CSV-injection advice).
    for i in range(result.shape[1]):  # (by position: a file may repeat a column name)
        col = result.iloc[:, i]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            result.isetitem(i, col.map(_csv_safe))
    result.columns = [_csv_safe(str(c)) for c in result.columns]  # a header is a cell too
    result.to_csv(out, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return len(result)


def _write_workbook(result: pd.DataFrame, out: Path) -> None:
    """The predictions as an .xlsx (one sheet): every text cell is written as a string, never as a
    formula or link, so no escaping is needed; the header is frozen."""
    import xlsxwriter

    with xlsxwriter.Workbook(str(out), {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False}) as wb:
        ws = wb.add_worksheet("predictions")
        for j, name in enumerate(result.columns):
            ws.write_string(0, j, str(name))
        for i, row in enumerate(result.itertuples(index=False, name=None), start=1):
            for j, v in enumerate(row):
                if v is None or (isinstance(v, float) and v != v):
                    continue
                if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                    ws.write_number(i, j, float(v))
                else:
                    ws.write_string(i, j, str(v))
        ws.freeze_panes(1, 0)


_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def _csv_safe(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe; a plain number such as
    -1 (a label of a 1/0/-1 file) or -5 is no formula and stays as it is."""
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")) \
            and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value
