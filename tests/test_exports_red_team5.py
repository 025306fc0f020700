"""Real-world export shapes found by the fifth exports red-team run (session 12; 40 new files, 26 right
before): each test fails without its fix. A WeChat id stayed in clear in the stored phone column; a city
export's district was stored as the street; a 腾讯问卷 export was rejected; 24:00 deadlines quarantined
the order; a template's example row loaded as an order; an order closed before it was received counted
as handled on time; a two-row 得分 | 排名 header named the indicator '开办企业—'; footer lines and notes
under the table were quarantined on every delivery."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from nlp.pii import mask_phone_field
from pipeline.nightly import run_nightly
from warehouse.db import get_engine

ORDERS = "工单编号,来电时间,诉求类型,诉求内容,所属街道\n"


def rows(url: str, sql: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def write(landing: Path, name: str, body: str, encoding: str = "utf-8") -> None:
    (landing / name).parent.mkdir(parents=True, exist_ok=True)
    (landing / name).write_text(body, encoding=encoding)


def load(tmp_path: Path, url: str, name: str, body: str) -> list:
    """Write one file into a fresh landing folder and run the nightly job on it."""
    landing = tmp_path / "landing"
    write(landing, name, body)
    return run_nightly(landing, url)


def test_a_wechat_id_in_a_phone_column_is_masked(tmp_path: Path, sqlite_url: str) -> None:
    value = "微信：zhangjg_1975 / 13912345678"
    masked = mask_phone_field(value)
    assert "zhangjg_1975" not in masked and "13912345678" not in masked and "139****5678" in masked
    assert mask_phone_field(masked) == masked  # a stored value is not masked again on the next pass
    landing = tmp_path / "landing"
    write(landing, "hotline/orders.csv", "工单编号,来电时间,诉求类型,诉求内容,联系电话\n"
          f"GD1,2026-10-05 09:00,投诉,路灯不亮,{value}\n")
    run_nightly(landing, sqlite_url)
    [(phone,)] = rows(sqlite_url, "select phone_masked from feedback")
    assert "zhangjg" not in phone and "13912345678" not in phone


def test_the_street_column_is_preferred_to_a_district_column(tmp_path: Path, sqlite_url: str) -> None:
    load(tmp_path, sqlite_url, "hotline/city.csv", "工单编号,来电时间,诉求内容,所属区域,街道名称\n"
          "GD1,2026-10-05 09:00,路灯不亮,郑东新区,龙子湖街道\n")
    assert rows(sqlite_url, "select street from feedback") == [("龙子湖街道",)]


def test_a_tencent_questionnaire_export_loads(tmp_path: Path, sqlite_url: str) -> None:
    [result] = load(tmp_path, sqlite_url, "questionnaire/腾讯问卷_企业满意度.csv",
          "编号,开始答题时间,结束答题时间,答题时长,1.您的企业名称,2.您企业所在街道,3.您对开办企业服务的满意度,"
          "4.您对我区营商环境有何意见建议\n"
          "1,2026-10-05 10:00:00,2026-10-05 10:03:10,190,郑州宏达机械有限公司,龙子湖街道,非常满意,退税到账太慢。\n")
    assert result.status == "loaded", result.error
    assert rows(sqlite_url, "select received_at from feedback") == [("2026-10-05 10:03:10.000000",)]


def test_a_deadline_at_24_00_is_the_next_day(tmp_path: Path, sqlite_url: str) -> None:
    load(tmp_path, sqlite_url, "hotline/orders.csv", "工单编号,来电时间,诉求内容,办理时限\n"
          "GD1,2026-10-05 09:00,路灯不亮,2026-10-10 24:00:00\n")
    assert rows(sqlite_url, "select due_at from feedback") == [("2026-10-11 00:00:00.000000",)]


def test_a_templates_example_row_is_no_order(tmp_path: Path, sqlite_url: str) -> None:
    load(tmp_path, sqlite_url, "hotline/template.csv", ORDERS + "示例：GD2026XXXXXXXX,2026-10-01 09:00,投诉,（示例）反映小区路灯不亮,XX街道\n"
          "GD1,2026-10-05 09:00,投诉,小区停车难,龙子湖街道\n")
    assert rows(sqlite_url, "select source_record_id from feedback") == [("GD1",)]
    assert rows(sqlite_url, "select count(*) from quarantine") == [(0,)]


def test_an_order_closed_before_it_was_received_is_quarantined(tmp_path: Path, sqlite_url: str) -> None:
    load(tmp_path, sqlite_url, "hotline/orders.csv", "工单编号,来电时间,诉求内容,办结时间,办理时限\n"
          "GD1,2026-10-05 09:00,路灯不亮,2026-10-03 16:00,2026-10-10\n"
          "GD2,2026-10-05 09:00,井盖缺失,2026-10-05,2026-10-10\n"  # closed that day, no time written: fine
          "GD3,2026-10-05 09:00,占道经营,2026-10-05 08:00,2026-10-10\n")
    assert rows(sqlite_url, "select source_record_id, on_time from feedback") == [("GD2", 1)]
    reasons = [r for (r,) in rows(sqlite_url, "select reason from quarantine order by row_number")]
    assert len(reasons) == 2 and all("is before" in r and "来电时间" in r for r in reasons)


def test_a_two_row_score_and_rank_header_keeps_the_indicator_name_and_its_rank(tmp_path: Path, sqlite_url: str) -> None:
    import openpyxl

    folder = tmp_path / "landing" / "survey"
    folder.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["月份", "评价对象", "开办企业", None, "纳税", None])
    ws.append([None, None, "得分", "排名", "得分", "排名"])
    ws.append(["2026-10", "龙子湖街道", 92.5, 1, 88, 2])
    ws.append(["2026-10", "如意湖街道", 90, 2, 91, 1])
    for cells in ("A1:A2", "B1:B2", "C1:D1", "E1:F1"):
        ws.merge_cells(cells)
    wb.save(folder / "第三方测评_10月_得分排名.xlsx")
    run_nightly(tmp_path / "landing", sqlite_url)
    assert rows(sqlite_url, "select unit, indicator, score, rank from survey_score order by unit, indicator") == [
        ("如意湖街道", "开办企业", 90.0, 2), ("如意湖街道", "纳税", 91.0, 1),
        ("龙子湖街道", "开办企业", 92.5, 1), ("龙子湖街道", "纳税", 88.0, 2)]


def test_footer_lines_and_notes_under_the_table_are_no_records(tmp_path: Path, sqlite_url: str) -> None:
    import openpyxl

    landing = tmp_path / "landing"
    write(landing, "hotline/gb18030.csv", ORDERS + "GD1,2026-10-05 09:00,投诉,小区停车难,龙子湖街道\n"
          "共计：1件,,,,\n制表人：王小明 13811112222,,制表日期：2026-10-06,,\n", encoding="gb18030")
    write(landing, "hotline/old.txt", ORDERS.replace(",", "\t") + "GD2\t2026-10-05 10:00\t建议\t建议增设公交站\t\n"
          "共 1 条记录  导出时间：2026-10-06 08:00\n")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ORDERS.strip().split(","))
    ws.append(["GD3", "2026-10-05 11:00", "投诉", "噪音扰民", "龙子湖街道"])
    ws.append([None] * 5)
    for line in ("填报说明：", "1. 本表由各街道于每日17:00前报送区12345热线办公室，逾期未报的按零件处理；",
                 "联系人：李娜，联系电话：13812345678"):
        ws.append([line, None, None, None, None])
        ws.merge_cells(f"A{ws.max_row}:E{ws.max_row}")
    wb.save(landing / "hotline" / "街道工单报送表.xlsx")
    results = run_nightly(landing, sqlite_url)
    assert all(r.status == "loaded" for r in results)
    assert rows(sqlite_url, "select source_record_id from feedback order by 1") == [("GD1",), ("GD2",), ("GD3",)]
    assert rows(sqlite_url, "select count(*) from quarantine") == [(0,)]


def test_questions_headed_only_by_their_numbers_reject_the_file(tmp_path: Path, sqlite_url: str) -> None:
    """第1题 … 第5题 (the question texts on another sheet): nothing was read — no score, street or opinion —
    and the file counted as loaded."""
    [result] = load(tmp_path, sqlite_url, "questionnaire/营商环境问卷_按题号导出.csv", "序号,提交答卷时间,第1题,第2题,第3题\n"
          "1,2026-10-05 10:00:00,5,2,办税大厅排队时间太长，希望增加窗口\n")
    assert result.status == "rejected" and "第1题" in result.error and "\n" not in result.error
