"""quart-auth's user of this request, read where quart-auth keeps it.

quart-auth's `current_user` proxy, on every read, looks for its extension
among the app's and builds a spare anonymous user for a default; a page
reads the user a dozen times (hooks, views, templates), which cost about 2%
of the anonymous index's CPU. Once quart-auth has loaded the user (or
`login_user`/`logout_user` replaced it) it is an attribute of `g` named
`USER_ATTRIBUTE` — the `attribute_name` service.identity gives quart-auth —
and `request_user()` reads that, the proxy only before.

A module of its own so that service.i18n, which service.identity imports,
can read the user too.
"""

from __future__ import annotations

from quart import g
from quart_auth import AuthUser, current_user

USER_ATTRIBUTE = "flasky_session_user"


def request_user() -> AuthUser:
    """The user quart-auth resolved for this request (anonymous: an `AuthUser` of `None`)."""
    user: AuthUser | None = g.get(USER_ATTRIBUTE)
    if user is None:
        user = current_user._get_current_object()  # type: ignore[attr-defined]
    return user
