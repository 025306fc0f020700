"""Word segmentation (中文分词): jieba precise mode as the reference, rjieba as the exact fast backend.

**Reference.** ``jieba.lcut(text)`` in precise mode with HMM on (精确模式, jieba's default), run on a
private ``jieba.Tokenizer`` instance (never the global one) that has the domain user dictionary
``resources/user_dict.txt`` (政务/营商 terms such as 一件事一次办, 双随机一公开, 统一社会信用代码) and the
caller's extra words loaded. jieba's dictionary cache goes to ``$YINGSHANG_CACHE_DIR`` (default
``<tmp>/yingshang``) and its log noise is silenced.

**Fast backend.** rjieba (jieba-rs) implements the same algorithm and ships the same dictionary, but
its output differs from jieba's in three places; :class:`Tokenizer` corrects all three so the result is
*token-for-token identical* to the reference:

1. *Non-Chinese runs inside a Han block.* jieba sends runs of single characters that are not a
   dictionary word (the "buf") to ``finalseg.cut``, which splits their non-Chinese parts with
   ``([a-zA-Z0-9]+(?:\\.\\d+)?%?)`` and yields every piece: ``010-12345678`` → ``010 - 12345678``,
   ``baidu.com`` → ``baidu . com``, ``47.3mg`` → ``47.3 mg``. jieba-rs keeps such a run whole. Fix:
   maximal runs of consecutive pure ``[a-zA-Z0-9+#&._%-]`` tokens that are not dictionary words are
   joined and re-split with jieba's own regex (only where a symbol touches a letter or digit).
2. *More Han characters.* jieba's block regex knows only U+4E00..U+9FD5; jieba-rs also treats CJK
   extension A/B.., U+9FD6..U+9FFF and compatibility ideographs as Han (``㐀㐁`` stays one token there,
   jieba yields one token per character). Texts containing such characters are split into blocks with
   jieba's own regexes in Python and only the Han blocks go to rjieba.
3. *Exact ties.* Where two segmentations score exactly the same in real arithmetic, the winner is
   decided by the last bits of floating-point rounding, and jieba-rs rounds differently (its
   dictionary total enters as a logarithm a few ulps away from Python's once user words change the
   total; its HMM constants differ in the last digits). Such ties need a repeated string: the same
   words in another order (县|县县 vs 县县|县 in 县县县; 大不大|不|大 vs 大|不|大不大) or HMM states
   swapped between equal characters (赞赞|赞赞赞 vs 赞赞赞|赞赞). So: in a jieba block with a Han
   character three times in a row or a repeated 2..8-character Han string, jieba itself cuts the
   block; in a block with a doubled out-of-vocabulary character (赞赞), the bufs holding it are read
   off rjieba's route without HMM and re-cut with jieba's own ``finalseg.cut``. About 5% of real
   texts touch either rule, and only their affected blocks are redone.

User words get the *same integer frequency* in both engines: the frequency is computed by jieba
(``suggest_freq(word, False)`` when omitted — exactly what ``jieba.add_word`` does) and passed to both.
jieba's ``add_word`` adds the new frequency to its total even when the word existed (jieba-rs subtracts
the old one); a never-matching dummy entry keeps rjieba's total equal to jieba's, because the total
enters every path score.

:meth:`Tokenizer.lcut_many` joins many texts with ``\\x00`` — a character outside every jieba block,
so it is a hard boundary and always its own token — cuts them in one rjieba call and splits back on that
token (texts that contain ``\\x00`` themselves are cut alone). Measured: rjieba's per-call overhead is
small, so batching gains only a few per cent over :meth:`Tokenizer.lcut` per text.

The backend is chosen at construction: ``"auto"`` uses rjieba only when a built-in self-check of ~250 tricky sentences (phone numbers, dates, URLs, e-mail, Latin words, digits with
units, full-width characters, emoji, traditional and rare characters, repeated characters, user words
at boundaries) gives exactly jieba's tokens, and otherwise falls back to jieba with a logged warning.

**Domain dictionary format** (jieba's): ``word freq tag`` per line. The frequencies in
``user_dict.txt`` are the ones ``jieba.suggest_freq(word)`` gives against jieba's default dictionary
(the smallest frequency that keeps the term in one piece), written out so the file is explicit.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

__all__ = [
    "BACKENDS",
    "Tokenizer",
    "get_tokenizer",
    "is_content_word",
    "load_stopwords",
    "load_user_dict",
    "self_check_sentences",
]

log = logging.getLogger(__name__)

RESOURCES = Path(__file__).resolve().parent / "resources"
USER_DICT_PATH = RESOURCES / "user_dict.txt"
STOPWORDS_PATH = RESOURCES / "stopwords.txt"
BACKENDS = ("auto", "rjieba", "jieba")

# --- jieba's own regexes (jieba/__init__.py, jieba/finalseg/__init__.py, v0.42.1) -----------------
RE_HAN_DEFAULT = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)")
RE_SKIP_DEFAULT = re.compile("(\r\n|\\s)")
RE_FINALSEG_SKIP = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")
_RE_USERDICT = re.compile("^(.+?)( [0-9]+)?( [a-z]+)?$")

# A token made only of characters jieba puts into a Han block but that are not Chinese.
_RE_ASCII_TOKEN = re.compile(r"[a-zA-Z0-9+#&._%\-]+")
# jieba-rs and jieba only disagree on such runs where a symbol touches a letter or digit (a.b, 1-2):
# this finds each maximal run of block characters that has such a place.
_RE_MIXED_ASCII_GATE = re.compile(r"[a-zA-Z0-9][+#&._%\-]|[+#&._%\-][a-zA-Z0-9]")
_RE_MIXED_ASCII = re.compile(
    r"[a-zA-Z0-9+#&._%\-]*(?:[a-zA-Z0-9][+#&._%\-]|[+#&._%\-][a-zA-Z0-9])[a-zA-Z0-9+#&._%\-]*"
)
# Characters jieba-rs treats as Han and jieba does not (difference 2).
_RE_RJIEBA_ONLY_HAN = re.compile(
    "[\u3400-\u4dbf\u9fd6-\u9fff\uf900-\ufaff\U00020000-\U0002a6df\U0002a700-\U0002ebef\U0002f800-\U0002fa1f]"
)
# A repeated Han string of 1..8 characters (县县县, 不好不好, 赞赞): where two segmentations with the
# same words (or HMM states) in a different order can score exactly the same, so that the last bits
# of floating-point rounding pick the winner (difference 3). See _tie_risk for the exact rule.
# (a lookahead, so that squares overlapping a harmless one are found too)
_RE_SQUARE = re.compile(r"(?=([\u4e00-\u9fd5]{1,8})\1)")
_RE_NUMBER = re.compile(r"[\d.,%+\-．，％]+")
_RE_NON_BLOCK = re.compile("[^\u4e00-\u9fd5a-zA-Z0-9+#&._%\\-]")
_RE_DOUBLED = re.compile(r"([\u4e00-\u9fd5])\1")
_SEP = "\x00"
# Never matched by any text: the characters are outside every jieba-rs Han block.
_TOTAL_DUMMY = "\ue000\ue001\ue002"
_BATCH_CHARS = 200_000

_jieba_lock = threading.Lock()


def _cache_dir() -> str:
    path = os.environ.get("YINGSHANG_CACHE_DIR") or os.path.join(tempfile.gettempdir(), "yingshang")
    os.makedirs(path, exist_ok=True)
    return path


@lru_cache(maxsize=1)
def load_stopwords() -> frozenset[str]:
    """The merged stop-word list (停用词表: cn, 哈工大, 百度, 川大), see resources/STOPWORDS_ATTRIBUTION.md."""
    text = STOPWORDS_PATH.read_text(encoding="utf-8")
    return frozenset(w.strip() for w in text.splitlines() if w.strip())


def _parse_user_dict_lines(lines: Iterable[str]) -> list[tuple[str, int | None, str | None]]:
    entries: list[tuple[str, int | None, str | None]] = []
    for raw in lines:
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        m = _RE_USERDICT.match(line)
        if m is None:  # pragma: no cover - the regex matches any non-empty line
            continue
        word, freq, tag = m.groups()
        entries.append((word, int(freq) if freq is not None else None, tag.strip() if tag else None))
    return entries


@lru_cache(maxsize=1)
def load_user_dict() -> tuple[tuple[str, int | None, str | None], ...]:
    """The domain user dictionary (领域词典) as ``(word, freq or None, tag or None)``, in file order."""
    return tuple(_parse_user_dict_lines(USER_DICT_PATH.read_text(encoding="utf-8").splitlines()))


# --- the jieba reference ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _jieba_base() -> tuple[dict[str, int], int]:
    """jieba's default dictionary (FREQ, total), loaded once per process through jieba's cache file."""
    import jieba

    logging.getLogger("jieba").setLevel(logging.WARNING)  # "Building prefix dict ..." noise
    tok = jieba.Tokenizer()
    tok.tmp_dir = _cache_dir()
    with _jieba_lock:
        tok.initialize()
    return tok.FREQ, tok.total


def _new_jieba() -> Any:
    import jieba

    freq, total = _jieba_base()
    tok = jieba.Tokenizer()
    tok.tmp_dir = _cache_dir()
    tok.FREQ = dict(freq)  # private copy: add_word mutates it
    tok.total = total
    tok.initialized = True
    return tok


def _is_block_char(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fd5" or (ch.isascii() and (ch.isalnum() or ch in "+#&._%-"))


def _jieba_nonhan(block: str, out: list[str]) -> None:
    """What ``jieba.Tokenizer.cut`` yields for a block outside RE_HAN_DEFAULT (precise mode)."""
    for x in RE_SKIP_DEFAULT.split(block):
        if RE_SKIP_DEFAULT.match(x):
            out.append(x)
        else:
            out.extend(x)


class _FastBackend:
    """rjieba plus the corrections that make it agree with jieba (see the module docstring)."""

    def __init__(self, freq: dict[str, int], ref_lcut: Any) -> None:
        import rjieba
        from jieba import finalseg

        self._rj = rjieba.Jieba()
        self._freq = freq  # the jieba reference's FREQ (shared with it, read-only here)
        self._ref_lcut = ref_lcut  # jieba's own lcut, for the blocks where route ties are possible
        self._finalseg_cut = finalseg.cut  # jieba's own HMM, for bufs where HMM ties are possible
        self._dummy_freq = 0
        # Multi-character dictionary words made only of block characters (C++, AT&T, 12366 ...): the
        # route yields them whole, so they must never be merged with a neighbouring buf.
        self._ascii_words: set[str] = {
            w for w, f in freq.items() if f and len(w) > 1 and _RE_ASCII_TOKEN.fullmatch(w)
        }

    def add_word(self, word: str, freq: int, tag: str | None, old_freq: int) -> None:
        """Mirror ``jieba.Tokenizer.add_word(word, freq)`` where jieba's FREQ[word] was ``old_freq``."""
        self._rj.add_word(word, freq, tag)
        if old_freq > 0:
            # jieba: total += freq; jieba-rs: total += freq - old. Give the difference to the dummy.
            self._dummy_freq += old_freq
            self._rj.add_word(_TOTAL_DUMMY, self._dummy_freq, None)
        if freq and len(word) > 1 and _RE_ASCII_TOKEN.fullmatch(word):
            self._ascii_words.add(word)

    def _fix_ascii(self, toks: list[str]) -> list[str]:
        """Difference 1: re-split non-Chinese runs of a buf the way jieba's finalseg does."""
        out: list[str] = []
        run: list[str] = []
        fullmatch = _RE_ASCII_TOKEN.fullmatch
        keep = self._ascii_words
        freq = self._freq

        def flush() -> None:
            s = "".join(run)
            if len(run) > 1 and freq.get(s):
                out.extend(run)  # a buf that is itself a dictionary word is yielded char by char
            else:
                out.extend(x for x in RE_FINALSEG_SKIP.split(s) if x)
            run.clear()

        for t in toks:
            if fullmatch(t) and t not in keep:
                run.append(t)
            else:
                if run:
                    flush()
                out.append(t)
        if run:
            flush()
        return out

    def _fix_runs(self, text: str, toks: list[str]) -> list[str]:
        """Apply :meth:`_fix_ascii` to the tokens covering each mixed ASCII run of ``text``."""
        if _RE_MIXED_ASCII_GATE.search(text) is None:
            return toks
        spans = [m.span() for m in _RE_MIXED_ASCII.finditer(text)]
        ends = list(accumulate(map(len, toks)))  # end offset of each token
        for start, end in reversed(spans):  # right to left: earlier indices stay valid
            i = bisect_right(ends, start)  # first token ending after the run starts
            j = bisect_left(ends, end)  # token holding the run's last character
            toks[i : j + 1] = self._fix_ascii(toks[i : j + 1])
        return toks

    def _block_risks(self, text: str) -> dict[int, tuple[int, int]]:
        """Blocks where exact score ties are possible (difference 3): ``{start: (end, kind)}``.

        kind 2 — a route (DAG) tie: a Han character three or more times in a row (县县县 can be
        县|县县 or 县县|县) or a repeated string of 2..8 Han characters (大不大不大, 不好不好不好).
        kind 1 — an HMM tie: a doubled out-of-vocabulary character (赞赞, 差差). A doubled dictionary
        word on its own (谢谢, 常常) is harmless. Blocks are jieba's (RE_HAN_DEFAULT), cut independently
        by both engines.
        """
        freq = self._freq
        risks: dict[int, tuple[int, int]] = {}
        block_start = block_end = -1
        n = len(text)
        for m in _RE_SQUARE.finditer(text):
            x = m.group(1)
            pos = m.start()
            if len(x) > 1 or (pos + 2 < n and text[pos + 2] == x):
                kind = 2
            elif not freq.get(x + x):
                kind = 1
            else:
                continue
            if pos >= block_end:  # a new block
                block_start = pos
                while block_start > 0 and _is_block_char(text[block_start - 1]):
                    block_start -= 1
                me = _RE_NON_BLOCK.search(text, pos)
                block_end = me.start() if me is not None else n
                risks[block_start] = (block_end, kind)
            elif kind > risks[block_start][1]:
                risks[block_start] = (block_end, kind)
        return risks

    def _fix_hmm(self, block: str, toks: list[str]) -> list[str]:
        """Re-cut with jieba's own HMM (``finalseg.cut``) each buf of the block with a doubled OOV char.

        A buf is a maximal run of single-character route steps. It is read off rjieba's route without
        HMM, which equals jieba's route when the block has no route-tie risk. HMM output never
        crosses a buf boundary, so the tokens of a buf can be swapped for jieba's.
        """
        freq = self._freq
        bufs: list[tuple[int, int]] = []
        off = 0
        start = -1
        for t in self._rj.cut(block, False):
            # One character, or a run of single ASCII letters/digits that the no-HMM mode glues
            # together (a route word instead when the dictionary has it).
            if len(t) == 1 or (t.isascii() and t.isalnum() and not freq.get(t)):
                if start < 0:
                    start = off
            elif start >= 0:
                bufs.append((start, off))
                start = -1
            off += len(t)
        if start >= 0:
            bufs.append((start, off))
        t_ends: list[int] | None = None
        for start, end in reversed(bufs):  # right to left: earlier token indices stay valid
            buf = block[start:end]
            if end - start < 2 or freq.get(buf) or not _RE_DOUBLED.search(buf):
                continue
            if t_ends is None:
                t_ends = list(accumulate(map(len, toks)))
            i = bisect_right(t_ends, start)
            j = bisect_left(t_ends, end)
            if t_ends[i] - len(toks[i]) != start or t_ends[j] != end:
                return self._ref_lcut(block)  # cannot happen: HMM output stays inside its buf
            toks[i : j + 1] = self._finalseg_cut(buf)
        return toks

    def _finish(self, text: str, toks: list[str]) -> list[str]:
        """Corrections for rjieba's tokens of ``text`` (which has no character only jieba-rs calls Han)."""
        risks = self._block_risks(text)
        if risks:
            t_ends = list(accumulate(map(len, toks)))
            for bs in sorted(risks, reverse=True):  # right to left: earlier indices stay valid
                be, kind = risks[bs]
                i = bisect_right(t_ends, bs)
                j = bisect_left(t_ends, be)
                block = text[bs:be]
                if kind == 2:
                    toks[i : j + 1] = self._ref_lcut(block)  # jieba decides its own exact ties
                else:
                    toks[i : j + 1] = self._fix_hmm(block, toks[i : j + 1])
        return self._fix_runs(text, toks)

    def _cut_blocks(self, text: str) -> list[str]:
        """Difference 2: split into jieba's blocks in Python; only jieba's Han blocks go to rjieba."""
        out: list[str] = []
        for blk in RE_HAN_DEFAULT.split(text):
            if not blk:
                continue
            if RE_HAN_DEFAULT.match(blk):
                out.extend(self._finish(blk, self._rj.cut(blk)))
            else:
                _jieba_nonhan(blk, out)
        return out

    def cut(self, text: str) -> list[str]:
        """Tokens identical to jieba's ``lcut(text)``."""
        if _RE_RJIEBA_ONLY_HAN.search(text) is not None:
            return self._cut_blocks(text)
        return self._finish(text, self._rj.cut(text))

    def cut_many(self, texts: Sequence[str]) -> list[list[str]]:
        """Same as ``[cut(t) for t in texts]``; texts go through rjieba in joined batches."""
        out: list[list[str]] = [[] for _ in texts]
        batch: list[int] = []
        size = 0
        rj_cut = self._rj.cut
        finish = self._finish

        def run() -> None:
            toks = rj_cut(_SEP.join([texts[i] for i in batch]))
            start = 0
            n = len(toks)
            index = toks.index
            for i in batch:
                try:
                    end = index(_SEP, start)
                except ValueError:
                    end = n
                out[i] = finish(texts[i], toks[start:end])
                start = end + 1

        rare = _RE_RJIEBA_ONLY_HAN.search
        for i, t in enumerate(texts):
            if not t:
                continue
            if _SEP in t or rare(t) is not None:
                out[i] = self.cut(t)
                continue
            batch.append(i)
            size += len(t) + 1
            if size >= _BATCH_CHARS:
                run()
                batch, size = [], 0
        if batch:
            run()
        return out


# --- self-check -------------------------------------------------------------------------------------


def self_check_sentences(user_words: Iterable[str] = ()) -> list[str]:
    """~250 tricky sentences on which the fast backend must reproduce jieba exactly."""
    base = [
        "我的电话是138-1234-5678，座机010-12345678转123，手机+86 13912345678。",
        "2026-11-01上午9:30到12345热线反映，工单编号2026110100123，ZZ2026110312345。",
        "网址https://www.gov.cn/zhengce/2026-11/01/content_123.htm?id=5&x=y#top 打不开",
        "邮箱zhang.san_01@example.com.cn和li-si+tag@qq.com都收不到验证码",
        "GB50500-2013标准，GB/T 19001-2016认证，ISO9001，v1.2.3-beta版本",
        "贷款3.5万元，利率4.35%，增长12.5%以上，50-60人，1.5w元，0.23mg/L",
        "ｆｕｌｌ　ｗｉｄｔｈ　１２３４５６，全角字符ＡＢＣ，（括号）【方括号】",
        "赞赞赞赞赞，差差差差差差差，好好好好好好，哈哈哈哈哈哈哈哈",
        "㐀㐁中国𠀀人，龥龦鿕鿖鿿，丽朗塚",
        "emoji😀😂👍🏻测试，🇨🇳国旗，❤️爱心，☆★",
        "繁體中文測試：營業執照辦理太慢，稅務局態度差",
        "  多个   空格\t制表符\r\n换行\n\n两个换行\u3000全角空格  ",
        "C++和C#和AT&T以及T恤衫、U盘、B超、卡拉OK、4S店、IP地址",
        "a.b.c 1.2.3 ...... --- ___ %%% ### &&& +++ 1..2 a--b",
        "营商环境一件事一次办双随机一公开不动产权证统一社会信用代码",
        "企业开办只进一扇门，证照分离，多测合一，交房即交证，留抵退税，数电发票",
        "统一社会信用代码91410100MA44XXXX0Y，身份证410102199001011234",
        "地址：郑州市金水区花园路1号院3号楼2单元501室，邮编450000",
        "价格￥12,000.00元，约$1,800USD，€200，１２．５％",
        "他说：“你好！”她问：‘为什么？’……——《营商环境优化条例》",
        "Hello World! This is English text with numbers 123 and symbols @#$.",
        "A市A3区、K8县、M6州M7市；A1、A2、B3楼；第1、2、3条",
        "北京烤鸭真好吃，南京市长江大桥，结婚的和尚未结婚的",
        "",
        " ",
        "\n",
        "。",
        "a",
        "1",
        "赞",
    ]
    words = [w for w, _, _ in load_user_dict()] + [w for w in user_words if w]
    contexts = ["办理{}太慢", "{}的问题", "关于{}，", "{}{}", "申请{}123", "abc{}.com", "{}2026-11-01", "请问{}？"]
    out = list(base)
    step = max(1, len(words) // 180)
    for k, w in enumerate(words[::step][:180]):
        ctx = contexts[k % len(contexts)]
        out.append(ctx.format(w, w) if ctx.count("{}") == 2 else ctx.format(w))
    # repeated out-of-vocabulary characters of several lengths (HMM ties)
    for n in range(2, 14):
        out.append("赞" * n + "，" + "差" * n)
    for pat in ["哒哒哒哒哒哒", "嗯嗯嗯嗯嗯好", "好评好评好评", "棒棒棒棒哒", "呗呗呗呗呗呗呗"]:
        out.append(pat)
    return out


# --- the tokenizer -----------------------------------------------------------------------------------


class Tokenizer:
    """jieba precise-mode segmentation with the domain dictionary, fast and exact (分词器).

    >>> tok = Tokenizer(["营商环境投诉"])
    >>> tok.lcut("拨打12345热线反映营商环境投诉")
    ['拨打', '12345热线', '反映', '营商环境投诉']

    ``user_words``: extra words (e.g. every keyword of config/areas.yaml), added after the domain
    dictionary with jieba's default frequency (``suggest_freq``). ``backend``: ``"auto"`` (rjieba if
    it passes the self-check, else jieba), ``"rjieba"`` (raise if it does not pass) or ``"jieba"``.
    """

    def __init__(self, user_words: Iterable[str] = (), backend: str = "auto") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
        self.requested_backend = backend
        # str(): YAML reads a keyword such as 12366 as an int.
        words = (str(w).strip() for w in user_words if w is not None)
        self.user_words: tuple[str, ...] = tuple(dict.fromkeys(w for w in words if w))
        self._ref = _new_jieba()
        self._fast: _FastBackend | None = None
        want_fast = backend in ("auto", "rjieba")
        if want_fast:
            try:
                self._fast = _FastBackend(self._ref.FREQ, self._ref.lcut)
            except ImportError as exc:
                if backend == "rjieba":
                    raise
                log.warning("rjieba is not installed (%s); using jieba (slower)", exc)
        entries = list(load_user_dict()) + [(w, None, None) for w in self.user_words]
        self.domain_words: frozenset[str] = frozenset(w for w, _, _ in entries)
        for word, freq, tag in entries:
            self._add_word(word, freq, tag)
        self.backend = "jieba"
        if self._fast is not None:
            bad = self.self_check()
            if not bad:
                self.backend = "rjieba"
            else:
                msg = f"rjieba differs from jieba on {len(bad)} self-check sentences, e.g. {bad[0]!r}"
                if backend == "rjieba":
                    raise RuntimeError(msg)
                log.warning("%s; using jieba (slower)", msg)
                self._fast = None
        # Stop words minus the domain's own words (a stop-word list must not hide 问题 or 办理 if the
        # dictionary says they are domain terms).
        self.stopwords: frozenset[str] = load_stopwords() - self.domain_words

    def _add_word(self, word: str, freq: int | None, tag: str | None) -> None:
        # Words with characters outside jieba's Han blocks can never be produced by jieba: skip them
        # (they would only shift the dictionary total).
        if not RE_HAN_DEFAULT.fullmatch(word):
            log.debug("skipping user word %r: characters jieba never keeps together", word)
            return
        if freq is not None and freq <= 0:
            # jieba treats freq 0 as "force split" in a process-global set: not what a user dict means.
            log.warning("skipping user word %r with frequency %s", word, freq)
            return
        ref = self._ref
        old = ref.FREQ.get(word, 0)
        freq = int(freq) if freq is not None else ref.suggest_freq(word, False)
        ref.add_word(word, freq, tag)
        if self._fast is not None:
            self._fast.add_word(word, freq, tag, old)

    # -- cutting ------------------------------------------------------------------------------------

    def reference_lcut(self, text: str | None) -> list[str]:
        """jieba's own ``lcut`` (precise mode, HMM on) with the same dictionary: the reference."""
        if not text:
            return []
        return self._ref.lcut(text)

    def lcut(self, text: str | None) -> list[str]:
        """Tokens of one text, identical to ``jieba.lcut(text)`` with the same dictionary."""
        if not text:
            return []
        if self._fast is not None:
            return self._fast.cut(text)
        return self._ref.lcut(text)

    def lcut_many(self, texts: Iterable[str | None]) -> list[list[str]]:
        """Tokens of many texts (batched through one rjieba call per ~200k characters)."""
        items = [t if isinstance(t, str) else "" for t in texts]
        if self._fast is None:
            return [self._ref.lcut(t) if t else [] for t in items]
        return self._fast.cut_many(items)

    def content_tokens(self, tokens: Iterable[str]) -> list[str]:
        """Content words (实词): drop stop words, punctuation/symbols, whitespace and pure numbers.

        Words of the domain dictionary (and the caller's user words) are kept even when a stop-word
        list contains them.
        """
        stop = self.stopwords
        domain = self.domain_words  # kept even when they look like numbers (12366)
        return [s for s in (t.strip() for t in tokens) if s in domain or (s and s not in stop and is_content_word(s))]

    def self_check(self, sentences: Iterable[str] | None = None) -> list[str]:
        """Sentences on which the fast backend differs from jieba (empty list = identical)."""
        if self._fast is None:
            return []
        sents = list(sentences) if sentences is not None else self_check_sentences(self.user_words)
        bad = []
        batch = self._fast.cut_many(sents)
        for s, b in zip(sents, batch, strict=True):
            ref = self._ref.lcut(s)
            if self._fast.cut(s) != ref or b != ref:
                bad.append(s)
        return bad

    # -- pickling (sklearn pipelines): rebuild the engines instead of pickling them -------------------

    def __getstate__(self) -> dict[str, Any]:
        return {"user_words": self.user_words, "backend": self.requested_backend}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["user_words"], state["backend"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"Tokenizer(user_words=<{len(self.user_words)} words>, backend={self.backend!r})"


# Reference numbers: a few letters and at least five digits (工单号 GD202610028164743, Z4101050012):
# they identify one record and became keywords of clues (信用修复,荷路,工单,GD202610028164743).
_RE_REFERENCE = re.compile(r"[A-Za-z]{1,4}[-_]?\d{5,}[A-Za-z0-9-]*")


def is_content_word(token: str) -> bool:
    """False for punctuation/symbols/whitespace-only tokens, pure numbers (3, 12.5%, 2026) and reference
    numbers (GD202610028164743)."""
    if _RE_NUMBER.fullmatch(token) or _RE_REFERENCE.fullmatch(token):
        return False
    return not all(unicodedata.category(ch)[0] in "PSZC" for ch in token)


@lru_cache(maxsize=8)
def _cached_tokenizer(user_words: tuple[str, ...], backend: str) -> Tokenizer:
    return Tokenizer(user_words, backend)


def get_tokenizer(user_words: Iterable[str] = (), backend: str = "auto") -> Tokenizer:
    """A process-wide shared :class:`Tokenizer` for this word list (building one costs ~1 s)."""
    return _cached_tokenizer(tuple(dict.fromkeys(str(w) for w in user_words)), backend)
