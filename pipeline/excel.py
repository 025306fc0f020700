"""Excel helpers shared by every workbook the project writes (Excel 导出).

Officials open these files and forward them; a cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return could be run as a formula by Excel or LibreOffice (CSV/formula injection).
Every text cell is therefore written with ``write_string`` (never interpreted); CSV exports use
``pipeline.clue_workbook.csv_safe`` (a leading apostrophe).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def write_cell(ws, row: int, col: int, value: Any, fmt=None, date_fmt=None) -> None:
    """Write one cell through XlsxWriter without ever creating a formula."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_string(row, col, "是" if value else "否", fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, dt.datetime | dt.date):
        ws.write_datetime(row, col, value if isinstance(value, dt.datetime) else
                          dt.datetime(value.year, value.month, value.day), date_fmt or fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def cell_text(value: Any) -> str | None:
    """A cell read back from openpyxl as trimmed text (None when empty)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        text = text[1:]
    return text or None
