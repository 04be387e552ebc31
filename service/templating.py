"""What every template can use besides `current_user`: permissions, CSRF, avatars, dates."""

from __future__ import annotations

from datetime import datetime

from quart import Quart

from .models import Permission


def isoformat(value: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, as the `<time>` elements and the API carry it."""
    return value.isoformat().replace("+00:00", "Z")


def init_app(app: Quart) -> None:
    app.jinja_env.globals.update(Permission=Permission)
    app.jinja_env.filters["isoformat"] = isoformat
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
