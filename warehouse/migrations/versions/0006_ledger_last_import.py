"""ledger_item.last_import: the returned row last applied to an item

Importing the same department file twice must change nothing. After a 不满意 follow-up the first
import moves the item on (重新交办, a new deadline, version + 1), so the second import saw an edited
row from an older version and refused it as a conflict with "someone else". The item now keeps the
signature of the row that last changed it (the row's 版本 and the fingerprint of its editable
cells); the same row coming back is recognised and skipped.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_item") as batch:
        batch.add_column(sa.Column("last_import", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_item") as batch:
        batch.drop_column("last_import")
