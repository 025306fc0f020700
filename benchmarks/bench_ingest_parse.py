"""Parse speed and memory of the hotline adapter on a generated 100,000-row GBK CSV.

    .venv/bin/python benchmarks/bench_ingest_parse.py [--rows 100000] [--chunk-rows 50000]

Prints rows/s and peak RSS for ``iter_parse_file`` (streaming, what the loader uses) and for
``parse_file`` (collects every chunk), each as a ratio against a reference measured in the same run:
``csv.reader`` merely splitting the same file into cells (the floor any CSV parser pays), and
``pandas.read_csv(dtype=str, chunksize=…)``. Each measurement runs in a fresh subprocess so that peak
RSS is its own (ru_maxrss of the child).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HEADER = [
    "工单编号", "来电时间", "受理渠道", "诉求类型", "来电人姓名", "联系电话", "诉求人类型", "企业名称",
    "统一社会信用代码", "事发地址", "所属街道", "工单标题", "诉求内容", "问题分类", "承办单位", "办理时限",
    "办结时间", "办理结果", "工单状态", "回访满意度", "是否解决",
]
TEXTS = [
    "我公司在办理营业执照变更登记时，窗口要求重复提交材料，跑了三次还没办完，希望简化流程。",
    "园区近一个月频繁停电，影响企业正常生产，请供电公司尽快排查线路并给出整改时间。",
    "不动产登记中心办证太慢，交房两年了房产证还没下来，请相关部门督促开发商尽快办理。",
    "电子税务局系统故障，无法开具数电发票，客服电话一直打不通，影响企业开票。",
    "银行突然抽贷，企业资金链紧张，希望金融工作局协调续贷，缓解融资难问题。",
]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with open(path, "w", encoding="gbk", newline="") as f:
        f.write("2026年11月12345热线工单导出（测试数据）\n")
        f.write(",".join(HEADER) + "\n")
        for i in range(rows):
            day, hour, minute = rnd.randint(1, 30), rnd.randint(0, 23), rnd.randint(0, 59)
            enterprise = rnd.random() < 0.4
            row = [
                f"GD2026110{i:07d}",
                f"2026-11-{day:02d} {hour:02d}:{minute:02d}:00" if i % 3 else f"2026/11/{day} {hour}:{minute:02d}",
                rnd.choice(["电话", "12345热线", "网站", "微信", "APP", "信件"]),
                rnd.choice(["咨询", "投诉", "投诉类", "举报", "建议", "求助", "表扬"]),
                rnd.choice(["张三", "李四", "王五", "赵六"]),
                f"138{rnd.randint(0, 99_999_999):08d}",
                "企业" if enterprise else "个人",
                f"某某科技有限公司{i % 500}" if enterprise else "",
                f"91410100MA{i % 10_000_000:08d}" if enterprise else "",
                f"金水区某某路{rnd.randint(1, 300)}号",
                rnd.choice(["龙子湖街道", "如意湖街道", "博学路街道"]),
                "关于" + rnd.choice(["办证", "停电", "发票", "贷款"]) + "的诉求",
                rnd.choice(TEXTS) + f"（第{i}号）",
                rnd.choice(["城乡建设", "经济管理", "", "其他"]),
                rnd.choice(["市场监督管理局", "供电公司", "税务局", "不动产登记中心"]),
                rnd.choice(["5个工作日", f"2026-12-{day:02d}", ""]),
                f"2026-11-{day:02d} 18:00:00" if rnd.random() < 0.7 else "",
                "已联系企业，问题已处理。",
                rnd.choice(["已办结", "办理中"]),
                rnd.choice(["满意", "非常满意", "基本满意", "不满意", "未回访", ""]),
                rnd.choice(["是", "否", ""]),
            ]
            f.write(",".join(row) + "\n")


def _child(mode: str, path: str, chunk_rows: int) -> None:
    """Run one measurement and print JSON {seconds, rows, peak_rss_mb}."""
    sys.path.insert(0, str(ROOT))
    import yaml

    cfg = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    start = time.perf_counter()
    rows = 0
    if mode == "csv_reader":
        import csv

        with open(path, encoding="gb18030", newline="") as f:
            for _ in csv.reader(f):
                rows += 1
        rows -= 2
    elif mode == "pandas_chunks":
        import pandas as pd

        for chunk in pd.read_csv(path, encoding="gb18030", dtype=str, skiprows=1, chunksize=chunk_rows,
                                 keep_default_na=False):
            rows += len(chunk)
    elif mode == "iter_parse_file":
        from pipeline.sources import iter_parse_file

        for parsed in iter_parse_file(Path(path), "hotline", cfg, chunk_rows=chunk_rows):
            rows += parsed.rows_in
    elif mode == "parse_file":
        from pipeline.sources import parse_file

        rows = parse_file(Path(path), "hotline", cfg).rows_in
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_rss_mb": peak}))


def _measure(mode: str, path: Path, chunk_rows: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), "--chunk-rows", str(chunk_rows)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--chunk-rows", type=int, default=50_000)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.chunk_rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "12345工单_gbk.csv"
        generate(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(f"file: {args.rows:,} rows, {size_mb:.1f} MB, GBK; chunk_rows={args.chunk_rows:,}")
        results = {m: _measure(m, path, args.chunk_rows)
                   for m in ("csv_reader", "pandas_chunks", "iter_parse_file", "parse_file")}
    ref = results["csv_reader"]
    print(f"{'mode':<18}{'rows':>9}{'seconds':>9}{'rows/s':>10}{'peak RSS MB':>13}{'time × csv.reader':>19}")
    for mode, r in results.items():
        print(f"{mode:<18}{r['rows']:>9,}{r['seconds']:>9.2f}{r['rows'] / r['seconds']:>10,.0f}"
              f"{r['peak_rss_mb']:>13.0f}{r['seconds'] / ref['seconds']:>19.1f}")
    if results["iter_parse_file"]["rows"] != args.rows:
        sys.exit(f"expected {args.rows} rows, parsed {results['iter_parse_file']['rows']}")


if __name__ == "__main__":
    main()
