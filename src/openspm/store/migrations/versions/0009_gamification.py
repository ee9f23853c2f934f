"""gamification: ranking preferences (leaderboard opt-out), contests and SPIF campaigns, badges, notifications

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openspm.store.types


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ranking_preferences',
    sa.Column('payee_id', sa.Integer(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=254), nullable=False),
    sa.Column('updated_at', openspm.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payee_id'], ['payees.id'], name=op.f('fk_ranking_preferences_payee_id_payees')),
    sa.PrimaryKeyConstraint('payee_id', name=op.f('pk_ranking_preferences'))
    )
    op.create_table('contests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('plan', sa.String(length=128), nullable=False),
    sa.Column('first_month', sa.String(length=32), nullable=False),
    sa.Column('last_month', sa.String(length=32), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('standings', sa.JSON(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', openspm.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=254), nullable=True),
    sa.Column('closed_at', openspm.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contests')),
    sa.UniqueConstraint('key', name=op.f('uq_contests_key'))
    )
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contests_status'), ['status'], unique=False)

    op.create_table('badges',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('payee_id', sa.Integer(), nullable=False),
    sa.Column('badge', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('earned_on', sa.Date(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('awarded_at', openspm.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payee_id'], ['payees.id'], name=op.f('fk_badges_payee_id_payees')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_badges')),
    sa.UniqueConstraint('payee_id', 'badge', 'key', name=op.f('uq_badges_payee_id_badge_key'))
    )
    with op.batch_alter_table('badges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_badges_payee_id'), ['payee_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=True),
    sa.Column('created_at', openspm.store.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', openspm.store.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('user_id', 'key', name=op.f('uq_notifications_user_id_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))
    op.drop_table('notifications')
    with op.batch_alter_table('badges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_badges_payee_id'))
    op.drop_table('badges')
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contests_status'))
    op.drop_table('contests')
    op.drop_table('ranking_preferences')
