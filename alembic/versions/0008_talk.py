"""Private messages, notifications and blocks (SPEC 8.4)

Three new tables; every foreign key is ON DELETE CASCADE, so a deleted
account takes its messages, notifications and blocks, and a deleted post,
comment or message takes the notifications about it. Indexes: notifications
by user and read state (the navbar count) and by user and time (the list);
messages by sender and recipient either way round (a conversation, the
inbox, marking read) and by sender and time (the sending limit); blocks both
ways round.

Revision ID: 0008_talk
Revises: 0007_two_factor
Create Date: 2026-12-02 06:47:43
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008_talk"
down_revision: str | None = "0007_two_factor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "blocks",
        sa.Column("blocker_id", sa.Integer(), nullable=False),
        sa.Column("blocked_id", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["blocked_id"],
            ["users.id"],
            name=op.f("fk_blocks_blocked_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blocker_id"],
            ["users.id"],
            name=op.f("fk_blocks_blocker_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("blocker_id", "blocked_id", name=op.f("pk_blocks")),
    )
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_blocks_blocked_id_blocker_id", ["blocked_id", "blocker_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_messages_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sender_id"],
            ["users.id"],
            name=op.f("fk_messages_sender_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_recipient_id_sender_id_timestamp",
            ["recipient_id", "sender_id", "timestamp"],
            unique=False,
        )
        batch_op.create_index(
            "ix_messages_sender_id_recipient_id_timestamp",
            ["sender_id", "recipient_id", "timestamp"],
            unique=False,
        )
        batch_op.create_index(
            "ix_messages_sender_id_timestamp", ["sender_id", "timestamp"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_notifications_actor_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_notifications_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_notifications_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_notifications_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notifications_comment_id"), ["comment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notifications_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notifications_post_id"), ["post_id"], unique=False)
        batch_op.create_index(
            "ix_notifications_user_id_read_timestamp",
            ["user_id", "read", "timestamp"],
            unique=False,
        )
        batch_op.create_index(
            "ix_notifications_user_id_timestamp_id", ["user_id", "timestamp", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_id_timestamp_id")
        batch_op.drop_index("ix_notifications_user_id_read_timestamp")
        batch_op.drop_index(batch_op.f("ix_notifications_post_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_message_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_comment_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_actor_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_sender_id_timestamp")
        batch_op.drop_index("ix_messages_sender_id_recipient_id_timestamp")
        batch_op.drop_index("ix_messages_recipient_id_sender_id_timestamp")

    op.drop_table("messages")
    with op.batch_alter_table("blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_blocks_blocked_id_blocker_id")

    op.drop_table("blocks")
