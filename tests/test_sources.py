"""The four source adapters, end to end: landing file → canonical frames, counts and reasons."""

from __future__ import annotations

import copy
import csv
import math
import os
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from pipeline.canonical import ParsedFile, RejectedFile
from pipeline.sources import detect_source, iter_parse_file, parse_file, parse_rows
from pipeline.validate import check_contract

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cfg() -> dict:
    return yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def reasons(parsed: ParsedFile) -> dict[int, str]:
    return {q.row_number: q.reason for q in parsed.quarantine}


# ----------------------------------------------------------------------------------------------
# detect_source
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("landing/hotline/export.csv", "hotline"),
        ("landing/survey/2026-11/scores.xlsx", "survey"),
        ("landing/2026年11月12345工单.xlsx", "hotline"),
        ("landing/热线导出.csv", "hotline"),
        ("landing/企业满意度问卷_数字.xlsx", "questionnaire"),
        ("landing/11月第三方测评得分.xlsx", "survey"),
        ("landing/暗访发现问题.xlsx", "survey"),
        ("landing/特邀监督员反映.xlsx", "supervisor"),
        ("landing/12345热线满意度测评.xlsx", "survey"),
        ("landing/监督员/11月.xlsx", "supervisor"),
        ("landing/other/data.csv", None),
        ("landing/hotline/~$export.xlsx", None),
        ("landing/hotline/readme.md", None),
    ],
)
def test_detect_source(path: str, source: str | None) -> None:
    assert detect_source(Path(path)) == source


# ----------------------------------------------------------------------------------------------
# Hotline
# ----------------------------------------------------------------------------------------------

# Renamed columns (aliases from config), as a different office exports them.
HOTLINE_ALIASES = [
    "工单号", "受理时间", "来源渠道", "工单类型", "诉求人", "联系方式", "来电人类型", "单位名称",
    "信用代码", "事发地址", "街道", "标题", "来电内容", "事项分类", "责任单位", "办结时限", "完成时间",
    "处理结果", "状态", "满意度", "问题是否解决",
]


def hotline_row(no: str, when: str, content: str, **kw: str) -> list[str]:
    values = dict.fromkeys(HOTLINE_ALIASES, "")
    values.update({"工单号": no, "受理时间": when, "来电内容": content})
    values.update(kw)
    return [values[h] for h in HOTLINE_ALIASES]


def test_hotline_gbk_csv_with_renamed_columns(tmp_path: Path, cfg: dict) -> None:
    rows = [
        ["郑东新区12345工单导出 2026年11月"],  # 1 title row
        HOTLINE_ALIASES,  # 2
        hotline_row(  # 3
            " GD001 ", "2026-11-03 08:15:00", "营业执照变更登记要求重复提交材料", 来源渠道="12345热线",
            工单类型="投诉类", 诉求人="张三", 联系方式="13800138000", 来电人类型="个人", 单位名称="郑州某某科技有限公司",
            信用代码="91410100MA00000001", 事发地址="金水东路1号", 街道="龙子湖街道", 标题="营业执照变更",
            事项分类="经济管理", 责任单位="市场监督管理局", 办结时限="5个工作日", 完成时间="2026/11/5 17:30",
            处理结果="已协调办理", 状态="已办结", 满意度="非常满意", 问题是否解决="是",
        ),
        hotline_row("GD002", "2026年11月3日 9时05分", "小区停电", 来源渠道="微信公众号", 工单类型="求助",
                    来电人类型="个人", 满意度="比较满意", 问题是否解决="否"),  # 4
        hotline_row("GD003", "明天", "时间写错了"),  # 5 bad date
        [""] * len(HOTLINE_ALIASES),  # 6 blank
        hotline_row("", "2026-11-04 10:00", "没有工单号"),  # 7 missing key
        hotline_row("GD004", "2026-11-04 11:00", ""),  # 8 missing text
        hotline_row("GD005", "2026.11.04", "办证难", 来源渠道="现场来访", 满意度="", 问题是否解决=""),  # 9
        hotline_row("2.02611E+12", "2026-11-05", "编号被Excel改坏"),  # 10
        ["合计", "7"] + [""] * (len(HOTLINE_ALIASES) - 2),  # 11 summary
    ]
    path = write_csv(tmp_path / "12345工单.csv", rows, encoding="gbk")
    parsed = parse_file(path, "hotline", cfg)

    assert parsed.rows_in == 7
    assert len(parsed.rows) == 3
    assert len(parsed.quarantine) == 4
    assert parsed.ignored_rows == 2
    assert check_contract(parsed) == []
    assert list(parsed.rows["row_number"]) == [3, 4, 9]
    assert reasons(parsed) == {
        5: "受理时间 '明天' is not a date (expected a date such as 2026-11-03 08:15)",
        7: "工单号 is empty (a work order needs its number)",
        8: "来电内容 is empty (no feedback text)",
        10: "工单号 '2.02611E+12' was turned into a number by Excel and lost digits; "
        "re-export with the column formatted as text",
    }
    assert parsed.quarantine[0].raw["受理时间"] == "明天"

    fb = parsed.feedback.set_index("record_key")
    first = fb.loc["GD001"]
    assert first["source_record_id"] == "GD001"
    assert first["part"] == ""
    assert first["channel"] == "电话"
    assert first["received_at"] == pd.Timestamp("2026-11-03 08:15:00")
    assert first["request_type"] == "投诉"
    assert first["writer_type"] == "enterprise"  # 个人 in the sheet, but an enterprise name is given
    assert (first["person_name"], first["phone"]) == ("张三", "13800138000")
    assert (first["entity_name"], first["credit_code"]) == ("郑州某某科技有限公司", "91410100MA00000001")
    assert (first["address"], first["street"], first["title"]) == ("金水东路1号", "龙子湖街道", "营业执照变更")
    assert first["text"] == "营业执照变更登记要求重复提交材料"
    assert (first["call_taker_category"], first["unit"]) == ("经济管理", "市场监督管理局")
    assert first["due_at"] == pd.Timestamp("2026-11-10 08:15:00")  # 5 working days after Tue 3 Nov
    assert first["closed_at"] == pd.Timestamp("2026-11-05 17:30:00")
    assert (first["handling_result"], first["status"]) == ("已协调办理", "已办结")
    assert first["satisfaction"] == "满意"
    assert first["resolved"] is True
    assert math.isnan(first["score_100"])

    second = fb.loc["GD002"]
    assert second["received_at"] == pd.Timestamp("2026-11-03 09:05:00")
    assert (second["channel"], second["request_type"], second["writer_type"]) == ("微信", "求助", "person")
    assert (second["satisfaction"], second["resolved"]) == ("基本满意", False)
    assert pd.isna(second["entity_name"])

    third = fb.loc["GD005"]
    assert third["received_at"] == pd.Timestamp("2026-11-04")
    assert third["channel"] == "现场来访"  # unknown channel kept as given
    assert third["satisfaction"] is None and third["resolved"] is None and third["writer_type"] is None


def test_hotline_xlsx_with_title_summary_and_blank_rows(tmp_path: Path, cfg: dict) -> None:
    header = ["工单编号", "来电时间", "受理渠道", "诉求类型", "诉求内容", "回访满意度"]
    rows = [
        ["2026年11月12345热线工单明细"],  # 1
        ["统计口径：已办结"],  # 2
        header,  # 3
        ["GD1", datetime(2026, 11, 3, 8, 15), "电话", "咨询", "核名怎么办理", "满意"],  # 4 datetime cell
        [None],  # 5
        ["GD2", 46329.34375, "网站", "投诉", "窗口推诿", "不满意"],  # 6 Excel serial number
        ["GD3", "20261103", "APP", "建议", "希望延长办公时间", "未回访"],  # 7
        ["小计", None, None, None, None, None],  # 8
        [None, None, None, None, None, None],  # 9
        ["GD4", "2026/11/3 8:15", "信件", "其它", "信件内容", None],  # 10
        ["GD5", "上周三", "电话", "投诉", "日期无效", None],  # 11
        ["合计：5件"],  # 12
    ]
    path = write_xlsx(tmp_path / "工单.xlsx", {"工单": rows, "说明": [["本表说明"], ["字段", "含义"]]})
    parsed = parse_file(path, "hotline", cfg)
    assert (parsed.rows_in, len(parsed.quarantine), parsed.ignored_rows) == (5, 1, 4)
    assert reasons(parsed) == {11: "来电时间 '上周三' is not a date (expected a date such as 2026-11-03 08:15)"}
    assert list(parsed.rows["row_number"]) == [4, 6, 7, 10]
    assert list(parsed.feedback["received_at"]) == [
        pd.Timestamp("2026-11-03 08:15"), pd.Timestamp("2026-11-03 08:15"),
        pd.Timestamp("2026-11-03"), pd.Timestamp("2026-11-03 08:15"),
    ]
    assert list(parsed.feedback["request_type"]) == ["咨询", "投诉", "建议", "其他"]
    assert list(parsed.feedback["satisfaction"]) == ["满意", "不满意", "未回访", None]


def test_missing_required_columns_are_named(tmp_path: Path, cfg: dict) -> None:
    path = write_csv(tmp_path / "bad.csv", [["来电时间", "受理渠道", "来电人姓名"], ["2026-11-03", "电话", "张三"]])
    with pytest.raises(RejectedFile) as info:
        parse_file(path, "hotline", cfg)
    assert str(info.value) == "missing required columns: 工单编号 (order_no), 诉求内容 (content)"


def test_rejected_files(tmp_path: Path, cfg: dict) -> None:
    (tmp_path / "png.csv").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (tmp_path / "empty.csv").write_bytes(b"")
    for name, reason in [("png.csv", "PNG image"), ("empty.csv", "empty")]:
        with pytest.raises(RejectedFile, match=reason):
            parse_file(tmp_path / name, "hotline", cfg)


def test_streaming_gives_the_same_result_as_parse_file(tmp_path: Path, cfg: dict) -> None:
    rows = [["工单编号", "来电时间", "诉求内容"]]
    for i in range(25):
        rows.append([f"GD{i}", "2026-11-03" if i % 7 else "坏日期", f"诉求{i}"])
        if i % 10 == 0:
            rows.append(["", "", ""])
    path = write_csv(tmp_path / "h.csv", rows, encoding="gb18030")
    chunks = list(iter_parse_file(path, "hotline", cfg, chunk_rows=10))
    whole = parse_file(path, "hotline", cfg)
    assert [c.rows_in for c in chunks] == [10, 10, 5]
    assert sum(c.rows_in for c in chunks) == whole.rows_in == 25
    assert sum(len(c.quarantine) for c in chunks) == len(whole.quarantine) == 4
    assert sum(c.ignored_rows for c in chunks) == whole.ignored_rows == 3
    assert list(whole.feedback["record_key"]) == [f"GD{i}" for i in range(25) if i % 7]


def test_csv_row_with_extra_cells_is_quarantined(tmp_path: Path, cfg: dict) -> None:
    path = tmp_path / "o.csv"
    path.write_text("工单编号,来电时间,诉求内容\nGD1,2026-11-03,停电,又停电\nGD2,2026-11-03,好\n", encoding="utf-8")
    parsed = parse_file(path, "hotline", cfg)
    assert parsed.rows_in == 2 and len(parsed.quarantine) == 1
    q = parsed.quarantine[0]
    assert q.row_number == 2
    assert "header has 3 columns" in q.reason and "又停电" in q.reason
    # retrying the stored raw row does not silently accept the shifted cells
    assert len(parse_rows([q.raw], "hotline", cfg, [q.row_number]).quarantine) == 1


# ----------------------------------------------------------------------------------------------
# Retry of quarantined rows (parse_rows)
# ----------------------------------------------------------------------------------------------


def test_parse_rows_retries_with_current_config(tmp_path: Path, cfg: dict) -> None:
    path = write_csv(tmp_path / "h.csv", [["工单编号", "来电时间", "群众诉求"], ["GD1", "2026-11-03", "停电"]])
    with pytest.raises(RejectedFile, match=r"诉求内容 \(content\)"):
        parse_file(path, "hotline", cfg)
    raw = [{"工单编号": "GD1", "来电时间": "2026-11-03", "群众诉求": "停电"}]
    before = parse_rows(raw, "hotline", cfg, [2])
    assert before.rows_in == 1 and before.quarantine[0].reason.startswith("missing required columns")
    fixed = copy.deepcopy(cfg)
    fixed["hotline"]["columns"]["content"].append("群众诉求")  # the one-line config change
    after = parse_rows(raw, "hotline", fixed, [2])
    assert after.quarantine == []
    assert list(after.rows["row_number"]) == [2]
    assert list(after.feedback["text"]) == ["停电"]


def test_parse_rows_reproduces_parse_file(tmp_path: Path, cfg: dict) -> None:
    rows = [["工单编号", "来电时间", "诉求内容", "回访满意度"], ["GD1", "2026/11/3 8:15", "a", "非常满意"],
            ["GD2", "明天", "b", ""]]
    parsed = parse_file(write_csv(tmp_path / "h.csv", rows), "hotline", cfg)
    raws = list(parsed.rows["raw"]) + [q.raw for q in parsed.quarantine]
    numbers = list(parsed.rows["row_number"]) + [q.row_number for q in parsed.quarantine]
    again = parse_rows(raws, "hotline", cfg, numbers)
    pd.testing.assert_frame_equal(again.feedback, parsed.feedback)
    assert [(q.row_number, q.reason) for q in again.quarantine] == [(3, parsed.quarantine[0].reason)]
    # the operator corrects the date in the stored raw row and retries
    corrected = dict(parsed.quarantine[0].raw, 来电时间="2026-11-04")
    retried = parse_rows([corrected], "hotline", cfg, [3])
    assert retried.quarantine == [] and list(retried.rows["record_key"]) == ["GD2"]


# ----------------------------------------------------------------------------------------------
# Questionnaire
# ----------------------------------------------------------------------------------------------

Q_HEADER = [
    "序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP",
    "1、企业名称", "2、统一社会信用代码", "3、所属行业", "4、企业规模", "5、所在街道",
    "6、(开办企业)", "6、(获得电力)", "7、请您评价—不动产登记",
    "8、您近一年办理过哪些业务", "9、您对本区营商环境的总体评价",
    "10、您对优化营商环境有何意见建议", "11、联系电话",
]


def test_questionnaire_text_export(tmp_path: Path, cfg: dict) -> None:
    rows = [
        ["2026年企业营商环境满意度调查"],  # 1 title
        Q_HEADER,  # 2
        ["1", "2026/11/3 10:20:05", "300秒", "微信", "N/A", "1.2.3.4", "郑州甲公司", "91410100MA00000001",
         "制造业", "小型", "龙子湖街道", "非常满意", "不满意", "基本满意", "开办企业┋纳税", "满意",
         "窗口办事排队时间太长，希望增加自助机", "13800138000"],  # 3
        ["2", "2026/11/3 11:00:00", "200秒", "链接", "", "", "郑州乙公司", "", "服务业", "微型", "",
         "满意", "不了解", "非常不满意", "纳税", "一般", "无。", ""],  # 4
        ["3", "不知道", "", "", "", "", "丙公司", "", "", "", "", "满意", "", "", "", "", "", ""],  # 5
        ["4", "2026-11-04 09:00:00", "", "微信", "", "", "丁公司", "", "", "", "", "(跳过)", "", "", "",
         "", "  暂无建议！ ", ""],  # 6
        ["5", "2026-11-04 10:00:00", "", "", "", "", "戊公司", "", "", "", "", "", "", "", "", "", "非常满意。", ""],  # 7
    ]
    parsed = parse_file(write_csv(tmp_path / "问卷_文本.csv", rows, encoding="utf-8-sig"), "questionnaire", cfg)
    assert (parsed.rows_in, len(parsed.quarantine), parsed.ignored_rows) == (5, 1, 0)
    assert reasons(parsed) == {5: "提交答卷时间 '不知道' is not a date (expected a date such as 2026-11-03 08:15)"}
    assert check_contract(parsed) == []
    assert list(parsed.rows["record_key"]) == [
        "1|2026-11-03 10:20:05", "2|2026-11-03 11:00:00", "4|2026-11-04 09:00:00", "5|2026-11-04 10:00:00",
    ]

    a = parsed.answers
    first = a[a["source_record_id"] == "1"]
    assert list(first["question"]) == [
        "6、(开办企业)", "6、(获得电力)", "7、请您评价—不动产登记",
        "8、您近一年办理过哪些业务", "8、您近一年办理过哪些业务", "9、您对本区营商环境的总体评价",
    ]
    assert list(first["answer_text"]) == ["非常满意", "不满意", "基本满意", "开办企业", "纳税", "满意"]
    assert list(first["area_code"].fillna("-")) == ["A1", "A3", "A4", "-", "-", "-"]
    assert list(first["score_100"].fillna(-1)) == [100, 25, 50, -1, -1, 75]
    assert set(first["entity_name"]) == {"郑州甲公司"} and set(first["industry"]) == {"制造业"}
    assert set(first["size"]) == {"小型"} and set(first["street"]) == {"龙子湖街道"}
    assert set(first["submitted_at"]) == {pd.Timestamp("2026-11-03 10:20:05")}
    second = a[a["source_record_id"] == "2"]
    assert list(second["answer_text"]) == ["满意", "不了解", "非常不满意", "纳税", "一般"]
    assert list(second["score_100"].fillna(-1)) == [75, -1, 0, -1, 50]
    fourth = a[a["source_record_id"] == "4"]
    assert list(fourth["answer_text"]) == ["(跳过)"] and fourth["score_100"].isna().all()

    # only response 1 has a real suggestion: 无。, 暂无建议！ and a bare 非常满意。 are non-answers
    assert len(parsed.feedback) == 1
    fb = parsed.feedback.iloc[0]
    assert fb["record_key"] == "1|2026-11-03 10:20:05"
    assert fb["part"] == "10、您对优化营商环境有何意见建议"
    assert fb["text"] == "窗口办事排队时间太长，希望增加自助机"
    assert (fb["request_type"], fb["writer_type"], fb["channel"]) == ("建议", "enterprise", "微信")
    assert (fb["entity_name"], fb["credit_code"], fb["phone"]) == ("郑州甲公司", "91410100MA00000001", "13800138000")
    assert fb["score_100"] == pytest.approx((100 + 25 + 50) / 3)


def test_questionnaire_numeric_export(tmp_path: Path, cfg: dict) -> None:
    header = ["序号", "提交答卷时间", "1、企业名称", "6、(开办企业)", "6、(纳税服务)", "6、(法院立案)",
              "7、您近一年办理过哪些业务", "8、您对本区营商环境是否满意", "9、其他意见建议"]
    rows = [
        header,
        [1, datetime(2026, 11, 3, 10, 0), "甲", 5, -2, 1, "1┋3", 4, "没有"],
        [2, datetime(2026, 11, 3, 11, 0), "乙", 3, 2, -3, -3, -2, "融资难，贷款审批慢"],
    ]
    parsed = parse_file(write_xlsx(tmp_path / "问卷_数字.xlsx", {"Sheet1": rows}), "questionnaire", cfg)
    assert (parsed.rows_in, len(parsed.quarantine)) == (2, 0)
    a = parsed.answers
    one = a[a["source_record_id"] == "1"]
    assert list(one["answer_text"]) == ["5", "-2", "1", "1", "3", "4"]
    assert list(one["area_code"].fillna("-")) == ["A1", "A5", "A7", "-", "-", "-"]
    # 5..1 → 100..0 on matrix rows and 满意 questions; -2/-3 skipped; option numbers are not scores
    assert list(one["score_100"].fillna(-1)) == [100, -1, 0, -1, -1, 75]
    two = a[a["source_record_id"] == "2"]
    assert list(two["score_100"].fillna(-1)) == [50, 25, -1, -1, -1]
    assert len(parsed.feedback) == 1
    fb = parsed.feedback.iloc[0]
    assert (fb["text"], fb["part"], fb["channel"]) == ("融资难，贷款审批慢", "9、其他意见建议", "问卷")
    assert fb["score_100"] == pytest.approx(37.5)


def test_questionnaire_rating_off_the_scale_quarantines_the_response(tmp_path: Path, cfg: dict) -> None:
    """A matrix rating off the scale (11 on 1–5, a typo) would load with no score and leave the
    satisfaction figures unseen: the response is quarantined, naming the cell; other wordings of the
    five points (比较满意, 4分) are scored; words that are no rating stay answers (a matrix of options)."""
    header = ["序号", "提交答卷时间", "1、企业名称", "6、(开办企业)", "6、(纳税服务)", "9、其他意见建议"]
    rows = [
        header,
        [1, datetime(2026, 11, 3, 10, 0), "甲", 5, 11, "审批太慢"],
        [2, datetime(2026, 11, 3, 11, 0), "乙", "比较满意", "4分", ""],
        [3, datetime(2026, 11, 3, 12, 0), "丙", "满意┋很满", "", ""],
        [4, datetime(2026, 11, 3, 13, 0), "丁", "不了解", "", "无"],
    ]
    parsed = parse_file(write_xlsx(tmp_path / "问卷_越界.xlsx", {"Sheet1": rows}), "questionnaire", cfg)
    assert (parsed.rows_in, len(parsed.quarantine)) == (4, 1)
    why = reasons(parsed)
    assert why[2].startswith("6、(纳税服务) '11' is not on the answer scale (1–5 or 非常满意/"), why
    assert check_contract(parsed) == []
    a = parsed.answers
    assert list(a.loc[a["source_record_id"] == "2", "score_100"]) == [75, 75]
    assert set(parsed.feedback["source_record_id"]) == set()  # 1 is quarantined with its answer; 4 says 无


def test_questionnaire_header_variants_of_other_templates(tmp_path: Path, cfg: dict) -> None:
    """Matrix rows written 6(开办企业), 满意度:纳税 or 6、办理建筑许可; a question that states its scale
    (0-10分) or numbers its options 1非常满意…5非常不满意; an open question that names a street; more
    wordings of open questions (found by a run of 66 export variants: each was misread)."""
    header = ["序号", "提交答卷时间", "1、企业名称", "6(开办企业)", "6、您对以下方面的满意度:纳税", "6、办理建筑许可",
              "11、您对本区营商环境的总体评价（0-10分）",
              "12、您对本区营商环境的总体满意度（1非常满意 2满意 3一般 4不满意 5非常不满意）",
              "13、您对所在街道和园区有何意见建议", "14、您在办事过程中遇到的困难和问题"]
    rows = [header, [1, datetime(2026, 11, 3, 10, 0), "甲", 5, 4, 2, 9, 1, "园区路灯坏了一个月", "施工许可材料前后不一致"]]
    parsed = parse_file(write_xlsx(tmp_path / "问卷_变体.xlsx", {"Sheet1": rows}), "questionnaire", cfg)
    assert (parsed.rows_in, len(parsed.quarantine)) == (1, 0)
    a = parsed.answers.set_index("question")
    assert list(a.loc[["6(开办企业)", "6、您对以下方面的满意度:纳税", "6、办理建筑许可"], "area_code"]) == ["A1", "A5", "A2"]
    assert list(a.loc[["6(开办企业)", "6、您对以下方面的满意度:纳税", "6、办理建筑许可"], "score_100"]) == [100, 75, 25]
    assert a.loc[header[6], "score_100"] == 90  # 9 on 0-10, not 9 unscored on a 1-5 scale
    assert a.loc[header[7], "score_100"] == 100  # 1 = 非常满意 here
    fb = parsed.feedback.set_index("part")["text"]
    assert fb["13、您对所在街道和园区有何意见建议"] == "园区路灯坏了一个月"  # an opinion, not the street field
    assert fb["14、您在办事过程中遇到的困难和问题"] == "施工许可材料前后不一致"


def test_date_and_time_in_two_columns(tmp_path: Path, cfg: dict) -> None:
    """来电日期 2026-10-05 + 来电时间 09:03 (and a supervisor's 日期 + 时间) are one moment; before, the
    time-only column was read alone and every row was quarantined."""
    rows = [["工单编号", "来电日期", "来电时间", "诉求内容"], ["GD1", "2026-10-05", "09:03", "营业执照办不下来"],
            ["GD2", datetime(2026, 10, 6), "14:30:15", "停电"]]
    parsed = parse_file(write_xlsx(tmp_path / "工单.xlsx", {"Sheet1": rows}), "hotline", cfg)
    assert len(parsed.quarantine) == 0
    assert list(parsed.feedback["received_at"]) == [pd.Timestamp("2026-10-05 09:03"), pd.Timestamp("2026-10-06 14:30:15")]
    rows = [["序号", "日期", "时间", "监督员姓名", "反映问题"], [1, "2026-10-04", "09:30", "张三", "窗口排队太久"]]
    parsed = parse_file(write_xlsx(tmp_path / "监督员.xlsx", {"Sheet1": rows}), "supervisor", cfg)
    assert len(parsed.quarantine) == 0 and list(parsed.feedback["received_at"]) == [pd.Timestamp("2026-10-04 09:30")]


def test_two_findings_with_one_number_are_both_kept(tmp_path: Path, cfg: dict) -> None:
    rows = [["序号", "月份", "评价对象", "暗访发现问题"], [1, "2026-10", "区税务局", "取号机故障"],
            [2, "2026-10", "区税务局", "窗口无人值守"], [2, "2026-10", "区税务局", "未公示投诉电话"]]
    parsed = parse_file(write_xlsx(tmp_path / "暗访发现问题清单.xlsx", {"Sheet1": rows}), "survey", cfg)
    assert sorted(parsed.feedback["text"]) == sorted(["取号机故障", "窗口无人值守", "未公示投诉电话"])
    assert parsed.feedback["record_key"].nunique() == 3


def test_survey_wide_rank_and_sample_columns_are_not_scores(tmp_path: Path, cfg: dict) -> None:
    rows = [["月份", "评价对象", "开办企业", "开办企业排名", "纳税", "纳税样本量"],
            ["2026年10月", "区市场监督管理局", 86.6, 2, 79.2, 45]]
    parsed = parse_file(write_xlsx(tmp_path / "测评_宽表.xlsx", {"Sheet1": rows}), "survey", cfg)
    assert sorted(parsed.scores["score"].astype(float)) == [79.2, 86.6]


def test_questionnaire_missing_metadata(tmp_path: Path, cfg: dict) -> None:
    path = write_csv(tmp_path / "q.csv", [["1、企业名称", "2、(开办企业)"], ["甲", "满意"]])
    with pytest.raises(RejectedFile, match=r"^missing required columns: 序号 \(response_no\), 提交答卷时间 \(submitted_at\)$"):
        parse_file(path, "questionnaire", cfg)


# ----------------------------------------------------------------------------------------------
# Survey
# ----------------------------------------------------------------------------------------------


def test_survey_long(tmp_path: Path, cfg: dict) -> None:
    rows = [
        ["月份", "评价对象", "指标", "得分", "方法", "样本量", "排名"],
        ["2026-11", "市场监督管理局", "开办企业", "92.5", "问卷", "120", "1"],
        ["2026年11月", "税务局", "纳税", "105", "问卷", "80", "2"],
        ["202611", "供电公司", "获得电力", "良好", "暗访", "", ""],
        ["2026-11", "区法院", "执行合同", "88", "", "", "第3名"],
        ["十一月", "区法院", "执行合同", "88", "", "", ""],
    ]
    parsed = parse_file(write_csv(tmp_path / "测评.csv", rows, encoding="gbk"), "survey", cfg)
    assert (parsed.rows_in, len(parsed.quarantine)) == (5, 3)
    assert reasons(parsed) == {
        3: "得分 '105' is outside 0..100",
        4: "得分 '良好' is not a number (expected a score 0..100)",
        6: "月份 '十一月' is not a month (expected e.g. 2026-11 or 2026年11月)",
    }
    s = parsed.scores
    assert list(s["record_key"]) == ["2026-11|市场监督管理局|开办企业|问卷", "2026-11|区法院|执行合同|"]
    assert list(s["area_code"]) == ["A1", "A7"]
    assert list(s["score"]) == [92.5, 88.0]
    assert list(s["sample_size"]) == [120, None] and list(s["rank"]) == [1, 3]
    assert check_contract(parsed) == []


def test_survey_wide_row_with_one_bad_cell_is_quarantined_whole(tmp_path: Path, cfg: dict) -> None:
    rows = [
        ["2026年11月营商环境第三方测评得分表"],
        ["月份", "评价对象", "方法", "开办企业", "纳税", "获得水电气暖得分", "综合得分", "排名", "备注"],
        ["2026-11", "A街道", "综合测评", 90, 85.5, "-", 88, 1, "无"],  # 3
        ["2026-11", "B街道", "综合测评", 70, 120, 60, 75, 2, ""],  # 4
        ["2026-11", "C街道", "综合测评", "", "", "", "", "", ""],  # 5
    ]
    parsed = parse_file(write_xlsx(tmp_path / "测评.xlsx", {"得分": rows}), "survey", cfg)
    assert (parsed.rows_in, len(parsed.quarantine), len(parsed.rows)) == (3, 2, 1)
    assert reasons(parsed) == {
        4: "纳税 '120' is outside 0..100",
        5: "no indicator score in this row (all indicator cells are empty)",
    }
    s = parsed.scores
    assert list(s["indicator"]) == ["开办企业", "纳税", "综合"]  # 获得水电气暖 '-' = not evaluated
    assert list(s["area_code"].fillna("-")) == ["A1", "A5", "-"]
    assert list(s["score"]) == [90, 85.5, 88]
    assert list(s["rank"]) == [None, None, 1]
    assert set(s["record_key"]) == {"2026-11|A街道|综合测评"}


def test_survey_workbook_with_scores_and_findings_sheets(tmp_path: Path, cfg: dict) -> None:
    scores = [["月份", "评价对象", "指标", "得分"], ["2026-11", "政务服务中心", "政务服务", 91]]
    findings = [
        ["序号", "暗访时间", "暗访单位", "指标", "暗访发现问题"],
        [1, datetime(2026, 11, 12, 10, 30), "政务服务中心", "政务服务", "3号窗口工作人员离岗20分钟无人值守"],
        [None, "2026-11", "不动产登记中心", "登记财产", "取号后等待超过一小时"],
        [3, "2026-11-13", "税务局", "纳税", ""],
    ]
    parsed = parse_file(write_xlsx(tmp_path / "暗访.xlsx", {"得分": scores, "暗访发现": findings}), "survey", cfg)
    assert (parsed.rows_in, len(parsed.quarantine)) == (4, 1)
    assert reasons(parsed) == {4: "[暗访发现] 暗访发现问题 is empty (no finding text)"}
    assert list(parsed.scores["area_code"]) == ["A9"]
    fb = parsed.feedback
    assert list(fb["record_key"])[0] == "2026-11|政务服务中心|1"
    assert list(fb["record_key"])[1].startswith("2026-11|不动产登记中心|")  # no 序号: hash of the text
    assert list(fb["received_at"]) == [pd.Timestamp("2026-11-12 10:30"), pd.Timestamp("2026-11-01")]
    assert set(fb["channel"]) == {"暗访"} and set(fb["request_type"]) == {"投诉"}
    assert list(fb["unit"]) == ["政务服务中心", "不动产登记中心"]
    assert list(fb["call_taker_category"]) == ["政务服务", "登记财产"]
    assert check_contract(parsed) == []


def test_survey_score_table_with_a_problem_column_stays_a_score_table(tmp_path: Path, cfg: dict) -> None:
    rows = [["月份", "评价对象", "开办企业", "纳税", "问题描述"], ["2026-11", "A街道", 90, 80, "窗口人员不足"]]
    parsed = parse_file(write_csv(tmp_path / "s.csv", rows), "survey", cfg)
    assert list(parsed.scores["indicator"]) == ["开办企业", "纳税"]
    assert parsed.feedback.empty


def test_survey_without_scores_is_rejected(tmp_path: Path, cfg: dict) -> None:
    path = write_csv(tmp_path / "s.csv", [["月份", "评价对象", "备注"], ["2026-11", "A", "x"]])
    with pytest.raises(RejectedFile, match=r"missing required columns: 指标 \(indicator\), 得分 \(score\)"):
        parse_file(path, "survey", cfg)


# ----------------------------------------------------------------------------------------------
# Supervisor
# ----------------------------------------------------------------------------------------------


def test_supervisor(tmp_path: Path, cfg: dict) -> None:
    rows = [
        ["特邀监督员反映问题登记表"],
        ["序号", "监督员姓名", "身份类别", "反映时间", "反映问题", "涉及单位", "联系电话"],
        [1, "王某", "人大代表", "2026-11-05", "企业反映施工许可审批时间过长", "住建局", "13900000000"],
        [2, "李某", "记者", "2026/11/6 14:00", "政务大厅自助机故障多日未修", "政务服务中心", ""],
        [3, "赵某", "商会", "", "没有时间", "", ""],
    ]
    parsed = parse_file(write_csv(tmp_path / "监督员.csv", rows, encoding="gbk"), "supervisor", cfg)
    assert (parsed.rows_in, len(parsed.quarantine)) == (3, 1)
    assert reasons(parsed) == {5: "反映时间 is empty"}
    fb = parsed.feedback
    assert list(fb["reporter_category"]) == ["人大代表", "媒体记者"]
    assert list(fb["source_record_id"]) == ["1", "2"]  # the register's 序号 is what people see
    assert list(fb["person_name"]) == ["王某", "李某"]
    assert list(fb["unit"]) == ["住建局", "政务服务中心"]
    assert set(fb["channel"]) == {"特邀监督员"} and set(fb["request_type"]) == {"投诉"}
    assert list(fb["received_at"]) == [pd.Timestamp("2026-11-05"), pd.Timestamp("2026-11-06 14:00")]
    # the key is stable across files and exports: the same report again has the same key
    # (even when the register is renumbered and re-exported as xlsx)
    renumbered = [rows[0], rows[1]] + [[n + 10, *r[1:]] for n, r in enumerate(rows[2:])]
    again = parse_file(write_xlsx(tmp_path / "x.xlsx", {"s": renumbered}), "supervisor", cfg)
    assert list(again.feedback["record_key"]) == list(fb["record_key"])
    assert fb["record_key"].is_unique


# ----------------------------------------------------------------------------------------------
# Real, messy third-party text (skipped when shared data is absent)
# ----------------------------------------------------------------------------------------------


def shared_data() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    return Path(os.environ.get("YINGSHANG_SHARED_DATA", default))


def test_message_board_export_is_a_hotline_export(cfg: dict, tmp_path: Path) -> None:
    """网络问政 / 领导留言板 exports (12345's web channel) are read as hotline orders with the shipped
    column map: 留言编号 is the order number, 留言主题 the title, 留言详情 the content, 答复意见 the reply."""
    path = tmp_path / "网络问政留言_2026-10.csv"
    path.write_text(
        "留言编号,留言用户,留言主题,留言时间,留言详情,答复意见,答复时间\n"
        "20261001,A00045581,郑东新区某小区停电,2026/10/3 09:32:09,小区连续三天停电，联系13812345678没人管,已转供电公司处理,2026-10-05 10:00:00\n"
        "20261002,A00012345,开办企业太慢,2026-10-04 11:00:00,营业执照办了一个月,,\n",
        encoding="utf-8")
    parsed = parse_file(path, "hotline", cfg)
    assert parsed.rows_in == 2 and len(parsed.quarantine) == 0, parsed.quarantine[:2]
    assert check_contract(parsed) == []
    fb = parsed.feedback.sort_values("source_record_id").reset_index(drop=True)
    assert fb["source_record_id"].tolist() == ["20261001", "20261002"]
    assert fb.loc[0, "title"] == "郑东新区某小区停电"
    assert fb.loc[0, "text"].startswith("小区连续三天停电")
    assert fb.loc[0, "received_at"] == pd.Timestamp("2026-10-03 09:32:09")


def test_real_message_board_export_parses_as_hotline(cfg: dict) -> None:
    path = shared_data() / "tipdm2020c_messages" / "messages_dev.csv"
    if not path.exists():
        pytest.skip(f"shared data not found at {path}")
    parsed = parse_file(path, "hotline", cfg)
    expected = len(pd.read_csv(path, encoding="utf-8", dtype=str))
    assert parsed.rows_in == expected
    assert len(parsed.quarantine) == 0, parsed.quarantine[:2]
    assert check_contract(parsed) == []
    assert parsed.feedback["received_at"].notna().all()


@pytest.mark.parametrize("joined", ["开办企业|纳税|获得电力", "开办企业｜纳税 ｜获得电力", "开办企业┋纳税┋获得电力"])
def test_a_multi_select_answer_joined_by_a_bar_is_split(tmp_path: Path, cfg: dict, joined: str) -> None:
    """Exporters other than 问卷星 join a multi-select answer with | (it was stored as one option
    '开办企业|纳税|获得电力'); a comma stays inside an option (满意，但需改进 is one answer)."""
    rows = [Q_HEADER,
            ["1", "2026/11/3 10:20:05", "300秒", "微信", "", "", "郑州甲公司", "", "制造业", "小型", "龙子湖街道",
             "非常满意", "满意", "满意", joined, "满意，但需改进", "", ""]]
    parsed = parse_file(write_csv(tmp_path / "问卷.csv", rows, encoding="utf-8-sig"), "questionnaire", cfg)
    a = parsed.answers
    assert list(a.loc[a["question"] == "8、您近一年办理过哪些业务", "answer_text"]) == ["开办企业", "纳税", "获得电力"]
    assert list(a.loc[a["question"] == "9、您对本区营商环境的总体评价", "answer_text"]) == ["满意，但需改进"]
