"""Notifications: the caller's own, newest first. Reading them here marks nothing read."""

from __future__ import annotations

from .. import notifications
from ..config import current_config
from ..db import get_session
from ..pagination import page_arg
from . import api
from .authentication import current_caller
from .operations import operation
from .representations import JSON, NOTIFICATION_PAGE, notification_json, page_json


@api.route("/notifications/")
@operation("The caller's notifications, newest first", returns=NOTIFICATION_PAGE)
async def get_notifications() -> JSON:
    page = await notifications.notifications_of(
        get_session(), current_caller().user.id, page_arg(), current_config().followers_per_page
    )
    items = [notification_json(notification) for notification in page.items]
    return page_json("notifications", items, page, "api.get_notifications")
