"""quarantine: rows are told apart by sheet as well as row number

Two quarantined rows with the same row number on two sheets of one workbook (第一周 / 第二周) were
stored as one (the unique key was file and row number): the second overwrote the first, which was then
neither loaded nor quarantined. ``quarantine.sheet`` holds the sheet name (empty for a file with one
used sheet), the unique key becomes (file, sheet, row number), and rows stored before are given the
sheet their reason starts with (``[第二周] 来电时间 …``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
import sys

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("sheet", sa.String(128), nullable=False, server_default=""))
        batch.drop_constraint("uq_quarantine_file_row", type_="unique")
        batch.create_unique_constraint("uq_quarantine_file_sheet_row", ["file_id", "sheet", "row_number"])
    conn = op.get_bind()
    q = sa.table("quarantine", sa.column("quarantine_id", sa.Integer), sa.column("reason", sa.Text),
                 sa.column("sheet", sa.String))
    rows = conn.execute(sa.select(q.c.quarantine_id, q.c.reason).where(q.c.reason.like("[%] %"))).all()
    for qid, reason in rows:
        sheet = reason[1:reason.index("] ")] if "] " in reason else ""
        conn.execute(q.update().where(q.c.quarantine_id == qid).values(sheet=sheet[:128]))
    # Rows lost before this revision cannot be recovered from the warehouse (nothing of them was kept):
    # name the files whose counter says more rows were quarantined than are stored, so that they can be
    # delivered again (as a copy under another name: the same bytes are skipped as loaded).
    lost = conn.execute(sa.text(
        "SELECT f.file_name, f.quarantined - COUNT(q.quarantine_id) FROM ingest_file f "
        "LEFT JOIN quarantine q ON q.file_id = f.file_id GROUP BY f.file_id, f.file_name, f.quarantined "
        "HAVING f.quarantined > COUNT(q.quarantine_id)")).all()
    for name, n in lost:
        # (stderr, not logging: the command line configures no log handler, and this must be seen)
        print(f"warning: {name}: {n} quarantined row(s) were lost before revision 0004 (two sheets' rows "
              "with one row number); export the file again (a byte-identical copy is skipped as loaded) or "
              "re-enter those rows to quarantine them", file=sys.stderr)


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_constraint("uq_quarantine_file_sheet_row", type_="unique")
        batch.create_unique_constraint("uq_quarantine_file_row", ["file_id", "row_number"])
        batch.drop_column("sheet")
