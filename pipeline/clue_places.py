"""Places of clue candidates (诉求地点): where a work order's problem is, read off its 诉求地址.

A 12345 work order carries the address of the problem (事发地址/诉求地址); when many different callers
give the same compound, park or service hall in one month, that place is a hotspot (热点地点) and the
orders there are very likely one problem (a compound that never got its property certificates, a
park with repeated outages) even when their texts are short or do not name the place. The same
complaint made about another address is, for the unit that has to fix it, another problem: one
developer, one park operator, one hall.

Two signals for the grouping of :mod:`pipeline.clues` (both off unless configured):

* ``place_weight`` — two items at the same hotspot get this much extra similarity;
* ``place_conflict_factor`` — an item at a hotspot and an item with another (non-empty) address
  have their similarity multiplied by this factor, like two texts that name different objects.

A place is the address without the administrative prefix (省/市/区/县/街道 …), cut before the first
number (楼号, 单元, 门牌号, 层). Roads and crossings are not places (``place_road_suffixes``: many
unrelated orders give the same road); a place is a hotspot when at least ``place_hotspot_min``
distinct callers (full address and phone hash) of one area share it, so one enterprise calling again
and again from its office does not make one. Items without an address take no part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

ADDRESS_COLUMNS = ("address", "address_masked")
# 河南省郑州市郑东新区商都路街道 … : the administrative part in front of the place.
# A 区 that ends a compound's or a park's own name (祥润花园小区, 科技园区, 市民中心A区) is not a district.
_NAME = r"(?:(?![省市区县])[\u4e00-\u9fff]){1,7}?"
_ADMIN_PREFIX = re.compile(rf"^(?:{_NAME}(?:省|自治区))?(?:{_NAME}市)?"
                           rf"(?:{_NAME}(?:新区|(?<![小园社校厂景片营务业城])区|县))?(?:{_NAME}街道)?")
_FROM_NUMBER = re.compile(r"[0-9０-９#＃*].*$")  # (* : the masked household part, nlp.pii.mask_address)
# A crossing or a house number in front of the place: 商都路与九如路交叉口东北角祥润花园, 商都路88号祥润花园
_CROSSING = re.compile(r"^.*交叉口(?:[东西南北]{1,2}(?:角|侧|方向)?)?(?:(?:向|往)[东西南北](?:[0-9０-９]+米)?)?")
_HOUSE_NO = re.compile(r"^(?:(?![路街道])[\u4e00-\u9fff]){1,8}(?:路|街|大道|大街)[0-9０-９]+号(?:院)?")


def place_stem(address: Any, road_suffixes: tuple[str, ...] = (), prefixes: tuple[str, ...] = ()) -> str:
    """The place (地点) of an address: '郑东新区祥润花园3号楼2单元1203' → '祥润花园'; '' for a road,
    a crossing or an address that is only numbers."""
    if address is None or (isinstance(address, float) and np.isnan(address)):
        return ""
    a = str(address).strip()
    for pre in prefixes:
        if a.startswith(pre):
            a = a[len(pre):]
    a = _ADMIN_PREFIX.sub("", a, count=1)
    a = _CROSSING.sub("", a, count=1)
    a = _HOUSE_NO.sub("", a, count=1)
    a = _FROM_NUMBER.sub("", a).strip(" -—,，")
    a = a.removesuffix("小区")  # 祥润花园小区 and 祥润花园 are one place
    if len(a) < 2 or (road_suffixes and a.endswith(road_suffixes)):
        return ""
    return a


@dataclass
class Places:
    """The places of a month's candidates (one entry per item, aligned with the candidate frame)."""

    stem: np.ndarray   # object: the place, '' when none
    has: np.ndarray    # bool: the item has any address
    hot: np.ndarray    # bool: the item's place is a hotspot this month
    weight: float = 0.0
    conflict_factor: float = 1.0
    hot_area: np.ndarray | None = None  # object: the area where the item's place is a hotspot, or ''

    @classmethod
    def of(cls, df: pd.DataFrame, grouping: dict[str, Any]) -> Places:
        """Places of the candidates ``df`` (with an address column and ``area``)."""
        n = len(df)
        col = next((c for c in ADDRESS_COLUMNS if c in df.columns), None)
        weight = float(grouping.get("place_weight") or 0.0)
        factor = float(grouping.get("place_conflict_factor") or 1.0)
        if col is None or (weight <= 0 and factor >= 1.0):
            return cls(np.full(n, "", dtype=object), np.zeros(n, bool), np.zeros(n, bool))
        roads = tuple(str(s) for s in grouping.get("place_road_suffixes") or ())
        prefixes = tuple(str(s) for s in grouping.get("place_prefixes") or ())
        full = df[col].fillna("").astype(str).str.strip().to_numpy(dtype=object)
        stem = np.array([place_stem(a, roads, prefixes) for a in full], dtype=object)
        # A hotspot is counted within one area: residents of a big compound call about everything
        # (rubbish, noise, parking), but only one problem brings many of them to one area. Areas in
        # place_hotspot_ignore_areas (Z, the remainder) do not count.
        area = df["area"].astype(str).to_numpy() if "area" in df.columns else np.full(n, "")
        ignore = {str(a) for a in grouping.get("place_hotspot_ignore_areas") or ()}
        use = (stem != "") & ~np.isin(area, list(ignore))
        # distinct callers: a flat, or a phone (a service hall has one address and many callers)
        caller = next((c for c in ("phone_hash", "phone") if c in df.columns), None)
        key = full if caller is None else full + "|" + df[caller].fillna("").astype(str).to_numpy(dtype=object)
        distinct = pd.DataFrame({"area": area[use], "stem": stem[use], "full": key[use]}) \
            .groupby(["area", "stem"])["full"].nunique()
        distinct = distinct[distinct >= int(grouping.get("place_hotspot_min") or 5)]
        # the area with the most distinct callers at each hotspot (ties: the first area code)
        best = distinct.reset_index().sort_values(["stem", "full", "area"], ascending=[True, False, True]) \
            .drop_duplicates("stem").set_index("stem")["area"].to_dict()
        hot = np.array([s in best for s in stem], dtype=bool)
        hot_area = np.array([best.get(s, "") for s in stem], dtype=object)
        return cls(stem, full != "", hot, weight, factor, hot_area)

    @property
    def active(self) -> bool:
        return bool(self.hot.any()) and (self.weight > 0 or self.conflict_factor < 1.0)

    def take(self, idx: np.ndarray) -> Places:
        return Places(self.stem[idx], self.has[idx], self.hot[idx], self.weight, self.conflict_factor,
                      None if self.hot_area is None else self.hot_area[idx])

    def areas(self, areas: np.ndarray, reassign: set[str]) -> np.ndarray:
        """``areas`` with items of an area in ``reassign`` (Z) at a hotspot moved to the hotspot's area."""
        if self.hot_area is None or not reassign:
            return areas
        move = np.isin(areas.astype(str), list(reassign)) & (self.hot_area != "")
        return np.where(move, self.hot_area, areas)

    def _hot_onehot(self) -> sp.csr_matrix:
        names = sorted({s for s, h in zip(self.stem, self.hot, strict=True) if h})
        col = {s: i for i, s in enumerate(names)}
        rows = np.flatnonzero(self.hot)
        return sp.csr_matrix((np.ones(len(rows)), (rows, [col[s] for s in self.stem[rows]])),
                             shape=(len(self.stem), max(len(names), 1)))

    def adjust(self, s: np.ndarray, m: sp.csr_matrix | None = None) -> np.ndarray:
        """Similarities ``s`` between items (or between groups, ``m`` = membership / size, rows =
        groups) with the place signals applied: + weight × share of pairs at one hotspot, × the
        conflict factor for the share of pairs where one is at a hotspot and the other elsewhere."""
        if not self.active:
            return s
        onehot = self._hot_onehot()
        hot = self.hot.astype(float)[:, None]
        has = self.has.astype(float)[:, None]
        if m is not None:
            onehot, hot, has = m @ onehot, m @ hot, m @ has
        same = np.asarray((onehot @ onehot.T).todense()) if sp.issparse(onehot) else onehot @ onehot.T
        out = s
        if self.conflict_factor < 1.0:
            hot_other = hot @ has.T - same            # one at a hotspot, the other at another address
            both_hot = hot @ hot.T - same             # counted from both sides when both are hotspots
            frac = np.clip(hot_other + hot_other.T - both_hot, 0.0, 1.0)
            out = out * (1.0 - (1.0 - self.conflict_factor) * frac)
        # (no pair is both at one hotspot and in conflict, so the order of the two does not matter
        # pair by pair, and for groups this is exactly the mean over the pairs when s is)
        return out + self.weight * same
