"""Who is making this request: quart-auth's cookie resolved to a database user.

The login cookie carries `"<user id>:<session generation>"`, signed by
quart-auth. A cookie whose generation no longer matches the user's row names
an ended session (password change, "log out everywhere") and is refused, so
a copied cookie stops working when the user wants it to.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Quart, flash, redirect, request, url_for
from quart.typing import ResponseReturnValue
from quart_auth import Action, AuthUser, QuartAuth, Unauthorized, current_user, logout_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from .db import get_session, write_transaction
from .errors import error_response, wants_json
from .i18n import gettext as _
from .models import Permission, User, utcnow
from .notifications import unread_count

# `last_seen` is refreshed at most this often, so browsing does not write on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class SessionUser(AuthUser):
    """quart-auth's user, plus the database `User` its cookie names (loaded once per request)."""

    def __init__(self, auth_id: str | None, action: Action = Action.PASS) -> None:
        super().__init__(auth_id, action)
        self.user: User | None = None
        # For the navbar badge; loaded with the user, in the same statement.
        self.unread_notifications = 0
        self._loaded = auth_id is None

    @classmethod
    def of(cls, user: User) -> SessionUser:
        """A session for `user`, to pass to `quart_auth.login_user`."""
        session_user = cls(user.session_id)
        session_user.user = user
        session_user._loaded = True
        return session_user

    async def load(self) -> User | None:
        if not self._loaded:
            self._loaded = True
            loaded = await load_user_for_session(self.auth_id)
            if loaded is not None:
                self.user, self.unread_notifications = loaded
        return self.user

    @property
    async def is_authenticated(self) -> bool:
        return await self.load() is not None

    # Synchronous views of the loaded user, for templates and permission checks.
    @property
    def id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def username(self) -> str | None:
        return self.user.username if self.user else None

    @property
    def confirmed(self) -> bool:
        return bool(self.user and self.user.confirmed)

    def can(self, perm: Permission) -> bool:
        return self.user is not None and self.user.can(perm)

    def is_administrator(self) -> bool:
        return self.can(Permission.ADMIN)


class TemplateUser:
    """`current_user` as templates see it: the session user, with `is_authenticated` a bool.

    quart-auth's `is_authenticated` is awaitable, which only async-mode Jinja
    can use; templates render synchronously (service.templating), so they get
    this view of the user, loaded before rendering.
    """

    def __init__(self, session_user: SessionUser) -> None:
        self._session_user = session_user
        self.is_authenticated = session_user.user is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session_user, name)


async def _template_user() -> dict[str, TemplateUser]:
    session_user: SessionUser = current_user._get_current_object()  # type: ignore[attr-defined]
    await session_user.load()
    return {"current_user": TemplateUser(session_user)}


# Built once: SQLAlchemy caches a statement's SQL but not the statement, and
# building this one (with its loader option) and its cache key again on every
# signed-in request cost about as much CPU as running it.
_USER_FOR_SESSION = (
    select(User, unread_count(User.id))
    .options(joinedload(User.role))
    .where(User.id == bindparam("user_id"))
)


async def load_user_for_session(auth_id: str | None) -> tuple[User, int] | None:
    """The user an auth id names, if its session generation is still current.

    With the number of their unread notifications, from the same statement.
    """
    try:
        user_id, generation = (int(part) for part in (auth_id or "").split(":"))
    except ValueError:
        return None
    row = (await get_session().execute(_USER_FOR_SESSION, {"user_id": user_id})).first()
    if row is None or row[0].session_generation != generation:
        return None
    return row[0], row[1]


def current_db_user() -> User | None:
    """The database user of this request (loaded by the before-request hook)."""
    return current_user.user  # type: ignore[attr-defined]


def signed_in_user() -> User:
    """The logged-in user of a view behind `login_required` (401 if there is none)."""
    user = current_db_user()
    if user is None:
        raise Unauthorized()
    return user


async def _touch_last_seen(user: User) -> None:
    now = utcnow()
    if now - user.last_seen < LAST_SEEN_RESOLUTION:
        return
    async with write_transaction(get_session()):
        user.last_seen = now


def init_app(app: Quart) -> None:
    QuartAuth(app, user_class=SessionUser)
    # Registered after quart-auth's processor, so its `current_user` wins.
    app.context_processor(_template_user)

    @app.before_request
    async def _load_current_user() -> None:
        endpoint = request.endpoint or ""
        if endpoint.startswith("api.") or endpoint == "static":
            return
        # Resolved once: each read through quart-auth's proxy finds its extension again.
        session_user: SessionUser = current_user._get_current_object()  # type: ignore[attr-defined]
        if session_user.auth_id is None:
            return
        user = await session_user.load()
        if user is None:
            logout_user()
        else:
            await _touch_last_seen(user)

    @app.errorhandler(Unauthorized)
    async def _login_first(_error: Unauthorized) -> ResponseReturnValue:
        if wants_json():
            return await error_response(401, "Invalid credentials")
        await flash(_("Please log in to access this page."), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
