"""The Jinja environment's own settings, and the helpers no other module owns.

Registers `Permission` (for `current_user.can(Permission.WRITE)` in
templates) and the `isoformat` filter (also used by the API's JSON), and trims
block whitespace. Other helpers are registered by the module they belong to:
`csrf_field` by `service.csrf`, `avatar_url`/`avatar_img` by `service.avatars`,
`current_user` by quart-auth.
"""

from __future__ import annotations

from datetime import datetime

from quart import Quart

from .models import Permission


def isoformat(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the `<time>` elements and the API carry it."""
    return value.isoformat().replace("+00:00", "Z")


def init_app(app: Quart) -> None:
    """Set up the Jinja environment; called once by `create_app()`."""
    app.jinja_env.globals.update(Permission=Permission)
    app.jinja_env.filters["isoformat"] = isoformat
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
