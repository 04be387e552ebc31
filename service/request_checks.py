"""Refuse text the database cannot store before any view sees it.

PostgreSQL rejects NUL characters in text, and a lone surrogate (possible in
JSON escapes) cannot be encoded at all: either would surface as a 500 from
deep inside a query. One check at the door turns them into a clear 400 for
paths, query strings and form fields; `service.api.payloads` applies the same
rule to JSON bodies. Likewise an id in a URL larger than an INTEGER column
holds matches no route (404) instead of overflowing the query.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quart import Quart, abort, request
from werkzeug.routing import IntegerConverter

FORM_MIMETYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}

# The largest id an INTEGER column holds.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: only values the database's id columns can hold."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def storable(text: str) -> bool:
    """Whether `text` can be stored as text by every supported database."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _all_storable(pairs: Iterable[tuple[str, str]]) -> bool:
    return all(storable(key) and storable(value) for key, value in pairs)


def init_app(app: Quart) -> None:
    """Install the checks; call before any route is registered (the converter binds then)."""
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    async def _refuse_unstorable_input() -> None:
        message = "The request contains characters that are not allowed (NUL)."
        if not storable(request.path) or not _all_storable(request.args.items(multi=True)):
            abort(400, message)
        if request.mimetype in FORM_MIMETYPES:
            form = await request.form
            if not _all_storable(form.items(multi=True)):
                abort(400, message)
