"""The OpenAPI 3.1 document of the API, served without authentication at /api/v1/openapi.json.

Derived from the code, not written beside it: the paths, methods and path
parameters come from the app's URL map; each view's summary, success shape,
request body and own errors from its `@operation` (`operations`); the JSON
schemas from the shapes in `representations` that also build the JSON; which
operations need no credentials from `authentication.PUBLIC_ENDPOINTS`. A new
endpoint is one edit: its view, with its route and its `@operation`.

`tests/test_openapi.py` checks that every API view is declared and that the
document names exactly the blueprint's routes; `tests/test_api_fuzz.py` sends
generated requests and checks every response against it.
"""

from __future__ import annotations

import re

from quart import Quart, current_app

from ..request_checks import MAX_ID
from ..search import MAX_LENGTH, MAX_WORDS
from . import api
from .authentication import OTP_HEADER, PUBLIC_ENDPOINTS
from .operations import Operation, operation, operation_of, undeclared_views
from .representations import JSON, Documented, PageOf, Schema, string

_IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
# Every authenticated operation may answer 400 (a path or query string with
# characters no database can store), 401 (credentials), 403 (unconfirmed
# account, or a missing permission) and 429 (a password locked out after
# repeated failures); an operation that reads a body may also answer 413.
_AUTHENTICATED_ERRORS = (400, 401, 403, 429)
_PUBLIC_ERRORS = (400,)
_BODY_ERRORS = (413,)

ERROR = Schema(
    "Error",
    "An error",
    {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": string("The HTTP status in words, e.g. `not found`"),
            "message": string("What went wrong, for a person to read"),
        },
    },
)

PATH_PARAMETERS: dict[str, JSON] = {
    "id": {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
}

PAGE_PARAMETER: JSON = {
    "name": "page",
    "in": "query",
    "required": False,
    "description": "Page number, from 1; -1 is the last page; anything else means 1",
    "schema": {"type": "integer"},
}


# The query parameters an `@operation(query=...)` may name.
QUERY_PARAMETERS: dict[str, JSON] = {
    "q": {
        "name": "q",
        "in": "query",
        "required": False,
        "description": (
            "Only posts whose Markdown contains every word of it (split at spaces), "
            "ignoring case; a word is any sequence of characters, so Chinese needs no "
            f"spaces. Blank means no filter; at most {MAX_LENGTH} characters and "
            f"{MAX_WORDS} words, or 400"
        ),
        "schema": {"type": "string", "maxLength": MAX_LENGTH},
    },
}


# The request headers an `@operation(headers=...)` may name.
HEADER_PARAMETERS: dict[str, JSON] = {
    OTP_HEADER: {
        "name": OTP_HEADER,
        "in": "header",
        "required": False,
        "description": (
            "A current code of the account's authenticator app, or an unused recovery code: "
            "needed, with the password, when the account has two-factor sign-in on. "
            "Each code works once; a wrong one counts as a failed password attempt"
        ),
        "schema": {"type": "string", "maxLength": 64},
    },
}


def _ref(kind: str, name: str) -> JSON:
    return {"$ref": f"#/components/{kind}/{name}"}


def _content(schema: Documented) -> JSON:
    body = _ref("schemas", schema.name) if schema.name else schema.schema()
    return {"content": {"application/json": {"schema": body}}}


def _error(description: str, header: str | None = None, meaning: str = "") -> JSON:
    response: JSON = {"description": description, **_content(ERROR)}
    if header:
        response["headers"] = {
            header: {"description": meaning, "required": True, "schema": {"type": "string"}}
        }
    return response


RESPONSES: dict[str, JSON] = {
    "400": _error(
        "Bad request: missing or malformed JSON, an invalid field (too long, NUL characters), "
        "or a text too complex to render"
    ),
    "401": _error(
        "Missing or invalid credentials (a password of an account with two-factor sign-in "
        f"on is refused, except by `POST /api/v1/tokens/` with {OTP_HEADER})",
        "WWW-Authenticate",
        '`Basic realm="Flasky API"`',
    ),
    "403": _error("Unconfirmed account, or insufficient permissions"),
    "404": _error("No such resource"),
    "413": _error("Request body larger than the configured limit"),
    "429": _error(
        "Too many failed password attempts for this account from this address",
        "Retry-After",
        "Seconds until passwords are checked again",
    ),
}

INFO: JSON = {
    "title": "Flasky API",
    "version": "1.0.0",
    "description": (
        "The REST API of Flasky, compatible with the original's. Authenticate with "
        "HTTP Basic: e-mail and password, or a token from `POST /api/v1/tokens/` as "
        "the user name and an empty password. Tokens are cheap to check; passwords "
        "are not. An account with two-factor sign-in on uses its password only to get "
        f"a token, with a current code in the `{OTP_HEADER}` header. Comments disabled "
        "by a moderator are visible only to moderators."
    ),
}

_ARGUMENT = re.compile(r"<(?:[^<>:]+:)?([^<>:]+)>")


def _success(declared: Operation) -> JSON:
    if declared.returns is None:
        return {"description": "Done; no content"}
    description = declared.returns.description
    if declared.status == 201:
        description = description.replace("The ", "The new ", 1)
    response: JSON = {"description": description, **_content(declared.returns)}
    if declared.status == 201:
        response["headers"] = {
            "Location": {
                "description": "Path of the new resource",
                "required": True,
                "schema": {"type": "string"},
            }
        }
    return response


def _operation(endpoint: str, arguments: list[str], declared: Operation) -> JSON:
    """One operation; its `operationId` is the view's endpoint name."""
    public = f"api.{endpoint}" in PUBLIC_ENDPOINTS
    result: JSON = {"operationId": endpoint, "summary": declared.summary}
    if public:
        result["security"] = []
    named = (*arguments, *declared.query, *declared.headers)
    parameters = [_ref("parameters", name) for name in named]
    if isinstance(declared.returns, PageOf):
        parameters.append(_ref("parameters", "page"))
    if parameters:
        result["parameters"] = parameters
    errors = {*(_PUBLIC_ERRORS if public else _AUTHENTICATED_ERRORS), *declared.errors}
    if declared.body is not None:
        result["requestBody"] = {"required": True, **_content(declared.body)}
        errors.update(_BODY_ERRORS)
    result["responses"] = {
        str(declared.status): _success(declared),
        **{str(code): _ref("responses", str(code)) for code in sorted(errors)},
    }
    return result


def _add_components(schemas: dict[str, JSON], declared: Documented | None) -> None:
    for component in declared.components() if declared else ():
        assert component.name is not None
        schema = component.schema()
        if schemas.setdefault(component.name, schema) != schema:
            raise RuntimeError(f"two different schemas are both named {component.name}")


def build_document(app: Quart) -> JSON:
    """The document for `app`'s API routes, from their declarations."""
    missing = undeclared_views(app)
    if missing:
        raise RuntimeError(f"API views without @operation: {', '.join(missing)}")
    paths: dict[str, JSON] = {}
    schemas: dict[str, JSON] = {}
    parameters: dict[str, JSON] = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        declared = operation_of(app.view_functions[rule.endpoint])
        assert declared is not None
        arguments = _ARGUMENT.findall(rule.rule)
        for name in arguments:
            if name not in PATH_PARAMETERS:
                raise RuntimeError(f"{rule.rule}: no schema for the path parameter {name!r}")
            parameters[name] = PATH_PARAMETERS[name]
        if isinstance(declared.returns, PageOf):
            parameters["page"] = PAGE_PARAMETER
        for name in declared.query:
            parameters[name] = QUERY_PARAMETERS[name]
        for name in declared.headers:
            parameters[name] = HEADER_PARAMETERS[name]
        for component in (declared.returns, declared.body):
            _add_components(schemas, component)
        endpoint = rule.endpoint.removeprefix("api.")
        item = paths.setdefault(_ARGUMENT.sub(r"{\1}", rule.rule), {})
        for method in sorted((rule.methods or set()) - _IGNORED_METHODS):
            item[method.lower()] = _operation(endpoint, arguments, declared)
    _add_components(schemas, ERROR)
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "security": [{"basicAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
            "schemas": schemas,
            "parameters": parameters,
            "responses": RESPONSES,
        },
    }


_DOCUMENT = Schema(None, "OpenAPI document", {"type": "object"})


@api.route("/openapi.json")
@operation("This document", returns=_DOCUMENT)
async def openapi() -> JSON:
    # Built on first request, once the app's URL map is complete; the routes never change after.
    document: JSON = current_app.extensions.get("openapi") or build_document(current_app)
    current_app.extensions["openapi"] = document
    return document
