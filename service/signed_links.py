"""Signed, expiring, one-purpose tokens for the links Flasky mails.

Each purpose signs with its own salt, so a token made for one purpose does not
even verify as another. Each token also carries a fingerprint of the account
state it was issued against (the e-mail address, the password hash); once
that state changes, the token dies. That is what makes a reset token
single-use: using it changes the password hash it names. The payload is
signed, not secret, so the fingerprint is an HMAC keyed with the app secret,
never the state itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from .config import current_config
from .models import User

# Links in mails work for an hour.
MAX_AGE = 60 * 60


@dataclass(frozen=True)
class Purpose:
    """What a token is for: its salt, and the account state whose change revokes it."""

    salt: str
    state: Callable[[User], str]


CONFIRM = Purpose("flasky-confirm", lambda user: user.email)
RESET_PASSWORD = Purpose("flasky-reset-password", lambda user: user.password_hash or "")
CHANGE_EMAIL = Purpose("flasky-change-email", lambda user: user.email)
# Not a mailed link: the browser session's proof that this password was right,
# until the two-factor code is too (service/auth/two_factor_views.py). It dies
# with a new password, a new session generation or a change of secret.
TWO_FACTOR_PENDING = Purpose(
    "flasky-two-factor-pending",
    lambda user: f"{user.password_hash}:{user.session_generation}:{user.two_factor_secret}",
)


def _serializer(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_config().secret_key, salt=purpose.salt)


def _fingerprint(purpose: Purpose, user: User) -> str:
    key = f"{current_config().secret_key}:{purpose.salt}".encode()
    digest = hmac.new(key, purpose.state(user).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def make_token(purpose: Purpose, user: User, **claims: str) -> str:
    """A token for `user` and `purpose`, optionally carrying extra `claims`."""
    payload = {"user": user.id, "state": _fingerprint(purpose, user), **claims}
    return _serializer(purpose).dumps(payload)


@dataclass(frozen=True)
class TokenUse:
    """A valid token's user (role loaded) and its extra claims."""

    user: User
    claims: dict[str, Any]


async def use_token(
    session: AsyncSession, purpose: Purpose, token: str, max_age: int = MAX_AGE
) -> TokenUse | None:
    """The user `token` names, if it is signed for `purpose`, fresh, and still current."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(payload, dict):
        return None
    user_id, state = payload.pop("user", None), payload.pop("state", None)
    if not isinstance(user_id, int) or not isinstance(state, str):
        return None
    user = await session.get(User, user_id, options=[joinedload(User.role)])
    if user is None or not hmac.compare_digest(state, _fingerprint(purpose, user)):
        return None
    return TokenUse(user, payload)
