"""Comment moderation: the moderators' list, and enabling and disabling comments by POST."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Comment

from .blog import add_comment, add_post
from .fixtures import Client, Csrf, MakeUser, SignedIn, read_html


async def _disabled(db: AsyncSession, comment: Comment) -> bool:
    await db.commit()  # ends the read snapshot: the app has committed since this session read
    await db.refresh(comment)
    return comment.disabled


async def test_moderators_see_all_comments_newest_first(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    first = await add_post(db, john)
    second = await add_post(db, john)
    await add_comment(db, first, john, "older comment", age=60)
    await add_comment(db, second, john, "newer comment", disabled=True)
    async with signed_in(client, await make_user("mod", role="Moderator")):
        response = await client.get("/moderate")
    html = await read_html(response)
    assert response.status_code == 200
    assert html.index("newer comment") < html.index("older comment")
    assert ">Enable</button>" in html and ">Disable</button>" in html
    assert f'href="/post/{first.id}"' in html


async def test_moderation_is_for_moderators(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("john")):
        assert (await client.get("/moderate")).status_code == 403


async def test_administrators_moderate_too(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("admin", role="Administrator")):
        assert (await client.get("/moderate")).status_code == 200


async def test_moderation_needs_a_login(client: Client) -> None:
    response = await client.get("/moderate")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


async def test_moderator_disables_and_enables_a_comment(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    comment = await add_comment(db, await add_post(db, john), john)
    async with signed_in(client, await make_user("mod", role="Moderator")):
        token = await csrf(client, "/")
        response = await client.post(
            f"/moderate/disable/{comment.id}?page=2", form={"csrf_token": token}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/moderate?page=2"
        assert await _disabled(db, comment)
        await client.post(f"/moderate/enable/{comment.id}", form={"csrf_token": token})
    assert not await _disabled(db, comment)


async def test_users_cannot_disable_comments(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    comment = await add_comment(db, await add_post(db, john), john)
    async with signed_in(client, john):
        response = await client.post(
            f"/moderate/disable/{comment.id}", form={"csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 403
    assert not await _disabled(db, comment)


async def test_moderation_actions_refuse_get(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    comment = await add_comment(db, await add_post(db, john), john)
    async with signed_in(client, await make_user("mod", role="Moderator")):
        assert (await client.get(f"/moderate/disable/{comment.id}")).status_code == 405
        assert (await client.get(f"/moderate/enable/{comment.id}")).status_code == 405
    assert not await _disabled(db, comment)


async def test_moderating_an_unknown_comment_is_404(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("mod", role="Moderator")):
        response = await client.post(
            "/moderate/disable/999", form={"csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 404


async def test_moderation_page_is_paginated(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    for n in range(31):
        await add_comment(db, post, john, f"comment {n:02d}", age=n)
    async with signed_in(client, await make_user("mod", role="Moderator")):
        first = await read_html(await client.get("/moderate"))
        second = await read_html(await client.get("/moderate?page=2"))
    assert "comment 00" in first and "comment 30" not in first
    assert "comment 30" in second
    assert "/moderate/disable/" in second and "page=2" in second
