"""Enrichment (文本加工): normalise, mask personal data, tokenize once, label area and sentiment.

Takes the canonical feedback frame of an adapter and returns rows ready for the ``feedback`` table.
Every text is normalised once and tokenized once; the same tokens feed the area model, the
sentiment model and keyword extraction. Nothing that leaves this module holds unmasked personal
data: free text, titles, addresses and handling results go through ``mask_pii``; name and phone
fields are masked; credit codes and phone numbers survive only as salted hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from nlp import pii
from nlp.classify import load_area_model
from nlp.keywords import KeywordExtractor
from nlp.sentiment import load_sentiment_model
from nlp.text import normalize_many
from nlp.tokenize import Tokenizer
from pipeline.config import all_keywords, area_keywords, settings
from pipeline.salt import hash_salt


def stable_id(*parts: object) -> str:
    """A 40-hex id from the parts (sha1): stable across runs, machines and databases."""
    raw = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()


@dataclass
class Enricher:
    """Holds the loaded models so a run loads them once (模型只加载一次)."""

    tokenizer: Tokenizer
    area_model: Any
    sentiment_model: Any
    keyword_extractor: KeywordExtractor
    model_version: str

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
    version = f"area:{getattr(area_model, 'version', 'lexicon')}|sent:{getattr(sentiment_model, 'version', '?')}"
    return Enricher(tokenizer, area_model, sentiment_model, extractor, version)


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
    code = (credit_code or "").strip().upper()
    if code:
        return pii.salted_hash(code, hash_salt())
    name = (entity_name or "").strip()
    if name:
        return pii.salted_hash("name:" + name, hash_salt())
    return None


def enrich_feedback(source: str, feedback: pd.DataFrame, record_keys: dict[str, str],
                    corrections: dict[str, dict] | None = None,
                    enricher: Enricher | None = None) -> list[dict[str, Any]]:
    """Turn canonical feedback rows into ``feedback`` table rows.

    ``record_keys`` maps the adapter's natural key to the warehouse ``record_key``;
    ``corrections`` maps feedback_id to an analyst's label correction, which wins over the model.
    """
    if feedback.empty:
        return []
    enricher = enricher or get_enricher()
    corrections = corrections or {}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    texts = normalize_many([_str_or_none(t) or "" for t in feedback["text"].tolist()])
    titles = normalize_many([_str_or_none(t) or "" for t in feedback["title"].tolist()])
    masked_texts = pii.mask_many(texts)
    masked_titles = pii.mask_many(titles)
    # The title carries the gist of a work order: classify title + text, tokenized once.
    docs = [f"{t}。{x}" if t and t not in x else x for t, x in zip(masked_titles, masked_texts, strict=True)]
    tokens = enricher.tokenize(docs)
    request_types = [_str_or_none(v) for v in feedback["request_type"].tolist()]
    areas = enricher.area_model.predict_frame(tokens)
    sentiments = enricher.sentiment_model.predict_frame(tokens, request_types=request_types)
    content = [enricher.tokenizer.content_tokens(t) for t in tokens]
    rows: list[dict[str, Any]] = []
    for i, rec in enumerate(feedback.itertuples(index=False)):
        r = rec._asdict()
        record_key = record_keys[str(r["record_key"])]
        feedback_id = stable_id(record_key, r.get("part") or "")
        received_at = _to_dt(r.get("received_at"))
        due_at, closed_at = _to_dt(r.get("due_at")), _to_dt(r.get("closed_at"))
        credit = _str_or_none(r.get("credit_code"))
        name = _str_or_none(r.get("entity_name"))
        phone = _str_or_none(r.get("phone"))
        area_row = areas.iloc[i]
        sent_row = sentiments.iloc[i]
        corr = corrections.get(feedback_id) or {}
        score = _clean(r.get("score_100"))
        rows.append({
            "feedback_id": feedback_id,
            "record_key": record_key,
            "source": source,
            "source_record_id": str(r.get("source_record_id") or r["record_key"]),
            "part": str(r.get("part") or ""),
            "channel": _str_or_none(r.get("channel")),
            "received_at": received_at,
            "received_date": received_at.date() if received_at else None,
            "request_type": request_types[i],
            "writer_type": _str_or_none(r.get("writer_type")),
            "entity_hash": entity_hash(credit, name),
            "entity_name_masked": pii.mask_org_name(name) if name else None,
            "person_name_masked": pii.mask_name(_str_or_none(r.get("person_name"))),
            "phone_masked": pii.mask_phone_field(phone) if phone else None,
            "phone_hash": pii.salted_hash(phone, hash_salt()) if phone else None,
            "address_masked": pii.mask_pii(_str_or_none(r.get("address")) or "") or None,
            "street": _str_or_none(r.get("street")),
            "title": masked_titles[i] or None,
            "text": masked_texts[i],
            "text_length": len(masked_texts[i]),
            "tokens": " ".join(content[i]),
            "call_taker_category": _str_or_none(r.get("call_taker_category")),
            "unit": _str_or_none(r.get("unit")),
            "due_at": due_at,
            "closed_at": closed_at,
            "handling_result": pii.mask_pii(_str_or_none(r.get("handling_result")) or "") or None,
            "status": _str_or_none(r.get("status")),
            "satisfaction": _str_or_none(r.get("satisfaction")),
            "resolved": _clean(r.get("resolved")),
            "on_time": (closed_at <= due_at) if (closed_at and due_at) else None,
            "reporter_category": _str_or_none(r.get("reporter_category")),
            "score_100": float(score) if score is not None and not math.isnan(float(score)) else None,
            "area": corr.get("area") or str(area_row["label"]),
            "area2": corr.get("area2") if corr.get("area") else _str_or_none(area_row.get("label2")),
            "area_confidence": 1.0 if corr.get("area") else float(area_row["confidence"]),
            "area_origin": "correction" if corr.get("area") else "model",
            "sentiment": corr.get("sentiment") or str(sent_row["label"]),
            "sentiment_score": float(sent_row["score"]),
            "sentiment_confidence": 1.0 if corr.get("sentiment") else float(sent_row["confidence"]),
            "keywords": " ".join(enricher.keyword_extractor.keywords(content[i], k=5)),
            "model_version": enricher.model_version,
            "loaded_at": now,
        })
    return rows


def review_threshold() -> float:
    return float(settings().get("classify", {}).get("review_threshold", 0.45))
