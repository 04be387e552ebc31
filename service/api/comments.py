"""Comments: all of them newest first, one by id, a post's oldest first, and new ones.

A comment a moderator disabled is hidden from the API as its body is from the
pages: only callers with MODERATE see it (and count it).
"""

from __future__ import annotations

from quart import Response, jsonify, url_for
from sqlalchemy import ColumnElement, Select, select, true

from ..config import current_config
from ..db import get_session
from ..markdown import render_comment
from ..models import Comment, Permission, Post, User
from ..pagination import page_arg, paginate
from . import api
from .authentication import current_caller, permission_required
from .lookup import get_or_404
from .payloads import body_field
from .representations import JSON, comment_json, page_json


def visible_to(user: User) -> ColumnElement[bool]:
    """Which comments `user` may see: moderators all, everyone else the enabled ones."""
    return true() if user.can(Permission.MODERATE) else Comment.disabled.is_(False)


async def _comments_page(statement: Select[Comment], endpoint: str, **values: int) -> JSON:
    page = await paginate(
        get_session(),
        statement.where(visible_to(current_caller().user)),
        page_arg(),
        current_config().comments_per_page,
    )
    items = [comment_json(comment) for comment in page.items]
    return page_json("comments", items, page, endpoint, **values)


@api.route("/comments/")
async def get_comments() -> JSON:
    statement = select(Comment).order_by(Comment.timestamp.desc(), Comment.id.desc())
    return await _comments_page(statement, "api.get_comments")


@api.route("/comments/<int:id>")
async def get_comment(id: int) -> JSON:
    comment = await get_or_404(Comment, id, visible_to(current_caller().user))
    return comment_json(comment)


@api.route("/posts/<int:id>/comments/")
async def get_post_comments(id: int) -> JSON:
    await get_or_404(Post, id)
    statement = select(Comment).where(Comment.post_id == id).order_by(Comment.timestamp, Comment.id)
    return await _comments_page(statement, "api.get_post_comments", id=id)


@api.route("/posts/<int:id>/comments/", methods=["POST"])
@permission_required(Permission.COMMENT)
async def new_post_comment(id: int) -> tuple[Response, int, dict[str, str]]:
    post = await get_or_404(Post, id)
    body = await body_field("comment")
    comment = Comment(
        body=body,
        body_html=render_comment(body),
        author_id=current_caller().user.id,
        post_id=post.id,
    )
    session = get_session()
    session.add(comment)
    await session.commit()
    location = url_for("api.get_comment", id=comment.id)
    return jsonify(comment_json(comment)), 201, {"Location": location}
