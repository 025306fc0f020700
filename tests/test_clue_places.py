"""Places of work orders (诉求地点) as a grouping signal: pipeline/clue_places.py and its use in clues."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from test_clues import tokenize

from pipeline.clue_places import Places, place_stem
from pipeline.clues import build_clues, load_clue_config

ROADS = ("路", "街", "大道", "道", "巷")


@pytest.mark.parametrize(("address", "place"), [
    ("郑州市郑东新区祥润花园3号楼2单元1203", "祥润花园"),
    ("河南省郑州市郑东新区商都路街道祥润花园小区", "祥润花园"),
    ("祥润花园小区18号楼", "祥润花园"),
    ("郑东新区龙湖金融岛A座6层", "龙湖金融岛A座"),
    ("郑东新区市民中心A区企业开办专区", "市民中心A区企业开办专区"),  # the 区 of a name is not a district
    ("郑东新区科技园区8号", "科技园区"),
    ("郑州市郑东新区商都路123号", ""),            # a road is not a place
    ("郑东新区金水东路与农业南路交叉口", ""),
    ("郑州市郑东新区商都路与九如路交叉口东北角祥润花园", "祥润花园"),   # the place after a crossing ...
    ("郑东新区商都路88号祥润花园7号楼", "祥润花园"),                     # ... or a house number
    ("郑东新区金水东路与农业南路交叉口向北200米", ""),
    ("广西壮族自治区南宁市青秀区民族大道", ""),
    ("1203室", ""),
    (None, ""),
    (float("nan"), ""),
])
def test_place_of_an_address(address, place):
    assert place_stem(address, ROADS) == place


def _grouping(**kw):
    g = dict(place_weight=0.05, place_conflict_factor=0.5, place_hotspot_min=5, place_hotspot_ignore_areas=["Z"],
             place_road_suffixes=list(ROADS))
    g.update(kw)
    return g


def test_a_hotspot_needs_distinct_addresses_in_one_area():
    # five residents of 博学苑 calling about five things (all read as Z) do not make a hotspot; one
    # company calling five times from its office does not either; five flats of 祥润花园 in A4 do.
    df = pd.DataFrame({
        "address": [f"郑东新区博学苑{i}号楼" for i in range(1, 6)] + ["郑东新区绿地中心12层"] * 5
        + [f"郑东新区祥润花园{i}号楼1单元" for i in range(1, 6)] + ["郑东新区祥润花园9号楼", "", "郑州市商都路1号"],
        "area": ["Z"] * 5 + ["A5"] * 5 + ["A4"] * 5 + ["Z", "A4", "A4"],
    })
    places = Places.of(df, _grouping())
    assert places.hot.tolist() == [False] * 10 + [True] * 6 + [False, False]
    assert places.has.tolist() == [True] * 16 + [False, True]
    # the Z order at the hotspot is grouped with the hotspot's area; nothing else moves
    moved = places.areas(df["area"].to_numpy(), {"Z"})
    assert moved.tolist() == df["area"].tolist()[:15] + ["A4", "A4", "A4"]
    # one address, many callers (a service hall): a hotspot; one caller five times: not
    hall = pd.DataFrame({"address": ["郑东新区区政务服务中心"] * 5, "area": ["A9"] * 5,
                         "phone_hash": ["a", "b", "c", "d", "e"]})
    assert Places.of(hall, _grouping()).hot.all()
    assert not Places.of(hall.assign(phone_hash="a"), _grouping()).hot.any()
    # off unless configured
    assert not Places.of(df, _grouping(place_weight=0.0, place_conflict_factor=1.0)).active


def test_group_level_adjustment_is_the_mean_of_the_pairs():
    df = pd.DataFrame({"address": ["祥润花园1号楼", "祥润花园2号楼", "祥润花园3号楼", "祥润花园4号楼", "祥润花园5号楼",
                                   "绿地中心12层", "商都路8号", ""], "area": ["A4"] * 8})
    places = Places.of(df, _grouping(place_weight=0.1))
    s = np.full((8, 8), 0.3)
    pair = places.adjust(s)
    assert pair[0, 1] == pytest.approx(0.4)          # one hotspot: + weight
    assert pair[0, 5] == pytest.approx(0.15)         # hotspot vs another address: x factor
    assert pair[5, 6] == pytest.approx(0.3)          # two ordinary addresses: unchanged
    assert pair[0, 7] == pytest.approx(0.3)          # no address: unchanged
    groups = [[0, 1, 5], [2, 3, 6, 7]]
    m = np.zeros((2, 8))
    for g, rows in enumerate(groups):
        m[g, rows] = 1.0 / len(rows)

    got = places.adjust(np.full((2, 2), 0.3), sp.csr_matrix(m))
    want = np.array([[pair[np.ix_(a, b)].mean() for b in groups] for a in groups])
    assert got[0, 1] == pytest.approx(want[0, 1])


ESTATE = [  # orders about one compound; several do not name it, three were read as Z (其他)
    ("来电人称：我是祥润花园的业主，交房五年了还没拿到房产证，孩子上学需要房产证，现在没法报名", "A4"),
    ("市民反映：祥润花园整个小区几百户都没有不动产权证，希望政府出面协调解决", "A4"),
    ("交房这么多年了，不动产权证一直办不下来，问了几个部门，互相推来推去", "A4"),
    ("房子四年前就交了，到现在还没有拿到房产证，想卖房子也卖不了。来电人要求给予答复", "A4"),
    ("听说是开发商欠了土地出让金，我们小区的证一直办不了，户口也落不了", "A4"),
    ("您好，至今没有产权证书，老人去世后继承都没法办，打电话也没人接", "Z"),
    ("祥润花园至今没证，业主都很着急。辛苦了", "Z"),
    ("尊敬的领导：整个小区几百户都没有证，请尽快处理", "Z"),
]
ELSEWHERE = [  # the same kind of complaint by enterprises about their own premises
    ("企业负责人来电反映：买的商铺交付四年了，产权证还没办下来，也没法出租给需要产权证明的企业",
     "郑州市郑东新区商鼎路227号"),
    ("我是一家贸易公司的财务，公司名下的办公楼因为开发商没有缴清土地款，一直办不了分户证，想用来抵押贷款都不行",
     "郑东新区龙湖金融岛A座6层"),
    ("商业用房的土地证和房产证信息不一致，没法办理变更，开发商一直说在办，希望有关部门督促开发商",
     "郑东新区凤凰东路写字楼5层"),
    ("来电人称其系企业负责人：买的商铺交付两年了，产权证还没办下来，请协调解决历史遗留问题",
     "郑州市郑东新区金水东路79号"),
    ("公司名下的办公楼一直办不了分户证，他们是小企业，经不起这么拖", "郑东新区绿地原盛国际12层"),
]


def _estate_month() -> pd.DataFrame:
    texts = [t for t, _ in ESTATE] + [t for t, _ in ELSEWHERE]
    n = len(texts)
    frame = pd.DataFrame({
        "feedback_id": [f"f{i:02d}" for i in range(n)], "text": texts,
        "area": [a for _, a in ESTATE] + ["A4"] * len(ELSEWHERE),
        "address": [f"郑东新区祥润花园{i + 1}号楼2单元" for i in range(len(ESTATE))] + [a for _, a in ELSEWHERE],
        "source": "hotline", "sentiment": "neg", "received_at": pd.Timestamp("2026-10-15"),
        "source_record_id": [str(i) for i in range(n)],
    })
    frame["tokens"] = frame["text"].map(tokenize)
    return frame


def test_orders_at_a_hotspot_are_kept_apart_from_the_same_complaint_elsewhere():
    cfg = load_clue_config()
    frame = _estate_month()
    estate = {f"f{i:02d}" for i in range(len(ESTATE))}

    def mixed(members: pd.DataFrame) -> int:
        at = members.assign(estate=members["feedback_id"].isin(estate))
        return int((at.groupby("clue_id")["estate"].nunique() > 1).sum())

    off = copy.deepcopy(cfg)
    off.grouping.update(place_weight=0.0, place_conflict_factor=1.0, place_reassign_areas=[])
    _, members = build_clues(frame, "2026-10", None, off)
    assert mixed(members) >= 1  # without places the compound's orders and the shops' share a clue
    _, members = build_clues(frame, "2026-10", None, cfg)
    assert mixed(members) == 0
    # the orders the classifier left in Z are grouped with the compound's area
    z_orders = {f"f{i:02d}" for i, (_, a) in enumerate(ESTATE) if a == "Z"}
    assert set(members.loc[members["feedback_id"].isin(z_orders), "area"]) == {"A4"}
    # an address column read back from the warehouse (address_masked) works the same
    _, again = build_clues(frame.rename(columns={"address": "address_masked"}), "2026-10", None, cfg)
    assert again[["clue_id", "feedback_id"]].equals(members[["clue_id", "feedback_id"]])


def test_places_in_leader_mode_and_the_cross_area_merge():
    """Above exact_max_items the groups of the leader pass get the same adjustment (group means);
    the compound's orders still never share a clue with the shops' and offices'."""
    cfg = load_clue_config()
    big = copy.deepcopy(cfg)
    big.grouping["exact_max_items"] = 4
    frame = _estate_month()
    estate = {f"f{i:02d}" for i in range(len(ESTATE))}

    def mixed(config) -> int:
        _, members = build_clues(frame, "2026-10", None, config)
        at = members.assign(estate=members["feedback_id"].isin(estate))
        return int((at.groupby("clue_id")["estate"].nunique() > 1).sum())

    off = copy.deepcopy(big)
    off.grouping.update(place_weight=0.0, place_conflict_factor=1.0, place_reassign_areas=[])
    assert mixed(off) >= 1
    assert mixed(big) == 0
