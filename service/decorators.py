"""Access rules for views: "needs permission X" and "administrators only".

An anonymous visitor is sent to log in first (quart-auth's `login_required`);
a logged-in user without the permission gets the 403 page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from quart import abort
from quart_auth import login_required

from .identity import session_user
from .models import Permission

P = ParamSpec("P")
R = TypeVar("R")


def can(permission: Permission) -> bool:
    """Whether the user of this request may do what `permission` allows (never, anonymously)."""
    return session_user().can(permission)


def permission_required(
    permission: Permission,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Refuse the view to users whose role lacks `permission`."""

    def decorator(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(view)
        async def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            if not can(permission):
                abort(403)
            return await view(*args, **kwargs)

        return login_required(checked)

    return decorator


def admin_required(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Refuse the view to everyone but administrators."""
    return permission_required(Permission.ADMIN)(view)
