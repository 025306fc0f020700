#!/usr/bin/env python
"""Problem-clue grouping on real citizen messages (真实留言的问题线索归并质量).

    .venv/bin/python benchmarks/clue_real.py [--shared ../shared/data] [--detail] [--set key=value ...]

Every other grouping figure of docs/clues.md is measured on text this project wrote (the fixture month,
the held-out set, `yingshang sample` months). This one is not: the 4,317 messages of a provincial
message board (TipDM 2020 problem C, 附件3 `tipdm2020c_hot_messages`, in ``../shared/data``; the texts
are research-only data and never enter this repository) are grouped as one month, and the eleven
real recurring problems of benchmarks/real_eval/hot_problems.csv (identifiers and labels only) are
scored like planted problems: F1 of the clue holding most of a problem's members. Each problem is a
place and a complaint, written independently by dozens of residents (伊景园滨河苑捆绑销售车位, 60
messages; 丽发新城搅拌站, 55; …), and the month holds their near misses: the same complaint at another
place (油烟扰民 at forty other compounds, another P2P platform's fraud case), another complaint at the
same place (魅力之城: 油烟 vs 楼板开裂; 中海国际: 夜间施工 vs 幼儿园). Messages marked EXCLUDE (membership
unsure) are left out of the month.

The messages carry no address column, so the place signals of pipeline/clue_places.py take no part;
the texts are long letters (median 225 characters, subject and body) about city life rather than the business
environment, so most are read as Z (其他) by the area model, where grouping is lexical only
(``semantic_skip_areas``). The figure is therefore the lexical grouping's on real text; it was
measured, never tuned on (see the label file's README).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline.clues import build_clues, load_clue_config, select_candidates, use_encoder  # noqa: E402

LABELS = ROOT / "benchmarks" / "real_eval" / "hot_problems.csv"
MESSAGES = Path("tipdm2020c_hot_messages") / "hot_messages.csv"
MONTH = "2019-08"


def real_month(shared: Path) -> tuple[pd.DataFrame, dict[str, set[str]]]:
    """The messages as one month of enriched feedback, and problem → feedback ids."""
    from clue_quality import as_stored

    raw = pd.read_csv(shared / MESSAGES, dtype=str, keep_default_na=False)
    labels = pd.read_csv(LABELS, dtype=str, keep_default_na=False)
    problem = dict(zip(labels["留言编号"], labels["problem"], strict=True))
    raw = raw[raw["留言编号"].map(problem).fillna("") != "EXCLUDE"].reset_index(drop=True)
    texts, area, tokens = as_stored((raw["留言主题"] + "。" + raw["留言详情"]).tolist())
    ids = ("M" + raw["留言编号"]).tolist()
    frame = pd.DataFrame({
        "feedback_id": ids,
        "source": "hotline",
        "source_record_id": raw["留言编号"],
        # one month: the messages keep their order, spread over its days
        "received_at": pd.Timestamp(f"{MONTH}-01") + pd.to_timedelta(np.arange(len(raw)) % 28, unit="D"),
        "area": area,
        "sentiment": "neg",
        "request_type": "投诉",
        "entity_hash": None,
        "street": None,
        "text": texts,
        "tokens": tokens,
        "score_100": np.nan,
    })
    planted: dict[str, set[str]] = {}
    for fid, no in zip(ids, raw["留言编号"], strict=True):
        p = problem.get(no, "")
        if p:
            planted.setdefault(p, set()).add(fid)
    return frame, planted


def problem_f1(members: pd.DataFrame, planted: dict[str, set[str]]) -> dict[str, tuple[float, str, int]]:
    """Per problem: F1 of the clue holding most of its members, that clue's id and size."""
    by_clue = members.groupby("clue_id")["feedback_id"].apply(set).to_dict()
    out = {}
    for p, ids in sorted(planted.items()):
        best, got = max(((c, len(m & ids)) for c, m in by_clue.items()), key=lambda t: t[1], default=("", 0))
        if not got:
            out[p] = (0.0, "", 0)
            continue
        precision, recall = got / len(by_clue[best]), got / len(ids)
        out[p] = (2 * precision * recall / (precision + recall), best, len(by_clue[best]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("YINGSHANG_SHARED_DATA", ROOT.parent / "shared" / "data")),
                    help="the shared data folder (default ../shared/data or $YINGSHANG_SHARED_DATA)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a grouping setting of config/clues.yaml (YAML value)")
    ap.add_argument("--encoder", type=Path, default=None, metavar="FOLDER",
                    help="a pretrained sentence encoder's model folder (grouping.encoder.path; needs torch)")
    ap.add_argument("--detail", action="store_true", help="print each problem's clue members")
    args = ap.parse_args(argv)
    if not (args.shared / MESSAGES).exists():
        print(f"{args.shared / MESSAGES} not found: pass --shared (the shared data folder)", file=sys.stderr)
        return 2
    cfg = load_clue_config()
    if args.encoder is not None:
        use_encoder(cfg.grouping, args.encoder.resolve())
    for item in args.set:
        key, _, value = item.partition("=")
        cfg.grouping[key] = yaml.safe_load(value)
    t0 = time.perf_counter()
    frame, planted = real_month(args.shared)
    cands = select_candidates(frame, cfg, month=MONTH)
    t1 = time.perf_counter()
    clues, members = build_clues(cands, MONTH, None, cfg)
    t2 = time.perf_counter()
    f1 = problem_f1(members, planted)
    area = dict(zip(frame["feedback_id"], frame["area"], strict=True))
    print(f"{len(frame)} messages, {len(cands)} candidates, {len(clues)} clues "
          f"(prepare {t1 - t0:.0f} s, grouping {t2 - t1:.0f} s)")
    for p, (v, clue, size) in f1.items():
        areas = pd.Series([area[i] for i in planted[p]]).value_counts().to_dict()
        print(f"  {p}  F1 {v:.2f}  members {len(planted[p]):3d}  best clue {size:3d} items  areas {areas}")
        if args.detail:
            text = dict(zip(frame["feedback_id"], frame["text"], strict=True))
            for fid in members.loc[members["clue_id"] == clue, "feedback_id"]:
                print(f"      {'*' if fid in planted[p] else ' '} {area[fid]:2s} {text[fid][:70]}")
    v = np.array([x[0] for x in f1.values()])
    print(f"mean F1 {v.mean():.3f}  lowest {v.min():.2f}  under 0.8: {(v < 0.8).sum()} of {len(v)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
