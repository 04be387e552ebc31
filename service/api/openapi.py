"""The OpenAPI 3.1 document of the API, served without authentication at /api/v1/openapi.json.

Written by hand beside the views it describes, and kept honest by tests:
`tests/test_openapi.py` checks that it names exactly the blueprint's routes
(operationId = endpoint name), and `tests/test_api_fuzz.py` sends generated
requests and checks every response against it.
"""

from __future__ import annotations

from typing import Any

from ..request_checks import MAX_ID
from . import api
from .representations import JSON
from .tokens import TOKEN_LIFETIME

PREFIX = "/api/v1"


def _ref(kind: str, name: str) -> JSON:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: JSON) -> JSON:
    return {"content": {"application/json": {"schema": schema}}}


def _ok(description: str, schema: str) -> JSON:
    return {"description": description, **_json(_ref("schemas", schema))}


def _created(description: str, schema: str) -> JSON:
    return {
        **_ok(description, schema),
        "headers": {
            "Location": {
                "description": "Path of the new resource",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    }


NO_CONTENT = {"description": "Done; no content"}


def _operation(
    endpoint: str,
    summary: str,
    responses: dict[str, JSON],
    *,
    errors: tuple[int, ...] = (),
    parameters: tuple[str, ...] = (),
    body: str | None = None,
) -> JSON:
    """One operation: its `operationId` is the view's endpoint name.

    Every authenticated operation may answer 400 (a path or query string
    with characters no database can store), 401 (credentials), 403
    (unconfirmed account, or a missing permission) and 429 (a password
    locked out after repeated failures).
    """
    operation: JSON = {"operationId": endpoint, "summary": summary}
    if parameters:
        operation["parameters"] = [_ref("parameters", name) for name in parameters]
    if body:
        operation["requestBody"] = {"required": True, **_json(_ref("schemas", body))}
    all_errors = sorted({400, 401, 403, 429, *errors})
    if body:
        all_errors = sorted({413, *all_errors})
    operation["responses"] = {
        **responses,
        **{str(code): _ref("responses", str(code)) for code in all_errors},
    }
    return operation


def _string(description: str, **extra: Any) -> JSON:
    return {"type": "string", "description": description, **extra}


def _path(description: str) -> JSON:
    return _string(description, pattern=f"^{PREFIX}/")


def _timestamp(description: str) -> JSON:
    return _string(f"{description}, ISO 8601 in UTC", format="date-time")


def _page_link(description: str) -> JSON:
    return {
        "type": ["string", "null"],
        "pattern": f"^{PREFIX}/.*[?&]page=-?[0-9]+",
        "description": f"Path of the {description} page, or null",
    }


def _list(key: str, item: str) -> JSON:
    return {
        "type": "object",
        "required": [key, "prev", "next", "count"],
        "properties": {
            key: {"type": "array", "items": _ref("schemas", item)},
            "prev": _page_link("previous"),
            "next": _page_link("next"),
            "count": {"type": "integer", "minimum": 0, "description": "Total over all pages"},
        },
    }


def _object(properties: dict[str, JSON]) -> JSON:
    return {"type": "object", "required": list(properties), "properties": properties}


def _error(description: str, header: str | None = None, meaning: str = "") -> JSON:
    response = _ok(description, "Error")
    if header:
        response["headers"] = {
            header: {"description": meaning, "required": True, "schema": {"type": "string"}}
        }
    return response


SCHEMAS: dict[str, JSON] = {
    "Post": _object(
        {
            "url": _path("Path of the post"),
            "body": _string("Markdown source"),
            "body_html": _string("Sanitized HTML rendered from `body`"),
            "timestamp": _timestamp("When it was written"),
            "author_url": _path("Path of the author"),
            "comments_url": _path("Path of its comments"),
            "comment_count": {"type": "integer", "minimum": 0},
        }
    ),
    "User": _object(
        {
            "url": _path("Path of the user"),
            "username": _string("User name"),
            "member_since": _timestamp("When the account was created"),
            "last_seen": _timestamp("Last visit to the site"),
            "posts_url": _path("Path of the user's posts"),
            "followed_posts_url": _path("Path of the user's timeline"),
            "post_count": {"type": "integer", "minimum": 0},
        }
    ),
    "Comment": _object(
        {
            "url": _path("Path of the comment"),
            "post_url": _path("Path of the post it comments"),
            "body": _string("Markdown source"),
            "body_html": _string("Sanitized HTML rendered from `body`"),
            "timestamp": _timestamp("When it was written"),
            "author_url": _path("Path of the author"),
        }
    ),
    "PostList": _list("posts", "Post"),
    "CommentList": _list("comments", "Comment"),
    "Token": _object(
        {
            "token": _string("Use as the Basic-auth user name, with an empty password"),
            "expiration": {"type": "integer", "const": TOKEN_LIFETIME, "description": "Seconds"},
        }
    ),
    "Body": {
        "type": "object",
        "required": ["body"],
        "properties": {
            "body": _string(
                "Markdown; not blank, and without NUL characters",
                minLength=1,
                pattern="\\S",
            )
        },
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": _string("The HTTP status in words, e.g. `not found`"),
            "message": _string("What went wrong, for a person to read"),
        },
    },
}

PARAMETERS: dict[str, JSON] = {
    "id": {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    "page": {
        "name": "page",
        "in": "query",
        "required": False,
        "description": "Page number, from 1; -1 is the last page; anything else means 1",
        "schema": {"type": "integer"},
    },
}

RESPONSES: dict[str, JSON] = {
    "400": _error("Bad request: missing or malformed JSON, an invalid field, or NUL characters"),
    "401": _error(
        "Missing or invalid credentials", "WWW-Authenticate", '`Basic realm="Flasky API"`'
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

PATHS: dict[str, JSON] = {
    f"{PREFIX}/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "security": [],
            "responses": {
                "200": {"description": "OpenAPI document", **_json({"type": "object"})},
                "400": _ref("responses", "400"),
            },
        }
    },
    f"{PREFIX}/tokens/": {
        "post": _operation(
            "get_token",
            "Trade e-mail and password for a token (a token cannot mint one)",
            {"200": _ok("A new token", "Token")},
        ),
        "delete": _operation(
            "revoke_token",
            "Revoke the token this request authenticates with",
            {"204": NO_CONTENT},
            errors=(400,),
        ),
    },
    f"{PREFIX}/posts/": {
        "get": _operation(
            "get_posts",
            "All posts, newest first",
            {"200": _ok("A page of posts", "PostList")},
            parameters=("page",),
        ),
        "post": _operation(
            "new_post",
            "Write a post (needs WRITE)",
            {"201": _created("The new post", "Post")},
            body="Body",
        ),
    },
    f"{PREFIX}/posts/{{id}}": {
        "get": _operation(
            "get_post",
            "One post",
            {"200": _ok("The post", "Post")},
            errors=(404,),
            parameters=("id",),
        ),
        "put": _operation(
            "edit_post",
            "Change a post's body (its author or an administrator)",
            {"200": _ok("The changed post", "Post")},
            errors=(404,),
            parameters=("id",),
            body="Body",
        ),
        "delete": _operation(
            "delete_post",
            "Delete a post and its comments (its author or an administrator)",
            {"204": NO_CONTENT},
            errors=(404,),
            parameters=("id",),
        ),
    },
    f"{PREFIX}/posts/{{id}}/comments/": {
        "get": _operation(
            "get_post_comments",
            "A post's comments, oldest first",
            {"200": _ok("A page of comments", "CommentList")},
            errors=(404,),
            parameters=("id", "page"),
        ),
        "post": _operation(
            "new_post_comment",
            "Comment on a post (needs COMMENT)",
            {"201": _created("The new comment", "Comment")},
            errors=(404,),
            parameters=("id",),
            body="Body",
        ),
    },
    f"{PREFIX}/users/{{id}}": {
        "get": _operation(
            "get_user",
            "A user's profile",
            {"200": _ok("The user", "User")},
            errors=(404,),
            parameters=("id",),
        ),
    },
    f"{PREFIX}/users/{{id}}/posts/": {
        "get": _operation(
            "get_user_posts",
            "A user's posts, newest first",
            {"200": _ok("A page of posts", "PostList")},
            errors=(404,),
            parameters=("id", "page"),
        ),
    },
    f"{PREFIX}/users/{{id}}/timeline/": {
        "get": _operation(
            "get_user_followed_posts",
            "Posts of the people a user follows, and their own, newest first",
            {"200": _ok("A page of posts", "PostList")},
            errors=(404,),
            parameters=("id", "page"),
        ),
    },
    f"{PREFIX}/comments/": {
        "get": _operation(
            "get_comments",
            "All comments, newest first",
            {"200": _ok("A page of comments", "CommentList")},
            parameters=("page",),
        ),
    },
    f"{PREFIX}/comments/{{id}}": {
        "get": _operation(
            "get_comment",
            "One comment",
            {"200": _ok("The comment", "Comment")},
            errors=(404,),
            parameters=("id",),
        ),
    },
}

OPENAPI: JSON = {
    "openapi": "3.1.0",
    "info": {
        "title": "Flasky API",
        "version": "1.0.0",
        "description": (
            "The REST API of Flasky, compatible with the original's. Authenticate with "
            "HTTP Basic: e-mail and password, or a token from `POST /api/v1/tokens/` as "
            "the user name and an empty password. Tokens are cheap to check; passwords "
            "are not. Comments disabled by a moderator are visible only to moderators."
        ),
    },
    "security": [{"basicAuth": []}],
    "paths": PATHS,
    "components": {
        "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "responses": RESPONSES,
    },
}


@api.route("/openapi.json")
async def openapi() -> JSON:
    return OPENAPI
