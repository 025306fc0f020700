#!/usr/bin/env python
"""Grouping quality of the problem clues (问题线索归并质量) on the seven sets of docs/clues.md.

    .venv/bin/python benchmarks/clue_quality.py                       # shipped config/clues.yaml
    .venv/bin/python benchmarks/clue_quality.py --set similarity_threshold=0.18 --detail

Sets: the fixture month of tests/test_clues.py (seed 7, planted + held-out problems), the held-out
sets tests/data/clue_holdout.csv, clue_holdout_2a.csv and clue_holdout_2b.csv, and three `yingshang sample` months (seed 7 2026-10 = the demo
month, seed 3 2026-10, seed 11 2026-03), generated once under ``--data`` together with their
candidates (parsed, masked, tokenized and classified by the shipped area model; sentiment from the
request type). For every planted problem: F1 of the clue holding most of its candidate members; per
set the mean, the lowest and how many problems are under 0.8. No warehouse history is used, so the
word space learns from the seed corpus and the month only (``tests/test_clues.py --warehouse`` gives
the end-to-end figure after ``make demo``).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pipeline.clues import build_clues, load_clue_config, select_candidates, use_encoder  # noqa: E402

SAMPLE_MONTHS = (("sample_s7", 7, "2026-10"), ("sample_s3", 3, "2026-10"), ("sample_s11", 11, "2026-03"))


def as_stored(raw_texts: list[str]) -> tuple[list[str], list[str], list[list[str]]]:
    """Texts as the nightly path stores them: (normalised and masked text, area from the shipped model,
    content tokens). The tokens are what the enrich step keeps in feedback.tokens and the monthly job
    groups by: content words, no numbers (until session 5 the bench kept numbers, which the nightly
    path never had)."""
    from nlp import pii
    from nlp.classify import load_area_model
    from nlp.text import normalize_many
    from nlp.tokenize import Tokenizer, load_stopwords
    from pipeline.config import all_keywords, area_keywords

    texts = [pii.mask_pii(t) for t in normalize_many(raw_texts)]
    tok, stop = Tokenizer(user_words=all_keywords()), load_stopwords()
    cut = tok.lcut_many(texts)
    area = load_area_model(keywords=area_keywords()).predict_frame(
        [[w for w in toks if w.strip() and w not in stop] for toks in cut])["label"].astype(str).tolist()
    return texts, area, [tok.content_tokens(toks) for toks in cut]


def sample_candidates(data: Path, name: str, seed: int, month: str) -> tuple[pd.DataFrame, list[dict]]:
    """The candidates of a generated sample month and its planted problems (cached under ``data``)."""
    cache = data / f"{name}.pkl"
    if cache.exists():
        return _as_stored(*pickle.loads(cache.read_bytes()))
    from pipeline.config import load_sources
    from pipeline.sample import generate_sample
    from pipeline.sources import detect_source, parse_file

    land = data / name
    if not (land / "planted_problems.json").exists():
        generate_sample(land, month, seed=seed)
    frames = []
    for path in sorted(land.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".xlsx", ".xls", ".csv"):
            src = detect_source(path) or path.parent.name
            fb = parse_file(path, src, load_sources()).feedback.copy()
            fb["source"] = src
            frames.append(fb)
    fb = pd.concat(frames, ignore_index=True)
    fb = fb[fb["text"].notna() & (fb["text"].astype(str).str.len() > 0)].reset_index(drop=True)
    fb["text"], fb["area"], fb["tokens"] = as_stored(fb["text"].astype(str).tolist())
    fb["feedback_id"] = [f"{s}:{r}:{p}" for s, r, p in zip(fb["source"], fb["source_record_id"], fb["part"], strict=True)]
    fb["sentiment"] = np.where(fb["request_type"].isin(["投诉", "举报", "求助"]), "neg", "neu")
    fb["entity_hash"] = fb["credit_code"].fillna(fb["entity_name"])
    cands = select_candidates(fb, load_clue_config(), month=month)
    planted = json.loads((land / "planted_problems.json").read_text(encoding="utf-8"))
    cache.write_bytes(pickle.dumps((cands, planted)))
    return _as_stored(cands, planted)


def _as_stored(cands: pd.DataFrame, planted: list[dict]) -> tuple[pd.DataFrame, list[dict]]:
    """The addresses as the warehouse keeps them (feedback.address_masked: household part hidden),
    which is all the monthly job sees."""
    from nlp.pii import mask_address

    if "address" in cands.columns:
        cands = cands.assign(address=[mask_address(a) if isinstance(a, str) else a for a in cands["address"]])
    return cands, planted


def sample_quality(cands: pd.DataFrame, planted: list[dict], month: str, cfg) -> dict[str, float]:
    _, members = build_clues(cands, month, None, cfg)
    members = members.assign(_key=list(zip(members["source"], members["source_record_id"].astype(str), strict=True)))
    by_clue = members.groupby("clue_id")["_key"].apply(set).to_dict()
    keys = set(zip(cands["source"], cands["source_record_id"].astype(str), strict=True))
    out = {}
    for p in planted:
        ids = {(m["source"], str(m["source_record_id"])) for m in p["members"]} & keys
        best, overlap = max(((c, len(ids & m)) for c, m in by_clue.items()), key=lambda t: t[1])
        precision, recall = overlap / len(by_clue[best]), overlap / len(ids)
        out[p["id"]] = 2 * precision * recall / (precision + recall) if overlap else 0.0
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "yingshang-clue-quality",
                    help="where the sample months and their candidates are kept (reused across runs)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a grouping setting of config/clues.yaml (YAML value), e.g. similarity_threshold=0.18")
    ap.add_argument("--encoder", type=Path, default=None, metavar="FOLDER",
                    help="a pretrained sentence encoder's model folder (grouping.encoder.path; needs torch)")
    ap.add_argument("--detail", action="store_true", help="print F1 per planted problem")
    args = ap.parse_args(argv)
    import test_clue_holdout as th
    import test_clues as tc

    cfg = load_clue_config()
    if args.encoder is not None:
        use_encoder(cfg.grouping, args.encoder.resolve())
    for item in args.set:
        key, _, value = item.partition("=")
        cfg.grouping[key] = yaml.safe_load(value)
    args.data.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, float]] = {}
    frame, planted, noise = tc.make_month("2025-10", seed=7, problems=list(tc.PLANTED) + list(tc.HELD_OUT))
    cands = select_candidates(frame, cfg, month="2025-10")
    clues, members = build_clues(cands, "2025-10", None, cfg)
    quality, _ = tc.grouping_quality(members, clues, planted, noise)
    results["fixture"] = {p: q["f1"] for p, q in quality.items()}
    for name, path in zip(("held-out", "held-out-2a", "held-out-2b"), th.ALL_HOLDOUTS, strict=True):
        frame, planted, noise = th.holdout_frame(path)
        cands = select_candidates(frame, cfg, month="2025-11")
        _, members = build_clues(cands, "2025-11", None, cfg)
        results[name], _ = th.holdout_quality(members, planted, noise)
    for name, seed, month in SAMPLE_MONTHS:
        cands, planted = sample_candidates(args.data, name, seed, month)
        results[name] = sample_quality(cands, planted, month, cfg)
    for name, f1 in results.items():
        v = np.array(list(f1.values()))
        print(f"{name:12s} mean {v.mean():.3f}  lowest {v.min():.2f}  under 0.8: {(v < 0.8).sum()} of {len(v)}")
        if args.detail:
            print("            " + " ".join(f"{p}:{x:.2f}" for p, x in f1.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
