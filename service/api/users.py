"""Users: a profile by id, their posts, and the posts of the people they follow."""

from __future__ import annotations

from .. import queries
from ..db import get_session
from ..models import User
from . import api
from .lookup import get_or_404
from .operations import operation
from .posts import page_options, posts_json
from .representations import JSON, POST_PAGE, USER, user_json


@api.route("/users/<int:id>")
@operation("A user's profile", returns=USER, errors=(404,))
async def get_user(id: int) -> JSON:
    user = await get_or_404(User, id)
    return user_json(user, await queries.post_count(get_session(), id))


@api.route("/users/<int:id>/posts/")
@operation("A user's posts, newest first", returns=POST_PAGE, errors=(404,))
async def get_user_posts(id: int) -> JSON:
    await get_or_404(User, id)
    posts = await queries.posts_by(get_session(), id, **page_options())
    return posts_json(posts, "api.get_user_posts", id=id)


@api.route("/users/<int:id>/timeline/")
@operation(
    "Posts of the people a user follows, and their own, newest first",
    returns=POST_PAGE,
    errors=(404,),
)
async def get_user_followed_posts(id: int) -> JSON:
    """The user's timeline: posts of the people they follow, and their own."""
    await get_or_404(User, id)
    posts = await queries.followed_posts(get_session(), id, **page_options())
    return posts_json(posts, "api.get_user_followed_posts", id=id)
