"""No N+1 queries: a page runs as many SQL statements with 20 items as with 1.

Each page is arranged with one item and measured, then given 19 more and
measured again. It is requested once before each measurement, so that the
once-a-minute `last_seen` refresh of the login never lands in a count.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Notification, NotificationKind, User

from .blog import add_comment, add_follow, add_message, add_post
from .fixtures import Client, CountStatements, MakeUser, SignedIn

AddItem = Callable[[User], Awaitable[None]]
# Arranges a page for `viewer`: its path, and how to add one item by a given user.
Arrange = Callable[[AsyncSession, User, User], Awaitable[tuple[str, AddItem]]]


async def _index(db: AsyncSession, viewer: User, _owner: User) -> tuple[str, AddItem]:
    async def add(author: User) -> None:
        post = await add_post(db, author, f"by {author.username}")
        await add_comment(db, post, viewer)

    return "/", add


async def _profile(db: AsyncSession, viewer: User, owner: User) -> tuple[str, AddItem]:
    await add_follow(db, owner, viewer)
    await add_follow(db, viewer, owner)

    async def add(commenter: User) -> None:
        post = await add_post(db, owner)
        await add_comment(db, post, commenter)

    return f"/user/{owner.username}", add


async def _post(db: AsyncSession, viewer: User, _owner: User) -> tuple[str, AddItem]:
    post = await add_post(db, viewer)

    async def add(author: User) -> None:
        await add_comment(db, post, author, f"by {author.username}")

    return f"/post/{post.id}", add


async def _followers(db: AsyncSession, viewer: User, _owner: User) -> tuple[str, AddItem]:
    async def add(follower: User) -> None:
        await add_follow(db, follower, viewer)

    return f"/followers/{viewer.username}", add


async def _moderate(db: AsyncSession, viewer: User, _owner: User) -> tuple[str, AddItem]:
    post = await add_post(db, viewer)

    async def add(author: User) -> None:
        await add_comment(db, post, author, disabled=author.id % 2 == 0)

    return "/moderate", add


async def _search(db: AsyncSession, viewer: User, _owner: User) -> tuple[str, AddItem]:
    async def add(author: User) -> None:
        post = await add_post(db, author, f"needle by {author.username}")
        await add_comment(db, post, viewer)

    return "/search?q=needle", add


async def _feed(db: AsyncSession, _viewer: User, _owner: User) -> tuple[str, AddItem]:
    async def add(author: User) -> None:
        await add_post(db, author, f"by {author.username}")

    return "/feed.atom", add


async def _user_feed(db: AsyncSession, _viewer: User, owner: User) -> tuple[str, AddItem]:
    async def add(_author: User) -> None:
        await add_post(db, owner)

    return f"/user/{owner.username}/feed.atom", add


async def _inbox(db: AsyncSession, viewer: User, _owner: User) -> tuple[str, AddItem]:
    async def add(sender: User) -> None:
        await add_message(db, sender, viewer, f"from {sender.username}")

    return "/messages", add


async def _conversation(db: AsyncSession, viewer: User, owner: User) -> tuple[str, AddItem]:
    async def add(_sender: User) -> None:
        await add_message(db, owner, viewer)

    return f"/messages/{owner.username}", add


async def _notifications(db: AsyncSession, viewer: User, _owner: User) -> tuple[str, AddItem]:
    async def add(actor: User) -> None:
        db.add(Notification(user_id=viewer.id, actor_id=actor.id, kind=NotificationKind.FOLLOW))
        await db.commit()

    return "/notifications", add


# Each page with its arrangement and the mark one listed item leaves in the HTML.
PAGES: dict[str, tuple[Arrange, str]] = {
    "index": (_index, '<li class="post"'),
    "profile": (_profile, '<li class="post"'),
    "post": (_post, '<li class="comment"'),
    "followers": (_followers, "<tr>\n      <td>"),
    "moderate": (_moderate, '<li class="comment"'),
    "search": (_search, '<li class="post"'),
    "feed": (_feed, "<entry>"),
    "user feed": (_user_feed, "<entry>"),
    "inbox": (_inbox, '<tr class="conversation'),
    "conversation": (_conversation, '<li class="message comment"'),
    "notifications": (_notifications, '<li class="list-group-item notification'),
}


async def _measure(
    client: Client,
    path: str,
    item_mark: str,
    items: int,
    count_statements: CountStatements,
) -> int:
    assert (await client.get(path)).status_code == 200
    with count_statements() as statements:
        response = await client.get(path)
    assert response.status_code == 200
    assert (await response.get_data(as_text=True)).count(item_mark) == items
    return len(statements)


@pytest.mark.parametrize("page", PAGES)
async def test_statement_count_does_not_grow_with_items(
    page: str,
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    count_statements: CountStatements,
) -> None:
    arrange, item_mark = PAGES[page]
    viewer = await make_user("viewer", role="Moderator")
    users = [await make_user(f"user{n}") for n in range(20)]
    path, add_item = await arrange(db, viewer, users[0])
    async with signed_in(client, viewer):
        await add_item(users[0])
        one = await _measure(client, path, item_mark, 1, count_statements)
        for user in users[1:]:
            await add_item(user)
        twenty = await _measure(client, path, item_mark, 20, count_statements)
    print(f"{page}: {one} statements with 1 item, {twenty} with 20")
    assert one == twenty, f"{page}: {one} statements with 1 item, {twenty} with 20"


async def test_the_unread_badge_costs_no_statement_of_its_own(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    count_statements: CountStatements,
) -> None:
    """The count rides in the statement that loads the signed-in user: none is added."""
    viewer, other = await make_user("viewer"), await make_user("other")
    async with signed_in(client, viewer):
        assert (await client.get("/")).status_code == 200
        with count_statements() as without_unread:
            assert 'id="unread-notifications"' not in await (await client.get("/")).get_data(
                as_text=True
            )
        db.add(Notification(user_id=viewer.id, actor_id=other.id, kind=NotificationKind.FOLLOW))
        await db.commit()
        with count_statements() as with_unread:
            html = await (await client.get("/")).get_data(as_text=True)
    assert 'id="unread-notifications"' in html
    assert len(with_unread) == len(without_unread)
    assert sum("notifications" in statement for statement in with_unread) == 1


@pytest.mark.parametrize("page", ["profile", "post"])
async def test_a_page_whose_statement_counts_its_list_runs_no_count_of_its_own(
    page: str,
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    count_statements: CountStatements,
) -> None:
    """A profile counts its user's posts, a post its comments, as it loads: two statements.

    The count of the page's pagination comes from there: a second count
    would be a statement more for the same number.
    """
    arrange, item_mark = PAGES[page]
    viewer = await make_user("viewer")
    users = [await make_user(f"user{n}") for n in range(3)]
    path, add_item = await arrange(db, viewer, users[0])
    for user in users:
        await add_item(user)
    assert (await client.get(path)).status_code == 200
    with count_statements() as statements:
        html = await (await client.get(path)).get_data(as_text=True)
    assert html.count(item_mark) == 3
    counts = [statement for statement in statements if "count(*) AS count_1 \nFROM (" in statement]
    assert not counts
    assert len(statements) == 2, statements
