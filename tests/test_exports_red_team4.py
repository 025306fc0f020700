"""Real-world export shapes left open by the third red-team run (docs/reliability.md, session 10) and
fixed in session 11: each test fails without its fix. Street-group label rows were quarantined every
night and their street lost; a workbook with one sheet per street lost the street; a 全区平均 row was
ranked as a unit; a hidden sheet holding the previous export reopened the orders the visible one closed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from pipeline.nightly import run_nightly
from pipeline.readers import open_tables
from pipeline.validate import street_from_group
from warehouse.db import get_engine

ORDERS = ["工单编号", "来电时间", "诉求类型", "诉求内容", "所属街道"]


def rows(url: str, sql: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def write(landing: Path, name: str, body: str) -> None:
    (landing / name).parent.mkdir(parents=True, exist_ok=True)
    (landing / name).write_text(body, encoding="utf-8")


def test_street_group_label_rows_are_no_data_and_give_their_street(tmp_path: Path, sqlite_url: str) -> None:
    """A street's name alone above its orders (一、龙子湖街道（2件）) is not quarantined as an order every night;
    the orders under it without a street of their own take it; an order's own street wins."""
    landing = tmp_path / "landing"
    write(landing, "hotline/orders.csv", ",".join(ORDERS) + "\n"
          "龙子湖街道（2件）,,,,\n"
          "GD1,2026-10-05 09:00:00,投诉,路灯不亮,\n"
          "GD2,2026-10-05 10:00:00,投诉,小区停水,\n"
          "如意湖街道,如意湖街道,如意湖街道,如意湖街道,如意湖街道\n"  # merged across the row, as Excel fills it
          "GD3,2026-10-05 11:00:00,投诉,占道经营,商都路街道\n"
          "GD4,2026-10-05 12:00:00,投诉,噪音扰民,\n"
          "二、其他,,,,\n"
          "GD5,2026-10-05 13:00:00,投诉,井盖缺失,\n"
          "GD6,,,,\n")  # an id alone is a broken order, not a label: still quarantined
    run_nightly(landing, sqlite_url)
    assert rows(sqlite_url, "select source_record_id, street from feedback order by 1") == [
        ("GD1", "龙子湖街道"), ("GD2", "龙子湖街道"), ("GD3", "商都路街道"), ("GD4", "如意湖街道"), ("GD5", None)]
    assert rows(sqlite_url, "select count(*) from quarantine") == [(1,)]
    assert rows(sqlite_url, "select rows_in, quarantined from ingest_file") == [(6, 1)]


def test_one_sheet_per_street_gives_the_street(tmp_path: Path, sqlite_url: str) -> None:
    import openpyxl

    folder = tmp_path / "landing" / "hotline"
    folder.mkdir(parents=True)
    wb = openpyxl.Workbook()
    for n, sheet in enumerate(["龙子湖街道", "如意湖街道办事处", "汇总"]):
        ws = wb.active if n == 0 else wb.create_sheet()
        ws.title = sheet
        ws.append(ORDERS[:4])
        ws.append([f"GD{n}", "2026-10-05 09:00:00", "投诉", "路灯不亮"])
    wb.save(folder / "orders.xlsx")
    run_nightly(tmp_path / "landing", sqlite_url)
    assert rows(sqlite_url, "select source_record_id, street from feedback order by 1") == [
        ("GD0", "龙子湖街道"), ("GD1", "如意湖街道办事处"), ("GD2", None)]


def test_street_from_group_reads_only_street_labels() -> None:
    pattern = r"^(.{1,12}?(街道办事处|街道|镇|乡|办事处|管委会))(?:[（(].*)?$"
    assert street_from_group("龙子湖街道（12件）", pattern) == "龙子湖街道"
    assert street_from_group("Sheet1", pattern) == ""
    assert street_from_group("10月工单", pattern) == ""
    assert street_from_group("龙子湖街道", None) == ""


def test_an_average_row_is_no_evaluated_unit(tmp_path: Path, sqlite_url: str) -> None:
    """A wide score table ends with 全区平均 (or 平均值): it was loaded and ranked as a unit."""
    landing = tmp_path / "landing"
    write(landing, "survey/scores.csv", "月份,评价对象,开办企业,纳税\n"
          "2026-10,龙子湖街道,90,88\n2026-10,如意湖街道,80,86\n2026-10,全区平均,85,87\n2026-10,平均值,85,87\n")
    run_nightly(landing, sqlite_url)
    assert rows(sqlite_url, "select distinct unit from survey_score order by 1") == [("如意湖街道",), ("龙子湖街道",)]
    assert rows(sqlite_url, "select count(*) from quarantine") == [(0,)]


def test_a_hidden_sheet_is_read_before_the_sheet_on_view(tmp_path: Path, sqlite_url: str) -> None:
    """Yesterday's export left in a hidden sheet after today's (visible) one: its 办理中 reopened the order
    today's sheet closed. Both are still read (no data dropped); the sheet on view has the last word."""
    import openpyxl

    folder = tmp_path / "landing" / "hotline"
    folder.mkdir(parents=True)
    head = ["工单编号", "来电时间", "诉求类型", "诉求内容", "工单状态"]
    wb = openpyxl.Workbook()
    today = wb.active
    today.title = "今日"
    today.append(head)
    today.append(["GD1", "2026-10-05 09:00:00", "投诉", "路灯不亮", "已办结"])
    old = wb.create_sheet("昨日")
    old.append(head)
    old.append(["GD1", "2026-10-05 09:00:00", "投诉", "路灯不亮", "办理中"])
    old.append(["GD0", "2026-10-04 09:00:00", "投诉", "小区停水", "已办结"])
    old.sheet_state = "hidden"
    wb.save(folder / "orders.xlsx")
    with open_tables(folder / "orders.xlsx", header_hints=head) as tf:
        assert [t.sheet for t in tf.tables] == ["昨日", "今日"]
    run_nightly(tmp_path / "landing", sqlite_url)
    assert rows(sqlite_url, "select source_record_id, status from feedback order by 1") == [
        ("GD0", "已办结"), ("GD1", "已办结")]


def test_a_file_with_only_a_sum_row_loads_nothing_without_crashing(tmp_path: Path, sqlite_url: str) -> None:
    """A work-order export of a day without orders (the header, then 合计 0) ended the run with
    'IndexError: list index out of range' (found in session 11 by a property test)."""
    landing = tmp_path / "landing"
    write(landing, "hotline/orders.csv", "工单编号,来电时间,诉求内容\n合计,,0\n")
    write(landing, "hotline/orders_2.csv", "工单编号,来电时间,诉求内容\n龙子湖街道,,\n")
    run_nightly(landing, sqlite_url)
    assert rows(sqlite_url, "select status, rows_in, quarantined from ingest_file order by path") == [
        ("loaded", 0, 0), ("loaded", 0, 0)]


# Session 11, a fourth red-team run of real-world exports (55 cases, 37 right): what it found, fixed.

def test_a_row_counter_named_bianhao_is_not_the_order_number(tmp_path: Path, sqlite_url: str) -> None:
    """编号 1, 2, 3 beside 工单编码: keyed on 编号, the next day's rows 1 and 2 overwrote the previous day's
    orders with other complaints (3 orders stored instead of 5)."""
    head = "编号,工单编码,来电时间,诉求内容\n"
    landing = tmp_path / "landing"
    write(landing, "hotline/d1.csv", head + "1,12345-20261005-0001,2026-10-05 09:00,路灯不亮\n"
          "2,12345-20261005-0002,2026-10-05 10:00,小区停水\n3,12345-20261005-0003,2026-10-05 11:00,噪音扰民\n")
    write(landing, "hotline/d2.csv", head + "1,12345-20261006-0001,2026-10-06 09:00,井盖缺失\n"
          "2,12345-20261006-0002,2026-10-06 10:00,占道经营\n")
    run_nightly(landing, sqlite_url)
    assert rows(sqlite_url, "select count(*) from feedback") == [(5,)]


def test_dates_with_a_weekday_a_closing_day_without_a_year_and_a_due_in_days(tmp_path: Path, sqlite_url: str) -> None:
    """2026-10-05 周一 09:30 was 'not a date'; 办结时间 10-08 16:30 (no year) quarantined the whole order;
    办理时限（天） 5 was 'not a date … or a duration'."""
    landing = tmp_path / "landing"
    write(landing, "hotline/orders.csv", "工单编号,来电时间,诉求内容,办结时间,办理时限（天）\n"
          "GD1,2026-10-05 周一 09:30,路灯不亮,10-08 16:30,5\n"
          "GD2,2026/10/07(周三) 10:00,小区停水,10月9日 10:00,3\n")
    run_nightly(landing, sqlite_url)
    assert rows(sqlite_url, "select source_record_id, received_at, closed_at, due_at from feedback order by 1") == [
        ("GD1", "2026-10-05 09:30:00.000000", "2026-10-08 16:30:00.000000", "2026-10-10 09:30:00.000000"),
        ("GD2", "2026-10-07 10:00:00.000000", "2026-10-09 10:00:00.000000", "2026-10-10 10:00:00.000000")]
    assert rows(sqlite_url, "select count(*) from quarantine") == [(0,)]


def test_option_letters_sub_scores_and_matrix_rows_in_brackets(tmp_path: Path, sqlite_url: str) -> None:
    """A.非常满意 was stored unscored; 开办企业（10分） 8.5 was stored as 8.5 of 100; 3、满意度评价(开办企业) lost its
    area (only stems of up to 8 characters were read as matrix rows)."""
    landing = tmp_path / "landing"
    write(landing, "questionnaire/q.csv", "序号,提交答卷时间,3、满意度评价(开办企业),3、满意度评价(纳税)\n"
          "1,2026/10/11 10:00:00,A.非常满意,D、不满意\n")
    write(landing, "survey/scores.csv", "月份,评价对象,开办企业（10分）,纳税（满分15分）\n2026-10,龙子湖街道,8.5,12\n")
    run_nightly(landing, sqlite_url)
    assert rows(sqlite_url, "select area, answer_text, score_100 from survey_answer order by 1") == [
        ("A1", "A.非常满意", 100.0), ("A5", "D、不满意", 25.0)]
    assert rows(sqlite_url, "select indicator, area, score from survey_score order by 1") == [
        ("开办企业", "A1", 85.0), ("纳税", "A5", 80.0)]


def test_documents_in_the_landing_folder_are_reported_not_ignored(tmp_path: Path, sqlite_url: str, capsys) -> None:
    """A Word report and a PDF beside the exports were passed over in silence by `run`; `ingest` of a .docx said
    'not a readable xlsx workbook (OSError: File contains no valid workbook part)'."""
    import zipfile

    from pipeline.cli import main

    landing = tmp_path / "landing"
    write(landing, "supervisor/ok.csv", "监督员姓名,反映时间,反映问题\n张三,2026-10-05 09:00,窗口排队时间长\n")
    with zipfile.ZipFile(landing / "supervisor" / "报告.docx", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    (landing / "supervisor" / "扫描件.pdf").write_bytes(b"%PDF-1.4\n")
    results = run_nightly(landing, sqlite_url)
    got = {Path(r.path).name: (r.status, r.error) for r in results}
    assert got["ok.csv"][0] == "loaded"
    assert got["报告.docx"][0] == "rejected" and "Word document" in got["报告.docx"][1]
    assert got["扫描件.pdf"][0] == "rejected" and "PDF" in got["扫描件.pdf"][1]
    (landing / "hotline").mkdir()
    (landing / "hotline" / "工单.xlsx").write_bytes((landing / "supervisor" / "报告.docx").read_bytes())
    with __import__("pytest").raises(SystemExit):
        main(["--db", sqlite_url, "ingest", str(landing / "hotline" / "工单.xlsx")])
    captured = capsys.readouterr()
    assert "a Word document, not a table" in captured.out + captured.err


def test_full_width_ids_and_phones_are_the_same_as_ascii(tmp_path: Path, sqlite_url: str) -> None:
    """ＧＤ２０２６１００５００１ one day and GD20261005001 the next were two orders; the phone was stored as
    １３８****５６７８."""
    head = "工单编号,来电时间,诉求内容,联系电话,工单状态\n"
    landing = tmp_path / "landing"
    write(landing, "hotline/d1.csv", head + "ＧＤ２０２６１００５００１,2026-10-05 09:00,路灯不亮,１３８１２３４５６７８,办理中\n")
    write(landing, "hotline/d2.csv", head + "GD20261005001,2026-10-05 09:00,路灯不亮,13812345678,已办结\n")
    run_nightly(landing, sqlite_url)
    assert rows(sqlite_url, "select source_record_id, phone_masked, status from feedback") == [
        ("GD20261005001", "138****5678", "已办结")]


def test_a_broken_row_delivered_every_night_is_listed_once(tmp_path: Path, sqlite_url: str) -> None:
    """A cumulative export quarantined the same broken row again every night: `quarantine list` grew by one
    copy per delivery. The earlier copies are now superseded by the latest; each file keeps its counters."""
    from pipeline.quarantine import list_quarantine

    head = "工单编号,来电时间,诉求内容\n"
    landing = tmp_path / "landing"
    write(landing, "hotline/全量_1.csv", head + "GD1,2026-10-05 09:00,路灯不亮\nGD2,明天,小区停水\n")
    run_nightly(landing, sqlite_url)
    write(landing, "hotline/全量_2.csv", head + "GD1,2026-10-05 09:00,路灯不亮\nGD2,明天,小区停水\nGD3,2026-10-06 09:00,噪音\n")
    run_nightly(landing, sqlite_url)
    assert [r["row_number"] for r in list_quarantine(sqlite_url)] == [3]
    assert rows(sqlite_url, "select status from quarantine order by quarantine_id") == [("superseded",), ("open",)]
    assert rows(sqlite_url, "select quarantined from ingest_file order by file_id") == [(1,), (1,)]


def test_a_street_typed_into_other_and_a_wps_workbook(tmp_path: Path, sqlite_url: str) -> None:
    """问卷星 writes a typed-in answer as 其他〖龙子湖高校园区〗: that was stored as the street. A WPS .et file
    (xlsx bytes) under supervisor/ was 'cannot tell the source'."""
    import openpyxl

    landing = tmp_path / "landing"
    write(landing, "questionnaire/q.csv", "序号,提交答卷时间,1、企业名称,5、所在街道,8、您对以下方面的满意度—开办企业\n"
          "1,2026/10/11 10:00:00,郑州某机械有限公司,其他〖龙子湖高校园区〗,满意\n")
    (landing / "supervisor").mkdir()
    wb = openpyxl.Workbook()
    wb.active.append(["监督员姓名", "反映时间", "反映问题"])
    wb.active.append(["张三", "2026-10-05 09:00", "窗口排队时间长"])
    wb.save(landing / "supervisor" / "10月台账.et")
    results = run_nightly(landing, sqlite_url)
    assert {Path(r.path).name: r.status for r in results} == {"q.csv": "loaded", "10月台账.et": "loaded"}
    assert rows(sqlite_url, "select distinct street from survey_answer") == [("龙子湖高校园区",)]


def test_a_two_row_header_names_each_column_of_its_groups(tmp_path: Path, sqlite_url: str) -> None:
    """A questionnaire summary with a two-row header (2、您对以下方面的满意度 merged over 开办企业 | 纳税 | 政务服务):
    the sub-header row was quarantined as data and the second and third ratings were dropped in silence (their
    columns had no name). Workbook (merged cells) and CSV (a title followed by empty header cells) alike."""
    import openpyxl

    landing = tmp_path / "landing"
    (landing / "questionnaire").mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "提交答卷时间", "1、企业名称", "2、您对以下方面的满意度", None, None, "3、意见建议"])
    ws.append([None, None, None, "开办企业", "纳税", "政务服务", None])
    ws.append([1, "2026-10-11 10:00:00", "郑州某机械有限公司", "满意", "不满意", "非常满意", "窗口排队太久"])
    ws.merge_cells("D1:F1")
    for col in "ABCG":
        ws.merge_cells(f"{col}1:{col}2")
    wb.save(landing / "questionnaire" / "q1.xlsx")
    write(landing, "questionnaire/q2.csv", "序号,提交答卷时间,1、企业名称,2、您对以下方面的满意度,,,3、意见建议\n"
          ",,,开办企业,纳税,政务服务,\n2,2026-10-12 10:00:00,郑州某商贸有限公司,不满意,满意,基本满意,无\n")
    run_nightly(landing, sqlite_url)
    assert rows(sqlite_url, "select response_no, area, score_100 from survey_answer where area is not null "
                            "order by 1, 2") == [("1", "A1", 75.0), ("1", "A5", 25.0), ("1", "A9", 100.0),
                                                 ("2", "A1", 25.0), ("2", "A5", 75.0), ("2", "A9", 50.0)]
    assert rows(sqlite_url, "select count(*) from quarantine") == [(0,)]
