"""Read any landing file into raw tables of cell text (读取落地文件).

Supported: CSV/TSV/semicolon- or pipe-separated text in UTF-8, UTF-8 with BOM, GBK, GB18030 or
UTF-16 (with BOM); ``.xlsx``/``.xlsm`` (every sheet); ``.xls`` (every sheet, through xlrd); and the
two text files many government systems save under a ``.xls`` name: an HTML page of tables (every
``<table>`` a sheet; ``colspan``/``rowspan`` cells take their place in the grid, empty) and an XML
Spreadsheet 2003 workbook (every ``Worksheet``). The format is taken from the file's bytes, never
from its name, and so is the text encoding:

1. a BOM decides (UTF-8 / UTF-16); UTF-16 without one is recognised by its NUL bytes (all at odd or
   all at even offsets);
2. else the whole file must decode as strict UTF-8, else as strict GB18030 (a superset of GBK and
   GB2312);
3. else, when only a handful of bytes are broken, the one of the two needing the fewest replacements
   (undecodable bytes become ``�``);
4. else charset-normalizer guesses from the first megabyte (undecodable bytes become ``�``).

Header detection (表头识别): exports often carry title rows (``2026年11月12345工单导出``, filter
lines) above the header. Among the first :data:`HEADER_SCAN_ROWS` rows, the header is the row with
the most cells that match one of the source's column aliases (earliest on a tie; at least
:data:`MIN_HEADER_MATCHES` matches).

Below the header, blank rows, a template's example row (示例：…), footer lines (制表人：, 共 N 条, and every
single-cell note under a 填报说明： heading) and summary rows (first non-empty cell contains 合计/总计/小计) are
not data: they are counted (``blank_rows``, ``summary_rows``) and dropped. Blank rows after the last
data row are not counted (Excel often carries thousands of formatted empty rows).

Row numbers are 1-based and count every row above, including title rows and the header: it is the
row number Excel shows for the cell, also when a CSV is opened in Excel (a CSV record whose quoted
text spans several lines is still one row).

Malformed files are rejected whole (:class:`RejectedFile`, one line), never half read:

* a CSV double quote that is never closed (未闭合的引号) — it would swallow every later record into
  one cell — is found by re-reading the last record (the only one such a quote can be in);
* an xlsx whose parts inflate beyond ``max_uncompressed_bytes`` (解压炸弹, by default 10 × the file
  size limit) is refused from its zip directory, before any XML is parsed.

Workbook cells: OOXML writes the control characters XML cannot carry as ``_x000D_`` (a CR),
``_x0001_`` …; they are decoded back (:func:`unescape_ooxml`), as Excel shows them.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import itertools
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from pathlib import Path

from pipeline.canonical import RejectedFile
from pipeline.validate import norm_header, norm_header_loose

# A complaint pasted with its attachments can exceed csv's default 131,072-character field limit; a
# field that long is still one field (the file-size limit, ingest.max_file_mb, bounds it).
csv.field_size_limit(max(csv.field_size_limit(), 64 * 1024 * 1024))

HEADER_SCAN_ROWS = 15
MIN_HEADER_MATCHES = 2
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
SUMMARY_WORDS = ("合计", "总计", "小计")
# Markers an export writes under the last row (以下空白: "blank below"): no data.
END_MARKERS = frozenset(["以下空白", "以下无内容", "以下无数据", "以下无正文", "（以下空白）", "(以下空白)", "以下空白。"])
_SUMMARY_NOISE = re.compile(r"[\s:：()（）\[\]【】\-_.,，。]+")


_SUMMARY_COUNT = re.compile(r"\d+[件条个项户家次]?$")


# A label row (分组标题行): one short text alone in column A (or merged across the row) above the rows
# it groups — 龙子湖街道, 一、投诉类, 第二周. It cannot be a record (every source needs more than one
# cell), so it is not quarantined every night; an id-like cell alone (GD2026…, 17) still is.
GROUP_LABEL_MAX_CHARS = 20
_ID_LIKE = re.compile(r"[\x00-\x7f]*")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _is_group_label(row: Sequence[str], first: str) -> bool:
    if len(first) > GROUP_LABEL_MAX_CHARS or _ID_LIKE.fullmatch(first) or not _CJK.search(first):
        return False
    a = row[0]
    return all(not c or c == a or not c.strip() for c in row)


# A footer line under the table (表尾): who made or exported it, when, how many records — alone on its row
# (every filled cell of the row one). Such a row cannot be a record; it was quarantined on every delivery
# ("制表人：王小明 138…", "共 2 条记录  导出时间：…"). A notes heading (填报说明：) starts the notes: every
# single-cell row after it is a note too ("1. 本表由各街道…", "联系人：…").
_FOOTER = re.compile(r"(?:制表|填表|填报|审核|审批|导出|打印|统计|录入|报送)(?:人|日期|时间|单位|部门)\s*[:：]"
                     r"|共\s*\d+\s*[条件项个份]|数据来源\s*[:：]|联系人\s*[:：]")
_NOTES_LABEL = re.compile(r"(?:填报说明|填表说明|说明|备注|注|附注|注意事项|特别说明)\s*[:：]?\s*")


# A template's example row, left in by the street that filled it in (示例：GD2026XXXXXXXX | … | XX街道): it was
# loaded as an order.
_EXAMPLE_MARKS = ("示例", "样例", "范例", "例：", "例:", "（示例）", "(示例)", "【示例】", "[示例]", "举例")


def _is_footer(row: Sequence[str]) -> bool:
    """Every filled cell of the row is a footer line (制表人：王小明 | 制表日期：2026-10-06)."""
    filled = [c.strip() for c in row if c and c.strip()]
    return bool(filled) and all(_FOOTER.match(c) for c in filled)


def _single_value(row: Sequence[str], first: str) -> bool:
    """Only one value on the row: in column A alone, or the same text merged across it."""
    return all(not c or not c.strip() or c.strip() == first for c in row)


def _is_summary_label(cell: str) -> bool:
    """A summary row's label (合计, 总计：, 本月合计, 龙子湖街道 小计, 商都路街道小计：1件): a short cell that
    starts or ends with the sum word, not a text that contains it (物业费合计多收问题, 收费合计金额未公示 — real
    rows a title-first export lost)."""
    label = _SUMMARY_COUNT.sub("", _SUMMARY_NOISE.sub("", cell))
    return len(label) <= 12 and (label.startswith(SUMMARY_WORDS) or label.endswith(SUMMARY_WORDS))
_BLOCK = 1 << 20
_DELIMITERS = (",", "\t", ";", "|")

_BINARY_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"\x1f\x8b": "a gzip archive",
}
_ZIP = b"PK\x03\x04"
# How much a workbook may inflate, relative to the file size limit, when no explicit limit is given.
INFLATE_FACTOR = 10
# Appended after the last CSV record when checking it: it lands inside that record only when a quote
# is still open at the end of the file (private-use characters, so no real text ends with it).
_EOF_MARK = "\ue000\ue001\ue002"
# Excel's escapes of the control characters XML cannot carry (_x000D_ = CR, _x0001_ …). openpyxl has
# already turned an escaped literal "_x005F_x000D_" into "_x000D_", so only C0 controls are decoded:
# a typed "_x4E2D_" stays text.
_OOXML_CONTROL = re.compile(r"_x00([01][0-9A-Fa-f])_")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class RawTable:
    """One sheet (or one CSV) as cell text below its detected header (原始表).

    ``rows`` are dicts keyed by the header cells (empty header cells are named ``列F`` after their
    Excel column, duplicates get ``.1``, ``.2``); ``row_numbers[i]`` is the 1-based row of
    ``rows[i]``. ``overflow`` maps an index in ``rows`` to the non-empty cells found to the right of
    the last header column in a CSV (usually an unquoted delimiter inside a field).
    """

    header: list[str]
    rows: list[dict[str, str]]
    row_numbers: list[int]
    blank_rows: int = 0
    summary_rows: int = 0
    sheet: str | None = None
    header_row: int = 0
    header_matches: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    overflow: dict[int, list[str]] = field(default_factory=dict)

    @property
    def ignored_rows(self) -> int:
        return self.blank_rows + self.summary_rows


@dataclass
class TableChunk:
    """A slice of a table's data rows as lists of cell text aligned with the header (fast path)."""

    cells: list[list[str]]
    row_numbers: list[int]
    blank_rows: int = 0
    summary_rows: int = 0
    overflow: dict[int, list[str]] = field(default_factory=dict)
    # The group each row sits under (分组标题): the text of the last label row above it (a street's
    # name alone in column A above its orders), else the sheet's name; adapters take a street from it.
    groups: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# Cell text
# ----------------------------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """Excel cell value → text as a person would read it (ids stay digits, dates ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.strftime("%Y-%m-%d")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _ooxml_char(match: re.Match[str]) -> str:
    return chr(int(match.group(1), 16))


def unescape_ooxml(text: str) -> str:
    """Decode the OOXML escapes of control characters (``第一行_x000D_\n第二行`` → ``第一行\r\n第二行``).

    Excel (and XlsxWriter) store a CR, and the other C0 controls XML cannot hold, as ``_xHHHH_``;
    openpyxl hands them over literally. Text without ``_x`` is returned as is (the common case).
    """
    if "_x" not in text:
        return text
    return _OOXML_CONTROL.sub(_ooxml_char, text)


def xlsx_cell_text(value: object) -> str:
    """:func:`cell_text` for a workbook cell: text cells with their OOXML escapes decoded."""
    if type(value) is str:
        return unescape_ooxml(value) if "_x" in value else value
    return cell_text(value)


def _mb(n: float) -> str:
    """Bytes as MB for a message: one decimal under 10 MB (a 0.05 MB test limit is not "0 MB")."""
    mb = n / 2**20
    return f"{mb:.1f} MB" if mb < 10 else f"{mb:.0f} MB"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def make_header(cells: Sequence[str], *, keep_trailing: bool = False) -> list[str]:
    """Header names from the header row: trimmed, empty ones named ``列F``, duplicates ``名称.1``.

    Trailing empty header cells are dropped (in a workbook they are formatting, not columns) unless
    ``keep_trailing``: in a CSV they are real fields, and cells under them must not look like an
    overflowing row.
    """
    out: list[str] = []
    seen: dict[str, int] = {}
    width = len(cells)
    while width and not keep_trailing and not cells[width - 1].strip():
        width -= 1
    for i in range(width):
        name = cells[i].strip().strip("\ufeff") or f"列{_column_letter(i)}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


# ----------------------------------------------------------------------------------------------
# Header detection
# ----------------------------------------------------------------------------------------------


class HeaderMatcher:
    """Counts how many cells of a row are known column names (aliases) or match extra patterns."""

    def __init__(self, hints: Iterable[str], patterns: Sequence[re.Pattern[str]] = ()) -> None:
        self.hints = {norm_header(h) for h in hints} | {norm_header_loose(h) for h in hints}
        self.hints.discard("")
        self.patterns = list(patterns)

    def score(self, cells: Sequence[str]) -> int:
        n = 0
        for c in cells:
            if not c or not c.strip():
                continue
            if norm_header(c) in self.hints or norm_header_loose(c) in self.hints:
                n += 1
            elif any(p.match(c.strip()) for p in self.patterns):
                n += 1
        return n

    def find(self, rows: Sequence[Sequence[str]]) -> tuple[int, int]:
        """(index of the header row, matches); (-1, 0) when the rows are all empty."""
        best, best_n = -1, -1
        for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
            n = self.score(row)
            if n > best_n:
                best, best_n = i, n
        if best_n >= MIN_HEADER_MATCHES:
            return best, best_n
        # Nothing looks like a header: take the first non-empty row so the adapter can name the
        # required columns that are missing.
        for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
            if any(c.strip() for c in row):
                return i, self.score(row)
        return -1, 0


# ----------------------------------------------------------------------------------------------
# Table readers
# ----------------------------------------------------------------------------------------------


def two_row_header(upper: Sequence[str], lower: Sequence[str],
                   spans: Sequence[tuple[int, int]] | None = None) -> tuple[list[str], int]:
    """A header written on two rows (两行表头): a title over a group of columns (``2、您对以下方面的满意度``
    merged over three columns) and, on the row below, the title of each column of the group (开办企业, 纳税,
    政务服务). Returns the header with each grouped column named ``title—column`` (the matrix form 问卷星
    writes on one row) and 1, or the header unchanged and 0 when the row below is data.

    A group is a merged range of the header row (``spans``: 0-based first and last column) or, in a CSV or an
    HTML table, a title followed by empty header cells. The row below is a sub-header when it has text under
    every column of every group and nothing anywhere else (a data row has its 序号, 工单编号 … outside the
    groups); columns outside the groups keep their name (``序号`` merged over both rows)."""
    width = max(len(upper), len(lower))
    top = [str(c).strip() for c in upper] + [""] * (width - len(upper))
    low = [str(c).strip() for c in lower] + [""] * (width - len(lower))
    groups: list[tuple[int, int]] = []
    if spans:
        groups = [(a, b) for a, b in spans if b > a and b < width and top[a]]
    else:
        c = 0
        while c < width:
            end = c
            if top[c]:
                while end + 1 < width and not top[end + 1] and low[end + 1]:
                    end += 1
            if end > c:
                groups.append((c, end))
            c = end + 1
    if not groups:
        return list(upper), 0
    inside = {j for a, b in groups for j in range(a, b + 1)}
    if any(low[j] and j not in inside for j in range(width)) or not all(low[j] for j in inside):
        return list(upper), 0
    out = top[:]
    for a, b in groups:
        for j in range(a, b + 1):
            out[j] = f"{top[a]}—{low[j]}"
    return out, 1


class TableReader:
    """One sheet / one CSV: header found on open, data rows streamed in chunks."""

    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None

    def __init__(self, header_cells: list[str], header_row: int, header_matches: int,
                 next_cells: Sequence[str] | None = None, spans: Sequence[tuple[int, int]] | None = None) -> None:
        keep = self.delimiter is not None
        if header_row > 0 and next_cells is not None:
            header_cells, below = two_row_header(header_cells, next_cells, spans)
            header_row += below
        self.header = make_header(header_cells, keep_trailing=keep) if header_row > 0 else []
        self.header_row = header_row  # 1-based, 0 = empty table
        self.header_matches = header_matches

    def _raw_rows(self) -> Iterator[list[str]]:
        """Rows after the header, as text cells, one per sheet row (empty rows included)."""
        raise NotImplementedError

    def chunks(self, chunk_rows: int = 50_000) -> Iterator[TableChunk]:
        """Data rows (blank and 合计 rows removed and counted) in chunks of at most ``chunk_rows``."""
        width = len(self.header)
        if not width:
            return
        overflow_allowed = self.delimiter is None  # xlsx: stray notes right of the table are ignored
        cells: list[list[str]] = []
        numbers: list[int] = []
        groups: list[str] = []
        group = self.sheet or ""
        overflow: dict[int, list[str]] = {}
        blank = summary = pending_blank = 0
        notes = False  # below a notes heading (填报说明：)
        row_no = self.header_row
        append, append_no = cells.append, numbers.append
        # The header repeated on every printed page (a report exported page by page) is no data row.
        header_first = self.header[0].strip() if self.header else ""
        header_cells = [h.strip() for h in self.header]
        gc_was_enabled = gc.isenabled()
        # Millions of short-lived lists make the cyclic GC rescan everything again and again; none of
        # them form cycles, so collection is paused while a chunk is built (never across a yield).
        gc.disable()
        try:
            for row in self._raw_rows():
                row_no += 1
                first = row[0].strip() if row else ""
                in_column_a = bool(first)
                if not first:
                    if not "".join(row).strip():
                        pending_blank += 1
                        continue
                    first = next(c.strip() for c in row if c.strip())
                if pending_blank:
                    blank += pending_blank
                    pending_blank = 0
                if len(row) != width:
                    if len(row) > width:
                        extra = [c for c in row[width:] if c.strip()]
                        row = row[:width]
                        if extra and not overflow_allowed:
                            overflow[len(cells)] = extra
                        elif not "".join(row).strip():
                            # only ignored cells to the right of the table: a blank row for us
                            pending_blank += 1
                            continue
                    else:
                        row = row + [""] * (width - len(row))
                if ("计" in first and _is_summary_label(first)) or first in END_MARKERS or (
                        first == header_first and [c.strip() for c in row[:width]] == header_cells):
                    summary += 1  # (a sum, an end-of-table marker, or the header again)
                    continue
                if in_column_a and first.startswith(_EXAMPLE_MARKS):
                    summary += 1  # a template's example row (示例：GD2026XXXXXXXX …), not a record
                    continue
                if in_column_a and ((notes or _NOTES_LABEL.fullmatch(first)) and _single_value(row, first)
                                    or _is_footer(row)):
                    notes = notes or bool(_NOTES_LABEL.fullmatch(first))
                    summary += 1  # (a footer line or a note under the table)
                    continue
                if in_column_a and _is_group_label(row, first):
                    group = first
                    summary += 1
                    continue
                append(row)
                append_no(row_no)
                groups.append(group)
                if len(cells) >= chunk_rows:
                    if gc_was_enabled:
                        gc.enable()
                    yield TableChunk(cells, numbers, blank, summary, overflow, groups)
                    gc.disable()
                    cells, numbers, overflow, groups = [], [], {}, []
                    append, append_no = cells.append, numbers.append
                    blank = summary = 0
        finally:
            if gc_was_enabled:
                gc.enable()
        if cells or blank or summary:
            yield TableChunk(cells, numbers, blank, summary, overflow, groups)

    def read(self) -> RawTable:
        """The whole table as a :class:`RawTable` (rows as dicts)."""
        table = RawTable(
            header=list(self.header),
            rows=[],
            row_numbers=[],
            sheet=self.sheet,
            header_row=self.header_row,
            header_matches=self.header_matches,
            encoding=self.encoding,
            delimiter=self.delimiter,
        )
        for chunk in self.chunks():
            base = len(table.rows)
            table.rows.extend(dict(zip(self.header, r, strict=True)) for r in chunk.cells)
            table.row_numbers.extend(chunk.row_numbers)
            table.blank_rows += chunk.blank_rows
            table.summary_rows += chunk.summary_rows
            table.overflow.update({base + i: v for i, v in chunk.overflow.items()})
        return table


class CsvTable(TableReader):
    def __init__(self, path: Path, encoding: str, errors: str, delimiter: str, matcher: HeaderMatcher) -> None:
        self.path, self.encoding, self.errors, self.delimiter = path, encoding, errors, delimiter
        head: list[list[str]] = []
        with self._open() as f:
            reader = csv.reader(f, delimiter=delimiter)
            try:
                for row in reader:
                    head.append(row)
                    if len(head) >= HEADER_SCAN_ROWS:
                        break
            except csv.Error as exc:
                raise RejectedFile(f"CSV is malformed near record {reader.line_num}: {exc}") from None
        idx, matches = matcher.find(head)
        super().__init__(head[idx] if idx >= 0 else [], idx + 1, matches,
                         head[idx + 1] if 0 <= idx < len(head) - 1 else None)

    def _open(self) -> io.TextIOWrapper:
        return open(self.path, encoding=self.encoding, errors=self.errors, newline="")

    def _raw_rows(self) -> Iterator[list[str]]:
        with self._open() as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            n = self.header_row
            row: list[str] = []  # the last record read (nothing is tracked per row: the hot loop)
            try:
                for _ in range(self.header_row):
                    row = next(reader)
                for row in reader:  # row is still the last record after the loop
                    n += 1
                    yield row
            except StopIteration:
                return
            except UnicodeDecodeError as exc:  # the file changed after its encoding was checked
                raise RejectedFile(f"text is not valid {self.encoding} near record {n + 1} ({exc.reason})") from None
            except csv.Error as exc:
                # Typically an unclosed quote that swallowed the rest of the file into one field.
                raise RejectedFile(
                    f"CSV is malformed near line {reader.line_num} (record {n + 1}): {exc}; "
                    "check for an unclosed double quote"
                ) from None
        # A quote still open at the end of the file has swallowed every later line into the last
        # field of the last record (the lenient reader says nothing); only then does that field hold
        # a line break, so the common file is not read again.
        if row and ("\n" in row[-1] or "\r" in row[-1]) and (start := self._open_quote_line()):
            raise RejectedFile(
                f"CSV is malformed: a double quote opened in row {n} (the record starting on line {start}) "
                "is never closed, so every later line would be read into that one cell; "
                "close the quote and ingest the file again"
            )

    def _open_quote_line(self) -> int:
        """The line where the last record starts when it ends inside an open quote, else 0.

        The file is read again with the same lenient rules followed by a marker line: when the last
        quote was closed, the marker is a record of its own; when not, it lands in the open field.
        (A strict reader would also fail on quirks the lenient one reads fine, such as ``"a"b``.)
        Only done when the last record's last field holds a line break, so rarely.
        """
        start = end = 0
        last: list[str] = []
        with self._open() as f:
            reader = csv.reader(itertools.chain(f, [_EOF_MARK]), delimiter=self.delimiter)
            try:
                for last in reader:  # noqa: B007 (last is read after the loop)
                    start, end = end, reader.line_num
            except (csv.Error, UnicodeDecodeError):
                return 0  # the main pass reports these
        return start + 1 if last != [_EOF_MARK] else 0


class XlsxTable(TableReader):
    def __init__(self, ws, matcher: HeaderMatcher, merges: Sequence[tuple[int, int, int, int]] = (),
                 uncalculated: Callable[[], tuple[int, str]] | None = None) -> None:
        self.ws = ws
        self.sheet = ws.title
        self.merges = merges
        self._uncalculated = uncalculated  # checked when the sheet's rows are read (a used sheet only)
        head: list[list[str]] = []
        for row in ws.iter_rows(max_row=HEADER_SCAN_ROWS + 1, values_only=True):
            head.append([xlsx_cell_text(v) for v in row])
        idx, matches = matcher.find(head[:HEADER_SCAN_ROWS])
        spans = [(c1 - 1, c2 - 1) for r1, c1, r2, c2 in merges if r1 == r2 == idx + 1 and c2 > c1]
        super().__init__(head[idx] if idx >= 0 else [], idx + 1, matches,
                         head[idx + 1] if 0 <= idx < len(head) - 1 else None, spans)

    def _raw_rows(self) -> Iterator[list[str]]:
        n_formulas, first = self._uncalculated() if self._uncalculated else (0, "")
        if n_formulas:
            raise RejectedFile(
                f"sheet '{self.sheet}' holds {n_formulas} formula cell(s) whose results were never calculated "
                f"(first {first}; the file was written by a program): open it in Excel or WPS, save it and "
                "deliver it again")
        n = self.header_row
        unescape = unescape_ooxml
        # Merged cells below the header (a unit or street written once for several rows): each row of
        # the range gets the top-left value, as the sheet shows it; read-only openpyxl leaves them empty
        # (4 of 5 supervisors' rows were quarantined as 'empty', streets silently blank).
        starts: dict[int, list[tuple[int, int, int, int]]] = {}
        for m in self.merges:
            if m[0] > self.header_row:
                starts.setdefault(m[0], []).append(m)
        active: list[tuple[int, int, int, str]] = []  # (last row, first col, last col, value)
        try:
            for row in self.ws.iter_rows(min_row=self.header_row + 1, values_only=True):
                n += 1
                # text cells are most cells: decoded inline, other types through cell_text
                out = [(unescape(v) if "_x" in v else v) if type(v) is str else cell_text(v) for v in row]
                if starts or active:
                    for _r1, c1, r2, c2 in starts.pop(n, ()):
                        active.append((r2, c1, c2, out[c1 - 1] if c1 - 1 < len(out) else ""))
                    active = [a for a in active if a[0] >= n]
                    for _r2, c1, c2, value in active:
                        if len(out) < c2:
                            out += [""] * (c2 - len(out))
                        for c in range(c1 - 1, c2):
                            if not out[c]:
                                out[c] = value
                yield out
        except Exception as exc:  # damaged sheet XML inside an intact zip
            raise RejectedFile(
                f"xlsx sheet '{self.sheet}' is corrupt after row {n} ({type(exc).__name__}: {exc})".replace("\n", " ")
            ) from None


class XlsTable(TableReader):
    def __init__(self, book, sh, matcher: HeaderMatcher) -> None:
        self.book, self.sh, self.sheet = book, sh, sh.name
        head = [self._row(i) for i in range(min(sh.nrows, HEADER_SCAN_ROWS + 1))]
        idx, matches = matcher.find(head[:HEADER_SCAN_ROWS])
        spans = [(c1, c2 - 1) for r1, r2, c1, c2 in getattr(sh, "merged_cells", ()) if r1 == idx and r2 == idx + 1 and c2 - 1 > c1]
        super().__init__(head[idx] if idx >= 0 else [], idx + 1, matches,
                         head[idx + 1] if 0 <= idx < len(head) - 1 else None, spans or None)

    def _row(self, i: int) -> list[str]:
        import xlrd

        out = []
        for cell in self.sh.row(i):
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    out.append(cell_text(xlrd.xldate_as_datetime(cell.value, self.book.datemode)))
                except (ValueError, OverflowError):
                    out.append(cell_text(cell.value))
            elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                out.append(cell_text(bool(cell.value)))
            elif cell.ctype in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                out.append("")
            else:
                out.append(cell_text(cell.value))
        return out

    def _raw_rows(self) -> Iterator[list[str]]:
        for i in range(self.header_row, self.sh.nrows):
            yield self._row(i)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small acyclic containers."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class TableFile:
    """An opened landing file: its tables (sheets), header detected; use as a context manager."""

    def __init__(self, tables: list[TableReader], closer=None) -> None:
        self.tables = tables
        self._closer = closer

    def close(self) -> None:
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self) -> TableFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------
# Sniffing
# ----------------------------------------------------------------------------------------------


def _reject_binary(head: bytes) -> None:
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise RejectedFile(f"not a table: the file is {what}")


_MARKUP_START = re.compile(r"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|table|\?xml|head|body|meta)\b",
                           re.IGNORECASE | re.DOTALL)


class _Gb18030SigDecoder(codecs.IncrementalDecoder):
    """GB18030 after an optional UTF-8 byte-order mark (a GBK file some tool marked as UTF-8)."""

    def __init__(self, errors: str = "strict") -> None:
        super().__init__(errors)
        self._inner = codecs.getincrementaldecoder("gb18030")(errors)
        self._head: bytes | None = b""

    def decode(self, input: bytes, final: bool = False) -> str:
        if self._head is not None:
            self._head += bytes(input)
            if len(self._head) < len(codecs.BOM_UTF8) and not final:
                return ""
            data, self._head = self._head, None
            input = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
        return self._inner.decode(input, final)

    def reset(self) -> None:
        self._inner.reset()
        self._head = b""


GB18030_SIG = "yingshang-gb18030-sig"


def _gb18030_sig_decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    body = bytes(data)
    body = body[len(codecs.BOM_UTF8):] if body.startswith(codecs.BOM_UTF8) else body
    return codecs.decode(body, "gb18030", errors), len(data)


def _search_codec(name: str) -> codecs.CodecInfo | None:
    if name.replace("_", "-") != GB18030_SIG:
        return None
    gb = codecs.lookup("gb18030")
    return codecs.CodecInfo(name=GB18030_SIG, encode=gb.encode, decode=_gb18030_sig_decode,
                            incrementalencoder=gb.incrementalencoder, incrementaldecoder=_Gb18030SigDecoder,
                            streamreader=gb.streamreader, streamwriter=gb.streamwriter)


codecs.register(_search_codec)


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as f:
            while block := f.read(_BLOCK):
                decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _bomless_utf16(head: bytes) -> list[str]:
    """'utf-16-le' or 'utf-16-be' when the NUL bytes of ``head`` sit (almost) only at odd or only at
    even offsets, as in UTF-16 text without a BOM; else nothing."""
    sample = head[: len(head) - len(head) % 2]
    odd, even = sample[1::2].count(0), sample[0::2].count(0)
    if len(sample) >= 32 and max(odd, even) >= len(sample) // 8 and min(odd, even) <= max(odd, even) // 50:
        return ["utf-16-le" if odd > even else "utf-16-be"]
    return []


def detect_encoding(path: Path, head: bytes) -> tuple[str, str]:
    """(encoding, errors) for a text file, from its bytes (编码识别)."""
    if head.startswith(codecs.BOM_UTF8):
        if b"\x00" in head:  # (as without a BOM: a NUL in a UTF-8 text is binary data, docs/ingestion.md)
            raise RejectedFile("not a text table: the file contains binary data (NUL bytes)")
        if _decodes(path, "utf-8-sig"):
            return "utf-8-sig", "strict"
        # A GBK export that some tool prefixed with a UTF-8 BOM: read as UTF-8 every Chinese character
        # would become U+FFFD and the rows would load as garbage.
        if _decodes(path, GB18030_SIG):
            return GB18030_SIG, "strict"
        sample = head[len(codecs.BOM_UTF8):_BLOCK]
        bad = sample.decode("utf-8", errors="replace").count("\ufffd")
        if bad <= max(2, len(sample) // 1000):  # a handful of broken bytes in a UTF-8 export
            return "utf-8-sig", "replace"
        raise RejectedFile("text encoding unclear: the file starts with a UTF-8 byte-order mark but is "
                           f"neither UTF-8 nor GB18030/GBK ({bad} undecodable characters in the first "
                           f"{_mb(len(sample))}); save it again as UTF-8")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16", "strict") if _decodes(path, "utf-16") else ("utf-16", "replace")
    if b"\x00" in head:
        # UTF-16 without a BOM (some exporters): the ASCII characters of the table (digits, commas,
        # line ends) put a NUL in every other byte, all on one side.
        for encoding in _bomless_utf16(head):
            if _decodes(path, encoding):
                return encoding, "strict"
        raise RejectedFile("not a text table: the file contains binary data (NUL bytes)")
    for encoding in ("utf-8-sig", "gb18030"):
        if _decodes(path, encoding):
            return encoding, "strict"
    # A real export with a few broken bytes (a cut-off character, one bad record): take the encoding
    # that needs the fewest replacements, if that is a handful; undecodable bytes become U+FFFD.
    sample = head[:_BLOCK]
    errors = {enc: sample.decode(enc, errors="replace").count("\ufffd") for enc in ("utf-8", "gb18030")}
    enc = min(errors, key=errors.get)
    if errors[enc] <= max(2, len(sample) // 1000):
        return ("utf-8-sig" if enc == "utf-8" else enc), "replace"
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None or best.encoding is None:
        raise RejectedFile("not a text table: could not determine the text encoding (binary file?)")
    return best.encoding, "replace"


def sniff_delimiter(sample: str) -> str:
    """The delimiter (``,`` tab ``;`` ``|``) that splits the sample's lines into the most consistent
    number (>1) of fields; ``,`` when undecided."""
    lines = sample.splitlines()[:-1] or sample.splitlines()  # the last line may be cut
    lines = [ln for ln in lines if ln.strip()][:40]
    best, best_key = ",", (0, 0)
    for delim in _DELIMITERS:
        counts: dict[int, int] = {}
        try:
            for row in csv.reader(lines, delimiter=delim):
                counts[len(row)] = counts.get(len(row), 0) + 1
        except csv.Error:
            continue
        width, freq = max(counts.items(), key=lambda kv: (kv[1], kv[0]), default=(0, 0))
        if width > 1 and (freq, width) > best_key:
            best, best_key = delim, (freq, width)
    return best


def open_tables(
    path: Path,
    *,
    header_hints: Iterable[str],
    header_patterns: Sequence[re.Pattern[str]] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_uncompressed_bytes: int | None = None,
) -> TableFile:
    """Open a landing file and find the header of each of its tables; raises :class:`RejectedFile`.

    ``max_bytes`` limits the file's size; ``max_uncompressed_bytes`` what a workbook's parts may
    inflate to (default :data:`INFLATE_FACTOR` × ``max_bytes``).
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RejectedFile(f"cannot read file: {exc.strerror or exc}") from None
    if size == 0:
        raise RejectedFile("file is empty (0 bytes)")
    if size > max_bytes:
        raise RejectedFile(f"file is {_mb(size)}, over the {_mb(max_bytes)} limit")
    with open(path, "rb") as f:
        head = f.read(_BLOCK)
    matcher = HeaderMatcher(header_hints, header_patterns)
    if head.startswith(_ZIP):
        if max_uncompressed_bytes is None:
            _check_inflated_size(path, INFLATE_FACTOR * max_bytes,
                                 f"{INFLATE_FACTOR} × the file size limit ingest.max_file_mb in config/settings.yaml")
        else:
            _check_inflated_size(path, max_uncompressed_bytes, "the configured uncompressed size limit")
        tf = _open_xlsx(path, matcher)
    elif head.startswith(_OLE):
        tf = _open_xls(path, matcher)
    else:
        _reject_binary(head)
        encoding, errors = detect_encoding(path, head)
        if _MARKUP_START.match(head.decode(encoding, errors="replace")[:4096].lstrip("\ufeff")):
            tf = _open_markup(path, encoding, errors, matcher)
        else:
            tf = _open_csv(path, head, matcher, (encoding, errors))
    if not any(t.header_row > 0 for t in tf.tables):
        tf.close()
        raise RejectedFile("file has no data: every sheet is empty" if tf.tables else "file has no data")
    return tf


def _open_csv(path: Path, head: bytes, matcher: HeaderMatcher,
              detected: tuple[str, str] | None = None) -> TableFile:
    encoding, errors = detected or detect_encoding(path, head)
    sample = head.decode(encoding, errors="replace")
    if not sample.strip():
        raise RejectedFile("file is empty (only whitespace)")
    controls = sum(1 for ch in sample[:65536] if ord(ch) < 32 and ch not in "\t\r\n")
    if controls > max(8, len(sample[:65536]) // 100):
        raise RejectedFile("not a text table: the file contains binary data")
    delimiter = sniff_delimiter(sample[:65536])
    return TableFile([CsvTable(path, encoding, errors, delimiter, matcher)])


def _check_inflated_size(path: Path, limit: int, which: str) -> None:
    """Refuse a workbook whose parts inflate beyond ``limit`` bytes (解压炸弹), from the zip's
    directory alone: openpyxl parses a whole sheet at open when it has no ``<dimension>``, so a
    200 KB file inflating to gigabytes would run for hours. The declared sizes can be trusted as an
    upper bound: :mod:`zipfile` never inflates a member past its declared size (it fails the CRC)."""
    try:
        with zipfile.ZipFile(path) as z:
            inflated = sum(i.file_size for i in z.infolist())
    except zipfile.BadZipFile as exc:
        raise RejectedFile(f"xlsx file is truncated or corrupt ({exc})") from None
    except OSError as exc:
        raise RejectedFile(f"cannot read file: {exc.strerror or exc}") from None
    if inflated > limit:
        raise RejectedFile(
            f"workbook inflates to {_mb(inflated)} uncompressed, over the {_mb(limit)} limit ({which}): "
            "a decompression bomb, or a workbook to split"
        )


def _refuse_plain_zip(path: Path) -> None:
    """A zip archive that is not a workbook (导出.zip holding csv or xlsx files): say so, with what is
    inside, instead of openpyxl's missing-[Content_Types].xml error."""
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return  # the workbook reader reports it
    if "mimetype" in names and any(n == "content.xml" for n in names):
        raise RejectedFile("an OpenDocument file (.ods/.odt), not an Excel workbook: save the table as .xlsx or .csv")
    if "[Content_Types].xml" not in names:
        shown = ", ".join(names[:3]) + (f" … ({len(names)} files)" if len(names) > 3 else "")
        raise RejectedFile(f"a zip archive, not a workbook (it holds {shown or 'nothing'}): "
                           "unpack it into the landing folder")
    for part, what in (("word/", "a Word document"), ("ppt/", "a PowerPoint presentation")):
        if any(n.startswith(part) for n in names) and not any(n.startswith("xl/") for n in names):
            raise RejectedFile(f"{what}, not a table: save the table as .xlsx or .csv (Word: copy it into Excel)")


_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _merged_ranges(path: Path, part: str | None) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a worksheet part as (first row, first col, last row, last col), 1-based; read
    from the end of the sheet's XML, where <mergeCells> lives (streamed: a sheet can be large)."""
    if not part:
        return []
    try:
        with zipfile.ZipFile(path) as zf, zf.open(part) as fh:
            tail = b""
            found: list[tuple[int, int, int, int]] = []
            while chunk := fh.read(1 << 20):
                buf = tail + chunk
                if b"mergeCell" in buf:
                    found += [(int(r1), _column_number(c1), int(r2), _column_number(c2))
                              for c1, r1, c2, r2 in _MERGE_REF.findall(buf)]
                    cut = buf.rfind(b">") + 1  # keep an element cut by the chunk boundary for the next read
                    tail = buf[cut:]
                else:
                    tail = buf[-200:]
            return sorted(set(found))
    except (KeyError, OSError, zipfile.BadZipFile):
        return []


_SCAN_BLOCK = 1 << 20  # bytes of sheet XML read at a time
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]+\d+)"')
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_FULL_CALC = re.compile(rb'<(?:\w+:)?calcPr\b[^>]*\bfullCalcOnLoad="(?:1|true)"')


def uncalculated_formulas(path: Path, part: str | None) -> tuple[int, str]:
    """Formula cells of a worksheet part whose result the file does not hold: (how many, first cell).

    A workbook written by a program (openpyxl, Apache POI, XlsxWriter …) holds formulas that nobody
    calculated: openpyxl and POI save no result at all (read as an empty cell: a score row quarantined as
    'no score'), XlsxWriter saves 0 and asks Excel to recalculate on opening (``fullCalcOnLoad``); read
    as they are, 17 evaluation scores were stored as 0. Counted: formulas without a saved value, and,
    when the workbook asks for recalculation and every formula of the sheet holds 0, those (a file that
    Excel or WPS saved holds the results it showed). Streamed: a sheet can be large."""
    if not part:
        return 0, ""
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                full_calc = bool(_FULL_CALC.search(zf.read("xl/workbook.xml")))
            except KeyError:
                full_calc = False
            missing = zero = other = 0
            first_missing = first_zero = ""
            with zf.open(part) as fh:
                tail = b""
                while chunk := fh.read(_SCAN_BLOCK):
                    buf = tail + chunk
                    if b"<f" not in buf and b":f" not in buf:
                        # nothing counted here: keep the end, where a cell may be cut by the block boundary
                        tail = buf[-4096:]
                        continue
                    end = 0
                    for m in _CELL.finditer(buf):
                        end = m.end()
                        inner = m.group(2) or b""
                        if not _FORMULA.search(inner):
                            continue
                        ref = _CELL_REF.search(m.group(1))
                        cell = ref.group(1).decode() if ref else "?"
                        v = _VALUE.search(inner)
                        if v is None or v.group(1).strip() == b"":
                            missing += 1
                            first_missing = first_missing or cell
                        elif v.group(1).strip() in (b"0", b"0.0"):
                            zero += 1
                            first_zero = first_zero or cell
                        else:
                            other += 1
                    tail = buf[end:] if end else buf[-4096:]
    except (OSError, zipfile.BadZipFile):
        return 0, ""
    if full_calc and zero and not other:
        return missing + zero, first_missing or first_zero
    return missing, first_missing


def _open_xlsx(path: Path, matcher: HeaderMatcher) -> TableFile:
    import openpyxl

    # A file object, not the path: openpyxl refuses names not ending in .xlsx, and a workbook saved
    # as "工单.csv" is still a workbook.
    _refuse_plain_zip(path)
    fh = open(path, "rb")  # closed together with the workbook
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except zipfile.BadZipFile as exc:
        fh.close()
        raise RejectedFile(f"xlsx file is truncated or corrupt ({exc})") from None
    except Exception as exc:  # openpyxl raises many types (KeyError, InvalidFileException …)
        fh.close()
        raise RejectedFile(f"not a readable xlsx workbook ({type(exc).__name__}: {exc})".replace("\n", " ")) from None

    def close() -> None:
        wb.close()
        fh.close()

    tables: list[TableReader] = []
    try:
        # Hidden sheets first: a hidden sheet is kept for its data (often the previous export, left in
        # the workbook), but what the sheet on view says about the same record is the later word.
        for ws in sorted(wb.worksheets, key=lambda w: getattr(w, "sheet_state", "visible") == "visible"):
            if not hasattr(ws, "iter_rows"):  # chartsheets
                continue
            ws.reset_dimensions()  # some exporters write a wrong <dimension>; read what is there
            part = getattr(ws, "_worksheet_path", None)
            tables.append(XlsxTable(ws, matcher, _merged_ranges(path, part),
                                    uncalculated=lambda part=part: uncalculated_formulas(path, part)))
    except Exception as exc:
        close()
        raise RejectedFile(f"xlsx file is truncated or corrupt ({type(exc).__name__}: {exc})".replace("\n", " ")) from None
    return TableFile(tables, close)


def _open_xls(path: Path, matcher: HeaderMatcher) -> TableFile:
    try:
        import xlrd
    except ImportError:
        raise RejectedFile("old .xls workbooks are not supported here: save it as .xlsx") from None
    try:
        # xlrd writes its warnings (file size not a multiple of the sector size …) to stdout, which
        # would corrupt `--json`: they go to a buffer and, if the file is rejected, nowhere else.
        book = xlrd.open_workbook(str(path), on_demand=False, logfile=io.StringIO(), verbosity=0)
    except Exception as exc:
        raise RejectedFile(f"xls file is truncated or corrupt ({type(exc).__name__}: {exc})".replace("\n", " ")) from None
    sheets = sorted((book.sheet_by_index(i) for i in range(book.nsheets)), key=lambda sh: sh.visibility == 0)
    tables: list[TableReader] = [XlsTable(book, sh, matcher) for sh in sheets]  # hidden first, as for xlsx
    return TableFile(tables, book.release_resources)


class GridTable(TableReader):
    """A table already read into rows of text cells (an HTML ``<table>``, an XML 2003 worksheet)."""

    def __init__(self, rows: list[list[str]], sheet: str | None, matcher: HeaderMatcher) -> None:
        self.rows, self.sheet = rows, sheet
        idx, matches = matcher.find(rows[:HEADER_SCAN_ROWS])
        super().__init__(rows[idx] if idx >= 0 else [], idx + 1, matches,
                         rows[idx + 1] if 0 <= idx < len(rows) - 1 else None)

    def _raw_rows(self) -> Iterator[list[str]]:
        yield from self.rows[self.header_row:]


class _HtmlTables(HTMLParser):
    """Every ``<table>`` of an HTML page as rows of cell text. A cell spanning columns or rows
    (``colspan``/``rowspan``) keeps its text in its first position; the others are empty, so every
    cell stays in its column. ``<br>`` and block ends inside a cell become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[dict] = []  # open tables (nested tables are tables of their own)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        t = self._stack[-1] if self._stack else None
        if tag == "table":
            self._stack.append({"rows": [], "row": None, "cell": None, "spans": {}})
        elif t is None:
            return
        elif tag == "tr":
            self._end_row(t)
            t["row"] = []
        elif tag in ("td", "th"):
            if t["row"] is None:
                t["row"] = []
            self._end_cell(t)
            a = dict(attrs)
            t["cell"] = {"text": [], "colspan": _span(a.get("colspan")), "rowspan": _span(a.get("rowspan"))}
        elif tag == "br" and t["cell"] is not None:
            t["cell"]["text"].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if not self._stack:
            return
        t = self._stack[-1]
        if tag in ("td", "th"):
            self._end_cell(t)
        elif tag == "tr":
            self._end_row(t)
        elif tag in ("p", "div", "li") and t["cell"] is not None:
            t["cell"]["text"].append("\n")
        elif tag == "table":
            self._end_row(t)
            self._stack.pop()
            if t["rows"]:
                self.tables.append(t["rows"])

    def handle_data(self, data: str) -> None:
        if self._stack and self._stack[-1]["cell"] is not None:
            self._stack[-1]["cell"]["text"].append(data)

    def _fill_spans(self, t: dict) -> None:
        # columns still covered by a rowspan from a row above get an empty cell here
        row, spans = t["row"], t["spans"]
        while spans.get(len(row), 0) > 0:
            spans[len(row)] -= 1
            row.append("")

    def _end_cell(self, t: dict) -> None:
        cell = t["cell"]
        if cell is None:
            return
        t["cell"] = None
        row = t["row"]
        self._fill_spans(t)
        text = "".join(cell["text"])
        text = "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()
        for k in range(cell["colspan"]):
            if cell["rowspan"] > 1:
                t["spans"][len(row)] = cell["rowspan"] - 1
            row.append(text if k == 0 else "")

    def _end_row(self, t: dict) -> None:
        self._end_cell(t)
        if t["row"] is not None:
            self._fill_spans(t)
            t["rows"].append(t["row"])
            t["row"] = None


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(str(value).strip()), 1000))
    except (TypeError, ValueError):
        return 1


_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"


def _ss_int(element: ET.Element, name: str, cap: int) -> int:
    """An integer ``ss:`` attribute (0 when absent or not a number), at most ``cap``."""
    value = (element.get(_SS + name) or "").strip()
    return min(int(value), cap) if value.isdigit() else 0


def _xml2003_tables(text: str) -> list[tuple[str | None, list[list[str]]]]:
    """The worksheets of an XML Spreadsheet 2003 workbook (Excel's 'XML 表格 2003') as rows of text.
    ``ss:Index`` (a skip to a later row or column) and ``ss:MergeAcross``/``ss:MergeDown`` are kept
    in the grid as empty cells."""
    root = ET.fromstring(text)
    if root.tag != _SS + "Workbook":
        raise RejectedFile("not a table: an XML file that is not an Excel XML workbook")
    out: list[tuple[str | None, list[list[str]]]] = []
    for ws in root.iter(_SS + "Worksheet"):
        rows: list[list[str]] = []
        down: dict[int, int] = {}  # column -> rows below still covered by a MergeDown
        for r in ws.iter(_SS + "Row"):
            while len(rows) < _ss_int(r, "Index", 1_000_000) - 1:
                rows.append([])
            row: list[str] = []
            for c in r.iter(_SS + "Cell"):
                while len(row) < _ss_int(c, "Index", 16_384) - 1 or down.get(len(row), 0) > 0:
                    if down.get(len(row), 0) > 0:
                        down[len(row)] -= 1
                    row.append("")
                data = c.find(_SS + "Data")
                value = "".join(data.itertext()).strip() if data is not None else ""
                merge_down = _ss_int(c, "MergeDown", 1_000_000)
                for k in range(_ss_int(c, "MergeAcross", 16_384) + 1):
                    if merge_down:
                        down[len(row)] = merge_down
                    row.append(value if k == 0 else "")
            rows.append(row)
        out.append((ws.get(_SS + "Name"), rows))
    return out


def _open_markup(path: Path, encoding: str, errors: str, matcher: HeaderMatcher) -> TableFile:
    """An HTML page of tables or an XML Spreadsheet 2003 workbook saved as .xls (网页格式的 .xls)."""
    with open(path, encoding=encoding, errors=errors) as f:
        text = f.read()
    if re.match(r"\s*(<\?xml[^>]*>\s*)?(<\?mso-application[^>]*>\s*)?(<!--.*?-->\s*)*<(\w+:)?Workbook\b",
                text.lstrip("\ufeff"), re.DOTALL):
        try:
            sheets = _xml2003_tables(re.sub(r"^\s*<\?xml[^>]*\?>", "", text.lstrip("\ufeff")))
        except ET.ParseError as exc:
            raise RejectedFile(f"XML workbook is truncated or malformed ({exc})") from None
        return TableFile([GridTable(rows, name, matcher) for name, rows in sheets])
    if text.lstrip("\ufeff").lstrip()[:5].lower() == "<?xml" and "<html" not in text[:4096].lower():
        raise RejectedFile("not a table: an XML file that is not an Excel XML workbook or an HTML page")
    parser = _HtmlTables()
    parser.feed(text)
    parser.close()
    if parser._stack:
        # an export cut off in the middle of its table: rejected whole, like a truncated workbook
        raise RejectedFile("HTML page is truncated: a <table> is never closed; export or copy it again")
    if not parser.tables:
        raise RejectedFile("not a table: the file is an HTML page without a <table>")
    return TableFile([GridTable(rows, f"table {i + 1}", matcher) for i, rows in enumerate(parser.tables)])


def read_table(
    path: Path,
    *,
    header_hints: Iterable[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
    header_patterns: Sequence[re.Pattern[str]] = (),
    max_uncompressed_bytes: int | None = None,
) -> list[RawTable]:
    """Read a landing file into one :class:`RawTable` per non-empty sheet (a CSV is one sheet).

    ``header_hints`` are the column names expected (a source's aliases) and locate the header row
    under any title rows. Raises :class:`RejectedFile` for empty, binary, corrupt or oversized files.
    """
    with open_tables(path, header_hints=header_hints, header_patterns=header_patterns, max_bytes=max_bytes,
                     max_uncompressed_bytes=max_uncompressed_bytes) as tf:
        return [t.read() for t in tf.tables if t.header_row > 0]
