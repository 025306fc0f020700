"""Warehouse tables (数据仓库表), SQLAlchemy 2 typed models.

Every table and column here is documented in docs/data_dictionary.md; tests/test_data_dictionary.py
keeps the two in step. Nothing in these tables holds unmasked personal data: names, phone numbers,
ID numbers and credit codes are masked before loading, and a salted hash (``entity_hash``) keeps
enterprises joinable across sources and months.

The schema is created and migrated with Alembic (``yingshang db upgrade``); the models are the
single source of truth the migrations are generated from.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of all warehouse tables."""


# --------------------------------------------------------------------------- dimensions


class DimArea(Base):
    """Indicator area (指标领域): the nine areas of the taxonomy plus Z (其他)."""

    __tablename__ = "dim_area"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    lead_unit: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class DimSource(Base):
    """Feedback channel family (数据来源): hotline, questionnaire, survey, supervisor."""

    __tablename__ = "dim_source"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    weight: Mapped[float] = mapped_column(Float, default=1.0)


class DimDepartment(Base):
    """Responsible unit (责任单位 / 承办单位) seen in work orders, clues or the ledger."""

    __tablename__ = "dim_department"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    lead_of_areas: Mapped[str | None] = mapped_column(String(64))


class DimEntity(Base):
    """Market entity (市场主体), known only by a salted hash of its credit code or name."""

    __tablename__ = "dim_entity"

    entity_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_masked: Mapped[str | None] = mapped_column(String(256))
    credit_code_masked: Mapped[str | None] = mapped_column(String(32))
    credit_code_valid: Mapped[bool | None] = mapped_column(Boolean)
    first_seen: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_seen: Mapped[dt.datetime | None] = mapped_column(DateTime)


class DimDate(Base):
    """Calendar day (日期维) with China's official working-day flag (调休 included)."""

    __tablename__ = "dim_date"

    date_key: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    day: Mapped[int] = mapped_column(Integer)
    weekday: Mapped[int] = mapped_column(Integer)
    is_workday: Mapped[bool] = mapped_column(Boolean)


# --------------------------------------------------------------------------- ingestion bookkeeping


class IngestFile(Base):
    """One landing file the pipeline has seen (入库文件登记), with its row counters."""

    __tablename__ = "ingest_file"

    file_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    rows_in: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    ignored_rows: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SourceRecord(Base):
    """Registry of every natural record (源记录): one row per work order, response, score row …

    ``content_hash`` decides whether a record arriving again is unchanged or an update.
    """

    __tablename__ = "source_record"

    record_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    natural_key: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(40))
    first_file_id: Mapped[int] = mapped_column(ForeignKey("ingest_file.file_id"))
    last_file_id: Mapped[int] = mapped_column(ForeignKey("ingest_file.file_id"))
    row_number: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class RecordHistory(Base):
    """Append-only history of changes to a record (变更历史), e.g. a work order's new status."""

    __tablename__ = "record_history"

    history_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_key: Mapped[str] = mapped_column(ForeignKey("source_record.record_key"), index=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingest_file.file_id"))
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    old_hash: Mapped[str] = mapped_column(String(40))
    new_hash: Mapped[str] = mapped_column(String(40))
    changes: Mapped[dict] = mapped_column(JSON)


class QuarantineRow(Base):
    """An input row that was not accepted (隔离区), with the reason and the (masked) raw row."""

    __tablename__ = "quarantine"

    quarantine_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingest_file.file_id"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    # The sheet, for a workbook with several used sheets ('' otherwise): row numbers repeat across sheets.
    sheet: Mapped[str] = mapped_column(String(128), default="", server_default="")
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("file_id", "sheet", "row_number", name="uq_quarantine_file_sheet_row"),)


# --------------------------------------------------------------------------- facts


class Feedback(Base):
    """One piece of feedback text (诉求/意见/暗访发现/监督员反映), whatever its source, enriched by NLP."""

    __tablename__ = "feedback"

    feedback_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_key: Mapped[str] = mapped_column(ForeignKey("source_record.record_key"), index=True)
    source: Mapped[str] = mapped_column(ForeignKey("dim_source.code"))
    source_record_id: Mapped[str] = mapped_column(String(128))
    part: Mapped[str] = mapped_column(String(128), default="")
    channel: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    received_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    request_type: Mapped[str | None] = mapped_column(String(16))
    writer_type: Mapped[str | None] = mapped_column(String(16))
    entity_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    entity_name_masked: Mapped[str | None] = mapped_column(String(256))
    person_name_masked: Mapped[str | None] = mapped_column(String(64))
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    phone_hash: Mapped[str | None] = mapped_column(String(32))
    address_masked: Mapped[str | None] = mapped_column(Text)
    street: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_length: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[str | None] = mapped_column(Text)
    call_taker_category: Mapped[str | None] = mapped_column(String(128))
    unit: Mapped[str | None] = mapped_column(String(128))
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    handling_result: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(32))
    satisfaction: Mapped[str | None] = mapped_column(String(16))
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    reporter_category: Mapped[str | None] = mapped_column(String(32))
    score_100: Mapped[float | None] = mapped_column(Float)
    area: Mapped[str] = mapped_column(String(8), index=True)
    area2: Mapped[str | None] = mapped_column(String(8))
    area_confidence: Mapped[float] = mapped_column(Float)
    area_origin: Mapped[str] = mapped_column(String(16), default="model")
    sentiment: Mapped[str] = mapped_column(String(8))
    sentiment_score: Mapped[float] = mapped_column(Float)
    sentiment_confidence: Mapped[float] = mapped_column(Float)
    keywords: Mapped[str | None] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_feedback_area_date", "area", "received_date"),)


class SurveyAnswer(Base):
    """Questionnaire answer (问卷答案), long: one row per response × question."""

    __tablename__ = "survey_answer"

    answer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_key: Mapped[str] = mapped_column(ForeignKey("source_record.record_key"), index=True)
    response_no: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    submitted_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    question: Mapped[str] = mapped_column(Text)
    area: Mapped[str | None] = mapped_column(String(8))
    answer_text: Mapped[str | None] = mapped_column(Text)
    score_100: Mapped[float | None] = mapped_column(Float)
    entity_hash: Mapped[str | None] = mapped_column(String(32))
    street: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[str | None] = mapped_column(String(32))


class SurveyScore(Base):
    """Third-party evaluation score (第三方测评得分): month × unit × indicator × method."""

    __tablename__ = "survey_score"

    score_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_key: Mapped[str] = mapped_column(ForeignKey("source_record.record_key"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    unit: Mapped[str] = mapped_column(String(128))
    indicator: Mapped[str] = mapped_column(String(128))
    area: Mapped[str | None] = mapped_column(String(8))
    method: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    sample_size: Mapped[int | None] = mapped_column(Integer)
    rank: Mapped[int | None] = mapped_column(Integer)


class LabelCorrection(Base):
    """An analyst's correction of a predicted label (人工标注更正); overrides the model at once."""

    __tablename__ = "label_correction"

    feedback_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    area: Mapped[str | None] = mapped_column(String(8))
    area2: Mapped[str | None] = mapped_column(String(8))
    sentiment: Mapped[str | None] = mapped_column(String(8))
    corrected_by: Mapped[str] = mapped_column(String(64))
    corrected_at: Mapped[dt.datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)
    # SHA-1 of the (masked) text the analyst corrected: a record re-delivered with another text is
    # another complaint, and the correction no longer applies to it (nor teaches the next model).
    text_hash: Mapped[str | None] = mapped_column(String(40))


class ReviewQueueItem(Base):
    """A feedback item whose area label is too uncertain to trust (待复核队列); analysts review it."""

    __tablename__ = "review_queue"

    feedback_id: Mapped[str] = mapped_column(ForeignKey("feedback.feedback_id"), primary_key=True)
    area: Mapped[str] = mapped_column(String(8))
    area_confidence: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="open")
    queued_at: Mapped[dt.datetime] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


# --------------------------------------------------------------------------- clues and ledger


class ProblemClue(Base):
    """A problem clue (问题线索): similar feedback of one month grouped into one concrete problem."""

    __tablename__ = "problem_clue"

    clue_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    area: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    keywords: Mapped[str | None] = mapped_column(Text)
    n_items: Mapped[int] = mapped_column(Integer)
    n_entities: Mapped[int] = mapped_column(Integer)
    n_sources: Mapped[int] = mapped_column(Integer)
    n_streets: Mapped[int] = mapped_column(Integer)
    sources: Mapped[str] = mapped_column(String(128))
    first_seen: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_seen: Mapped[dt.datetime | None] = mapped_column(DateTime)
    examples: Mapped[list] = mapped_column(JSON)
    heat: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(4))
    responsible_unit: Mapped[str | None] = mapped_column(String(128))
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    previous_clue_id: Mapped[str | None] = mapped_column(String(48))
    recurring: Mapped[bool] = mapped_column(Boolean, default=False)
    built_at: Mapped[dt.datetime] = mapped_column(DateTime)


class ClueMember(Base):
    """Membership of a feedback item in a clue (线索明细)."""

    __tablename__ = "clue_member"

    clue_id: Mapped[str] = mapped_column(ForeignKey("problem_clue.clue_id"), primary_key=True)
    feedback_id: Mapped[str] = mapped_column(ForeignKey("feedback.feedback_id"), primary_key=True)
    similarity: Mapped[float | None] = mapped_column(Float)


class LedgerItem(Base):
    """A rectification item (问题台账条目) created from a clue and worked by a department."""

    __tablename__ = "ledger_item"

    item_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    clue_id: Mapped[str] = mapped_column(String(48), unique=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    area: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    grade: Mapped[str] = mapped_column(String(4))
    responsible_unit: Mapped[str | None] = mapped_column(String(128))
    deadline: Mapped[dt.date | None] = mapped_column(Date)
    measures: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    followup: Mapped[str | None] = mapped_column(String(16))
    followup_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_fields: Mapped[list] = mapped_column(JSON, default=list)
    # The returned row that last changed the item ("<版本>:<fingerprint>"): the same row imported again
    # is recognised (migration 0006).
    last_import: Mapped[str | None] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)


class LedgerEvent(Base):
    """Append-only trail of every accepted ledger change (台账变更记录): who, when, from, to, note."""

    __tablename__ = "ledger_event"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("ledger_item.item_id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime)
    who: Mapped[str] = mapped_column(String(128))
    field: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class WarehouseMeta(Base):
    """Key/value facts about the warehouse itself (元数据), e.g. the masking rules its rows follow."""

    __tablename__ = "warehouse_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
