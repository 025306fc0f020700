"""Enrichment (文本加工): normalise, mask personal data, tokenize once, label area and sentiment.

Takes the canonical feedback frame of an adapter and returns rows ready for the ``feedback`` table.
Every text is normalised once and tokenized once; the same tokens feed the area model, the
sentiment model and keyword extraction. Nothing that leaves this module holds unmasked personal
data: free text, titles, addresses and handling results go through ``mask_pii``; name and phone
fields are masked; credit codes and phone numbers survive only as salted hashes.

Speed (性能) without changing a single output value:

* work is done column by column, and each distinct value of a column (a street, a handling-result
  template, an enterprise) is masked or hashed once per batch;
* the area and sentiment models are the shipped scikit-learn pipelines, but their TF-IDF and
  keyword-lexicon blocks are computed by :class:`_FastPipeline` with numpy over the whole batch
  (character n-grams as integer codes looked up in a hash index, word n-grams through the batch's
  distinct tokens) instead of one Python loop per n-gram. The counts are bit-for-bit the matrix
  scikit-learn builds, and the fitted ``TfidfTransformer``, feature selection and classifier of the
  model run unchanged on it. At load time :func:`get_enricher` checks on a few hundred probe texts
  that the probabilities are *identical* to the model's own ``predict_proba``; if not (a model of
  another shape, another scikit-learn), the model's own code is used;
* content words and keywords are computed with per-token memos (the same rules and arithmetic as
  :meth:`nlp.tokenize.Tokenizer.content_tokens` and :meth:`nlp.keywords.KeywordExtractor.keywords`).

``STAGE_SECONDS`` accumulates the seconds spent per stage in this process (the benchmark reads it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import operator
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from nlp import pii
from nlp.classify import load_area_model
from nlp.keywords import KeywordExtractor
from nlp.sentiment import load_sentiment_model
from nlp.text import normalize_many
from nlp.tokenize import Tokenizer, is_content_word
from pipeline.config import all_keywords, area_keywords, settings
from pipeline.salt import hash_salt

log = logging.getLogger("yingshang.enrich")

# CPU seconds spent per stage in this process (normalise_mask, tokenize, area, sentiment, keywords_rows).
STAGE_SECONDS: defaultdict[str, float] = defaultdict(float)


def stable_id(*parts: object) -> str:
    """A 40-hex id from the parts (sha1): stable across runs, machines and databases."""
    raw = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


@dataclass
class Enricher:
    """Holds the loaded models so a run loads them once (模型只加载一次).

    ``area_model``/``sentiment_model`` are the models as shipped; ``fast_area``/``fast_sentiment``
    are the same models with the batch feature path (identical output), or ``None``.
    """

    tokenizer: Tokenizer
    area_model: Any
    sentiment_model: Any
    keyword_extractor: KeywordExtractor
    model_version: str
    fast_area: Any = None
    fast_sentiment: Any = None

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        return self.tokenizer.lcut_many(texts)


@lru_cache(maxsize=1)
def get_enricher() -> Enricher:
    tokenizer = Tokenizer(user_words=all_keywords())
    area_model = load_area_model(keywords=area_keywords())
    sentiment_model = load_sentiment_model()
    # jieba's general IDF table as the prior: stable across runs and chunks, so parallel and
    # single-process loads agree. Clue titles refit the IDF on the month's own texts.
    extractor = KeywordExtractor()
    extractor._idf()  # load the IDF table now (2 s), not inside the first batch or in every worker
    pii.preload()  # (the same for the masking's word list)
    version = f"area:{getattr(area_model, 'version', 'lexicon')}|sent:{getattr(sentiment_model, 'version', '?')}"
    enricher = Enricher(tokenizer, area_model, sentiment_model, extractor, version)
    probe = _probe_tokens(tokenizer)
    enricher.fast_area = _accelerate(area_model, probe)
    enricher.fast_sentiment = _accelerate(sentiment_model, probe, request_types=True)
    return enricher


def _clean(value: Any) -> Any:
    """pandas missing values (NaN, NaT, pd.NA) as None, so they load as SQL NULL."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value


def _str_or_none(value: Any) -> str | None:
    value = _clean(value)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _to_dt(value: Any) -> dt.datetime | None:
    value = _clean(value)
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return None


def entity_hash(credit_code: str | None, entity_name: str | None) -> str | None:
    """Salted hash of the enterprise: by its credit code when it has one, else by its name."""
    return _entity_hash(credit_code, entity_name, hash_salt())


def _entity_hash(credit_code: str | None, entity_name: str | None, salt: str) -> str | None:
    code = (credit_code or "").strip().upper()
    if code:
        return pii.salted_hash(code, salt)
    name = (entity_name or "").strip()
    if name:
        return pii.salted_hash("name:" + name, salt)
    return None


# --------------------------------------------------------------------------- column helpers


def memo_map(func: Callable[[Any], Any], values: Iterable[Any]) -> list[Any]:
    """``[func(v) for v in values]``, calling ``func`` once per distinct (hashable) value."""
    cache: dict[Any, Any] = {}
    out = []
    append = out.append
    for v in values:
        try:
            r = cache[v]
        except KeyError:
            r = cache[v] = func(v)
        except TypeError:  # unhashable
            r = func(v)
        append(r)
    return out


def _hashable_or(cached: Callable[[Any], Any], plain: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``cached`` for str/None values (the usual cells), ``plain`` for anything else (NaN, numbers)."""
    def run(v: Any) -> Any:
        return cached(v) if v is None or type(v) is str else plain(v)
    return run


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    # The values itertuples() would give (None when the column is missing).
    return frame[name].tolist() if name in frame.columns else [None] * len(frame)


_EXACT_DT_UNITS = ("datetime64[s]", "datetime64[ms]", "datetime64[us]")


def _datetime_column(frame: pd.DataFrame, name: str) -> list[dt.datetime | None]:
    """``memo_map(_to_dt, _column(frame, name))``: for a naive datetime64 column of second, milli- or
    microsecond resolution, converted by numpy in one step (exact: datetime holds microseconds; NaT
    becomes None)."""
    if name in frame.columns and str(frame[name].dtype) in _EXACT_DT_UNITS:
        out = frame[name].to_numpy().astype("datetime64[us]").astype(object).tolist()
        if all(v is None or type(v) is dt.datetime for v in out):  # (years 1-9999: always)
            return out
    return memo_map(_to_dt, _column(frame, name))


@lru_cache(maxsize=1 << 17)
def _mask_text_or_none(value: Any) -> str | None:
    return pii.mask_pii(_str_or_none(value) or "") or None


# Enterprises, callers and streets come back night after night: their masks and hashes are kept
# across batches (pure functions of the value; the salt is an argument).
_mask_org = lru_cache(maxsize=1 << 16)(pii.mask_org_name)
_mask_person = lru_cache(maxsize=1 << 16)(lambda v: pii.mask_name(_str_or_none(v)))
_mask_phone = lru_cache(maxsize=1 << 17)(pii.mask_phone_field)
_mask_address = lru_cache(maxsize=1 << 17)(lambda v: pii.mask_address(_str_or_none(v)))
_salted = lru_cache(maxsize=1 << 17)(pii.salted_hash)
_entity_hash_cached = lru_cache(maxsize=1 << 16)(lambda code, name, salt: _entity_hash(code, name, salt))


# Per (stop words, domain words, keyword stop words, min length): token -> (content word, candidate).
_TOKEN_MEMOS: dict[tuple, tuple[tuple, dict[str, tuple[str | None, bool]]]] = {}
_TOKEN_MEMO_MAX = 1 << 19


def content_and_keywords(tokenizer: Tokenizer, extractor: KeywordExtractor, token_lists: Sequence[Sequence[str]],
                         k: int = 5) -> tuple[list[list[str]], list[list[str]]]:
    """``([tokenizer.content_tokens(t)], [extractor.keywords(content, k)])`` for many token lists.

    Same rules and the same arithmetic as those two methods, with the per-token tests memoised over
    the batch (a corpus has far fewer distinct tokens than tokens).
    """
    if type(extractor) is not KeywordExtractor or type(tokenizer) is not Tokenizer:
        content = [tokenizer.content_tokens(t) for t in token_lists]
        return content, [extractor.keywords(c, k=k) for c in content]
    stop, domain = tokenizer.stopwords, tokenizer.domain_words
    kstop, min_len = extractor._stop(), extractor.min_len
    idf, default = extractor._idf()
    rank = extractor._rank
    # token -> (its content word or None, whether that word is a keyword candidate): the rules of
    # content_tokens and KeywordExtractor._candidates, kept across batches (the same tokens recur)
    # (a new dict, never a cleared one, so a thread keeps using the memo it started with)
    key = (id(stop), id(domain), id(kstop), min_len)
    entry = _TOKEN_MEMOS.get(key)
    if entry is None or entry[0][0] is not stop or entry[0][1] is not domain or entry[0][2] is not kstop \
            or len(entry[1]) > _TOKEN_MEMO_MAX:
        if len(_TOKEN_MEMOS) > 8:
            _TOKEN_MEMOS.clear()
        entry = _TOKEN_MEMOS[key] = ((stop, domain, kstop), {})
    memo = entry[1]
    default_rank = rank is KeywordExtractor._rank
    contents: list[list[str]] = []
    keywords: list[list[str]] = []
    for tokens in token_lists:
        content = []
        words = []
        for t in tokens:
            try:
                s, ok = memo[t]
            except KeyError:
                s = t.strip()
                s = s if (s in domain or (s and s not in stop and is_content_word(s))) else None
                ok = s is not None and len(s) >= min_len and s not in kstop and is_content_word(s)
                memo[t] = (s, ok)
            if s is not None:
                content.append(s)
                if ok:
                    words.append(s)
        contents.append(content)
        if not words:
            keywords.append([])
            continue
        counts = Counter(words)  # (keys in order of first occurrence)
        total = len(words)
        if default_rank:
            # KeywordExtractor._rank sorts by (-score, first occurrence, word); a stable sort by -score
            # of the words in order of first occurrence is that order (first occurrences differ)
            keywords.append(sorted(counts, key=lambda w: -(counts[w] / total * idf.get(w, default)))[: max(k, 0)])
            continue
        first: dict[str, int] = {}
        for i, w in enumerate(words):
            first.setdefault(w, i)
        scores = {w: c / total * idf.get(w, default) for w, c in counts.items()}
        keywords.append(rank(scores, first, k))
    return contents, keywords


# --------------------------------------------------------------------------- enrichment


def enrich_feedback(source: str, feedback: pd.DataFrame, record_keys: dict[str, str],
                    corrections: dict[str, dict] | None = None,
                    enricher: Enricher | None = None, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Turn canonical feedback rows into ``feedback`` table rows.

    ``record_keys`` maps the adapter's natural key to the warehouse ``record_key``;
    ``corrections`` maps feedback_id to an analyst's label correction, which wins over the model.
    ``now`` is the load time written to ``loaded_at`` (default: the current time).
    """
    if feedback.empty:
        return []
    enricher = enricher or get_enricher()
    if now is None:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    rows = _enrich_rows(source, feedback, record_keys, enricher, now)
    if corrections:
        apply_corrections(rows, corrections)
    return rows


def text_sha1(text: str | None) -> str:
    """The hash a label correction keeps of the text it was made for."""
    return hashlib.sha1((text or "").encode("utf-8")).hexdigest()


def apply_corrections(rows: list[dict[str, Any]], corrections: dict[str, dict]) -> None:
    """An analyst's label correction (人工纠正) wins over the model, in place — while the text is the one
    that was corrected (a work order re-delivered with another complaint is labelled anew)."""
    for r in rows:
        corr = corrections.get(r["feedback_id"])
        if not corr:
            continue
        if corr.get("text_hash") and corr["text_hash"] != text_sha1(r.get("text")):
            continue
        if corr.get("area"):
            r["area"] = corr.get("area")
            r["area2"] = corr.get("area2")
            r["area_confidence"] = 1.0
            r["area_origin"] = "correction"
        if corr.get("sentiment"):
            r["sentiment"] = corr.get("sentiment")
            r["sentiment_confidence"] = 1.0


def _hide_own_names(texts: list[str], feedback: pd.DataFrame) -> list[str]:
    """The row's own enterprise and caller names, where its text repeats them, masked as in their columns.

    A 12345 operator writes '来电人称：其是郑州市郑东新区宏达茶叶店的法人' while the row's 企业名称 column
    (masked to 郑州市郑东新区****店) holds the same name: a sole trader's shop name identifies a person,
    and the text gave away what the column hid (:func:`nlp.pii.hide_known_names`)."""
    cols = [c for c in ("entity_name", "person_name") if c in feedback.columns]
    if not cols:
        return texts
    values = {c: normalize_many(memo_map(lambda v: _str_or_none(v) or "", feedback[c].tolist())) for c in cols}
    orgs = values.get("entity_name", [""] * len(texts))
    people = values.get("person_name", [""] * len(texts))
    return [pii.hide_known_names(t, [o], [p]) for t, o, p in zip(texts, orgs, people, strict=True)]


def feedback_docs(feedback: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """(masked titles, masked texts, documents): each document is what gets tokenized and labelled."""
    texts = normalize_many(memo_map(lambda t: _str_or_none(t) or "", feedback["text"].tolist()))
    titles = normalize_many(memo_map(lambda t: _str_or_none(t) or "", feedback["title"].tolist()))
    texts = _hide_own_names(texts, feedback)
    masked_texts = pii.mask_many(texts)
    masked_titles = pii.mask_many(titles)
    # The title carries the gist of a work order: classify title + text, tokenized once.
    docs = [f"{t}。{x}" if t and t not in x else x for t, x in zip(masked_titles, masked_texts, strict=True)]
    return masked_titles, masked_texts, docs


def _enrich_rows(source: str, feedback: pd.DataFrame, record_keys: dict[str, str], enricher: Enricher,
                 now: dt.datetime) -> list[dict[str, Any]]:
    timer = time.process_time  # CPU seconds: the stage's cost, whatever else runs on the machine
    t0 = timer()
    masked_titles, masked_texts, docs = feedback_docs(feedback)
    t1 = timer()
    tokens = enricher.tokenize(docs)
    t2 = timer()
    request_types = memo_map(_str_or_none, feedback["request_type"].tolist())
    prior_types = request_types if source in sentiment_prior_sources() else None
    model_input = clean_tokens(tokens) if enricher.fast_area or enricher.fast_sentiment else tokens
    areas = (enricher.fast_area or enricher.area_model).predict_frame(model_input)
    t3 = timer()
    sentiments = (enricher.fast_sentiment or enricher.sentiment_model).predict_frame(
        model_input, request_types=prior_types)
    _LAST_BATCH.clear()
    t4 = timer()
    content, keywords = content_and_keywords(enricher.tokenizer, enricher.keyword_extractor, tokens, k=5)

    salt = hash_salt()
    n = len(feedback)
    nat = [str(k) for k in feedback["record_key"].tolist()]
    parts = _column(feedback, "part")
    record_key = [record_keys[k] for k in nat]
    feedback_id = [stable_id(rk, p or "") for rk, p in zip(record_key, parts, strict=True)]
    sid = [str(s or k) for s, k in zip(_column(feedback, "source_record_id"), feedback["record_key"].tolist(),
                                       strict=True)]
    received_at = _datetime_column(feedback, "received_at")
    due_at = _datetime_column(feedback, "due_at")
    closed_at = _datetime_column(feedback, "closed_at")
    credit = memo_map(_str_or_none, _column(feedback, "credit_code"))
    name = memo_map(_str_or_none, _column(feedback, "entity_name"))
    phone = memo_map(_str_or_none, _column(feedback, "phone"))
    ent_hash = memo_map(lambda cn: _entity_hash_cached(cn[0], cn[1], salt), zip(credit, name, strict=True))
    name_masked = memo_map(lambda v: _mask_org(v) if v else None, name)
    person_masked = memo_map(_hashable_or(_mask_person, lambda v: pii.mask_name(_str_or_none(v))),
                             _column(feedback, "person_name"))
    phone_masked = memo_map(lambda v: _mask_phone(v) if v else None, phone)
    phone_hash = memo_map(lambda v: _salted(v, salt) if v else None, phone)
    masked_text = _hashable_or(_mask_text_or_none, _mask_text_or_none.__wrapped__)
    address = memo_map(_hashable_or(_mask_address, lambda v: pii.mask_address(_str_or_none(v))),
                       _column(feedback, "address"))
    handling = memo_map(masked_text, _column(feedback, "handling_result"))
    text_cols = {c: memo_map(_str_or_none, _column(feedback, c))
                 for c in ("channel", "writer_type", "street", "call_taker_category", "unit", "status",
                           "satisfaction", "reporter_category")}
    resolved = [_clean(v) for v in _column(feedback, "resolved")]

    def _score(v: Any) -> float | None:
        v = _clean(v)
        return float(v) if v is not None and not math.isnan(float(v)) else None

    score = memo_map(_score, _column(feedback, "score_100"))
    area_label = [str(v) for v in areas["label"].tolist()]
    area2 = memo_map(_str_or_none, areas["label2"].tolist() if "label2" in areas.columns else [None] * n)
    area_conf = [float(v) for v in areas["confidence"].tolist()]
    sent_label = [str(v) for v in sentiments["label"].tolist()]
    sent_score = [float(v) for v in sentiments["score"].tolist()]
    sent_conf = [float(v) for v in sentiments["confidence"].tolist()]
    version = enricher.model_version
    channel, writer, street = text_cols["channel"], text_cols["writer_type"], text_cols["street"]
    ctc, unit, status = text_cols["call_taker_category"], text_cols["unit"], text_cols["status"]
    satisfaction, reporter = text_cols["satisfaction"], text_cols["reporter_category"]
    rows: list[dict[str, Any]] = []
    for i in range(n):
        rec, due, closed = received_at[i], due_at[i], closed_at[i]
        rows.append({
            "feedback_id": feedback_id[i],
            "record_key": record_key[i],
            "source": source,
            "source_record_id": sid[i],
            "part": str(parts[i] or ""),
            "channel": channel[i],
            "received_at": rec,
            "received_date": rec.date() if rec else None,
            "request_type": request_types[i],
            "writer_type": writer[i],
            "entity_hash": ent_hash[i],
            "entity_name_masked": name_masked[i],
            "person_name_masked": person_masked[i],
            "phone_masked": phone_masked[i],
            "phone_hash": phone_hash[i],
            "address_masked": address[i],
            "street": street[i],
            "title": masked_titles[i] or None,
            "text": masked_texts[i],
            "text_length": len(masked_texts[i]),
            "tokens": " ".join(content[i]),
            "call_taker_category": ctc[i],
            "unit": unit[i],
            "due_at": due,
            "closed_at": closed,
            "handling_result": handling[i],
            "status": status[i],
            "satisfaction": satisfaction[i],
            "resolved": resolved[i],
            "on_time": (closed <= due) if (closed and due) else None,
            "reporter_category": reporter[i],
            "score_100": score[i],
            "area": area_label[i],
            "area2": area2[i],
            "area_confidence": area_conf[i],
            "area_origin": "model",
            "sentiment": sent_label[i],
            "sentiment_score": sent_score[i],
            "sentiment_confidence": sent_conf[i],
            "keywords": " ".join(keywords[i]),
            "model_version": version,
            "loaded_at": now,
        })
    t5 = timer()
    STAGE_SECONDS["normalise_mask"] += t1 - t0
    STAGE_SECONDS["tokenize"] += t2 - t1
    STAGE_SECONDS["area"] += t3 - t2
    STAGE_SECONDS["sentiment"] += t4 - t3
    STAGE_SECONDS["keywords_rows"] += t5 - t4
    return rows


def review_threshold() -> float:
    return float(settings().get("classify", {}).get("review_threshold", 0.45))


def sentiment_prior_sources() -> frozenset[str]:
    """Sources whose 诉求类型 says something about each item's tone, so the sentiment model's
    request-type prior applies (config/settings.yaml ``classify.sentiment_prior_sources``). The
    questionnaire is not one: its open answers are all 建议 by the question's name."""
    return frozenset(settings().get("classify", {}).get("sentiment_prior_sources",
                                                        ["hotline", "supervisor", "survey"]))


# --------------------------------------------------------------------------- batch features for the models
#
# The shipped models are sklearn Pipelines: TextTokens → FeatureUnion(word TF-IDF, char TF-IDF,
# [lexicon counts]) → [chi² selection] → classifier. scikit-learn's CountVectorizer builds the
# n-grams of one document at a time in Python (80 % of a model's predict time). _FastPipeline builds
# the same count matrices for the whole batch with numpy and hands them to the fitted parts.

try:  # scikit-learn >= 1.8 returns csr_matrix or csr_array depending on its sparse-interface setting
    from sklearn.feature_extraction.text import _align_api_if_sparse as _align_sparse
except ImportError:  # pragma: no cover - older scikit-learn
    def _align_sparse(x: Any) -> Any:
        return x

_SEP = "\x00"


def _counts_matrix(doc_ids: np.ndarray, cols: np.ndarray, n_docs: int, n_features: int, dtype: Any) -> Any:
    """CSR count matrix in canonical form (sorted column indices, duplicates summed): CountVectorizer's."""
    data = np.ones(len(cols), dtype=dtype)
    return _align_sparse(sp.csr_array((data, (doc_ids, cols)), shape=(n_docs, n_features), dtype=dtype))


class _CharCounts:
    """CountVectorizer(analyzer="char") counts for a batch: n-grams as integer codes (21 bits a char)."""

    def __init__(self, vec: Any) -> None:
        self.vec = vec
        self.pre = vec.build_preprocessor()
        self.white = vec._white_spaces
        self.lo, self.hi = vec.ngram_range
        if not (1 <= self.lo <= self.hi <= 3) or vec.input != "content" or vec.binary:
            raise ValueError("unsupported char vectorizer")
        keys: dict[int, list[int]] = defaultdict(list)
        cols: dict[int, list[int]] = defaultdict(list)
        for term, col in vec.vocabulary_.items():
            code = 0
            for ch in term:
                code = (code << 21) | ord(ch)
            keys[len(term)].append(code)
            cols[len(term)].append(col)
        self.index = {n: (pd.Index(np.asarray(keys[n], dtype=np.int64)), np.asarray(cols[n], dtype=np.int64))
                      for n in keys}
        self.n_features = len(vec.vocabulary_)

    def counts(self, docs: Sequence[Any]) -> Any:
        codes = _batch(docs).char_codes(self.pre, self.white)
        doc_parts, col_parts = [], []
        for size in range(self.lo, self.hi + 1):
            if size not in self.index or size not in codes:
                continue
            at_doc, code = codes[size]
            index, cols = self.index[size]
            loc = index.get_indexer(code)
            hit = loc >= 0
            doc_parts.append(at_doc[hit])
            col_parts.append(cols[loc[hit]])
        docs_a = np.concatenate(doc_parts) if doc_parts else np.zeros(0, dtype=np.int64)
        cols_a = np.concatenate(col_parts) if col_parts else np.zeros(0, dtype=np.int64)
        return _counts_matrix(docs_a, cols_a, len(docs), self.n_features, self.vec.dtype)


class _WordCounts:
    """CountVectorizer(analyzer="word") counts for a batch of token lists (tokenizer and preprocessor
    that pass a token list through; stop words, if any, dropped before the n-grams are formed)."""

    def __init__(self, vec: Any) -> None:
        from nlp import features

        passthrough = {getattr(features, name, None) for name in ("identity", "token_list")} - {None}
        self.vec = vec
        self.lo, self.hi = vec.ngram_range
        if (vec.tokenizer not in passthrough or vec.preprocessor not in passthrough
                or not (1 <= self.lo <= self.hi <= 2) or vec.input != "content" or vec.binary):
            raise ValueError("unsupported word vectorizer")
        self.stop = vec.get_stop_words()
        self.vocab = vec.vocabulary_
        self.n_features = len(self.vocab)

    def counts(self, docs: Sequence[Any]) -> Any:
        if not all(isinstance(d, list) for d in docs):
            return None  # (token lists only; the vectorizer's own transform handles anything else)
        words = _batch(docs).word_codes()
        vocab, uniq = self.vocab, words.uniq
        codes, doc_of = words.codes, words.doc_of
        upair, inverse, pair_doc, width = words.upair, words.pair_inverse, words.pair_doc, words.width
        if self.stop:
            stop = self.stop
            keep = ~np.fromiter((u in stop for u in uniq), dtype=bool, count=len(uniq))[codes]
            codes, doc_of = codes[keep], doc_of[keep]
            at = np.flatnonzero(doc_of[1:] == doc_of[:-1])
            upair, inverse = np.unique(codes[at].astype(np.int64) * width + codes[at + 1], return_inverse=True)
            inverse, pair_doc = inverse.reshape(-1), doc_of[at]
        doc_parts, col_parts = [], []
        if self.lo == 1:
            ucol = np.fromiter((vocab.get(u, -1) for u in uniq), dtype=np.int64, count=len(uniq))
            c = ucol[codes]
            hit = c >= 0
            doc_parts.append(doc_of[hit])
            col_parts.append(c[hit])
        if self.hi == 2 and len(pair_doc):
            pcol = np.fromiter((vocab.get(uniq[p // width] + " " + uniq[p % width], -1) for p in upair.tolist()),
                               dtype=np.int64, count=len(upair))
            c = pcol[inverse]
            hit = c >= 0
            doc_parts.append(pair_doc[hit])
            col_parts.append(c[hit])
        docs_a = np.concatenate(doc_parts) if doc_parts else np.zeros(0, dtype=np.int64)
        cols_a = np.concatenate(col_parts) if col_parts else np.zeros(0, dtype=np.int64)
        return _counts_matrix(docs_a, cols_a, len(docs), self.n_features, self.vec.dtype)


@dataclass
class _WordCodes:
    uniq: list[str]
    codes: np.ndarray
    doc_of: np.ndarray
    width: int
    upair: np.ndarray
    pair_inverse: np.ndarray
    pair_doc: np.ndarray


class _BatchText:
    """What both models need from one batch of token lists, computed once (特征只算一次)."""

    def __init__(self, docs: Sequence[Any]) -> None:
        self.docs = list(docs)  # holds the token lists, so their ids stay theirs while cached
        self._chars: dict[tuple, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
        self._words: _WordCodes | None = None

    def same(self, docs: Sequence[Any]) -> bool:
        return len(docs) == len(self.docs) and all(map(operator.is_, docs, self.docs))

    def char_codes(self, pre: Any, white: Any) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """{n: (document of each n-gram, n-gram code)} for n = 1..3, n-grams in text order."""
        key = (pre, white.pattern)
        if key in self._chars:
            return self._chars[key]
        texts = [white.sub(" ", pre(d)) for d in self.docs]
        n = len(texts)
        lens = np.fromiter(map(len, texts), dtype=np.int64, count=n)
        cp = np.frombuffer("".join(texts).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        doc_of = np.repeat(np.arange(n, dtype=np.int64), lens)
        left = np.repeat(starts + lens, lens) - np.arange(len(cp), dtype=np.int64)  # chars to the end
        out = {}
        for size in (1, 2, 3):
            at = np.flatnonzero(left >= size)
            code = cp[at]
            for k in range(1, size):
                code = (code << 21) | cp[at + k]
            out[size] = (doc_of[at], code)
        self._chars[key] = out
        return out

    def word_codes(self) -> _WordCodes:
        """The batch's tokens as codes of its distinct tokens, and its adjacent pairs (bigrams)."""
        if self._words is None:
            docs = self.docs
            n = len(docs)
            lens = np.fromiter(map(len, docs), dtype=np.int64, count=n)
            flat = [t for d in docs for t in d]
            codes, uniq = pd.factorize(np.asarray(flat, dtype=object)) if flat else (np.zeros(0, np.int64), [])
            doc_of = np.repeat(np.arange(n, dtype=np.int64), lens)
            at = np.flatnonzero(doc_of[1:] == doc_of[:-1])
            width = max(len(uniq), 1)
            pair = codes[at].astype(np.int64) * width + codes[at + 1]
            upair, inverse = np.unique(pair, return_inverse=True)
            self._words = _WordCodes(list(uniq), codes, doc_of, width, upair, inverse.reshape(-1), doc_of[at])
        return self._words


_LAST_BATCH: list[_BatchText] = []


def _batch(docs: Sequence[Any]) -> _BatchText:
    """The shared per-batch text codes for these token lists (the area and sentiment models get the
    same lists one after the other)."""
    last = next(iter(_LAST_BATCH), None)
    if last is not None and last.same(docs):
        return last
    batch = _BatchText(docs)
    _LAST_BATCH[:] = [batch]  # (another thread may replace it: each caller keeps its own reference)
    return batch


class CleanTokens(list):
    """Tokens already as the models' TextTokens step leaves them (str, no blank tokens): the step is
    skipped for a batch made only of these."""


def clean_tokens(token_lists: Iterable[Sequence[str]]) -> list[CleanTokens]:
    return [CleanTokens([t for t in toks if t and not t.isspace()]) for toks in token_lists]


class _LexiconCounts:
    """nlp.features.LexiconCounts.transform for a batch: keyword hits found in one joined string.

    Each area's value is sum(text.count(w) * len(w) / 2.0 for w in words). Every term is a whole
    number of halves and so is every partial sum (far below 2**53): the float sum is exact, whatever
    the order of additions, and equals (sum of count * len) / 2.0, computed here for all areas and
    texts at once from one matrix of hit counts.
    """

    def __init__(self, lex: Any) -> None:
        import re

        from nlp.features import join_tokens

        self.lex = lex
        self.join = join_tokens
        if any(not w or _SEP in w for words in lex.keywords_ for w in words):
            raise ValueError("unsupported keyword")
        self.words = list(dict.fromkeys(w for words in lex.keywords_ for w in words))
        at = {w: j for j, w in enumerate(self.words)}
        # (literal patterns: finditer's non-overlapping left-to-right matches are str.count's)
        self.finders = [re.compile(re.escape(w)).finditer for w in self.words]
        self.weights = np.zeros((len(lex.keywords_), len(self.words)), dtype=np.int64)
        for a, words in enumerate(lex.keywords_):
            for w in words:
                self.weights[a, at[w]] += len(w)

    def transform(self, docs: Sequence[Any]) -> Any:
        lex, join = self.lex, self.join
        texts = [join(d) if d is not None else "" for d in docs]
        n = len(texts)
        if any(_SEP in t for t in texts):
            return lex.transform(docs)
        big = _SEP.join(texts)
        ends = np.cumsum(np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=n))
        pos: list[int] = []
        wid: list[int] = []
        for j, finditer in enumerate(self.finders):
            hits = [m.start() for m in finditer(big)]
            if hits:
                pos += hits
                wid += [j] * len(hits)
        n_words = len(self.words)
        if pos:
            doc = np.searchsorted(ends, np.asarray(pos, dtype=np.int64), side="right")
            counts = np.bincount(np.asarray(wid, dtype=np.int64) * n + doc, minlength=n_words * n)
            counts = counts.reshape(n_words, n)
        else:
            counts = np.zeros((n_words, n), dtype=np.int64)
        dense = ((self.weights @ counts) / 2.0).T
        arr = np.log1p(np.asarray(dense, dtype=np.float32).reshape(n, len(lex.areas_)))
        return sp.csr_matrix(arr * np.float32(lex.scale))


class _FastPipeline:
    """A fitted TextTokens → FeatureUnion → … pipeline whose feature blocks are built per batch."""

    def __init__(self, pipe: Any) -> None:
        from sklearn.pipeline import FeatureUnion

        from nlp.features import LexiconCounts, TextTokens

        steps = pipe.steps
        if len(steps) < 3 or not isinstance(steps[0][1], TextTokens) or not isinstance(steps[1][1], FeatureUnion):
            raise ValueError("unsupported pipeline shape")
        self.pipe = pipe
        self.tokens = steps[0][1]
        self.union = steps[1][1]
        self.rest = pipe[2:]
        self.blocks: dict[str, Any] = {}
        for name, trans in self.union.transformer_list:
            try:
                if isinstance(trans, LexiconCounts):
                    self.blocks[name] = _LexiconCounts(trans)
                elif getattr(trans, "analyzer", None) == "char" and hasattr(trans, "_tfidf"):
                    self.blocks[name] = _CharCounts(trans)
                elif getattr(trans, "analyzer", None) == "word" and hasattr(trans, "_tfidf"):
                    self.blocks[name] = _WordCounts(trans)
            except ValueError:
                continue  # this block keeps the model's own transform

    @property
    def classes_(self) -> Any:
        return self.pipe.classes_

    def _features(self, X: Any) -> Any:
        X = list(X)
        if X and all(type(x) is CleanTokens for x in X):
            tokens = X  # what TextTokens would return: the tokenizer's str tokens, blank ones dropped
        else:
            tokens = self.tokens.transform(X)
        blocks = []
        for name, trans, weight in self.union._iter():
            fast = self.blocks.get(name)
            if fast is None:
                res = trans.transform(tokens)
            elif isinstance(fast, _LexiconCounts):
                res = fast.transform(tokens)
            else:
                counts = fast.counts(tokens)
                res = trans.transform(tokens) if counts is None else trans._tfidf.transform(counts, copy=False)
            blocks.append(res if weight is None else res * weight)
        return self.union._hstack(blocks)

    def predict_proba(self, X: Any) -> Any:
        return self.rest.predict_proba(self._features(X))


def _probe_tokens(tokenizer: Tokenizer) -> list[list[str]]:
    from nlp.tokenize import self_check_sentences

    texts = self_check_sentences(tokenizer.user_words) + [
        "营业执照办理太慢，窗口排队两个小时。", "Tax  refund\n\n退税  慢", "表扬工作人员服务态度好！", "",
        "不动产登记不动产登记", "ABC abc ＡＢＣ 123", "供电供电供电停电 停电\t停电",
    ]
    return tokenizer.lcut_many(normalize_many(texts))


def _accelerate(model: Any, probe: list[list[str]], request_types: bool = False) -> Any:
    """The model with the batch feature path, if it gives exactly the model's own probabilities."""
    try:
        fast = replace(model, estimator=_FastPipeline(model.estimator))
        kwargs = {"request_types": ["投诉"] * len(probe)} if request_types else {}
        ref = model.predict_proba(probe, **kwargs)
        same = (np.array_equal(ref, fast.predict_proba(probe, **kwargs))
                and np.array_equal(ref, fast.predict_proba(clean_tokens(probe), **kwargs)))
        _LAST_BATCH.clear()
    except Exception as exc:  # any surprise means: use the model as shipped
        log.info("batch features not used for %s: %s", type(model).__name__, exc)
        return None
    if not same:
        log.warning("batch features differ from %s's own on the probe texts; using the model as shipped",
                    type(model).__name__)
        return None
    log.info("%s: batch features for blocks %s", type(model).__name__, sorted(fast.estimator.blocks))
    return fast

