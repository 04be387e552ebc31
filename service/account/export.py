"""The export of a user's data: one JSON document, streamed page by page.

The document's format is versioned and described in docs/export-format.md;
`FORMAT` and `VERSION` name it. A reader that meets a version it does not
know should refuse it; a reader of version 1 ignores keys it does not know,
so sections can be added (as `messages` was) without a new version.

Memory does not grow with the account: each list is read in pages of
`PAGE_SIZE` rows, by keyset (rows after the last one sent, in the order of
an index), and each page is turned into text and handed to the server before
the next is read. Each page is read on a pooled connection of its own,
taken and given back around its one statement, so a client that reads
slowly holds no database connection or transaction while it reads: nothing
in the database waits for it (no SQLite checkpoint, no PostgreSQL snapshot held open). The
price is that the export is not one snapshot: a row written or deleted while
the export runs may or may not be in it. Every row that exists from the first
page to the last is in it exactly once, because the keyset never revisits or
skips a position.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import QueryableAttribute, aliased

from ..models import Comment, Follow, Message, Post, User, utcnow
from ..templating import isoformat

FORMAT = "flasky-export"
VERSION = 1

# Rows per statement: big enough that a page costs little per row, small
# enough that one page of long posts (100,000 characters at most) stays a few MB.
PAGE_SIZE = 200

# A row of any columns, and a statement that selects such rows.
AnyRow = Row[*tuple[Any, ...]]
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Section:
    """One list of the document: its key, the rows, their order, and each row's JSON."""

    name: str
    rows: Callable[[int], AnySelect]
    order: tuple[QueryableAttribute[Any], QueryableAttribute[Any]]
    item: Callable[[AnyRow], dict[str, Any]]


def _follows(name: str, listed: Any, anchor: Any) -> Section:
    """The users `anchor` points at through `listed`: whom the user follows, or who follows them."""
    return Section(
        name,
        lambda user_id: (
            select(Follow.timestamp, listed, User.username)
            .join(User, User.id == listed)
            .where(anchor == user_id)
        ),
        (Follow.timestamp, listed),
        lambda row: {"username": row.username, "since": isoformat(row.timestamp)},
    )


def _messages(user_id: int) -> AnySelect:
    """Every message the user sent or received, with the two usernames."""
    sender, recipient = aliased(User), aliased(User)
    return (
        select(
            Message.timestamp,
            Message.id,
            Message.body,
            sender.username.label("sender"),
            recipient.username.label("recipient"),
        )
        .join(sender, sender.id == Message.sender_id)
        .join(recipient, recipient.id == Message.recipient_id)
        .where((Message.sender_id == user_id) | (Message.recipient_id == user_id))
    )


SECTIONS = (
    Section(
        "posts",
        lambda user_id: select(Post.timestamp, Post.id, Post.body).where(Post.author_id == user_id),
        (Post.timestamp, Post.id),
        lambda row: {"id": row.id, "timestamp": isoformat(row.timestamp), "body": row.body},
    ),
    Section(
        "comments",
        lambda user_id: select(
            Comment.timestamp, Comment.id, Comment.post_id, Comment.body, Comment.disabled
        ).where(Comment.author_id == user_id),
        (Comment.timestamp, Comment.id),
        lambda row: {
            "id": row.id,
            "post_id": row.post_id,
            "timestamp": isoformat(row.timestamp),
            "body": row.body,
            "disabled": row.disabled,
        },
    ),
    _follows("following", Follow.followed_id, Follow.follower_id),
    _follows("followers", Follow.follower_id, Follow.followed_id),
    Section(
        "messages",
        _messages,
        (Message.timestamp, Message.id),
        lambda row: {
            "id": row.id,
            "timestamp": isoformat(row.timestamp),
            "from": row.sender,
            "to": row.recipient,
            "body": row.body,
        },
    ),
)


def profile_of(user: User) -> dict[str, Any]:
    """The account itself, as the document's `profile`: no password hash, session or secret."""
    return {
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "location": user.location,
        "about_me": user.about_me,
        "member_since": isoformat(user.member_since),
        "last_seen": isoformat(user.last_seen),
        "confirmed": user.confirmed,
        "role": user.role.name if user.role is not None else None,
        "locale": user.locale,
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _statements(section: Section, user_id: int) -> tuple[AnySelect, AnySelect]:
    """The statement of the first page, and that of the pages after the bound key `after_<n>`.

    Built once per section, so each page costs one execution of a cached statement.
    """
    first = section.rows(user_id).order_by(*section.order).limit(PAGE_SIZE)
    key = (bindparam(f"after_{n}", type_=column.type) for n, column in enumerate(section.order))
    return first, first.where(tuple_(*section.order) > tuple_(*key))


async def _section(engine: AsyncEngine, section: Section, user_id: int) -> AsyncIterator[str]:
    """`"name": [...]`, one chunk per page; a page shorter than `PAGE_SIZE` is the last.

    Each page is read on a connection of its own, returned to the pool before
    the page is handed on (see the module docstring).
    """
    yield f"{_json(section.name)}: ["
    first, following = _statements(section, user_id)
    statement, after = first, dict[str, Any]()
    separator = "\n"
    while True:
        async with engine.connect() as connection:
            rows = (await connection.execute(statement, after)).all()
        if rows:
            yield separator + ",\n".join(_json(section.item(row)) for row in rows)
            separator = ",\n"
            statement, after = following, {"after_0": rows[-1][0], "after_1": rows[-1][1]}
        if len(rows) < PAGE_SIZE:
            break
    yield "\n]"


async def export_document(
    engine: AsyncEngine, user_id: int, profile: dict[str, Any]
) -> AsyncIterator[bytes]:
    """The document for `user_id`, as UTF-8 chunks: header and profile, then each section."""
    head = {"format": FORMAT, "version": VERSION, "exported_at": isoformat(utcnow())}
    yield (_json(head)[:-1] + f', "profile": {_json(profile)}').encode()
    for section in SECTIONS:
        yield b",\n"
        async for chunk in _section(engine, section, user_id):
            yield chunk.encode()
    yield b"}\n"
