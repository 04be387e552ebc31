"""Roles, permissions and the model rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Permission, Post, Role, User

from .fixtures import MakeUser


async def test_standard_roles_and_permissions(db: AsyncSession) -> None:
    roles = {role.name: role for role in (await db.scalars(select(Role))).all()}
    assert set(roles) == {"User", "Moderator", "Administrator"}
    assert roles["User"].default and not roles["Moderator"].default
    assert roles["User"].permissions == Permission.FOLLOW | Permission.COMMENT | Permission.WRITE
    assert roles["Moderator"].has_permission(Permission.MODERATE)
    assert not roles["Moderator"].has_permission(Permission.ADMIN)
    assert roles["Administrator"].permissions == 31


async def test_insert_roles_is_idempotent(db: AsyncSession) -> None:
    assert await Role.insert_roles(db) is False


async def test_insert_roles_repairs_changed_permissions(db: AsyncSession) -> None:
    user_role = await db.scalar(select(Role).where(Role.name == "User"))
    assert user_role is not None
    user_role.permissions = 0
    await db.commit()
    assert await Role.insert_roles(db) is True
    assert user_role.permissions == 7


async def test_user_can_by_role(make_user: MakeUser) -> None:
    user = await make_user("john")
    moderator = await make_user("mod", role="Moderator")
    admin = await make_user("boss", role="Administrator")
    assert user.can(Permission.WRITE) and not user.can(Permission.MODERATE)
    assert moderator.can(Permission.MODERATE) and not moderator.is_administrator()
    assert admin.is_administrator()


def test_email_is_stored_lower_case_with_its_avatar_hash() -> None:
    user = User(email="John@Example.COM", username="john")
    assert user.email == "john@example.com"
    assert user.avatar_hash == "d4c74594d841139328695756648b6bd6"


async def test_timestamps_come_back_timezone_aware_utc(
    db: AsyncSession, make_user: MakeUser
) -> None:
    user = await make_user("john")
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    db.add(Post(body="x", body_html="<p>x</p>", author=user, timestamp=when))
    await db.commit()
    db.expunge_all()
    post = await db.scalar(select(Post))
    assert post is not None
    assert post.timestamp == when
    assert post.timestamp.tzinfo is not None


async def test_naive_datetimes_are_refused(db: AsyncSession, make_user: MakeUser) -> None:
    user = await make_user("john")
    db.add(Post(body="x", body_html="x", author=user, timestamp=datetime(2026, 1, 1)))
    with pytest.raises(StatementError, match="naive datetime"):
        await db.commit()


async def test_relationships_never_lazy_load(db: AsyncSession, make_user: MakeUser) -> None:
    user = await make_user("john")
    db.add(Post(body="x", body_html="x", author=user))
    await db.commit()
    db.expunge_all()
    post = await db.scalar(select(Post))
    assert post is not None
    with pytest.raises(Exception, match="lazy"):
        _ = post.author


def test_session_id_names_the_generation() -> None:
    user = User(email="a@b.c", username="a")
    user.id = 7
    assert user.session_id == "7:0"
    user.end_all_sessions()
    assert user.session_id == "7:1"
