"""The data model: Permission, Role, User, Follow, Post, Comment, the security tables,
and what users say to each other: Message, Notification, Block.

Relationships are `lazy="raise"`: async code cannot lazy-load, so every query
says what it loads (`selectinload`, `joinedload`) and a forgotten load fails
loudly in tests instead of silently issuing one query per row.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    false,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from . import search_index

if TYPE_CHECKING:
    from .queries import PostRow

__all__ = [
    "ApiToken",
    "Base",
    "Block",
    "Comment",
    "Follow",
    "LoginFailure",
    "Message",
    "Notification",
    "NotificationKind",
    "Permission",
    "Post",
    "RecoveryCode",
    "Rights",
    "Role",
    "User",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite keeps no offset, PostgreSQL keeps it as `timestamptz`; either way
    the application only ever sees aware UTC datetimes and never compares a
    naive value with an aware one.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Permission(enum.IntFlag):
    FOLLOW = 1
    COMMENT = 2
    WRITE = 4
    MODERATE = 8
    ADMIN = 16


def grants(permissions: int, perm: Permission) -> bool:
    """Whether a role's `permissions` include `perm`."""
    # Plain integers: `int & Permission` builds a new flag member through
    # enum's machinery, and a list page asks once per post.
    value = int(perm)
    return permissions & value == value


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    default: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    permissions: Mapped[int] = mapped_column(Integer, default=0)

    users: Mapped[list[User]] = relationship(back_populates="role", lazy="raise")

    # The roles every installation has, with their permissions and the default.
    DEFINITIONS: dict[str, tuple[Permission, bool]] = {
        "User": (Permission.FOLLOW | Permission.COMMENT | Permission.WRITE, True),
        "Moderator": (
            Permission.FOLLOW | Permission.COMMENT | Permission.WRITE | Permission.MODERATE,
            False,
        ),
        "Administrator": (
            Permission.FOLLOW
            | Permission.COMMENT
            | Permission.WRITE
            | Permission.MODERATE
            | Permission.ADMIN,
            False,
        ),
    }

    def has_permission(self, perm: Permission) -> bool:
        return grants(self.permissions, perm)

    @classmethod
    async def insert_roles(cls, session: AsyncSession) -> bool:
        """Create or update the standard roles; returns whether anything changed."""
        existing = {role.name: role for role in (await session.scalars(select(cls))).all()}
        changed = False
        for name, (permissions, default) in cls.DEFINITIONS.items():
            role = existing.get(name)
            if role is None:
                session.add(cls(name=name, permissions=int(permissions), default=default))
                changed = True
            elif role.permissions != int(permissions) or role.default != default:
                role.permissions = int(permissions)
                role.default = default
                changed = True
        return changed

    def __repr__(self) -> str:
        return f"<Role {self.name!r}>"


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        Index("ix_follows_followed_id_timestamp", "followed_id", "timestamp"),
        Index("ix_follows_follower_id_timestamp", "follower_id", "timestamp"),
    )

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followed_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    follower: Mapped[User] = relationship(foreign_keys=[follower_id], lazy="raise")
    followed: Mapped[User] = relationship(foreign_keys=[followed_id], lazy="raise")


class Rights:
    """What a user may do, from the permissions of their role: for `User`, and for
    the plain row of a signed-in user or API caller (`service.identity.Reader`)."""

    if TYPE_CHECKING:
        id: int

    def role_permissions(self) -> int:
        """The permissions of the user's role; 0 without one."""
        raise NotImplementedError

    def can(self, perm: Permission) -> bool:
        return grants(self.role_permissions(), perm)

    def is_administrator(self) -> bool:
        return self.can(Permission.ADMIN)

    def can_change(self, post: Post | PostRow) -> bool:
        """Whether this user may edit or delete `post`: its author or an administrator."""
        return post.author_id == self.id or self.is_administrator()


class User(Rights, Base):
    __tablename__ = "users"
    # Ids are never reused (SQLite would reuse the largest after a deletion):
    # a login cookie names an id, and must not outlive the account it named.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(64))
    location: Mapped[str | None] = mapped_column(String(64))
    about_me: Mapped[str | None] = mapped_column(Text)
    member_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    avatar_hash: Mapped[str | None] = mapped_column(String(32))
    role_id: Mapped[int | None] = mapped_column(ForeignKey("roles.id"), index=True)
    # Part of every login cookie: bumping it ends all of the user's sessions
    # (password change, "log out everywhere").
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    # The interface and e-mail language the user chose (`en`, `zh-CN`); None
    # until they choose, and then the request decides (SPEC 8.1).
    locale: Mapped[str | None] = mapped_column(String(16))
    # Two-factor sign-in (service/two_factor.py): the TOTP secret, encrypted
    # with a key derived from SECRET_KEY, and the last time step a code was
    # accepted for, so that no code works twice, whichever server checks it.
    two_factor_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    two_factor_secret: Mapped[str | None] = mapped_column(String(256))
    two_factor_last_step: Mapped[int | None] = mapped_column(Integer)

    role: Mapped[Role | None] = relationship(back_populates="users", lazy="raise")
    posts: Mapped[list[Post]] = relationship(back_populates="author", lazy="raise")
    comments: Mapped[list[Comment]] = relationship(back_populates="author", lazy="raise")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.email is not None:
            self.email = self.email.lower()
            if self.avatar_hash is None:
                self.avatar_hash = self.email_hash(self.email)
        self.session_generation = self.session_generation or 0

    @staticmethod
    def email_hash(email: str) -> str:
        # MD5 only because Gravatar addresses avatars by it; it guards nothing.
        return hashlib.md5(email.lower().encode(), usedforsecurity=False).hexdigest()

    def set_email(self, email: str) -> None:
        self.email = email.lower()
        self.avatar_hash = self.email_hash(self.email)

    def role_permissions(self) -> int:
        """Needs `role` loaded; every query for a current user loads it."""
        return self.role.permissions if self.role is not None else 0

    def end_all_sessions(self) -> None:
        self.session_generation = (self.session_generation or 0) + 1

    @property
    def session_id(self) -> str:
        """The identity a login cookie carries: user id and session generation."""
        return f"{self.id}:{self.session_generation}"

    def __repr__(self) -> str:
        return f"<User {self.username!r}>"


class Post(Base):
    __tablename__ = "posts"
    # Lists sort by (timestamp, id): with the id in the index, PostgreSQL can
    # find a deep page's ids by an index-only scan instead of a sort.
    __table_args__ = (
        Index("ix_posts_author_id_timestamp_id", "author_id", "timestamp", "id"),
        Index("ix_posts_timestamp_id", "timestamp", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    author: Mapped[User] = relationship(back_populates="posts", lazy="raise")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post", lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @staticmethod
    def in_timeline_of(user_id: int | ColumnElement[int]) -> ColumnElement[bool]:
        """Posts of the users `user_id` follows, and their own: no self-follow row is needed.

        `user_id` is a value or a bound parameter (a statement built once).

        One `IN` over the authors (those followed, and the user), not `IN (...)
        OR author_id = :me`: the OR hid the author index from PostgreSQL's
        planner, which then walked every post in time order and filtered
        it (a million rows for a user who follows nobody). So each author's
        posts come from `ix_posts_author_id_timestamp_id`.
        """
        me = user_id if isinstance(user_id, ColumnElement) else literal(user_id)
        followed = select(Follow.followed_id).where(Follow.follower_id == user_id)
        return Post.author_id.in_(followed.union_all(select(me)))

    def __repr__(self) -> str:
        return f"<Post {self.id}>"


# The full-text index of posts (service/search_index.py), for create_all as for the migration.
search_index.attach(Post.__table__, User.__table__)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_post_id_timestamp", "post_id", "timestamp"),
        Index("ix_comments_timestamp_id", "timestamp", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)

    author: Mapped[User] = relationship(back_populates="comments", lazy="raise")
    post: Mapped[Post] = relationship(back_populates="comments", lazy="raise")

    def __repr__(self) -> str:
        return f"<Comment {self.id}>"


class ApiToken(Base):
    """An API token, stored only as its SHA-256 so a database leak yields no usable token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

    user: Mapped[User] = relationship(lazy="raise")


def hash_token(token: str) -> str:
    """What the database keeps of an API token (`ApiToken.token_hash`).

    A SHA-256, not the token: a leaked table yields no usable token, and
    checking one costs an indexed lookup rather than an Argon2 verification.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class RecoveryCode(Base):
    """An unused two-factor recovery code, kept only as its keyed hash (service/two_factor.py).

    Using a code deletes its row: the delete that finds it is what makes it single-use.
    """

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_id_code_hash", "user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))


class LoginFailure(Base):
    """One failed login (or one being checked), per account and client address.

    A row is written before the password is checked and counted after, so
    parallel guesses cannot all slip under the limit; workers insert and
    delete rows and never contend on a shared counter.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_address_timestamp", "email", "address", "timestamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Message(Base):
    """A private message from `sender` to `recipient`; `read` once the recipient has seen it.

    A conversation is the messages between two users in either direction; the
    two (sender, recipient, timestamp) indexes serve it from both sides, the
    inbox (grouped by the other person) and the unread marks. The
    (sender, timestamp) index serves the per-minute sending limit.
    """

    __tablename__ = "messages"
    __table_args__ = (
        Index(
            "ix_messages_sender_id_recipient_id_timestamp", "sender_id", "recipient_id", "timestamp"
        ),
        Index(
            "ix_messages_recipient_id_sender_id_timestamp", "recipient_id", "sender_id", "timestamp"
        ),
        Index("ix_messages_sender_id_timestamp", "sender_id", "timestamp"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read: Mapped[bool] = mapped_column(Boolean, default=False)

    sender: Mapped[User] = relationship(foreign_keys=[sender_id], lazy="raise")

    def __repr__(self) -> str:
        return f"<Message {self.id}>"


class NotificationKind(enum.StrEnum):
    FOLLOW = "follow"
    COMMENT = "comment"
    MESSAGE = "message"


class Notification(Base):
    """Something that happened to `user`: `actor` followed them, commented or wrote to them.

    Written in the transaction of the event itself. What it is about (the
    comment and its post, the message) references the row with ON DELETE
    CASCADE, so a notification goes when what it tells of goes.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_id_read_timestamp", "user_id", "read", "timestamp"),
        Index("ix_notifications_user_id_timestamp_id", "user_id", "timestamp", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read: Mapped[bool] = mapped_column(Boolean, default=False)

    actor: Mapped[User] = relationship(foreign_keys=[actor_id], lazy="raise")

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind}>"


class Block(Base):
    """`blocker` has blocked `blocked`: no follows, messages or comments from them."""

    __tablename__ = "blocks"
    __table_args__ = (Index("ix_blocks_blocked_id_blocker_id", "blocked_id", "blocker_id"),)

    blocker_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
