"""Rows stored under older masking rules are masked to the current ones (pipeline/pii_upgrade.py).

A warehouse loaded before addresses and IP addresses were masked keeps households' flat numbers and
full IPs; re-running the nightly job skips those unchanged files, so the next run's schema check must
rewrite them, once, and then leave the warehouse alone.
"""

from __future__ import annotations

import datetime as dt

from mart_data import build_warehouse
from sqlalchemy import delete, insert, select, update

from pipeline.audit import audit_pii
from pipeline.ingest import ensure_schema
from pipeline.pii_upgrade import MASKING_VERSION, META_KEY, remask_raw, upgrade_masking
from warehouse.db import get_engine
from warehouse.models import Feedback, QuarantineRow, RecordHistory, SourceRecord, WarehouseMeta

FLAT = "郑东新区祥润花园3号楼2单元1203"
IP = "171.8.45.120(河南-郑州)"
# What version 5 recognises and version 4 did not: a surname on its own, a 15-digit ID number, a
# 19-digit card in groups, a flat as building-unit-flat and a landline with a spaced number.
V5_TEXT = "物业经理姓陈，身份证号410105750815123，卡号：6217 0000 1234 5678 907，家住12-3-502，电话0371-6789 1234"


def _plant_old_rows(url: str) -> None:
    """What a warehouse loaded by masking version 1 holds: full addresses and IPs."""
    eng = get_engine(url)
    f, sr = Feedback.__table__, SourceRecord.__table__
    with eng.begin() as conn:
        conn.execute(update(f).where(f.c.feedback_id == "fb000001").values(
            address_masked=FLAT, text="我家住祥润花园3号楼2单元1203，电梯一个月坏了三次，电话138****5678"))
        conn.execute(update(f).where(f.c.feedback_id == "fb000002").values(
            text="本人姓名，罗粲，身份证号*****，请填写姓名，单位，电话"))  # version 4: a name after 姓名，
        conn.execute(update(f).where(f.c.feedback_id == "fb000003").values(text=V5_TEXT))  # version 5
        # a word list cut from a masked text: names are not found in it out of context, a phone is
        conn.execute(update(f).where(f.c.feedback_id == "fb000004").values(tokens="经办人 杨桥 街道 施工许可 13812345678"))
        conn.execute(update(sr).where(sr.c.record_key == "rk000001").values(
            payload={"事发地址": FLAT, "诉求内容": "3号楼2单元电梯坏了", "来自IP": IP,
                     "留言用户": "李秀英", "来电人": "欧阳**"}))  # version 6: a caller's header it did not know
        conn.execute(insert(RecordHistory.__table__).values(
            record_key="rk000001", file_id=1, version=2, changed_at=dt.datetime(2026, 10, 3),
            old_hash="a", new_hash="b", changes={"事发地址": [FLAT, "祥润花园5号楼1单元801"], "工单状态": ["办理中", "已办结"]}))
        conn.execute(insert(QuarantineRow.__table__).values(
            file_id=1, source="questionnaire", row_number=9, raw={"来自IP": IP, "序号": "9"},
            reason="提交答卷时间 '410105199001011234' is not a date", status="open",  # version 6: a mistyped ID
            created_at=dt.datetime(2026, 10, 3)))
        conn.execute(insert(QuarantineRow.__table__).values(  # version 6: ASCII-only, and a cut number
            file_id=1, source="hotline", row_number=10, raw={"来电时间": "410105199001011234"},
            reason="来电时间 '来来来回拨号码13812…' is not a date", status="open", created_at=dt.datetime(2026, 10, 3)))
        conn.execute(delete(WarehouseMeta.__table__).where(WarehouseMeta.key == META_KEY))


def test_old_rows_are_masked_once_on_the_next_run(db_url) -> None:
    build_warehouse(db_url)
    _plant_old_rows(db_url)
    assert {h["kind"] for h in audit_pii(db_url, [])} == {"address", "ip", "room", "person_name", "id_card",
                                                          "bank_card", "landline", "mobile"}

    ensure_schema(db_url)  # what every run (yingshang run / ingest / the DAG) does first

    assert audit_pii(db_url, []) == []
    eng = get_engine(db_url)
    with eng.connect() as conn:
        assert conn.scalar(select(Feedback.address_masked).where(Feedback.feedback_id == "fb000001")) \
            == "郑东新区祥润花园3号楼***"
        assert conn.scalar(select(Feedback.text).where(Feedback.feedback_id == "fb000001")) \
            == "我家住祥润花园3号楼*单元****，电梯一个月坏了三次，电话138****5678"
        assert conn.scalar(select(Feedback.text).where(Feedback.feedback_id == "fb000002")) \
            == "本人姓名，罗*，身份证号*****，请填写姓名，单位，电话"
        assert conn.scalar(select(Feedback.text).where(Feedback.feedback_id == "fb000003")) \
            == "物业经理姓*，身份证号410105*****5123，卡号：6217 **** **** ***8 907，家住**-*-***，电话0371-**** **34"
        assert conn.scalar(select(Feedback.tokens).where(Feedback.feedback_id == "fb000004")) \
            == "经办人 杨桥 街道 施工许可 138****5678"
        payload = conn.scalar(select(SourceRecord.payload).where(SourceRecord.record_key == "rk000001"))
        # address and IP cells by their rules; free text loses only flats (a staircase is no one's home)
        assert payload == {"事发地址": "郑东新区祥润花园3号楼***", "诉求内容": "3号楼2单元电梯坏了",
                           "来自IP": "171.8.*.*(河南-郑州)", "留言用户": "李**", "来电人": "欧阳**"}
        changes = conn.scalar(select(RecordHistory.changes).where(RecordHistory.record_key == "rk000001"))
        assert changes == {"事发地址": ["郑东新区祥润花园3号楼***", "祥润花园5号楼***"], "工单状态": ["办理中", "已办结"]}
        raw = conn.scalar(select(QuarantineRow.raw).where(QuarantineRow.row_number == 9))
        assert raw == {"来自IP": "171.8.*.*(河南-郑州)", "序号": "9"}
        assert conn.execute(select(QuarantineRow.raw, QuarantineRow.reason).where(QuarantineRow.row_number == 10)
                            ).one() == ({"来电时间": "410105********1234"}, "来电时间 '来来来回拨号码*****…' is not a date")
        assert conn.scalar(select(QuarantineRow.reason).where(QuarantineRow.row_number == 9)) \
            == "提交答卷时间 '410105********1234' is not a date"
        assert conn.scalar(select(WarehouseMeta.value).where(WarehouseMeta.key == META_KEY)) == str(MASKING_VERSION)
        # done once: a second pass finds nothing to do and does not scan again
        assert upgrade_masking(conn) == {}


def test_paging_reaches_every_row(db_url) -> None:
    """Pages of 7 rows (keyset paging on the primary key, composite keys included) see every row."""
    build_warehouse(db_url)
    eng = get_engine(db_url)
    f = Feedback.__table__
    with eng.begin() as conn:
        ids = sorted(conn.scalars(select(f.c.feedback_id)))
        for fid in ids[::5]:
            conn.execute(update(f).where(f.c.feedback_id == fid).values(address_masked=FLAT))
        conn.execute(delete(WarehouseMeta.__table__).where(WarehouseMeta.key == META_KEY))
    with eng.begin() as conn:
        changed = upgrade_masking(conn, page_rows=7)
    assert changed["feedback"] == len(ids[::5])
    assert audit_pii(db_url, []) == []


def test_a_new_warehouse_starts_at_the_current_version(sqlite_url) -> None:
    ensure_schema(sqlite_url)
    with get_engine(sqlite_url).connect() as conn:
        assert conn.scalar(select(WarehouseMeta.value).where(WarehouseMeta.key == META_KEY)) == str(MASKING_VERSION)


def test_remask_raw_leaves_other_cells_and_values_alone() -> None:
    assert remask_raw({"联系地址": None, "序号": 3, "IP地址": "1.2.3.4"}) == {"联系地址": None, "序号": 3, "IP地址": "1.2.*.*"}
    assert remask_raw('{"诉求内容": "1803室漏水", "工单状态": "已办结"}') == {"诉求内容": "****室漏水", "工单状态": "已办结"}
    assert remask_raw("not json") == "not json"
    assert remask_raw(None) is None
