"""Profiles: the profile page, editing one's own profile, and the administrator's editor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from quart import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Role, User

from .blog import add_comment, add_follow, add_post
from .fixtures import Client, Csrf, MakeUser, SignedIn, read_html


def _admin_form(user: User, role_id: int, **changes: str) -> dict[str, str]:
    form = {
        "email": user.email,
        "username": user.username,
        "confirmed": "y",
        "role": str(role_id),
        "name": "",
        "location": "",
        "about_me": "",
    }
    form.update(changes)
    return form


async def _role_id(db: AsyncSession, name: str) -> int:
    role_id = await db.scalar(select(Role.id).where(Role.name == name))
    assert role_id is not None
    return role_id


async def _reloaded(db: AsyncSession, user: User) -> User:
    await db.commit()  # ends the read snapshot: the app has committed since this session read
    db.expunge_all()
    reloaded = await db.get(User, user.id)
    assert reloaded is not None
    return reloaded


EditAsAdmin = Callable[..., Awaitable[Response]]


@pytest.fixture
def edit_as_admin(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> EditAsAdmin:
    """`await edit_as_admin(user, role="User", **changes)`: an administrator submits
    the admin profile editor for `user`, with `changes` over the current values."""

    async def edit(user: User, role: str = "User", **changes: str) -> Response:
        async with signed_in(client, await make_user("admin", role="Administrator")):
            form = _admin_form(user, await _role_id(db, role), **changes)
            token = await csrf(client, "/")
            return await client.post(f"/edit-profile/{user.id}", form={**form, "csrf_token": token})

    return edit


async def test_profile_shows_the_user(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john", name="John Doe", location="Seattle", about_me="I like cats")
    post = await add_post(db, john, "first post")
    await add_comment(db, post, john)
    html = await read_html(await client.get("/user/john"))
    assert "<h1>john</h1>" in html
    assert "John Doe" in html and "I like cats" in html
    assert 'href="https://maps.google.com/?q=Seattle"' in html
    assert "1 blog posts. 1 comments." in html
    assert "first post" in html
    assert 'data-format="L"' in html and 'data-format="fromNow"' in html
    assert f'src="/avatar/{john.id}.svg"' in html and 'width="256"' in html


async def test_unknown_profile_is_404(client: Client) -> None:
    assert (await client.get("/user/nobody")).status_code == 404


async def test_profile_hides_the_email_from_everyone_but_administrators(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    await make_user("john")
    assert "john@flasky.dev" not in await read_html(await client.get("/user/john"))
    async with signed_in(client, await make_user("admin", role="Administrator")):
        html = await read_html(await client.get("/user/john"))
    assert 'href="mailto:john@flasky.dev"' in html
    assert "Edit Profile [Admin]" in html


async def test_own_profile_has_an_edit_button(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    await make_user("susan")
    async with signed_in(client, john):
        own = await read_html(await client.get("/user/john"))
        other = await read_html(await client.get("/user/susan"))
    assert 'href="/edit-profile"' in own
    assert 'href="/edit-profile"' not in other
    assert "Edit Profile [Admin]" not in own


async def test_follower_counts_are_true_counts(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    for name in ("a", "b", "c"):
        await add_follow(db, await make_user(name), john)
    await add_follow(db, john, await make_user("d"))
    html = await read_html(await client.get("/user/john"))
    assert 'Followers: <span class="badge text-bg-secondary">3</span>' in html
    assert 'Following: <span class="badge text-bg-secondary">1</span>' in html


async def test_profile_lists_only_the_users_posts_paginated(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    await add_post(db, await make_user("susan"), "susan writes")
    for n in range(21):
        await add_post(db, john, f"john {n}", age=n)
    first = await read_html(await client.get("/user/john"))
    second = await read_html(await client.get("/user/john?page=2"))
    assert "susan writes" not in first
    assert "john 0<" in first and "john 20<" not in first
    assert "john 20<" in second
    assert 'href="/user/john?page=2"' in first


async def test_edit_profile_form_is_filled_in(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("john", location="Paris")):
        html = await read_html(await client.get("/edit-profile"))
    assert 'name="location"' in html and 'value="Paris"' in html
    assert 'name="about_me"' in html and 'name="email"' not in html


async def test_edit_profile_updates_it(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.post(
            "/edit-profile",
            form={
                "name": "John Smith",
                "location": "Lisbon",
                "about_me": "Hi there",
                "csrf_token": await csrf(client, "/"),
            },
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/user/john"
        html = await read_html(await client.get("/user/john"))
    assert "Your profile has been updated." in html
    assert "John Smith" in html and "Lisbon" in html and "Hi there" in html


async def test_edit_profile_refuses_too_long_values(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.post(
            "/edit-profile", form={"name": "x" * 65, "csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 200
    assert "Field must be between 0 and 64 characters long." in await read_html(response)
    assert (await _reloaded(db, john)).name is None


async def test_edit_profile_needs_a_login(client: Client) -> None:
    response = await client.get("/edit-profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


async def test_admin_profile_editor_is_for_administrators_only(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    async with signed_in(client, await make_user("mod", role="Moderator")):
        assert (await client.get(f"/edit-profile/{john.id}")).status_code == 403
    async with signed_in(client, john):
        assert (await client.get(f"/edit-profile/{john.id}")).status_code == 403


async def test_admin_profile_editor_needs_a_login(client: Client, make_user: MakeUser) -> None:
    john = await make_user("john")
    response = await client.get(f"/edit-profile/{john.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


async def test_admin_profile_editor_shows_every_field_with_roles(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john", role="Moderator")
    async with signed_in(client, await make_user("admin", role="Administrator")):
        html = await read_html(await client.get(f"/edit-profile/{john.id}"))
    for field in ("email", "username", "confirmed", "role", "name", "location", "about_me"):
        assert f'name="{field}"' in html, field
    assert 'value="john@flasky.dev"' in html
    assert html.index('name="email"') < html.index('name="name"')
    assert ">Administrator</option>" in html and ">User</option>" in html
    assert "selected" in html.split(">Moderator</option>")[0].rsplit("<option", 1)[1]


async def test_admin_profile_editor_for_unknown_user_is_404(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("admin", role="Administrator")):
        assert (await client.get("/edit-profile/999")).status_code == 404


async def test_administrator_changes_account_fields(
    client: Client, db: AsyncSession, make_user: MakeUser, edit_as_admin: EditAsAdmin
) -> None:
    john = await make_user("john", confirmed=False)
    response = await edit_as_admin(
        john, role="Moderator", email="John.New@Flasky.dev", username="johnny", name="J"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/user/johnny"
    assert "The profile has been updated." in await read_html(await client.get("/user/johnny"))
    changed = await _reloaded(db, john)
    assert changed.email == "john.new@flasky.dev"
    assert changed.avatar_hash == User.email_hash("john.new@flasky.dev")
    assert changed.username == "johnny"
    assert changed.confirmed is True
    assert changed.role_id == await _role_id(db, "Moderator")
    assert changed.name == "J"


async def test_admin_editor_refuses_a_taken_email(
    db: AsyncSession, make_user: MakeUser, edit_as_admin: EditAsAdmin
) -> None:
    john = await make_user("john")
    await make_user("susan")
    response = await edit_as_admin(john, email="SUSAN@flasky.dev")
    assert response.status_code == 200
    assert "Email already registered." in await read_html(response)
    assert (await _reloaded(db, john)).email == "john@flasky.dev"


async def test_admin_editor_refuses_a_taken_username(
    db: AsyncSession, make_user: MakeUser, edit_as_admin: EditAsAdmin
) -> None:
    john = await make_user("john")
    await make_user("susan")
    response = await edit_as_admin(john, username="susan")
    assert "Username already in use." in await read_html(response)
    assert (await _reloaded(db, john)).username == "john"


async def test_admin_editor_accepts_unchanged_email_and_username(
    db: AsyncSession, make_user: MakeUser, edit_as_admin: EditAsAdmin
) -> None:
    john = await make_user("john")
    response = await edit_as_admin(john, location="Oslo")
    assert response.status_code == 302
    assert (await _reloaded(db, john)).location == "Oslo"


async def test_admin_editor_refuses_a_bad_username(
    make_user: MakeUser, edit_as_admin: EditAsAdmin
) -> None:
    john = await make_user("john")
    response = await edit_as_admin(john, username="1 bad name")
    assert response.status_code == 200
    assert "Usernames must have only letters, numbers, dots or underscores" in await read_html(
        response
    )


async def test_admin_editor_refuses_a_bad_role_without_error(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    async with signed_in(client, await make_user("admin", role="Administrator")):
        token = await csrf(client, "/")
        for role in ("abc", "999", ""):
            form = {**_admin_form(john, 0, role=role), "csrf_token": token}
            response = await client.post(f"/edit-profile/{john.id}", form=form)
            assert response.status_code == 200, role
    assert (await _reloaded(db, john)).role_id == await _role_id(db, "User")


async def test_admin_editor_refuses_a_username_taken_in_another_case(
    make_user: MakeUser, edit_as_admin: EditAsAdmin
) -> None:
    john = await make_user("john")
    await make_user("susan")
    response = await edit_as_admin(john, username="Susan")
    assert "Username already in use." in await read_html(response)


async def test_admin_editor_may_change_the_case_of_a_username(
    db: AsyncSession, make_user: MakeUser, edit_as_admin: EditAsAdmin
) -> None:
    john = await make_user("john")
    response = await edit_as_admin(john, username="John")
    assert response.status_code == 302
    assert (await _reloaded(db, john)).username == "John"
