"""What each API view declares about itself, for the OpenAPI document.

A view states, in one decorator next to its route, what the URL map cannot
know: a summary, its success status and the shape it answers with (from
`representations`), the request body it reads, and the errors of its own
(404 and the like). Everything else is derived by `openapi`: paths, methods
and path parameters from the URL map, `?page=` from a list response, the
errors every authenticated operation may answer, 413 from a body, `Location`
from a 201, and whether credentials are needed from `authentication`.

Why not quart-schema: it would answer the same question with pydantic models
and validation we already do in `payloads`, and its documentation pages load
their scripts from a CDN. A decorator storing plain data on the view, read
back through `app.view_functions`, is a few dozen lines with nothing to install.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from quart import Quart

from ..limits import COMMENT_BODY_MAX, POST_BODY_MAX
from .representations import Documented, Schema, string

V = TypeVar("V", bound=Callable[..., Any])

_ATTRIBUTE = "__api_operation__"


@dataclass(frozen=True)
class Operation:
    summary: str
    status: int
    returns: Documented | None
    body: Documented | None
    errors: tuple[int, ...]
    # Query parameters beyond `page`, by name (`openapi.QUERY_PARAMETERS` describes each).
    query: tuple[str, ...] = ()
    # Request headers it reads, by name (`openapi.HEADER_PARAMETERS` describes each).
    headers: tuple[str, ...] = ()


def operation(
    summary: str,
    *,
    returns: Documented | None = None,
    status: int = 200,
    body: Documented | None = None,
    errors: tuple[int, ...] = (),
    query: tuple[str, ...] = (),
    headers: tuple[str, ...] = (),
) -> Callable[[V], V]:
    """Declare a view's operation; put it right under `@api.route`.

    It stores the declaration on the function the route registered, so the
    document finds it through `app.view_functions` and nothing is listed twice.
    """
    if (status == 204) != (returns is None):
        raise ValueError("a 204 has no body, and every other success names its shape")
    declared = Operation(summary, status, returns, body, errors, query, headers)

    def declare(view: V) -> V:
        setattr(view, _ATTRIBUTE, declared)
        return view

    return declare


def operation_of(view: Callable[..., Any]) -> Operation | None:
    """The view's declaration, or None if it has none."""
    declared = getattr(view, _ATTRIBUTE, None)
    return declared if isinstance(declared, Operation) else None


def undeclared_views(app: Quart, blueprint: str = "api") -> list[str]:
    """Endpoints of `blueprint` whose view has no `@operation`: each is a gap in the document."""
    prefix = f"{blueprint}."
    return sorted(
        endpoint
        for endpoint, view in app.view_functions.items()
        if endpoint.startswith(prefix) and operation_of(view) is None
    )


def _text_body(name: str, resource: str, max_length: int) -> Schema:
    """A `{"body": ...}` request; the limit is `service.limits`', the one the view enforces."""
    description = (
        f"Markdown; not blank, without NUL characters, at most {max_length} characters. "
        f"A {resource} too costly to render is refused with 400 "
        '"This text is too complex to display."'
    )
    return Schema(
        name,
        f"The {resource}",
        {
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": string(description, minLength=1, maxLength=max_length, pattern="\\S")
            },
        },
    )


POST_BODY = _text_body("PostBody", "post", POST_BODY_MAX)
COMMENT_BODY = _text_body("CommentBody", "comment", COMMENT_BODY_MAX)
