"""label_correction.text_hash: a correction holds for the text it was made for

A work order re-delivered with an entirely different complaint kept its analyst's area correction, and
retraining would have learnt the new text with the old label. The correction now keeps the SHA-1 of
the (masked) text it was made for; re-ingest applies it, and retraining uses it, only while the text is
the same. Corrections stored before get the hash of their feedback's current text.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("label_correction") as batch:
        batch.add_column(sa.Column("text_hash", sa.String(40), nullable=True))
    conn = op.get_bind()
    c = sa.table("label_correction", sa.column("feedback_id", sa.String), sa.column("text_hash", sa.String))
    f = sa.table("feedback", sa.column("feedback_id", sa.String), sa.column("text", sa.Text))
    rows = conn.execute(sa.select(c.c.feedback_id, f.c.text).join(f, f.c.feedback_id == c.c.feedback_id)).all()
    for fid, text in rows:
        conn.execute(c.update().where(c.c.feedback_id == fid)
                     .values(text_hash=hashlib.sha1((text or "").encode("utf-8")).hexdigest()))


def downgrade() -> None:
    with op.batch_alter_table("label_correction") as batch:
        batch.drop_column("text_hash")
