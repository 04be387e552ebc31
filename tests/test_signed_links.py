"""One-purpose tokens: signed, expiring, and dead once the state they name changes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import User
from service.signed_links import (
    CHANGE_EMAIL,
    CONFIRM,
    MAX_AGE,
    RESET_PASSWORD,
    Purpose,
    make_token,
    use_token,
)

from .fixtures import MakeUser


@pytest.fixture
async def context(app: Quart) -> AsyncIterator[None]:
    async with app.app_context():
        yield


@pytest.fixture
async def john(make_user: MakeUser) -> User:
    return await make_user("john")


async def test_token_names_its_user(context: None, john: User, db: AsyncSession) -> None:
    use = await use_token(db, CONFIRM, make_token(CONFIRM, john))
    assert use is not None
    assert use.user.id == john.id
    assert use.user.role is not None


async def test_token_carries_extra_claims(context: None, john: User, db: AsyncSession) -> None:
    token = make_token(CHANGE_EMAIL, john, new_email="new@flasky.dev")
    use = await use_token(db, CHANGE_EMAIL, token)
    assert use is not None
    assert use.claims == {"new_email": "new@flasky.dev"}


@pytest.mark.parametrize(
    ("made_for", "used_for"),
    [
        (CONFIRM, RESET_PASSWORD),
        (RESET_PASSWORD, CONFIRM),
        (CONFIRM, CHANGE_EMAIL),
        (CHANGE_EMAIL, CONFIRM),
    ],
)
async def test_token_works_only_for_its_purpose(
    context: None, john: User, db: AsyncSession, made_for: Purpose, used_for: Purpose
) -> None:
    assert await use_token(db, used_for, make_token(made_for, john)) is None


async def test_expired_token_is_refused(
    context: None, john: User, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = int(time.time()) - MAX_AGE - 1
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: issued)
        token = make_token(CONFIRM, john)
    assert await use_token(db, CONFIRM, token) is None


async def test_token_younger_than_an_hour_works(
    context: None, john: User, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = int(time.time()) - MAX_AGE + 60
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: issued)
        token = make_token(CONFIRM, john)
    assert await use_token(db, CONFIRM, token) is not None


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "eyJ1c2VyIjoxfQ.AAAAAA.AAAA"])
async def test_malformed_token_is_refused(
    context: None, john: User, db: AsyncSession, token: str
) -> None:
    assert await use_token(db, CONFIRM, token) is None


async def test_token_signed_with_another_key_is_refused(
    context: None, john: User, db: AsyncSession
) -> None:
    forged = URLSafeTimedSerializer("not-the-secret", salt=CONFIRM.salt).dumps(
        {"user": john.id, "state": "0" * 32}
    )
    assert await use_token(db, CONFIRM, forged) is None


async def test_reset_token_dies_with_the_password_it_was_made_for(
    context: None, john: User, db: AsyncSession
) -> None:
    token = make_token(RESET_PASSWORD, john)
    john.password_hash = "$argon2id$v=19$m=8192,t=1,p=4$changed"
    await db.commit()
    assert await use_token(db, RESET_PASSWORD, token) is None


async def test_token_of_a_deleted_user_is_refused(
    context: None, john: User, db: AsyncSession
) -> None:
    token = make_token(CONFIRM, john)
    await db.delete(john)
    await db.commit()
    assert await use_token(db, CONFIRM, token) is None


async def test_token_does_not_reveal_the_password_hash(context: None, john: User) -> None:
    payload = URLSafeTimedSerializer("unused").loads_unsafe(make_token(RESET_PASSWORD, john))[1]
    assert john.password_hash is not None
    assert john.password_hash not in str(payload)
    assert john.password_hash.split("$")[-1] not in str(payload)
