"""mask_many's gate (nlp.pii._GATE_RE, and for pure-ASCII texts the smaller _ASCII_GATE_RE) lets a text skip the PII regex only when mask_pii would leave
it unchanged: checked on texts made of digit runs, separators, letters, labels and titles — the
material every PII pattern is built from — and on cells like dates, times and order numbers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.pii import _GATE_RE, find_pii, mask_many, mask_pii, might_contain_pii

PIECES = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=19),
    st.text(alphabet="０１２３４５６７８９", min_size=1, max_size=12),
    st.sampled_from([" ", "-", "－", ":", "/", ".", "(", ")", "（", "）", "+", "+86", "0086", "86", "转", "年",
                     "月", "日", "号", "元", "＠", "@", "a", "X", "ext.", "分机", "GD", "ZZ", "MA", "\u3000"]),
    st.sampled_from(["电话", "手机", "号码", "身份证号", "卡号", "账号", "联系人", "张先生", "李女士", "姓名：王",
                     "证件号", "座机", "联系方式"]),
    st.sampled_from(["13812345678", "138-1234-5678", "138 1234 5678", "0371-65432198", "(0371)65432198",
                     "037165432198", "11010519491231002X", "91410100MA44XXXX0Y", "6222021234567890123",
                     "6222 0212 3456 7890", "zhang@example.com", "4101051949123100",
                     # (version 8)
                     "139.3712.6688", "1 3 8 3 7 1 2 5 5 7 7", "一三八三七一二五五七七", "豫A12345", "QQ", "wx", "微信号",
                     "护照", "E12345678", "4101 0519 4912 3100 2X", "12-3-502", "张总", "老王", "督查员李", "网友",
                     "执法人员", "、"]),
    st.text(alphabet="诉求内容办理结果郑州市区路街道", min_size=1, max_size=4),
)
TEXTS = st.lists(PIECES, max_size=12).map("".join)
ASCII_TEXTS = st.lists(st.one_of(st.text(alphabet="0123456789", min_size=1, max_size=19),
                                 st.sampled_from([" ", "-", ".", "/", ":", "(", ")", "+86", "@", "a", "X", "QQ", "wx",
                                                  "ext.", "MA", "GD", "13812345678", "0371-65432198",
                                                  "11010519491231002X", "91410100MA44XXXX0Y", "12-3-502",
                                                  "zhang@example.com", "6222 0212 3456 7890"])),
                       max_size=12).map("".join)


@settings(max_examples=3000, deadline=None)
@given(ASCII_TEXTS)
def test_the_ascii_gate_never_skips_an_ascii_text_with_pii(text: str) -> None:
    if not might_contain_pii(text):
        assert find_pii(text) == [], text
    assert mask_many([text]) == [mask_pii(text)]


@settings(max_examples=3000, deadline=None)
@given(TEXTS)
def test_gate_never_skips_a_text_with_pii(text: str) -> None:
    if not might_contain_pii(text):
        assert find_pii(text) == [], text
        assert mask_pii(text) == text
    assert mask_many([text]) == [mask_pii(text)]


def test_gate_skips_dates_times_and_small_numbers() -> None:
    cells = ["2026-10-01 10:24:04", "2026/10/01", "2026年10月3日", "3.5万元", "尚德街92号", "12000元",
             "2026-10-16 10:24", "第3次"]
    assert [_GATE_RE.search(c) for c in cells] == [None] * len(cells)
    assert mask_many(cells) == cells
    # and does not skip what could hold a number worth masking
    for cell in ["13812345678", "138-1234-5678", "138 1234 5678", "0371-6543219", "2026-1001-2345",
                 "GD202610010023627", "a@b.cn", "张先生", "联系人王五"]:
        assert _GATE_RE.search(cell) is not None, cell


def test_credit_code_cell_equals_the_three_calls() -> None:
    from nlp.pii import credit_code_cell, is_valid_credit_code, mask_credit_code

    cells = ["91410100MA44XXXX0Y", "91410102281591264R", "91410100MAFU2P7803", "91410100MA44XXXX0Z",
             "９１410100MA44XXXX0Y", "914101002815912640", "11010519491231002X", "9141 0100 MA44 XXXX 0Y",
             "91410100-MA44XXXX0Y", "无", "0371-65432198", "123", "x91410100MA44XXXX0Y", " 91410102281591264R "]
    for c in cells:
        expected = (mask_pii(c) if find_pii(c) else mask_credit_code(c), is_valid_credit_code(c))
        assert credit_code_cell(c) == expected, c


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY９Ａ -", min_size=15, max_size=20))
def test_credit_code_cell_on_code_like_strings(code: str) -> None:
    from nlp.pii import credit_code_cell, is_valid_credit_code, mask_credit_code

    assert credit_code_cell(code) == (mask_pii(code) if find_pii(code) else mask_credit_code(code),
                                      is_valid_credit_code(code))
