"""Avatars: identicons drawn by the app itself (default) or Gravatar's.

Local identicons are derived from the user id alone: the address names no
e-mail hash, no third party learns who views which page, and the image never
changes, so browsers may cache it for a long time.
"""

from __future__ import annotations

import hashlib

from markupsafe import Markup, escape
from quart import Quart

from .config import current_config
from .models import User
from .queries import Author
from .templating import cached_url_for

GRID = 5


def identicon_svg(user_id: int) -> str:
    """A symmetric 5x5 identicon for `user_id`, as SVG."""
    digest = hashlib.sha256(f"flasky-identicon:{user_id}".encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    color = f"hsl({hue} 55% 50%)"
    cells = []
    for row in range(GRID):
        for col in range(GRID // 2 + 1):
            if digest[2 + row * 3 + col] % 2:
                cells.append((col, row))
                if col != GRID - 1 - col:
                    cells.append((GRID - 1 - col, row))
    rects = "".join(f'<rect x="{x + 1}" y="{y + 1}" width="1" height="1"/>' for x, y in cells)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 7 7" shape-rendering="crispEdges">'
        f'<rect width="7" height="7" fill="#f0f0f0"/><g fill="{color}">{rects}</g></svg>'
    )


def avatar_url(user: User | Author, size: int = 100) -> str:
    if current_config().avatars == "gravatar":
        digest = user.avatar_hash or User.email_hash(user.email)
        return f"https://secure.gravatar.com/avatar/{digest}?s={size}&d=identicon&r=g"
    return cached_url_for("main.avatar", user_id=user.id)


def avatar_img(user: User | Author, size: int = 40, css_class: str = "rounded") -> Markup:
    # Escaped into an f-string, as `csrf.hidden_field` (`Markup.format` is ~4x the CPU).
    src, size = escape(avatar_url(user, size)), int(size)
    return Markup(  # noqa: S704
        f'<img class="{escape(css_class)}" src="{src}" alt="" width="{size}" height="{size}"'
        ' loading="lazy">'
    )


def init_app(app: Quart) -> None:
    app.jinja_env.globals.update(avatar_url=avatar_url, avatar_img=avatar_img)
