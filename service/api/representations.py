"""Model to JSON, with Flasky's keys: what an API client of the original expects.

Links are paths (`/api/v1/posts/7`), timestamps ISO 8601 in UTC with a `Z`.
Only columns of the row itself are read, so no relationship needs loading.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from quart import Response, url_for

from ..models import Comment, Post, User
from ..pagination import Pagination
from ..templating import isoformat

JSON = dict[str, Any]


def post_json(post: Post, comment_count: int) -> JSON:
    return {
        "url": url_for("api.get_post", id=post.id),
        "body": post.body,
        "body_html": post.body_html,
        "timestamp": isoformat(post.timestamp),
        "author_url": url_for("api.get_user", id=post.author_id),
        "comments_url": url_for("api.get_post_comments", id=post.id),
        "comment_count": comment_count,
    }


def user_json(user: User, post_count: int) -> JSON:
    return {
        "url": url_for("api.get_user", id=user.id),
        "username": user.username,
        "member_since": isoformat(user.member_since),
        "last_seen": isoformat(user.last_seen),
        "posts_url": url_for("api.get_user_posts", id=user.id),
        "followed_posts_url": url_for("api.get_user_followed_posts", id=user.id),
        "post_count": post_count,
    }


def comment_json(comment: Comment) -> JSON:
    return {
        "url": url_for("api.get_comment", id=comment.id),
        "post_url": url_for("api.get_post", id=comment.post_id),
        "body": comment.body,
        "body_html": comment.body_html,
        "timestamp": isoformat(comment.timestamp),
        "author_url": url_for("api.get_user", id=comment.author_id),
    }


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
