"""Problem-clue grouping (问题线索归并) on a held-out set written before the method was changed.

tests/data/clue_holdout.csv holds 12 concrete problems across A1–A9 (10 paraphrases each, written to
share few words: different vocabulary, order, detail and length) and 120 one-off complaints in the
same areas, many of them near-misses (same object, another problem: 电表读数不对 vs 转供电加价,
抵押登记材料 vs 抵押注销, 诉讼费标准高 vs 诉讼费不退). None of its problems is in tests/test_clues.py
or the `yingshang sample` generator, and the set was never used to choose a setting: it was written,
measured with the old method, and measured once more with the new one, after every setting had been
chosen on the fixture of tests/test_clues.py and `yingshang sample` months.

Measured (F1 of the clue holding most of a problem's members; no warehouse history, so the semantic
block learns from the seed corpus and these 240 texts only):

=========================  =====================================  =================================
                           lexicon + lexical (before, commit       + learned semantic block (after,
                           a6b78cc; = semantic_weight 0)           config/clues.yaml)
=========================  =====================================  =================================
mean F1 (12 problems)      0.316                                  0.671
lowest problem F1          0.00 (two problems never grouped)      0.46
noise in clues of >= 5     0.142                                  0.275
=========================  =====================================  =================================

Every problem improved. The cost: more near-miss one-offs join a clue of their object (a quarter of
the noise, against a seventh before). Run ``python tests/test_clue_holdout.py`` for the table.

Re-measured later with the current seed corpus and tokenizer: 0.640 (lowest 0.46, noise 0.200); with
the area smoothing and cross-area merge of config/clues.yaml 0.637 (0.46, 0.208), see docs/clues.md.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.clues import build_clues, load_clue_config, select_candidates

HOLDOUT = Path(__file__).resolve().parent / "data" / "clue_holdout.csv"
# Two more sets of the same shape, written in session 9 (2026-11-30) by two writers who saw neither the
# method, its lexicon, nor each other's set (only the taxonomy, the source formats and a list of topics
# to avoid), and measured once with the shipped configuration before anything was changed.
HOLDOUT_2 = tuple(Path(__file__).resolve().parent / "data" / f"clue_holdout_2{x}.csv" for x in "ab")
ALL_HOLDOUTS = (HOLDOUT, *HOLDOUT_2)


@lru_cache(maxsize=1)
def _tokenizer():
    from nlp.tokenize import Tokenizer
    from pipeline.config import all_keywords

    return Tokenizer(user_words=all_keywords())


def holdout_frame(path: Path = HOLDOUT) -> tuple[pd.DataFrame, dict[str, set[str]], set[str]]:
    """A held-out set as a month of enriched hotline feedback: (frame, problem → ids, noise ids).

    Tokens are the project tokenizer's content tokens, as the enrich step (pipeline/enrich.py) makes them.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    tok = _tokenizer()
    ids = [hashlib.sha1(t.encode("utf-8")).hexdigest()[:16] for t in raw["text"]]
    frame = pd.DataFrame({
        "feedback_id": ids,
        "source": "hotline",
        "source_record_id": [f"HO{i:04d}" for i in range(len(raw))],
        "received_at": pd.Timestamp("2025-11-01") + pd.to_timedelta(np.arange(len(raw)) % 28, unit="D"),
        "area": raw["area"],
        "sentiment": "neg",
        "request_type": "投诉",
        "entity_hash": [f"e{int(h, 16) % 97}" for h in ids],
        "street": None,
        "text": raw["text"],
        "tokens": [tok.content_tokens(t) for t in tok.lcut_many(raw["text"].tolist())],
        "score_100": np.nan,
    })
    planted: dict[str, set[str]] = {}
    for fid, pid in zip(ids, raw["problem_id"], strict=True):
        if pid:
            planted.setdefault(pid, set()).add(fid)
    noise = {fid for fid, pid in zip(ids, raw["problem_id"], strict=True) if not pid}
    return frame, planted, noise


def holdout_quality(members: pd.DataFrame, planted: dict[str, set[str]], noise: set[str]
                    ) -> tuple[dict[str, float], float]:
    """F1 of the clue holding most of each problem's members; share of noise in clues of ≥ 5 items."""
    by_clue = members.groupby("clue_id")["feedback_id"].apply(set).to_dict()
    f1 = {}
    for p, ids in planted.items():
        best = max(by_clue.values(), key=lambda m: len(m & ids), default=set())
        o = len(best & ids)
        f1[p] = 0.0 if o == 0 else 2 * (o / len(best)) * (o / len(ids)) / (o / len(best) + o / len(ids))
    big = [m for m in by_clue.values() if len(m) >= 5]
    in_big = sum(len(m & noise) for m in big)
    return f1, in_big / max(len(noise), 1)


@pytest.fixture(scope="module")
def result():
    if not HOLDOUT.exists():
        pytest.skip(f"{HOLDOUT} is missing")
    cfg = load_clue_config()
    frame, planted, noise = holdout_frame()
    cands = select_candidates(frame, cfg, month="2025-11")
    clues, members = build_clues(cands, "2025-11", None, cfg)
    return planted, noise, cands, clues, members


@pytest.mark.parametrize("path", ALL_HOLDOUTS, ids=lambda p: p.stem)
def test_holdout_is_what_it_claims(path):
    if not path.exists():
        pytest.skip(f"{path} is missing")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    counts = raw[raw["problem_id"] != ""].groupby("problem_id").size()
    assert len(counts) == 12 and (counts == 10).all()
    assert (raw["problem_id"] == "").sum() == 120
    assert set(raw["area"]) == {f"A{i}" for i in range(1, 10)}
    assert raw["text"].is_unique


def test_holdout_candidates_are_all_kept(result):
    planted, noise, cands, _, _ = result
    assert set(cands["feedback_id"]) == set().union(*planted.values()) | noise


def test_unseen_paraphrases_are_grouped(result):
    """Measured mean 0.671, lowest 0.46, noise 0.275; the margins absorb seed-corpus edits."""
    planted, noise, _, _, members = result
    f1, noise_share = holdout_quality(members, planted, noise)
    assert np.mean(list(f1.values())) >= 0.58, f1
    assert min(f1.values()) >= 0.3, f1
    assert noise_share <= 0.35, noise_share


def test_semantic_block_is_what_generalises(result):
    """Without the learned semantic block (the lexicon and lexical blocks alone) the same set scores
    about 0.32: the gain comes from the word space, not from anything tuned to these texts."""
    import copy

    planted, noise, cands, _, members = result
    cfg = copy.deepcopy(load_clue_config())
    cfg.grouping["semantic_weight"] = 0.0
    cfg.grouping["similarity_threshold"] = 0.12  # the lexical-only method's own threshold
    _, lexical = build_clues(cands, "2025-11", None, cfg)
    with_sem = np.mean(list(holdout_quality(members, planted, noise)[0].values()))
    without = np.mean(list(holdout_quality(lexical, planted, noise)[0].values()))
    assert with_sem >= without + 0.2, (with_sem, without)


@pytest.fixture(scope="module", params=HOLDOUT_2, ids=lambda p: p.stem)
def result_2(request):
    if not request.param.exists():
        pytest.skip(f"{request.param} is missing")
    cfg = load_clue_config()
    frame, planted, noise = holdout_frame(request.param)
    cands = select_candidates(frame, cfg, month="2025-11")
    _, members = build_clues(cands, "2025-11", None, cfg)
    return planted, noise, members


def test_paraphrases_of_the_new_sets_are_grouped(result_2):
    """Sets 2a/2b, measured once before any change (session 9): mean 0.683 / 0.629, lowest 0.46 / 0.46,
    noise in clues of >= 5 0.325 / 0.400 — as low as the first set: the method's ceiling on paraphrases
    that share few words (docs/clues.md, session 9). The floors catch a regression, not the target."""
    planted, noise, members = result_2
    f1, noise_share = holdout_quality(members, planted, noise)
    assert np.mean(list(f1.values())) >= 0.58, f1
    assert min(f1.values()) >= 0.3, f1
    assert noise_share <= 0.5, noise_share


def _report(path: Path = HOLDOUT) -> None:
    cfg = load_clue_config()
    frame, planted, noise = holdout_frame(path)
    cands = select_candidates(frame, cfg, month="2025-11")
    clues, members = build_clues(cands, "2025-11", None, cfg)
    f1, noise_share = holdout_quality(members, planted, noise)
    print(path.name)
    for p, v in f1.items():
        print(f"  {p:38s} F1 {v:.2f}")
    print(f"  mean F1 {np.mean(list(f1.values())):.3f}  min {min(f1.values()):.2f}  "
          f"noise in clues of >= 5: {noise_share:.3f}  ({len(clues)} clues)")


if __name__ == "__main__":
    for p in ALL_HOLDOUTS:
        _report(p)
