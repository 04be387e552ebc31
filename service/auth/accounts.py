"""Accounts: creating them, checking and changing passwords, with what security needs."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from .. import throttle, two_factor
from ..config import current_config
from ..db import write_transaction
from ..models import ApiToken, Role, User
from ..passwords import hash_password, needs_rehash, verify_password

# One throwaway hash per set of Argon2 parameters (see `authenticate`).
_decoy_hashes: dict[tuple[int, int], str] = {}


async def _decoy_hash() -> str:
    config = current_config()
    key = (config.argon2_time_cost, config.argon2_memory_cost)
    if key not in _decoy_hashes:
        _decoy_hashes[key] = await hash_password(secrets.token_urlsafe(16))
    return _decoy_hashes[key]


async def email_taken(session: AsyncSession, email: str) -> bool:
    """Whether an account uses `email` (addresses are stored lower-case)."""
    return await session.scalar(select(User.id).where(User.email == email.lower())) is not None


async def create_account(
    session: AsyncSession, email: str, username: str, password: str, locale: str | None = None
) -> User:
    """A new, unconfirmed user, committed (IntegrityError if the address or name is taken).

    `locale` is the language the account starts with (its mail's and, once
    signed in, its pages'): registration passes the page's.

    The `FLASKY_ADMIN` address becomes an Administrator, everyone else gets the
    default role. The password is hashed before the write lock is taken.
    """
    if email.lower() == current_config().admin_email:
        role_query = select(Role).where(Role.name == "Administrator")
    else:
        role_query = select(Role).where(Role.default.is_(True))
    role = await session.scalar(role_query)
    password_hash = await hash_password(password)
    async with write_transaction(session):
        user = User(
            email=email, username=username, password_hash=password_hash, role=role, locale=locale
        )
        session.add(user)
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The user with this e-mail and password (role loaded), or None.

    An unknown address still costs one Argon2 verification, so the response
    time does not tell which addresses have an account. A hash made with
    weaker parameters than today's is upgraded (and committed).
    """
    user = await session.scalar(
        select(User).options(joinedload(User.role)).where(User.email == email.lower())
    )
    if user is None:
        await verify_password(await _decoy_hash(), password)
        return None
    if not await verify_password(user.password_hash, password):
        return None
    if user.password_hash and needs_rehash(user.password_hash):
        upgraded = await hash_password(password)
        async with write_transaction(session):
            user.password_hash = upgraded
    return user


async def set_password(session: AsyncSession, user: User, password: str) -> None:
    """Give `user` a new password; their sessions and API tokens end with the old one.

    Committed here; the caller logs the current browser back in if it should stay.
    """
    password_hash = await hash_password(password)
    async with write_transaction(session):
        user.password_hash = password_hash
        user.end_all_sessions()
        await session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


async def holder_confirmed(
    session: AsyncSession, user: User, password: str, code: str, address: str | None
) -> bool | None:
    """Whether the password, and with two-factor on the code too, prove the account holder.

    None while logins to the account from `address` are throttled: a wrong
    answer counts towards the same lockout as a failed login, so no form that
    asks for them is a way around it; a right one clears the pair's failures.
    """

    async def check() -> bool:
        if not await verify_password(user.password_hash, password):
            return False
        return not user.two_factor_enabled or await two_factor.check_code(session, user, code)

    return await throttle.guarded(session, current_config(), user.email, address, check)
