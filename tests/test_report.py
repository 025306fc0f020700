"""The monthly report (月度报告): its numbers against the base tables, its page, its safety.

The expected numbers are computed here with pandas from the base tables the synthetic warehouse
(tests/report_warehouse.py, 14 months) was built from — feedback, survey_answer, survey_score,
problem_clue, ledger_item — not from the marts or views the report reads, so a wrong view, a wrong
mart or a wrong report all fail. The page is then checked to show those numbers, to escape every
text from data, to be self-contained, and the charts not to be blank.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
import report_warehouse as rw
from conftest import run_cli
from pg import drop_pg_database, pg_url_or_skip
from sqlalchemy import text

from pipeline import report as report_mod
from pipeline.report_data import NoDataError, as_of_day, collect, shift_day
from warehouse.db import get_engine
from warehouse.marts import add_months, month_range

MONTH = rw.REPORT_MONTH
TODAY = rw.TODAY
OPEN = ("待交办", "整改中", "重新交办")


def _font_or_skip() -> None:
    try:
        report_mod.cjk_font()
    except report_mod.MissingFontError as exc:
        pytest.skip(f"no CJK font installed ({exc}); 'make fonts' installs one")


@pytest.fixture(scope="module")
def sqlite_wh(tmp_path_factory) -> str:
    """The synthetic 14-month warehouse on SQLite (built once for the module)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'warehouse.db'}"
    rw.build(url)
    return url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def wh(request):
    """(url, base tables as frames, collect() output) for the synthetic warehouse."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_wh")
    else:
        url = pg_url_or_skip()
        rw.build(url)
    with get_engine(url).connect() as conn:
        frames = {t: pd.read_sql(text(f"SELECT * FROM {t}"), conn)
                  for t in ("feedback", "survey_answer", "survey_score", "problem_clue", "ledger_item")}
    fb = frames["feedback"]
    fb["month"] = pd.to_datetime(fb["received_date"]).dt.strftime("%Y-%m")
    fb["street"] = fb["street"].fillna("未知")
    fb["channel"] = fb["channel"].fillna("未知")
    sa = frames["survey_answer"]
    sa["month"] = pd.to_datetime(sa["submitted_date"]).dt.strftime("%Y-%m")
    for table, cols in (("ledger_item", ("created_at", "closed_at", "updated_at", "followup_at", "deadline")),
                        ("problem_clue", ("deadline",))):
        for col in cols:  # plain dates or None, whatever the driver returned
            frames[table][col] = pd.Series([None if pd.isna(v) else pd.Timestamp(v).date()
                                            for v in frames[table][col]], dtype=object)
    data = collect(MONTH, url, today=TODAY)
    yield url, frames, data
    if request.param == "postgresql":
        drop_pg_database(url)


@pytest.fixture(scope="module")
def page(sqlite_wh, tmp_path_factory):
    """The report written for the SQLite warehouse: (folder, html text, data)."""
    _font_or_skip()
    url = sqlite_wh
    out = tmp_path_factory.mktemp("report_out")
    path = report_mod.write_report(MONTH, out, url, today=TODAY)
    return out, path.read_text(encoding="utf-8"), collect(MONTH, url, today=TODAY)


# --------------------------------------------------------------------------- independent numbers


def _neg_share(df: pd.DataFrame) -> float | None:
    return float((df["sentiment"] == "neg").mean()) if len(df) else None


def _ledger_counts(led: pd.DataFrame, day: dt.date) -> tuple[int, int]:
    """在办 and 超期 on ``day``, written out from the rule in docs/report.md."""
    n_open = n_over = 0
    for it in led.to_dict("records"):
        if it["created_at"] > day:
            continue
        is_open = it["closed_at"] is None or it["closed_at"] > day
        done = it["status"] not in OPEN and it["updated_at"] <= day
        n_open += is_open
        n_over += bool(is_open and it["deadline"] is not None and it["deadline"] < day and not done)
    return n_open, n_over


def test_headline_cards_equal_the_base_tables(wh):
    _, t, data = wh
    fb, sa = t["feedback"], t["survey_answer"]
    prev, prev_year = add_months(MONTH, -1), add_months(MONTH, -12)
    cards = data["cards"]
    n = {m: int((fb["month"] == m).sum()) for m in (MONTH, prev, prev_year)}
    assert cards["volume"]["value"] == n[MONTH]
    assert cards["volume"]["prev_month"] == n[prev] and cards["volume"]["prev_year"] == n[prev_year]
    assert cards["volume"]["mom"] == pytest.approx((n[MONTH] - n[prev]) * 100 / n[prev])
    assert cards["volume"]["yoy"] == pytest.approx((n[MONTH] - n[prev_year]) * 100 / n[prev_year])
    share = {m: _neg_share(fb[fb["month"] == m]) for m in (MONTH, prev, prev_year)}
    assert cards["negative_share"]["value"] == pytest.approx(share[MONTH])
    assert cards["negative_share"]["mom"] == pytest.approx((share[MONTH] - share[prev]) * 100)
    assert cards["negative_share"]["yoy"] == pytest.approx((share[MONTH] - share[prev_year]) * 100)
    scored = sa[sa["area"].notna() & sa["score_100"].notna()]
    sat = {m: scored.loc[scored["month"] == m, "score_100"].mean() for m in (MONTH, prev, prev_year)}
    assert cards["satisfaction"]["value"] == pytest.approx(sat[MONTH])
    assert cards["satisfaction"]["mom"] == pytest.approx(sat[MONTH] - sat[prev])
    assert cards["satisfaction"]["yoy"] == pytest.approx(sat[MONTH] - sat[prev_year])
    assert cards["satisfaction"]["n_answers"] == int((scored["month"] == MONTH).sum())
    clues = t["problem_clue"]
    assert cards["new_clues"]["value"] == int((clues["month"] == MONTH).sum())
    assert cards["new_clues"]["prev_month"] == int((clues["month"] == prev).sum())
    assert cards["new_clues"]["prev_year"] is None  # no clue list was built a year ago
    led = t["ledger_item"]
    as_of = as_of_day(MONTH, TODAY)
    assert as_of == TODAY
    for key, day in (("value", as_of), ("prev_month", shift_day(as_of, -1))):
        open_, over = _ledger_counts(led, day)
        assert cards["ledger_open"][key] == open_
        assert cards["ledger_overdue"][key] == over
    assert cards["ledger_open"]["prev_year"] is None  # the ledger had not started a year ago
    # on the day it is written the snapshot is the ledger's own current state
    assert cards["ledger_open"]["value"] == int((led["status"] != "已销号").sum())
    assert cards["ledger_overdue"]["value"] == sum(s in OPEN and d < TODAY for s, d in zip(led["status"], led["deadline"],
                                                                                           strict=True))
    assert 0 < cards["ledger_overdue"]["value"] < cards["ledger_open"]["value"]


def test_trend_sources_channels_and_streets(wh):
    _, t, data = wh
    fb = t["feedback"]
    months = month_range(add_months(MONTH, -12), MONTH)
    assert data["trend"]["months"] == months
    for area, series in data["trend"]["by_area"].items():
        assert series == [int(((fb["month"] == m) & (fb["area"] == area)).sum()) for m in months], area
    assert data["trend"]["total"] == [int((fb["month"] == m).sum()) for m in months]
    cur, prev = fb[fb["month"] == MONTH], fb[fb["month"] == add_months(MONTH, -1)]
    for key, rows in (("source", data["sources"]), ("channel", data["channels"])):
        got = {r[key]: (r["n"], r["n_prev"]) for r in rows}
        want = {k: (int((cur[key] == k).sum()), int((prev[key] == k).sum()))
                for k in set(cur[key]) | set(prev[key])}
        assert got == want, key
        assert [r["n"] for r in rows] == sorted((r["n"] for r in rows), reverse=True)
    cells = cur.groupby(["street", "area"]).size()
    for r in data["streets"]:
        assert r["n"] == int((cur["street"] == r["street"]).sum())
        assert r["n_prev"] == int((prev["street"] == r["street"]).sum())
        assert r["by_area"] == {a: int(cells[(r["street"], a)]) for a in rw.AREA_BASE
                                if (r["street"], a) in cells.index}
    assert data["streets"][-1]["street"] == "未知"  # "street not given" comes last


def test_area_rows_satisfaction_and_third_party(wh):
    _, t, data = wh
    fb, sa, sc = t["feedback"], t["survey_answer"], t["survey_score"]
    prev = add_months(MONTH, -1)
    scored = sa[sa["area"].notna() & sa["score_100"].notna()]
    for r in data["area_rank"]:
        a = r["area"]
        cur = fb[(fb["month"] == MONTH) & (fb["area"] == a)]
        before = fb[(fb["month"] == prev) & (fb["area"] == a)]
        assert r["n_feedback"] == len(cur) and r["n_feedback_prev"] == len(before)
        assert r["negative_share"] == pytest.approx(_neg_share(cur))
        assert r["negative_share_mom_pp"] == pytest.approx((_neg_share(cur) - _neg_share(before)) * 100)
        s = scored[(scored["area"] == a) & (scored["month"] == MONTH)]["score_100"]
        s0 = scored[(scored["area"] == a) & (scored["month"] == prev)]["score_100"]
        if len(s):
            assert r["survey_satisfaction"] == pytest.approx(s.mean()) and r["survey_n"] == len(s)
            assert r["survey_mom_pts"] == pytest.approx(s.mean() - s0.mean())
        else:
            assert r["survey_satisfaction"] is None
        tp = sc[(sc["area"] == a) & (sc["month"] == MONTH)]["score"]
        tp0 = sc[(sc["area"] == a) & (sc["month"] == prev)]["score"]
        if len(tp):
            assert r["third_party"] == pytest.approx(tp.mean())
            assert r["third_party_mom_pts"] == pytest.approx(tp.mean() - tp0.mean())
        else:
            assert r["third_party"] is None
    ranked = [r for r in data["area_rank"] if r["rank"] is not None]
    assert [r["rank"] for r in ranked] == sorted(r["rank"] for r in ranked)
    assert all(a["composite_index"] >= b["composite_index"] for a, b in zip(ranked, ranked[1:], strict=False))
    assert data["area_rank"][-1]["area"] == "Z" and data["area_rank"][-1]["rank"] is None  # 其他 is not ranked


def test_top_clues_and_units(wh):
    _, t, data = wh
    clues, led, fb = t["problem_clue"], t["ledger_item"], t["feedback"]
    want = clues[clues["month"] == MONTH].sort_values(["heat", "clue_id"], ascending=[False, True]).head(10)
    assert [c["clue_id"] for c in data["top_clues"]] == list(want["clue_id"])
    by_clue = led.set_index("clue_id")
    for c in data["top_clues"]:
        assert c["responsible_unit"] == by_clue.loc[c["clue_id"], "responsible_unit"]
        assert c["deadline"] == by_clue.loc[c["clue_id"], "deadline"].isoformat()
        assert c["status"] == by_clue.loc[c["clue_id"], "status"]
    units = {u["unit"]: u for u in data["units"]}
    cur = fb[(fb["month"] == MONTH) & fb["unit"].notna()]
    for name, g in led.groupby("responsible_unit"):
        u = units[name]
        assert u["assigned"] == len(g)
        assert u["assigned_month"] == int((g["month"] == MONTH).sum())
        closed = [it for it in g.to_dict("records") if it["closed_at"] is not None]
        assert u["closed"] == len(closed)
        assert u["closed_on_time"] == sum(it["closed_at"] <= it["deadline"] for it in closed)
        assert (u["open"], u["overdue"]) == _ledger_counts(g, TODAY)
        answered = g[g["followup"].isin(["满意", "基本满意", "不满意"])]
        assert u["followup_n"] == len(answered)
        assert u["followup_satisfied"] == int(answered["followup"].isin(["满意", "基本满意"]).sum())
    for name, g in cur.groupby("unit"):
        u = units[name]
        assert u["orders"] == len(g)
        assert u["orders_handled"] == int(g["on_time"].notna().sum())
        assert u["orders_on_time"] == int((g["on_time"] == 1).sum())
        assert u["orders_satisfied"] == int(g["satisfaction"].isin(["满意", "基本满意"]).sum())
    assert [u["overdue"] for u in data["units"]] == sorted((u["overdue"] for u in data["units"]), reverse=True)


def test_summary_names_the_biggest_changes_with_their_numbers(wh):
    _, t, data = wh
    fb = t["feedback"]
    assert len(data["summary"]) == 3
    scores = [c["score"] for c in data["changes"]]
    assert scores == sorted(scores, reverse=True)
    prev = add_months(MONTH, -1)
    for c, sentence in zip(data["changes"], data["summary"], strict=True):
        assert re.search(r"[\u4e00-\u9fff]", sentence) and "环比" in sentence
        if c["kind"] in ("volume", "street_volume"):
            col = "area" if c["kind"] == "volume" else "street"
            n = int(((fb["month"] == MONTH) & (fb[col] == c["subject"])).sum())
            n0 = int(((fb["month"] == prev) & (fb[col] == c["subject"])).sum())
            assert (c["after"], c["before"]) == (n, n0)
            assert f"由 {n0} 件" in sentence and f"至 {n} 件" in sentence
            assert f"{abs(n - n0) * 100 / n0:.1f}%" in sentence
    # The synthetic data's planted shifts: A3 doubles (heating season) and 南湖街道 grows.
    subjects = {c["subject"] for c in data["changes"]}
    assert {"A3", "南湖街道"} <= subjects


def test_the_summary_is_computed_not_fixed(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    rw.build(url, seed=11)
    a, b = collect(MONTH, url, today=TODAY), collect(add_months(MONTH, -1), url, today=TODAY)
    assert a["summary"] != b["summary"]


# --------------------------------------------------------------------------- the page


def _card(html_text: str, key: str) -> str:
    m = re.search(rf'data-metric="{key}".*?data-value="([^"]*)"', html_text, re.S)
    assert m, key
    return m.group(1)


def test_page_shows_the_numbers(page):
    _, html_text, data = page
    c = data["cards"]
    assert _card(html_text, "volume") == f"{c['volume']['value']:,}"
    assert _card(html_text, "negative_share") == f"{c['negative_share']['value'] * 100:.1f}%"
    assert _card(html_text, "satisfaction") == f"{c['satisfaction']['value']:.1f}"
    assert _card(html_text, "ledger_overdue") == str(c["ledger_overdue"]["value"])
    assert f"{c['volume']['mom']:+.1f}%" in html_text
    for r in data["area_rank"]:
        assert re.search(rf'<tr data-area="{r["area"]}">.*?data-n="{r["n_feedback"]}"', html_text)
    for s in data["summary"]:
        assert s.replace("'", "&#x27;") in html_text
    embedded = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html_text, re.S)
    assert json.loads(embedded.group(1))["cards"]["volume"]["value"] == c["volume"]["value"]
    # every section a reader was promised
    for heading in ("本月三大变化", "反映量走势", "来源与渠道", "各领域排名", "街道（镇）分布", "热度前十的问题线索",
                    "责任单位办理情况", "企业满意度与第三方测评", "口径说明"):
        assert heading in html_text


def test_texts_from_data_are_escaped(page):
    _, html_text, _ = page
    assert "<script>document.title" not in html_text
    assert "<img src=x" not in html_text
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in html_text
    assert "&lt;img src=x onerror=alert(1)&gt;局" in html_text
    assert "DROP TABLE feedback;--" in html_text  # shown literally, not acted on
    # the only <script> element is the inert JSON data block, which cannot close early
    assert html_text.count("<script") == 1
    assert "</script>" not in html_text.split('id="report-data">', 1)[1].split("</script>", 1)[0]


def test_page_is_self_contained(page):
    out, html_text, _ = page
    srcs = re.findall(r'\ssrc="([^"]*)"', html_text)
    assert len(srcs) == 5 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"https?://|<link\b|url\(|@import", html_text)
    assert "default-src 'none'" in html_text  # nothing may be fetched even by accident
    for s in srcs:
        blob = base64.b64decode(s.split(",", 1)[1])
        assert blob in {p.read_bytes() for p in (out / "charts").glob("*.png")}


def test_charts_are_not_blank(page):
    from PIL import Image

    out, _, _ = page
    pngs = sorted((out / "charts").glob("*.png"))
    assert [p.stem for p in pngs] == sorted(report_mod.CHART_TITLES)
    for p in pngs:
        img = np.asarray(Image.open(io.BytesIO(p.read_bytes())).convert("L"), dtype=float)
        assert img.shape[0] > 300 and img.shape[1] > 1000, p.name
        assert img.std() > 20, f"{p.name} looks blank (grey-level std {img.std():.1f})"
        assert (img < 80).mean() > 0.005, f"{p.name} has almost no dark ink"


def test_palette_survives_greyscale():
    lum = {k: report_mod._luminance(v) for k, v in report_mod.PALETTE.items()}
    order = sorted(lum.values())
    assert all(b - a >= 0.04 for a, b in zip(order, order[1:], strict=False)), lum
    # the pair used for "this month" against "last month" must be far apart
    assert lum["LIGHT"] - lum["DARK"] > 0.4


def test_cli_writes_the_report_and_stops_clearly_without_data(tmp_path, capsys):
    _font_or_skip()
    url = f"sqlite:///{tmp_path / 'w.db'}"
    rw.build(url, month_list=[MONTH])  # no history at all: the demo's situation
    out = tmp_path / "r"
    assert run_cli("--db", url, "report", "--month", MONTH, "--out", str(out)) == 0
    assert "report.html" in capsys.readouterr().out
    html_text = (out / "report.html").read_text(encoding="utf-8")
    assert "上月无可比数据" in html_text  # the fallback summary, with this month's own numbers
    data = collect(MONTH, url)
    assert data["cards"]["volume"]["mom"] is None and data["summary"][0].startswith(f"{MONTH} 共收到反映")
    assert f"{data['cards']['volume']['value']} 件" in data["summary"][0]
    assert run_cli("--db", url, "report", "--month", "2030-01", "--out", str(tmp_path / "none")) == 1
    err = capsys.readouterr().err
    assert "no feedback for 2030-01" in err
    with pytest.raises(NoDataError):
        collect("2030-01", url)


def test_missing_cjk_font_stops_before_writing(tmp_path, monkeypatch, capsys):
    from matplotlib import font_manager

    monkeypatch.setattr(report_mod, "CJK_FONT_CANDIDATES", ("No Such CJK Font",))
    monkeypatch.setattr(font_manager, "_load_fontmanager", lambda try_read_cache=True: font_manager.fontManager)
    out = tmp_path / "r"
    with pytest.raises(report_mod.MissingFontError, match="fonts-noto-cjk"):
        report_mod.write_report(MONTH, out, f"sqlite:///{tmp_path / 'never.db'}")
    assert not out.exists()
    assert run_cli("--db", f"sqlite:///{tmp_path / 'never.db'}", "report", "--month", MONTH, "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "no CJK font" in err and "apt-get install" in err
    assert not out.exists()


def test_old_month_ledger_snapshot_is_capped():
    # a report for an old month counts the ledger as it was at the end of the following month
    assert as_of_day("2026-03", dt.date(2026, 11, 20)) == dt.date(2026, 4, 30)
    assert as_of_day("2026-10", dt.date(2026, 11, 20)) == dt.date(2026, 11, 20)
    assert shift_day(dt.date(2026, 3, 31), -1) == dt.date(2026, 2, 28)
    # a capped snapshot (a month's last day) compares with the previous report's, also a last day:
    # the January report (as of 28 Feb) against the December one (as of 31 Jan), not 28 Jan
    assert shift_day(as_of_day("2026-01", dt.date(2026, 11, 20)), -1) == as_of_day("2025-12", dt.date(2026, 11, 20))
    assert shift_day(dt.date(2026, 4, 30), -1) == dt.date(2026, 3, 31)
    assert shift_day(dt.date(2026, 3, 15), -1) == dt.date(2026, 2, 15)


def test_satisfaction_chart_of_a_month_without_scores_says_so():
    """A district that sends only hotline orders has no questionnaire or evaluation scores: the chart
    says so instead of drawing an empty plot (and matplotlib no longer warns about an empty legend)."""
    import warnings

    from matplotlib.figure import Figure

    from pipeline.report import _draw_satisfaction

    data = {"areas": [{"area": "A1"}],
            "area_rank": [{"area": "A1", "name": "开办企业", "survey_satisfaction": None, "survey_prev": None,
                           "third_party": None}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = _draw_satisfaction(Figure, data)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "本月无问卷满意度和第三方测评得分" in texts
    assert fig.axes[0].get_legend() is None


def test_ledger_and_work_order_units_meet_without_their_region_prefix():
    """Report section 六 listed 市场监督管理局 (ledger: 17 items, 0 orders) and 区市场监督管理局 (0 items,
    145 orders) as two departments: 1 of 61 unit rows had both halves (analyst red team, session 9)."""
    from pipeline.report_data import unit_key

    assert unit_key("区市场监督管理局") == unit_key("市场监督管理局") == "市场监督管理局"
    assert unit_key("国家税务总局郑州市郑东新区税务局") == unit_key("区税务局") == unit_key("税务局")
    assert unit_key("郑东新区人民法院") == unit_key("人民法院")
    assert unit_key("住房和城乡建设局") == "住房和城乡建设局" and unit_key("水务集团") == "水务集团"
