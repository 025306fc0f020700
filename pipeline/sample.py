"""Realistic generated landing exports (样例数据) — the engine of `yingshang sample`.

:func:`generate_sample` writes one month of exports for all four sources in their real formats, in
sub-folders named after the source (the nightly run takes the source from the folder name):

- ``hotline/``: 12345 热线工单 as weekly exports — an .xlsx with a title row (标题行) above the header
  and a 合计 row at the bottom, GBK CSVs, a UTF-8-with-BOM CSV, one file with drifted column names
  (from scale 20 on, all four are CSV: an .xlsx of 10^5 rows takes too long to write);
  some 工单编号 come again in a later file with a new 工单状态/回访满意度/办结时间 (更新), a few rows
  are repeated verbatim (重复导出).
- ``questionnaire/``: 问卷星-style exports of the 企业满意度调查问卷, by text (.xlsx) and by option
  number (.csv, UTF-8 BOM), with a satisfaction matrix (量表) of one row per indicator area, a
  multi-select question joined by ``┋`` and an open question (意见建议).
- ``survey/``: 第三方测评 scores (wide .xlsx and long .csv) and 暗访发现问题 findings.
- ``supervisor/``: 特邀监督员反映问题.

``planted_problems.json`` (at the top of the output folder) is the ground truth of the month's
planted problems (植入问题): concrete recurring complaints written as paraphrases across sources.

Everything is derived from ``seed`` and ``month`` only, so the same arguments give byte-identical
files. Word lists and phrase pools are data in ``config/sample.yaml``.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import json
import random
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xlsxwriter
import yaml
from stdnum.cn import ric, uscc

CONFIG_PATH = Path(__file__).resolve().parents[1] / "config" / "sample.yaml"

AREAS = ("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9")

# Default 12345 export header (names are the first aliases in config/sources.yaml).
HOTLINE_COLUMNS = [
    "工单编号", "来电时间", "受理渠道", "诉求类型", "来电人姓名", "联系电话", "诉求人类型", "企业名称",
    "统一社会信用代码", "事发地址", "所属街道", "工单标题", "诉求内容", "问题分类", "承办单位", "办理时限",
    "办结时间", "办理结果", "工单状态", "回访满意度", "是否解决",
]
# One weekly file uses other aliases of the same fields (列名漂移), as happens when an office changes
# its export template; every name here is an alias listed in config/sources.yaml.
HOTLINE_DRIFT = {"来电时间": "受理时间", "承办单位": "办理单位", "回访满意度": "满意度", "事发地址": "问题地址"}
_HOTLINE_DATE_COLS = ("来电时间", "办理时限", "办结时间")

SURVEY_LONG_COLUMNS = ["月份", "评价对象", "指标", "得分", "方法", "样本量", "排名"]
FINDING_COLUMNS = ["序号", "月份", "评价对象", "指标", "暗访发现问题"]
SUPERVISOR_COLUMNS = ["序号", "监督员姓名", "身份类别", "反映时间", "反映问题", "涉及单位", "联系电话"]

HOTLINE_PER_SCALE = 2000  # work orders at scale 1
QUESTIONNAIRE_PER_SCALE = 300  # responses at scale 1
XLSX_MAX_SCALE = 20  # from this scale on, hotline and questionnaire text exports are CSV only (xlsx is slow)
_CHUNK = 50_000  # hotline rows generated and written per chunk (bounded memory at 1M rows)

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 组织机构代码 check-digit weights
_CN_DIGITS = "零一二三四五六七八九十"
_SATISFACTION_TEXT = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# Third-person rewriting used when a call-taker writes the order (来电人称其……).
_THIRD_PERSON = (
    ("我们公司", "其公司"), ("我公司", "其公司"), ("本公司", "其公司"), ("我们", "他们"), ("本人", "来电人"),
    ("我家", "其家"), ("我的", "其"), ("轮到我", "轮到其"), ("给我", "给其"), ("我", "其"),
)


# ----------------------------------------------------------------------------------------------
# helpers


@dataclass(frozen=True)
class _Month:
    year: int
    month: int

    @property
    def ndays(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label_zh(self) -> str:
        return f"{self.year}年{self.month}月"

    def day(self, d: int) -> dt.date:
        return dt.date(self.year, self.month, d)


def _parse_month(month: str) -> _Month:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"month must look like YYYY-MM, got {month!r}")
    return _Month(int(m.group(1)), int(m.group(2)))


def _rng(seed: int, month: _Month, stream: str) -> np.random.Generator:
    """An independent generator per (seed, month, stream): sources don't disturb each other."""
    ss = np.random.SeedSequence([seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF, month.year, month.month,
                                 zlib.crc32(stream.encode("utf-8"))])
    return np.random.Generator(np.random.PCG64(ss))


def _py_random(rng: np.random.Generator) -> random.Random:
    return random.Random(int(rng.integers(0, 2**62)))


def _weighted(r: random.Random, mapping: dict[str, float]) -> str:
    return r.choices(list(mapping), weights=list(mapping.values()))[0]


def _join(parts: list[str], r: random.Random, final: str = "。") -> str:
    """Join fragments into running text, choosing ，or 。 between them as people do."""
    parts = [p.rstrip("，。；、 ") for p in parts if p and p.strip("，。；、 ")]
    out: list[str] = []
    for i, p in enumerate(parts):
        out.append(p)
        if p[-1] in "？！?!：:":
            continue
        if p.endswith(("的时候", "时候")) and i < len(parts) - 1:
            out.append("，")
            continue
        if i == len(parts) - 1:
            out.append(final)
        else:
            out.append("，" if r.random() < 0.55 else "。")
    return "".join(out)


def _third_person(text: str) -> str:
    for a, b in _THIRD_PERSON:
        text = text.replace(a, b)
    return text


def _org_code(r: random.Random) -> str:
    """A 9-character 组织机构代码 (8 characters + GB 11714 check digit)."""
    if r.random() < 0.7:  # codes assigned since 2015 start with MA
        body = "MA" + "".join(r.choice(_USCC_ALPHABET) for _ in range(6))
    else:
        body = "".join(r.choice("0123456789") for _ in range(8))
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return body + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))


def make_credit_code(r: random.Random, region: str, individual: bool = False) -> str:
    """A valid 18-character 统一社会信用代码: 登记管理部门 9 (工商), 机构类别 1 (企业) or 2 (个体工商户),
    行政区划码, 组织机构代码 with its own check digit, then the USCC check digit."""
    first17 = "9" + ("2" if individual else "1") + region + _org_code(r)
    return first17 + uscc.calc_check_digit(first17)


def make_id_number(r: random.Random, regions: list[str], years: tuple[int, int]) -> str:
    """A valid 18-digit 居民身份证号码 (birth place, birth date, sequence, check digit)."""
    birth = dt.date(r.randint(*years), r.randint(1, 12), r.randint(1, 28))
    first17 = f"{r.choice(regions)}{birth:%Y%m%d}{r.randint(1, 999):03d}"
    return first17 + ric.calc_check_digit(first17 + "0")  # stdnum expects a placeholder check digit


def load_config(path: Path | None = None) -> dict[str, Any]:
    """Read config/sample.yaml and check that every phrase can be written in GBK."""
    with open(path or CONFIG_PATH, encoding="utf-8") as fh:
        cfg = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

    def walk(x: Any) -> None:
        if isinstance(x, str):
            try:
                x.encode("gbk")
            except UnicodeEncodeError as exc:
                raise ValueError(f"config/sample.yaml: {x!r} cannot be written in GBK") from exc
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(cfg)
    return cfg


# ----------------------------------------------------------------------------------------------
# the world: streets, enterprises, people


@dataclass
class _Enterprise:
    name: str
    code: str
    industry: str
    street: str
    road: str
    num: int
    building: str
    shop: bool


class _World:
    """Streets, market entities (市场主体) and people shared by all sources of one month."""

    def __init__(self, cfg: dict[str, Any], month: _Month, seed: int, scale: float) -> None:
        self.cfg = cfg
        self.month = month
        d = cfg["district"]
        self.district, self.city, self.province = d["name"], d["city"], d["province"]
        self.streets = {s["name"]: s for s in cfg["streets"]}
        self.street_names = list(self.streets)
        p = cfg["people"]
        self.surnames = p["surnames"]
        self.surname_cw = list(np.cumsum([1.0 / (i + 4) for i in range(len(self.surnames))]))
        self.street_cw = list(np.cumsum([float(s.get("weight", 1.0)) for s in cfg["streets"]]))
        self.given = list(p["given_chars"])
        self.mobile_prefixes = cfg["phones"]["mobile_prefixes"]
        self.landline_first = cfg["phones"]["landline_first_digits"]
        self.landline_prefix = d["landline_prefix"]
        self.id_regions = d["id_region_codes"]
        self.id_years = tuple(d["id_birth_years"])
        rng = _rng(seed, month, "world")
        r = _py_random(rng)
        n_ent = int(min(30_000, 400 + 600 * scale))
        self.enterprises = self._make_enterprises(r, n_ent)
        # Zipf-like: a few firms call again and again, most only once.
        w = 1.0 / np.power(np.arange(n_ent) + 8.0, 0.6)
        self.ent_p = w / w.sum()
        self.shop_idx = np.array([i for i, e in enumerate(self.enterprises) if e.shop])
        self.company_idx = np.array([i for i, e in enumerate(self.enterprises) if not e.shop])

    def _make_enterprises(self, r: random.Random, n: int) -> list[_Enterprise]:
        e = self.cfg["enterprise"]
        regions = self.cfg["district"]["credit_region_codes"]
        seen_names: set[str] = set()
        seen_codes: set[str] = set()
        out: list[_Enterprise] = []
        while len(out) < n:
            street = self.pick_street(r)
            s = self.streets[street]
            brand = r.choice(e["brands"])
            shop = r.random() < 0.18
            if shop:
                name = f"{self.city}{self.district}{brand}{r.choice(e['shops'])}"
                industry = "住宿和餐饮业" if "馆" in name or "店" in name[-3:] else "批发和零售业"
            else:
                trade = r.choice(e["trades"])
                industry = trade["industry"]
                form = r.choice(e["forms"])
                v = r.random()
                if v < 0.72:
                    name = f"{r.choice(e['prefixes'])}{brand}{trade['word']}{form}"
                elif v < 0.86:
                    name = f"{brand}（{r.choice(['郑州', '河南'])}）{trade['word']}{form}"
                else:
                    name = f"{r.choice(e['prefixes'])}{brand}{r.choice(e['brands'])}{trade['word']}{form}"
            if name in seen_names:
                if len(seen_names) > 40 * len(e["brands"]):  # name space exhausted: number the brand
                    name = name.replace(brand, f"{brand}{len(out)}", 1)
                else:
                    continue
            code = make_credit_code(r, r.choice(regions), individual=shop)
            if code in seen_codes:
                continue
            seen_names.add(name)
            seen_codes.add(code)
            out.append(_Enterprise(name, code, industry, street, r.choice(s["roads"]), r.randint(1, 299),
                                   r.choice(s["buildings"]), shop))
        return out

    # people and numbers -------------------------------------------------------------------
    def surname(self, r: random.Random) -> str:
        return r.choices(self.surnames, cum_weights=self.surname_cw)[0]

    def pick_street(self, r: random.Random) -> str:
        return r.choices(self.street_names, cum_weights=self.street_cw)[0]

    def fullname(self, r: random.Random) -> str:
        g = r.choice(self.given) + (r.choice(self.given) if r.random() < 0.62 else "")
        return self.surname(r) + g

    def mr(self, r: random.Random) -> str:
        return self.surname(r) + ("先生" if r.random() < 0.55 else "女士")

    def mobile(self, r: random.Random) -> str:
        return f"{r.choice(self.mobile_prefixes)}{r.randrange(10**8):08d}"

    def landline(self, r: random.Random) -> str:
        return f"{self.landline_prefix}-{r.choice(self.landline_first)}{r.randrange(10**7):07d}"

    def idno(self, r: random.Random) -> str:
        return make_id_number(r, self.id_regions, self.id_years)

    def bldg(self, r: random.Random) -> str:
        return f"{r.randint(1, 28)}号楼{r.randint(1, 4)}单元{r.randint(1, 33)}{r.randint(1, 4):02d}"

    def address(self, r: random.Random, street: str, kind: str) -> str:
        s = self.streets[street]
        v = r.random()
        if kind == "enterprise" and v < 0.5:
            return f"{self.district}{r.choice(s['buildings'])}{r.randint(1, 30)}层"
        if kind == "person" and v < 0.55:
            return f"{self.district}{r.choice(s['compounds'])}{self.bldg(r)}"
        if v < 0.8:
            return f"{self.city}{self.district}{r.choice(s['roads'])}{r.randint(1, 299)}号"
        a, b = r.sample(s["roads"], 2)
        return f"{self.district}{a}与{b}交叉口"


class _Slots(dict):
    """Placeholder values for one text, made on first use (so unused slots cost nothing)."""

    def __init__(self, gen: _TextGen, r: random.Random, day: int, street: str, **known: Any) -> None:
        super().__init__(known)
        self.gen, self.r, self.day_, self.street_ = gen, r, day, street
        self["street"] = street

    def __missing__(self, key: str) -> str:
        v = self.gen.slot(key, self)
        self[key] = v
        return v


class _TextGen:
    """Composes free texts from the phrase pools: opening, situation, details, demand, closing."""

    def __init__(self, world: _World, cfg: dict[str, Any]) -> None:
        self.w = world
        self.cfg = cfg
        self.t = cfg["texts"]
        self.m = world.month
        self.synonyms = [tuple(g) for g in self.t.get("synonyms") or []]

    # slots ----------------------------------------------------------------------------------
    def slot(self, key: str, s: _Slots) -> str:
        r, w, m = s.r, self.w, self.m
        street = w.streets[s.street_]
        if key == "company":
            return r.choice(w.enterprises).name
        if key == "road":
            return r.choice(street["roads"])
        if key == "road2":
            others = [x for x in street["roads"] if x != s["road"]]
            return r.choice(others)
        if key == "num":
            return str(r.randint(1, 299))
        if key == "building":
            return r.choice(street["buildings"])
        if key == "compound":
            return r.choice(street["compounds"])
        if key == "bldg":
            return w.bldg(r)
        if key == "shop":
            return r.choice(self.cfg["enterprise"]["shops"])
        if key == "biz":
            return r.choice(self.cfg["enterprise"]["biz"])
        if key in ("n", "years", "days", "weeks", "months"):
            lo, hi = {"n": (2, 6), "years": (2, 8), "days": (5, 25), "weeks": (2, 6), "months": (2, 9)}[key]
            v = r.randint(lo, hi)
            if v <= 10 and r.random() < 0.35:  # 三次 as often as 3次
                return "两" if v == 2 else _CN_DIGITS[v]
            return str(v)
        if key == "md":
            return f"{m.month}月{r.randint(1, s.day_)}日"
        if key == "date":
            return f"{m.year}-{m.month:02d}-{r.randint(1, s.day_):02d}"
        if key == "amount":
            v = r.random()
            if v < 0.5:
                return str(r.randint(3, 200) * 1000)
            if v < 0.8:
                return f"{r.randint(1000, 99999)}"
            return f"{r.randint(10, 300) / 10:g}万"
        if key == "amount_wan":
            return str(r.choice([30, 50, 80, 100, 150, 200, 260, 300, 480, 500, 800]))
        if key == "year_est":
            return str(r.randint(2006, m.year - 1))
        if key == "staff":
            return str(r.choice([3, 5, 8, 12, 20, 35, 50, 80, 120, 200, 300]))
        if key == "pct":
            return str(r.randint(3, 8))
        if key == "minutes":
            return str(r.randint(15, 45))
        if key == "window":
            return f"{r.randint(1, 40)}号窗口"
        if key == "doc":
            return r.choice(["岩土勘察报告", "节能审查意见", "资金到位证明", "质量安全监督手续", "施工合同备案证明"])
        if key == "bank":
            return r.choice(self.cfg["banks"])
        if key == "mobile":
            return w.mobile(r)
        if key == "landline":
            return w.landline(r)
        if key == "fullname":
            return w.fullname(r)
        if key == "surname":
            return w.surname(r)
        if key == "mr":
            return w.mr(r)
        if key == "idno":
            return w.idno(r)
        if key == "orderno":
            d = r.randint(1, s.day_)
            return f"GD{m.year:04d}{m.month:02d}{d:02d}{r.randrange(10**7):07d}"
        if key == "invoice_no":
            return f"{m.year % 100:02d}41{r.randrange(10**16):016d}"
        if key == "accept_no":
            return f"Z410100{m.year:04d}{m.month:02d}{r.randint(1, s.day_):02d}{r.randrange(10**5):05d}"
        if key == "sqm":
            return f"{r.randint(45, 180)}.{r.randint(0, 99):02d}"
        if key == "fullname_or_mr":
            return w.surname(r) + r.choice(["同志", "老师", "师傅", ""]) if r.random() < 0.6 else w.fullname(r)
        if key == "praise_detail":
            return r.choice(self.t["praise_details"])
        if key == "action":
            return r.choice(self.cfg["hotline"]["actions"])
        if key == "unit":
            return "相关部门"
        raise KeyError(key)

    def fill(self, template: str, s: _Slots) -> str:
        return template.format_map(s) if "{" in template else template

    # texts -----------------------------------------------------------------------------------
    def intro(self, r: random.Random, is_ent: bool) -> str:
        return r.choice(self.t["intro_enterprise"] if is_ent else self.t["intro_person"])

    def _ask(self, r: random.Random, sub: dict[str, Any], rtype: str) -> str | None:
        if r.random() >= 0.72:
            return None
        asks = sub.get("ask") or []
        if rtype == "求助" and r.random() < 0.4:
            return r.choice(["请帮帮我们", "实在没办法了才打的电话", "希望能帮忙想想办法"])
        if asks and r.random() < 0.55:
            return r.choice(asks)
        return r.choice(self.t["asks"])

    def complaint(self, r: random.Random, sub: dict[str, Any], is_ent: bool, rtype: str,
                  business: bool) -> tuple[list[str], str | None]:
        """投诉/举报/求助: [who I am] + the situation + details + [what I want] (the ask is returned
        apart, because call-takers write it as a separate 诉求 sentence)."""
        parts: list[str] = []
        # a resident does not introduce himself before a firm's problem
        if r.random() < 0.45 and (is_ent or float(sub.get("writer", 0.5)) < 0.5):
            parts.append(self.intro(r, is_ent))
        cores = sub["core"]
        if rtype == "举报" and r.random() < 0.5:
            parts.append("我要举报，" + r.choice(cores))
        else:
            parts.append(r.choice(cores))
        level = r.random()
        if level < 0.25:  # short: the situation alone
            return parts, self._ask(r, sub, rtype) if r.random() < 0.5 else None
        nd = r.choices((1, 2, 3, 4), weights=(0.45, 0.33, 0.15, 0.07))[0] if level < 0.8 else r.randint(2, 4)
        generic = self.t["details"] + (self.t["details_business"] if business else [])
        for _ in range(nd):
            pool = sub.get("detail") or []
            d = r.choice(pool) if pool and r.random() < 0.6 else r.choice(generic)
            if d not in parts:
                parts.append(d)
        if len(cores) > 1 and r.random() < 0.1:
            other = r.choice(cores)
            if other not in parts:
                parts.append("另外，" + other)
        if level > 0.8:  # long: background, what happened before, how it feels
            parts = self.lengthen(r, parts, is_ent, business, very=level > 0.965)
        return parts, self._ask(r, sub, rtype)

    def lengthen(self, r: random.Random, parts: list[str], is_ent: bool, business: bool,
                 very: bool = False) -> list[str]:
        """Add who is writing, what happened before and how it feels (long letters run to ~400 字)."""
        t = self.t
        heads = r.sample(t["background_enterprise"] if is_ent else t["background_person"], 2 if very else 1)
        at = 1 if parts and r.random() < 0.6 else 0
        parts = parts[:at] + heads + parts[at:]
        pool = t["narrative_business"] if business else t["narrative_person"]
        for x in r.sample(pool, r.randint(3, 4) if very else r.randint(1, 2)):
            parts.insert(r.randint(2, len(parts)), x)
        generic = t["details"] + (t["details_business"] if business else [])
        for x in r.sample(generic, 3 if very else 0):
            if x not in parts:
                parts.insert(r.randint(2, len(parts)), x)
        if very or r.random() < 0.6:
            parts.append(r.choice(t["emotion"] + (t["emotion_business"] if is_ent else [])))
        return parts

    def planted(self, r: random.Random, spec: dict[str, Any], is_ent: bool) -> tuple[list[str], str | None]:
        """One member of a planted problem: the main problem facet always, the others sometimes,
        in varying order — members describe the same thing in different words and lengths."""
        facets = spec["facets"]
        if r.random() < 0.18:
            return [r.choice(spec["short"])], (r.choice(facets[-1]) if r.random() < 0.35 else None)
        parts = []
        if is_ent and r.random() < 0.2:  # an introduction that does not say what the firm does
            parts.append(r.choice([x for x in self.t["intro_enterprise"] if "{company}" in x]))
        if r.random() < 0.75:
            parts.append(r.choice(facets[0]))
        middle = [r.choice(facets[1])]
        middle += [r.choice(f) for f in facets[2:-1] if r.random() < 0.5]
        if len(middle) > 1 and r.random() < 0.4:
            r.shuffle(middle)
        parts += middle
        if r.random() < 0.2:
            parts.append(r.choice(self.t["details"]))
        if r.random() < 0.2:
            parts = self.lengthen(r, parts, is_ent, is_ent or spec["area"] != "A4", very=r.random() < 0.2)
        return parts, (r.choice(facets[-1]) if r.random() < 0.6 else None)

    def suggestion(self, r: random.Random, sub: dict[str, Any], acfg: dict[str, Any]) -> tuple[list[str], bool]:
        """建议: a suggestion on the subtopic (situation + what should change) or a stand-alone
        suggestion of the area. Returns the parts and whether they are about the subtopic."""
        if r.random() < 0.5 and sub.get("ask"):
            ask = r.choice(sub["ask"])
            if not ask.startswith(("希望", "建议")):
                ask = "建议" + ask.removeprefix("请")
            return [r.choice(sub["core"]), ask], True
        pool = acfg.get("suggestions") or self.t["suggestions_generic"]
        return [r.choice(pool) if r.random() < 0.8 else r.choice(self.t["suggestions_generic"])], False

    def add_extras(self, r: random.Random, parts: list[str], is_ent: bool, pii: float = 0.15,
                   decoy: float = 0.12) -> list[str]:
        """Personal data and look-alike numbers inside the text (exercise the masker)."""
        if r.random() < decoy:
            pool = self.t["decoys"] + (self.t["decoys_business"] if is_ent else self.t["decoys_person"])
            parts.insert(r.randint(min(2, len(parts)), len(parts)), r.choice(pool))
        if r.random() < pii:
            parts.append(r.choice(self.t["pii"]))
        return parts

    def render(self, r: random.Random, parts: list[str], ask: str | None, channel: str, is_ent: bool,
               kind: str = "complaint", lead: str = "") -> str:
        """Write the text as the caller (第一人称, web/WeChat/APP) or as the call-taker's summary of
        a phone call (来电人反映：……。诉求：……)."""
        if channel == "电话" and r.random() < 0.7:
            if lead:
                prefix = lead
            elif is_ent and r.random() < 0.4:
                prefix = r.choice(self.t["call_prefixes_enterprise"])
            else:
                prefix = r.choice(self.t["call_prefixes"])
            if ask and r.random() < 0.45:
                labels = ["诉求：", "来电人诉求："] + ([] if ask.startswith(("希望", "要求", "请求")) else
                                                     ["来电人要求：", "诉求人希望："])
                body = _join(parts, r) + r.choice(labels) + _join([ask], r)
            else:
                body = _join(parts + ([ask] if ask else []), r)
            body = _third_person(body)
            if kind == "complaint" and r.random() < 0.5:
                body += r.choice(self.t["call_suffixes"]) + "。"
            return prefix + body
        formal = channel in ("网站", "信件")
        head = r.choice(self.t["salutations"]) if r.random() < (0.75 if formal else 0.35) else ""
        final = "！" if kind == "complaint" and r.random() < 0.08 else "。"
        tail = r.choice(self.t["closings"]) if r.random() < (0.5 if formal else 0.25) else ""
        return head + _join(parts + ([ask] if ask else []), r, final) + tail

    def vary(self, r: random.Random, text: str, p: float = 0.4) -> str:
        """Swap interchangeable words (同义替换) so texts on one situation differ on the surface."""
        for group in self.synonyms:
            for w in group:
                if w in text:
                    if r.random() < p:
                        text = text.replace(w, r.choice([x for x in group if x != w]))
                    break
        return text

    def cap(self, r: random.Random, parts: list[str], s: _Slots, limit: int = 372) -> list[str]:
        """Fill the placeholders; drop middle fragments of over-long texts (real orders stay < 400)."""
        filled = [self.fill(p, s) for p in parts]
        while sum(len(p) + 1 for p in filled) > limit and len(filled) > 2:
            filled.pop(r.randint(1, len(filled) - 2))
        return filled


# ----------------------------------------------------------------------------------------------
# hotline (12345 工单)


class _HotlineFiles:
    """The weekly exports: which rows go to which file, in which format and encoding."""

    def __init__(self, out: Path, month: _Month, world: _World, xlsx_first: bool) -> None:
        self.out = out
        self.month = month
        nd = month.ndays
        self.weeks = [(1, 7), (8, 14), (15, 21), (22, nd)]
        d = world.district
        self.specs: list[dict[str, Any]] = []
        encodings = ["xlsx" if xlsx_first else "utf-8-sig", "gbk", "utf-8-sig", "gbk"]
        for i, (a, b) in enumerate(self.weeks):
            ext = "xlsx" if encodings[i] == "xlsx" else "csv"
            name = f"{d}12345工单_{month.year}{month.month:02d}{a:02d}-{month.year}{month.month:02d}{b:02d}.{ext}"
            cols = [HOTLINE_DRIFT.get(c, c) for c in HOTLINE_COLUMNS] if i == 3 else list(HOTLINE_COLUMNS)
            title = f"{d}12345热线工单明细表（{month.year}年{month.month}月{a}日—{b}日）"
            self.specs.append({"path": out / name, "encoding": encodings[i], "columns": cols, "title": title})
        self.handles: dict[int, Any] = {}
        self.row_no = [0] * 4
        self.rows_written = 0

    def open(self, w: int) -> None:
        spec = self.specs[w]
        if spec["encoding"] == "xlsx":
            wb = xlsxwriter.Workbook(str(spec["path"]))
            wb.set_properties({"title": spec["title"], "author": "12345热线", "created": self.month.start})
            ws = wb.add_worksheet("工单明细")
            title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
            head_fmt = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
            date_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
            ws.merge_range(0, 0, 0, len(spec["columns"]) - 1, spec["title"], title_fmt)
            ws.write_row(1, 0, spec["columns"], head_fmt)
            ws.set_column(0, 0, 20)
            ws.set_column(1, 1, 19)
            ws.set_column(12, 12, 60)
            self.handles[w] = (wb, ws, date_fmt)
            self.row_no[w] = 2  # title row and header are rows 1 and 2 as Excel shows them
        else:
            fh = open(spec["path"], "w", encoding=spec["encoding"], newline="")
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(spec["columns"])
            self.handles[w] = (fh, writer)
            self.row_no[w] = 1

    def write(self, w: int, rows: list[list[str]]) -> list[int]:
        """Write rows to week file ``w``; return the row numbers a person sees (header counted)."""
        if w not in self.handles:
            self.open(w)
        spec = self.specs[w]
        start = self.row_no[w]
        if spec["encoding"] == "xlsx":
            _, ws, date_fmt = self.handles[w]
            date_idx = [HOTLINE_COLUMNS.index(c) for c in _HOTLINE_DATE_COLS]
            for k, row in enumerate(rows):
                r0 = start + k
                for j, v in enumerate(row):
                    if not v:
                        continue
                    if j in date_idx:
                        ws.write_datetime(r0, j, dt.datetime.fromisoformat(v), date_fmt)
                    else:
                        ws.write_string(r0, j, v)
        else:
            self.handles[w][1].writerows(rows)
        self.row_no[w] = start + len(rows)
        self.rows_written += len(rows)
        return list(range(start + 1, start + len(rows) + 1))

    def close(self) -> list[Path]:
        for w in range(4):
            if w not in self.handles:
                self.open(w)
            h = self.handles[w]
            if self.specs[w]["encoding"] == "xlsx":
                wb, ws, _ = h
                n = self.row_no[w] - 2
                ws.write_string(self.row_no[w], 0, "合计")
                ws.write_string(self.row_no[w], 1, f"共{n}件")
                wb.close()
            else:
                h[0].close()
        return [s["path"] for s in self.specs]


def _day_weights(month: _Month) -> np.ndarray:
    try:  # public holidays are quiet days at the hotline
        import chinese_calendar
    except ImportError:  # pragma: no cover - the package is a runtime requirement
        chinese_calendar = None
    w = []
    for d in range(1, month.ndays + 1):
        day = month.day(d)
        x = 1.0 if day.weekday() < 5 else 0.62
        if chinese_calendar is not None:
            try:
                if chinese_calendar.is_holiday(day) and day.weekday() < 5:
                    x = 0.5
            except NotImplementedError:
                pass
        w.append(x)
    a = np.array(w)
    return a / a.sum()


_HOUR_W = np.array([0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 2.0, 3.2, 3.4, 3.0, 2.0, 2.2, 3.0, 3.1, 2.9,
                    2.5, 1.6, 1.4, 1.3, 1.0, 0.7, 0.4])


def _fmt_times(month: _Month, secs: np.ndarray) -> np.ndarray:
    t = np.datetime64(month.start, "s") + secs.astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(t, unit="s"), "T", " ")


def _gen_hotline(cfg: dict[str, Any], world: _World, tg: _TextGen, month: _Month, seed: int, scale: float,
                 out: Path) -> tuple[list[Path], int, dict[str, list[dict[str, Any]]]]:
    hc = cfg["hotline"]
    rng = _rng(seed, month, "hotline")
    r = _py_random(rng)
    n = max(20, int(round(HOTLINE_PER_SCALE * scale)))
    nd = month.ndays
    end_s = nd * 86400 - 1

    # when: weekdays and office hours are busy
    day = rng.choice(nd, size=n, p=_day_weights(month))
    hour = rng.choice(24, size=n, p=_HOUR_W / _HOUR_W.sum())
    secs = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=n)
    order = np.argsort(secs, kind="stable")
    secs, day = secs[order], day[order]

    # planted members: rows inside each problem's day window
    planted = cfg["planted"]
    pid = np.full(n, -1, dtype=np.int16)
    for k, spec in enumerate(planted):
        m_k = max(1, int(round(spec["hotline"] * scale)))
        d0, d1 = spec.get("days", [1, 31])
        cand = np.flatnonzero((day >= d0 - 1) & (day <= min(d1, nd) - 1) & (pid < 0))
        pick = rng.permutation(cand)[:m_k]
        pid[np.sort(pick)] = k
    is_planted = pid >= 0
    n_planted = int(is_planted.sum())

    # topic: A1..A9 (business environment) or Z
    areas = list(AREAS) + ["Z"]
    p_bus = max(0.0, (hc["business_share"] * n - n_planted) / max(1, n - n_planted))
    aw = np.array([hc["area_weights"][a] for a in AREAS], dtype=float)
    area = np.where(rng.random(n) < p_bus, rng.choice(9, size=n, p=aw / aw.sum()), 9).astype(np.int16)
    area_of_planted = np.array([areas.index(s["area"]) for s in planted], dtype=np.int16)
    area[is_planted] = area_of_planted[pid[is_planted]]
    sub = np.zeros(n, dtype=np.int16)
    writer_p = np.zeros(n)
    for a_i, a in enumerate(areas):
        subs = cfg["areas"][a]["subtopics"]
        sw = np.array([float(s.get("weight", 1.0)) for s in subs])
        idx = np.flatnonzero((area == a_i) & ~is_planted)
        sub[idx] = rng.choice(len(subs), size=len(idx), p=sw / sw.sum())
        wp = np.array([float(s.get("writer", 0.5)) for s in subs])
        writer_p[idx] = wp[sub[idx]]
    writer_p[is_planted] = np.array([float(s["writer"]) for s in planted])[pid[is_planted]]
    is_ent = rng.random(n) < writer_p
    ent = rng.choice(len(world.enterprises), size=n, p=world.ent_p)
    # planted members write from the right kind of business (a shop about inspections of restaurants, a
    # company about unpaid construction work); repeat enterprises call about it two or three times
    for k, spec in enumerate(planted):
        members = np.flatnonzero((pid == k) & is_ent)
        kind = spec.get("entity", "any")
        if kind != "any" and len(members):
            pool = world.shop_idx if kind == "shop" else world.company_idx
            ent[members] = rng.choice(pool, size=len(members))
        for _ in range(int(spec.get("repeaters", 0))):
            if len(members) < 2:
                break
            take = min(len(members), int(rng.integers(2, 4)))
            chosen = rng.choice(members, size=take, replace=False)
            ent[chosen] = int(rng.integers(len(world.enterprises)))
            members = np.setdiff1d(members, chosen)

    rtypes = list(hc["request_types"])
    rtype = rng.choice(len(rtypes), size=n, p=np.array(list(hc["request_types"].values())) / sum(
        hc["request_types"].values()))
    planted_rt = rng.choice([rtypes.index("投诉"), rtypes.index("求助")], size=n, p=[0.78, 0.22])
    rtype = np.where(is_planted, planted_rt, rtype)
    channels = list(hc["channels"])
    chan = rng.choice(len(channels), size=n, p=np.array(list(hc["channels"].values())) / sum(hc["channels"].values()))

    # handling: deadline, closing, call-back (回访), satisfaction
    rt_names = np.array(rtypes)[rtype]
    due_days = np.where(np.isin(rt_names, ["投诉", "举报", "建议"]), 15, np.where(np.isin(rt_names, ["咨询", "求助"]), 5, 3))
    due = np.minimum(secs + due_days * 86400, end_s)
    dur = np.exp(rng.normal(np.log(50 * 3600), 1.0, size=n)).astype(np.int64)
    closed_s = secs + dur
    closed = closed_s <= end_s - 3600
    cb = closed & (rng.random(n) < 0.75) & (closed_s + 86400 <= end_s)
    neg = is_planted | np.isin(rt_names, ["投诉", "举报"])
    u = rng.random(n)
    sat = np.where(neg, np.where(is_planted, np.where(u < 0.25, 0, np.where(u < 0.55, 1, 2)),
                                 np.where(u < 0.5, 0, np.where(u < 0.78, 1, 2))),
                   np.where(u < 0.7, 0, np.where(u < 0.93, 1, 2)))
    resolved = closed & ((sat == 0) | ((sat == 1) & (rng.random(n) < 0.7)) | (~cb & (rng.random(n) < 0.7)))

    # weekly files; updates (更新) and verbatim repeats (重复导出) go to the next week's file
    week = np.minimum(day // 7, 3)
    eligible = closed & (week < 3)
    p_upd = min(1.0, hc["update_share"] * n / max(1, int(eligible.sum())))
    upd = eligible & (rng.random(n) < p_upd)
    dup = (week < 3) & ~upd & (rng.random(n) < hc["duplicate_share"])
    open_status = rng.choice(len(hc["statuses_open"]), size=n)

    # 工单编号: the city numbers all districts' orders, so ours are increasing but not consecutive
    step = rng.integers(1, 16, size=n)
    cum = np.cumsum(step)
    day_first = np.searchsorted(day, np.arange(nd))
    base = rng.integers(1000, 30000, size=nd)
    start_cum = np.where(day_first < n, cum[np.minimum(day_first, n - 1)] - step[np.minimum(day_first, n - 1)], 0)
    seq = base[day] + cum - start_cum[day]

    files = _HotlineFiles(out, month, world, xlsx_first=scale < XLSX_MAX_SCALE)
    pending: dict[int, list[list[str]]] = {1: [], 2: [], 3: []}
    members: dict[str, list[dict[str, Any]]] = {s["id"]: [] for s in planted}
    status_open = hc["statuses_open"]
    sat_names = ("满意", "基本满意", "不满意")
    yyyymm = f"{month.year:04d}{month.month:02d}"
    current_week = -1

    for c0 in range(0, n, _CHUNK):
        c1 = min(n, c0 + _CHUNK)
        # plain Python lists per chunk: fast to index, and memory stays bounded at 1M rows
        sl = slice(c0, c1)
        t_recv = _fmt_times(month, secs[sl]).tolist()
        t_due = _fmt_times(month, due[sl]).tolist()
        t_closed = _fmt_times(month, closed_s[sl]).tolist()
        (c_area, c_sub, c_pid, c_ent_flag, c_ent, c_day, c_rtype, c_chan, c_closed, c_cb, c_sat, c_res, c_week,
         c_upd, c_dup, c_open, c_seq) = (x[sl].tolist() for x in (
            area, sub, pid, is_ent, ent, day, rtype, chan, closed, cb, sat, resolved, week, upd, dup, open_status,
            seq))
        by_week: dict[int, list[tuple[int, list[str]]]] = {}
        for j in range(c1 - c0):
            a = areas[c_area[j]]
            acfg = cfg["areas"][a]
            k = c_pid[j]
            spec = planted[k] if k >= 0 else None
            subcfg = None if spec else acfg["subtopics"][c_sub[j]]
            ent_writer = c_ent_flag[j]
            e = world.enterprises[c_ent[j]] if ent_writer else None
            d1 = c_day[j] + 1
            if spec and spec.get("street"):
                street = spec["street"]
            elif e is not None and r.random() < 0.8:
                street = e.street
            else:
                street = world.pick_street(r)
            slots = _Slots(tg, r, d1, street)
            if e is not None:
                slots["company"] = e.name
            rt = rtypes[c_rtype[j]]
            ch = channels[c_chan[j]]
            # unit (承办单位) and call-taker category (问题分类)
            if spec:
                unit = spec["unit"] if r.random() < 0.8 else r.choice(acfg["units"])
                category = spec["category"] if r.random() < 0.7 else r.choice(acfg["categories"])
            elif a == "Z":
                unit = subcfg["unit"].replace("{street}", street)
                category = subcfg["category"] if r.random() < 0.75 else r.choice(["", "其他", "综合"])
            else:
                unit = r.choice(acfg["units"])
                category = r.choice(acfg["categories"])
            slots["unit"] = unit
            # text and title
            text = ""
            ask: str | None = None
            kind = "complaint"
            lead = ""
            if spec:
                parts, ask = tg.planted(r, spec, ent_writer)
                title = r.choice(spec["titles"])
            else:
                topic = subcfg["topic"]
                vague = a == "Z" and topic == "信息不全"
                if rt == "咨询" and not subcfg.get("question"):
                    rt = "投诉"
                if vague and rt != "咨询":
                    rt = "其他"
                if rt == "咨询":
                    kind = "question"
                    q = r.choice(subcfg["question"])
                    parts = [tg.intro(r, ent_writer), q] if (
                        r.random() < 0.25 and ent_writer == (float(subcfg.get("writer", 0.5)) >= 0.5)) else [
                        ("想咨询一下，" if r.random() < 0.3 else "") + q]
                    lead = r.choice(["来电咨询：", "来电人咨询：", "市民来电咨询：", "来电人询问："])
                    title = r.choice([f"咨询{topic}相关问题", f"{topic}咨询", f"关于{topic}的咨询", f"咨询{topic}"])
                elif rt == "表扬":
                    kind = "praise"
                    slots["target"] = r.choice(acfg.get("praise_targets") or ["工作人员"])
                    parts = [r.choice(tg.t["praise"])]
                    lead = r.choice(["来电人表扬：", "市民来电表扬："])
                    title = r.choice([f"表扬{unit}", "表扬工作人员", "对工作人员的表扬"])
                elif rt == "建议":
                    kind = "suggestion"
                    parts, on_topic = tg.suggestion(r, subcfg, acfg)
                    lead = r.choice(["来电建议：", "来电人建议：", "市民建议："])
                    title = r.choice([f"关于{topic}的建议", f"建议改进{topic}"] if on_topic else
                                     ["意见建议", "建议", "合理化建议"])
                elif rt == "其他":
                    text = tg.fill(r.choice(subcfg["core"] if vague else tg.t["other"]), slots) + "。"
                    title = r.choice(["其他", "来电咨询", "工单进度查询", ""])
                else:
                    parts, ask = tg.complaint(r, subcfg, ent_writer, rt, business=a != "Z")
                    title = r.choice([f"反映{topic}问题", f"关于{topic}的{rt}", f"{street}{topic}问题", f"{rt}{topic}",
                                      f"{topic}"])
            if not text:
                if kind == "complaint":
                    parts = tg.add_extras(r, parts, ent_writer)
                elif kind != "praise":
                    parts = tg.add_extras(r, parts, ent_writer, pii=0.06, decoy=0.0)
                parts = tg.cap(r, parts, slots)
                text = tg.render(r, parts, tg.fill(ask, slots) if ask else None, ch, ent_writer, kind, lead)
            text = tg.vary(r, text)
            if len(text) < 15:  # even the shortest orders say a little more than a bare question
                if kind == "question":
                    text = r.choice(["您好，想问一下，", "请问一下，", "麻烦问一下，", "您好，我想咨询："]) + text
                if len(text) < 15:
                    text += r.choice(tg.t["asks"]) + "。"
            if r.random() < 0.02:
                title = ""
            # people and entity (诉求人类型 企业 exactly when 企业名称 and 统一社会信用代码 are filled)
            if e is not None:
                caller = world.fullname(r) if r.random() < 0.55 else world.mr(r)
                phone = world.mobile(r) if r.random() < 0.8 else world.landline(r)
                writer = "企业"
                ent_name, code = e.name, e.code
                if spec and spec.get("address"):
                    addr = f"{world.district}{spec['address']}"
                elif e.street == street and r.random() < 0.5:
                    addr = f"{world.city}{world.district}{e.road}{e.num}号"
                else:
                    addr = world.address(r, street, "enterprise")
            else:
                v = r.random()
                caller = world.fullname(r) if v < 0.38 else world.mr(r) if v < 0.88 else ("匿名" if v < 0.93 else "")
                phone = world.mobile(r) if r.random() < 0.93 else world.landline(r) if r.random() < 0.6 else ""
                writer = "个人"
                ent_name = code = ""
                if spec and spec.get("address"):
                    addr = f"{world.district}{spec['address']}"
                    if spec["area"] == "A4":
                        addr += world.bldg(r)
                else:
                    addr = world.address(r, street, "person") if r.random() < 0.9 else ""
            street_cell = street if r.random() < 0.97 else ""
            # handling (办理结果, 工单状态, 回访满意度, 是否解决)
            if c_closed[j]:
                result = tg.fill(r.choice(hc["handling_results"]), slots)
                if c_cb[j]:
                    st, satis = "已回访", sat_names[c_sat[j]]
                else:
                    st, satis = "已办结", "未回访"
                closed_cell = t_closed[j]
                res = "是" if c_res[j] else "否"
            else:
                result, st, satis, closed_cell, res = "", status_open[c_open[j]], "未回访", "", ""
            order_no = f"GD{yyyymm}{d1:02d}{c_seq[j]:07d}"
            final = [order_no, t_recv[j], ch, rt, caller, phone, writer, ent_name, code, addr, street_cell,
                     title, text, category, unit, t_due[j], closed_cell, result, st, satis, res]
            w = c_week[j]
            if c_upd[j]:
                # the first export shows the order still open; the next week's file brings the outcome
                first = list(final)
                first[16], first[17], first[18], first[19], first[20] = "", "", status_open[c_open[j]], "未回访", ""
                by_week.setdefault(w, []).append((k, first))
                pending[w + 1].append(final)
            else:
                by_week.setdefault(w, []).append((k, final))
                if c_dup[j]:
                    pending[w + 1].append(final)
        for w in sorted(by_week):
            if w != current_week:
                # a new week's file starts with last week's updates and repeats
                if pending.get(w):
                    files.write(w, pending.pop(w))
                current_week = w
            items = by_week[w]
            rownos = files.write(w, [row for _, row in items])
            for (k, row), rn in zip(items, rownos, strict=True):
                if k >= 0:
                    members[planted[k]["id"]].append({
                        "source": "hotline", "source_record_id": row[0],
                        "file": f"hotline/{files.specs[w]['path'].name}", "row": rn})
    for w in sorted(pending):
        if pending[w]:
            files.write(w, pending[w])
    paths = files.close()
    return paths, files.rows_written, members


class _Sink:
    """Rows streamed to one export file (.xlsx in constant-memory mode, or CSV), so memory stays flat."""

    def __init__(self, path: Path, header: list[str], props: dict[str, Any], encoding: str = "utf-8-sig") -> None:
        self.path = path
        self.rows = 0
        if path.suffix == ".xlsx":
            self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
            self.wb.set_properties(props)
            self.ws = self.wb.add_worksheet("Sheet1")
            self.ws.write_row(0, 0, header)
            self.fh = None
        else:
            self.fh = open(path, "w", encoding=encoding, newline="")
            self.wr = csv.writer(self.fh, lineterminator="\r\n")
            self.wr.writerow(header)

    def add(self, row: list[Any]) -> int:
        """Write one row; return its row number as a person sees it (header is row 1)."""
        self.rows += 1
        if self.fh is None:
            for c, v in enumerate(row):
                if isinstance(v, int):
                    self.ws.write_number(self.rows, c, v)
                elif v != "":
                    self.ws.write_string(self.rows, c, str(v))
        else:
            self.wr.writerow(row)
        return self.rows + 1

    def close(self) -> Path:
        if self.fh is None:
            self.wb.close()
        else:
            self.fh.close()
        return self.path


# ----------------------------------------------------------------------------------------------
# questionnaire (问卷星 export)


def _gen_questionnaire(cfg: dict[str, Any], world: _World, tg: _TextGen, month: _Month, seed: int,
                       scale: float, out: Path) -> tuple[list[Path], int, dict[str, list[dict[str, Any]]]]:
    qc = cfg["questionnaire"]
    rng = _rng(seed, month, "questionnaire")
    r = _py_random(rng)
    n = max(4, int(round(QUESTIONNAIRE_PER_SCALE * scale)))
    nd = month.ndays
    secs = np.sort(rng.choice(nd, size=n, p=_day_weights(month)) * 86400
                   + rng.choice(24, size=n, p=_HOUR_W / _HOUR_W.sum()) * 3600 + rng.integers(0, 3600, size=n))
    rows_area = [row["area"] for row in qc["matrix_rows"]]
    # planted open answers
    planted = cfg["planted"]
    pid = np.full(n, -1, dtype=np.int16)
    for k, spec in enumerate(planted):
        m_k = int(round(spec.get("questionnaire", 0) * scale))
        if m_k and spec.get("questionnaire_texts"):
            cand = np.flatnonzero(pid < 0)
            pid[rng.choice(cand, size=min(m_k, len(cand)), replace=False)] = k
    # respondents: distinct firms where possible
    n_ent = len(world.enterprises)
    firms = rng.choice(n_ent, size=n, replace=n > n_ent, p=world.ent_p if n > n_ent else None)
    split = int(np.searchsorted(secs, 15 * 86400))
    split = min(max(split, 1), n - 1)

    stem = qc["matrix_stem"]
    multi_q, open_q = qc["multi_question"], qc["open_question"]
    meta = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
    basic = ["1、企业名称", "2、统一社会信用代码", "3、所属行业", "4、企业规模", "5、所在街道"]
    tail = [f"7、{multi_q}", "8、联系人", "9、联系电话", f"10、{open_q}"]
    text_cols = meta + basic + [f"6、({row['title']})" for row in qc["matrix_rows"]] + tail
    # the numeric export writes matrix rows as 题干—行标题, the other 问卷星 style
    num_cols = meta + basic + [f"6、{stem}—{row['title']}" for row in qc["matrix_rows"]] + tail

    members: dict[str, list[dict[str, Any]]] = {s["id"]: [] for s in planted}
    t_sub = _fmt_times(month, secs)
    qid = 20000000 + int(rng.integers(0, 9_999_999))
    text_ext = "xlsx" if scale < XLSX_MAX_SCALE else "csv"  # 问卷星 offers both; xlsx of 10^5 rows is slow
    name_text = f"{qid}_{qc['title']}_按文本_1-{split}.{text_ext}"
    name_num = f"{qid}_{qc['title']}_按选项序号_{split + 1}-{n}.csv"
    props = {"title": qc["title"], "author": "问卷星", "created": month.start}
    text_sink = _Sink(out / name_text, text_cols, props)
    num_sink = _Sink(out / name_num, num_cols, props)
    ip_a = [("123.52", "河南-郑州"), ("123.160", "河南-郑州"), ("222.137", "河南-郑州"), ("171.8", "河南-郑州"),
            ("39.144", "河南-郑州"), ("115.60", "河南-郑州"), ("223.88", "河南-开封")]
    # 量表 answers: one general mood per firm plus noise per row; -2 不了解/跳过, -3 not shown
    mood = rng.normal(0.9, 0.85, size=(n, 1))
    base = np.clip(np.rint(3.4 + mood + rng.normal(0, 0.7, size=(n, len(rows_area)))), 1, 5).astype(int)
    unfamiliar = rng.random((n, len(rows_area))) < np.array([qc["unfamiliar"][a] for a in rows_area])
    missing = np.where(rng.random((n, len(rows_area))) < 0.9, -2, -3)
    score_rows = np.where(unfamiliar, missing, base).tolist()
    pid_l, firms_l = pid.tolist(), firms.tolist()
    for i in range(n):
        e = world.enterprises[firms_l[i]]
        k = pid_l[i]
        scores = score_rows[i]
        if k >= 0:
            ai = rows_area.index(planted[k]["area"])
            scores[ai] = r.choice([1, 2, 2])
        # open answer: mostly 无; complaints where a score is low; some suggestions
        low = [j for j, s in enumerate(scores) if 1 <= s <= 2]
        slots = _Slots(tg, r, int(secs[i] // 86400) + 1, e.street, company=e.name)
        if k >= 0:
            if r.random() < 0.5:  # the enterprise's own words, as short as people type into a form
                answer = r.choice(planted[k]["questionnaire_texts"])
                if r.random() < 0.3:
                    answer = r.choice(["建议：", "问题：", "希望解决："]) + answer
                answer = _join([answer], r)
            else:
                parts, ask = tg.planted(r, planted[k], True)
                answer = _join(tg.cap(r, parts[-2:] + ([ask] if ask else []), slots, limit=120), r)
            answer = tg.vary(r, answer)
        elif low and r.random() < 0.7:
            a = rows_area[r.choice(low)]
            subs = [s for s in cfg["areas"][a]["subtopics"] if s.get("writer", 0.5) >= 0.5] or cfg["areas"][a][
                "subtopics"]
            s = r.choice(subs)
            parts = [r.choice(s["core"])]
            if r.random() < 0.5:
                parts.append(r.choice(s.get("ask") or tg.t["asks"]))
            answer = tg.vary(r, _join(tg.cap(r, parts, slots), r))
        elif r.random() < 0.2:
            pool = cfg["areas"][r.choice(AREAS)].get("suggestions") or tg.t["suggestions_generic"]
            answer = _join([tg.fill(r.choice(pool), slots)], r)
        else:
            answer = r.choice(qc["non_answers"])
        chosen = sorted(r.sample(range(len(qc["multi_options"])), r.randint(1, 4)))
        contact = world.fullname(r) if r.random() < 0.6 else world.mr(r)
        phone = world.mobile(r)
        src = _weighted(r, qc["channels"])
        detail = r.choice(qc["source_details"])
        pre, place = r.choice(ip_a)
        ip = f"{pre}.{r.randint(1, 254)}.{r.randint(1, 254)}({place})"
        used = f"{r.randint(45, 900)}秒"
        t = dt.datetime.fromisoformat(str(t_sub[i]))
        when = f"{t.year}/{t.month}/{t.day} {t:%H:%M:%S}"
        size = r.choice(qc["sizes"]) if not e.shop else "微型"
        common = [i + 1, when, used, src, detail, ip, e.name, e.code, e.industry, size, e.street]
        if i < split:
            matrix = [_SATISFACTION_TEXT[s] if s > 0 else ("不了解" if s == -2 else "(跳过)") for s in scores]
            multi = "┋".join(qc["multi_options"][j] for j in chosen)
            rowno = text_sink.add(common + matrix + [multi, contact, phone, answer])
            fname = f"questionnaire/{name_text}"
        else:
            multi = "┋".join(str(j + 1) for j in chosen)
            rowno = num_sink.add(common + [str(s) for s in scores] + [multi, contact, phone, answer])
            fname = f"questionnaire/{name_num}"
        if k >= 0:
            members[planted[k]["id"]].append({"source": "questionnaire", "source_record_id": str(i + 1),
                                              "file": fname, "row": rowno})

    return [text_sink.close(), num_sink.close()], n, members


# ----------------------------------------------------------------------------------------------
# third-party evaluation (第三方测评) and 暗访 findings


def _gen_survey(cfg: dict[str, Any], world: _World, tg: _TextGen, month: _Month, seed: int,
                out: Path) -> tuple[list[Path], int, dict[str, list[dict[str, Any]]]]:
    sc = cfg["survey"]
    rng = _rng(seed, month, "survey")
    r = _py_random(rng)
    ind_area = {v: k for k, v in sc["indicators"].items()}
    planted = cfg["planted"]
    # units that own a planted problem score lower on its indicator this month
    dent: dict[tuple[str, str], float] = {}
    for spec in planted:
        if spec.get("findings"):
            dent[(spec["finding_unit"], spec["finding_indicator"])] = dent.get(
                (spec["finding_unit"], spec["finding_indicator"]), 0) + 6.0
    methods = sc["methods"]
    long_rows: list[list[Any]] = []
    wide: dict[str, dict[str, float]] = {}
    per_key: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for u in sc["units"]:
        base = float(rng.normal(86, 4.5))
        for ind in u["indicators"]:
            level = base + float(rng.normal(0, 3.0)) - dent.get((u["name"], ind), 0.0)
            comp = 0.0
            for mth, wgt in zip(methods, (0.5, 0.3, 0.2), strict=True):
                s = float(np.clip(level + rng.normal(0, 3.5 if mth == "暗访" else 2.0), 60, 98))
                s = round(s, 1)
                comp += wgt * s
                per_key.setdefault((ind, mth), []).append((u["name"], s))
            wide.setdefault(u["name"], {})[ind] = round(comp, 1)
    ranks: dict[tuple[str, str, str], int] = {}
    for (ind, mth), lst in per_key.items():
        for rank, (unit, _) in enumerate(sorted(lst, key=lambda x: (-x[1], x[0])), start=1):
            ranks[(unit, ind, mth)] = rank
    for u in sc["units"]:
        for ind in u["indicators"]:
            for mth in methods:
                s = next(v for un, v in per_key[(ind, mth)] if un == u["name"])
                size = {"问卷调查": r.randint(40, 220), "暗访": r.randint(3, 12), "座谈访谈": r.randint(5, 18)}[mth]
                long_rows.append([month.label, u["name"], ind, f"{s:.1f}", mth, size, ranks[(u["name"], ind, mth)]])

    p_long = out / f"第三方测评得分明细_{month.label}.csv"
    with open(p_long, "w", encoding="utf-8-sig", newline="") as fh:
        wr = csv.writer(fh, lineterminator="\r\n")
        wr.writerow(SURVEY_LONG_COLUMNS)
        wr.writerows(long_rows)
    p_wide = out / f"第三方测评得分汇总_{month.label}.xlsx"
    ind_cols = [sc["indicators"][a] for a in AREAS]
    wb = xlsxwriter.Workbook(str(p_wide))
    wb.set_properties({"title": f"{world.district}营商环境第三方测评得分（{month.label_zh}）", "author": "第三方测评机构",
                       "created": month.start})
    ws = wb.add_worksheet("综合得分")
    ws.write_row(0, 0, ["月份", "评价对象", *ind_cols])
    num = wb.add_format({"num_format": "0.0"})
    for j, u in enumerate(sc["units"], start=1):
        ws.write_string(j, 0, month.label_zh)
        ws.write_string(j, 1, u["name"])
        for c, ind in enumerate(ind_cols, start=2):
            if ind in wide[u["name"]]:
                ws.write_number(j, c, wide[u["name"]][ind], num)
    wb.close()

    # 暗访发现问题: planted findings plus concrete one-off findings
    rows: list[tuple[str, str, str, str | None]] = []  # (unit, indicator, text, planted id)
    for spec in planted:
        texts = list(spec.get("finding_texts") or [])
        for j in range(int(spec.get("findings", 0))):
            if texts:
                rows.append((spec["finding_unit"], spec["finding_indicator"], texts[j % len(texts)], spec["id"]))
    pool: list[tuple[str, str, str]] = []
    for u in sc["units"]:
        for ind in u["indicators"]:
            a = ind_area[ind]
            for f in cfg["areas"][a].get("findings") or []:
                pool.append((u["name"], ind, f))
            for f in sc.get("generic_findings") or []:
                pool.append((u["name"], ind, f))
    r.shuffle(pool)
    used_text: set[str] = set()
    target = int(sc["findings_per_month"])
    for unit, ind, f in pool:
        if len(rows) >= target:
            break
        if f in used_text:
            continue
        used_text.add(f)
        rows.append((unit, ind, f, None))
    r.shuffle(rows)
    finding_rows: list[list[Any]] = []
    members: dict[str, list[dict[str, Any]]] = {s["id"]: [] for s in planted}
    p_find = out / f"暗访发现问题清单_{month.label}.xlsx"
    for j, (unit, ind, f, pid) in enumerate(rows, start=1):
        slots = _Slots(tg, r, month.ndays, r.choice(world.street_names))
        text = tg.fill(f, slots)
        lead = "" if "暗访" in text else r.choice(
            ["", "", f"{month.month}月{r.randint(1, month.ndays)}日暗访发现，", "暗访人员现场发现，", "经实地察看，"])
        finding_rows.append([j, month.label, unit, ind, _join([lead + text], r)])
        if pid:
            members[pid].append({"source": "survey", "source_record_id": str(j), "file": f"survey/{p_find.name}",
                                 "row": j + 1})
    wb = xlsxwriter.Workbook(str(p_find))
    wb.set_properties({"title": f"暗访发现问题清单（{month.label_zh}）", "author": "第三方测评机构",
                       "created": month.start})
    ws = wb.add_worksheet("暗访发现问题")
    ws.write_row(0, 0, FINDING_COLUMNS)
    for j, row in enumerate(finding_rows, start=1):
        ws.write_number(j, 0, row[0])
        for c, v in enumerate(row[1:], start=1):
            ws.write_string(j, c, str(v))
    ws.set_column(4, 4, 80)
    wb.close()
    return [p_wide, p_long, p_find], len(long_rows) + len(sc["units"]) + len(finding_rows), members


# ----------------------------------------------------------------------------------------------
# special supervisors (特邀监督员)


def _gen_supervisor(cfg: dict[str, Any], world: _World, tg: _TextGen, month: _Month, seed: int,
                    out: Path) -> tuple[list[Path], int, dict[str, list[dict[str, Any]]]]:
    sc = cfg["supervisor"]
    rng = _rng(seed, month, "supervisor")
    r = _py_random(rng)
    roster = [(world.fullname(r), r.choice(sc["categories"]), world.mobile(r)) for _ in range(sc["roster_size"])]
    planted = cfg["planted"]
    items: list[tuple[str, str, str | None]] = []  # (text, unit, planted id)
    for spec in planted:
        texts = spec.get("supervisor_texts") or []
        for j in range(int(spec.get("supervisor", 0))):
            if texts:
                t = texts[j % len(texts)]
                closing = r.choice(sc["closings"])
                items.append((_join([t], r) + closing, spec.get("supervisor_unit") or spec["unit"], spec["id"]))
    while len(items) < sc["reports_per_month"]:
        a = r.choice(AREAS)
        acfg = cfg["areas"][a]
        subs = [s for s in acfg["subtopics"] if s.get("writer", 0.5) >= 0.5]
        if not subs:
            continue
        s = r.choice(subs)
        slots = _Slots(tg, r, month.ndays, r.choice(world.street_names))
        core = tg.fill(r.choice(s["core"]), slots)
        core = core.replace("我们公司", "企业").replace("我公司", "企业").replace("我们", "企业").replace("我", "企业")
        parts = [tg.fill(r.choice(sc["openings"]), slots) + core]
        if r.random() < 0.5 and s.get("detail"):
            parts.append(tg.fill(r.choice(s["detail"]), slots).replace("我们", "企业").replace("我", "企业"))
        if r.random() < 0.6 and s.get("ask"):  # the supervisor's own suggestion on the matter
            ask = tg.fill(r.choice(s["ask"]), slots).replace("我们", "企业")
            parts.append("建议" + ask.removeprefix("希望").removeprefix("请") if not ask.startswith("建议") else ask)
        text = tg.vary(r, _join(parts, r)) + r.choice(sc["closings"])
        if any(text == t for t, _, _ in items):
            continue
        items.append((text, r.choice(acfg["units"]), None))
    days = sorted(r.randint(1, month.ndays) for _ in items)
    r.shuffle(items)
    members: dict[str, list[dict[str, Any]]] = {s["id"]: [] for s in planted}
    p = out / f"特邀监督员反映问题汇总_{month.label_zh}.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    wb.set_properties({"title": f"{world.district}营商环境特邀监督员反映问题汇总（{month.label_zh}）",
                       "author": "营商环境办", "created": month.start})
    ws = wb.add_worksheet("监督员反映")
    ws.write_row(0, 0, SUPERVISOR_COLUMNS)
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    for j, ((text, unit, pid), d) in enumerate(zip(items, days, strict=True), start=1):
        name, cat, phone = roster[r.randrange(len(roster))]
        ws.write_number(j, 0, j)
        ws.write_string(j, 1, name)
        ws.write_string(j, 2, cat)
        ws.write_datetime(j, 3, dt.datetime(month.year, month.month, d), date_fmt)
        ws.write_string(j, 4, text)
        ws.write_string(j, 5, unit)
        ws.write_string(j, 6, phone)
        if pid:
            members[pid].append({"source": "supervisor", "source_record_id": str(j), "file": f"supervisor/{p.name}",
                                 "row": j + 1})
    ws.set_column(4, 4, 80)
    wb.close()
    return [p], len(items), members


# ----------------------------------------------------------------------------------------------
# public API


def generate_sample(out_dir: Path, month: str, seed: int = 0, scale: float = 1.0) -> dict:
    """Write a month of exports for all four sources; return a summary {source: {"files": [...], "rows": n}, "planted": path}.

    ``out_dir/<source>/`` receives the exports of each source (12345 工单, 问卷星 问卷, 第三方测评, 特邀监督员)
    and ``out_dir/planted_problems.json`` the ground truth of the planted problems (植入问题). ``rows``
    counts data rows written (hotline updates and repeated rows included). ``scale`` multiplies the
    hotline (≈2,000 orders) and questionnaire (≈300 responses) volumes and the planted member counts.
    The same ``seed`` and ``month`` give byte-identical files.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    m = _parse_month(month)
    out = Path(out_dir)
    cfg = load_config()
    world = _World(cfg, m, seed, scale)
    tg = _TextGen(world, cfg)
    summary: dict[str, Any] = {}
    all_members: dict[str, list[dict[str, Any]]] = {s["id"]: [] for s in cfg["planted"]}
    gens = {
        "hotline": lambda d: _gen_hotline(cfg, world, tg, m, seed, scale, d),
        "questionnaire": lambda d: _gen_questionnaire(cfg, world, tg, m, seed, scale, d),
        "survey": lambda d: _gen_survey(cfg, world, tg, m, seed, d),
        "supervisor": lambda d: _gen_supervisor(cfg, world, tg, m, seed, d),
    }
    for source, gen in gens.items():
        d = out / source
        d.mkdir(parents=True, exist_ok=True)
        files, rows, members = gen(d)
        summary[source] = {"files": [str(f) for f in files], "rows": rows}
        for pid, lst in members.items():
            all_members[pid].extend(lst)
    manifest = [
        {"id": s["id"], "area": s["area"], "title": s["title"], "members": all_members[s["id"]],
         "count": len(all_members[s["id"]])}
        for s in cfg["planted"]
    ]
    p = out / "planted_problems.json"
    p.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    summary["planted"] = str(p)
    return summary
