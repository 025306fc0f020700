"""Retraining the area and sentiment models (模型再训练): seed corpus + analyst corrections.

:func:`retrain` is what the ``yingshang_retrain`` DAG runs, one call per task (``area``,
``sentiment``):

1. assemble the training data: the hand-written seed corpus (``nlp/resources/seed/*.csv``) plus the
   analysts' label corrections (人工标注, :func:`pipeline.labels.corrections_frame`); a corrected text
   overrides the seed label of the same text;
2. hold back a deterministic slice (留出集) — a text is held back when the hash of its normalised
   text falls below ``holdout_share`` — so the same text is always on the same side and the
   comparison is fair across runs;
3. train a candidate into a versioned folder ``<model_dir>/<task>/versions/<version>/``;
4. evaluate the candidate and the active model on the held-back slice (macro-F1);
5. promote the candidate (copy it over the active model, keeping the one it replaces as
   ``<active>.prev``; every version stays in ``versions/``) only when its macro-F1 is not worse than
   the active model's (minus ``tolerance``, default 0); otherwise the active model stays.

Training and evaluation go through ``nlp.modeling.train`` / ``nlp.modeling.evaluate`` (the same
functions as ``yingshang train`` / ``yingshang evaluate``); a different implementation with the same
two functions can be passed as ``trainer`` (the tests use a tiny model).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import unicodedata
from pathlib import Path
from types import ModuleType
from typing import Any

SEED_DIR = Path(__file__).resolve().parents[1] / "nlp" / "resources" / "seed"
TASKS = ("area", "sentiment")
# Column of the seed corpus and of the corrections frame holding each task's label.
SEED_LABEL = {"area": "label", "sentiment": "sentiment"}
CORRECTION_LABEL = {"area": "area", "sentiment": "sentiment"}


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", str(text)).split())


def held_back(text: str, share: float) -> bool:
    """Whether ``text`` belongs to the held-back slice: sha1 of the normalised text, below ``share``."""
    h = int.from_bytes(hashlib.sha1(_norm(text).encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < share


def load_seed(task: str, seed_dir: Path | str | None = None):
    """The seed corpus (种子语料) for ``task`` as a frame ``text, label, origin='seed'``."""
    import pandas as pd

    files = sorted(Path(seed_dir or SEED_DIR).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no seed corpus (*.csv) in {seed_dir or SEED_DIR}")
    frames = []
    for f in files:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
        col = SEED_LABEL[task]
        if col not in df.columns or "text" not in df.columns:
            raise ValueError(f"{f}: the seed corpus needs columns text and {col}")
        frames.append(df[["text", col]].rename(columns={col: "label"}))
    out = pd.concat(frames, ignore_index=True)
    return out.assign(origin="seed")


def training_frame(task: str, db_url: str | None = None, seed_dir: Path | str | None = None,
                   corrections=None):
    """Seed corpus plus corrections, one row per distinct text; a correction wins over the seed."""
    import pandas as pd

    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}: one of {', '.join(TASKS)}")
    seed = load_seed(task, seed_dir)
    if corrections is None:
        from pipeline.labels import corrections_frame

        corrections = corrections_frame(db_url)
    corr = pd.DataFrame(corrections)
    if len(corr):
        corr = corr[["text", CORRECTION_LABEL[task]]].rename(columns={CORRECTION_LABEL[task]: "label"})
        corr = corr.assign(origin="correction")
    else:
        corr = pd.DataFrame(columns=["text", "label", "origin"])
    df = pd.concat([seed, corr], ignore_index=True)
    df["text"] = df["text"].fillna("").astype(str)
    df["label"] = df["label"].fillna("").astype(str).str.strip()
    df = df[(df["text"].str.strip() != "") & (df["label"] != "")]
    df = df.assign(_key=df["text"].map(_norm))
    # Later rows win: corrections come after the seed, and a later correction after an earlier one.
    df = df.drop_duplicates("_key", keep="last").drop(columns="_key")
    return df.reset_index(drop=True)


def split_holdout(df, share: float = 0.2):
    """(train, holdout) by :func:`held_back` — deterministic, independent of row order."""
    mask = df["text"].map(lambda t: held_back(t, share))
    return df[~mask].reset_index(drop=True), df[mask].reset_index(drop=True)


def _copy(src: Path, dst: Path) -> None:
    """Copy a model file or folder so that ``dst`` is replaced in one step (readers never see half)."""
    tmp = dst.with_name(dst.name + ".tmp")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    elif tmp.exists():
        tmp.unlink()
    if src.is_dir():
        shutil.copytree(src, tmp)
        if dst.is_dir():
            old = dst.with_name(dst.name + ".old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(dst, old)
            os.replace(tmp, dst)
            shutil.rmtree(old)
            return
    else:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def _macro_f1(metrics: dict[str, Any] | None) -> float | None:
    if not metrics:
        return None
    v = metrics.get("macro_f1")
    return None if v is None else float(v)


def retrain(task: str, model_dir: Path | str, db_url: str | None = None, *, active_path: Path | str | None = None,
            version: str | None = None, seed_dir: Path | str | None = None, holdout_share: float = 0.2,
            tolerance: float = 0.0, corrections=None, trainer: ModuleType | Any = None) -> dict[str, Any]:
    """Train a candidate, compare it with the active model on the held-back slice, promote if not worse.

    ``active_path`` defaults to ``<model_dir>/<task>.joblib``; ``version`` (the folder name under
    ``<model_dir>/<task>/versions/``) defaults to a hash of the training data, so retraining on the
    same data reuses the same folder. Returns a summary dict (JSON-safe) with both macro-F1 values,
    ``promoted`` and the reason.
    """
    if trainer is None:
        from nlp import modeling as trainer
    model_dir = Path(model_dir)
    active = Path(active_path) if active_path else model_dir / f"{task}.joblib"
    df = training_frame(task, db_url, seed_dir, corrections)
    train_df, hold_df = split_holdout(df, holdout_share)
    if train_df.empty or hold_df.empty:
        raise ValueError(f"not enough labelled texts for {task}: {len(train_df)} to train, {len(hold_df)} held back")
    data_hash = hashlib.sha1(train_df[["text", "label"]].to_csv(index=False).encode("utf-8")).hexdigest()[:12]
    version = version or data_hash
    vdir = model_dir / task / "versions" / version
    vdir.mkdir(parents=True, exist_ok=True)
    train_csv, hold_csv = vdir / "train.csv", vdir / "holdout.csv"
    train_df.to_csv(train_csv, index=False)
    hold_df.to_csv(hold_csv, index=False)
    candidate = vdir / active.name

    # The area model takes the configured keyword lexicon as weak supervision and as features.
    extra = {}
    if task == "area" and getattr(trainer, "__name__", "") == "nlp.modeling":
        from pipeline.config import area_keywords

        extra["keywords"] = area_keywords()
    train_summary = trainer.train(task, train_csv, "text", "label", candidate, **extra)
    cand_metrics = trainer.evaluate(task, hold_csv, "text", "label", model_path=candidate, **extra)
    cur_metrics = (trainer.evaluate(task, hold_csv, "text", "label", model_path=active, **extra)
                   if active.exists() else None)
    cand_f1, cur_f1 = _macro_f1(cand_metrics), _macro_f1(cur_metrics)

    if cand_f1 is None:
        promote, reason = False, "the candidate's evaluation has no macro_f1"
    elif cur_f1 is None:
        promote, reason = True, "no active model yet"
    elif cand_f1 + tolerance >= cur_f1:
        promote, reason = True, f"candidate macro-F1 {cand_f1:.4f} is not worse than active {cur_f1:.4f}"
    else:
        promote, reason = False, f"candidate macro-F1 {cand_f1:.4f} is worse than active {cur_f1:.4f}: kept the active model"

    previous = None
    if promote:
        active.parent.mkdir(parents=True, exist_ok=True)
        if active.exists():
            previous = active.with_name(active.name + ".prev")
            _copy(active, previous)
        _copy(candidate, active)

    summary = {
        "task": task, "version": version, "promoted": promote, "reason": reason,
        "candidate_macro_f1": cand_f1, "active_macro_f1_before": cur_f1,
        "n_train": int(len(train_df)), "n_holdout": int(len(hold_df)),
        "n_corrections": int((df["origin"] == "correction").sum()),
        "labels": sorted(df["label"].unique().tolist()),
        "candidate_path": str(candidate), "active_path": str(active),
        "previous_path": str(previous) if previous else None,
        "train_summary": _plain(train_summary),
    }
    (vdir / "retrain.json").write_text(json.dumps(
        {**summary, "candidate_metrics": _plain(cand_metrics), "active_metrics": _plain(cur_metrics)},
        ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return summary


def _plain(obj: Any) -> Any:
    """A JSON-safe copy (numbers, strings, lists, dicts) of a summary from the trainer."""
    return json.loads(json.dumps(obj, default=str)) if obj is not None else None
