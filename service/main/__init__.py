"""The `main` blueprint."""

from quart import Blueprint

main = Blueprint("main", __name__)

from . import feeds, search, views  # noqa: E402, F401  (registers the routes)
