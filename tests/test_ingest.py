"""Ingestion bookkeeping: counters reconcile, updates keep a history, re-runs change nothing,
rejected files load nothing, quarantined rows can be retried after a config fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select

from pipeline.ingest import ensure_schema, ingest_file
from tests.conftest import run_cli
from warehouse.db import resolve_url
from warehouse.models import Feedback, IngestFile, QuarantineRow, RecordHistory, SourceRecord

HEADER = ["工单编号", "来电时间", "受理渠道", "诉求类型", "来电人姓名", "联系电话", "诉求人类型", "企业名称",
          "统一社会信用代码", "所属街道", "工单标题", "诉求内容", "承办单位", "办理时限", "办结时间", "工单状态",
          "回访满意度"]


def _row(no: str, text: str, status: str = "办理中", sat: str = "", when: str = "2026-10-08 09:30:00") -> list[str]:
    return [no, when, "电话", "投诉", "张三", "13812345678", "企业", "河南恒达科技有限公司", "91410100MA44A1B2C3",
            "如意湖街道", "核名难", text, "区市场监管局", "2026-10-15", "", status, sat]


def _write_csv(path: Path, rows: list[list[str]], encoding: str = "gbk") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=HEADER).to_csv(path, index=False, encoding=encoding)
    return path


def _count(url: str, model) -> int:
    eng = create_engine(resolve_url(url))
    with eng.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(model))
    eng.dispose()
    return n


def test_counters_updates_and_history(sqlite_url, tmp_path):
    ensure_schema(sqlite_url)
    first = _write_csv(tmp_path / "hotline" / "d1.csv", [
        _row("GD001", "营业执照核名三次被驳回，窗口说法不一。我的电话13912345678"),
        _row("GD002", "企业开办要跑好几个窗口"),
        _row("GD003", "小区门口垃圾没人清理"),
    ])
    r1 = ingest_file(first, None, sqlite_url)
    assert (r1.status, r1.rows_in, r1.inserted, r1.updated, r1.unchanged, r1.quarantined) == ("loaded", 3, 3, 0, 0, 0)

    # Next night: GD001 closed with a satisfaction answer (update), GD002 identical (unchanged),
    # GD004 new, and a row without a work-order number (quarantined).
    second = _write_csv(tmp_path / "hotline" / "d2.csv", [
        _row("GD001", "营业执照核名三次被驳回，窗口说法不一。我的电话13912345678", status="已办结", sat="满意"),
        _row("GD002", "企业开办要跑好几个窗口"),
        _row("GD004", "申请数电发票一直失败"),
        _row("", "没有编号的工单"),
    ])
    r2 = ingest_file(second, None, sqlite_url)
    assert (r2.rows_in, r2.inserted, r2.updated, r2.unchanged, r2.quarantined) == (4, 1, 1, 1, 1)
    assert r2.rows_in == r2.inserted + r2.updated + r2.unchanged + r2.quarantined
    assert _count(sqlite_url, Feedback) == 4
    assert _count(sqlite_url, RecordHistory) == 1
    eng = create_engine(resolve_url(sqlite_url))
    with eng.connect() as conn:
        hist = conn.execute(select(RecordHistory.changes)).scalar_one()
        sat = conn.execute(select(Feedback.satisfaction).where(Feedback.source_record_id == "GD001")).scalar_one()
        version = conn.execute(select(SourceRecord.version).where(SourceRecord.natural_key == "GD001")).scalar_one()
        reason = conn.execute(select(QuarantineRow.reason)).scalar_one()
    eng.dispose()
    assert sat == "满意" and version == 2
    assert "回访满意度" in (hist if isinstance(hist, dict) else json.loads(hist))
    assert "工单编号" in reason or "order_no" in reason

    # The same bytes again: skipped, nothing written.
    r3 = ingest_file(second, None, sqlite_url)
    assert r3.status == "skipped" and r3.rows_in == 0
    assert _count(sqlite_url, IngestFile) == 2


def test_rejected_file_loads_nothing(sqlite_url, tmp_path):
    ensure_schema(sqlite_url)
    png = tmp_path / "hotline" / "fake.csv"
    png.parent.mkdir(parents=True)
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    r = ingest_file(png, None, sqlite_url)
    assert r.status == "rejected" and r.error and "\n" not in r.error
    assert r.rows_in == 0
    assert _count(sqlite_url, Feedback) == 0

    missing = _write_csv(tmp_path / "hotline" / "cols.csv", [_row("GD9", "x")])
    df = pd.read_csv(missing, encoding="gbk", dtype=str).drop(columns=["诉求内容"])
    df.to_csv(missing, index=False, encoding="gbk")
    r = ingest_file(missing, None, sqlite_url)
    assert r.status == "rejected" and "诉求内容" in r.error


def test_ingest_json_reconciles_on_sample(sample_month, sqlite_url, capsys):
    landing, _ = sample_month
    files = sorted(str(p) for p in (landing / "hotline").iterdir())
    assert run_cli("--db", sqlite_url, "ingest", "--source", "hotline", "--json", *files) == 0
    out = json.loads(capsys.readouterr().out)
    for f in out["files"]:
        assert f["rows_in"] == f["inserted"] + f["updated"] + f["unchanged"] + f["quarantined"]
    t = out["totals"]
    assert t["rows_in"] == t["inserted"] + t["updated"] + t["unchanged"] + t["quarantined"]


def test_quarantine_retry_after_config_fix(sqlite_url, tmp_path, monkeypatch, capsys):
    ensure_schema(sqlite_url)
    path = _write_csv(tmp_path / "hotline" / "d1.csv", [
        _row("GD100", "窗口排队两个小时", when="2026-10-08 09:30:00"),
        _row("GD101", "窗口排队三个小时", when="十月八号上午"),
    ])
    r = ingest_file(path, None, sqlite_url)
    assert (r.inserted, r.quarantined) == (1, 1)
    assert run_cli("--db", sqlite_url, "quarantine", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 1 and listed[0]["row_number"] == 3
    # Fix the file's date (the operator corrected the export) and retry: the row now loads.
    fixed = _write_csv(tmp_path / "fixed" / "d1.csv", [
        _row("GD100", "窗口排队两个小时"), _row("GD101", "窗口排队三个小时"),
    ])
    shutil.copy(fixed, path)  # the original file changed: retry does not read it, nor (unasked) the masked copy
    assert run_cli("--db", sqlite_url, "quarantine", "retry", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary == {"loaded": 0, "still_quarantined": 1, "superseded": 0}
    assert run_cli("--db", sqlite_url, "quarantine", "list", "--json") == 0
    assert "has changed since it was loaded" in json.loads(capsys.readouterr().out)[0]["reason"]
    # the masked copy, when asked for: its date is still unreadable
    assert run_cli("--db", sqlite_url, "quarantine", "retry", "--from-masked", "--json") == 0
    assert json.loads(capsys.readouterr().out)["still_quarantined"] == 1
    assert _count(sqlite_url, Feedback) == 1


def _two_week_workbook(path: Path, first_bad: str, second_bad: str | None) -> Path:
    """A hotline workbook with two used sheets (第一周, 第二周); row 3 of each is the second order."""
    import openpyxl

    wb = openpyxl.Workbook()
    for k, (title, bad) in enumerate((("第一周", first_bad), ("第二周", second_bad))):
        ws = wb.active if k == 0 else wb.create_sheet()
        ws.title = title
        ws.append(HEADER)
        ws.append(_row(f"W{k}01", "窗口排队两个小时"))
        ws.append(_row(f"W{k}02", "营业执照办不下来", when=bad or "2026-10-09 10:00:00"))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def test_quarantined_rows_of_two_sheets_with_one_row_number_are_both_kept_and_retried_apart(
        sqlite_url, tmp_path, capsys):
    """Row 3 of 第一周 and row 3 of 第二周 are two rows: both bad, both were counted quarantined but one
    overwrote the other (a work order neither loaded nor quarantined); with only 第一周's bad, a retry
    marked it resolved because 第二周's row 3 parses (and it never reached the warehouse)."""
    ensure_schema(sqlite_url)
    both = ingest_file(_two_week_workbook(tmp_path / "hotline" / "两周.xlsx", "不知道", "明天"), "hotline", sqlite_url)
    assert both.quarantined == 2 and _count(sqlite_url, QuarantineRow) == 2
    one = ingest_file(_two_week_workbook(tmp_path / "hotline" / "两周b.xlsx", "后天", None), "hotline", sqlite_url)
    assert one.quarantined == 1
    assert run_cli("--db", sqlite_url, "quarantine", "retry", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"loaded": 0, "still_quarantined": 3, "superseded": 0}
    assert run_cli("--db", sqlite_url, "quarantine", "list") == 0
    out = capsys.readouterr().out
    assert "两周.xlsx row 3: [第一周]" in out and "两周.xlsx row 3: [第二周]" in out


def test_a_retry_does_not_overwrite_a_later_corrected_delivery(sqlite_url, tmp_path, capsys, monkeypatch):
    """Order GD300 was quarantined (来电时间 '十月八号上午'), then re-delivered corrected in a later file.
    After a config change that makes the old row parse, retry must not load the stale row over the
    corrected one: the quarantine entry is marked superseded, naming the later file."""
    ensure_schema(sqlite_url)
    old = _write_csv(tmp_path / "hotline" / "d1.csv", [_row("GD300", "旧的诉求：窗口排队", when="十月八号上午九点")])
    assert ingest_file(old, None, sqlite_url).quarantined == 1
    new = _write_csv(tmp_path / "hotline" / "d2.csv", [_row("GD300", "更正后的诉求：窗口排队两个小时")])
    assert ingest_file(new, None, sqlite_url).inserted == 1
    import pipeline.validate as validate

    real = validate.parse_datetime
    monkeypatch.setattr(validate, "parse_datetime",  # 'the config fix': the old date now parses
                        lambda text: real("2026-10-08 09:00") if "十月八号" in str(text) else real(text))
    assert run_cli("--db", sqlite_url, "quarantine", "retry", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"loaded": 0, "still_quarantined": 0, "superseded": 1}
    eng = create_engine(resolve_url(sqlite_url))
    with eng.connect() as conn:
        assert conn.scalar(select(Feedback.text)).startswith("更正后的诉求")
        status, reason = conn.execute(select(QuarantineRow.status, QuarantineRow.reason)).one()
    eng.dispose()
    assert status == "superseded" and "d2.csv" in reason


def test_quarantine_commands_say_what_is_wrong(sqlite_url, capsys):
    ensure_schema(sqlite_url)
    assert run_cli("--db", sqlite_url, "quarantine", "retry", "999") == 1
    assert "no quarantined row #999" in capsys.readouterr().err
    assert run_cli("--db", sqlite_url, "quarantine", "list", "--status", "bogus") == 2


def test_a_quarantined_row_is_dismissed_by_hand(sqlite_url, tmp_path, capsys):
    """A row whose order came corrected in another file stays open for ever unless someone closes it."""
    ensure_schema(sqlite_url)
    bad = _write_csv(tmp_path / "hotline" / "d1.csv", [_row("GD700", "窗口排队", when="明天")])
    assert ingest_file(bad, None, sqlite_url).quarantined == 1
    assert run_cli("--db", sqlite_url, "quarantine", "dismiss", "1", "--note", "GD700 came corrected in d2.csv") == 0
    assert run_cli("--db", sqlite_url, "quarantine", "list", "--status", "all", "--json") == 0
    capsys.readouterr()
    assert run_cli("--db", sqlite_url, "quarantine", "list", "--status", "dismissed", "--json") == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "dismissed" and "came corrected in d2.csv" in row["reason"]
    assert run_cli("--db", sqlite_url, "quarantine", "dismiss", "1", "--note", "again") == 1
    assert "is dismissed, not open" in capsys.readouterr().err


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_encodings_load_the_same(sqlite_url, tmp_path, encoding):
    ensure_schema(sqlite_url)
    path = _write_csv(tmp_path / "hotline" / f"{encoding}.csv", [_row("GD200", "税务局电子税务局登录不上")],
                      encoding=encoding)
    r = ingest_file(path, None, sqlite_url)
    assert r.inserted == 1
    eng = create_engine(resolve_url(sqlite_url))
    with eng.connect() as conn:
        text = conn.execute(select(Feedback.text)).scalar_one()
    eng.dispose()
    assert "电子税务局" in text


def test_identifier_columns_and_personal_questions_are_masked_whole(sqlite_url, tmp_path):
    """An extra column whose header says ID or card number is masked whatever its checksum (a
    mistyped number is still somebody's), and a questionnaire question that asks for a name is masked
    as a name field (found by a hostile-file run: both were stored in clear)."""
    from warehouse.models import SurveyAnswer

    ensure_schema(sqlite_url)
    rows = [HEADER + ["身份证号码", "银行卡号"], _row("GD9", "核名难") + ["410105199001011234", "6217 0000 1234 5678 908"]]
    path = tmp_path / "hotline" / "extra.csv"
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(path, index=False, encoding="utf-8")
    assert ingest_file(path, "hotline", sqlite_url).inserted == 1
    q = tmp_path / "questionnaire" / "问卷.csv"
    q.parent.mkdir(parents=True)
    pd.DataFrame([["1", "2026-11-03 10:00:00", "甲公司", "满意", "王建国 410105199003071234"]],
                 columns=["序号", "提交答卷时间", "1、企业名称", "6、(开办企业)", "11、您的姓名及身份证号"],
                 ).to_csv(q, index=False, encoding="utf-8")
    assert ingest_file(q, "questionnaire", sqlite_url).inserted == 1
    eng = create_engine(resolve_url(sqlite_url))
    with eng.connect() as conn:
        payload = conn.scalar(select(SourceRecord.payload).where(SourceRecord.source == "hotline"))
        answers = dict(conn.execute(select(SurveyAnswer.question, SurveyAnswer.answer_text)).all())
    eng.dispose()
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert payload["身份证号码"] == "410105********1234"
    assert payload["银行卡号"] == "6217 00** **** ***8 908"
    assert answers["11、您的姓名及身份证号"].startswith("王*") and "1990" not in answers["11、您的姓名及身份证号"]


def test_callers_of_every_export_are_masked_and_reasons_are_masked_before_they_are_cut(sqlite_url, tmp_path):
    """A message-board export names its caller 留言用户 (an alias of the caller's name in
    config/sources.yaml): the name was stored in clear in the raw rows (source_record.payload,
    quarantine.raw) and `audit pii` could not see it. A quarantine reason quotes a bad cell cut to 80
    characters: it was cut before it was masked, so the first digits of a phone number were stored."""
    from pipeline.audit import audit_pii

    ensure_schema(sqlite_url)
    path = tmp_path / "hotline" / "网络问政留言.csv"
    path.parent.mkdir(parents=True)
    pd.DataFrame([["LY1", "王建国", "2026-10-08 09:30", "营业执照办了一个月还没下来"],
                  ["LY2", "李秀英", "来" * 70 + "回拨号码13812345678", "税务检查太频繁"]],
                 columns=["留言编号", "留言用户", "留言时间", "留言详情"]).to_csv(path, index=False, encoding="utf-8")
    result = ingest_file(path, "hotline", sqlite_url)
    assert (result.inserted, result.quarantined) == (1, 1)
    eng = create_engine(resolve_url(sqlite_url))
    with eng.connect() as conn:
        payload = conn.scalar(select(SourceRecord.payload))
        raw, reason = conn.execute(select(QuarantineRow.raw, QuarantineRow.reason)).one()
    eng.dispose()
    payload, raw = (json.loads(v) if isinstance(v, str) else v for v in (payload, raw))
    assert payload["留言用户"] == "王**" and raw["留言用户"] == "李**"
    assert "13812" not in reason and "138****5678" in raw["留言时间"]
    assert audit_pii(sqlite_url, []) == []


def test_a_file_loaded_by_another_process_meanwhile_is_skipped(db_url, tmp_path):
    """Two runs started at once (a manual run beside the DAG's) must not load a file twice: while
    another transaction is finishing the same bytes, ingest_file waits for it (PostgreSQL: an
    advisory lock on the content; SQLite: the write lock) and then reports the file skipped."""
    import datetime as dt
    import threading
    import time

    from sqlalchemy import text

    from pipeline.ingest import file_sha256
    from warehouse import load as wl
    from warehouse.db import get_engine

    ensure_schema(db_url)
    path = _write_csv(tmp_path / "hotline" / "d1.csv", [_row("GD1", "核名难")])
    sha = file_sha256(path)
    eng = get_engine(db_url)
    other = eng.connect()
    tx = other.begin()
    if other.dialect.name == "sqlite":
        other.exec_driver_sql("SELECT 1")  # (the insert below takes SQLite's write lock)
    wl.lock_file_sha(other, sha)
    wl.register_file(other, path=str(path), file_name=path.name, source="hotline", sha256=sha, size_bytes=1,
                     status="loaded", started_at=dt.datetime(2026, 10, 8), finished_at=dt.datetime(2026, 10, 8))
    out: dict = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", ingest_file(path, "hotline", db_url)))
    worker.start()
    time.sleep(1.0)
    assert worker.is_alive()  # waiting for the other load to finish
    tx.commit()
    other.close()
    worker.join(30)
    assert out["r"].status == "skipped" and out["r"].inserted == 0
    with eng.connect() as conn:
        loaded = conn.execute(text("SELECT count(*) FROM ingest_file WHERE sha256 = :s AND status = 'loaded'"),
                              {"s": sha}).scalar()
    assert loaded == 1 and _count(db_url, Feedback) == 0


def test_every_configured_name_column_is_masked_as_a_name():
    """The raw rows are masked by header (nlp.pii.field_kind): every alias that config/sources.yaml
    gives a person's name must be one that rule knows, or its cells are stored in clear."""
    from nlp.pii import field_kind
    from pipeline.config import load_sources

    aliases = {a for cfg in load_sources().values() if isinstance(cfg, dict)
               for section in ("columns", "questions") for f, names in (cfg.get(section) or {}).items()
               if f.endswith("_name") and f != "entity_name" for a in names}
    assert len(aliases) >= 10
    assert {a for a in aliases if field_kind(a) != "person"} == set()


def test_a_run_with_another_hash_salt_is_refused(sqlite_url, monkeypatch):
    """A process started from another folder made a new var/hash_salt silently, and every phone and
    credit-code hash it stored matched nothing before it: the warehouse keeps a fingerprint of its salt."""
    from pipeline.ingest import SaltMismatch
    from pipeline.salt import hash_salt

    ensure_schema(sqlite_url)
    ensure_schema(sqlite_url)  # the same salt: fine, again and again
    monkeypatch.setenv("YINGSHANG_HASH_SALT", "another-salt")
    hash_salt.cache_clear()
    try:
        with pytest.raises(SaltMismatch, match="YINGSHANG_SALT_FILE"):
            ensure_schema(sqlite_url)
    finally:
        monkeypatch.undo()
        hash_salt.cache_clear()
    ensure_schema(sqlite_url)


def test_migration_0004_gives_stored_quarantine_rows_their_sheet_and_names_lost_rows(sqlite_url, capsys):
    """A warehouse of the previous release: its quarantined rows get the sheet their reason names, and a
    file whose counter says more rows were quarantined than are stored is named (those rows were lost)."""
    import datetime as dt

    from sqlalchemy import text

    from warehouse.db import get_engine, upgrade

    upgrade(sqlite_url, "0003")
    eng = get_engine(sqlite_url)
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO ingest_file (file_id, path, file_name, source, sha256, size_bytes, status, "
                          "rows_in, inserted, updated, unchanged, quarantined, ignored_rows, started_at) VALUES "
                          "(1, '/x/两周.xlsx', '两周.xlsx', 'hotline', 'ab', 1, 'loaded', 6, 4, 0, 0, 2, 0, :t)"),
                     {"t": dt.datetime(2026, 10, 3)})
        conn.execute(text("INSERT INTO quarantine (file_id, source, row_number, raw, reason, status, created_at) "
                          "VALUES (1, 'hotline', 3, '{}', '[第二周] 来电时间 ''明天'' is not a date', 'open', :t)"),
                     {"t": dt.datetime(2026, 10, 3)})
    upgrade(sqlite_url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT sheet, row_number FROM quarantine")).one() == ("第二周", 3)
    assert "两周.xlsx: 1 quarantined row(s) were lost before revision 0004" in capsys.readouterr().err
    # (the advice is a new export: a renamed copy has the same bytes and is skipped as loaded)


def test_a_label_correction_holds_for_the_text_it_was_made_for(sqlite_url, tmp_path):
    """An analyst corrected order GD500's area. Re-delivered with a new status (same text) it keeps the
    correction; re-delivered with an entirely different complaint it is labelled anew, and the
    correction no longer feeds retraining (it would pair the new text with the old label)."""
    import openpyxl

    from pipeline.labels import corrections_frame, export_labels, import_labels

    ensure_schema(sqlite_url)
    first = _write_csv(tmp_path / "hotline" / "d1.csv", [_row("GD500", "街道办的工作人员服务很热情，特此表扬")])
    assert ingest_file(first, None, sqlite_url).inserted == 1
    export_labels("2026-10", tmp_path / "labels.xlsx", sqlite_url)
    wb = openpyxl.load_workbook(tmp_path / "labels.xlsx")
    ws = wb.active
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("更正领域") + 1).value = "A2"
    wb.save(tmp_path / "labels.xlsx")
    assert import_labels(tmp_path / "labels.xlsx", sqlite_url)["corrections"] == 1

    def origin() -> tuple:
        eng = create_engine(resolve_url(sqlite_url))
        with eng.connect() as conn:
            got = conn.execute(select(Feedback.area, Feedback.area_origin)).one()
        eng.dispose()
        return tuple(got)

    again = _write_csv(tmp_path / "hotline" / "d2.csv", [_row("GD500", "街道办的工作人员服务很热情，特此表扬", status="已办结")])
    assert ingest_file(again, None, sqlite_url).updated == 1
    assert origin() == ("A2", "correction") and len(corrections_frame(sqlite_url)) == 1
    other = _write_csv(tmp_path / "hotline" / "d3.csv",
                       [_row("GD500", "税务部门多次重复检查，对处罚结果非常不满", status="已办结")])
    assert ingest_file(other, None, sqlite_url).updated == 1
    area, how = origin()
    assert how != "correction" and len(corrections_frame(sqlite_url)) == 0


def test_a_correction_for_a_text_that_changed_after_the_export_is_refused(sqlite_url, tmp_path):
    """The analyst labelled the text in the workbook; if the order was re-delivered with another text
    before the import, the label would be stored for a text nobody reviewed (and taught to the next model)."""
    import openpyxl

    from pipeline.labels import export_labels, import_labels

    ensure_schema(sqlite_url)
    assert ingest_file(_write_csv(tmp_path / "hotline" / "d1.csv", [_row("GD600", "工作人员很热情，特此表扬")]),
                       None, sqlite_url).inserted == 1
    export_labels("2026-10", tmp_path / "labels.xlsx", sqlite_url)
    assert ingest_file(_write_csv(tmp_path / "hotline" / "d2.csv", [_row("GD600", "税务部门多次重复检查")]),
                       None, sqlite_url).updated == 1
    wb = openpyxl.load_workbook(tmp_path / "labels.xlsx")
    ws = wb.active
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("更正领域") + 1).value = "A9"
    wb.save(tmp_path / "labels.xlsx")
    summary = import_labels(tmp_path / "labels.xlsx", sqlite_url)
    assert summary["corrections"] == 0 and "has changed since the export" in summary["errors"][0]["message"]
