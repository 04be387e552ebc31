"""Model to JSON, with Flasky's keys: what an API client of the original expects.

Each shape is declared once, as key -> (schema, how to compute the value), so
the JSON the views send and the schema the OpenAPI document states come from
the same lines and cannot drift apart: a key added here is in both.

Links are paths (`/api/v1/posts/7`), timestamps ISO 8601 in UTC with a `Z`.
Only columns of the row itself are read, so no relationship needs loading.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from quart import Response, request

from ..models import Comment, Notification, NotificationKind, Post, User
from ..pagination import AHEAD, EXACT_COUNT, Pagination
from ..queries import CommentRow, PostRow
from ..search import EXACT_MATCHES
from ..templating import cached_url_for as url_for  # paths remembered
from ..templating import isoformat

JSON = dict[str, Any]
S = TypeVar("S")

PREFIX = "/api/v1"


class Documented(Protocol):
    """Anything the OpenAPI document can state: a named component, or an inline schema."""

    @property
    def name(self) -> str | None: ...

    @property
    def description(self) -> str: ...

    def schema(self) -> JSON: ...

    def components(self) -> Sequence[Documented]:
        """The named schemas this one refers to, itself included if named."""
        ...


@dataclass(frozen=True)
class Schema:
    """A schema with no builder here: a request body, or JSON a view builds itself."""

    name: str | None
    description: str
    body: JSON

    def schema(self) -> JSON:
        return self.body

    def components(self) -> Sequence[Documented]:
        return [self] if self.name else []


@dataclass(frozen=True)
class Field(Generic[S]):
    """One key of a shape: its schema and how to compute its value from the source."""

    schema: JSON
    value: Callable[[S], Any]


@dataclass(frozen=True)
class Shape(Generic[S]):
    """A JSON object built from a source `S`: every key required, no others sent."""

    name: str
    description: str
    fields: dict[str, Field[S]]

    def __call__(self, source: S) -> JSON:
        return {key: field.value(source) for key, field in self.fields.items()}

    def schema(self) -> JSON:
        return {
            "type": "object",
            "required": list(self.fields),
            "properties": {key: field.schema for key, field in self.fields.items()},
            "additionalProperties": False,
        }

    def components(self) -> Sequence[Documented]:
        return [self]


def string(description: str, **extra: Any) -> JSON:
    return {"type": "string", "description": description, **extra}


def _path(description: str) -> JSON:
    return string(description, pattern=f"^{PREFIX}/")


def _timestamp(description: str) -> JSON:
    return string(f"{description}, ISO 8601 in UTC", format="date-time")


_COUNT: JSON = {"type": "integer", "minimum": 0}


class CountedPost(NamedTuple):
    # A list's row or a post just written: the same attributes.
    post: Post | PostRow
    comment_count: int


class CountedUser(NamedTuple):
    user: User
    post_count: int


POST: Shape[CountedPost] = Shape(
    "Post",
    "The post",
    {
        "url": Field(_path("Path of the post"), lambda s: url_for("api.get_post", id=s.post.id)),
        "body": Field(string("Markdown source"), lambda s: s.post.body),
        "body_html": Field(
            string("Sanitized HTML rendered from `body`"), lambda s: s.post.body_html
        ),
        "timestamp": Field(
            _timestamp("When it was written"), lambda s: isoformat(s.post.timestamp)
        ),
        "author_url": Field(
            _path("Path of the author"), lambda s: url_for("api.get_user", id=s.post.author_id)
        ),
        "comments_url": Field(
            _path("Path of its comments"),
            lambda s: url_for("api.get_post_comments", id=s.post.id),
        ),
        "comment_count": Field(_COUNT, lambda s: s.comment_count),
    },
)

USER: Shape[CountedUser] = Shape(
    "User",
    "The user",
    {
        "url": Field(_path("Path of the user"), lambda s: url_for("api.get_user", id=s.user.id)),
        "username": Field(string("User name"), lambda s: s.user.username),
        "member_since": Field(
            _timestamp("When the account was created"), lambda s: isoformat(s.user.member_since)
        ),
        "last_seen": Field(
            _timestamp("Last visit to the site"), lambda s: isoformat(s.user.last_seen)
        ),
        "posts_url": Field(
            _path("Path of the user's posts"),
            lambda s: url_for("api.get_user_posts", id=s.user.id),
        ),
        "followed_posts_url": Field(
            _path("Path of the user's timeline"),
            lambda s: url_for("api.get_user_followed_posts", id=s.user.id),
        ),
        "post_count": Field(_COUNT, lambda s: s.post_count),
    },
)

COMMENT: Shape[Comment | CommentRow] = Shape(
    "Comment",
    "The comment",
    {
        "url": Field(_path("Path of the comment"), lambda c: url_for("api.get_comment", id=c.id)),
        "post_url": Field(
            _path("Path of the post it comments"), lambda c: url_for("api.get_post", id=c.post_id)
        ),
        "body": Field(string("Markdown source"), lambda c: c.body),
        "body_html": Field(string("Sanitized HTML rendered from `body`"), lambda c: c.body_html),
        "timestamp": Field(_timestamp("When it was written"), lambda c: isoformat(c.timestamp)),
        "author_url": Field(
            _path("Path of the author"), lambda c: url_for("api.get_user", id=c.author_id)
        ),
    },
)


def _optional_path(description: str) -> JSON:
    return {"type": ["string", "null"], "pattern": f"^{PREFIX}/", "description": description}


NOTIFICATION: Shape[Notification] = Shape(
    "Notification",
    "The notification",
    {
        "kind": Field(
            string(
                "What happened: a new follower, a comment on a post, a message",
                enum=[kind.value for kind in NotificationKind],
            ),
            lambda n: n.kind,
        ),
        "timestamp": Field(_timestamp("When it happened"), lambda n: isoformat(n.timestamp)),
        "read": Field(
            {"type": "boolean", "description": "Whether the notifications page has shown it"},
            lambda n: n.read,
        ),
        "actor_url": Field(
            _path("Path of the user who did it"), lambda n: url_for("api.get_user", id=n.actor_id)
        ),
        "post_url": Field(
            _optional_path("Path of the post commented on, or null"),
            lambda n: url_for("api.get_post", id=n.post_id) if n.post_id else None,
        ),
        "comment_url": Field(
            _optional_path("Path of the comment, or null"),
            lambda n: url_for("api.get_comment", id=n.comment_id) if n.comment_id else None,
        ),
    },
)


def post_json(post: Post | PostRow, comment_count: int) -> JSON:
    """A post's JSON; for a list's row, built once per row, count and root path.

    A `PostRow` is immutable and holds every column the JSON shows, so its
    JSON is the same for every caller: a list page of 20 built it 20 times
    (8% of the page's CPU, mostly its three paths). Nobody changes the
    dictionary returned; an ORM `Post` (a post just written or read on its
    own) gets a new one.
    """
    if isinstance(post, PostRow):
        return _row_json(post, comment_count, request.root_path)
    return POST(CountedPost(post, comment_count))


def listed_posts_json(posts: Sequence[PostRow], comment_counts: Mapping[int, int]) -> list[JSON]:
    """The JSON of a list's posts (`post_json`'s), the root path read once for the list."""
    root = request.root_path
    return [_row_json(post, comment_counts[post.id], root) for post in posts]


# `root` is a key only: the paths built read it from the request.
@functools.lru_cache(maxsize=2048)
def _row_json(post: PostRow, comment_count: int, root: str) -> JSON:
    return POST(CountedPost(post, comment_count))


def user_json(user: User, post_count: int) -> JSON:
    return USER(CountedUser(user, post_count))


def comment_json(comment: Comment | CommentRow) -> JSON:
    return COMMENT(comment)


def notification_json(notification: Notification) -> JSON:
    return NOTIFICATION(notification)


def _page_link(description: str) -> JSON:
    return {
        "type": ["string", "null"],
        "pattern": f"^{PREFIX}/.*[?&]page=-?[0-9]+",
        "description": f"Path of the {description} page, or null",
    }


@dataclass(frozen=True)
class PageOf:
    """Flasky's list envelope around items of one shape; a view answering one takes `?page=`."""

    key: str
    item: Shape[Any]

    @property
    def name(self) -> str:
        return f"{self.item.name}List"

    @property
    def description(self) -> str:
        return f"A page of {self.key}"

    def schema(self) -> JSON:
        # The keys page_json() below sends, in the same order.
        return {
            "type": "object",
            "required": [self.key, "prev", "next", "count"],
            "properties": {
                self.key: {
                    "type": "array",
                    "items": {"$ref": f"#/components/schemas/{self.item.name}"},
                },
                "prev": _page_link("previous"),
                "next": _page_link("next"),
                "count": {
                    **_COUNT,
                    "description": (
                        f"Total over all pages, exact up to {EXACT_COUNT:,} items"
                        f" ({EXACT_MATCHES} for a search); for a"
                        f" longer list the items counted, up to {AHEAD} pages past this one"
                        " (at least this many: follow `next`)"
                    ),
                },
            },
            "additionalProperties": False,
        }

    def components(self) -> Sequence[Documented]:
        return [self, self.item]


POST_PAGE = PageOf("posts", POST)
COMMENT_PAGE = PageOf("comments", COMMENT)
NOTIFICATION_PAGE = PageOf("notifications", NOTIFICATION)


def page_json(
    key: str, items: Sequence[JSON], page: Pagination[Any], endpoint: str, **values: Any
) -> JSON:
    """A list in Flasky's envelope: the items, links to the neighbouring pages, the total."""
    return {
        key: list(items),
        "prev": url_for(endpoint, page=page.prev_num, **values) if page.has_prev else None,
        "next": url_for(endpoint, page=page.next_num, **values) if page.has_next else None,
        "count": page.total,
    }


def no_content() -> Response:
    """204: nothing to say, so no body and no Content-Type."""
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response
