"""The `account` blueprint: what a user can do with their whole account (SPEC 8.5).

Export of their data (`export.py`) and deletion of the account (`deletion.py`).
"""

from quart import Blueprint

account = Blueprint("account", __name__)

from . import views  # noqa: E402, F401  (registers the routes)
