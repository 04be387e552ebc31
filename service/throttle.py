"""Login throttling per account and client address, shared by every worker.

The state lives in the database (`LoginFailure` rows), not in process memory,
so an attacker gains nothing by spreading guesses over several workers. The
key is the pair (e-mail, address): a guesser is stopped on the account they
target, while the owner, logging in from elsewhere, and other accounts are
not locked out by someone else's guessing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .config import Config
from .models import LoginFailure, utcnow

# The columns' sizes; longer keys are cut, which only merges absurd inputs.
_EMAIL_LENGTH = 254
_ADDRESS_LENGTH = 64


def _key(email: str, address: str | None) -> tuple[str, str]:
    return email.strip().lower()[:_EMAIL_LENGTH], (address or "unknown")[:_ADDRESS_LENGTH]


async def is_locked_out(
    session: AsyncSession, config: Config, email: str, address: str | None
) -> bool:
    """Whether this pair has used up its failed attempts within the window."""
    email, address = _key(email, address)
    since = utcnow() - timedelta(seconds=config.login_window)
    failures = await session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.email == email,
            LoginFailure.address == address,
            LoginFailure.timestamp > since,
        )
    )
    return (failures or 0) >= config.login_max_failures


async def record_failure(
    session: AsyncSession, config: Config, email: str, address: str | None
) -> None:
    """Count one failed login for this pair, and forget failures older than the window."""
    email, address = _key(email, address)
    now = utcnow()
    await session.execute(
        delete(LoginFailure).where(
            LoginFailure.timestamp <= now - timedelta(seconds=config.login_window)
        )
    )
    session.add(LoginFailure(email=email, address=address, timestamp=now))
    await session.commit()


async def clear_failures(session: AsyncSession, email: str, address: str | None) -> None:
    """Forget this pair's failures after a successful login (the caller commits)."""
    email, address = _key(email, address)
    await session.execute(
        delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.address == address)
    )
