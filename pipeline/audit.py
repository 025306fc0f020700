"""PII audit (个人信息审计): scan every table, view and export for personal data that got through.

Looks for what must never be stored unmasked: mobile and landline numbers, valid 18-digit ID
numbers, valid 统一社会信用代码, e-mail addresses, flats and names in running text (``nlp.pii.find_pii``:
what the current masking rules would still change — a text masked by an older version, or a name
the rules learned later), and — by column or key
name — postal addresses with a household part (单元/室) or full IP addresses that ``mask_address`` /
``mask_ip`` would still change. Columns meant to hold
salted hashes are scanned too: a real hash is hex and never matches, but a raw number stored there
by mistake is exactly the leak to catch. Exports are .xlsx, .csv and .html files under the given
paths. A clean warehouse reports zero hits.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
from sqlalchemy import String, Text, inspect, select, text

from nlp.pii import (
    field_kind,
    find_pii,
    mask_address,
    mask_identifier,
    mask_ip,
    mask_matches,
    mask_name,
    mask_phone_field,
)
from warehouse.db import get_engine

AUDITED_KINDS = {"mobile", "landline", "id_card", "credit_code", "email", "bank_card", "room", "person_name", "plate",
                 "im_account", "passport"}
# A salted hash or stable id: lower-case hex with at least one letter. Its digit runs can look like
# a phone number by chance; a raw number stored by mistake has no letters and is still scanned.
_HEX_ID = re.compile(r"[0-9a-f]{24,64}")


# Columns holding word lists derived from masked texts ('负责人 高层 住户'): a label followed by a
# word reads as a labelled name there, so names are not looked for in them (numbers still are).
_WORD_LIST_COLUMNS = {"tokens", "keywords"}


def _hits_in(text_value: str, where: str, names: bool = True) -> list[dict[str, Any]]:
    out = []
    for m in find_pii(text_value):
        if m.kind == "person_name" and mask_matches(text_value, [m]) == text_value:
            continue  # already as masked as it gets (欧阳** reads as 欧 + 阳)
        if m.kind in AUDITED_KINDS and (names or m.kind != "person_name"):
            value = m.value
            sample = value[:3] + "…" + value[-2:] if len(value) > 6 else "…"
            out.append({"where": where, "kind": m.kind, "sample": sample})
    return out


def _field_hits(value: str, field: str, where: str) -> list[dict[str, Any]]:
    """A postal address, an IP address or an ID/account number stored with more than its masked form
    keeps (a household's flat number, a full IP, a mistyped ID number): judged by the column or key
    name, as the ingest masks them."""
    kind = field_kind(field)
    if kind == "address" and mask_address(value) != value:
        return [{"where": where, "kind": "address", "sample": mask_address(value)}]
    if kind == "ip" and mask_ip(value) != value:
        return [{"where": where, "kind": "ip", "sample": mask_ip(value)}]
    if kind == "identifier" and mask_identifier(value) != value:
        return [{"where": where, "kind": "identifier", "sample": mask_identifier(value)}]
    if kind == "phone" and mask_phone_field(value) != value:
        return [{"where": where, "kind": "phone", "sample": mask_phone_field(value)}]
    if kind == "person" and value.strip() and "*" not in value and mask_name(value) != value:
        return [{"where": where, "kind": "person_name", "sample": mask_name(value)}]  # a bare name
    return []


def _scan_value(value: Any, where: str, field: str = "") -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [h for k, v in value.items() for h in _scan_value(v, f"{where}.{k}", str(k))]
    if isinstance(value, list):
        return [h for i, v in enumerate(value) for h in _scan_value(v, f"{where}[{i}]", field)]
    if isinstance(value, str):
        if _HEX_ID.fullmatch(value) and not value.isdigit():
            return []
        return _hits_in(value, where, names=field not in _WORD_LIST_COLUMNS) + \
            (_field_hits(value, field, where) if field else [])
    return []


def audit_database(db_url: str | None) -> list[dict[str, Any]]:
    engine = get_engine(db_url)
    insp = inspect(engine)
    hits: list[dict[str, Any]] = []
    # (warehouse_meta holds the system's own keys and checks — masking version, watermarks, the salt's check
    # value, 16 hex digits that read as a Tianjin landline by chance — never data from a source)
    names = [(n, "table") for n in insp.get_table_names() if n not in ("alembic_version", "warehouse_meta")]
    names += [(n, "view") for n in insp.get_view_names()]
    with engine.connect() as conn:
        for name, _kind in names:
            cols = [c for c in insp.get_columns(name)
                    if isinstance(c["type"], String | Text) or "JSON" in str(c["type"]).upper()]
            if not cols:
                continue
            stmt = select(*[text(f'"{c["name"]}"') for c in cols]).select_from(text(f'"{name}"'))
            for i, row in enumerate(conn.execute(stmt)):
                for c, value in zip(cols, row, strict=True):
                    if isinstance(value, str) and value[:1] in "[{":
                        import json

                        try:
                            value = json.loads(value)
                        except ValueError:
                            pass
                    hits += _scan_value(value, f"{name}.{c['name']}#{i + 1}", c["name"])
    return hits


def audit_exports(paths: list[Path]) -> list[dict[str, Any]]:
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files += sorted(x for x in p.rglob("*") if x.suffix.lower() in {".xlsx", ".csv", ".html"})
        elif p.is_file():
            files.append(p)
    hits: list[dict[str, Any]] = []
    for f in files:
        if f.suffix.lower() == ".xlsx":
            wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
            for ws in wb.worksheets:
                for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
                    for c, v in enumerate(row, start=1):
                        if isinstance(v, str):  # hex ids (feedback_id in the label export) skipped
                            hits += _scan_value(v, f"{f.name}:{ws.title}!R{r}C{c}")
            wb.close()
        elif f.suffix.lower() == ".csv":
            raw = f.read_bytes()
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    content = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                continue
            for r, row in enumerate(csv.reader(io.StringIO(content)), start=1):
                for c, v in enumerate(row, start=1):
                    hits += _scan_value(v, f"{f.name}:R{r}C{c}")
        else:
            content = f.read_text(encoding="utf-8", errors="replace")
            # Embedded images are base64: skip data URIs so random letters are not read as codes.
            content = re.sub(r"data:[^\"')\s]+", "", content)
            # ... and hex ids / hashes, as in the tables (their digit runs look like phone numbers)
            content = re.sub(r"(?<![0-9A-Za-z])(?=[0-9a-f]*[a-f])[0-9a-f]{24,64}(?![0-9A-Za-z])", "", content)
            hits += _hits_in(content, f.name)
    return hits


def audit_pii(db_url: str | None, exports: list[Path]) -> list[dict[str, Any]]:
    return audit_database(db_url) + audit_exports(exports)
