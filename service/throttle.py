"""Rate limits shared by every worker: logins per account and address, messages per sender.

The state lives in the database (`LoginFailure` rows), not in process memory,
so an attacker gains nothing by spreading guesses over several workers. The
key is the pair (e-mail, address): a guesser is stopped on the account they
target, while the owner, logging in from elsewhere, and other accounts are
not locked out by someone else's guessing.

Messages need no table of their own: the sent messages are the record, and
the (sender, timestamp) index counts the last minute's. The count runs in the
write transaction that would add the message, after the sender's row is
locked (PostgreSQL; SQLite's write transactions run one at a time anyway), so
parallel sends from one user, on any worker, each see the ones before them.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .config import Config
from .db import write_transaction
from .limits import MESSAGE_WINDOW, MESSAGES_PER_WINDOW
from .models import LoginFailure, Message, User, utcnow

# The columns' sizes; longer keys are cut, which only merges absurd inputs.
_EMAIL_LENGTH = 254
_ADDRESS_LENGTH = 64


def _key(email: str, address: str | None) -> tuple[str, str]:
    return email.strip().lower()[:_EMAIL_LENGTH], (address or "unknown")[:_ADDRESS_LENGTH]


async def reserve_attempt(
    session: AsyncSession, config: Config, email: str, address: str | None
) -> LoginFailure | None:
    """Count an attempt for this pair before its password is checked; None if locked out.

    The attempt is written (and committed) as a failure first and the pair's
    failures counted after: parallel guesses then each see the ones before
    them, so a burst gets no more password checks than the limit. A refused
    attempt is taken back, so guessing during a lockout does not prolong it.
    On success the caller deletes the row (`forget_attempt`) or all of the
    pair's failures (`clear_failures`); on failure it stays (`attempt_failed`).

    Each write is one short transaction of its own (`write_transaction`): on
    SQLite every other writer waits for it, so it holds the write lock as
    briefly as it can, and never across the password check.
    """
    email, address = _key(email, address)
    now = utcnow()
    async with write_transaction(session):
        attempt = LoginFailure(email=email, address=address, timestamp=now)
        session.add(attempt)
    failures = await session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.email == email,
            LoginFailure.address == address,
            LoginFailure.timestamp > now - timedelta(seconds=config.login_window),
        )
    )
    if (failures or 0) > config.login_max_failures:
        await forget_attempt(session, attempt)
        return None
    return attempt


async def attempt_failed(session: AsyncSession, config: Config) -> None:
    """The reserved attempt stays as a failure; forget failures older than the window."""
    window_start = utcnow() - timedelta(seconds=config.login_window)
    async with write_transaction(session):
        await session.execute(delete(LoginFailure).where(LoginFailure.timestamp <= window_start))


async def forget_attempt(session: AsyncSession, attempt: LoginFailure) -> None:
    """Take back an attempt that turned out not to be a failure."""
    async with write_transaction(session):
        await session.execute(delete(LoginFailure).where(LoginFailure.id == attempt.id))


async def clear_failures(session: AsyncSession, email: str, address: str | None) -> None:
    """Forget this pair's failures after a successful login."""
    email, address = _key(email, address)
    async with write_transaction(session):
        await session.execute(
            delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.address == address)
        )


async def message_retry_after(session: AsyncSession, sender_id: int) -> int | None:
    """Seconds until `sender_id` may send again, or None if they may send now.

    Call it inside the write transaction that then adds the message: it locks
    the sender's row first, so one sender's parallel requests queue here.
    """
    await session.execute(select(User.id).where(User.id == sender_id).with_for_update())
    window_start = utcnow() - timedelta(seconds=MESSAGE_WINDOW)
    count, oldest = (
        await session.execute(
            select(func.count(Message.id), func.min(Message.timestamp)).where(
                Message.sender_id == sender_id, Message.timestamp > window_start
            )
        )
    ).one()
    if count < MESSAGES_PER_WINDOW:
        return None
    return max(1, math.ceil((oldest - window_start).total_seconds()))


async def guarded(
    session: AsyncSession,
    config: Config,
    email: str,
    address: str | None,
    check: Callable[[], Awaitable[bool]],
) -> bool | None:
    """Run `check` (of a password, a code) as one counted attempt of this pair.

    None while the pair is locked out (`check` does not run); else its result.
    A failure stays counted, a success clears the pair's failures.
    """
    if await reserve_attempt(session, config, email, address) is None:
        return None
    if not await check():
        await attempt_failed(session, config)
        return False
    await clear_failures(session, email, address)
    return True
