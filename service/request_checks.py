"""Refuse text the database cannot store before any view sees it.

PostgreSQL rejects NUL characters in text, and a lone surrogate (possible in
JSON escapes) cannot be encoded at all: either would surface as a 500 from
deep inside a query. One check at the door turns them into a clear 400 for
paths, query strings and form fields; `service.api.payloads` applies the same
rule to JSON bodies. Likewise an id in a URL larger than an INTEGER column
holds is a 404 instead of overflowing the query (checked on the matched
route's arguments: a bounded URL converter would make werkzeug answer 405
for the path's other methods).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NoReturn

from quart import Quart, Request, abort, request

from .csrf import UNSAFE_METHODS
from .i18n import gettext as _

FORM_MIMETYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}

# The largest id an INTEGER column holds.
MAX_ID = 2**31 - 1


def storable(text: str) -> bool:
    """Whether `text` can be stored as text by every supported database."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _out_of_id_range(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_ID


def _all_storable(pairs: Iterable[tuple[str, str]]) -> bool:
    return all(storable(key) and storable(value) for key, value in pairs)


def _refuse() -> NoReturn:
    # Translated only when needed: this hook runs before the request's
    # language is settled, which translating would make it work out twice.
    abort(400, _("The request contains characters that are not allowed (NUL)."))


def init_app(app: Quart) -> None:
    @app.before_request
    async def _refuse_unstorable_input() -> None:
        # The request itself, not its proxy: a read through it costs ~5,000 instructions.
        current: Request = request._get_current_object()  # type: ignore[attr-defined]
        if not storable(current.path) or not _all_storable(current.args.items(multi=True)):
            _refuse()
        if current.view_args and any(map(_out_of_id_range, current.view_args.values())):
            abort(404)
        # Only the methods whose form a view or the CSRF check reads.
        if current.method in UNSAFE_METHODS and current.mimetype in FORM_MIMETYPES:
            form = await current.form
            if not _all_storable(form.items(multi=True)):
                _refuse()
