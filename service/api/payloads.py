"""Reading JSON request bodies, with a 400 that says what is wrong instead of a 500.

Everything a client can send is checked here before it reaches the database:
a JSON object, with a `body` that is a non-blank string, no longer than its
limit, that the database can store (PostgreSQL refuses NUL characters, and lone surrogates cannot be
encoded at all).
"""

from __future__ import annotations

import json
from typing import Any

from quart import abort, request

from ..request_checks import storable


async def json_object() -> dict[str, Any]:
    """The request's JSON object."""
    if not request.is_json:
        abort(400, "Send a JSON object with Content-Type: application/json")
    # Bodies over the configured limit raise 413 here, before being parsed.
    raw = await request.get_data(as_text=False)
    if not raw.strip():
        abort(400, "The request body is empty")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        abort(400, "The request body is not valid JSON")
    if not isinstance(data, dict):
        abort(400, "The request body must be a JSON object")
    return data


async def body_field(resource: str, max_length: int) -> str:
    """The Markdown `body` of a post or comment (`resource` names it in messages, as Flasky's).

    `max_length` is the field's limit in characters (`service.limits`).
    """
    body = (await json_object()).get("body")
    if body is None or body == "":
        abort(400, f"{resource} does not have a body")
    if not isinstance(body, str):
        abort(400, f"{resource} body must be a string")
    if not body.strip():
        abort(400, f"{resource} body must not be blank")
    if len(body) > max_length:
        abort(400, f"{resource} body must have at most {max_length} characters")
    if not storable(body):
        abort(400, f"{resource} body must be text without NUL characters or lone surrogates")
    return body
