"""The REST API, `/api/v1`, compatible with Flasky's.

One module per resource (`tokens`, `posts`, `users`, `comments`, `notifications`); who is
calling is settled once in `authentication`, the JSON shapes live in
`representations`, and `openapi` describes it all.
"""

from quart import Blueprint

api = Blueprint("api", __name__)

# Importing the modules registers their routes and hooks on the blueprint.
from . import authentication, comments, notifications, openapi, posts, tokens, users  # noqa: E402

__all__ = [
    "api",
    "authentication",
    "comments",
    "notifications",
    "openapi",
    "posts",
    "tokens",
    "users",
]
