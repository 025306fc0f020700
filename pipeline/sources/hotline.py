"""12345 hotline work orders (12345 热线工单导出) → canonical feedback rows.

One input row = one work order = one feedback row. ``record_key`` is the 工单编号 (stripped): the
same order arriving again with a new status is an update, not a new order. A row is quarantined
only when a required field (工单编号, 来电时间, 诉求内容) is empty or a date cannot be read;
enumerations (受理渠道, 诉求类型, 回访满意度) fold known synonyms and keep unknown values as given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime

from pipeline.canonical import ParsedFile, RejectedFile
from pipeline.readers import TableChunk
from pipeline.validate import (
    RowCollector,
    clean,
    date_error,
    header_hints,
    id_text,
    looks_like_excel_scientific,
    map_columns,
    missing_columns_reason,
    normalise_channel,
    normalise_request_type,
    normalise_resolved,
    normalise_satisfaction,
    normalise_writer_type,
    optional_datetime_text,
    parse_datetime_column,
    parse_datetime_near,
    parse_due,
    street_from_group,
    with_date_column,
)

SOURCE = "hotline"
PATTERNS: tuple = ()


def hints(cfg: dict) -> list[str]:
    return header_hints(cfg["columns"])


def plan(header: Sequence[str], cfg: dict) -> dict[str, int]:
    """Field → column index; raises :class:`RejectedFile` naming missing required columns."""
    cols = map_columns(header, cfg["columns"])
    missing = [f for f in cfg.get("required", []) if f not in cols]
    if missing:
        raise RejectedFile(missing_columns_reason(missing, cfg["columns"], header))
    return cols


def _cached(func: Callable[[str], object]) -> Callable[[str], object]:
    """Memoise a normaliser over the (few) distinct values of an enumeration column."""
    cache: dict[str, object] = {}

    def run(value: str) -> object:
        try:
            return cache[value]
        except KeyError:
            cache[value] = result = func(value)
            return result

    return run


def parse_chunk(
    cols: dict[str, int], header: Sequence[str], chunk: TableChunk, cfg: dict, sheet: str | None = None
) -> ParsedFile:
    cells = chunk.cells
    rc = RowCollector(SOURCE, header, cells, chunk.row_numbers, chunk.overflow, sheet)
    n = len(cells)

    transposed = list(zip(*cells, strict=True)) if cells else []

    def column(fld: str) -> list[str]:
        idx = cols.get(fld)
        if idx is None or not n:  # (a chunk of only 合计 or label rows has no cells)
            return [""] * n
        return list(map(clean, transposed[idx]))  # (clean: also Excel's ="…" and '… text forms)

    def label(fld: str) -> str:
        return header[cols[fld]] if fld in cols else fld

    order_no = [id_text(v) for v in column("order_no")]
    content = column("content")
    received_txt = column("received_at")
    if "received_date" in cols:  # 来电日期 beside a time-only 来电时间
        received_txt = with_date_column(received_txt, column("received_date"))
    received, received_errors = parse_datetime_column(received_txt)
    for i in range(n):
        if not order_no[i]:
            rc.reject(i, f"{label('order_no')} is empty (a work order needs its number)")
        elif looks_like_excel_scientific(order_no[i]):
            rc.reject(
                i,
                f"{label('order_no')} '{order_no[i]}' was turned into a number by Excel and lost digits; "
                "re-export with the column formatted as text",
            )
        if not content[i]:
            rc.reject(i, f"{label('content')} is empty (no feedback text)")
        if not received_txt[i]:
            rc.reject(i, f"{label('received_at')} is empty")
        elif i in received_errors:
            rc.reject(i, date_error(label("received_at"), received_txt[i], received_errors[i]))

    closed_txt = [optional_datetime_text(t) for t in column("closed_at")]  # 未办结, / : not closed yet
    closed, closed_errors = parse_datetime_column(closed_txt)
    for i, why in closed_errors.items():
        try:  # 10-08 16:30, 10月9日: the day of the closing, in the year of the call
            closed[i] = parse_datetime_near(closed_txt[i], received[i])
        except ValueError:
            rc.reject(i, date_error(label("closed_at"), closed_txt[i], why))
    for i in range(n):
        c, r = closed[i], received[i]
        # Closed before the call came in: one of the two is wrong, and the order would count as handled on
        # time (a red-team export: 办结 two days before 来电 loaded with on_time 1). A closing day without a
        # time (2026-10-05) is read as 00:00, so on the call's own day only a written time can say 'before'.
        if c is not None and r is not None and c < r and (c.date() < r.date() or ":" in closed_txt[i]):
            rc.reject(i, f"{label('closed_at')} '{closed_txt[i]}' is before {label('received_at')} "
                         f"'{received_txt[i]}': one of them is wrong")
    due_txt = [optional_datetime_text(t) for t in column("due_at")]
    due: list[datetime | None] = [None] * n
    for i in range(n):
        if due_txt[i]:
            try:
                due[i] = parse_due(due_txt[i], received[i], label("due_at"))
            except ValueError as exc:
                rc.reject(i, date_error(label("due_at"), due_txt[i], str(exc)) + " or a duration such as 5个工作日")

    channel = list(map(_cached(normalise_channel), column("channel")))
    request_type = list(map(_cached(normalise_request_type), column("request_type")))
    satisfaction = list(map(_cached(normalise_satisfaction), column("satisfaction")))
    resolved = list(map(_cached(normalise_resolved), column("resolved")))
    street = column("street")
    if chunk.groups and (pattern := cfg.get("street_from_group")):
        # no street cell: the street of the label row above the order, or of the sheet (one per street)
        of_group = _cached(lambda g: street_from_group(g, pattern))
        street = [s or of_group(g) for s, g in zip(street, chunk.groups, strict=True)]
    entity = column("entity_name")
    credit = column("credit_code")
    writer_of = _cached(normalise_writer_type)
    writer = [
        "enterprise" if e or c else writer_of(w)
        for w, e, c in zip(column("writer_type"), entity, credit, strict=True)
    ]

    good = [i for i in range(n) if rc.ok(i)]
    for i in good:
        rc.accept(i, order_no[i])

    all_good = len(good) == n

    def pick(values: Sequence[object]) -> list[object]:
        if all_good:  # the usual case: no index lookups
            return [v if v != "" else None for v in values]
        return [values[i] if values[i] != "" else None for i in good]

    feedback = {
        "record_key": [order_no[i] for i in good],
        "source_record_id": [order_no[i] for i in good],
        "part": [""] * len(good),
        "channel": pick(channel),
        "received_at": pick(received),
        "request_type": pick(request_type),
        "writer_type": pick(writer),
        "person_name": pick(column("caller_name")),
        # a phone Excel turned into 1.38371E+10 has lost its digits: kept, it hashed every such caller
        # alike (five callers looked like one repeat caller), so it is no phone
        "phone": pick(["" if looks_like_excel_scientific(v) else id_text(v) for v in column("phone")]),  # (…0.0)
        "entity_name": pick(entity),
        "credit_code": pick(credit),
        "address": pick(column("address")),
        "street": pick(street),
        "title": pick(column("title")),
        "text": pick(content),
        "call_taker_category": pick(column("call_taker_category")),
        "unit": pick(column("handling_unit")),
        "due_at": pick(due),
        "closed_at": pick(closed),
        "handling_result": pick(column("handling_result")),
        "status": pick(column("status")),
        "satisfaction": pick(satisfaction),
        "resolved": pick(resolved),
        "reporter_category": [None] * len(good),
        "score_100": [math.nan] * len(good),
    }
    return rc.build(feedback=feedback)
