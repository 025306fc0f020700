"""Tests of `yingshang sample` (pipeline/sample.py): generated landing exports look and behave like
the real ones — right folders, headers known to config/sources.yaml, real encodings, valid 统一社会信用代码,
dates inside the month, reproducible bytes, and a planted-problem manifest that points at real rows."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from stdnum.cn import ric, uscc

from pipeline.sample import HOTLINE_COLUMNS, generate_sample

ROOT = Path(__file__).resolve().parents[1]
SOURCES = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
MONTH = "2026-11"


def _norm(name: str) -> str:
    # the adapters match headers ignoring spaces, full/half-width brackets and case
    return re.sub(r"[\s（）()]", "", str(name)).lower()


def _aliases(columns: dict[str, list[str]]) -> dict[str, str]:
    return {_norm(a): field for field, names in columns.items() for a in names}


def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "gbk"
    return pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False)


def _read_hotline(path: Path) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        df = pd.read_excel(path, header=1, dtype=str).fillna("")
        assert df.iloc[-1, 0] == "合计", "the xlsx export ends with a 合计 row"
        return df.iloc[:-1]
    return _read_csv(path)


def _canonical_hotline(path: Path) -> pd.DataFrame:
    """The file with its headers mapped back to the default names (via the alias lists)."""
    df = _read_hotline(path)
    alias = _aliases(SOURCES["hotline"]["columns"])
    default = {field: names[0] for field, names in SOURCES["hotline"]["columns"].items()}
    return df.rename(columns={c: default[alias[_norm(c)]] for c in df.columns})


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sample")
    return out, generate_sample(out, MONTH, seed=3, scale=1.0)


@pytest.fixture(scope="module")
def hotline(sample: tuple[Path, dict]) -> pd.DataFrame:
    out, _ = sample
    frames = []
    for f in sorted((out / "hotline").iterdir()):
        df = _canonical_hotline(f)
        df["file"] = f.name
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def test_every_source_folder_has_files_and_the_summary_lists_them(sample):
    out, summary = sample
    for source in ("hotline", "questionnaire", "survey", "supervisor"):
        files = [Path(f) for f in summary[source]["files"]]
        assert files and all(f.exists() and f.parent == out / source for f in files)
        assert summary[source]["rows"] > 0
    assert Path(summary["planted"]) == out / "planted_problems.json"
    suffixes = {Path(f).suffix for f in summary["hotline"]["files"]}
    assert suffixes == {".xlsx", ".csv"}


def test_hotline_headers_are_known_aliases_and_one_file_drifts(sample):
    out, _ = sample
    alias = _aliases(SOURCES["hotline"]["columns"])
    headers = []
    for f in sorted((out / "hotline").iterdir()):
        cols = list(_read_hotline(f).columns)
        assert all(_norm(c) in alias for c in cols), f"unknown header in {f.name}: {cols}"
        assert {alias[_norm(c)] for c in cols} >= set(SOURCES["hotline"]["required"])
        headers.append(cols)
    assert headers[0] == HOTLINE_COLUMNS
    assert any(h != HOTLINE_COLUMNS for h in headers), "one weekly file uses other aliases (column drift)"


def test_hotline_xlsx_has_a_title_row_above_the_header(sample):
    out, _ = sample
    xlsx = next((out / "hotline").glob("*.xlsx"))
    top = pd.read_excel(xlsx, header=None, nrows=2, dtype=str)
    assert "12345" in top.iloc[0, 0] and "明细表" in top.iloc[0, 0]
    assert top.iloc[1, 0] == "工单编号"


def test_gbk_file_really_is_gbk(sample):
    out, _ = sample
    gbk = [f for f in (out / "hotline").glob("*.csv") if not f.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert gbk, "at least one hotline CSV is GBK"
    for f in gbk:
        raw = f.read_bytes()
        raw.decode("gbk")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    bom = [f for f in out.rglob("*.csv") if f.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert bom, "some exports are UTF-8 with BOM"


def test_credit_codes_validate_and_match_writer_type(hotline, sample):
    out, _ = sample
    ent = hotline["诉求人类型"] == "企业"
    assert ent.any() and (~ent).any()
    assert (hotline.loc[ent, "企业名称"] != "").all() and (hotline.loc[ent, "统一社会信用代码"] != "").all()
    assert (hotline.loc[~ent, "企业名称"] == "").all() and (hotline.loc[~ent, "统一社会信用代码"] == "").all()
    codes = set(hotline.loc[ent, "统一社会信用代码"])
    q = next((out / "questionnaire").glob("*.xlsx"))
    codes |= set(pd.read_excel(q, dtype=str)["2、统一社会信用代码"])
    assert len(codes) > 100
    bad = [c for c in codes if not uscc.is_valid(c)]
    assert not bad, bad[:5]


def test_dates_fall_inside_the_month(hotline, sample):
    out, _ = sample
    lo, hi = pd.Timestamp(f"{MONTH}-01"), pd.Timestamp(f"{MONTH}-01") + pd.offsets.MonthBegin(1)
    for col in ("来电时间", "办理时限", "办结时间"):
        ts = pd.to_datetime(hotline[col].replace("", None)).dropna()
        assert len(ts) and ts.between(lo, hi, inclusive="left").all(), col
    q = pd.concat([pd.read_excel(f, dtype=str) if f.suffix == ".xlsx" else _read_csv(f)
                   for f in (out / "questionnaire").iterdir()])
    ts = pd.to_datetime(q["提交答卷时间"], format="%Y/%m/%d %H:%M:%S")
    assert ts.between(lo, hi, inclusive="left").all()
    sup = pd.read_excel(next((out / "supervisor").glob("*.xlsx")))
    assert pd.to_datetime(sup["反映时间"]).between(lo, hi, inclusive="left").all()
    long = _read_csv(next((out / "survey").glob("*明细*.csv")))
    assert (long["月份"] == MONTH).all()


def test_same_seed_and_month_give_identical_bytes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_sample(a, "2026-03", seed=11, scale=0.2)
    generate_sample(b, "2026-03", seed=11, scale=0.2)
    generate_sample(c, "2026-04", seed=11, scale=0.2)
    assert _digest(a) == _digest(b)
    assert set(_digest(a).values()).isdisjoint(_digest(c).values()), "another month gives other data"


def test_scale_changes_volume(tmp_path, sample):
    _, big = sample
    small = generate_sample(tmp_path, MONTH, seed=3, scale=0.25)
    assert small["hotline"]["rows"] < big["hotline"]["rows"] * 0.4
    assert small["questionnaire"]["rows"] == 75 and big["questionnaire"]["rows"] == 300
    assert 1900 <= big["hotline"]["rows"] <= 2300


def test_updates_and_exact_duplicates_across_files(hotline):
    repeated = hotline[hotline.duplicated("工单编号", keep=False)]
    assert repeated["file"].nunique() >= 2
    per_order = repeated.groupby("工单编号")
    changed = per_order["工单状态"].nunique() > 1
    assert changed.sum() >= 50, "about 5% of orders come again with a new status"
    cols = [c for c in hotline.columns if c != "file"]
    exact = hotline[hotline.duplicated(cols, keep=False)]
    assert exact["file"].nunique() >= 2 and 1 <= exact["工单编号"].nunique() <= 40


def test_texts_vary_and_carry_personal_data_for_the_masker(hotline):
    first = hotline.drop_duplicates("工单编号")
    lengths = first["诉求内容"].str.len()
    assert lengths.min() >= 15 and lengths.max() <= 400 and lengths.max() >= 250
    assert first["诉求内容"].nunique() > 0.9 * len(first)
    assert first["诉求内容"].str.contains(r"(?<!\d)1[3-9]\d{9}(?!\d)").sum() >= 20
    ids = first["诉求内容"].str.findall(r"(?<!\d)\d{17}[\dX](?!\d)").explode().dropna()
    assert len(ids) >= 3 and all(ric.is_valid(x) for x in ids)
    types = set(first["诉求类型"])
    assert {"投诉", "咨询", "举报", "建议", "求助", "表扬"} <= types


def test_questionnaire_exports(sample):
    out, _ = sample
    qs = SOURCES["questionnaire"]
    text = pd.read_excel(next((out / "questionnaire").glob("*.xlsx")), dtype=str).fillna("")
    num = _read_csv(next((out / "questionnaire").glob("*.csv")))
    for df in (text, num):
        assert list(df.columns[:6]) == ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
        matrix = [c for c in df.columns if c.startswith("6、")]
        titles = [re.split(r"[—(（]", c.split("、", 1)[1])[-1].rstrip(")）") for c in matrix]
        areas = [next(a for a, pats in qs["matrix_areas"].items() if any(p in t for p in pats)) for t in titles]
        assert areas == [f"A{i}" for i in range(1, 10)]
        open_q = [c for c in df.columns if any(p in c for p in qs["open_questions"])]
        assert len(open_q) == 1
    assert set(text.filter(like="6、").stack()) <= {"非常满意", "满意", "基本满意", "不满意", "非常不满意", "不了解", "(跳过)"}
    assert set(num.filter(like="6、").stack()) <= {"5", "4", "3", "2", "1", "-2", "-3"}
    assert text.filter(like="7、").iloc[:, 0].str.contains("┋").any()
    answers = pd.concat([text.iloc[:, -1], num.iloc[:, -1]])
    share = answers.isin(qs["non_answers"]).mean()
    assert 0.5 <= share <= 0.85, share
    assert set(text["序号"]).isdisjoint(num["序号"]), "the two exports cover different responses"


def test_survey_and_supervisor_headers(sample):
    out, _ = sample
    sv = SOURCES["survey"]
    scores = _aliases(sv["columns"])
    long = _read_csv(next((out / "survey").glob("*明细*.csv")))
    assert all(_norm(c) in scores for c in long.columns)
    assert pd.to_numeric(long["得分"]).between(60, 98).all() and long["评价对象"].nunique() >= 10
    wide = pd.read_excel(next((out / "survey").glob("*汇总*.xlsx")))
    indicators = {n for names in sv["indicator_areas"].values() for n in names}
    assert set(wide.columns[2:]) <= indicators and len(wide.columns) == 11
    findings = pd.read_excel(next((out / "survey").glob("暗访*.xlsx")), dtype=str)
    falias = _aliases(sv["findings"]["columns"])
    assert all(_norm(c) in falias for c in findings.columns)
    assert len(findings) == 40 and findings["暗访发现问题"].nunique() == 40
    sup = pd.read_excel(next((out / "supervisor").glob("*.xlsx")), dtype=str)
    salias = _aliases(SOURCES["supervisor"]["columns"])
    assert {"监督员姓名", "身份类别", "反映时间", "反映问题", "涉及单位", "联系电话"} <= set(sup.columns)
    assert all(_norm(c) in salias for c in sup.columns if c != "序号")
    assert len(sup) == 30
    assert set(sup["身份类别"]) <= {"人大代表", "企业家代表", "媒体记者", "行业协会", "商会", "群众代表"}


def test_planted_manifest_members_exist_in_the_files(sample, hotline):
    out, _ = sample
    manifest = json.loads((out / "planted_problems.json").read_text(encoding="utf-8"))
    assert len(manifest) >= 12
    assert {p["area"] for p in manifest} >= {f"A{i}" for i in range(1, 10)}
    cache: dict[str, pd.DataFrame] = {}
    for p in manifest:
        assert 8 <= p["count"] == len(p["members"]) <= 40, p["id"]
        ids = [(m["source"], m["source_record_id"]) for m in p["members"]]
        assert len(ids) == len(set(ids)), "an updated order is listed once"
        assert sum(m["source"] == "hotline" for m in p["members"]) > p["count"] / 2
        for m in p["members"]:
            f = out / m["file"]
            if m["file"] not in cache:
                cache[m["file"]] = (_canonical_hotline(f) if m["source"] == "hotline" else
                                    pd.read_excel(f, dtype=str) if f.suffix == ".xlsx" else _read_csv(f))
            df = cache[m["file"]]
            # row numbers are as a person sees them: header (and the xlsx title row) counted
            offset = 3 if m["source"] == "hotline" and f.suffix == ".xlsx" else 2
            row = df.iloc[m["row"] - offset]
            assert str(row.iloc[0]) == m["source_record_id"], (p["id"], m)
    members = {m["source_record_id"] for p in manifest for m in p["members"] if m["source"] == "hotline"}
    planted_rows = hotline[hotline["工单编号"].isin(members)].drop_duplicates("工单编号")
    assert set(planted_rows["诉求类型"]) <= {"投诉", "求助"}, "planted members are complaints"
