"""The `talk` blueprint: what users say to each other (SPEC 8.4).

Private messages, notifications and blocking. The rules live beside the
data: `service.messages`, `service.notifications`, `service.blocks`; the
per-minute sending limit in `service.throttle`.
"""

from quart import Blueprint

talk = Blueprint("talk", __name__)

from . import views  # noqa: E402, F401  (registers the routes)
