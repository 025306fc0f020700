"""Source adapters (数据源适配器): landing file → :class:`~pipeline.canonical.ParsedFile`.

* :func:`detect_source` — which of the four sources a landing file belongs to;
* :func:`parse_file` — parse a whole file (raises :class:`~pipeline.canonical.RejectedFile`);
* :func:`iter_parse_file` — the same in chunks of input rows, so big CSVs stream with flat memory;
* :func:`parse_rows` — parse rows already read (quarantine retry: ``yingshang quarantine retry``).

Each source module (``hotline``, ``questionnaire``, ``survey``, ``supervisor``) offers
``hints(cfg)`` (column names that locate the header row), ``PATTERNS`` (extra header patterns),
``plan(header, cfg)`` (how columns map; raises ``RejectedFile`` when required columns are missing)
and ``parse_chunk(plan, header, chunk, cfg, sheet)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import pandas as pd

from pipeline.canonical import SOURCES, ParsedFile, RejectedFile
from pipeline.readers import DEFAULT_MAX_BYTES, TableChunk, cell_text, gc_paused, open_tables
from pipeline.validate import OVERFLOW_KEY

__all__ = ["detect_source", "iter_parse_file", "parse_file", "parse_rows", "merge_parsed", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".et")  # (.et: WPS, read by its bytes)

# File-name keywords, checked in this order: a "12345热线满意度测评" file is a survey, and a
# "监督员反映的12345工单" file comes from a supervisor.
_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("supervisor", ("监督员", "supervisor")),
    ("survey", ("测评", "暗访", "survey")),
    ("questionnaire", ("问卷", "questionnaire")),
    ("hotline", ("12345", "工单", "热线", "hotline")),
)


def detect_source(path: Path) -> str | None:
    """The source of a landing file (数据源识别), or ``None`` when it cannot be told.

    First the folder it sits in (``hotline/``, ``questionnaire/``, ``survey/``, ``supervisor/``,
    also one or two levels up, e.g. ``hotline/2026-11/x.csv``), then keywords in the file name
    (12345/工单/热线 → hotline, 问卷 → questionnaire, 测评/暗访 → survey, 监督员 → supervisor),
    then the same keywords in folder names. Not a table file (by suffix), Excel lock files
    (``~$…``) and hidden files → ``None``.
    """
    path = Path(path)
    name = path.name
    if name.startswith(("~$", ".")) or path.suffix.lower() not in TABLE_SUFFIXES:
        return None
    parents = list(path.parents)[:3]
    for parent in parents:
        if parent.name.lower() in SOURCES:
            return parent.name.lower()
    for text in [name] + [p.name for p in parents]:
        low = text.lower()
        for source, words in _KEYWORDS:
            if any(w in low for w in words):
                return source
    return None


def _adapter(source: str) -> ModuleType:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    return importlib.import_module(f"pipeline.sources.{source}")


def iter_parse_file(
    path: Path,
    source: str,
    sources_cfg: dict,
    chunk_rows: int = 50_000,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Iterator[ParsedFile]:
    """Parse a landing file in chunks of at most ``chunk_rows`` input rows (分块解析).

    Every problem that makes the whole file unreadable (empty, binary, corrupt, oversized, required
    columns missing in every sheet) raises :class:`RejectedFile` *before* the first chunk is
    yielded. Each chunk's ``ignored_rows`` counts the blank/合计 rows met while reading it.
    Sheets of a workbook are used when their header has all required columns (others — 说明,
    汇总 — are skipped); quarantine reasons then start with ``[sheet name]``.
    """
    adapter = _adapter(source)
    cfg = sources_cfg[source]
    with open_tables(
        Path(path), header_hints=adapter.hints(cfg), header_patterns=adapter.PATTERNS, max_bytes=max_bytes
    ) as tf:
        plans = []
        failures: list[tuple[int, RejectedFile]] = []
        for table in tf.tables:
            if table.header_row == 0:
                continue
            try:
                plans.append((table, adapter.plan(table.header, cfg)))
            except RejectedFile as exc:
                failures.append((table.header_matches, exc))
        if not plans:
            failures.sort(key=lambda f: -f[0])
            raise failures[0][1] if failures else RejectedFile("file has no data")
        named = len(plans) > 1
        produced = False
        for table, plan in plans:
            for chunk in table.chunks(chunk_rows):
                with gc_paused():
                    parsed = adapter.parse_chunk(plan, table.header, chunk, cfg, table.sheet if named else None)
                parsed.ignored_rows += chunk.blank_rows + chunk.summary_rows
                # Row numbers repeat across sheets: a quarantined row is (sheet, row) — the same name the
                # reasons start with ([第二周] …), empty for a file with one used sheet.
                parsed.sheet = (table.sheet or "") if named else ""
                for q in parsed.quarantine:
                    q.sheet = parsed.sheet
                produced = True
                yield parsed
        if not produced:
            yield ParsedFile(source=source)


def merge_parsed(parts: Sequence[ParsedFile], source: str) -> ParsedFile:
    """Concatenate chunk results into one :class:`ParsedFile`."""
    if not parts:
        return ParsedFile(source=source)
    if len(parts) == 1:
        return parts[0]
    out = ParsedFile(source=source)
    for name in ("rows", "feedback", "answers", "scores"):
        frames = [getattr(p, name) for p in parts]
        non_empty = [f for f in frames if len(f)]
        setattr(out, name, pd.concat(non_empty, ignore_index=True) if non_empty else frames[0])
    out.quarantine = [q for p in parts for q in p.quarantine]
    out.ignored_rows = sum(p.ignored_rows for p in parts)
    return out


def parse_file(path: Path, source: str, sources_cfg: dict, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedFile:
    """Parse one landing file of ``source`` (one of hotline/questionnaire/survey/supervisor).

    ``sources_cfg`` is the parsed ``config/sources.yaml``. Raises :class:`RejectedFile` with a
    one-line reason when nothing of the file can be loaded.
    """
    return merge_parsed(list(iter_parse_file(path, source, sources_cfg, max_bytes=max_bytes)), source)


def parse_rows(raw_rows: list[dict], source: str, sources_cfg: dict, row_numbers: list[int]) -> ParsedFile:
    """Parse rows that were already read — dicts keyed by the file's original headers — with the
    current configuration (used to retry quarantined rows). Rows are never rejected as a whole:
    when required columns are missing, every row is quarantined with that reason.
    """
    if len(raw_rows) != len(row_numbers):
        raise ValueError("raw_rows and row_numbers must have the same length")
    adapter = _adapter(source)
    cfg = sources_cfg[source]
    header: list[str] = []
    seen: set[str] = set()
    for row in raw_rows:
        for key in row:
            if key not in seen and key != OVERFLOW_KEY:
                seen.add(key)
                header.append(key)
    cells = [[cell_text(row.get(h)) for h in header] for row in raw_rows]
    overflow = {
        i: [cell_text(row[OVERFLOW_KEY])] for i, row in enumerate(raw_rows) if cell_text(row.get(OVERFLOW_KEY))
    }
    chunk = TableChunk(cells, list(row_numbers), overflow=overflow)
    try:
        plan = adapter.plan(header, cfg)
    except RejectedFile as exc:
        from pipeline.validate import RowCollector

        rc = RowCollector(source, header, cells, row_numbers)
        for i in range(len(cells)):
            rc.reject(i, str(exc))
        return rc.build()
    return adapter.parse_chunk(plan, header, chunk, cfg, None)
