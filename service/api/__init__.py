"""The REST API, `/api/v1`, compatible with Flasky's."""

from quart import Blueprint

api = Blueprint("api", __name__)
