"""The `auth` blueprint."""

from quart import Blueprint

auth = Blueprint("auth", __name__)

from . import views  # noqa: E402, F401  (registers the routes)
