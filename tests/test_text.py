"""Normalisation: what a text looks like after nlp.text.normalize."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.text import normalize, normalize_many, t2s_trigger_chars


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ＡＢＣ１２３＠ｑｑ．ｃｏｍ", "ABC123@qq.com"),  # full-width ASCII → half-width
        ("你好，世界！真的？是；：（括号）", "你好，世界！真的？是；：（括号）"),  # Chinese punctuation kept
        ("１３８－１２３４－５６７８", "138-1234-5678"),
        ("营业\u200b执照\u200d办理\ufeff", "营业执照办理"),  # zero-width
        ("abc\u202edef\u2066x\u2069", "abcdefx"),  # bidi overrides / isolates
        ("a\x00b\x07c\x1fd", "abcd"),  # control characters
        ("  多个   空格\t制表\u3000全角  ", "多个 空格 制表 全角"),
        ("第一段\r\n\r\n  第二段\n\n\n第三段", "第一段\n第二段\n第三段"),
        ("營業執照辦理太慢，稅務局態度差", "营业执照办理太慢，税务局态度差"),
        ("营业执照办理太慢", "营业执照办理太慢"),
        ("", ""),
    ],
)
def test_normalize(raw: str, clean: str) -> None:
    assert normalize(raw) == clean


@pytest.mark.parametrize("missing", [None, float("nan"), math.nan])
def test_missing_values_become_empty(missing: object) -> None:
    assert normalize(missing) == ""  # type: ignore[arg-type]


def test_pandas_na_and_numbers() -> None:
    pd = pytest.importorskip("pandas")
    assert normalize(pd.NA) == ""
    assert normalize(12366) == "12366"  # type: ignore[arg-type]


def test_normalize_many_matches_normalize() -> None:
    texts = ["ＡＢＣ", None, "營業執照", "x\u200by", "营业执照", "营业执照", float("nan")]
    assert normalize_many(texts) == [normalize(t) for t in texts]  # type: ignore[arg-type]


def test_trigger_set_contains_traditional_not_common_simplified() -> None:
    trig = t2s_trigger_chars()
    assert {"營", "業", "執", "稅", "辦"} <= trig
    assert not ({"营", "业", "执", "税", "办", "的", "是", "么", "在"} & trig)


ALPHABET = "营业執照辦理，。！？ＡＢ１２ ab12\t\n\r\u3000\u200b\ufeff\u202e\x00（）“”"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_normalize_is_idempotent_and_clean(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once
    assert once == once.strip()
    assert "  " not in once and "\n\n" not in once
    assert not any(ch in once for ch in "\u200b\ufeff\u202e\x00\t\r\u3000Ａ１")
