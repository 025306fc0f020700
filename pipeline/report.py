"""The monthly report (营商环境监测月度报告): one self-contained HTML file with embedded charts.

``write_report(month, out, db_url)`` writes ``out/report.html`` and the chart images
``out/charts/*.png``. The page needs no network to open: the charts are embedded as data URIs,
styles are inline, there is no script, and a Content-Security-Policy forbids every fetch, so it can
be mailed or forwarded as it is.

Every number comes from :func:`pipeline.report_data.collect` (the analyst views); this module only
draws and formats. Every text that comes from data (clue titles, unit and street names …) is
HTML-escaped. Charts are drawn with matplotlib in a CJK font; without one the command stops with
:class:`MissingFontError` before writing anything, instead of drawing empty boxes. Colours differ in
lightness as well as hue, and series also differ by marker or hatch, so the charts survive a
black-and-white printer.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.report_data import UNKNOWN_STREET, collect

CJK_FONT_CANDIDATES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
                       "WenQuanYi Zen Hei", "Noto Sans CJK JP", "SimHei", "Microsoft YaHei", "PingFang SC")
HTML_FONTS = "'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', " \
             "'PingFang SC', sans-serif"

# Print-safe palette: the pairs that must stay apart on a grey printer differ in lightness
# (relative luminance INK 0.01, DARK ≈ 0.06, MID ≈ 0.25, LIGHT ≈ 0.63); a test checks this.
INK = "#1a1a1a"
DARK = "#1f4e79"
MID = "#7d8fa3"
LIGHT = "#c9d3de"
ACCENT = "#b03a2e"  # only together with a marker or a label, never as the sole difference
PALETTE = {"INK": INK, "DARK": DARK, "MID": MID, "LIGHT": LIGHT}
DPI = 150

CHART_TITLES = {
    "trend_total": "近13个月反映总量与负面占比",
    "trend_areas": "近13个月各领域反映量",
    "sources_channels": "反映来源与渠道（本月与上月）",
    "area_rank": "各领域综合指数排名",
    "satisfaction": "各领域问卷满意度与第三方测评得分",
}


class MissingFontError(RuntimeError):
    """No CJK font is installed, so Chinese chart labels would render as empty boxes."""


def cjk_font() -> str:
    """The name of an installed CJK font matplotlib can use; raises :class:`MissingFontError`."""
    from matplotlib import font_manager

    def pick() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((c for c in CJK_FONT_CANDIDATES if c in names), None)

    found = pick()
    if found is None:
        # A font installed after matplotlib built its cache is found only after a rebuild.
        font_manager._load_fontmanager(try_read_cache=False)
        found = pick()
    if found is None:
        raise MissingFontError(
            "no CJK font found, so the report's Chinese chart labels would be empty boxes; install one "
            "(Debian: 'apt-get install fonts-noto-cjk' or 'apt-get install fonts-wqy-microhei', or 'make fonts') "
            "and run the command again")
    return found


# --------------------------------------------------------------------------- month helpers (used by pipeline/monthly.py)


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First day of ``month`` and first day of the next month (an exclusive end)."""
    y, m = (int(x) for x in month.split("-"))
    return dt.date(y, m, 1), dt.date(y + (m == 12), m % 12 + 1, 1)


def shift_month(month: str, delta: int) -> str:
    """'YYYY-MM' moved by ``delta`` months."""
    y, m = (int(x) for x in month.split("-"))
    idx = y * 12 + (m - 1) + delta
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


# --------------------------------------------------------------------------- formatting


def month_zh(month: str) -> str:
    return f"{int(month[:4])}年{int(month[5:])}月"


def fmt_int(v: float | None) -> str:
    return "—" if v is None else f"{int(round(v)):,}"


def fmt_share(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def fmt_score(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def fmt_rate(num: int, den: int) -> str:
    return "—" if not den else f"{num / den * 100:.1f}%"


def fmt_change(v: float | None, kind: str) -> str:
    """A signed change: per cent, percentage points, points or a count."""
    if v is None:
        return "—"
    if kind == "pct":
        return f"{v:+.1f}%"
    if kind == "pp":
        return f"{v:+.1f}个百分点"
    if kind == "pts":
        return f"{v:+.1f}分"
    return f"{int(round(v)):+d}件"


def arrow(v: float | None, bad_when_up: bool | None = True, eps: float = 1e-9) -> str:
    """▲/▼/＝ with a class saying whether the move is bad or good (colour is only a second cue)."""
    if v is None:
        return ""
    if abs(v) <= eps:
        return '<span class="flat">＝</span>'
    up = v > 0
    cls = "neutral" if bad_when_up is None else ("bad" if up == bad_when_up else "good")
    return f'<span class="{cls}">{"▲" if up else "▼"}</span>'


def e(v: Any) -> str:
    """HTML-escape any value from data (texts may hold markup or SQL)."""
    return html.escape("" if v is None else str(v), quote=True)


# --------------------------------------------------------------------------- charts


def _luminance(hex_colour: str) -> float:
    """Relative luminance (WCAG) of a #rrggbb colour: what a grey printer keeps."""
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _month_ticks(months: Sequence[str]) -> list[str]:
    """'2025年11月', '12月', '2026年1月', …: the year where it starts or changes."""
    out = []
    for i, m in enumerate(months):
        out.append(f"{m[:4]}年{int(m[5:])}月" if i == 0 or m.endswith("-01") else f"{int(m[5:])}月")
    return out


class _Charts:
    def __init__(self, font: str) -> None:
        self.rc = {
            "font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"], "axes.unicode_minus": False,
            "font.size": 10.5, "axes.titlesize": 12, "axes.titleweight": "bold", "axes.labelsize": 10.5,
            "xtick.labelsize": 9.5, "ytick.labelsize": 9.5, "legend.fontsize": 9.5, "axes.edgecolor": INK,
            "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.color": "#dddddd",
            "grid.linewidth": 0.6, "axes.axisbelow": True, "hatch.linewidth": 0.7, "hatch.color": INK,
        }

    def png(self, draw: Any, *args: Any) -> bytes:
        import matplotlib
        from matplotlib.figure import Figure

        fm_log = logging.getLogger("matplotlib.font_manager")
        level = fm_log.level
        fm_log.setLevel(logging.ERROR)  # a font without a bold face is drawn regular: not worth a warning
        try:
            with matplotlib.rc_context(self.rc):
                fig = draw(Figure, *args)
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
        finally:
            fm_log.setLevel(level)
        return buf.getvalue()


def _draw_trend_total(Figure: Any, data: dict[str, Any]) -> Any:
    t = data["trend"]
    months = t["months"]
    x = list(range(len(months)))
    fig = Figure(figsize=(10, 3.8))
    ax = fig.add_subplot()
    colours = [DARK if i == len(x) - 1 else LIGHT for i in x]
    bars = ax.bar(x, t["total"], color=colours, edgecolor=INK, linewidth=0.6, label="反映量（件，左轴）", width=0.68)
    for i, b in enumerate(bars):
        if t["has_data"][i]:
            ax.annotate(f"{t['total'][i]:,}", (b.get_x() + b.get_width() / 2, b.get_height()), ha="center",
                        va="bottom", fontsize=8.5, xytext=(0, 2), textcoords="offset points",
                        fontweight="bold" if i == len(x) - 1 else "normal")
    ax.set_ylabel("反映量（件）")
    ax.set_ylim(0, max(max(t["total"]), 1) * 1.18)
    ax.set_xticks(x, _month_ticks(months))
    ax2 = ax.twinx()
    shares = [math.nan if s is None else s * 100 for s in t["negative_share"]]
    ax2.plot(x, shares, color=INK, linestyle="--", marker="s", markersize=5, linewidth=1.6,
             label="负面占比（%，右轴）")
    ax2.set_ylim(0, max([s for s in shares if not math.isnan(s)] + [10]) * 1.35)
    ax2.set_ylabel("负面占比（%）")
    ax2.grid(False)
    ax2.spines["right"].set_visible(True)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", ncols=2, frameon=False)
    ax.set_title(f"{CHART_TITLES['trend_total']}（深色为{month_zh(data['month'])}）", loc="left")
    return fig


def _draw_trend_areas(Figure: Any, data: dict[str, Any]) -> Any:
    t = data["trend"]
    months = t["months"]
    areas = [a for a in data["areas"] if a["area"] in t["by_area"]]
    ncols = 5
    nrows = max(1, math.ceil(len(areas) / ncols))
    fig = Figure(figsize=(11, 2.3 * nrows + 0.4))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    x = list(range(len(months)))
    for k, ax in enumerate(axes.flat):
        if k >= len(areas):
            ax.set_visible(False)
            continue
        a = areas[k]
        ys = [v if t["has_data"][i] else math.nan for i, v in enumerate(t["by_area"][a["area"]])]
        ax.fill_between(x, [0 if math.isnan(v) else v for v in ys], where=t["has_data"], color=LIGHT, linewidth=0)
        ax.plot(x, ys, color=INK, linewidth=1.4, marker="o", markersize=2.8)
        ax.plot([x[-1]], [ys[-1]], marker="o", markersize=7, color=DARK, markeredgecolor=INK)
        ax.annotate(fmt_int(ys[-1]) if not math.isnan(ys[-1]) else "", (x[-1], ys[-1]), xytext=(7, 0),
                    textcoords="offset points", ha="left", va="center", fontsize=9.5, fontweight="bold")
        top = max([v for v in ys if not math.isnan(v)] + [1])
        ax.set_ylim(0, top * 1.25)
        ax.set_xlim(-0.5, len(x) + 1.6)  # room for the label right of the last point
        ax.set_title(f"{a['area']} {a['name']}", fontsize=10.5, loc="left")
        ax.set_xticks([0, len(x) - 1], [_month_ticks(months)[0], f"{int(months[-1][5:])}月"])
        ax.tick_params(labelsize=8.5)
        ax.locator_params(axis="y", nbins=3)
    fig.suptitle(f"{CHART_TITLES['trend_areas']}（件，各图纵轴刻度不同）", x=0.01, ha="left", fontweight="bold",
                 fontsize=12)
    fig.tight_layout()
    return fig


def _hbars(ax: Any, rows: list[dict[str, Any]], title: str, has_prev: bool) -> None:
    labels = [str(r["name"]) for r in rows][::-1]
    cur = [r["n"] for r in rows][::-1]
    y = list(range(len(rows)))
    h = 0.38 if has_prev else 0.6
    ax.barh([v + (h / 2 if has_prev else 0) for v in y], cur, height=h, color=DARK, edgecolor=INK, linewidth=0.6,
            label="本月")
    if has_prev:
        prev = [r["n_prev"] or 0 for r in rows][::-1]
        ax.barh([v - h / 2 for v in y], prev, height=h, color=LIGHT, edgecolor=INK, linewidth=0.6, hatch="///",
                label="上月")
    for v, n in zip(y, cur, strict=True):
        ax.annotate(f"{n:,}", (n, v + (h / 2 if has_prev else 0)), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=9, fontweight="bold")
    ax.set_yticks(y, labels)
    ax.set_xlim(0, max(max(cur + [r["n_prev"] or 0 for r in rows]), 1) * 1.2)
    ax.set_title(title, loc="left")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower right", frameon=False)


def _draw_sources_channels(Figure: Any, data: dict[str, Any]) -> Any:
    fig = Figure(figsize=(11, 3.6))
    a1, a2 = fig.subplots(1, 2)
    channels = [dict(c, name="未注明" if c["channel"] == UNKNOWN_STREET else c["name"]) for c in data["channels"]]
    _hbars(a1, data["sources"], "按来源（件）", data["has_prev_month"])
    _hbars(a2, channels, "按渠道（件）", data["has_prev_month"])
    fig.tight_layout()
    return fig


def _draw_area_rank(Figure: Any, data: dict[str, Any]) -> Any:
    rows = [r for r in data["area_rank"] if r["composite_index"] is not None and r["rank"] is not None]
    fig = Figure(figsize=(10, 0.42 * max(len(rows), 3) + 1.0))
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    vals = [r["composite_index"] for r in rows]
    ax.barh(y, vals, color=[ACCENT if r["worse"] else DARK for r in rows], edgecolor=INK, linewidth=0.6,
            hatch=["xx" if r["worse"] else "" for r in rows], height=0.62)
    prev = [(yy, r["composite_prev"]) for yy, r in zip(y, rows, strict=True) if r["composite_prev"] is not None]
    if prev:
        ax.scatter([p for _, p in prev], [yy for yy, _ in prev], marker="D", s=34, facecolor="white",
                   edgecolor=INK, linewidth=1.3, zorder=3, label="上月综合指数")
    for yy, r in zip(y, rows, strict=True):
        move = ""
        if r["rank_prev"] is not None:
            d = r["rank_prev"] - r["rank"]
            move = f"  {'↑' if d > 0 else '↓' if d < 0 else '→'}{abs(d) if d else ''}"
        ax.annotate(f"{r['composite_index']:.1f}{move}", (max(r["composite_index"], r["composite_prev"] or 0), yy),
                    xytext=(8, 0),
                    textcoords="offset points", va="center", fontsize=9, fontweight="bold")
    ax.set_yticks(y, [f"第{r['rank']}名  {r['area']} {r['name']}" for r in rows])
    ax.set_xlim(0, 100)  # bars start at zero: a cut axis would exaggerate the gaps
    ax.set_xlabel("综合指数（0–100，越高越好；红色交叉线＝较上月下降1分以上；箭头＝名次变化）")
    ax.set_title(CHART_TITLES["area_rank"], loc="left")
    ax.grid(axis="y", visible=False)
    if prev:
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
    return fig


def _draw_satisfaction(Figure: Any, data: dict[str, Any]) -> Any:
    rows = [r for r in data["area_rank"] if r["survey_satisfaction"] is not None or r["third_party"] is not None]
    rows.sort(key=lambda r: [a["area"] for a in data["areas"]].index(r["area"]))
    fig = Figure(figsize=(10, 0.42 * max(len(rows), 3) + 1.2))
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    vals: list[float] = []
    for yy, r in zip(y, rows, strict=True):
        s, s0, tp = r["survey_satisfaction"], r["survey_prev"], r["third_party"]
        if s is not None and s0 is not None:
            ax.annotate("", xy=(s, yy), xytext=(s0, yy), arrowprops={"arrowstyle": "-|>", "color": MID, "lw": 1.4})
        vals += [v for v in (s, s0, tp) if v is not None]
    pts = [(r["survey_satisfaction"], yy) for yy, r in zip(y, rows, strict=True) if r["survey_satisfaction"] is not None]
    prv = [(r["survey_prev"], yy) for yy, r in zip(y, rows, strict=True) if r["survey_prev"] is not None]
    tps = [(r["third_party"], yy) for yy, r in zip(y, rows, strict=True) if r["third_party"] is not None]
    if prv:
        ax.scatter(*zip(*prv, strict=True), marker="o", s=40, facecolor="white", edgecolor=MID, linewidth=1.4,
                   zorder=3, label="问卷满意度·上月")
    if pts:
        ax.scatter(*zip(*pts, strict=True), marker="o", s=70, color=DARK, edgecolor=INK, zorder=4,
                   label="问卷满意度·本月")
        for v, yy in pts:
            ax.annotate(f"{v:.1f}", (v, yy), xytext=(0, 7), textcoords="offset points", ha="center", fontsize=8.5,
                        fontweight="bold")
    if tps:
        ax.scatter(*zip(*tps, strict=True), marker="^", s=70, color=INK, zorder=4, label="第三方测评·本月")
    ax.set_yticks(y, [f"{r['area']} {r['name']}" for r in rows])
    lo = min(vals) if vals else 0
    ax.set_xlim(max(0, math.floor(lo / 10) * 10 - 5), 100)
    ax.set_xlabel("得分（百分制）")
    ax.set_title(CHART_TITLES["satisfaction"], loc="left")
    ax.grid(axis="y", visible=False)
    if pts or prv or tps:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=3, frameon=False)
    else:  # a month with hotline data only: say so rather than draw an empty plot
        ax.text(0.5, 0.5, "本月无问卷满意度和第三方测评得分", transform=ax.transAxes, ha="center", va="center",
                color=MID, fontsize=11)
    return fig


# --------------------------------------------------------------------------- HTML


CSS = """
*{box-sizing:border-box}
body{font-family:FONTS;margin:0;color:#1a1a1a;background:#fff;line-height:1.55;font-size:15px;
 -webkit-print-color-adjust:exact;print-color-adjust:exact}
main{max-width:1120px;margin:0 auto;padding:24px 28px 40px}
header{border-bottom:3px solid #1f4e79;padding-bottom:10px;margin-bottom:18px}
h1{font-size:28px;margin:0 0 4px;color:#1f4e79;letter-spacing:1px}
.sub{color:#444;font-size:13.5px}
h2{font-size:19px;margin:30px 0 10px;padding-left:10px;border-left:6px solid #1f4e79}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:12px}
.card{border:1px solid #8a96a3;border-radius:6px;padding:10px 14px;background:#f6f8fa;break-inside:avoid}
.card .label{font-size:14px;color:#333;font-weight:bold}
.card .value{font-size:32px;font-weight:bold;color:#1f4e79;line-height:1.25}
.card .unit{font-size:15px;margin-left:3px;color:#333;font-weight:normal}
.card .cmp{display:flex;gap:16px;font-size:14px}
.card .note{font-size:12.5px;color:#555}
.bad{color:#b03a2e;font-weight:bold}.good{color:#1d6b39;font-weight:bold}.neutral{color:#1f4e79;font-weight:bold}
.flat{color:#666}
.summary{border:2px solid #1f4e79;border-radius:6px;padding:8px 16px 8px 8px;background:#fff;break-inside:avoid}
.summary ol{margin:6px 0;padding-left:28px}.summary li{margin:4px 0;font-size:16px}
figure{margin:8px 0 4px;break-inside:avoid}
figure img{width:100%;height:auto;display:block;border:1px solid #e1e4e8}
figcaption{font-size:12.5px;color:#555;margin-top:3px}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13.5px;break-inside:auto}
thead{display:table-header-group}
tr{break-inside:avoid}
th,td{border:1px solid #9aa5b1;padding:4px 7px;text-align:right;vertical-align:top;white-space:nowrap}
th{background:#e4e9ef;text-align:center;font-weight:bold}
td.t{text-align:left;white-space:normal}
td.worse{font-weight:bold}
.heat td{text-align:center;min-width:40px}
.muted{color:#666;font-size:12.5px}
.defs{font-size:12.5px;color:#444;border-top:1px solid #ccc;margin-top:28px;padding-top:8px}
.defs dt{font-weight:bold;margin-top:4px}.defs dd{margin:0 0 2px 1.5em}
@media (max-width:760px){.cards{grid-template-columns:1fr 1fr}}
@media print{main{max-width:none;padding:0}body{font-size:11pt}h2{break-after:avoid}
 .cards{grid-template-columns:repeat(3,1fr)}}
@page{size:A4;margin:12mm}
"""

CARD_META = {  # key: (label, unit, is a rise bad?)
    "volume": ("反映总量", "件", True),
    "negative_share": ("负面占比", "", True),
    "satisfaction": ("问卷满意度指数", "分", False),
    "new_clues": ("新增问题线索", "条", True),
    "ledger_open": ("台账在办", "项", True),
    "ledger_overdue": ("台账超期未整改", "项", True),
}


def card_value(key: str, c: dict[str, Any]) -> str:
    """The big number of a headline card, as shown."""
    v = c["value"]
    if key == "negative_share":
        return fmt_share(v)
    if key == "satisfaction":
        return fmt_score(v)
    return fmt_int(v)


def _ref(key: str, v: Any) -> str:
    if v is None:
        return "无数据"
    if key == "negative_share":
        return fmt_share(v)
    if key == "satisfaction":
        return fmt_score(v) + "分"
    return fmt_int(v) + CARD_META[key][1]


def _cards_html(data: dict[str, Any]) -> str:
    parts = ['<section class="cards">']
    for key, (label, unit, bad_up) in CARD_META.items():
        c = data["cards"][key]
        value = card_value(key, c)
        unit_html = f'<span class="unit">{e(unit)}</span>' if unit and c["value"] is not None else ""
        cmp = " ".join(
            f'<span data-cmp="{tag}">{name} {arrow(c[tag], bad_up)} <b>{e(fmt_change(c[tag], c["kind"]))}</b></span>'
            for tag, name in (("mom", "环比"), ("yoy", "同比")))
        extra = ""
        if key == "satisfaction" and c.get("n_answers"):
            extra = f"；本月 {fmt_int(c['n_answers'])} 个回答"
        if key.startswith("ledger"):
            extra = f"；截至 {e(data['as_of'])}"
        parts.append(
            f'<div class="card" data-metric="{key}"><div class="label">{e(label)}</div>'
            f'<div class="value" data-value="{e(value)}">{e(value)}{unit_html}</div><div class="cmp">{cmp}</div>'
            f'<div class="note">上月 {e(_ref(key, c["prev_month"]))} · 去年同期 {e(_ref(key, c["prev_year"]))}'
            f'{extra}</div></div>')
    parts.append("</section>")
    return "".join(parts)


def _figure(uri: str, name: str, alt: str, caption: str = "") -> str:
    cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
    return f'<figure data-chart="{e(name)}"><img src="{uri}" alt="{e(alt)}">{cap}</figure>'


def _area_table(data: dict[str, Any]) -> str:
    rows = ['<table data-table="area_rank"><thead><tr><th>排名</th><th>领域</th><th>综合指数</th><th>较上月</th>'
            '<th>反映量</th><th>环比</th><th>同比</th><th>负面占比</th><th>负面占比环比</th><th>较上月</th></tr></thead><tbody>']
    for r in data["area_rank"]:
        rank = "—" if r["rank"] is None else str(r["rank"])
        if r["rank"] is not None and r["rank_prev"] is not None and r["rank_prev"] != r["rank"]:
            d = r["rank_prev"] - r["rank"]
            rank += f' <span class="{"good" if d > 0 else "bad"}">{"↑" if d > 0 else "↓"}{abs(d)}</span>'
        status = {None: "—", "worse": '<span class="bad">▼ 变差</span>', "better": '<span class="good">▲ 向好</span>',
                  "flat": '<span class="flat">＝ 持平</span>'}[r["direction"]]
        rows.append(
            f'<tr data-area="{e(r["area"])}"><td>{rank}</td><td class="t">{e(r["area"])} {e(r["name"])}</td>'
            f'<td>{fmt_score(r["composite_index"])}</td>'
            f'<td>{arrow(r["composite_mom_pts"], False)} {e(fmt_change(r["composite_mom_pts"], "pts"))}</td>'
            f'<td data-n="{r["n_feedback"]}">{fmt_int(r["n_feedback"])}</td>'
            f'<td>{arrow(r["mom_pct"], True)} {e(fmt_change(r["mom_pct"], "pct"))}</td>'
            f'<td>{e(fmt_change(r["yoy_pct"], "pct"))}</td><td>{fmt_share(r["negative_share"])}</td>'
            f'<td>{arrow(r["negative_share_mom_pp"], True)} {e(fmt_change(r["negative_share_mom_pp"], "pp"))}</td>'
            f'<td>{status}</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def _heat_colour(v: int, vmax: int) -> tuple[str, str]:
    """Background and text colour of a heat cell: white → dark blue, text white on dark cells."""
    if v <= 0 or vmax <= 0:
        return "#ffffff", "#999999"
    f = 0.12 + 0.88 * (v / vmax)
    lo, hi = (255, 255, 255), (31, 78, 121)
    r, g, b = (round(lo[i] + (hi[i] - lo[i]) * f) for i in range(3))
    return f"#{r:02x}{g:02x}{b:02x}", ("#ffffff" if f > 0.55 else "#1a1a1a")


def _street_table(data: dict[str, Any]) -> str:
    areas = data["heat_areas"]
    names = {a["area"]: a["name"] for a in data["areas"]}
    vmax = max([v for r in data["streets"] for v in r["by_area"].values()] + [0])
    head = "".join(f'<th title="{e(names.get(a, a))}">{e(a)}<br><span class="muted">{e(names.get(a, a))}</span></th>'
                   for a in areas)
    rows = [f'<table class="heat" data-table="streets"><thead><tr><th>街道（镇）</th>{head}<th>合计</th>'
            f'<th>上月</th><th>环比</th><th>负面占比</th></tr></thead><tbody>']
    for r in data["streets"]:
        cells = []
        for a in areas:
            v = r["by_area"].get(a, 0)
            bg, fg = _heat_colour(v, vmax)
            cells.append(f'<td style="background:{bg};color:{fg}">{v if v else "·"}</td>')
        label = "未注明街道" if r["street"] == UNKNOWN_STREET else r["street"]
        worse = r["delta"] is not None and r["delta"] > 0
        rows.append(
            f'<tr data-street="{e(r["street"])}"><td class="t{" worse" if worse else ""}">{e(label)}</td>'
            f'{"".join(cells)}<td data-n="{r["n"]}"><b>{fmt_int(r["n"])}</b></td><td>{fmt_int(r["n_prev"])}</td>'
            f'<td>{arrow(r["mom"], True)} {e(fmt_change(r["mom"], "pct"))}</td><td>{fmt_share(r["negative_share"])}</td>'
            f'</tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def _clue_table(data: dict[str, Any]) -> str:
    if not data["top_clues"]:
        return '<p class="muted">本月尚未生成问题线索（运行 yingshang clues）。</p>'
    rows = ['<table data-table="top_clues"><thead><tr><th>序号</th><th>问题线索</th><th>领域</th><th>件数</th>'
            '<th>企业数</th><th>热度</th><th>分级</th><th>责任单位</th><th>整改时限</th><th>台账状态</th></tr></thead><tbody>']
    for i, c in enumerate(data["top_clues"], 1):
        rec = ' <span class="bad">（反复出现）</span>' if c["recurring"] else ""
        rows.append(
            f'<tr data-clue="{e(c["clue_id"])}"><td>{i}</td><td class="t">{e(c["title"])}{rec}'
            f'<br><span class="muted">{e(c["clue_id"])}</span></td>'
            f'<td class="t">{e(c["area"])} {e(c["area_name"])}</td><td>{c["n_items"]}</td><td>{c["n_entities"]}</td>'
            f'<td>{c["heat"]:.1f}</td><td>{e(c["grade"])}</td><td class="t">{e(c["responsible_unit"] or "—")}</td>'
            f'<td>{e(c["deadline"] or "—")}</td><td class="t">{e(c["status"] or "未入台账")}</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def _unit_table(data: dict[str, Any]) -> str:
    if not data["units"]:
        return '<p class="muted">暂无责任单位数据。</p>'
    rows = ['<table data-table="units"><thead><tr><th rowspan="2">责任单位</th><th colspan="6">问题台账（截至 '
            f'{e(data["as_of"])}）</th><th colspan="3">本月12345等工单</th></tr><tr><th>累计交办</th><th>本月新交办</th>'
            '<th>按期销号</th><th>在办</th><th>超期</th><th>回访满意率</th><th>工单数</th><th>按时办结率</th>'
            '<th>回访满意率</th></tr></thead><tbody>']
    for u in data["units"]:
        over = f'<span class="bad">{u["overdue"]}</span>' if u["overdue"] else "0"
        rows.append(
            f'<tr data-unit="{e(u["unit"])}"><td class="t">{e(u["unit"])}</td><td>{u["assigned"]}</td>'
            f'<td>{u["assigned_month"]}</td><td>{u["closed_on_time"]}/{u["closed"]}</td><td>{u["open"]}</td>'
            f'<td>{over}</td><td>{fmt_rate(u["followup_satisfied"], u["followup_n"])}</td>'
            f'<td>{fmt_int(u["orders"])}</td><td>{fmt_rate(u["orders_on_time"], u["orders_handled"])}</td>'
            f'<td>{fmt_rate(u["orders_satisfied"], u["orders_followup"])}</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


def _satisfaction_table(data: dict[str, Any]) -> str:
    rows = ['<table data-table="satisfaction"><thead><tr><th>领域</th><th>问卷满意度</th><th>回答数</th><th>环比</th>'
            '<th>同比</th><th>第三方测评</th><th>测评得分数</th><th>环比</th><th>同比</th></tr></thead><tbody>']
    order = [a["area"] for a in data["areas"]]
    for r in sorted(data["area_rank"], key=lambda r: order.index(r["area"])):
        if r["survey_satisfaction"] is None and r["third_party"] is None:
            continue
        rows.append(
            f'<tr data-area="{e(r["area"])}"><td class="t">{e(r["area"])} {e(r["name"])}</td>'
            f'<td>{fmt_score(r["survey_satisfaction"])}</td><td>{fmt_int(r["survey_n"])}</td>'
            f'<td>{arrow(r["survey_mom_pts"], False)} {e(fmt_change(r["survey_mom_pts"], "pts"))}</td>'
            f'<td>{e(fmt_change(r["survey_yoy_pts"], "pts"))}</td><td>{fmt_score(r["third_party"])}</td>'
            f'<td>{fmt_int(r["third_party_n"]) if r["third_party_n"] else "—"}</td>'
            f'<td>{arrow(r["third_party_mom_pts"], False)} {e(fmt_change(r["third_party_mom_pts"], "pts"))}</td>'
            f'<td>{e(fmt_change(r["third_party_yoy_pts"], "pts"))}</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)


DEFINITIONS = [
    ("反映总量", "本月各来源（12345热线、企业问卷意见、第三方测评、特邀监督员）进入数据仓库的反映条数。"),
    ("负面占比", "情感判定为负面的反映占反映总量的比例；变化以百分点计。"),
    ("问卷满意度指数", "本月企业问卷各领域满意度题的平均得分（百分制，非常满意=100 … 非常不满意=0）。"),
    ("新增问题线索", "本月由相似负面反映归并生成的问题线索条数。"),
    ("台账在办 / 超期", "截至统计日尚未销号的台账条目；其中已过整改时限且尚未报告整改完成的为超期。"
                     "环比、同比为一个月前、一年前同一天的情况。"),
    ("综合指数", "负面占比、问卷满意度、第三方测评、按时办结率、回访满意率、投诉量六项的加权平均（0–100，越高越好）。"),
    ("环比 / 同比", "与上月 / 去年同月相比；件数以百分比、占比以百分点、得分以分计。“—”表示对比月份无数据。"),
]


def render_html(data: dict[str, Any], charts: dict[str, str], font: str) -> str:
    """The report page for ``data`` (from :func:`collect`) with the charts as data URIs."""
    month = data["month"]
    generated = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    summary = "".join(f"<li>{e(s)}</li>" for s in data["summary"])
    payload = json.dumps(data, ensure_ascii=False, default=str).replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")
    worse_streets = [r for r in data["streets"] if r["street"] != UNKNOWN_STREET and (r["delta"] or 0) > 0]
    worse_streets.sort(key=lambda r: (-(r["delta"] or 0), r["street"]))
    worse_areas = [r for r in data["area_rank"] if r["worse"]]
    no_prev = "上月无可比数据"
    worse_txt = "、".join(f"{r['area']} {r['name']}" for r in worse_areas) or "无"
    street_txt = "、".join(f"{r['street']}（+{r['delta']}件）" for r in worse_streets[:5]) or "无"
    if not data["has_prev_month"]:
        worse_txt = street_txt = no_prev
    summary_note = ("按变化的显著程度（相对于正常波动）排序，自动生成。" if data["changes"]
                    else "上月无可比数据，列出本月自身的主要情况，自动生成。")
    bars_note = ("深色实心为本月，浅色斜线为上月。" if data["has_prev_month"] else "上月无数据，仅列本月。") + \
        "渠道“未注明”多为问卷、测评、监督员等非热线来源。"
    defs = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in DEFINITIONS)
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="yingshang report">
<title>营商环境监测月度报告 · {e(month_zh(month))}</title>
<style>{CSS.replace("FONTS", HTML_FONTS)}</style></head>
<body><main>
<header><h1>营商环境监测月度报告 · {e(month_zh(month))}</h1>
<div class="sub">统计月份 {e(month)}；对比：环比 {e(data["prev_month"])}，同比 {e(data["prev_year_month"])}；
台账统计截至 {e(data["as_of"])}；生成于 {e(generated)}；数据来源：数据仓库分析视图。</div></header>
{_cards_html(data)}
<h2>本月三大变化</h2>
<section class="summary" data-section="summary"><ol>{summary}</ol>
<p class="muted">{e(summary_note)}</p></section>
<h2>一、反映量走势</h2>
{_figure(charts["trend_total"], "trend_total", CHART_TITLES["trend_total"])}
{_figure(charts["trend_areas"], "trend_areas", CHART_TITLES["trend_areas"],
         "各小图为一个指标领域，末端圆点与数字为本月反映量。")}
<h2>二、反映来源与渠道</h2>
{_figure(charts["sources_channels"], "sources_channels", CHART_TITLES["sources_channels"],
         bars_note)}
<h2>三、各领域排名与变化</h2>
<p>综合指数较上月下降（变差）的领域：<b>{e(worse_txt)}</b>。</p>
{_figure(charts["area_rank"], "area_rank", CHART_TITLES["area_rank"])}
{_area_table(data)}
<h2>四、街道（镇）分布</h2>
<p>反映量较上月增加的街道（镇）：<b>{e(street_txt)}</b>。</p>
{_street_table(data)}
<p class="muted">单元格为本月各街道（镇）在各领域的反映件数，颜色越深件数越多。</p>
<h2>五、热度前十的问题线索</h2>
{_clue_table(data)}
<h2>六、责任单位办理情况</h2>
{_unit_table(data)}
<p class="muted">按期销号＝已销号条目中在整改时限内销号的（按期数/已销号数）；回访满意率＝回访“满意”“基本满意”占已回访的比例。</p>
<h2>七、企业满意度与第三方测评</h2>
{_figure(charts["satisfaction"], "satisfaction", CHART_TITLES["satisfaction"],
         "圆点为问卷满意度（空心为上月，箭头为变化方向），三角为第三方测评得分。")}
{_satisfaction_table(data)}
<section class="defs"><b>口径说明</b><dl>{defs}</dl></section>
<script type="application/json" id="report-data">{payload}</script>
</main></body></html>
"""


def write_report(month: str, out: Path, db_url: str | None, *, today: dt.date | None = None) -> Path:
    """Write ``report.html`` and ``charts/*.png`` for ``month`` into ``out``; returns the HTML path.

    Raises :class:`MissingFontError` (before writing anything) when no CJK font is installed and
    :class:`pipeline.report_data.NoDataError` when the month has no feedback.
    """
    import matplotlib

    matplotlib.use("Agg")
    font = cjk_font()
    data = collect(month, db_url, today=today)
    drawer = _Charts(font)
    draws = {"trend_total": _draw_trend_total, "trend_areas": _draw_trend_areas,
             "sources_channels": _draw_sources_channels, "area_rank": _draw_area_rank,
             "satisfaction": _draw_satisfaction}
    pngs = {name: drawer.png(fn, data) for name, fn in draws.items()}
    out = Path(out)
    (out / "charts").mkdir(parents=True, exist_ok=True)
    uris = {}
    for name, blob in pngs.items():
        (out / "charts" / f"{name}.png").write_bytes(blob)
        uris[name] = "data:image/png;base64," + base64.b64encode(blob).decode("ascii")
    path = out / "report.html"
    path.write_text(render_html(data, uris, font), encoding="utf-8")
    return path
