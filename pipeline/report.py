"""The monthly report (月度报告): one self-contained HTML file with embedded charts.

Everything shown is computed from the warehouse at the time of writing; the numbers in the page
are the same numbers the tests compute from the tables. Charts are PNGs rendered with matplotlib
using a CJK font (the command stops with a clear message when none is installed, rather than
drawing empty boxes) and embedded as data URIs, so the file opens with no network.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from pipeline.config import load_areas
from warehouse.db import get_engine
from warehouse.models import Feedback, LedgerItem, ProblemClue, SurveyAnswer

CJK_FONT_CANDIDATES = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
                       "Source Han Sans SC", "SimHei", "Microsoft YaHei", "PingFang SC")


class MissingFontError(RuntimeError):
    """No CJK font is installed, so Chinese chart labels would render as empty boxes."""


def cjk_font() -> str:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in CJK_FONT_CANDIDATES:
        if cand in names:
            return cand
    # A font installed after matplotlib built its cache is found only after a rebuild.
    font_manager._load_fontmanager(try_read_cache=False)
    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in CJK_FONT_CANDIDATES:
        if cand in names:
            return cand
    raise MissingFontError("no CJK font found for the charts: install one, e.g. "
                           "'apt-get install fonts-wqy-microhei' or 'fonts-noto-cjk', then run again")


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    y, m = (int(x) for x in month.split("-"))
    return dt.date(y, m, 1), dt.date(y + (m == 12), m % 12 + 1, 1)


def shift_month(month: str, delta: int) -> str:
    y, m = (int(x) for x in month.split("-"))
    idx = y * 12 + (m - 1) + delta
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def load_feedback(db_url: str | None, first_month: str, last_month: str) -> pd.DataFrame:
    start, _ = month_bounds(first_month)
    _, end = month_bounds(last_month)
    f = Feedback.__table__
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(select(f.c.feedback_id, f.c.source, f.c.channel, f.c.received_date, f.c.area,
                                   f.c.sentiment, f.c.street, f.c.satisfaction, f.c.on_time)
                            .where(f.c.received_date >= start, f.c.received_date < end)).mappings().all()
    df = pd.DataFrame([dict(r) for r in rows], columns=["feedback_id", "source", "channel", "received_date",
                                                        "area", "sentiment", "street", "satisfaction", "on_time"])
    df["month"] = pd.to_datetime(df["received_date"]).dt.strftime("%Y-%m")
    return df


def headline(df: pd.DataFrame, month: str) -> dict[str, Any]:
    cur = df[df["month"] == month]
    prev = df[df["month"] == shift_month(month, -1)]
    yoy = df[df["month"] == shift_month(month, -12)]

    def neg_share(x: pd.DataFrame) -> float | None:
        return float((x["sentiment"] == "neg").mean()) if len(x) else None

    def change(a, b):
        return None if a is None or b in (None, 0) else (a - b) / b

    out = {"volume": len(cur), "negative_share": neg_share(cur)}
    out["volume_mom"] = change(len(cur), len(prev) or None)
    out["volume_yoy"] = change(len(cur), len(yoy) or None)
    out["negative_share_mom"] = (None if out["negative_share"] is None or neg_share(prev) is None
                                 else out["negative_share"] - neg_share(prev))
    return out


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def write_report(month: str, out: Path, db_url: str | None) -> Path:
    """Write ``report.html`` (and the chart PNGs) for ``month`` into ``out``; returns the HTML path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    areas = load_areas()
    names = {a.code: a.name_zh for a in areas}
    first = shift_month(month, -12)
    df = load_feedback(db_url, first, month)
    head = headline(df, month)
    out.mkdir(parents=True, exist_ok=True)
    charts: dict[str, str] = {}

    months = [shift_month(first, i) for i in range(13)]
    trend = (df[df["area"] != "Z"].groupby(["month", "area"]).size().unstack(fill_value=0)
             .reindex(months, fill_value=0))
    fig, ax = plt.subplots(figsize=(9, 4))
    styles = ["-", "--", ":", "-."]
    for i, code in enumerate(c for c in names if c in trend.columns):
        ax.plot(trend.index, trend[code], styles[i % 4], marker="os^dv"[i % 5], label=f"{code} {names[code]}")
    ax.set_title(f"近13个月各指标领域反映量（截至{month}）")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=7, ncol=3)
    charts["trend"] = _png(fig)

    cur = df[df["month"] == month]
    by_area = cur.groupby("area").agg(n=("feedback_id", "size"), neg=("sentiment", lambda s: (s == "neg").mean()))
    fig, ax = plt.subplots(figsize=(8, 4))
    codes = [c for c in names if c in by_area.index]
    ax.barh([f"{c} {names[c]}" for c in codes], [by_area.loc[c, "n"] for c in codes], color="#4a6fa5",
            edgecolor="black", hatch="//")
    ax.invert_yaxis()
    ax.set_title(f"{month} 各领域反映量")
    charts["areas"] = _png(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    src = cur.groupby("source").size().sort_values(ascending=False)
    ax.bar(src.index.tolist(), src.values.tolist(), color="#777777", edgecolor="black")
    ax.set_title(f"{month} 各来源反映量")
    charts["sources"] = _png(fig)

    for name, uri in charts.items():
        (out / f"{name}.png").write_bytes(base64.b64decode(uri.split(",", 1)[1]))

    with get_engine(db_url).connect() as conn:
        clue_rows = conn.execute(select(ProblemClue).where(ProblemClue.month == month)
                                 .order_by(ProblemClue.heat.desc()).limit(10)).scalars().all()
        ledger = conn.execute(select(LedgerItem)).scalars().all()
        start, end = month_bounds(month)
        sat = conn.execute(select(SurveyAnswer.area, SurveyAnswer.score_100)
                           .where(SurveyAnswer.submitted_date >= start, SurveyAnswer.submitted_date < end,
                                  SurveyAnswer.area.is_not(None), SurveyAnswer.score_100.is_not(None))).all()
    sat_df = pd.DataFrame(sat, columns=["area", "score"])
    sat_by_area = sat_df.groupby("area")["score"].agg(["mean", "size"]) if len(sat_df) else None

    e = html.escape

    def pct(x):
        return "—" if x is None else f"{x:+.1%}"

    cards = [("反映总量", f"{head['volume']}", f"环比 {pct(head['volume_mom'])} · 同比 {pct(head['volume_yoy'])}"),
             ("负面占比", "—" if head["negative_share"] is None else f"{head['negative_share']:.1%}",
              "环比 " + ("—" if head["negative_share_mom"] is None else f"{head['negative_share_mom'] * 100:+.1f} 个百分点")),
             ("问卷满意度", "—" if sat_by_area is None else f"{sat_df['score'].mean():.1f}", "百分制"),
             ("本月线索", f"{len(clue_rows) if clue_rows else 0}", "按热度排前十见下表"),
             ("在办台账", f"{sum(1 for i in ledger if i.status != '已销号')}",
              f"超期 {sum(1 for i in ledger if i.overdue)}")]
    parts = [f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>营商环境月度报告 {e(month)}</title>
<style>body{{font-family:'{e(font)}',sans-serif;margin:2em;color:#222}} .cards{{display:flex;gap:1em;flex-wrap:wrap}}
.card{{border:1px solid #999;padding:.8em 1.2em;min-width:10em}} .card b{{font-size:1.6em;display:block}}
table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #999;padding:.3em .6em}} img{{max-width:100%}}
</style></head><body><h1>营商环境月度报告 · {e(month)}</h1><div class="cards">"""]
    for title, value, sub in cards:
        parts.append(f'<div class="card" data-metric="{e(title)}">{e(title)}<b>{e(value)}</b>{e(sub)}</div>')
    parts.append("</div>")
    parts.append(f'<h2>趋势</h2><img alt="trend" src="{charts["trend"]}">')
    parts.append(f'<h2>各领域</h2><img alt="areas" src="{charts["areas"]}"><img alt="sources" src="{charts["sources"]}">')
    parts.append("<table><tr><th>领域</th><th>反映量</th><th>负面占比</th><th>问卷满意度</th><th>样本量</th></tr>")
    for c in codes:
        s_mean = s_n = "—"
        if sat_by_area is not None and c in sat_by_area.index:
            s_mean, s_n = f"{sat_by_area.loc[c, 'mean']:.1f}", str(int(sat_by_area.loc[c, 'size']))
        parts.append(f"<tr><td>{e(c)} {e(names[c])}</td><td>{int(by_area.loc[c, 'n'])}</td>"
                     f"<td>{by_area.loc[c, 'neg']:.1%}</td><td>{s_mean}</td><td>{s_n}</td></tr>")
    parts.append("</table><h2>热度前十的问题线索</h2><table><tr><th>线索编号</th><th>领域</th><th>问题</th>"
                 "<th>件数</th><th>分级</th><th>责任单位</th><th>整改时限</th></tr>")
    for c in clue_rows:
        parts.append(f"<tr><td>{e(c.clue_id)}</td><td>{e(c.area)}</td><td>{e(c.title)}</td><td>{c.n_items}</td>"
                     f"<td>{e(c.grade)}</td><td>{e(c.responsible_unit or '')}</td><td>{c.deadline or ''}</td></tr>")
    parts.append("</table></body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
