"""Who is making this request: quart-auth's cookie resolved to a database user.

The login cookie carries `"<user id>:<session generation>"`, signed by
quart-auth. A cookie whose generation no longer matches the user's row names
an ended session (password change, "log out everywhere") and is refused, so
a copied cookie stops working when the user wants it to.

A request reads its user as a `Reader` (their columns and their role's
permissions, one statement with the unread count); a view that changes the
account loads the `User` itself with `await signed_in_user()`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast

from quart import Quart, flash, redirect, request, url_for
from quart.typing import ResponseReturnValue
from quart_auth import Action, AuthUser, QuartAuth, Unauthorized, logout_user
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import joinedload

from .db import get_session, read_rows, write_transaction
from .errors import error_response, wants_json
from .i18n import gettext as _
from .models import Permission, Rights, Role, User, utcnow
from .notifications import unread_count
from .request_user import USER_ATTRIBUTE, request_user
from .signing import UncompressedSerializer, serializer

# `last_seen` is refreshed at most this often, so browsing does not write on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Reader(Rights):
    """The signed-in user as pages read them: their columns, not an ORM object.

    Read with the login cookie on every request, where the ORM's loading of a
    `User` and its role cost about as much as the statement (0.37 of 0.91
    million instructions). Views that change the account load the `User`
    with `await signed_in_user()`.
    """

    id: int
    username: str
    email: str
    avatar_hash: str | None
    confirmed: bool
    locale: str | None
    last_seen: datetime
    permissions: int

    def role_permissions(self) -> int:
        return self.permissions

    @classmethod
    def of(cls, user: User) -> Reader:
        """The `Reader` of a loaded `User` (its role loaded)."""
        values = {name: getattr(user, name) for name in _USER_FIELDS}
        return cls(**values, permissions=user.role_permissions())


# The columns a `Reader` holds, then its role's permissions (0 without a role).
_USER_FIELDS = [field.name for field in fields(Reader) if field.name != "permissions"]
READER_COLUMNS = (
    *(getattr(User, name) for name in _USER_FIELDS),
    func.coalesce(Role.permissions, 0),
)


class SessionUser(AuthUser):
    """quart-auth's user, plus the `Reader` its cookie names (loaded once per request)."""

    def __init__(self, auth_id: str | None, action: Action = Action.PASS) -> None:
        super().__init__(auth_id, action)
        self.reader: Reader | None = None
        # For the navbar badge; loaded with the user, in the same statement.
        self.unread_notifications = 0
        self._loaded = auth_id is None

    @classmethod
    def of(cls, user: User) -> SessionUser:
        """A session for `user`, to pass to `quart_auth.login_user`."""
        session_user = cls(user.session_id)
        session_user.reader = Reader.of(user)
        session_user._loaded = True
        return session_user

    async def load(self) -> Reader | None:
        if not self._loaded:
            self._loaded = True
            loaded = await load_reader(self.auth_id)
            if loaded is not None:
                self.reader, self.unread_notifications = loaded
        return self.reader

    @property
    async def is_authenticated(self) -> bool:
        return await self.load() is not None

    # Synchronous views of the loaded user, for templates and permission checks.
    @property
    def id(self) -> int | None:
        return self.reader.id if self.reader else None

    @property
    def username(self) -> str | None:
        return self.reader.username if self.reader else None

    @property
    def confirmed(self) -> bool:
        return bool(self.reader and self.reader.confirmed)

    def can(self, perm: Permission) -> bool:
        return self.reader is not None and self.reader.can(perm)

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
        self.is_authenticated = session_user.reader is not None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session_user, name)


def session_user() -> SessionUser:
    """quart-auth's user of this request: who signed in, if anyone (see service.request_user)."""
    return cast(SessionUser, request_user())


async def _template_user() -> dict[str, TemplateUser]:
    user = session_user()
    await user.load()
    return {"current_user": TemplateUser(user)}


# Built once: SQLAlchemy caches a statement's SQL but not the statement, and
# building this one and its cache key again on every signed-in request cost
# about as much CPU as running it.
_READER_FOR_SESSION = (
    select(User.session_generation, unread_count(User.id), *READER_COLUMNS)
    .outerjoin(Role, User.role_id == Role.id)
    .where(User.id == bindparam("user_id"))
)


async def load_reader(auth_id: str | None) -> tuple[Reader, int] | None:
    """The user an auth id names, if its session generation is still current.

    With the number of their unread notifications, from the same statement.
    """
    try:
        user_id, generation = (int(part) for part in (auth_id or "").split(":"))
    except ValueError:
        return None
    session = get_session()
    row = (await read_rows(session, _READER_FOR_SESSION, {"user_id": user_id})).first()
    if row is None or row[0] != generation:
        return None
    return Reader(*row[2:]), row[1]


def current_reader() -> Reader | None:
    """The signed-in user of this request (loaded by the before-request hook), or None."""
    return session_user().reader


def signed_in_reader() -> Reader:
    """The signed-in user of a view behind `login_required` (401 if there is none)."""
    reader = current_reader()
    if reader is None:
        raise Unauthorized()
    return reader


async def signed_in_user() -> User:
    """The signed-in user's `User`, with their role: for a view that changes the account.

    One statement (the session keeps it for the rest of the request); 401 if
    nobody is signed in, or the account is gone since the request began.
    """
    reader = signed_in_reader()
    user = await get_session().get(User, reader.id, options=[joinedload(User.role)])
    if user is None:
        raise Unauthorized()
    return user


async def _touch_last_seen(reader: Reader) -> None:
    now = utcnow()
    if now - reader.last_seen < LAST_SEEN_RESOLUTION:
        return
    session = get_session()
    async with write_transaction(session):
        await session.execute(update(User).where(User.id == reader.id).values(last_seen=now))


def _login_cookie_serializer(
    secret: str | bytes | Iterable[str | bytes], salt: str | bytes
) -> UncompressedSerializer:
    """quart-auth's serializer of the login cookie, with its settings (SHA-512), made once.

    quart-auth makes one for every request that reads the cookie; this is
    service.signing's, which also makes its signer and derives its key once
    (the cookie's check: 25 → 13 µs). The tokens are the same.
    """
    keys = (secret,) if isinstance(secret, str | bytes) else tuple(secret)
    return serializer(keys, salt, digest_method=hashlib.sha512)


def init_app(app: Quart) -> None:
    QuartAuth(
        app,
        user_class=SessionUser,
        attribute_name=USER_ATTRIBUTE,
        # A factory where quart-auth takes a class: it only calls it.
        serializer_class=_login_cookie_serializer,  # type: ignore[arg-type]
    )
    # Registered after quart-auth's processor, so its `current_user` wins.
    app.context_processor(_template_user)

    @app.before_request
    async def _load_current_user() -> None:
        endpoint = request.endpoint or ""
        if endpoint.startswith("api.") or endpoint == "static":
            return
        user = session_user()
        if user.auth_id is None:
            return
        reader = await user.load()
        if reader is None:
            logout_user()
        else:
            await _touch_last_seen(reader)

    @app.errorhandler(Unauthorized)
    async def _login_first(_error: Unauthorized) -> ResponseReturnValue:
        if wants_json():
            return await error_response(401, "Invalid credentials")
        await flash(_("Please log in to access this page."), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
