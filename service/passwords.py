"""Argon2id password hashing, run in a worker thread so it never blocks the event loop."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .config import Config, current_config

MIN_LENGTH = 8
# Argon2 accepts any length; this bound only stops a megabyte "password" from
# being used to burn CPU. Longer passwords are refused, never truncated.
MAX_LENGTH = 1024


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost)


def hasher_for(config: Config) -> PasswordHasher:
    return _hasher(config.argon2_time_cost, config.argon2_memory_cost)


async def hash_password(password: str, config: Config | None = None) -> str:
    hasher = hasher_for(config or current_config())
    return await asyncio.to_thread(hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; False for a missing or malformed hash."""
    if not password_hash or len(password) > MAX_LENGTH:
        return False
    hasher = hasher_for(current_config())
    try:
        return await asyncio.to_thread(hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    return hasher_for(current_config()).check_needs_rehash(password_hash)
