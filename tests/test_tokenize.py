"""Tokenizer: the fast backend gives jieba's tokens exactly; domain dictionary; stop words."""

from __future__ import annotations

import logging
import os
import pickle
import random
from pathlib import Path

import pytest

from nlp import tokenize as tk
from nlp.tokenize import Tokenizer, get_tokenizer, load_stopwords, load_user_dict

ROOT = Path(__file__).resolve().parents[1]
# as config/areas.yaml gives them (YAML reads 12366 as an int)
KEYWORDS = ["营业执照", "核名", "图审", "人防", 12366, "不动产登记中心", "增容", "抽贷", "清欠"]


def shared_data_dir() -> Path:
    return Path(os.environ.get("YINGSHANG_SHARED_DATA") or ROOT.parent / "shared" / "data")


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    t = get_tokenizer(KEYWORDS)
    if t.backend != "rjieba":
        pytest.skip("rjieba not available: nothing to compare with jieba")
    return t


# --- generated tricky strings (the identity test runs even without shared data) -------------------


def generated_sentences(n: int, seed: int = 20261103) -> list[str]:
    rng = random.Random(seed)
    user_words = [w for w, _, _ in load_user_dict()] + [str(k) for k in KEYWORDS]
    common = ["我", "的", "是", "不", "好", "办理", "企业", "问题", "反映", "一个", "没有", "县", "个", "光",
              "看", "大", "中国", "发展", "时间", "人", "家", "了", "很", "非常", "差评", "谢谢"]
    oov = list("赞差棒嗯哒呗咯喔嘞噢擦啊哈")
    pieces = [
        lambda: f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
        lambda: f"1{rng.choice('3589')}{rng.randrange(10)}-{rng.randrange(10**4):04d}-{rng.randrange(10**4):04d}",
        lambda: f"+86 138{rng.randrange(10**8):08d}",
        lambda: f"0{rng.randrange(10, 999)}-{rng.randrange(10**7, 10**8)}",
        lambda: f"20{rng.randrange(10, 30)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        lambda: f"20{rng.randrange(10, 30)}年{rng.randrange(1, 13)}月{rng.randrange(1, 29)}日",
        lambda: f"{rng.randrange(24):02d}:{rng.randrange(60):02d}",
        lambda: rng.choice(["https://www.gov.cn/a_b/c-d.htm?x=1&y=2#top", "http://12345.henan.gov.cn", "www.baidu.com"]),
        lambda: rng.choice(["zhang.san_01@example.com.cn", "li-si+tag@qq.com", "abc@163.com"]),
        lambda: rng.choice(["Hello", "World", "APP", "PDF", "wifi", "iPhone", "GB50500-2013", "v1.2.3-beta", "ISO9001"]),
        lambda: f"{rng.randrange(1000)}{rng.choice(['元', '万元', '%', 'mg', 'kg', 'km', '个', '次', '.5', '.5%'])}",
        lambda: rng.choice(["ＡＢＣ", "１２３", "（全角）", "　", "，", "。", "！", "？", "、", "……", "——", "《条例》"]),
        lambda: rng.choice(["😀", "👍🏻", "❤️", "🇨🇳", "☆", "\u200b"]),
        lambda: rng.choice(["營業執照", "稅務局", "辦理", "測試", "㐀㐁", "𠀀", "鿖", "丽"]),
        lambda: rng.choice([" ", "  ", "\t", "\n", "\r\n", "\n\n"]),
        lambda: rng.choice(["a.b", "1.2.3", "a--b", "x_y", "C++", "C#", "AT&T", "T恤", "U盘", "3.5.", "-1", ".5"]),
        lambda: rng.choice(oov) * rng.randrange(2, 7),
        lambda: "".join(rng.choice(common) for _ in range(rng.randrange(2, 4))) * rng.randrange(2, 4),
        lambda: rng.choice(user_words),
        lambda: rng.choice(common),
        lambda: rng.choice(common),
    ]
    out = []
    for _ in range(n):
        out.append("".join(rng.choice(pieces)() for _ in range(rng.randrange(1, 9))))
    return out


def real_sentences(n: int, seed: int = 7) -> list[str]:
    import pandas as pd

    d = shared_data_dir()
    files = [
        ("tipdm2020c_messages/messages_dev.csv", ["留言主题", "留言详情"]),
        ("tipdm2020c_replies/replies.csv.gz", ["答复意见"]),
        ("chnsenticorp_htl_all/chnsenticorp_htl_all_dev.csv", ["review"]),
        ("waimai_10k/waimai_10k_dev.csv", ["review"]),
        ("online_shopping_10_cats/online_shopping_10_cats_dev.csv.gz", ["review"]),
    ]
    texts: list[str] = []
    for rel, cols in files:
        if (d / rel).exists():
            frame = pd.read_csv(d / rel, encoding="utf-8")
            for c in cols:
                texts.extend(t for t in frame[c].tolist() if isinstance(t, str))
    if not texts:
        pytest.skip(f"shared data not found at {d} (set YINGSHANG_SHARED_DATA)")
    rng = random.Random(seed)
    rng.shuffle(texts)
    # Keep the test fast: jieba (the reference) is slow on long posts.
    return [t[:400] for t in texts[:n]]


def _first_difference(texts: list[str], got: list[list[str]], ref: list[list[str]]) -> str:
    for t, a, b in zip(texts, got, ref, strict=True):
        if a != b:
            return f"{t!r}\n fast: {a}\n jieba: {b}"
    return ""


def test_identity_on_generated_tricky_strings(tok: Tokenizer) -> None:
    texts = generated_sentences(6000)
    ref = [tok.reference_lcut(t) for t in texts]
    one = [tok.lcut(t) for t in texts]
    assert one == ref, _first_difference(texts, one, ref)
    many = tok.lcut_many(texts)
    assert many == ref, _first_difference(texts, many, ref)


def test_identity_on_real_texts(tok: Tokenizer) -> None:
    texts = real_sentences(2500)
    ref = [tok.reference_lcut(t) for t in texts]
    many = tok.lcut_many(texts)
    assert many == ref, _first_difference(texts, many, ref)
    assert len(texts) + 6000 >= 5000  # together with the generated test: identity on 8,500 texts


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # jieba splits non-Chinese runs inside a buf; rjieba alone keeps them whole.
        ("座机010-12345678", ["座机", "010", "-", "12345678"]),
        ("日期2026-11-01", ["日期", "2026", "-", "11", "-", "01"]),
        ("访问baidu.com", ["访问", "baidu", ".", "com"]),
        ("含量47.3mg", ["含量", "47.3", "mg"]),
        # characters jieba does not treat as Han are single tokens
        ("㐀㐁中国", ["㐀", "㐁", "中国"]),
        # route tie and HMM tie: jieba's own choice
        ("L10县县县汇鑫", None),
        ("赞赞赞赞赞", None),
        ("大不大不大一家", None),
    ],
)
def test_known_rjieba_differences_are_corrected(tok: Tokenizer, text: str, tokens: list[str] | None) -> None:
    ref = tok.reference_lcut(text)
    assert tok.lcut(text) == ref
    assert tok.lcut_many([text]) == [ref]
    if tokens is not None:
        assert ref == tokens


def test_domain_terms_stay_whole(tok: Tokenizer) -> None:
    text = "推行一件事一次办，落实双随机一公开，办理不动产权证书，拨打12345热线，申请留抵退税和数电发票"
    toks = tok.lcut(text)
    for term in ["一件事一次办", "双随机一公开", "不动产权证书", "12345热线", "留抵退税", "数电发票"]:
        assert term in toks


def test_user_dictionary_file() -> None:
    entries = load_user_dict()
    words = [w for w, _, _ in entries]
    assert len(words) >= 150
    assert len(set(words)) == len(words)
    assert {"一件事一次办", "双随机一公开", "不动产权证", "统一社会信用代码", "营商环境", "数电发票", "证照分离"} <= set(words)
    assert all(f is not None and f > 0 for _, f, _ in entries)


def test_user_words_at_construction() -> None:
    plain = get_tokenizer()
    assert "报建窗口" not in plain.lcut("去报建窗口排队")
    extra = get_tokenizer(["报建窗口"])
    assert "报建窗口" in extra.lcut("去报建窗口排队")
    assert extra.lcut("去报建窗口排队") == extra.reference_lcut("去报建窗口排队")


def test_numeric_keyword_is_a_word(tok: Tokenizer) -> None:
    assert "12366" in tok.user_words
    assert "12366" in tok.lcut("拨打12366咨询")


def test_lcut_many_matches_lcut_and_handles_empty(tok: Tokenizer) -> None:
    texts = ["", None, "营商环境很好", "a\x00b营商", "\n", "㐀", "赞赞"]
    assert tok.lcut_many(texts) == [tok.lcut(t) for t in texts]
    assert tok.lcut(None) == [] and tok.lcut("") == []
    assert tok.lcut("a\x00b营商") == tok.reference_lcut("a\x00b营商")


def test_content_tokens_drop_stopwords_punctuation_numbers(tok: Tokenizer) -> None:
    toks = tok.lcut("我们的营业执照办理了3次，还是没有办好！！ 2026年 12.5% 12345热线")
    content = tok.content_tokens(toks)
    assert content == ["营业执照", "办理", "次", "办好", "年", "12345热线"]


def test_stopwords_merged_and_clean() -> None:
    stop = load_stopwords()
    assert len(stop) == 2312
    assert all(w and w == w.strip() for w in stop)
    assert {"的", "了", "我们"} <= stop


def test_jieba_backend_and_fallback(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = Tokenizer(backend="jieba")
    assert ref.backend == "jieba"
    assert ref.lcut("座机010-12345678") == ["座机", "010", "-", "12345678"]
    # A self-check failure makes "auto" fall back to jieba with a warning, and "rjieba" raise.
    monkeypatch.setattr(tk, "self_check_sentences", lambda words=(): ["营商环境"])
    monkeypatch.setattr(tk._FastBackend, "cut", lambda self, text: ["错"])
    monkeypatch.setattr(tk._FastBackend, "cut_many", lambda self, texts: [["错"] for _ in texts])
    with caplog.at_level(logging.WARNING, logger="nlp.tokenize"):
        auto = Tokenizer()
    assert auto.backend == "jieba"
    assert "using jieba" in caplog.text
    assert auto.lcut("营商环境") == ["营商环境"]
    with pytest.raises(RuntimeError):
        Tokenizer(backend="rjieba")
    with pytest.raises(ValueError):
        Tokenizer(backend="nope")


def test_pickle_round_trip(tok: Tokenizer) -> None:
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.backend == tok.backend
    assert clone.user_words == tok.user_words
    assert clone.lcut("办理不动产权证太慢") == tok.lcut("办理不动产权证太慢")


def test_self_check_passes(tok: Tokenizer) -> None:
    assert tok.self_check() == []
    assert len(tk.self_check_sentences()) >= 200


def test_reference_numbers_are_no_content_words() -> None:
    """Work-order numbers were content words: 995 demo rows had GD… numbers as keywords, and one clue's
    keywords read 信用修复,荷路,工单,GD202610028164743,厂区 (analyst red team, session 9)."""
    from nlp.tokenize import get_tokenizer, is_content_word

    assert not is_content_word("GD202610028164743") and not is_content_word("Z4101050012")
    assert is_content_word("A3") and is_content_word("5G") and is_content_word("停电")
    tok = get_tokenizer(["12366"])
    assert tok.content_tokens(["工单", "GD202610028164743", "12366", "停电"]) == ["工单", "12366", "停电"]
