"""Posts: the list (newest first), one by id, and writing, editing and deleting them."""

from __future__ import annotations

from typing import Any

from quart import Response, abort, jsonify, request, url_for

from .. import queries
from ..config import current_config
from ..db import get_session, write_transaction
from ..limits import POST_BODY_MAX
from ..markdown import TooComplex
from ..models import Permission, Post
from ..pagination import page_arg
from ..render_pool import post_html
from ..search import MAX_LENGTH, MAX_WORDS, Query, QueryRefused
from . import api
from .authentication import current_caller, forbid_unless, permission_required
from .lookup import get_or_404, not_found
from .operations import POST_BODY, operation
from .payloads import body_field
from .representations import (
    JSON,
    POST,
    POST_PAGE,
    listed_posts_json,
    no_content,
    page_json,
    post_json,
)


def page_options() -> dict[str, Any]:
    """How the API asks for a page of posts: the requested page, counting only visible comments.

    Comment counts are as the caller sees them (disabled comments only for
    moderators); authors are not loaded, as the JSON names them by id.
    """
    return {
        "page": page_arg(),
        "per_page": current_config().posts_per_page,
        "counted": [queries.comments_visible_to(current_caller().user)],
        "authors": False,
    }


def posts_json(posts: queries.PostPage, endpoint: str, **values: Any) -> JSON:
    """A page of posts in Flasky's list envelope."""
    page = posts.pagination
    items = listed_posts_json(page.items, posts.comment_counts)
    return page_json("posts", items, page, endpoint, **values)


async def _post_json(id: int) -> JSON:
    """The post's JSON, counting the comments the caller may read; 404 if there is none."""
    visible = queries.comments_visible_to(current_caller().user)
    counted = await queries.counted_post(get_session(), id, [visible])
    if counted is None:
        not_found(Post, id)
    return post_json(*counted)


async def _editable_post(id: int) -> Post:
    """The post, if the caller may change it: its author or an administrator."""
    post = await get_or_404(Post, id)
    forbid_unless(current_caller().user.can_change(post))
    return post


async def _html(body: str) -> str:
    """The post's HTML, or 400 if it is too costly to render."""
    try:
        return await post_html(body)
    except TooComplex as error:
        abort(400, str(error))


def _search_query() -> Query:
    """`?q=`, as the search page reads it: blank means no filter, past the limits 400."""
    try:
        return Query.parse(request.args.get("q", ""))
    except QueryRefused as refused:
        if refused.too_long:
            abort(400, f"q must have at most {MAX_LENGTH} characters")
        abort(400, f"q must have at most {MAX_WORDS} words")


@api.route("/posts/")
@operation(
    "All posts, newest first; with `q`, those containing its words", returns=POST_PAGE, query=("q",)
)
async def get_posts() -> JSON:
    query = _search_query()
    if not query:
        return posts_json(await queries.all_posts(get_session(), **page_options()), "api.get_posts")
    posts = await queries.search_posts(get_session(), query, **page_options())
    return posts_json(posts, "api.get_posts", q=query.text)


@api.route("/posts/", methods=["POST"])
@operation("Write a post (needs WRITE)", status=201, returns=POST, body=POST_BODY)
@permission_required(Permission.WRITE)
async def new_post() -> tuple[Response, int, dict[str, str]]:
    body = await body_field("post", POST_BODY_MAX)
    post = Post(body=body, body_html=await _html(body), author_id=current_caller().user.id)
    session = get_session()
    async with write_transaction(session):
        session.add(post)
    return jsonify(post_json(post, 0)), 201, {"Location": url_for("api.get_post", id=post.id)}


@api.route("/posts/<int:id>")
@operation("One post", returns=POST, errors=(404,))
async def get_post(id: int) -> JSON:
    return await _post_json(id)


@api.route("/posts/<int:id>", methods=["PUT"])
@operation(
    "Change a post's body (its author or an administrator)",
    returns=POST,
    body=POST_BODY,
    errors=(404,),
)
async def edit_post(id: int) -> JSON:
    post = await _editable_post(id)
    body = await body_field("post", POST_BODY_MAX)
    body_html = await _html(body)
    async with write_transaction(get_session()):
        post.body, post.body_html = body, body_html
    return await _post_json(post.id)


@api.route("/posts/<int:id>", methods=["DELETE"])
@operation(
    "Delete a post and its comments (its author or an administrator)", status=204, errors=(404,)
)
async def delete_post(id: int) -> Response:
    """Delete the post, as its page does: `queries.delete_post` (comments go by cascade)."""
    post = await _editable_post(id)
    session = get_session()
    async with write_transaction(session):
        await queries.delete_post(session, post.id)
    return no_content()
