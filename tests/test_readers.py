"""Reading landing files: encodings, delimiters, title rows, blank/合计 rows, broken files."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from pipeline.canonical import RejectedFile
from pipeline.readers import read_table

HINTS = ["工单编号", "来电时间", "诉求内容", "来电人姓名", "受理渠道"]
HEADER = "工单编号,来电时间,来电人姓名,诉求内容\n"
ROWS = "GD001,2026-11-03 08:15,张三,营业执照变更要跑三次\nGD002,2026-11-04 09:00,李四,停电影响生产\n"


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16", "utf-16-le", "utf-16-be"])
def test_csv_encodings_are_detected_from_bytes(tmp_path: Path, encoding: str) -> None:
    # the file name says nothing about the encoding
    path = write(tmp_path / "export.csv", HEADER + ROWS, encoding)
    [table] = read_table(path, header_hints=HINTS)
    assert table.header == ["工单编号", "来电时间", "来电人姓名", "诉求内容"]  # no BOM left on the first name
    assert [r["诉求内容"] for r in table.rows] == ["营业执照变更要跑三次", "停电影响生产"]
    assert table.row_numbers == [2, 3]


def test_gb18030_only_characters_survive(tmp_path: Path) -> None:
    # 𠀀 (U+20000) and 㐀 (U+3400) do not exist in GBK: such a file must be read as GB18030
    text = HEADER + "GD001,2026-11-03 08:15,王𠀀㐀,诉求\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    [table] = read_table(write(tmp_path / "a.csv", text, "gb18030"), header_hints=HINTS)
    assert table.encoding == "gb18030"
    assert table.rows[0]["来电人姓名"] == "王𠀀㐀"


@pytest.mark.parametrize(("delimiter", "name"), [("\t", "tab"), (";", "semicolon"), ("|", "pipe")])
def test_delimiters_are_sniffed(tmp_path: Path, delimiter: str, name: str) -> None:
    text = (HEADER + ROWS).replace(",", delimiter)
    [table] = read_table(write(tmp_path / f"{name}.txt", text, "utf-8"), header_hints=HINTS)
    assert table.delimiter == delimiter
    assert table.rows[1]["来电人姓名"] == "李四"


def test_title_rows_blank_and_summary_rows_in_csv(tmp_path: Path) -> None:
    text = (
        "2026年11月12345热线工单导出\n"  # row 1: title
        "导出时间：2026-12-01,,,\n"  # row 2: filter line
        + HEADER  # row 3
        + "GD001,2026-11-03 08:15,张三,\"多行\n诉求, 带逗号\"\n"  # row 4 (one record over two lines)
        + ",,,\n"  # row 5: blank
        + "GD002,2026-11-04 09:00,李四,停电\n"  # row 6
        + "合计,2,,\n"  # row 7: summary
        + "\n,,,\n"  # trailing blank rows are not counted
    )
    [table] = read_table(write(tmp_path / "t.csv", text, "gbk"), header_hints=HINTS)
    assert table.header_row == 3
    assert table.row_numbers == [4, 6]
    assert table.rows[0]["诉求内容"] == "多行\n诉求, 带逗号"
    assert (table.blank_rows, table.summary_rows) == (1, 1)


def test_csv_row_with_too_many_cells_is_reported(tmp_path: Path) -> None:
    text = HEADER + "GD001,2026-11-03,张三,停电,又停电\nGD002,2026-11-04,李四,好\n"
    [table] = read_table(write(tmp_path / "o.csv", text, "utf-8"), header_hints=HINTS)
    assert table.overflow == {0: ["又停电"]}
    assert len(table.rows) == 2


def make_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "11月工单"
    ws.append(["2026年11月12345热线工单"])  # 1
    ws.append([])  # 2
    ws.append(["工单编号", "来电时间", "来电人姓名", "诉求内容"])  # 3
    ws.append([2026110001, datetime(2026, 11, 3, 8, 15), "张三", "诉求一"])  # 4
    ws.append([])  # 5 blank
    ws.append(["GD2", 46329.34375, "李四", "诉求二"])  # 6: date as Excel serial number
    ws.append(["小计", None, None, None])  # 7
    ws.append([None, None, None, "  "])  # 8: whitespace only = blank
    ws.append(["GD3", "2026/11/5 10:00", 13800138000, "诉求三"])  # 9
    ws.append(["总计：3条"])  # 10
    notes = wb.create_sheet("填表说明")
    notes.append(["本表由系统导出，请勿修改。"])
    wb.create_sheet("空表")
    wb.save(path)
    return path


def test_xlsx_title_rows_blank_and_summary_rows(tmp_path: Path) -> None:
    tables = read_table(make_workbook(tmp_path / "工单.xlsx"), header_hints=HINTS)
    assert [t.sheet for t in tables] == ["11月工单", "填表说明"]  # the empty sheet gives no table
    table = tables[0]
    assert table.header_row == 3
    assert table.row_numbers == [4, 6, 9]
    assert (table.blank_rows, table.summary_rows, table.ignored_rows) == (2, 2, 4)
    assert [r["工单编号"] for r in table.rows] == ["2026110001", "GD2", "GD3"]
    assert table.rows[0]["来电时间"] == "2026-11-03 08:15:00"
    assert table.rows[1]["来电时间"] == "46329.34375"
    assert table.rows[2]["来电人姓名"] == "13800138000"
    assert tables[1].header_matches == 0


def test_xls_workbook(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt", reason="xlwt (dev requirement) writes the .xls fixture")
    pytest.importorskip("xlrd", reason="xlrd reads .xls")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("工单")
    ws.write(0, 0, "2026年工单")
    for col, name in enumerate(["工单编号", "来电时间", "诉求内容"]):
        ws.write(1, col, name)
    ws.write(2, 0, "GD1")
    ws.write(2, 1, datetime(2026, 11, 3, 8, 15), xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm"))
    ws.write(2, 2, "诉求")
    path = tmp_path / "old.xls"
    wb.save(str(path))
    [table] = read_table(path, header_hints=HINTS)
    assert table.header_row == 2
    assert table.rows == [{"工单编号": "GD1", "来电时间": "2026-11-03 08:15:00", "诉求内容": "诉求"}]
    assert table.row_numbers == [3]


def test_truncated_xls_is_rejected_without_writing_to_stdout(tmp_path: Path, capfd) -> None:
    """xlrd prints its warnings on stdout: `ingest --json` must stay one JSON document."""
    xlwt = pytest.importorskip("xlwt", reason="xlwt (dev requirement) writes the .xls fixture")
    pytest.importorskip("xlrd", reason="xlrd reads .xls")
    wb = xlwt.Workbook()
    ws = wb.add_sheet("工单")
    for row in range(60):
        for col, value in enumerate([f"GD{row}", "2026-11-03 08:15", "诉求内容" * 20]):
            ws.write(row, col, value)
    whole = tmp_path / "whole.xls"
    wb.save(str(whole))
    cut = tmp_path / "工单.xls"
    cut.write_bytes(whole.read_bytes()[: len(whole.read_bytes()) // 2])
    with pytest.raises(RejectedFile, match="xls file is truncated or corrupt"):
        read_table(cut, header_hints=HINTS)
    assert capfd.readouterr().out == ""


def test_csv_field_longer_than_csv_default_limit(tmp_path: Path) -> None:
    long_text = "反映" * 90_000  # 180,000 characters: over csv's default 131,072 field limit
    path = write(tmp_path / "export.csv", HEADER + f"GD3,2026-11-03 10:00,李四,{long_text}\n", "utf-8")
    [table] = read_table(path, header_hints=HINTS)
    assert len(table.rows) == 1 and table.rows[0]["诉求内容"] == long_text


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", b"", "file is empty"),
        ("spaces.csv", b"  \r\n \n", "file is empty"),
        ("image.csv", PNG, "PNG image"),
        ("random.csv", bytes(range(256)) * 10, "binary"),
        ("page.xls", "<html><body><p>系统维护中，请稍后再导出</p></body></html>".encode(), "HTML page without a <table>"),
        ("feed.xls", b'<?xml version="1.0"?><rss><channel><title>x</title></channel></rss>', "not an Excel XML workbook"),
        ("half.xls", "<html><table><tr><th>工单编号</th><th>诉求内容</th></tr><tr><td>GD1</td><td>停".encode(),
         "truncated"),
        ("cut.xls", b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">'
                    b'<Worksheet><Table><Row><Cell>', "truncated or malformed"),
    ],
)
def test_unreadable_files_are_rejected(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RejectedFile, match=reason) as info:
        read_table(path, header_hints=HINTS)
    assert "\n" not in str(info.value)


def test_truncated_xlsx_is_rejected(tmp_path: Path) -> None:
    full = make_workbook(tmp_path / "full.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(RejectedFile, match="truncated or corrupt"):
        read_table(path, header_hints=HINTS)


def test_zip_that_is_not_a_workbook_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(RejectedFile, match=r"zip archive, not a workbook \(it holds readme.txt\)"):
        read_table(path, header_hints=HINTS)


def test_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "big.csv", HEADER + ROWS * 100, "utf-8")
    with pytest.raises(RejectedFile, match="over the"):
        read_table(path, header_hints=HINTS, max_bytes=1024)


def test_mostly_gbk_file_with_a_broken_byte_is_still_read(tmp_path: Path) -> None:
    data = (HEADER + ROWS).encode("gbk") + b"GD003,2026-11-05,\xff\xfe,x\n"
    path = tmp_path / "broken.csv"
    path.write_bytes(data)
    [table] = read_table(path, header_hints=HINTS)
    assert len(table.rows) == 3
    assert table.rows[0]["诉求内容"] == "营业执照变更要跑三次"


def test_workbook_renamed_csv_is_still_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "工单.csv"
    path.write_bytes(make_workbook(tmp_path / "real.xlsx").read_bytes())
    tables = read_table(path, header_hints=HINTS)
    assert tables[0].sheet == "11月工单" and len(tables[0].rows) == 3


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    [table] = read_table(write(tmp_path / "h.csv", HEADER, "gbk"), header_hints=HINTS)
    assert table.rows == [] and table.header_row == 1


def test_csv_column_without_header_name_is_kept(tmp_path: Path) -> None:
    text = "工单编号,来电时间,诉求内容,\nGD1,2026-11-03,停电,备注一\nGD2,2026-11-03,好,\n"
    [table] = read_table(write(tmp_path / "t.csv", text, "utf-8"), header_hints=HINTS)
    assert table.header == ["工单编号", "来电时间", "诉求内容", "列D"]
    assert table.overflow == {}
    assert table.rows[0]["列D"] == "备注一"


def test_xlsx_with_a_damaged_sheet_is_rejected(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["工单编号", "来电时间", "诉求内容"])
    for i in range(300):
        wb.active.append([f"GD{i}", "2026-11-03", "诉求"])
    good = tmp_path / "good.xlsx"
    wb.save(good)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) * 2 // 3]  # the zip is fine, the sheet's XML stops mid-way
            dst.writestr(item, data)
    with pytest.raises(RejectedFile, match=r"xlsx sheet 'Sheet' is corrupt after row \d+"):
        read_table(bad, header_hints=HINTS)


HTML_EXPORT = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>工单导出</title></head><body>
<table border="1">
<tr><td colspan="4"><b>郑东新区12345工单明细（2026年11月）</b></td></tr>
<tr><th>工单编号</th><th>来电时间</th><th>来电人姓名</th><th>诉求内容</th></tr>
<tr><td>GD001</td><td rowspan="2">2026-11-03 08:15</td><td>张三</td><td>营业执照变更<br>要跑三次&amp;更多</td></tr>
<tr><td>GD002</td><td>李四</td><td>  停电   影响生产 </td></tr>
<tr><td>合计</td><td colspan="3">2条</td></tr>
</table></body></html>"""


def test_html_page_saved_as_xls_is_read(tmp_path: Path) -> None:
    """Many government systems export an HTML page under a .xls name (here GBK, with a title row
    spanning the table, a cell spanning two rows, a line break and an entity in a cell)."""
    path = tmp_path / "工单.xls"
    path.write_bytes(HTML_EXPORT.encode("gbk"))
    [table] = read_table(path, header_hints=HINTS)
    assert table.header == ["工单编号", "来电时间", "来电人姓名", "诉求内容"]
    assert table.header_row == 2
    assert table.rows == [
        {"工单编号": "GD001", "来电时间": "2026-11-03 08:15", "来电人姓名": "张三", "诉求内容": "营业执照变更\n要跑三次&更多"},
        {"工单编号": "GD002", "来电时间": "", "来电人姓名": "李四", "诉求内容": "停电 影响生产"},
    ]
    assert table.row_numbers == [3, 4]
    assert table.summary_rows == 1


XML2003_EXPORT = """<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="工单">
  <Table>
   <Row><Cell ss:MergeAcross="3"><Data ss:Type="String">工单明细</Data></Cell></Row>
   <Row><Cell><Data ss:Type="String">工单编号</Data></Cell><Cell><Data ss:Type="String">来电时间</Data></Cell>
        <Cell><Data ss:Type="String">来电人姓名</Data></Cell><Cell><Data ss:Type="String">诉求内容</Data></Cell></Row>
   <Row><Cell><Data ss:Type="String">GD001</Data></Cell><Cell><Data ss:Type="String">2026-11-03 08:15</Data></Cell>
        <Cell ss:Index="4"><Data ss:Type="String">营业执照变更要跑三次</Data></Cell></Row>
   <Row ss:Index="5"><Cell><Data ss:Type="Number">2</Data></Cell><Cell ss:MergeAcross="1"><Data ss:Type="String">跨两列</Data></Cell>
        <Cell><Data ss:Type="String">停电影响生产</Data></Cell></Row>
  </Table>
 </Worksheet>
</Workbook>"""


def test_xml_spreadsheet_2003_saved_as_xls_is_read(tmp_path: Path) -> None:
    path = tmp_path / "工单.xls"
    path.write_text(XML2003_EXPORT, encoding="utf-8")
    [table] = read_table(path, header_hints=HINTS)
    assert table.sheet == "工单"
    assert table.header_row == 2
    assert table.rows == [
        {"工单编号": "GD001", "来电时间": "2026-11-03 08:15", "来电人姓名": "", "诉求内容": "营业执照变更要跑三次"},
        {"工单编号": "2", "来电时间": "跨两列", "来电人姓名": "", "诉求内容": "停电影响生产"},
    ]
    assert table.row_numbers == [3, 5]  # row 4 is blank (skipped by ss:Index) and not data


def test_a_nul_byte_rejects_a_utf8_file_with_a_bom_too(tmp_path):
    """docs/ingestion.md: a NUL byte in a UTF-8 file is binary data — the check was skipped after a BOM,
    and the NUL reached record_history."""
    p = tmp_path / "h.csv"
    p.write_bytes("\ufeff工单编号,诉求内容\nGD1,正常\x00工单\n".encode())
    with pytest.raises(RejectedFile, match="NUL"):
        read_table(p, header_hints=["工单编号", "诉求内容"])


def test_a_gbk_file_behind_a_utf8_bom_is_read_as_gbk(tmp_path):
    """Some tools put a UTF-8 byte-order mark before a GBK export; it was read as UTF-8 with every
    Chinese character replaced by U+FFFD, so under English headers the rows loaded as garbage."""
    import codecs

    p = tmp_path / "gbk_bom.csv"
    p.write_bytes(codecs.BOM_UTF8 + (HEADER + ROWS).encode("gbk"))
    [table] = read_table(p, header_hints=HINTS)
    assert table.header == ["工单编号", "来电时间", "来电人姓名", "诉求内容"]
    assert [r["诉求内容"] for r in table.rows] == ["营业执照变更要跑三次", "停电影响生产"]
    english = tmp_path / "gbk_bom_en.csv"
    english.write_bytes(codecs.BOM_UTF8 + "order_id,text\nGD001,停电影响生产\n".encode("gbk"))
    [table] = read_table(english, header_hints=["order_id", "text"])
    assert table.rows == [{"order_id": "GD001", "text": "停电影响生产"}]


def test_a_utf8_bom_before_text_of_another_encoding_is_rejected(tmp_path):
    """Neither UTF-8 nor GB18030 behind the BOM (Shift-JIS text and bytes GB18030 cannot read): the
    file is refused with its reason, not loaded as replacement characters."""
    import codecs

    p = tmp_path / "other.csv"
    body = ("工单编号,诉求内容\n" + "".join(f"GD{i},停電影響生產經營\n" for i in range(40))).encode("shift_jis", errors="ignore")
    p.write_bytes(codecs.BOM_UTF8 + body + b"\x80\xff" * 50)
    with pytest.raises(RejectedFile, match="byte-order mark"):
        read_table(p, header_hints=["工单编号", "诉求内容"])
