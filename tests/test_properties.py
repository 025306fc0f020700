"""Property-based tests (基于性质的测试, hypothesis) for the parsers, the normaliser and the PII masker.

Examples are generated, not chosen: each test states a rule that must hold for *every* input —
the normaliser is idempotent and leaves no invisible or full-width ASCII characters; a CSV or xlsx
cell comes back from the reader exactly as written and every data row is either parsed or
quarantined; masking never leaves a valid mobile number, 身份证号 or 统一社会信用代码 behind and
never changes a text that holds none. The PII oracle used here is independent of ``nlp.pii``
(python-stdnum check digits and a plain regex), so a masker bug cannot hide behind itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import string
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from nlp.text import KEEP_FULL_WIDTH, normalize, normalize_many

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Tests that write and read a file per example: fewer examples keep the file well under a minute.
FILE_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# ----------------------------------------------------------------------------------------------
# Alphabets
# ----------------------------------------------------------------------------------------------

# Common simplified characters (no traditional forms, so t2s leaves them alone).
SIMPLIFIED = "营商环境企业办理窗口审批登记纳税融资执法服务水电气暖不动产执照流程材料系统网上反映问题太慢希望尽快处理谢谢的了是在有"
CN_PUNCT = "，。！？；：（）、“”《》【】…—"
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
WHITESPACE = " \t\n\r\x0b\x0c\u3000\u00a0\u2028\u2029\u0085\u2003"

any_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=200,
)
mixed_text = st.text(
    alphabet=st.sampled_from(SIMPLIFIED + CN_PUNCT + string.ascii_letters + string.digits + string.punctuation
                             + INVISIBLE + WHITESPACE + "＝＋－＠１２３ＡＢＣ　😡👍🏻繁體謝"),
    max_size=200,
)


# ----------------------------------------------------------------------------------------------
# Normaliser (nlp.text.normalize)
# ----------------------------------------------------------------------------------------------


@SETTINGS
@given(st.one_of(any_text, mixed_text))
@example("營業執照\u200b辦理　太慢！！ＡＢＣ１２３\r\n\r\n謝謝 ")
@example("\u202e慢太批审\u202c")
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@SETTINGS
@given(st.one_of(any_text, mixed_text))
def test_normalize_leaves_no_invisible_controls_or_full_width_ascii(text: str) -> None:
    out = normalize(text)
    assert not set(out) & set(INVISIBLE), [hex(ord(c)) for c in set(out) & set(INVISIBLE)]
    # C0/C1 controls: only the newline survives (as the paragraph break).
    assert all(ch == "\n" or unicodedata.category(ch) != "Cc" for ch in out), repr(out)
    full_width_ascii = {ch for ch in out if 0xFF01 <= ord(ch) <= 0xFF5E} - KEEP_FULL_WIDTH
    assert not full_width_ascii, full_width_ascii
    # whitespace collapsed and trimmed: single spaces, single line breaks, nothing at the ends
    assert out == out.strip(" \n")
    assert "  " not in out and "\n\n" not in out and " \n" not in out and "\n " not in out
    assert not any(ch.isspace() and ch not in " \n" for ch in out)


@SETTINGS
@given(st.text(alphabet=st.sampled_from(SIMPLIFIED + CN_PUNCT + string.ascii_letters + string.digits
                                        + string.punctuation), max_size=200))
def test_normalize_does_not_change_clean_simplified_text(text: str) -> None:
    """Mainland text with no invisible characters, full-width ASCII or odd whitespace is left alone."""
    assert normalize(text) == text


@SETTINGS
@given(st.lists(st.one_of(st.none(), mixed_text), max_size=30))
def test_normalize_many_matches_normalize(texts: list[str | None]) -> None:
    texts = texts + texts[:3]  # repeated texts take the cache path
    assert normalize_many(texts) == [normalize(t) for t in texts]


@SETTINGS
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(INVISIBLE), st.booleans())
def test_normalize_exposes_phone_hidden_by_zero_width_or_full_width_digits(phone: str, zw: str, wide: bool) -> None:
    disguised = zw.join(phone[i:i + 4] for i in range(0, len(phone), 4))
    if wide:
        disguised = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in disguised)
    assert phone in normalize(f"请回电{disguised}，谢谢")


# ----------------------------------------------------------------------------------------------
# Readers and the hotline adapter
# ----------------------------------------------------------------------------------------------

# Cell text a real export can hold: CJK, ASCII, delimiters, quotes, formula triggers, line breaks.
cell_alphabet = st.sampled_from(SIMPLIFIED + CN_PUNCT + string.ascii_letters + string.digits
                                + ',;|"\'=+-@ \t\n' + "😡👍🏻\u200b\u202e")
cell = st.text(alphabet=cell_alphabet, min_size=1, max_size=40).filter(lambda s: s.strip())


def _cfg() -> dict:
    from pipeline.config import load_sources

    return load_sources()


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)


HEADER = ["工单编号", "来电时间", "诉求内容", "承办单位"]


def _rows(contents: list[str], units: list[str]) -> list[list[str]]:
    return [[f"GD{i:05d}", f"2026-10-{1 + i % 28:02d} 08:{i % 60:02d}:00", c, u]
            for i, (c, u) in enumerate(zip(contents, units, strict=False))]


@FILE_SETTINGS
@given(st.lists(cell, min_size=1, max_size=25), st.lists(cell, min_size=25, max_size=25),
       st.sampled_from(["utf-8-sig", "gb18030", "utf-16"]))
def test_csv_cells_come_back_exactly(tmp_path_factory, contents, units, encoding) -> None:
    from pipeline.readers import read_table

    enc_ok = all(_encodable(c, encoding) for c in contents + units)
    assume(enc_ok)
    rows = _rows(contents, units)
    # A first cell holding 合计/总计 would (rightly) be a summary row: keep ids plain.
    path = tmp_path_factory.mktemp("csv") / "hotline.csv"
    _write_csv(path, HEADER, rows, encoding)
    [table] = read_table(path, header_hints=HEADER)
    assert table.header == HEADER
    assert [list(r.values()) for r in table.rows] == rows
    assert table.overflow == {}


def _encodable(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@FILE_SETTINGS
@given(st.lists(cell, min_size=1, max_size=25), st.lists(cell, min_size=25, max_size=25))
def test_xlsx_cells_come_back_exactly(tmp_path_factory, contents, units) -> None:
    from hostile import write_hotline_xlsx

    from pipeline.readers import read_table

    # XML cannot carry C0 controls other than tab/newline; CR is normalised away by XML parsers.
    contents = [c.replace("\r", "") for c in contents]
    rows = _rows(contents, units)
    path = tmp_path_factory.mktemp("xlsx") / "hotline.xlsx"
    write_hotline_xlsx(path, rows, header=HEADER)
    [table] = read_table(path, header_hints=HEADER)
    assert [list(r.values()) for r in table.rows] == rows


row_strategy = st.tuples(
    st.one_of(st.just(""), st.from_regex(r"GD[0-9]{1,6}", fullmatch=True), cell),  # 工单编号
    st.one_of(st.just(""), st.just("2026-10-03 08:15"), st.just("2026年10月3日"), st.just("明天"),
              st.just("46329.34375"), cell),  # 来电时间
    st.one_of(st.just(""), cell),  # 诉求内容
)


@FILE_SETTINGS
@given(st.lists(row_strategy, min_size=1, max_size=40))
def test_every_hotline_row_is_parsed_or_quarantined(tmp_path_factory, rows) -> None:
    """rows_in == parsed + quarantined, and a parsed 诉求内容 is the cell text, untouched."""
    from pipeline.sources import iter_parse_file

    rows = [list(r) for r in rows]
    # A row whose every cell is blank is not a data row; a first cell with 合计 is a summary row.
    # A short text with a Chinese character alone in column A (or repeated across the row) is a group label
    # (龙子湖街道, 一、投诉类): not a data row either.
    def label(r: list[str]) -> bool:
        a = r[0].strip()
        return bool(a) and len(a) <= 20 and re.search(r"[\u4e00-\u9fff]", a) is not None and all(
            not c.strip() or c == r[0] for c in r)

    data = [r for r in rows if "".join(r).strip() and not label(r)
            and not any(w in r[0].strip()[:20] for w in ("合计", "总计", "小计"))]
    path = tmp_path_factory.mktemp("hot") / "hotline.csv"
    _write_csv(path, HEADER[:3], rows, "utf-8-sig")
    chunks = list(iter_parse_file(path, "hotline", _cfg(), chunk_rows=7))
    parsed = sum(len(c.rows) for c in chunks)
    quarantined = sum(len(c.quarantine) for c in chunks)
    assert parsed + quarantined == len(data)
    texts = [t for c in chunks for t in c.feedback["text"].tolist()]
    expected_ok = [r for r in data if r[0].strip() and r[2].strip()]
    assert len(texts) <= len(expected_ok)
    assert set(texts) <= {r[2].strip() for r in expected_ok}
    for c in chunks:
        for q in c.quarantine:
            assert q.reason and "Traceback" not in q.reason


@SETTINGS
@given(st.datetimes(min_value=dt.datetime(1950, 1, 1),
                    max_value=dt.datetime(2099, 12, 31)).map(lambda d: d.replace(microsecond=0)),
       st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y年%m月%d日 %H时%M分%S秒", "%Y%m%d%H%M%S",
                        "%Y-%m-%dT%H:%M:%S"]))
def test_parse_datetime_reads_back_what_was_written(moment, fmt) -> None:
    from pipeline.validate import parse_datetime

    assert parse_datetime(moment.strftime(fmt)) == moment


@SETTINGS
@given(any_text)
def test_parse_datetime_never_crashes(text) -> None:
    from pipeline.validate import parse_datetime

    try:
        parse_datetime(text)
    except ValueError as exc:
        assert str(exc)


# ----------------------------------------------------------------------------------------------
# PII masker (nlp.pii)
# ----------------------------------------------------------------------------------------------

_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_ID18 = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_USCC = re.compile(r"(?<![0-9A-Za-z])[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Za-z])")


_ORG_ALPHABET = string.digits + string.ascii_uppercase


def org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character 组织机构代码 body (written here, not taken from nlp.pii)."""
    total = sum(w * _ORG_ALPHABET.index(c) for w, c in zip((3, 7, 9, 10, 5, 8, 4, 2), body, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def is_issued_credit_code(code: str) -> bool:
    """A 统一社会信用代码 as issued: GB 32100 check digit, and characters 9–17 are an organisation code
    with a correct GB 11714 check character (every issued code embeds one)."""
    return uscc.is_valid(code) and org_code_check(code[8:16]) == code[16]


def is_valid_ric(number: str) -> bool:
    """A 居民身份证号 with a correct GB 11643 check digit and a real birth date. The birth-place code is
    not looked up (python-stdnum's table lacks newer county codes; a real number must still be masked)."""
    number = number.upper()
    if not (len(number) == 18 and number[:17].isdigit() and ric.calc_check_digit(number) == number[17]):
        return False
    try:
        ric.get_birth_date(number)
    except Exception:  # stdnum raises InvalidComponent for an impossible date
        return False
    return True


def oracle_pii(text: str) -> list[tuple[str, str]]:
    """Every valid mobile number, 身份证号 and 统一社会信用代码 in ``text`` (independent of nlp.pii)."""
    hits = [("mobile", m.group()) for m in _PHONE.finditer(text)]
    hits += [("id_card", m.group()) for m in _ID18.finditer(text) if is_valid_ric(m.group())]
    hits += [("credit_code", m.group()) for m in _USCC.finditer(text.upper()) if is_issued_credit_code(m.group())]
    return hits


def _ric(draw) -> str:
    area = draw(st.sampled_from(["110101", "310104", "440305", "320106", "510107", "330106"]))
    born = draw(st.dates(min_value=dt.date(1940, 1, 1),
                         max_value=dt.date(2007, 12, 31)))
    seq = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    body = f"{area}{born:%Y%m%d}{seq}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit


def _uscc(draw) -> str:
    head = draw(st.sampled_from(["91", "92", "93", "11", "12", "51", "52"]))
    region = draw(st.sampled_from(["110108", "310115", "440300", "330106"]))
    org = draw(st.one_of(st.from_regex(r"[0-9]{8}", fullmatch=True),
                         st.from_regex(r"[0-9A-HJ-NPQRTUWXY]{8}", fullmatch=True)))
    org += org_code_check(org)
    assume(all(c in "0123456789ABCDEFGHJKLMNPQRTUWXY" for c in org))
    body = head + region + org
    return body + uscc.calc_check_digit(body)


@st.composite
def pii_value(draw) -> str:
    kind = draw(st.sampled_from(["mobile", "id_card", "credit_code"]))
    if kind == "mobile":
        return draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
    if kind == "id_card":
        return _ric(draw)
    return _uscc(draw)


# Filler that holds no PII: CJK, letters, punctuation, and digit runs of at most four.
filler = st.text(alphabet=st.sampled_from(SIMPLIFIED + CN_PUNCT + "abcxyzABC ,.;:!?()-_/"), max_size=30)
short_number = st.from_regex(r"[0-9]{1,4}", fullmatch=True)
pii_free = st.lists(st.one_of(filler, short_number), max_size=8).map(
    lambda parts: "".join(p if i % 2 == 0 or not p.isdigit() else f"第{p}次" for i, p in enumerate(parts)))
# Separators around PII the way people write it: space, Chinese punctuation, a label. (Latin letters
# right next to a number: test_phone_next_to_latin_letters_is_masked.)
joiner = st.sampled_from([" ", "，", "：", "电话", "身份证号", "信用代码:", "(", ")", "、", "。"])


@st.composite
def text_with_pii(draw) -> tuple[str, list[str]]:
    parts, values = [], []
    for _ in range(draw(st.integers(1, 4))):
        parts.append(draw(filler))
        parts.append(draw(joiner))
        v = draw(pii_value())
        values.append(v)
        parts.append(v)
        parts.append(draw(joiner))
    parts.append(draw(filler))
    return "".join(parts), values


def _pii():
    return pytest.importorskip("nlp.pii", reason="nlp/pii.py is not there yet")


@SETTINGS
@given(text_with_pii())
def test_mask_pii_leaves_no_valid_phone_id_or_credit_code(sample) -> None:
    pii = _pii()
    text, values = sample
    assert oracle_pii(text), "generator must plant findable PII"
    masked = pii.mask_pii(text)
    assert oracle_pii(masked) == [], (text, masked)
    for v in values:
        assert v not in masked


@SETTINGS
@given(text_with_pii())
def test_mask_pii_after_normalize_catches_disguised_pii(sample) -> None:
    """Zero-width or full-width digits do not hide a number from normalise-then-mask (the pipeline order)."""
    pii = _pii()
    text, _ = sample
    disguised = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)
    disguised = "\u200b".join(disguised[i:i + 5] for i in range(0, len(disguised), 5))
    masked = pii.mask_pii(normalize(disguised))
    assert oracle_pii(masked) == [], (disguised, masked)


@SETTINGS
@given(pii_free)
@example("营业执照办理第3次，窗口说材料不全。")
@example("2026年10月3日来电，办理了1234号业务")
def test_mask_pii_never_changes_text_without_pii(text: str) -> None:
    pii = _pii()
    assume(not oracle_pii(text))
    assert pii.mask_pii(text) == text


@SETTINGS
@given(st.lists(st.one_of(pii_free, text_with_pii().map(lambda s: s[0])), max_size=20))
def test_mask_many_matches_mask_pii(texts) -> None:
    pii = _pii()
    assert list(pii.mask_many(texts)) == [pii.mask_pii(t) for t in texts]


@SETTINGS
@given(text_with_pii())
def test_mask_pii_is_idempotent(sample) -> None:
    pii = _pii()
    once = pii.mask_pii(sample[0])
    assert pii.mask_pii(once) == once


@pytest.mark.parametrize("text", ["TEL13812345678", "微信VX13812345678", "电话13812345678wx同号"])
def test_phone_next_to_latin_letters_is_masked(text: str) -> None:
    pii = _pii()
    assert oracle_pii(pii.mask_pii(text)) == []
