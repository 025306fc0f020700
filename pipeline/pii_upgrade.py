"""Bring personal data already stored up to the current masking rules (存量数据脱敏升级).

When a masking rule is added, rows loaded before it keep what the old rule left: re-running the
nightly job does not help, because an unchanged file or record is skipped. Each rule change therefore
bumps :data:`MASKING_VERSION`, and :func:`upgrade_masking` (called by ``ensure_schema`` before every
run, a no-op once done) rewrites the stored values that the new rule masks further, then records the
version in ``warehouse_meta``. It only ever masks more: every rule is idempotent, so a value already
masked is left as it is.

Versions:

1. phones, ID numbers, credit codes, bank cards, e-mail addresses and names (the first release);
2. postal addresses keep the building or house number but not the household (单元/层/室):
   ``feedback.address_masked`` and the address columns of the raw rows kept in
   ``source_record.payload``, ``record_history.changes`` and ``quarantine.raw``; IP addresses of
   questionnaire answers (来自IP) keep their first two parts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, select, update

from nlp import pii
from warehouse.models import Feedback, QuarantineRow, RecordHistory, SourceRecord, WarehouseMeta

log = logging.getLogger(__name__)

MASKING_VERSION = 2
META_KEY = "pii_masking_version"
_BATCH = 5000


def _key_rule(key: str) -> Callable[[str], str | None] | None:
    """The rule for a raw column that version 2 added (IP or postal address), else None."""
    if pii.IP_HEADER.search(key):
        return lambda v: pii.mask_ip(pii.mask_pii(v))
    if any(h in key for h in pii.ADDRESS_HEADER_HINTS):
        return pii.mask_address
    return None


def remask_raw(raw: Any) -> Any:
    """A stored raw row (``{header: value}``) with its address and IP cells masked; other cells and
    non-dict values unchanged. ``record_history.changes`` (``{header: [old, new]}``) works too."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return raw
    if not isinstance(raw, dict):
        return raw
    out = {}
    for key, value in raw.items():
        rule = _key_rule(str(key))
        if rule is None:
            out[key] = value
        elif isinstance(value, list):
            out[key] = [rule(v) if isinstance(v, str) else v for v in value]
        else:
            out[key] = rule(value) if isinstance(value, str) else value
    return out


def stored_version(conn: Connection) -> int:
    value = conn.scalar(select(WarehouseMeta.value).where(WarehouseMeta.key == META_KEY))
    try:
        return int(value) if value is not None else 1
    except ValueError:
        return 1


def upgrade_masking(conn: Connection) -> dict[str, int]:
    """Mask stored values to :data:`MASKING_VERSION`; returns rows changed per table (empty when the
    warehouse was already at the current version). Safe to run again."""
    if stored_version(conn) >= MASKING_VERSION:
        return {}
    changed = {"feedback": 0, "source_record": 0, "record_history": 0, "quarantine": 0}
    fb = Feedback.__table__
    rows = conn.execute(select(fb.c.feedback_id, fb.c.address_masked).where(fb.c.address_masked.is_not(None)))
    todo = [{"k": k, "v": pii.mask_address(v)} for k, v in rows if pii.mask_address(v) != v]
    changed["feedback"] = _update(conn, fb.c.feedback_id, fb.c.address_masked, todo)
    for table, key_col, col in ((SourceRecord.__table__, "record_key", "payload"),
                                (RecordHistory.__table__, "history_id", "changes"),
                                (QuarantineRow.__table__, "quarantine_id", "raw")):
        todo = []
        for k, raw in conn.execute(select(table.c[key_col], table.c[col])):
            new = remask_raw(raw)
            if new != raw and isinstance(new, dict):
                todo.append({"k": k, "v": new})
        changed[table.name] = _update(conn, table.c[key_col], table.c[col], todo)
    meta = WarehouseMeta.__table__
    conn.execute(meta.delete().where(meta.c.key == META_KEY))
    conn.execute(meta.insert().values(key=META_KEY, value=str(MASKING_VERSION)))
    if any(changed.values()):
        log.info("stored personal data masked to version %s: %s", MASKING_VERSION, changed)
    return changed


def _update(conn: Connection, key_col: Any, value_col: Any, todo: list[dict[str, Any]]) -> int:
    from sqlalchemy import bindparam

    stmt = update(key_col.table).where(key_col == bindparam("k")).values({value_col.name: bindparam("v")})
    for i in range(0, len(todo), _BATCH):
        conn.execute(stmt, todo[i:i + _BATCH])
    return len(todo)
