"""Benchmark: jieba precise mode (the reference) vs the exact fast backend (rjieba + corrections).

Both run in the same process on the same ~20k real texts with the same dictionary (jieba's default +
nlp/resources/user_dict.txt + every keyword of config/areas.yaml). Prints texts/s, the speed ratio
(CPU time and wall time) and checks that every token list is identical.

    .venv/bin/python benchmarks/bench_tokenize.py            # 20,000 texts
    .venv/bin/python benchmarks/bench_tokenize.py --n 5000 --repeat 3

Needs the shared data folder (../shared/data, or $YINGSHANG_SHARED_DATA).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.tokenize import Tokenizer  # noqa: E402


def shared_data() -> Path:
    env = os.environ.get("YINGSHANG_SHARED_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def load_texts(n: int, seed: int = 42) -> list[str]:
    """A fixed random sample of real texts: message-board posts, official replies and reviews."""
    import pandas as pd

    d = shared_data()
    if not d.is_dir():
        sys.exit(f"shared data not found at {d} (set YINGSHANG_SHARED_DATA)")
    cols = [
        ("tipdm2020c_messages/messages_dev.csv", ["留言主题", "留言详情"]),
        ("tipdm2020c_hot_messages/hot_messages.csv", ["留言主题", "留言详情"]),
        ("tipdm2020c_replies/replies.csv.gz", ["留言详情", "答复意见"]),
        ("chnsenticorp_htl_all/chnsenticorp_htl_all_dev.csv", ["review"]),
        ("waimai_10k/waimai_10k_dev.csv", ["review"]),
        ("online_shopping_10_cats/online_shopping_10_cats_dev.csv.gz", ["review"]),
    ]
    texts: list[str] = []
    for rel, names in cols:
        path = d / rel
        if path.exists():
            frame = pd.read_csv(path, encoding="utf-8")
            for name in names:
                texts.extend(t for t in frame[name].tolist() if isinstance(t, str) and t)
    random.Random(seed).shuffle(texts)
    return texts[:n]


def area_keywords() -> list[str]:
    import yaml

    cfg = yaml.safe_load((ROOT / "config" / "areas.yaml").read_text(encoding="utf-8"))
    return [str(k) for area in cfg.get("areas", []) for k in area.get("keywords", []) or []]


def timed(fn, repeat: int) -> tuple[float, float, object]:
    best_cpu = best_wall = float("inf")
    result = None
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn()
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000, help="number of texts (default 20000)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine; the best is reported")
    args = ap.parse_args()

    texts = load_texts(args.n)
    chars = sum(map(len, texts))
    t0 = time.perf_counter()
    tok = Tokenizer(area_keywords())
    print(f"{len(texts):,} texts, {chars:,} characters; tokenizer built in {time.perf_counter() - t0:.2f}s, "
          f"backend={tok.backend}")
    if tok.backend != "rjieba":
        sys.exit("fast backend unavailable (self-check failed or rjieba missing): nothing to compare")

    ref_cpu, ref_wall, ref = timed(lambda: [tok.reference_lcut(t) for t in texts], args.repeat)
    one_cpu, one_wall, one = timed(lambda: [tok.lcut(t) for t in texts], args.repeat)
    many_cpu, many_wall, many = timed(lambda: tok.lcut_many(texts), args.repeat)

    same_one = sum(a == b for a, b in zip(ref, one, strict=True))
    same_many = sum(a == b for a, b in zip(ref, many, strict=True))
    n = len(texts)
    print(f"{'engine':<28}{'CPU s':>8}{'texts/s':>10}{'ratio':>8}{'wall s':>9}{'ratio':>8}")
    for name, cpu, wall in [
        ("jieba.lcut (reference)", ref_cpu, ref_wall),
        ("Tokenizer.lcut (per text)", one_cpu, one_wall),
        ("Tokenizer.lcut_many", many_cpu, many_wall),
    ]:
        print(f"{name:<28}{cpu:>8.2f}{n / cpu:>10,.0f}{ref_cpu / cpu:>7.1f}x{wall:>9.2f}{ref_wall / wall:>7.1f}x")
    print(f"identical token lists: per text {same_one:,}/{n:,}, batched {same_many:,}/{n:,}")
    if same_one != n or same_many != n:
        sys.exit(1)


if __name__ == "__main__":
    main()
