"""Who is calling the API: HTTP Basic with e-mail and password, or a token and no password.

Every endpoint but the OpenAPI document needs credentials in the
Authorization header. The login cookie is never looked at here, which is what
makes the API safe without CSRF tokens: a browser never adds this header to a
cross-site request on its own.

A password costs an Argon2id verification (in a worker thread); a token costs
one indexed SELECT, which is why clients should trade their password for a
token once (`POST /api/v1/tokens/`) and use that. Passwords are checked as
the login form checks them, and failures count towards the same per-account
and per-address lockout, so the API is no way around it.

An account with two-factor sign-in on cannot use its password on the API,
except to get a token: `POST /api/v1/tokens/` with a current code in the
`X-Flasky-OTP` header (a wrong code counts as a failed attempt). The token
then works as any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import NoReturn, ParamSpec, TypeVar

from quart import abort, g, request
from sqlalchemy import bindparam, select
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import TooManyRequests, Unauthorized

from .. import throttle, two_factor
from ..auth.accounts import authenticate
from ..config import current_config
from ..db import get_session, read_rows
from ..identity import READER_COLUMNS, Reader
from ..models import ApiToken, Permission, Role, User, hash_token, utcnow
from . import api

# The only endpoint anyone may read: clients need it before they have credentials.
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
# The one endpoint a two-factor account may call with its password, and the header of its code.
TOKEN_ENDPOINT = "api.get_token"  # noqa: S105 (an endpoint name)
OTP_HEADER = "X-Flasky-OTP"
TWO_FACTOR_REFUSAL = (
    f"This account uses two-factor sign-in: get a token with POST /api/v1/tokens/ "
    f"and a current code in the {OTP_HEADER} header"
)

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Caller:
    """The authenticated user, and the id of the token they used (None for e-mail and password)."""

    user: User | Reader
    token_id: int | None


def current_caller() -> Caller:
    caller: Caller = g.api_caller
    return caller


def invalid_credentials(message: str = "Invalid credentials") -> NoReturn:
    """401, with the challenge that tells HTTP clients to retry with Basic auth."""
    raise Unauthorized(message, www_authenticate=WWWAuthenticate("basic", {"realm": "Flasky API"}))


async def _by_password(email: str, password: str) -> Caller | None:
    config, session, address = current_config(), get_session(), request.remote_addr
    attempt = await throttle.reserve_attempt(session, config, email, address)
    if attempt is None:
        raise TooManyRequests(
            "Too many failed attempts for this account; try again later",
            retry_after=config.login_window,
        )
    user = await authenticate(session, email, password)
    if user is None:
        await throttle.attempt_failed(session, config)
        return None
    if user.two_factor_enabled:
        code = request.headers.get(OTP_HEADER)
        if request.endpoint != TOKEN_ENDPOINT or not code:
            # The password was right: not a failure, but no way in either.
            await throttle.forget_attempt(session, attempt)
            invalid_credentials(TWO_FACTOR_REFUSAL)
        if not await two_factor.check_code(session, user, code):
            await throttle.attempt_failed(session, config)
            return None
    await throttle.forget_attempt(session, attempt)
    return Caller(user, None)


# Built once, its values bound parameters: building it on every API request
# cost about as much CPU as running it. The token's id and its user's
# `Reader`, not ORM objects: the ORM's loading of the token, the user and
# the role cost more than the statement, on every request (the API's post:
# 3.86 -> 3.27 million instructions a request).
_TOKEN_CALLER = (
    select(ApiToken.id, *READER_COLUMNS)
    .join_from(ApiToken, User, ApiToken.user_id == User.id)
    .outerjoin(Role, User.role_id == Role.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.expires_at > bindparam("now"))
)


async def _by_token(token: str) -> Caller | None:
    values = {"token_hash": hash_token(token), "now": utcnow()}
    row = (await read_rows(get_session(), _TOKEN_CALLER, values)).first()
    if row is None:
        return None
    token_id, *reader = row
    return Caller(Reader(*reader), token_id)


@api.before_request
async def identify_caller() -> None:
    """Settle the caller before any view runs: 401 without valid credentials, 403 unconfirmed."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    credentials = request.authorization
    if credentials is None or credentials.type != "basic" or not credentials.username:
        invalid_credentials()
    if credentials.password:
        caller = await _by_password(credentials.username, credentials.password)
    else:
        caller = await _by_token(credentials.username)
    if caller is None:
        invalid_credentials()
    if not caller.user.confirmed:
        abort(403, "Unconfirmed account")
    g.api_caller = caller


def forbid_unless(allowed: bool) -> None:
    """The one permission refusal of the API: 403 Insufficient permissions."""
    if not allowed:
        abort(403, "Insufficient permissions")


def permission_required(
    permission: Permission,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Refuse the view to callers whose role lacks `permission`."""

    def decorator(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(view)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            forbid_unless(current_caller().user.can(permission))
            return await view(*args, **kwargs)

        return wrapper

    return decorator
