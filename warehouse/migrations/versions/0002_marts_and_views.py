"""marts and analyst views

Creates the mart tables (mart_*; models in warehouse/marts.py) and the analyst views (v_*; SQL in
warehouse/views.py). Hand-written: the mart columns are spelled out so that this revision stays what
it was when the models change later; the views are (re)created by ``create_views``, which a later
revision calls again whenever a view changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

# Importing the mart models puts them on Base.metadata, so autogenerate (env.py imports
# warehouse.models only) sees the marts as known tables and does not propose dropping them.
import warehouse.marts  # noqa: F401
from warehouse.views import create_views, drop_views

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

MART_TABLES = ('mart_feedback_daily', 'mart_feedback_monthly', 'mart_area_monthly', 'mart_survey_area_monthly',
               'mart_score_monthly', 'mart_repeat_entity', 'mart_month')


def upgrade() -> None:
    op.create_table(
        'mart_feedback_daily',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('area', sa.String(length=8), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('street', sa.String(length=64), nullable=False),
        sa.Column('writer_type', sa.String(length=16), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('n_feedback', sa.Integer(), nullable=False),
        sa.Column('n_negative', sa.Integer(), nullable=False),
        sa.Column('negative_share', sa.Float(), nullable=True),
        sa.Column('sentiment_mean', sa.Float(), nullable=True),
        sa.Column('n_complaints', sa.Integer(), nullable=False),
        sa.Column('n_entities', sa.Integer(), nullable=False),
        sa.Column('n_handled', sa.Integer(), nullable=False),
        sa.Column('n_on_time', sa.Integer(), nullable=False),
        sa.Column('on_time_rate', sa.Float(), nullable=True),
        sa.Column('n_followup', sa.Integer(), nullable=False),
        sa.Column('n_satisfied', sa.Integer(), nullable=False),
        sa.Column('followup_satisfaction_rate', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('day', 'area', 'source', 'channel', 'street', 'writer_type'),
    )
    op.create_index(op.f('ix_mart_feedback_daily_month'), 'mart_feedback_daily', ['month'], unique=False)
    op.create_table(
        'mart_feedback_monthly',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('area', sa.String(length=8), nullable=False),
        sa.Column('source', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('street', sa.String(length=64), nullable=False),
        sa.Column('writer_type', sa.String(length=16), nullable=False),
        sa.Column('n_feedback', sa.Integer(), nullable=False),
        sa.Column('n_negative', sa.Integer(), nullable=False),
        sa.Column('negative_share', sa.Float(), nullable=True),
        sa.Column('sentiment_mean', sa.Float(), nullable=True),
        sa.Column('n_complaints', sa.Integer(), nullable=False),
        sa.Column('n_entities', sa.Integer(), nullable=False),
        sa.Column('n_handled', sa.Integer(), nullable=False),
        sa.Column('n_on_time', sa.Integer(), nullable=False),
        sa.Column('on_time_rate', sa.Float(), nullable=True),
        sa.Column('n_followup', sa.Integer(), nullable=False),
        sa.Column('n_satisfied', sa.Integer(), nullable=False),
        sa.Column('followup_satisfaction_rate', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('month', 'area', 'source', 'channel', 'street', 'writer_type'),
    )
    op.create_table(
        'mart_area_monthly',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('area', sa.String(length=8), nullable=False),
        sa.Column('survey_satisfaction', sa.Float(), nullable=True),
        sa.Column('survey_n_answers', sa.Integer(), nullable=False),
        sa.Column('third_party_score', sa.Float(), nullable=True),
        sa.Column('third_party_n', sa.Integer(), nullable=False),
        sa.Column('composite_index', sa.Float(), nullable=True),
        sa.Column('composite_components', sa.Integer(), nullable=False),
        sa.Column('composite_rank', sa.Integer(), nullable=True),
        sa.Column('n_feedback_prev_month', sa.Integer(), nullable=True),
        sa.Column('n_feedback_mom_pct', sa.Float(), nullable=True),
        sa.Column('n_feedback_prev_year', sa.Integer(), nullable=True),
        sa.Column('n_feedback_yoy_pct', sa.Float(), nullable=True),
        sa.Column('negative_share_prev_month', sa.Float(), nullable=True),
        sa.Column('negative_share_mom_pp', sa.Float(), nullable=True),
        sa.Column('negative_share_prev_year', sa.Float(), nullable=True),
        sa.Column('negative_share_yoy_pp', sa.Float(), nullable=True),
        sa.Column('survey_satisfaction_prev_month', sa.Float(), nullable=True),
        sa.Column('survey_satisfaction_mom_pts', sa.Float(), nullable=True),
        sa.Column('survey_satisfaction_prev_year', sa.Float(), nullable=True),
        sa.Column('survey_satisfaction_yoy_pts', sa.Float(), nullable=True),
        sa.Column('composite_index_prev_month', sa.Float(), nullable=True),
        sa.Column('composite_index_mom_pts', sa.Float(), nullable=True),
        sa.Column('composite_index_prev_year', sa.Float(), nullable=True),
        sa.Column('composite_index_yoy_pts', sa.Float(), nullable=True),
        sa.Column('composite_rank_prev_month', sa.Integer(), nullable=True),
        sa.Column('n_feedback', sa.Integer(), nullable=False),
        sa.Column('n_negative', sa.Integer(), nullable=False),
        sa.Column('negative_share', sa.Float(), nullable=True),
        sa.Column('sentiment_mean', sa.Float(), nullable=True),
        sa.Column('n_complaints', sa.Integer(), nullable=False),
        sa.Column('n_entities', sa.Integer(), nullable=False),
        sa.Column('n_handled', sa.Integer(), nullable=False),
        sa.Column('n_on_time', sa.Integer(), nullable=False),
        sa.Column('on_time_rate', sa.Float(), nullable=True),
        sa.Column('n_followup', sa.Integer(), nullable=False),
        sa.Column('n_satisfied', sa.Integer(), nullable=False),
        sa.Column('followup_satisfaction_rate', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('month', 'area'),
    )
    op.create_table(
        'mart_survey_area_monthly',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('area', sa.String(length=8), nullable=False),
        sa.Column('n_answers', sa.Integer(), nullable=False),
        sa.Column('n_responses', sa.Integer(), nullable=False),
        sa.Column('n_entities', sa.Integer(), nullable=False),
        sa.Column('satisfaction_mean', sa.Float(), nullable=False),
        sa.Column('satisfaction_prev_month', sa.Float(), nullable=True),
        sa.Column('satisfaction_mom_pts', sa.Float(), nullable=True),
        sa.Column('satisfaction_prev_year', sa.Float(), nullable=True),
        sa.Column('satisfaction_yoy_pts', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('month', 'area'),
    )
    op.create_table(
        'mart_score_monthly',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('area', sa.String(length=8), nullable=False),
        sa.Column('unit', sa.String(length=128), nullable=False),
        sa.Column('n_scores', sa.Integer(), nullable=False),
        sa.Column('score_mean', sa.Float(), nullable=False),
        sa.Column('score_min', sa.Float(), nullable=False),
        sa.Column('score_max', sa.Float(), nullable=False),
        sa.Column('sample_size', sa.Integer(), nullable=True),
        sa.Column('score_prev_month', sa.Float(), nullable=True),
        sa.Column('score_mom_pts', sa.Float(), nullable=True),
        sa.Column('score_prev_year', sa.Float(), nullable=True),
        sa.Column('score_yoy_pts', sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint('month', 'area', 'unit'),
    )
    op.create_table(
        'mart_repeat_entity',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('entity_hash', sa.String(length=32), nullable=False),
        sa.Column('name_masked', sa.String(length=256), nullable=True),
        sa.Column('window_start', sa.Date(), nullable=False),
        sa.Column('window_end', sa.Date(), nullable=False),
        sa.Column('n_complaints', sa.Integer(), nullable=False),
        sa.Column('n_complaints_month', sa.Integer(), nullable=False),
        sa.Column('n_areas', sa.Integer(), nullable=False),
        sa.Column('areas', sa.String(length=128), nullable=False),
        sa.Column('top_area', sa.String(length=8), nullable=False),
        sa.Column('n_sources', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(), nullable=False),
        sa.Column('last_at', sa.DateTime(), nullable=False),
        sa.Column('street', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('month', 'entity_hash'),
    )
    op.create_table(
        'mart_month',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('month_no', sa.Integer(), nullable=False),
        sa.Column('quarter', sa.Integer(), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.Column('n_days', sa.Integer(), nullable=False),
        sa.Column('prev_month', sa.String(length=7), nullable=False),
        sa.Column('prev_year_month', sa.String(length=7), nullable=False),
        sa.Column('next_month', sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint('month'),
    )
    create_views(op.get_bind())


def downgrade() -> None:
    drop_views(op.get_bind())
    op.drop_index(op.f('ix_mart_feedback_daily_month'), table_name='mart_feedback_daily')
    for name in reversed(MART_TABLES):
        op.drop_table(name)
