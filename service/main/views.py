"""Pages of the blog: index, profiles, posts, followers, moderation."""

from quart import Response, abort, render_template

from ..avatars import identicon_svg
from . import main


@main.route("/")
async def index() -> str:
    return await render_template("main/index.html")


@main.route("/avatar/<int:user_id>.svg")
async def avatar(user_id: int) -> Response:
    response = Response(identicon_svg(user_id), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 7 * 24 * 3600
    response.cache_control.immutable = True
    return response


# Placeholders so the navbar can link to them; replaced by the real pages.
@main.route("/user/<username>")
async def user(username: str) -> str:
    abort(501)


@main.route("/moderate")
async def moderate() -> str:
    abort(501)
