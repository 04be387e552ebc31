"""Users: a profile by id, their posts, and the posts of the people they follow."""

from __future__ import annotations

from sqlalchemy import func, select

from ..db import get_session
from ..models import Post, User
from . import api
from .lookup import get_or_404
from .posts import posts_page
from .representations import JSON, user_json


@api.route("/users/<int:id>")
async def get_user(id: int) -> JSON:
    user = await get_or_404(User, id)
    post_count = await get_session().scalar(
        select(func.count()).select_from(Post).where(Post.author_id == id)
    )
    return user_json(user, post_count or 0)


@api.route("/users/<int:id>/posts/")
async def get_user_posts(id: int) -> JSON:
    await get_or_404(User, id)
    return await posts_page(select(Post).where(Post.author_id == id), "api.get_user_posts", id=id)


@api.route("/users/<int:id>/timeline/")
async def get_user_followed_posts(id: int) -> JSON:
    """The user's timeline: posts of the people they follow, and their own."""
    await get_or_404(User, id)
    statement = select(Post).where(Post.in_timeline_of(id))
    return await posts_page(statement, "api.get_user_followed_posts", id=id)
