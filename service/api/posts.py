"""Posts: the list (newest first), one by id, and writing, editing and deleting them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quart import Response, jsonify, url_for
from sqlalchemy import Select, select

from ..config import current_config
from ..db import get_session
from ..main.queries import comment_counts
from ..markdown import render_post
from ..models import Permission, Post
from ..pagination import page_arg, paginate
from . import api
from .authentication import current_caller, forbid_unless, permission_required
from .comments import visible_to
from .lookup import get_or_404
from .payloads import body_field
from .representations import JSON, no_content, page_json, post_json


async def posts_page(statement: Select[Post], endpoint: str, **values: Any) -> JSON:
    """One page of the posts `statement` selects, newest first: three SQL statements."""
    page = await paginate(
        get_session(),
        statement.order_by(Post.timestamp.desc(), Post.id.desc()),
        page_arg(),
        current_config().posts_per_page,
    )
    counts = await _visible_comment_counts(post.id for post in page.items)
    items = [post_json(post, counts[post.id]) for post in page.items]
    return page_json("posts", items, page, endpoint, **values)


async def _visible_comment_counts(post_ids: Iterable[int]) -> dict[int, int]:
    """Comment counts as the caller sees them: disabled comments only for moderators."""
    return await comment_counts(get_session(), post_ids, visible_to(current_caller().user))


async def _post_with_count(post: Post) -> JSON:
    counts = await _visible_comment_counts([post.id])
    return post_json(post, counts[post.id])


async def _editable_post(id: int) -> Post:
    """The post, if the caller may change it: its author or an administrator."""
    post = await get_or_404(Post, id)
    forbid_unless(current_caller().user.can_change(post))
    return post


@api.route("/posts/")
async def get_posts() -> JSON:
    return await posts_page(select(Post), "api.get_posts")


@api.route("/posts/", methods=["POST"])
@permission_required(Permission.WRITE)
async def new_post() -> tuple[Response, int, dict[str, str]]:
    body = await body_field("post")
    post = Post(body=body, body_html=render_post(body), author_id=current_caller().user.id)
    session = get_session()
    session.add(post)
    await session.commit()
    return jsonify(post_json(post, 0)), 201, {"Location": url_for("api.get_post", id=post.id)}


@api.route("/posts/<int:id>")
async def get_post(id: int) -> JSON:
    return await _post_with_count(await get_or_404(Post, id))


@api.route("/posts/<int:id>", methods=["PUT"])
async def edit_post(id: int) -> JSON:
    post = await _editable_post(id)
    body = await body_field("post")
    post.body = body
    post.body_html = render_post(body)
    await get_session().commit()
    return await _post_with_count(post)


@api.route("/posts/<int:id>", methods=["DELETE"])
async def delete_post(id: int) -> Response:
    """Delete the post; the database deletes its comments with it (ON DELETE CASCADE)."""
    post = await _editable_post(id)
    session = get_session()
    await session.delete(post)
    await session.commit()
    return no_content()
