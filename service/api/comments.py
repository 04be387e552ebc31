"""Comments: all of them newest first, one by id, a post's oldest first, and new ones.

A comment a moderator disabled is hidden from the API as its body is from the
pages: only callers with MODERATE see it (and count it).
"""

from __future__ import annotations

from quart import Response, abort, jsonify, url_for

from .. import blocks, notifications, queries
from ..config import current_config
from ..db import get_session, write_transaction
from ..limits import COMMENT_BODY_MAX
from ..markdown import TooComplex
from ..models import Comment, Permission, Post
from ..pagination import Pagination, page_arg
from ..queries import CommentRow
from ..render_pool import comment_html
from . import api
from .authentication import current_caller, permission_required
from .lookup import get_or_404
from .operations import COMMENT_BODY, operation
from .payloads import body_field
from .representations import COMMENT, COMMENT_PAGE, JSON, comment_json, page_json


def _comments_json(page: Pagination[CommentRow], endpoint: str, **values: int) -> JSON:
    items = [comment_json(comment) for comment in page.items]
    return page_json("comments", items, page, endpoint, **values)


@api.route("/comments/")
@operation("All comments, newest first", returns=COMMENT_PAGE)
async def get_comments() -> JSON:
    page = await queries.all_comments(
        get_session(),
        page_arg(),
        current_config().comments_per_page,
        queries.comments_visible_to(current_caller().user),
        authors=False,
    )
    return _comments_json(page, "api.get_comments")


@api.route("/comments/<int:id>")
@operation("One comment", returns=COMMENT, errors=(404,))
async def get_comment(id: int) -> JSON:
    comment = await get_or_404(Comment, id, queries.comments_visible_to(current_caller().user))
    return comment_json(comment)


@api.route("/posts/<int:id>/comments/")
@operation("A post's comments, oldest first", returns=COMMENT_PAGE, errors=(404,))
async def get_post_comments(id: int) -> JSON:
    await get_or_404(Post, id)
    page = await queries.comments_of(
        get_session(),
        id,
        page_arg(),
        current_config().comments_per_page,
        queries.comments_visible_to(current_caller().user),
        authors=False,
    )
    return _comments_json(page, "api.get_post_comments", id=id)


@api.route("/posts/<int:id>/comments/", methods=["POST"])
@operation(
    "Comment on a post (needs COMMENT)",
    status=201,
    returns=COMMENT,
    body=COMMENT_BODY,
    errors=(404,),
)
@permission_required(Permission.COMMENT)
async def new_post_comment(id: int) -> tuple[Response, int, dict[str, str]]:
    post = await get_or_404(Post, id)
    session = get_session()
    if await blocks.is_blocked(session, post.author_id, current_caller().user.id):
        abort(403, str(blocks.BLOCKED))
    body = await body_field("comment", COMMENT_BODY_MAX)
    try:
        body_html = await comment_html(body)
    except TooComplex as error:
        abort(400, str(error))
    comment = Comment(
        body=body,
        body_html=body_html,
        author_id=current_caller().user.id,
        post_id=post.id,
    )
    async with write_transaction(session):
        await notifications.add_comment(session, comment, post)
    location = url_for("api.get_comment", id=comment.id)
    return jsonify(comment_json(comment)), 201, {"Location": location}
