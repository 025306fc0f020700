"""views: v_ledger_overdue counts "today" in Beijing time

``v_ledger_overdue`` compared deadlines with ``CURRENT_DATE``, which SQLite takes in UTC: from 00:00
to 08:00 Beijing time, items due the day before were not yet listed. The views are created again
(``create_views``: on PostgreSQL ``CREATE OR REPLACE``, which keeps the analyst role's grants).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
from alembic import op

from warehouse.views import create_views

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_views(op.get_bind())


def downgrade() -> None:
    # The view definitions live in warehouse/views.py; the current ones serve revision 0002 as well.
    create_views(op.get_bind())
