"""What a third red-team run of real-world exports found (session 10, 68 cases): each test fails without its
fix. Multi-choice answers lost all options but the last; titles mentioning 合计 were dropped as sum rows; ids
written the Excel way loaded twice; daily exports loaded out of date order; (跳过) was a street; Excel's
1.38371E+10 phones joined callers; merged cells were blank below their first row; a header below row 15
was reported as missing columns."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from pipeline.nightly import run_nightly
from warehouse.db import get_engine

HEADER = "序号,提交答卷时间,1、企业名称,5、所在街道,7、您近一年办理过哪些业务,8、您对以下方面的满意度—开办企业\n"
ORDERS = "工单编号,来电时间,诉求类型,诉求内容,联系电话\n"


def load(landing: Path, url: str, files: dict[str, str]) -> None:
    """Write ``{relative path: CSV text}`` under ``landing`` and run the nightly job on it."""
    for name, body in files.items():
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text(body, encoding="utf-8")
    run_nightly(landing, url)


def rows(url: str, sql: str) -> list[tuple]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_each_option_of_a_multi_choice_answer_is_a_row(tmp_path: Path, sqlite_url: str) -> None:
    body = (HEADER + "1,2026/10/11 10:00:00,郑州某机械有限公司,博学路街道,设立或变更登记┋不动产登记┋纳税申报,满意\n"
            "2,2026/10/12 10:00:00,郑州某商贸有限公司,博学路街道,纳税申报,不满意\n")
    sql = "select response_no, answer_text from survey_answer where question like '%办理过%' order by 1, 2"
    load(tmp_path / "landing", sqlite_url, {"questionnaire/q_1-2.csv": body})
    assert rows(sqlite_url, sql) == [("1", "不动产登记"), ("1", "纳税申报"), ("1", "设立或变更登记"), ("2", "纳税申报")]
    load(tmp_path / "landing", sqlite_url, {"questionnaire/q_1-2_again.csv": body})  # the same file again
    assert rows(sqlite_url, sql) == [("1", "不动产登记"), ("1", "纳税申报"), ("1", "设立或变更登记"), ("2", "纳税申报")]


def test_a_row_whose_first_cell_mentions_a_sum_is_data(tmp_path: Path, sqlite_url: str) -> None:
    """Summary rows are recognised by a short label (合计, 本月合计, 总计：); a work order whose title, exported
    first, contains the word (物业费合计多收问题) was dropped as a 合计 row (hostile-files red team, session 10)."""
    load(tmp_path / "landing", sqlite_url, {"hotline/orders.csv": (
        "工单标题,工单编号,来电时间,诉求类型,诉求内容\n"
        "物业费合计多收问题,GD1,2026-10-05 09:00:00,投诉,物业费合计多收了三百元\n"
        "路灯不亮,GD2,2026-10-05 10:00:00,投诉,小区门口路灯不亮\n"
        "合计,,,,2\n")})
    assert rows(sqlite_url, "select source_record_id from feedback order by 1") == [("GD1",), ("GD2",)]


def test_an_id_written_the_excel_way_is_the_same_record(tmp_path: Path, sqlite_url: str) -> None:
    """="GD…", 'GD… and 2026100500001.0 are the ids GD… and 2026100500001 (each loaded the orders a second
    time beside their plain copy; hostile-files red team, session 10)."""
    load(tmp_path / "a", sqlite_url, {"hotline/orders.csv": ORDERS + "GD1,2026-10-05 09:00:00,投诉,路灯不亮,13812340001\n"
                                                             "2026100500002,2026-10-05 10:00:00,投诉,小区停水,13812340002\n"})
    load(tmp_path / "b", sqlite_url, {"hotline/orders_excel.csv": (
        ORDERS + '="GD1",2026-10-05 09:00:00,投诉,路灯不亮,="13812340001"\n'
        "2026100500002.0,2026-10-05 10:00:00,投诉,小区停水,'13812340002\n")})
    assert rows(sqlite_url, "select source_record_id, phone_masked from feedback order by 1") == [
        ("2026100500002", "138****0002"), ("GD1", "138****0001")]


def test_daily_exports_load_in_date_order(tmp_path: Path, sqlite_url: str) -> None:
    """工单_10月9日 loads before 工单_10月10日: by plain text order the 10th's export came first and the 9th's
    older 办理中 then reopened the order the 10th had closed (hostile-files red team, session 10)."""
    head = "工单编号,来电时间,诉求类型,诉求内容,工单状态\n"
    load(tmp_path / "landing", sqlite_url, {"hotline/工单_10月9日.csv": head + "GD1,2026-10-09 09:00:00,投诉,路灯不亮,办理中\n",
                                            "hotline/工单_10月10日.csv": head + "GD1,2026-10-09 09:00:00,投诉,路灯不亮,已办结\n"})
    assert rows(sqlite_url, "select status from feedback where source_record_id = 'GD1'") == [("已办结",)]


def test_a_skipped_street_is_no_street(tmp_path: Path, sqlite_url: str) -> None:
    """问卷星 writes (跳过) for a question the respondent skipped: it was stored as the street."""
    load(tmp_path / "landing", sqlite_url,
         {"questionnaire/q_1.csv": HEADER + "1,2026/10/11 10:00:00,郑州某机械有限公司,(跳过),纳税申报,不满意\n"})
    assert set(rows(sqlite_url, "select street from survey_answer")) == {(None,)}


def test_a_phone_excel_turned_into_a_float_joins_no_callers(tmp_path: Path, sqlite_url: str) -> None:
    """1.38371E+10 in 联系电话 (a CSV resaved by Excel) was hashed: every such caller shared one phone_hash."""
    load(tmp_path / "landing", sqlite_url, {"hotline/orders.csv": ORDERS + "GD1,2026-10-05 09:00:00,投诉,路灯不亮,1.38371E+10\n"
                                                                   "GD2,2026-10-05 10:00:00,投诉,小区停水,1.38371E+10\n"})
    assert rows(sqlite_url, "select phone_hash from feedback") == [(None,), (None,)]


def test_merged_cells_give_every_row_their_value(tmp_path: Path, sqlite_url: str) -> None:
    """A street (or a supervisor's unit) merged over several rows is the value of each of them, as Excel
    shows it; read-only openpyxl gave the rows below the first an empty cell (streets silently blank,
    supervisors' reports quarantined as empty; hostile-files red team, session 10)."""
    import openpyxl

    folder = tmp_path / "landing" / "hotline"
    folder.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["所属街道", "工单编号", "来电时间", "诉求类型", "诉求内容"])
    ws.append(["如意湖街道", "GD1", "2026-10-05 09:00:00", "投诉", "路灯不亮"])
    ws.append([None, "GD2", "2026-10-05 10:00:00", "投诉", "小区停水"])
    ws.append([None, "GD3", "2026-10-05 11:00:00", "投诉", "噪音扰民"])
    ws.append(["龙子湖街道", "GD4", "2026-10-05 12:00:00", "投诉", "占道经营"])
    ws.merge_cells("A2:A4")
    wb.save(folder / "orders.xlsx")
    run_nightly(tmp_path / "landing", sqlite_url)
    assert rows(sqlite_url, "select source_record_id, street from feedback order by 1") == [
        ("GD1", "如意湖街道"), ("GD2", "如意湖街道"), ("GD3", "如意湖街道"), ("GD4", "龙子湖街道")]


def test_a_header_below_row_15_is_said_to_be_missing(tmp_path: Path, capsys) -> None:
    from tests.conftest import run_cli

    folder = tmp_path / "hotline"
    folder.mkdir()
    (folder / "late.csv").write_text("\n".join(["说明"] * 20 + ["工单编号,来电时间,诉求类型,诉求内容",
                                                                "GD1,2026-10-05 09:00:00,投诉,路灯不亮"]) + "\n",
                                     encoding="utf-8")
    assert run_cli("--db", f"sqlite:///{tmp_path}/w.db", "ingest", str(folder / "late.csv")) == 1
    assert "no header row found in the first 15 rows" in capsys.readouterr().err


def test_sum_labels_and_titles_that_mention_a_sum() -> None:
    from pipeline.readers import _is_summary_label

    for label in ("合计", "合 计", "总计：", "本月合计", "小计(1-7日)", "龙子湖街道 小计", "商都路街道小计：1件"):
        assert _is_summary_label(label), label
    for title in ("物业费合计多收问题", "收费合计金额未公示"):
        assert not _is_summary_label(title), title


def test_a_phone_that_passed_through_a_float_is_the_same_phone(tmp_path: Path, sqlite_url: str) -> None:
    """13837120000.0 was stored as 138****0000.0 with a phone_hash of its own (the re-test of the red team)."""
    load(tmp_path / "a", sqlite_url, {"hotline/a.csv": ORDERS + "GD1,2026-10-05 09:00:00,投诉,路灯不亮,13837120000\n"})
    load(tmp_path / "b", sqlite_url, {"hotline/b.csv": ORDERS + "GD2,2026-10-05 10:00:00,投诉,小区停水,13837120000.0\n"})
    got = rows(sqlite_url, "select phone_masked, phone_hash from feedback order by source_record_id")
    assert got[0] == got[1] and got[0][0] == "138****0000"


def test_urgent_orders_page_headers_and_end_markers(tmp_path: Path, sqlite_url: str) -> None:
    """An urgent order's 办理时限 (2小时, 24小时内, 即时办理) and an order sent back (办结时间 退回重办) quarantined the
    order; the header repeated on every page and 以下空白 were quarantined every night as bad rows."""
    head = "工单编号,来电时间,诉求类型,诉求内容,办理时限,办结时间\n"
    body = (head + "GD1,2026-10-05 09:00:00,投诉,燃气泄漏,2小时,2026-10-05 10:30:00\n"
            "GD2,2026-10-05 10:00:00,投诉,停水,24小时内,退回重办\n" + head
            + "GD3,2026-10-05 11:00:00,投诉,井盖丢失,即时办理,\n以下空白,,,,,\n")
    load(tmp_path / "landing", sqlite_url, {"hotline/orders.csv": body})
    assert rows(sqlite_url, "select source_record_id, due_at from feedback order by 1") == [
        ("GD1", "2026-10-05 11:00:00.000000"), ("GD2", "2026-10-06 10:00:00.000000"), ("GD3", "2026-10-05 11:00:00.000000")]
    assert rows(sqlite_url, "select count(*) from quarantine") == [(0,)]
