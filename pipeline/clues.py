"""Monthly problem-clue list (问题线索清单): group a month's negative feedback into concrete problems.

Pipeline of one month, all on pandas frames (no database here; the caller loads and stores):

1. :func:`select_candidates` — negative or complaint feedback from every source, every special
   supervisor report (特邀监督员反映), every mystery-shopper finding (暗访发现) and the open answers
   attached to low questionnaire scores (低分问卷意见).
2. :func:`build_clues` — per indicator area (指标领域), similar texts are grouped into problem clues
   (问题线索), each with a stable id, keywords and title, a representative description, counts,
   heat (热度), grade (分级), responsible unit (责任单位) and deadline (整改时限), linked to last
   month's clue when the same problem continues (反复出现).

Grouping method (general; the only hand-made domain knowledge is the concept lexicon in
config/clues.yaml, and a learned word space carries the wordings the lexicon does not know):

* Text vector, three blocks, each normalised on its own and weighted from config:
  - concepts (概念): the lexicon's 事项 (objects such as 营业执照/设立登记, 停电, 退税) and 问题类型
    (kinds of problem such as 办理时间长, 材料繁琐) found in the text. Paraphrases of one problem rarely
    share words but do share concepts. A kind of problem only counts when the text also names an
    object; the concept cosine is squared (sharing one concept of several counts little) and texts
    with only one or two common concepts get a short concept vector (``concept_ref``);
  - TF-IDF of the pipeline's content tokens (never re-tokenised here);
  - TF-IDF of character 2-/3-grams of the masked text (robust to segmentation and word variants).
  All IDFs are fitted on the month's candidates, so what is common this month counts less.
* Semantic vector (语义向量, :mod:`pipeline.clue_space`): SIF mean of PPMI-SVD word vectors learned
  on the committed seed corpus, the warehouse's feedback history (``history_texts``) and the month.
  Within an area, a pair's cosine is compared with all pairs of that area; only the part above the
  area's mean, in standard deviations, counts: similarity += ``semantic_weight`` · max(0, z). The
  concept lexicon is precise on the wordings it lists and blind to the others (pair AUC 0.99 vs
  0.64 on the fixtures); the learned space is the same on both (0.81), so it is what holds on
  wordings nobody wrote down (held-out set tests/data/clue_holdout.csv: mean F1 0.32 → 0.67).
  Optional (off by default): a pretrained sentence encoder (``grouping.encoder``, :mod:`nlp.encoder`)
  whose centred sentence vectors are joined to the word-space vectors (share ``encoder.mix``) before
  the cosine; its own ``semantic_weight`` and ``similarity_threshold`` then apply (the threshold in the
  areas that use the semantic block).
  Areas in ``semantic_skip_areas`` (Z, a remainder rather than a topic) are grouped lexically, and
  those in ``concept_skip_areas`` (Z) by words and characters alone: there the lexicon's objects are
  named in passing.
* Per area, average-linkage agglomerative clustering with a similarity threshold from config (two
  groups merge while the average similarity between their members is ≥ similarity_threshold), then
  k-means-like passes that move an item to the group it is most similar to on average. For very
  large areas (> exact_max_items) a leader pass on a sparse random projection first forms tight
  micro-groups (O(n·k)); average linkage then runs on the micro-groups' mean vectors.
* Linking to last month's clues and the members' ``similarity`` use the lexical/concept similarity.

Clue id (线索编号): ``{month}-{area}-{sha1(smallest member feedback_id)[:6]}`` — the same members give
the same id on every rebuild; when a rebuild's groups change slightly (late feedback arrived), pass
``existing_members`` and a group keeps the id of the clue that most of its old members belonged to.

Heat (热度, 0..100) = 100 · Σ weight·component, components in [0, 1] (weights in config/clues.yaml):
volume (source-weighted item count, log-scaled), distinct enterprises (log-scaled), negativity (mean
per item: 1.0 negative sentiment, 0.75 complaint/举报 or low questionnaire score, else 0.5), growth
over last month's linked clue, and weight of special-supervisor reports.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfTransformer, TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.random_projection import SparseRandomProjection

from nlp.encoder import SentenceEncoder, load_encoder
from pipeline import clue_space, workdays
from pipeline.clue_places import Places

PROJECT_ROOT = Path(__file__).resolve().parents[1]

SOURCE_ORDER = ("hotline", "questionnaire", "survey", "supervisor")
SOURCE_NAMES_ZH = {
    "hotline": "12345热线",
    "questionnaire": "企业问卷",
    "survey": "第三方测评(暗访)",
    "supervisor": "特邀监督员",
}

CLUE_COLUMNS = [
    "clue_id", "month", "area", "title", "description", "n_items", "n_entities", "n_sources",
    "n_streets", "sources", "first_seen", "last_seen", "examples", "heat", "grade",
    "responsible_unit", "deadline", "previous_clue_id", "recurring", "keywords",
    # extra, for explanation and the workbook
    "n_supervisor", "heat_components",
]
MEMBER_COLUMNS = [
    "clue_id", "feedback_id", "source", "source_record_id", "received_at", "area", "text", "similarity",
]


# --------------------------------------------------------------------------- configuration


def _config_dir() -> Path:
    # Same rule as pipeline/config.py: YINGSHANG_CONFIG_DIR, else the repository's config/.
    return Path(os.environ.get("YINGSHANG_CONFIG_DIR") or PROJECT_ROOT / "config")


@dataclass
class ClueConfig:
    """Settings of the clue list (config/clues.yaml) plus area names and lead units (config/areas.yaml)."""

    selection: dict[str, Any] = field(default_factory=dict)
    grouping: dict[str, Any] = field(default_factory=dict)
    concepts: dict[str, list[str]] = field(default_factory=dict)  # 概念词表 (事项): name -> variants
    issue_concepts: dict[str, list[str]] = field(default_factory=dict)  # 问题类型: name -> variants
    kinds: dict[str, list[str]] = field(default_factory=dict)  # conflict-only kinds (问题类别): name -> variants
    heat: dict[str, Any] = field(default_factory=dict)
    grading: list[dict[str, Any]] = field(default_factory=list)
    deadlines: dict[str, dict[str, Any]] = field(default_factory=dict)
    deadline_start: str = "month_end"
    deadline_not_before_issue: bool = True
    area_units: dict[str, str] = field(default_factory=dict)  # area code -> responsible unit
    area_names: dict[str, str] = field(default_factory=dict)  # area code -> 中文名
    area_order: list[str] = field(default_factory=list)
    unit_rules: list[dict[str, Any]] = field(default_factory=list)
    calendar: dict[str, Any] = field(default_factory=dict)
    # A pretrained sentence encoder (nlp/encoder.py) given directly, e.g. by a test; otherwise the one
    # of grouping.encoder.path is loaded on first use.
    encoder: SentenceEncoder | None = None

    def g(self, key: str, default: Any = None) -> Any:
        """A grouping setting."""
        return self.grouping.get(key, default)

    def sentence_encoder(self) -> SentenceEncoder | None:
        """The pretrained sentence encoder of the grouping (预训练句向量模型), or None (the default)."""
        if self.encoder is not None:
            return self.encoder
        enc = self.g("encoder") or {}
        return load_encoder(enc.get("path"), batch_size=int(enc.get("batch_size", 32)),
                            max_length=int(enc.get("max_length", 256)))


_DEFAULT_GROUPING: dict[str, Any] = {
    "similarity_threshold": 0.25, "concept_weight": 0.5, "concept_power": 2.0, "word_weight": 0.5, "char_ngram": [2, 3],
    "semantic_weight": 0.0, "semantic_dim": 150, "semantic_window": 2, "semantic_doc_weight": 0.3,
    "semantic_min_df": 2, "semantic_seed_corpus": True, "semantic_max_history": 50_000, "semantic_common": 1,
    "semantic_skip_areas": [], "concept_skip_areas": [], "idf_from_history": False,
    "refine_passes": 2, "exact_max_items": 2500, "leader_threshold": 0.6, "min_items": 2,
    "always_clue_sources": ["supervisor"], "link_threshold": 0.35,
    "cross_area_threshold": None, "cross_area_max_groups": 4000,
    "area_smoothing_threshold": None, "area_smoothing_min": 2, "area_smoothing_max_items": 4000, "description_chars": 160,
    "n_examples": 3, "n_keywords": 5, "title_keywords": 3, "title_stopwords": [],
    "place_weight": 0.0, "place_conflict_factor": 1.0, "place_hotspot_min": 5, "place_hotspot_ignore_areas": [],
    "place_reassign_areas": [], "place_road_suffixes": [], "place_prefixes": [],
    "encoder": {},
}
# Settings of grouping.encoder that replace the grouping's own while an encoder is in use.
_ENCODER_OVERRIDES = ("semantic_weight",)


def load_clue_config(path: str | Path | None = None, areas_path: str | Path | None = None) -> ClueConfig:
    """Read config/clues.yaml (and the lead units of config/areas.yaml) into a :class:`ClueConfig`."""
    path = Path(path) if path else _config_dir() / "clues.yaml"
    areas_path = Path(areas_path) if areas_path else path.parent / "areas.yaml"
    if not areas_path.exists():
        areas_path = _config_dir() / "areas.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    areas_raw = (yaml.safe_load(areas_path.read_text(encoding="utf-8")) or {}).get("areas") or []
    area_units = {str(a["code"]): str(a.get("lead_unit") or "") for a in areas_raw}
    area_units.update({str(k): str(v) for k, v in (raw.get("unit_overrides") or {}).items()})
    grouping = dict(_DEFAULT_GROUPING)
    grouping.update(raw.get("grouping") or {})
    grouping["encoder"] = _encoder_settings(grouping.get("encoder"), path.parent)
    use_encoder(grouping, grouping["encoder"]["path"])
    cfg = ClueConfig(
        selection=raw.get("selection") or {},
        grouping=grouping,
        concepts={str(k): [str(x) for x in (v or [])] for k, v in (raw.get("concepts") or {}).items()},
        issue_concepts={str(k): [str(x) for x in (v or [])] for k, v in (raw.get("issue_concepts") or {}).items()},
        kinds={str(k): [str(x) for x in (v or [])] for k, v in (raw.get("kinds") or {}).items()},
        heat=raw.get("heat") or {},
        grading=list(raw.get("grading") or [{"grade": "C"}]),
        deadlines={str(k): dict(v) for k, v in (raw.get("deadlines") or {}).items()},
        deadline_start=str(raw.get("deadline_start") or "month_end"),
        deadline_not_before_issue=bool(raw.get("deadline_not_before_issue", True)),
        area_units=area_units,
        area_names={str(a["code"]): str(a.get("name_zh") or a["code"]) for a in areas_raw},
        area_order=[str(a["code"]) for a in areas_raw],
        unit_rules=list(raw.get("unit_rules") or []),
        calendar=raw.get("calendar") or {},
    )
    unknown = [str(c) for c in cfg.grouping.get("kind_concepts") or () if str(c) not in {**cfg.concepts, **cfg.issue_concepts}]
    if unknown:
        raise ValueError(f"{path}: grouping.kind_concepts names concepts that are not defined: {', '.join(unknown)}")
    cal = cfg.calendar
    workdays.set_calendar_overrides(cal.get("extra_holidays") or (), cal.get("extra_workdays") or ())
    return cfg


def use_encoder(grouping: dict[str, Any], path: str | Path | None) -> None:
    """Set ``grouping.encoder.path`` (None: no encoder) and, with an encoder, its ``semantic_weight`` in
    place of the grouping's (its ``similarity_threshold`` applies where the semantic block does:
    :func:`_cluster_area`)."""
    grouping["encoder"] = {**(grouping.get("encoder") or {}), "path": str(path) if path else None}
    if path:
        grouping.update({k: grouping["encoder"][k] for k in _ENCODER_OVERRIDES if k in grouping["encoder"]})


def _encoder_settings(raw: Any, config_dir: Path) -> dict[str, Any]:
    """grouping.encoder with its path made absolute (a relative path is read from the config folder)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"grouping.encoder must be a mapping (path: ..., mix: ...), not {raw!r}")
    out = dict(raw)
    path = out.get("path")
    if path is not None and str(path).strip():
        p = Path(str(path)).expanduser()
        out["path"] = str(p if p.is_absolute() else (config_dir / p).resolve())
    else:
        out["path"] = None
    mix = float(out.get("mix", 0.5))
    if not 0.0 < mix <= 1.0:
        raise ValueError(f"grouping.encoder.mix must be in (0, 1], not {mix}")
    out["mix"] = mix
    return out


# --------------------------------------------------------------------------- selection


def _tokens_list(v: Any) -> list[str]:
    """Tokens as a list, whether stored as a list or as the warehouse's space-joined string."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return []
    if isinstance(v, str):
        return v.split()
    return [str(t) for t in v]


def _month_bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start = pd.Timestamp(f"{month}-01")
    return start, start + pd.offsets.MonthBegin(1)


def no_content(texts: pd.Series, selection: dict) -> pd.Series:
    """True where a text only records that the caller described nothing (无具体诉求: 来电人反映问题后挂断电话,
    未说明具体地点): it matches ``no_content_patterns`` and, with the matches and the framing words of
    ``no_content_filler`` removed, at most ``no_content_max_chars`` Chinese characters remain."""
    patterns = selection.get("no_content_patterns") or []
    if not patterns or texts.empty:
        return pd.Series(False, index=texts.index)
    rx = re.compile("|".join(f"(?:{p})" for p in patterns))
    filler = selection.get("no_content_filler") or []
    fill = re.compile("|".join(re.escape(w) for w in sorted(filler, key=len, reverse=True))) if filler else None
    limit = int(selection.get("no_content_max_chars", 2))

    def empty(t: str) -> bool:
        if not rx.search(t):
            return False
        rest = _NON_CJK.sub("", rx.sub("", t))
        return len(fill.sub("", rest) if fill else rest) <= limit

    return texts.astype(str).map(empty).astype(bool)


def select_candidates(feedback: pd.DataFrame, cfg: ClueConfig, month: str | None = None) -> pd.DataFrame:
    """The month's feedback that may become problem clues (线索候选), with a ``reason`` column.

    A row is a candidate if its text is long enough, it is not praise (表扬), and it is
    negative (sentiment), a complaint/举报, from an always-included source (监督员, 暗访),
    or a questionnaire open answer with ``score_100`` at or below the low-score threshold.
    With ``month``, rows received outside that month are dropped (rows without a time are kept).
    """
    sel = cfg.selection
    df = feedback.copy()
    for col, default in (("sentiment", None), ("request_type", None), ("score_100", np.nan),
                         ("entity_hash", None), ("street", None), ("area", "Z"), ("tokens", None),
                         ("source_record_id", None), ("received_at", pd.NaT)):
        if col not in df.columns:
            df[col] = default
    df["area"] = df["area"].where(df["area"].notna() & (df["area"].astype(str) != ""), "Z").astype(str)
    df["text"] = df["text"].fillna("").astype(str)
    df["tokens"] = df["tokens"].map(_tokens_list)
    df["received_at"] = pd.to_datetime(df["received_at"], errors="coerce")
    if month:
        start, end = _month_bounds(month)
        t = df["received_at"]
        df = df[t.isna() | ((t >= start) & (t < end))]

    neg = df["sentiment"].isin(sel.get("negative_labels", ["neg"]))
    complaint = df["request_type"].isin(sel.get("complaint_request_types", ["投诉", "举报"]))
    always = df["source"].isin(sel.get("always_sources", ["supervisor", "survey"]))
    score = pd.to_numeric(df["score_100"], errors="coerce")
    low = (df["source"] == "questionnaire") & score.notna() & (score <= float(sel.get("low_score_threshold", 60)))
    praise = df["request_type"].isin(sel.get("exclude_request_types", ["表扬"]))
    long_enough = df["text"].str.strip().str.len() >= int(sel.get("min_text_chars", 4))
    keep = (neg | complaint | always | low) & ~praise & long_enough & ~no_content(df["text"], sel)

    out = df[keep].copy()
    reason = np.select(
        [always[keep], neg[keep], complaint[keep], low[keep]],
        [out["source"].astype(str), "negative", "complaint", "low_score"],
        default="other",
    )
    out["reason"] = reason
    out = out.drop_duplicates("feedback_id").sort_values("feedback_id", kind="stable")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- text space

_NON_CJK = re.compile(r"[^\u4e00-\u9fff]+")


class _TextSpace:
    """One month's text vectors: concept tags ⊕ word-token TF-IDF ⊕ char n-gram TF-IDF (sparse ``x``)
    and the semantic vectors of :mod:`pipeline.clue_space` (dense ``z``, or None when off).

    Each block of ``x`` is L2-normalised on its own and scaled, so the dot product of two vectors is
    ``cw·cos(concepts) + (1−cw)·[ww·cos(words) + (1−ww)·cos(chars)]``; a text without any concept
    simply gets no concept credit. :meth:`semantic_bonus` adds the area-relative semantic part.
    """

    def __init__(self, cfg: ClueConfig):
        self.cfg = cfg
        self.concept_weight = float(cfg.g("concept_weight", 0.0)) if (cfg.concepts or cfg.issue_concepts) else 0.0
        self.word_weight = float(cfg.g("word_weight"))
        self.semantic_weight = float(cfg.g("semantic_weight", 0.0))
        self.words: clue_space.WordSpace | None = None
        # Optional pretrained sentence encoder (grouping.encoder): part of the semantic block.
        self.encoder = cfg.sentence_encoder() if self.semantic_weight > 0 else None
        self.encoder_mix = float((cfg.g("encoder") or {}).get("mix", 0.5))
        self._encoder_mean: np.ndarray | None = None
        self.concept_power = float(cfg.g("concept_power", 2.0))
        self.concept_tfidf: TfidfTransformer | None = None
        self.concept_floor = 1.0
        self.boilerplate: frozenset[str] = frozenset()
        lexicon = {**cfg.concepts, **cfg.issue_concepts}
        # Plain words of the lexicon: preferred as keywords (domain words read better in a title).
        self.lexicon_words = {str(v) for vs in lexicon.values() for v in vs if not str(v).startswith("re:")}
        self.concept_names = list(lexicon)
        self._concept_res = [_compile_variants(v) for v in lexicon.values()]
        self._is_issue = np.array([n in cfg.issue_concepts and n not in cfg.concepts for n in lexicon], dtype=bool)
        self.issue_needs_object = bool(cfg.g("issue_needs_object", True))
        kinds = {str(c) for c in cfg.g("kind_concepts") or ()}
        self._is_kind = np.array([n in kinds for n in lexicon], dtype=bool)
        # Kinds that only take part in the conflict rule (config ``kinds:``): they are kept as the
        # last columns of the vectors, outside every similarity block.
        self.extra_kind_names = list(cfg.kinds)
        self._extra_kind_res = [_compile_variants(v) for v in cfg.kinds.values()]
        # concept_precedence: {A: [B, ...]}: a text naming A is not counted as naming B (B is the earlier
        # stage of A's story: money already at the court was collected by an enforcement).
        index = {n: i for i, n in enumerate(self.concept_names)}
        self._precedence = [(index[a], [index[b] for b in bs if b in index])
                            for a, bs in (cfg.g("concept_precedence") or {}).items() if a in index]

    def concepts_of(self, text: str) -> list[str]:
        """Names of the lexicon concepts (概念) that occur in ``text``."""
        return [n for n, rx in zip(self.concept_names, self._concept_res, strict=True) if rx.search(text)]

    def _concept_counts(self, texts: list[str]) -> sp.csr_matrix:
        m = _presence(texts, self._concept_res)
        if self._precedence:
            m = m.tolil()
            for a, bs in self._precedence:
                rows = np.flatnonzero(m[:, a].toarray().ravel() > 0)
                for b in bs:
                    m[rows, b] = 0
            m = sp.csr_matrix(m)
            m.eliminate_zeros()
        if self.issue_needs_object and self._is_issue.any():
            # A kind of problem without any object ('太慢了') carries no concept evidence.
            has_object = np.asarray(m[:, ~self._is_issue].sum(axis=1)).ravel() > 0
            m = sp.diags(has_object.astype(float)) @ m
        return sp.csr_matrix(m)

    @staticmethod
    def _words(toks: list[str]) -> list[str]:
        return [t for t in toks if t.strip()]

    def _learn_boilerplate(self, texts: list[str], areas: list[str] | None) -> None:
        """Clauses (分句) that recur verbatim in several areas are framing, not content.

        '来电人称', '这个问题已经反映过3次了，始终没有结果', '请相关单位核实并反馈' appear in complaints
        about anything; a problem's own sentence, even when many people repeat it, stays in its area.
        A clause counts as boilerplate when it occurs in at least ``boilerplate_min_areas`` areas and
        ``boilerplate_min_texts`` texts (digits are ignored, so '3次' and '6次' are the same clause).
        Areas in ``boilerplate_ignore_areas`` (Z) do not count: misread members of one problem land
        there, and their shared sentence must not pass for framing.
        """
        self.boilerplate: frozenset[str] = frozenset()
        min_areas = int(self.cfg.g("boilerplate_min_areas", 3))
        if areas is None or min_areas <= 0:
            return
        min_texts = int(self.cfg.g("boilerplate_min_texts", 5))
        seen_areas: dict[str, set[str]] = {}
        seen_texts: Counter[str] = Counter()
        ignore = {str(a) for a in self.cfg.g("boilerplate_ignore_areas") or ()}
        for text, area in zip(texts, areas, strict=True):
            clauses = {c for c in map(_clause_key, _CLAUSE_SPLIT.split(text)) if len(c) >= 2}
            seen_texts.update(clauses)
            for c in clauses:
                s = seen_areas.setdefault(c, set())
                if area not in ignore:
                    s.add(area)
        self.boilerplate = frozenset(c for c, a in seen_areas.items()
                                     if len(a) >= min_areas and seen_texts[c] >= min_texts)

    def content(self, text: str) -> str:
        """``text`` without its boilerplate clauses (what the concept and char blocks look at)."""
        if not self.boilerplate:
            return text
        parts = [c for c in _CLAUSE_SPLIT.split(text) if _clause_key(c) not in self.boilerplate]
        return "，".join(p for p in parts if p.strip())

    def fit_transform(self, texts: list[str], tokens: list[list[str]], areas: list[str] | None = None,
                      history_tokens: list[list[str]] | None = None) -> tuple[sp.csr_matrix, np.ndarray | None]:
        self._learn_boilerplate(texts, areas)
        if self.boilerplate:
            texts = [self.content(t) for t in texts]
            # Keep only the tokens that still occur in the content (the tokens are never re-cut).
            tokens = [[w for w in toks if w in t] for toks, t in zip(tokens, texts, strict=True)]
        self.words, z = None, None
        if self.semantic_weight > 0:
            g = self.cfg.g
            self.words = clue_space.fit_word_space(
                tokens, history_tokens or (), dim=int(g("semantic_dim")), window=int(g("semantic_window")),
                doc_weight=float(g("semantic_doc_weight")), min_df=int(g("semantic_min_df")),
                use_seed=bool(g("semantic_seed_corpus")), n_common=int(g("semantic_common", 1)))
            z = self._with_encoder(self.words.embed(tokens), texts, fit=True)
        self.word_vec = TfidfVectorizer(analyzer=self._words, sublinear_tf=True)
        lo, hi = self.cfg.g("char_ngram")
        self.char_vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(int(lo), int(hi)), sublinear_tf=True,
                                        lowercase=False)
        tok_docs = [t if t else ["<empty>"] for t in tokens]
        char_docs = [_NON_CJK.sub(" ", t) or "空" for t in texts]
        if self.cfg.g("idf_from_history") and history_tokens:
            # Word and character weights (IDF) from the history and the month: in a month that one
            # problem dominates, its own words are common *this month* and would count little.
            hist = [list(h) for h in history_tokens if len(h)]
            self.word_vec.fit(hist + tok_docs)
            self.char_vec.fit([_NON_CJK.sub(" ", "".join(h)) or "空" for h in hist] + char_docs)
            xw, xc = self.word_vec.transform(tok_docs), self.char_vec.transform(char_docs)
        else:
            xw = self.word_vec.fit_transform(tok_docs)
            xc = self.char_vec.fit_transform(char_docs)
        self.idf_ = dict(zip(self.word_vec.get_feature_names_out(), self.word_vec.idf_, strict=True))
        self.concept_tfidf = None
        xk = None
        if self.concept_weight > 0:
            # IDF over the month: a concept every text has (e.g. 电力 in a month of outages) counts less.
            counts = self._concept_counts(texts)
            self.concept_tfidf = TfidfTransformer(norm=None, sublinear_tf=True).fit(counts)
            raw = self.concept_tfidf.transform(counts)
            nz = raw.data[raw.data > 0]
            typical = float(np.median(nz)) if len(nz) else 1.0
            self.concept_floor = math.sqrt(float(self.cfg.g("concept_ref", 2.0))) * typical
            xk = self._concept_scale(raw)
        x = self._with_kinds(self._combine(xk, xw, xc), texts)
        return x, z

    def _concept_scale(self, raw: sp.spmatrix) -> sp.csr_matrix:
        """Divide each concept row by max(its norm, the floor): a text with only one or two common
        concepts has a short vector, so two such texts are not 'identical' in concept space."""
        raw = sp.csr_matrix(raw)
        norms = np.sqrt(np.asarray(raw.multiply(raw).sum(axis=1)).ravel())
        return sp.diags(1.0 / np.maximum(norms, self.concept_floor)) @ raw

    def _combine(self, xk: sp.spmatrix | None, xw: sp.spmatrix, xc: sp.spmatrix) -> sp.csr_matrix:
        cw, ww = self.concept_weight, self.word_weight
        blocks = [math.sqrt((1 - cw) * ww) * normalize(xw), math.sqrt((1 - cw) * (1 - ww)) * normalize(xc)]
        if xk is not None:
            blocks.insert(0, math.sqrt(cw) * xk)  # already scaled to norm <= 1 by _concept_scale
        return sp.hstack(blocks).tocsr()

    def transform(self, texts: list[str], tokens: list[list[str]] | None = None) -> tuple[sp.csr_matrix, np.ndarray | None]:
        """Vectors for texts outside the fitted month (last month's clues); without tokens, the
        fitted vocabulary is looked up in the text (no re-tokenisation)."""
        texts = [self.content(t) for t in texts]
        if tokens is None:
            vocab = [t for t in self.word_vec.get_feature_names_out() if len(t) >= 2]
            tokens = [[t for t in vocab if t in txt] for txt in texts]
        else:
            tokens = [[w for w in toks if w in t] for toks, t in zip(tokens, texts, strict=True)]
        xw = self.word_vec.transform([t if t else ["<empty>"] for t in tokens])
        xc = self.char_vec.transform([_NON_CJK.sub(" ", t) or "空" for t in texts])
        xk = None
        if self.concept_tfidf is not None:
            xk = self._concept_scale(self.concept_tfidf.transform(self._concept_counts(texts)))
        x = self._with_kinds(self._combine(xk, xw, xc), texts)
        z = self._with_encoder(self.words.embed(tokens), texts) if self.words is not None else None
        return x, z

    def _with_encoder(self, z: np.ndarray, texts: list[str], fit: bool = False) -> np.ndarray:
        """The word-space vectors joined with the pretrained encoder's, when one is configured.

        The encoder's vectors are centred on the month's mean (``fit``; reused for last month's clues):
        sentence encoders put all texts of one language in a narrow cone (cosines 0.6-0.9 between
        unrelated complaints), and only the direction away from the mean tells problems apart. Both
        parts are L2-normalised and weighted sqrt(1 - mix) and sqrt(mix), so the cosine of the joint
        vectors is (1 - mix) * cos(word space) + mix * cos(encoder).
        """
        if self.encoder is None:
            return z
        e = np.asarray(self.encoder.encode(texts), dtype=np.float64)
        if fit or self._encoder_mean is None:
            self._encoder_mean = e.mean(axis=0) if len(e) else np.zeros(e.shape[1])
        e = normalize(e - self._encoder_mean)
        return np.hstack([math.sqrt(1.0 - self.encoder_mix) * normalize(z), math.sqrt(self.encoder_mix) * e])

    def semantic_bonus(self, z: np.ndarray | None, z2: np.ndarray | None = None,
                       stats: tuple[float, float] | None = None) -> np.ndarray | float:
        """``semantic_weight · max(0, (cos − μ) / σ)``: how much closer two texts are than two texts of
        the same area usually are (μ, σ over all pairs of the area, :func:`clue_space.pair_stats`)."""
        if z is None or self.words is None or self.semantic_weight <= 0:
            return 0.0
        z2 = z if z2 is None else z2
        mu, sd = stats if stats is not None else clue_space.pair_stats(z)
        return self.semantic_weight * np.clip((z @ z2.T - mu) / sd, 0.0, None)

    def _with_kinds(self, x: sp.csr_matrix, texts: list[str]) -> sp.csr_matrix:
        """``x`` with one presence column per conflict-only kind appended (not part of any similarity)."""
        if not self.extra_kind_names:
            return x
        return sp.hstack([x, _presence(texts, self._extra_kind_res)]).tocsr()

    def lexical(self, x: sp.csr_matrix) -> sp.csr_matrix:
        """The similarity blocks of ``x`` (without the conflict-only kind columns)."""
        n = len(self.extra_kind_names)
        return x[:, : x.shape[1] - n] if n else x

    @property
    def n_concepts(self) -> int:
        return len(self.concept_names) if self.concept_tfidf is not None else 0

    def normalize_blocks(self, x: sp.csr_matrix) -> sp.csr_matrix:
        """Re-normalise each block of (mean) vectors to the block's weight, e.g. for centroids."""
        k = self.n_concepts
        cw, ww = self.concept_weight, self.word_weight
        nw = len(self.word_vec.vocabulary_)
        end = self.lexical(x).shape[1]
        parts = [(0, k, cw), (k, k + nw, (1 - cw) * ww), (k + nw, end, (1 - cw) * (1 - ww))]
        blocks = [math.sqrt(w) * normalize(x[:, a:b]) for a, b, w in parts if b > a]
        if end < x.shape[1]:
            blocks.append(x[:, end:])  # kind presence (a mean > 0: some member names it)
        return sp.hstack(blocks).tocsr()

    def conflict(self, x: sp.csr_matrix, x2: sp.csr_matrix | None = None, *, objects: bool = True) -> np.ndarray:
        """Pairs that name different things: both texts name objects (事项) and share none (电 vs 水),
        or both name a specific kind of problem (``kind_concepts``: 停电 vs 电费算错, 排队 vs 态度; and
        the conflict-only ``kinds:``) and share none. Shared wording ('报装拖了两个月') must not make such
        a pair one problem. ``objects=False``: the kinds only."""
        x2 = x if x2 is None else x2
        k = self.n_concepts
        out = np.zeros((x.shape[0], x2.shape[0]), dtype=bool)
        end = self.lexical(x).shape[1]
        pairs = []
        if objects and k and (~self._is_issue).any():
            pairs.append((x[:, :k][:, ~self._is_issue], x2[:, :k][:, ~self._is_issue]))
        if (k and self._is_kind.any()) or end < x.shape[1]:
            # Without the concept block (concept_weight 0) only the conflict-only kinds are left.
            ka = [x[:, :k][:, self._is_kind]] if k else []
            kb = [x2[:, :k][:, self._is_kind]] if k else []
            pairs.append((sp.hstack([*ka, x[:, end:]]).tocsr(), sp.hstack([*kb, x2[:, end:]]).tocsr()))
        for a, b in pairs:
            a, b = abs(a), abs(b)
            has_a = np.asarray(a.sum(axis=1)).ravel() > 0
            has_b = np.asarray(b.sum(axis=1)).ravel() > 0
            out |= has_a[:, None] & has_b[None, :] & ~((a @ b.T).toarray() > 0)
        return out

    def sim(self, x: sp.csr_matrix, x2: sp.csr_matrix | None = None, *, words_only: bool = False) -> np.ndarray:
        """Lexical similarity matrix: cw·cos(concepts)^p + word and char part, see the class docstring.

        The concept cosine is raised to ``concept_power`` (default 2) so that sharing one concept
        out of several counts much less than sharing all of them: 'the service hall' alone does not
        make a parking complaint the same problem as a complaint about the staff's attitude.
        ``words_only``: the word and character blocks alone, scaled to the whole range (no concepts,
        no conflicts).
        """
        x2 = x if x2 is None else x2
        k = self.n_concepts
        lx, lx2 = self.lexical(x), self.lexical(x2)
        if k and words_only:
            # The words and characters alone, as the whole similarity (see concept_skip_areas).
            return (lx[:, k:] @ lx2[:, k:].T).toarray() / max(1.0 - self.concept_weight, 1e-9)
        if k:
            cw = self.concept_weight
            ck = (x[:, :k] @ x2[:, :k].T).toarray() / cw
            s = cw * np.power(np.clip(ck, 0.0, 1.0), self.concept_power) + (lx[:, k:] @ lx2[:, k:].T).toarray()
        else:
            s = (lx @ lx2.T).toarray()
        factor = float(self.cfg.g("object_conflict_factor", 1.0))
        if factor < 1.0:
            s = np.where(self.conflict(x, x2), s * factor, s)
        return s


_CLAUSE_SPLIT = re.compile(r"[，。！？；：,.!?;:\n\r\t]+")
_DIGITS = re.compile(r"[0-9０-９一二两三四五六七八九十]+")


def _clause_key(clause: str) -> str:
    return _DIGITS.sub("#", clause.strip())


def _presence(texts: list[str], patterns: list[re.Pattern[str]]) -> sp.csr_matrix:
    """texts × patterns matrix: 1 where the pattern occurs in the text."""
    rows, cols = [], []
    for i, t in enumerate(texts):
        for j, rx in enumerate(patterns):
            if rx.search(t):
                rows.append(i)
                cols.append(j)
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(patterns)))


def _compile_variants(variants: Iterable[str]) -> re.Pattern[str]:
    parts = []
    for v in variants:
        v = str(v)
        parts.append(v[3:] if v.startswith("re:") else re.escape(v))
    return re.compile("|".join(f"(?:{p})" for p in parts) or "(?!)")


# --------------------------------------------------------------------------- clustering


def _agglomerate(s: np.ndarray, threshold: float) -> np.ndarray:
    n = s.shape[0]
    if n == 1:
        return np.zeros(1, dtype=int)
    d = np.clip(1.0 - s, 0.0, None)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    model = AgglomerativeClustering(
        n_clusters=None, metric="precomputed", linkage="average", distance_threshold=1.0 - threshold
    )
    return model.fit(d).labels_


def _refine(s: np.ndarray, labels: np.ndarray, threshold: float, passes: int) -> np.ndarray:
    """Move items to the group they are, on average, most similar to (k-means-like passes).

    Average linkage merges greedily; an item merged early can end up closer to another group. An
    item moves when its mean similarity to another group (of ≥ 2 items) beats that to its own group
    (itself excluded) and reaches the threshold; an item below the threshold everywhere stays alone.
    """
    labels = labels.copy()
    n = len(labels)
    if n < 3:
        return labels
    for _ in range(max(passes, 0)):
        uniq, inv = np.unique(labels, return_inverse=True)
        onehot = np.zeros((n, len(uniq)))
        onehot[np.arange(n), inv] = 1.0
        sizes = onehot.sum(axis=0)
        sums = s @ onehot  # sum of similarities of each item to each group
        own = sums[np.arange(n), inv] - np.diag(s)
        own_size = sizes[inv] - 1
        mean = sums / np.maximum(sizes, 1)
        mean[np.arange(n), inv] = np.where(own_size > 0, own / np.maximum(own_size, 1), -np.inf)
        # An item may only join a group that has at least one other member.
        mean[:, sizes < 1] = -np.inf
        best = np.argmax(mean, axis=1)
        best_val = mean[np.arange(n), best]
        new = np.where(best_val >= threshold, uniq[best], -1 - np.arange(n))
        if np.array_equal(new, labels):
            break
        labels = new
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def _leader(z: np.ndarray, threshold: float) -> np.ndarray:
    """One pass of leader clustering (O(n·k)): join the group whose mean is most similar, else lead a new one."""
    n, d = z.shape
    labels = np.empty(n, dtype=int)
    sums = np.zeros((max(16, n // 4), d))
    counts = np.zeros(sums.shape[0])
    k = 0
    for i in range(n):
        if k:
            sims = sums[:k] @ z[i] / counts[:k]
            j = int(np.argmax(sims))
            if sims[j] >= threshold:
                labels[i] = j
                sums[j] += z[i]
                counts[j] += 1
                continue
        if k == sums.shape[0]:
            sums = np.vstack([sums, np.zeros_like(sums)])
            counts = np.concatenate([counts, np.zeros_like(counts)])
        labels[i], sums[k], counts[k] = k, z[i], 1
        k += 1
    return labels


def _cluster_area(space: _TextSpace, x: sp.csr_matrix, z: np.ndarray | None, cfg: ClueConfig,
                  places: Places | None = None, *, words_only: bool = False) -> np.ndarray:
    """Cluster labels (0..k-1) for one area's items (``places``: theirs, see :mod:`pipeline.clue_places`)."""
    n = x.shape[0]
    t = float(cfg.g("similarity_threshold"))
    if z is not None and space.encoder is not None:
        # The best threshold rises with the semantic bonus; areas grouped without the semantic block
        # (semantic_skip_areas: Z) keep the lexical one (with the encoder's, real letters in Z split:
        # benchmarks/clue_real.py 0.626 -> 0.573).
        t = float((cfg.g("encoder") or {}).get("similarity_threshold", t))
    stats = clue_space.pair_stats(z) if z is not None else None  # the area's background, all items
    if n <= int(cfg.g("exact_max_items")) or n < 3:
        bonus = space.semantic_bonus(z, None, stats)
        if cfg.g("kind_conflict_semantic") and z is not None:
            # Different kinds of problem (or debtors) stay apart however close the word space puts them.
            bonus = np.where(space.conflict(x, objects=False), bonus * float(cfg.g("object_conflict_factor", 1.0)), bonus)
        s = space.sim(x, words_only=words_only) + bonus
        if places is not None:
            s = places.adjust(s)
        return _refine(s, _agglomerate(s, t), t, int(cfg.g("refine_passes", 2)))
    # A dense low-dimensional view of this area's lexical vectors for the leader pass only: a sparse
    # random projection keeps dot products within a few hundredths (Johnson–Lindenstrauss) and,
    # unlike an SVD, costs one sparse product. The leader threshold is high, so micro-groups are
    # near-duplicates; the semantic part joins in at the group level below.
    proj = SparseRandomProjection(n_components=256, dense_output=True, random_state=0)
    emb = normalize(np.asarray(proj.fit_transform(space.lexical(x))))
    micro = _leader(emb, max(t, float(cfg.g("leader_threshold"))))
    k = int(micro.max()) + 1
    m = sp.csr_matrix((np.ones(n), (micro, np.arange(n))), shape=(k, n))
    m = sp.diags(1.0 / np.asarray(m.sum(axis=1)).ravel()) @ m  # rows: membership / size → group means
    xg = (m @ x).tocsr()
    # Dot products of group means are mean pairwise similarities (the linear parts exactly).
    zg = np.asarray(m @ z) if z is not None else None
    sg = space.sim(xg, words_only=words_only) + space.semantic_bonus(zg, None, stats)
    top = _agglomerate(places.adjust(sg, m) if places is not None else sg, t)
    return top[micro]


def _smooth_areas(space: _TextSpace, x: sp.csr_matrix, areas: np.ndarray, cfg: ClueConfig) -> np.ndarray:
    """Areas for grouping: an item whose close neighbours (lexical similarity >= ``area_smoothing_threshold``)
    mostly carry another area is grouped in that area. Near-duplicates of one complaint are about one
    area, so the neighbours outvote a single misread; the item's own label counts as one vote."""
    t = cfg.g("area_smoothing_threshold")
    n = len(areas)
    if t is None or n < 3 or n > int(cfg.g("area_smoothing_max_items")):
        return areas
    s = space.sim(x)
    np.fill_diagonal(s, 0.0)
    close = s >= float(t)
    out = areas.copy()
    for i in np.flatnonzero(close.sum(axis=1) >= int(cfg.g("area_smoothing_min", 2))):
        votes = Counter({areas[i]: 1.0})
        for j in np.flatnonzero(close[i]):
            votes[areas[j]] += 1.0
        best = max(votes, key=lambda a: (votes[a], a == areas[i]))
        if best != areas[i] and votes[best] > 0.5 * sum(votes.values()):
            out[i] = best
    return out


def _merge_across_areas(space: _TextSpace, x: sp.csr_matrix, z: np.ndarray | None, item_areas: np.ndarray,
                        groups: list[tuple[str, np.ndarray]], cfg: ClueConfig,
                        area_rank: dict[str, int], places: Places | None = None) -> list[tuple[str, np.ndarray]]:
    """Join groups of different areas that describe one problem (跨领域归并); the clue's area is its
    members' majority area.

    Grouping runs per area, so a complaint the classifier put in the wrong area (a 停电 letter read as
    其他, a 不动产权证 complaint read as Z) could never join its problem's clue. Here the per-area
    groups (singletons included) are merged by size-weighted average linkage (UPGMA, the same
    criterion as within an area: the mean similarity over all pairs of members) while the best pair
    reaches ``cross_area_threshold``. The first pass has decided which groups of one area belong
    together, so a merge always joins a per-area group to a group (or merged group) whose majority is
    another area: misread complaints join their problem, but a stray text of another area cannot
    bridge two groups the first pass kept apart. Off when ``cross_area_threshold`` is unset or the month has more than
    ``cross_area_max_groups`` groups (the group×group matrix is kept in memory).
    """
    t = cfg.g("cross_area_threshold")
    n = len(groups)
    if t is None or n < 2 or n > int(cfg.g("cross_area_max_groups")) or len({a for a, _ in groups}) < 2:
        return groups
    t = float(t)
    sizes = np.array([len(r) for _, r in groups], dtype=float)
    m = sp.csr_matrix((np.concatenate([np.full(len(r), 1.0 / len(r)) for _, r in groups]),
                       (np.concatenate([np.full(len(r), i) for i, (_, r) in enumerate(groups)]),
                        np.concatenate([r for _, r in groups]))), shape=(n, x.shape[0]))
    s = space.sim((m @ x).tocsr())  # mean pairwise similarity of the members (linear parts exactly)
    if z is not None and space.semantic_weight > 0:
        # The semantic part is relative to an area's background (how much closer than two texts of the
        # area usually are); a pair of groups is judged against the stricter (higher-mean) background
        # of its two areas, and areas clustered without it (Z) borrow the other area's.
        skip = {str(a) for a in cfg.g("semantic_skip_areas") or ()}
        stats = {a: clue_space.pair_stats(z[item_areas == a]) for a in {a for a, _ in groups} if a not in skip}
        zg = np.asarray(m @ z)
        garea = [a for a, _ in groups]
        mu = np.array([stats[a][0] if a in stats else -np.inf for a in garea])
        sd = np.array([stats[a][1] if a in stats else 0.0 for a in garea])
        pick = mu[:, None] >= mu[None, :]
        mu2 = np.where(pick, mu[:, None], mu[None, :])
        sd2 = np.where(pick, sd[:, None], sd[None, :])
        ok = np.isfinite(mu2)
        cos = zg @ zg.T
        s = s + np.where(ok, space.semantic_weight * np.clip((cos - np.where(ok, mu2, 0.0)) /
                                                             np.where(ok, sd2, 1.0), 0.0, None), 0.0)
    if places is not None:
        s = places.adjust(s, m)
    # pure[k]: cluster k is still one per-area group, of area code[k]; maj[k]: majority area code.
    codes = {a: i for i, a in enumerate(sorted({a for a, _ in groups}, key=lambda a: (a == "Z", a)))}
    code = np.array([codes[a] for a, _ in groups])
    maj = code.copy()
    pure = np.ones(n, dtype=bool)
    votes: list[Counter[int]] = [Counter({int(c): int(w)}) for c, w in zip(code, sizes, strict=True)]
    members: list[list[int]] = [[i] for i in range(n)]
    alive = np.ones(n, dtype=bool)
    raw = s.astype(float)  # mean similarity between clusters, kept up to date (Lance–Williams, UPGMA)
    allowed = (code[:, None] != code[None, :])
    small = cfg.g("cross_area_max_smaller")
    zcode = codes.get("Z", -1)
    if small is not None:
        allowed &= ((np.minimum(sizes[:, None], sizes[None, :]) <= float(small))
                    | (code[:, None] == zcode) | (code[None, :] == zcode))
    np.fill_diagonal(allowed, False)
    s = np.where(allowed, raw, -np.inf)
    while True:
        flat = int(np.argmax(s))
        i, j = divmod(flat, n)
        if not np.isfinite(s[i, j]) or s[i, j] < t:
            break
        if pure[i] and not pure[j]:
            i, j = j, i  # keep the merged cluster's row in i
        wi, wj = sizes[i], sizes[j]
        row = (wi * raw[i] + wj * raw[j]) / (wi + wj)
        sizes[i] = wi + wj
        pure[i] = False
        votes[i].update(votes[j])
        maj[i] = min(votes[i], key=lambda c: (-votes[i][c], c))  # ties: the first area (Z last)
        members[i].extend(members[j])
        alive[j] = False
        raw[i, :] = row
        raw[:, i] = row
        ok = alive & pure & (code != maj[i])
        if small is not None:
            ok &= (np.minimum(sizes, sizes[i]) <= float(small)) | (code == zcode) | (maj[i] == zcode)
        ok[i] = False
        s[j, :] = -np.inf
        s[:, j] = -np.inf
        s[i, :] = np.where(ok, row, -np.inf)
        s[:, i] = s[i, :]
    out: list[tuple[str, np.ndarray]] = []
    for i in np.flatnonzero(alive):
        rows = np.sort(np.concatenate([groups[g][1] for g in members[i]]))
        votes = Counter(item_areas[rows].tolist())
        area = min(votes, key=lambda a: (-votes[a], a == "Z", area_rank.get(a, 99), a))
        out.append((area, rows))
    return out


# --------------------------------------------------------------------------- clue attributes


def _short_hash(s: str, n: int = 6) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()[:n]


def item_negativity(df: pd.DataFrame, cfg: ClueConfig) -> pd.Series:
    """Per-item negativity for the heat score: 1.0 negative sentiment; 0.75 complaint/举报 or a low
    questionnaire score; 0.5 otherwise (e.g. a neutral-sounding supervisor report)."""
    sel = cfg.selection
    neg = df.get("sentiment", pd.Series(None, index=df.index)).isin(sel.get("negative_labels", ["neg"]))
    complaint = df.get("request_type", pd.Series(None, index=df.index)).isin(
        sel.get("complaint_request_types", ["投诉", "举报"]))
    score = pd.to_numeric(df.get("score_100", pd.Series(np.nan, index=df.index)), errors="coerce")
    low = score.notna() & (score <= float(sel.get("low_score_threshold", 60)))
    return pd.Series(np.select([neg, complaint | low], [1.0, 0.75], default=0.5), index=df.index)


def heat_score(n_weighted: float, n_entities: int, negativity: float, n_items: int, n_prev: int | None,
               n_supervisor: int, cfg: ClueConfig) -> tuple[float, dict[str, float]]:
    """Heat (热度, 0..100) and its components; see the module docstring and config/clues.yaml."""
    h = cfg.heat
    w = h.get("weights") or {"volume": 0.4, "entities": 0.2, "negativity": 0.1, "growth": 0.15, "supervisor": 0.15}
    prev = n_prev or 0
    comp = {
        "volume": min(1.0, math.log1p(n_weighted) / math.log1p(float(h.get("volume_ref", 50)))),
        "entities": min(1.0, math.log1p(n_entities) / math.log1p(float(h.get("entity_ref", 20)))),
        "negativity": float(negativity),
        "growth": float(np.clip((n_items - prev) / max(prev, float(h.get("growth_floor", 5))), 0.0, 1.0)),
        "supervisor": min(1.0, n_supervisor / float(h.get("supervisor_ref", 2))),
    }
    heat = 100.0 * sum(float(w.get(k, 0.0)) * v for k, v in comp.items())
    return round(heat, 1), {k: round(v, 3) for k, v in comp.items()}


def grade_for(heat: float, sources: Iterable[str], recurring: bool, n_items: int, cfg: ClueConfig) -> str:
    """Grade (分级) by the first matching rule of config ``grading``."""
    srcs = set(sources)
    for rule in cfg.grading:
        if "min_heat" in rule and heat < float(rule["min_heat"]):
            continue
        if "min_items" in rule and n_items < int(rule["min_items"]):
            continue
        if "sources_any" in rule and not srcs & set(rule["sources_any"]):
            continue
        if "recurring" in rule and bool(rule["recurring"]) != bool(recurring):
            continue
        return str(rule["grade"])
    return str(cfg.grading[-1]["grade"]) if cfg.grading else "C"


def responsible_unit_for(area: str, texts: list[str], cfg: ClueConfig) -> str:
    """责任单位: the first unit rule of the area whose keywords occur in ≥ min_share of the texts,
    else the configured override / the area's lead unit (牵头单位)."""
    for rule in cfg.unit_rules:
        if str(rule.get("area")) != area or not texts:
            continue
        kws = [str(k) for k in rule.get("keywords") or ()]
        share = sum(any(k in t for k in kws) for t in texts) / len(texts)
        if share >= float(rule.get("min_share", 0.5)):
            return str(rule["unit"])
    return cfg.area_units.get(area) or cfg.area_units.get("Z") or ""


def clue_deadline(grade: str, month: str, cfg: ClueConfig) -> date:
    """整改时限 of a clue of ``month``: counted from the month's last day (config ``deadline_start``)."""
    start, end = _month_bounds(month)
    if cfg.deadline_start == "month_end":
        base = (end - pd.Timedelta(days=1)).date()
    elif cfg.deadline_start == "next_month_start":
        base = end.date()
    else:
        raise ValueError(f"unknown deadline_start {cfg.deadline_start!r} (use month_end or next_month_start)")
    return workdays.deadline_for(grade, base, cfg)


def pick_examples(texts: Iterable[str], n: int) -> list[str]:
    """The first ``n`` texts (典型案例) that differ in their Chinese characters: a clue's copies of one
    complaint, differing only in numbers or masked data, show once."""
    examples: list[str] = []
    seen: set[str] = set()
    for t in texts:
        key = _NON_CJK.sub("", t)
        if key not in seen:
            seen.add(key)
            examples.append(t)
        if len(examples) >= n:
            break
    return examples


def ordered_sources(sources: Iterable[str]) -> list[str]:
    """The distinct sources of a clue's members, in the fixed order of SOURCE_ORDER."""
    present = set(sources)
    return [s for s in SOURCE_ORDER if s in present] + sorted(present - set(SOURCE_ORDER))


def _keywords(member_tokens: list[list[str]], space: _TextSpace, cfg: ClueConfig,
              keyword_extractor: Any | None) -> list[str]:
    k = int(cfg.g("n_keywords"))
    stop = set(cfg.g("title_stopwords") or ())
    if keyword_extractor is not None:
        flat = [t for toks in member_tokens for t in toks]
        fn: Callable[..., list[str]] = getattr(keyword_extractor, "keywords", keyword_extractor)
        return [w for w in fn(flat, k=k + len(stop)) if w not in stop][:k]
    # c-TF-IDF: share of the clue's items containing the word × the word's IDF in this month,
    # × 1.5 for words of the concept lexicon.
    df_counts: Counter[str] = Counter()
    for toks in member_tokens:
        df_counts.update(set(toks))
    n = max(len(member_tokens), 1)
    scored = [
        (cnt / n * space.idf_.get(w, 1.0) * (1.5 if w in space.lexicon_words else 1.0), w)
        for w, cnt in df_counts.items()
        if len(w) >= 2 and w not in stop and not w.isdigit() and w != "<empty>"
    ]
    scored.sort(key=lambda p: (-p[0], p[1]))
    return [w for _, w in scored[:k]]


_LEADING_FILLER = re.compile(r"^(?:但是?|而且|并且|另外|同时|所以|因此|可是|还有|就是|虽然|然后|其次|首先|此外|再次|再者|况且|于是|接着|而)")


def _key_clause(keywords: list[str], texts: list[str], space: _TextSpace, cfg: ClueConfig) -> str | None:
    """The clause (分句, or two neighbouring ones) of the clue's most central members that carries most
    of its keywords: a title that reads as a sentence ('区属平台公司拖欠工程款一年多') rather than a
    word list. Boilerplate clauses are skipped; a clause naming a kind of problem (问题类型: 拖了,
    失败, 排队 …) is preferred over one that only names the object ('我们是祥润花园小区的业主')."""
    lo, hi = int(cfg.g("title_min_chars", 6)), int(cfg.g("title_max_chars", 30))
    weights = {w: len(keywords) - i for i, w in enumerate(keywords)}
    issues = {n for n, is_issue, is_kind in zip(space.concept_names, space._is_issue, space._is_kind, strict=True)
              if is_issue or is_kind}
    need = min(2, len(keywords))
    best: tuple[tuple, str] | None = None
    for rank, text in enumerate(texts[: int(cfg.g("title_from_members", 10))]):
        clauses = [_LEADING_FILLER.sub("", c.strip()) for c in _CLAUSE_SPLIT.split(space.content(text))]
        clauses = [c for c in clauses if c]
        # two neighbouring clauses only when each carries a keyword (not a problem plus its framing)
        pairs = [a + "，" + b for a, b in zip(clauses, clauses[1:], strict=False)
                 if any(w in a for w in keywords) and any(w in b for w in keywords)]
        for cand in clauses + pairs:
            if not lo <= len(cand) <= hi:
                continue
            hit = [w for w in keywords if w in cand]
            if len(hit) < need:
                continue
            names_issue = any(n in issues for n in space.concepts_of(cand))
            key = (names_issue, sum(weights[w] for w in hit), -rank, -len(cand))
            if best is None or key > best[0]:
                best = (key, cand)
    return best[1] if best else None


def _title(keywords: list[str], texts: list[str], space: _TextSpace, cfg: ClueConfig) -> str:
    """问题标题: the key clause of the members chosen by the clue's keywords (``title_style: clause``),
    else (or when no clause holds enough of them) the top keywords in the order the representative
    text uses them."""
    medoid_text = texts[0] if texts else ""
    if str(cfg.g("title_style", "clause")) == "clause" and keywords:
        clause = _key_clause(keywords, texts, space, cfg)
        if clause:
            return clause
    top = keywords[: int(cfg.g("title_keywords"))]
    if not top:
        return medoid_text[:20]
    # Order the words as they appear in the representative text, which reads more naturally.
    pos = {w: (medoid_text.find(w) if w in medoid_text else 10_000 + i) for i, w in enumerate(top)}
    return "、".join(sorted(top, key=lambda w: pos[w]))


def _empty_clues() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame(columns=CLUE_COLUMNS), pd.DataFrame(columns=MEMBER_COLUMNS)


# --------------------------------------------------------------------------- build


def build_clues(
    candidates: pd.DataFrame,
    month: str,
    previous_clues: pd.DataFrame | None,
    cfg: ClueConfig,
    keyword_extractor: Any | None = None,
    *,
    previous_members: pd.DataFrame | None = None,
    existing_members: pd.DataFrame | None = None,
    history_texts: Iterable[str | Sequence[str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Group the month's candidates into problem clues (问题线索); returns ``(clues, members)``.

    ``previous_clues`` (last month's clues, may be None) are linked when a clue's centroid is similar
    enough (same area); ``previous_members`` (their members with ``text`` and optionally ``tokens``)
    gives a better centroid than the clue's description and examples. ``existing_members`` (this
    month's members from an earlier build) keeps ids stable when the groups change slightly.
    ``keyword_extractor`` is an object with ``keywords(tokens, k)`` or a callable ``(tokens, k)``.
    ``history_texts`` (历史语料): the warehouse's feedback texts of all months (every source, not only
    candidates), oldest first; each item a raw text (tokenized here as the enrich step does) or a list
    of its tokens. The word space of the semantic block learns from them (the last
    ``semantic_max_history``; without them it learns from the seed corpus and the month), and with
    ``idf_from_history`` so do the word and character weights (IDF).
    The result depends only on the inputs (no clock), so rebuilding gives identical output.
    """
    if candidates is None or len(candidates) == 0:
        return _empty_clues()
    df = candidates.copy()
    for col, default in (("entity_hash", None), ("street", None), ("source_record_id", None),
                         ("received_at", pd.NaT), ("tokens", None), ("area", "Z")):
        if col not in df.columns:
            df[col] = default
    df["area"] = df["area"].where(df["area"].notna(), "Z").astype(str)
    df["text"] = df["text"].fillna("").astype(str)
    df["tokens"] = df["tokens"].map(_tokens_list)
    df["received_at"] = pd.to_datetime(df["received_at"], errors="coerce")
    df = df.drop_duplicates("feedback_id").sort_values("feedback_id", kind="stable").reset_index(drop=True)
    df["_neg"] = item_negativity(df, cfg)
    src_w = (cfg.heat.get("source_weights") or {})
    df["_w"] = df["source"].map(lambda s: float(src_w.get(s, 1.0)))

    space = _TextSpace(cfg)
    hist = None
    if history_texts is not None and space.semantic_weight > 0:
        cap = int(cfg.g("semantic_max_history"))
        items = list(history_texts)
        hist = clue_space.as_token_lists(items[-cap:] if cap > 0 else [])
    x, z = space.fit_transform(df["text"].tolist(), df["tokens"].tolist(), df["area"].tolist(), hist)
    df["area"] = _smooth_areas(space, x, df["area"].to_numpy(), cfg)
    places = Places.of(df, cfg.grouping)
    if cfg.g("place_reassign_areas"):
        df["area"] = places.areas(df["area"].to_numpy(), {str(a) for a in cfg.g("place_reassign_areas")})

    min_items = int(cfg.g("min_items"))
    always = set(cfg.g("always_clue_sources") or ())
    groups: list[tuple[str, np.ndarray]] = []  # (area, row indices)
    area_rank = {a: i for i, a in enumerate(cfg.area_order)}
    skip = {str(a) for a in cfg.g("semantic_skip_areas") or ()}
    words_only = {str(a) for a in cfg.g("concept_skip_areas") or ()}
    area_groups: list[tuple[str, np.ndarray]] = []
    for area in sorted(df["area"].unique(), key=lambda a: (area_rank.get(a, 99), a)):
        idx = np.flatnonzero(df["area"].to_numpy() == area)
        labels = _cluster_area(space, x[idx], None if z is None or area in skip else z[idx], cfg,
                               places.take(idx), words_only=area in words_only)
        area_groups.extend((area, idx[labels == lab]) for lab in np.unique(labels))
    area_groups = _merge_across_areas(space, x, z, df["area"].to_numpy(), area_groups, cfg, area_rank, places)
    for area, rows in area_groups:
        if len(rows) >= min_items:
            groups.append((area, rows))
        else:
            # Too small to be a clue, but some sources (监督员) always make one per report.
            for r in rows:
                if df.at[r, "source"] in always:
                    groups.append((area, np.array([r])))

    if not groups:
        return _empty_clues()

    # Centroids (unnormalised means) and member similarity to their clue.
    clue_rows = []
    member_frames = []
    cent_x, cent_z = [], []
    for area, rows in groups:
        xs = x[rows]
        xm = sp.csr_matrix(xs.mean(axis=0))
        zm = z[rows].mean(axis=0, keepdims=True) if z is not None else None
        sim = space.sim(xs, xm).ravel()
        order = np.lexsort((df.loc[rows, "feedback_id"].to_numpy(), -sim))
        rows_sorted, sim_sorted = rows[order], sim[order]
        cent_x.append(xm)
        cent_z.append(zm)
        clue_rows.append((area, rows_sorted, sim_sorted))

    ids = _assign_ids(df, clue_rows, month, existing_members)
    links = _link_previous(space, clue_rows, cent_x, cent_z, previous_clues, previous_members, cfg)
    prev_n = {}
    if previous_clues is not None and len(previous_clues):
        prev_n = dict(zip(previous_clues["clue_id"], previous_clues["n_items"], strict=True))

    out = []
    n_ex = int(cfg.g("n_examples"))
    desc_chars = int(cfg.g("description_chars"))
    for i, ((area, rows, sims), cid) in enumerate(zip(clue_rows, ids, strict=True)):
        sub = df.loc[rows]
        texts = sub["text"].tolist()
        medoid = texts[0]
        examples = pick_examples(texts, n_ex)
        kws = _keywords(sub["tokens"].tolist(), space, cfg, keyword_extractor)
        srcs = ordered_sources(sub["source"])
        n_items = len(rows)
        n_ent = int(sub["entity_hash"].dropna().nunique())
        n_sup = int((sub["source"] == "supervisor").sum())
        prev_id = links.get(i)
        heat, comp = heat_score(float(sub["_w"].sum()), n_ent, float(sub["_neg"].mean()), n_items,
                                int(prev_n.get(prev_id, 0)) if prev_id else None, n_sup, cfg)
        grade = grade_for(heat, srcs, prev_id is not None, n_items, cfg)
        out.append({
            "clue_id": cid,
            "month": month,
            "area": area,
            "title": _title(kws, texts, space, cfg),
            "description": medoid if len(medoid) <= desc_chars else medoid[: desc_chars - 1] + "…",
            "n_items": n_items,
            "n_entities": n_ent,
            "n_sources": len(srcs),
            "n_streets": int(sub["street"].dropna().astype(str).replace("", np.nan).dropna().nunique()),
            "sources": ",".join(srcs),
            "first_seen": sub["received_at"].min(),
            "last_seen": sub["received_at"].max(),
            "examples": examples,
            "heat": heat,
            "grade": grade,
            "responsible_unit": responsible_unit_for(area, texts, cfg),
            "deadline": clue_deadline(grade, month, cfg),
            "previous_clue_id": prev_id,
            "recurring": prev_id is not None,
            "keywords": ",".join(kws),
            "n_supervisor": n_sup,
            "heat_components": comp,
        })
        member_frames.append(pd.DataFrame({
            "clue_id": cid,
            "feedback_id": sub["feedback_id"].to_numpy(),
            "source": sub["source"].to_numpy(),
            "source_record_id": sub["source_record_id"].to_numpy(),
            "received_at": sub["received_at"].to_numpy(),
            "area": area,
            "text": texts,
            "similarity": np.round(sims, 4),
        }))

    clues = pd.DataFrame(out, columns=CLUE_COLUMNS)
    clues["_ar"] = clues["area"].map(lambda a: area_rank.get(a, 99))
    clues = clues.sort_values(["_ar", "heat", "clue_id"], ascending=[True, False, True], kind="stable")
    clues = clues.drop(columns="_ar").reset_index(drop=True)
    members = pd.concat(member_frames, ignore_index=True)[MEMBER_COLUMNS]
    order = {c: i for i, c in enumerate(clues["clue_id"])}
    members = members.sort_values(["clue_id"], key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return clues, members


def _assign_ids(df: pd.DataFrame, clue_rows: list[tuple[str, np.ndarray, np.ndarray]], month: str,
                existing_members: pd.DataFrame | None) -> list[str]:
    """Stable clue ids: reuse an existing id of this month when most of its members are still together,
    else ``{month}-{area}-{sha1(min feedback_id)[:6]}`` (lengthened on the rare hash collision)."""
    n = len(clue_rows)
    ids: list[str | None] = [None] * n
    taken: set[str] = set()
    if existing_members is not None and len(existing_members):
        old_of = dict(zip(existing_members["feedback_id"], existing_members["clue_id"], strict=True))
        old_size = existing_members.groupby("clue_id").size().to_dict()
        pairs = []
        for i, (_, rows, _) in enumerate(clue_rows):
            cnt = Counter(old_of.get(f) for f in df.loc[rows, "feedback_id"])
            cnt.pop(None, None)
            for old, c in cnt.items():
                # Keep the old id if this group holds more than half of the old clue's members.
                if c * 2 > old_size.get(old, 0):
                    pairs.append((-c, old, i))
        for _, old, i in sorted(pairs):
            if ids[i] is None and old not in taken:
                ids[i] = old
                taken.add(old)
    for i, (area, rows, _) in enumerate(clue_rows):
        if ids[i] is not None:
            continue
        anchor = str(min(df.loc[rows, "feedback_id"].astype(str)))
        length = 6
        cid = f"{month}-{area}-{_short_hash(anchor, length)}"
        while cid in taken:
            length += 2
            cid = f"{month}-{area}-{_short_hash(anchor, length)}"
        ids[i] = cid
        taken.add(cid)
    return [str(i) for i in ids]


def _link_previous(space: _TextSpace, clue_rows: list, cent_x: list, cent_z: list,
                   previous_clues: pd.DataFrame | None, previous_members: pd.DataFrame | None,
                   cfg: ClueConfig) -> dict[int, str]:
    """Map the index of a new clue (by position) to the id of last month's clue it continues."""
    if previous_clues is None or len(previous_clues) == 0:
        return {}
    prev = previous_clues.reset_index(drop=True)
    pids = prev["clue_id"].astype(str).tolist()
    pareas = prev["area"].astype(str).tolist()
    if previous_members is not None and len(previous_members):
        pm = previous_members[previous_members["clue_id"].astype(str).isin(pids)].copy()
        toks = pm["tokens"].map(_tokens_list).tolist() if "tokens" in pm.columns else None
        px, pz = space.transform(pm["text"].fillna("").astype(str).tolist(), toks)
        pos = {c: i for i, c in enumerate(pids)}
        rows = pm["clue_id"].astype(str).map(pos).to_numpy()
        m = sp.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(pids), len(rows)))
        sizes = np.asarray(m.sum(axis=1)).ravel()
        m = sp.diags(1.0 / np.maximum(sizes, 1)) @ m
        pcx = (m @ px).tocsr()
        pcz = m @ pz if pz is not None else None
        missing = np.flatnonzero(sizes == 0)
    else:
        missing = np.arange(len(pids))
        pcx, pcz = None, None
    if len(missing):
        # Clues without member texts: describe them by description, examples and keywords.
        texts = []
        for i in missing:
            r = prev.iloc[int(i)]
            ex = r.get("examples")
            ex = list(ex) if isinstance(ex, (list, tuple, np.ndarray)) else []
            texts.append(" ".join([str(r.get("description") or "")] + [str(e) for e in ex]))
        tx, tz = space.transform(texts)
        if pcx is None:
            pcx, pcz = tx, tz
        else:
            pcx = sp.lil_matrix(pcx)
            for j, i in enumerate(missing):
                pcx[int(i)] = tx[j]
                if pcz is not None and tz is not None:
                    pcz[int(i)] = tz[j]
            pcx = pcx.tocsr()
    cx = sp.vstack(cent_x).tocsr()
    # Lexical/concept similarity of the centroids (link_threshold was set on it); cent_z is unused.
    s = space.sim(space.normalize_blocks(cx), space.normalize_blocks(pcx))
    t = float(cfg.g("link_threshold"))
    links: dict[int, str] = {}
    for i, (area, _, _) in enumerate(clue_rows):
        best, best_j = -1.0, None
        for j, pa in enumerate(pareas):
            if pa == area and s[i, j] > best:
                best, best_j = s[i, j], j
        if best_j is not None and best >= t:
            links[i] = pids[best_j]
    return links
