"""Special supervisors' reports (特邀监督员反映) → canonical feedback rows.

Low volume, high weight: every report becomes one feedback row (channel 特邀监督员, request type
投诉) that goes to the clue list. There is no id in these sheets, so ``record_key`` is a stable hash
of (反映时间, 监督员姓名, 反映问题): the same report sent again is recognised, even when the
register is renumbered. ``source_record_id`` (原始编号) is the register's 序号 when it has one, else
the key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipeline.canonical import FEEDBACK_COLUMNS, ParsedFile, RejectedFile
from pipeline.readers import TableChunk
from pipeline.validate import (
    RowCollector,
    append_row,
    clean,
    header_hints,
    map_columns,
    missing_columns_reason,
    new_frame,
    normalise_reporter_category,
    stable_hash,
    with_date_column,
)

SOURCE = "supervisor"
PATTERNS: tuple = ()
CHANNEL = "特邀监督员"
# The register's own row number (序号), shown to people as 原始编号 when present. Used when the
# config has no ``record_no`` entry of its own.
RECORD_NO_ALIASES = ["序号", "编号", "登记编号"]


def _columns(cfg: dict) -> dict[str, list[str]]:
    columns = dict(cfg["columns"])
    columns.setdefault("record_no", RECORD_NO_ALIASES)
    return columns


def hints(cfg: dict) -> list[str]:
    return header_hints(cfg["columns"])


def plan(header: Sequence[str], cfg: dict) -> dict[str, int]:
    cols = map_columns(header, _columns(cfg))
    missing = [f for f in cfg.get("required", []) if f not in cols]
    if missing:
        raise RejectedFile(missing_columns_reason(missing, cfg["columns"], header))
    return cols


def parse_chunk(
    cols: dict[str, int], header: Sequence[str], chunk: TableChunk, cfg: dict, sheet: str | None = None
) -> ParsedFile:
    rc = RowCollector(SOURCE, header, chunk.cells, chunk.row_numbers, chunk.overflow, sheet)
    feedback = new_frame(FEEDBACK_COLUMNS)

    def label(fld: str) -> str:
        return header[cols[fld]] if fld in cols else fld

    for i, row in enumerate(chunk.cells):
        def get(fld: str, row: Sequence[str] = row) -> str:
            return clean(row[cols[fld]]) if fld in cols else ""

        content, when_txt, name = get("content"), get("reported_at"), get("supervisor_name")
        if when_txt and "reported_date" in cols:  # 日期 beside a time-only 时间
            when_txt = with_date_column([when_txt], [get("reported_date")])[0]
        if not content:
            rc.reject(i, f"{label('content')} is empty (no feedback text)")
        when = rc.required_datetime(i, label("reported_at"), when_txt)
        if not rc.ok(i):
            continue
        key = stable_hash(when.isoformat(sep=" "), name, content)
        rc.accept(i, key)
        append_row(
            feedback,
            record_key=key,
            source_record_id=get("record_no") or key,
            part="",
            channel=CHANNEL,
            received_at=when,
            request_type="投诉",
            person_name=name or None,
            phone=get("phone") or None,
            text=content,
            unit=get("unit") or None,
            reporter_category=normalise_reporter_category(get("category")),
            score_100=math.nan,
        )
    return rc.build(feedback=feedback)
