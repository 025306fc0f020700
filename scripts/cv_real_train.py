#!/usr/bin/env python
"""Choose the area model's training configuration by cross-validation on the TRAINING data only.

    python scripts/cv_real_train.py --shared ../shared/data            # area grid (~5 min, 1 core)
    python scripts/cv_real_train.py --shared ../shared/data --task sentiment

Grouped 5-fold CV over the hand-labelled real training messages (nlp/resources/real_train): in
each fold the model is trained on the whole seed corpus + keyword lexicon + the other four folds of
real messages (with a sample weight), and predicts the held-out real fold. Groups keep near-
duplicates (same subject or same opening of the body) in one fold. Scores are computed on the
out-of-fold predictions of all real training messages: macro-F1 over the ten labels and
business-vs-Z F1 (area), macro-F1 over neg and neu (sentiment). The held-out evaluation set
(benchmarks/real_eval) is never read here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedGroupKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from build_models import AREA_LEXICON_WEIGHT, AREA_PARAMS, SENTIMENT_PARAMS, load_keywords, load_seed  # noqa: E402

from nlp.classify import lexicon_examples  # noqa: E402
from nlp.features import as_token_lists  # noqa: E402
from nlp.modeling import area_estimator, classification_metrics  # noqa: E402
from nlp.real_text import TRAIN_LABELS, join_labels  # noqa: E402
from nlp.sentiment import build_sentiment_pipeline  # noqa: E402


def near_duplicate_groups(real: pd.DataFrame) -> np.ndarray:
    """Group ids: rows sharing a subject or the first 40 characters of the body share a group."""
    parent = list(range(len(real)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    subjects = real["text"].str.split("。", n=1).str[0].tolist()
    for keys in (subjects, real["body"].str[:40].tolist()):
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in first:
                parent[find(i)] = find(first[k])
            else:
                first[k] = i
    return np.array([find(i) for i in range(len(real))])


def folds(real: pd.DataFrame, label_col: str, k: int = 5) -> list[np.ndarray]:
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=0)
    groups = near_duplicate_groups(real)
    return [te for _, te in cv.split(np.zeros(len(real)), real[label_col], groups)]


def area_grid(real: pd.DataFrame, args: argparse.Namespace) -> list[dict]:
    kw = load_keywords()
    words = sorted({w for v in kw.values() for w in v})
    seed, _ = load_seed()
    seed_tok = as_token_lists(seed["text"].tolist(), words)
    seed_y = seed["label"].str.strip().tolist()
    real_tok = as_token_lists(real["text"].tolist(), words)
    real_y = real["label"].to_numpy(dtype=object)
    kt, kl, kwt = lexicon_examples(kw, weight=AREA_LEXICON_WEIGHT)
    lex_tok = as_token_lists(kt, words)
    test_folds = folds(real, "label", getattr(args, "folds", 5))
    rows = []
    configs = [dict(zip(("real_weight", "seed_weight", "lead_weight", "k_best"), c, strict=True))
               for c in itertools.product(args.weights, args.seed_weights, args.lead_weights, args.k_best)]
    cache: dict[tuple, np.ndarray] = {}
    for cfg in configs:
        params = dict(AREA_PARAMS, lead_weight=cfg["lead_weight"], k_best=cfg["k_best"])
        key = (cfg["real_weight"], cfg["seed_weight"], cfg["lead_weight"], cfg["k_best"])
        if cfg["real_weight"] == 0:  # seed only: the same model in every fold
            key = (0, cfg["seed_weight"], cfg["lead_weight"], cfg["k_best"])
        t0 = time.time()
        if key not in cache:
            P = None
            classes = None
            seed_only_model = None
            for te in test_folds:
                tr = np.setdiff1d(np.arange(len(real)), te)
                if cfg["real_weight"] == 0 and seed_only_model is not None:
                    m = seed_only_model
                else:
                    X = seed_tok + lex_tok + ([real_tok[i] for i in tr] if cfg["real_weight"] else [])
                    y = seed_y + list(kl) + (real_y[tr].tolist() if cfg["real_weight"] else [])
                    w = ([cfg["seed_weight"]] * len(seed_tok) + list(kwt)
                         + ([cfg["real_weight"]] * len(tr) if cfg["real_weight"] else []))
                    est, _ = area_estimator(y, kw, **params)
                    m = clone(est).fit(X, y, clf__sample_weight=np.asarray(w, dtype=float))
                    if cfg["real_weight"] == 0:
                        seed_only_model = m
                p = m.predict_proba([real_tok[i] for i in te])
                if P is None:
                    classes = np.asarray(m.classes_)
                    P = np.zeros((len(real), len(classes)))
                P[te] = p
            cache[key] = (classes, P)
        classes, P = cache[key]
        for z in args.z_priors:
            f = np.where(classes == "Z", z, 1.0)
            pred = classes[np.argmax(P * f, axis=1)]
            met = classification_metrics(real_y.tolist(), pred.tolist(), z_label="Z")
            rnd = (real["slice"] == "random").to_numpy()
            rows.append(cfg | {
                "z_prior": z,
                "macro_f1": met["macro_f1"],
                "business_vs_z_f1": met["business_vs_z"]["f1"],
                "bvz_precision": met["business_vs_z"]["precision"],
                "bvz_recall": met["business_vs_z"]["recall"],
                "accuracy_random_slice": round(float((pred[rnd] == real_y[rnd]).mean()), 4),
                "per_class_f1": {c: v["f1"] for c, v in met["per_class"].items()},
            })
        print(f"{cfg} {time.time() - t0:.0f}s", file=sys.stderr)
    return rows


def sentiment_grid(real: pd.DataFrame, args: argparse.Namespace) -> list[dict]:
    seed, _ = load_seed()
    seed = seed.dropna(subset=["sentiment"])
    seed_tok = as_token_lists(seed["text"].tolist())
    seed_y = seed["sentiment"].str.strip().tolist()
    real_tok = as_token_lists(real["text"].tolist())
    real_y = real["sentiment"].to_numpy(dtype=object)
    test_folds = folds(real, "sentiment", getattr(args, "folds", 5))
    est = build_sentiment_pipeline(**SENTIMENT_PARAMS)
    rows = []
    for wt in args.weights:
        pred = np.empty(len(real), dtype=object)
        for te in test_folds:
            tr = np.setdiff1d(np.arange(len(real)), te) if wt else np.array([], dtype=int)
            X = seed_tok + [real_tok[i] for i in tr]
            y = seed_y + real_y[tr].tolist()
            w = [1.0] * len(seed_tok) + [wt] * len(tr)
            m = clone(est).fit(X, y, clf__sample_weight=np.asarray(w, dtype=float))
            pred[te] = m.predict([real_tok[i] for i in te])
        f = f1_score(real_y, pred, labels=["neg", "neu"], average=None, zero_division=0)
        rows.append({"real_weight": wt, "macro_f1_neg_neu": round(float(f.mean()), 4),
                     "neg_f1": round(float(f[0]), 4), "neu_f1": round(float(f[1]), 4)})
        print(rows[-1], file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--labels", type=Path, default=TRAIN_LABELS)
    ap.add_argument("--task", choices=("area", "sentiment"), default="area")
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 1.0, 2.0, 3.0],
                    help="sample weights of the real training messages (0 = seed corpus only)")
    ap.add_argument("--seed-weights", type=float, nargs="+", default=[1.0])
    ap.add_argument("--lead-weights", type=float, nargs="+", default=[AREA_PARAMS["lead_weight"]])
    ap.add_argument("--k-best", type=int, nargs="+", default=[AREA_PARAMS["k_best"]])
    ap.add_argument("--z-priors", type=float, nargs="+", default=[1.0, 1.5, 2.0, 3.0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = ap.parse_args(argv)
    real = join_labels(args.labels, args.shared)
    rows = area_grid(real, args) if args.task == "area" else sentiment_grid(real, args)
    key = "macro_f1" if args.task == "area" else "macro_f1_neg_neu"
    for r in sorted(rows, key=lambda r: -r[key]):
        print(json.dumps({k: v for k, v in r.items() if k != "per_class_f1"}, ensure_ascii=False))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
