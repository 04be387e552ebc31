"""Two-factor sign-in: TOTP codes (RFC 6238), recovery codes, and the secret at rest.

The secret is stored encrypted (Fernet: AES-128-CBC with an HMAC-SHA256, from
`cryptography`) under a key derived from SECRET_KEY with HKDF, one key per
use: a copy of the database alone yields no secret. The secret being set up,
not yet confirmed, travels in the browser session encrypted under a key of its
own and expires with its Fernet timestamp (`SETUP_MAX_AGE`), so reloading the
setup page shows the same secret, and an abandoned setup leaves nothing.

A TOTP code is 6 digits for a 30-second step, accepted one step early or
late. Replays are refused by the database: accepting a code moves
`users.two_factor_last_step` forward in one conditional UPDATE, which only one
request can win, whichever worker or server runs it.

Recovery codes are random (50 bits each), so a keyed SHA-256 (HMAC under a
key derived from SECRET_KEY) is enough to keep them: nobody can test guesses
against a leaked table without the key, and checking one is an indexed lookup
rather than an Argon2 verification. Using one deletes its row, and only the
request whose DELETE found it succeeds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from functools import lru_cache
from typing import Any

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from markupsafe import Markup
from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from .config import current_config
from .db import write_transaction
from .models import RecoveryCode, User

STEP = 30  # seconds
DIGITS = 6
# Codes of the step before and after the current one are accepted (clock skew).
SKEW = 1
RECOVERY_CODES = 10
# How long a secret shown on the setup page can still be confirmed.
SETUP_MAX_AGE = 10 * 60
ISSUER = "Flasky"

# Recovery codes: 10 characters of these 32 (no 0/o or 1/l to mistake), in two halves.
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10
_NOT_CODE = re.compile(r"[\s-]")

# Where the time comes from; tests replace it to freeze the clock.
clock = time.time


@lru_cache(maxsize=8)
def _derived_key(secret_key: str, use: str) -> bytes:
    """32 bytes for `use`, derived from SECRET_KEY (each use its own key)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"flasky-two-factor-{use}".encode()
    )
    return hkdf.derive(secret_key.encode())


def _fernet(use: str) -> Fernet:
    key = _derived_key(current_config().secret_key, use)
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_secret(secret: str) -> str:
    """What `users.two_factor_secret` keeps of a TOTP secret."""
    return _fernet("secret").encrypt(secret.encode()).decode()


def decrypt_secret(stored: str) -> str:
    return _fernet("secret").decrypt(stored.encode()).decode()


def new_setup() -> tuple[str, str]:
    """A fresh secret, and the sealed form the browser session keeps during setup."""
    secret = pyotp.random_base32()
    return secret, _fernet("setup").encrypt(secret.encode()).decode()


def setup_secret(sealed: Any) -> str | None:
    """The secret of a setup still in time (`SETUP_MAX_AGE`), or None."""
    if not isinstance(sealed, str):
        return None
    try:
        return _fernet("setup").decrypt(sealed.encode(), ttl=SETUP_MAX_AGE).decode()
    except InvalidToken:
        return None


def provisioning_qr(secret: str, user: User) -> Markup:
    """The `otpauth://` URI of `secret` as an inline SVG QR code, drawn here (no third party).

    Safe as Markup: segno writes only the modules' path data, none of the URI's text.
    """
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704


def _normalize(code: str) -> str:
    return _NOT_CODE.sub("", code).lower()


def matching_step(secret: str, code: str) -> int | None:
    """The time step (within the skew) whose TOTP is `code`, or None."""
    code = _normalize(code)
    # isascii: str.isdigit also takes other scripts' digits, which compare_digest refuses.
    if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    now = int(clock()) // STEP
    for step in range(now - SKEW, now + SKEW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def claim_step(session: AsyncSession, user: User, step: int) -> bool:
    """Record `step` as used; False if it, or a later one, already was (a replay)."""
    async with write_transaction(session):
        result = await session.execute(
            update(User)
            .where(
                User.id == user.id,
                or_(User.two_factor_last_step.is_(None), User.two_factor_last_step < step),
            )
            .values(two_factor_last_step=step)
            .execution_options(synchronize_session=False)
        )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _recovery_hash(code: str) -> str:
    key = _derived_key(current_config().secret_key, "recovery")
    return hmac.new(key, _normalize(code).encode(), hashlib.sha256).hexdigest()


def _recovery_code() -> str:
    half = _RECOVERY_LENGTH // 2
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{chars[:half]}-{chars[half:]}"


async def _use_recovery_code(session: AsyncSession, user: User, code: str) -> bool:
    if len(_normalize(code)) != _RECOVERY_LENGTH:
        return False
    async with write_transaction(session):
        result = await session.execute(
            delete(RecoveryCode).where(
                RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(code)
            )
        )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def check_code(session: AsyncSession, user: User, code: str) -> bool:
    """Whether `code` is a current, unused TOTP of `user` or one of their unused recovery codes.

    Either way the code is spent (committed) when it is accepted.
    """
    if not user.two_factor_enabled or not user.two_factor_secret or len(code) > 64:
        return False
    step = matching_step(decrypt_secret(user.two_factor_secret), code)
    if step is not None:
        return await claim_step(session, user, step)
    return await _use_recovery_code(session, user, code)


async def enable(session: AsyncSession, user: User, secret: str, step: int) -> list[str]:
    """Turn two-factor on with `secret` (confirmed by a code of `step`); the new recovery codes.

    Committed; the codes are returned once and kept only as hashes.
    """
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    async with write_transaction(session):
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(c)) for c in codes)
        user.two_factor_secret = encrypt_secret(secret)
        user.two_factor_enabled = True
        user.two_factor_last_step = step
    return codes


async def disable(session: AsyncSession, user: User) -> None:
    """Turn two-factor off: the secret and the recovery codes go (committed)."""
    async with write_transaction(session):
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        user.two_factor_secret = None
        user.two_factor_enabled = False
        user.two_factor_last_step = None
