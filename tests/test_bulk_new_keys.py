"""bulk_upsert on SQLite writes rows whose keys are all new with a plain INSERT: the table (rows and
rowids) ends exactly as with the upsert statement, whether all, some or none of the keys exist, with
keys repeated in a batch, and a bad row still fails the call. JsonText payloads load as they are."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from conftest import add_ingest_file
from sqlalchemy.exc import IntegrityError

from warehouse import bulk
from warehouse.bulk import JsonText, bulk_upsert
from warehouse.db import get_engine, upgrade

T0 = dt.datetime(2026, 3, 2, 9, 15, 30, 120)


def _db(path) -> str:
    url = f"sqlite:///{path}"
    upgrade(url)
    add_ingest_file(url, T0)
    return url


def record(i: int, h: str = "h1", **over) -> dict:
    r = {"record_key": f"rk{i:04d}", "source": "hotline", "natural_key": f"GD{i}", "content_hash": h,
         "first_file_id": 1, "last_file_id": 1, "row_number": i + 2, "version": 1,
         "payload": {"工单编号": f"GD{i}", "n": i}, "created_at": T0 + dt.timedelta(minutes=i), "updated_at": T0}
    r.update(over)
    return r


def _raw(url: str) -> list[tuple]:
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return con.execute("SELECT rowid, * FROM source_record ORDER BY rowid").fetchall()
    finally:
        con.close()


BATCHES = {
    "all new": [record(i) for i in range(1, 20, 2)],
    "some exist": [record(i, h="h2") for i in range(10, 30)],
    "all exist, some changed": [record(i, h="h2" if i % 4 else "h1") for i in range(0, 20, 2)],
    "new, repeated in batch": [record(i) for i in range(21, 30)] + [record(25, h="h3")],
    "many new": [record(i) for i in range(100, 2100)],  # (more keys than one probe query takes)
}


@pytest.mark.parametrize("case", list(BATCHES))
def test_plain_insert_of_new_keys_equals_the_upsert(tmp_path, monkeypatch, case) -> None:
    first = [record(i) for i in range(0, 20, 2)]
    tables = []
    for fast in (True, False):
        monkeypatch.setattr(bulk, "SQLITE_PLAIN_INSERT_WHEN_NEW", fast)
        url = _db(tmp_path / f"{fast}.db")
        with get_engine(url).begin() as conn:
            bulk_upsert(conn, "source_record", first, ["record_key"])
            bulk_upsert(conn, "source_record", BATCHES[case], ["record_key"])
        tables.append(_raw(url))
    assert tables[0] == tables[1]


def test_a_bad_new_row_still_fails_and_leaves_nothing(tmp_path) -> None:
    url = _db(tmp_path / "w.db")
    rows = [record(i) for i in range(5)] + [record(9, first_file_id=99)]  # no such file: foreign key
    with pytest.raises(IntegrityError), get_engine(url).begin() as conn:
        bulk_upsert(conn, "source_record", rows, ["record_key"])
    assert _raw(url) == []


def test_json_text_is_stored_as_given(tmp_path) -> None:
    url = _db(tmp_path / "w.db")
    a, b = record(1), record(2)
    b["payload"] = JsonText(json.dumps(b["payload"]))
    with get_engine(url).begin() as conn:
        bulk_upsert(conn, "source_record", [a, b], ["record_key"])
    payload_at = 9  # rowid, then the table's columns
    assert [r[payload_at] for r in _raw(url)] == [json.dumps(a["payload"]), json.dumps(record(2)["payload"])]
