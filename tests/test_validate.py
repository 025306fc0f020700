"""Value rules of the adapters: dates, months, scores, enumerations, header aliases, the contract."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from pipeline.canonical import FEEDBACK_COLUMNS, ParsedFile
from pipeline.validate import (
    check_contract,
    conform,
    map_columns,
    norm_header,
    normalise_channel,
    normalise_reporter_category,
    normalise_request_type,
    normalise_resolved,
    normalise_satisfaction,
    normalise_writer_type,
    parse_datetime,
    parse_due,
    parse_month,
    parse_number,
    strip_punct,
)

CONFIG = Path(__file__).resolve().parents[1] / "config" / "sources.yaml"


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-03 08:15:00",
        "2026/11/3 8:15",
        "2026年11月3日 8时15分",
        "2026年11月3日8时15分0秒",
        "2026.11.03 08:15",
        "202611030815",
        "46329.34375",  # Excel serial number
        "2026-11-03T08:15:00",
        "2026-11-03T00:15:00+00:00",  # UTC → local time
        "２０２６－１１－０３　０８：１５",  # full-width digits
        "2026/11/03 上午8:15",
    ],
)
def test_dates_with_time_all_mean_the_same_moment(text: str) -> None:
    assert parse_datetime(text) == datetime(2026, 11, 3, 8, 15)


@pytest.mark.parametrize("text", ["2026-11-03", "20261103", "2026.11.03", "2026年11月3日", "2026/11/3", "46329"])
def test_dates_without_time_are_midnight(text: str) -> None:
    assert parse_datetime(text) == datetime(2026, 11, 3)


def test_afternoon_and_datetime_cells() -> None:
    assert parse_datetime("2026/11/3 下午3:05") == datetime(2026, 11, 3, 15, 5)
    # Excel's Chinese AM/PM format: 上午12:15 is a quarter past midnight, 下午12:15 a quarter past noon
    assert parse_datetime("2026/11/3 上午12:15") == datetime(2026, 11, 3, 0, 15)
    assert parse_datetime("2026/11/3 下午12:15") == datetime(2026, 11, 3, 12, 15)
    # a time range is its start, not a time zone (-09:10 would have read it as 18:13 the next day)
    assert parse_datetime("2026-11-03 09:03-09:10") == datetime(2026, 11, 3, 9, 3)
    assert parse_datetime("2026-11-03T09:03:00-01:00") == datetime(2026, 11, 3, 18, 3)  # an ISO offset still is
    assert parse_datetime(datetime(2026, 11, 3, 9)) == datetime(2026, 11, 3, 9)
    assert parse_datetime("  ") is None
    assert parse_datetime(None) is None


@pytest.mark.parametrize("text", ["明天", "2026-02-30", "2026-13-01", "12345", "2026", "1.5", "3日前", "0000-00-00"])
def test_bad_dates_raise(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


def test_months() -> None:
    for text in ["2026-11", "2026年11月", "202611", "2026/11", "2026.11", "2026-11-05 10:00", "2026年11月份"]:
        assert parse_month(text) == "2026-11", text
    assert parse_month("") is None
    for bad in ["11月", "2026-13", "上月"]:
        with pytest.raises(ValueError):
            parse_month(bad)


def test_due_dates_accept_durations() -> None:
    received = datetime(2026, 11, 6, 9, 0)  # a Friday
    assert parse_due("3天", received) == parse_due("3天内", received) == datetime(2026, 11, 9, 9, 0)
    assert parse_due("2026-11-20前", received) == datetime(2026, 11, 20)
    assert parse_due("2个工作日", received) == datetime(2026, 11, 10, 9, 0)  # Mon, Tue
    assert parse_due("2026-11-20", received) == datetime(2026, 11, 20)
    with pytest.raises(ValueError):
        parse_due("尽快", received)


def test_numbers() -> None:
    assert parse_number("85.5") == 85.5
    assert parse_number("９０分") == 90
    assert parse_number("90%") == parse_number("90.5％") - 0.5 == 90  # 得分率: a percentage of the full 100
    assert parse_number("-") is None
    assert parse_number("/") is None
    assert parse_number("") is None
    with pytest.raises(ValueError):
        parse_number("良好")


def test_enumerations_fold_synonyms_and_keep_unknown_values() -> None:
    assert normalise_channel("12345热线") == "电话"
    assert normalise_channel("微信公众号") == "微信"
    assert normalise_channel("app") == "APP"
    assert normalise_channel("来信") == "信件"
    assert normalise_channel("现场来访") == "现场来访"  # unknown: kept as given
    assert normalise_channel("") is None
    assert normalise_request_type("投诉类") == "投诉"
    assert normalise_request_type("意见建议") == "建议"
    assert normalise_request_type("感谢") == "表扬"
    assert normalise_request_type("其它") == "其他"
    assert [normalise_satisfaction(v) for v in ["非常满意", "满意", "比较满意", "基本满意", "非常不满意", "未回访", ""]] == [
        "满意", "满意", "基本满意", "基本满意", "不满意", "未回访", None,
    ]
    assert [normalise_resolved(v) for v in ["是", "已解决", "否", "未解决", "", "不清楚"]] == [True, True, False, False, None, None]
    assert normalise_writer_type("个人") == "person"
    assert normalise_writer_type("企业") == "enterprise"
    assert normalise_writer_type("个人", entity_name="某某公司") == "enterprise"
    assert normalise_writer_type("", credit_code="91410100MA00000000") == "enterprise"
    assert normalise_writer_type("") is None
    assert normalise_reporter_category("记者") == "媒体记者"
    assert normalise_reporter_category("政协委员") == "政协委员"


def test_header_matching_ignores_spaces_brackets_and_case(cfg: dict) -> None:
    assert norm_header(" 来自 ＩＰ ") == norm_header("来自IP") == norm_header("【来自ip】")
    header = ["工单号", "受理 时间", "诉求内容（必填）", "所属街道(乡镇)", "来电人", "诉求人类型"]
    cols = map_columns(header, cfg["hotline"]["columns"])
    assert cols == {
        "order_no": 0, "received_at": 1, "content": 2, "street": 3, "caller_name": 4, "writer_type": 5,
    }


def test_exact_alias_preferred_over_remark_match(cfg: dict) -> None:
    cols = map_columns(["工单编号（系统）", "工单编号"], cfg["hotline"]["columns"])
    assert cols["order_no"] == 1


def test_non_answer_comparison_strips_punctuation() -> None:
    assert strip_punct(" 无。") == "无"
    assert strip_punct("暂无！！") == "暂无"
    assert strip_punct("——") == ""


def test_check_contract_flags_bad_frames() -> None:
    good = ParsedFile(source="hotline")
    good.feedback = conform({}, FEEDBACK_COLUMNS)
    assert check_contract(good) == []
    bad = ParsedFile(source="hotline")
    bad.feedback = conform({"record_key": ["x"], "text": [""], "score_100": [math.nan]}, FEEDBACK_COLUMNS)
    problems = check_contract(bad)
    assert any("record_key not among parsed rows" in p for p in problems)
    assert any("empty text" in p for p in problems)


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31)).map(lambda d: d.replace(microsecond=0)))
def test_any_moment_round_trips_through_every_export_format(moment: datetime) -> None:
    spellings = [
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        f"{moment.year}/{moment.month}/{moment.day} {moment.hour}:{moment.minute:02d}:{moment.second:02d}",
        f"{moment.year}年{moment.month}月{moment.day}日 {moment.hour}时{moment.minute}分{moment.second}秒",
        moment.strftime("%Y%m%d%H%M%S"),
        moment.strftime("%Y.%m.%d %H:%M:%S"),
    ]
    for text in spellings:
        assert parse_datetime(text) == moment, text
    serial = (moment - datetime(1899, 12, 30)).total_seconds() / 86400
    assert parse_datetime(repr(serial)) == moment
