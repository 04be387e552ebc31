"""Atom feeds: what a feed reader parses, stable ids, no executable HTML, conditional GETs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import feedparser
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from service.feeds import ATOM
from service.models import Post, utcnow

from .blog import add_post, add_posts
from .fixtures import Client, MakeUser, Reconfigure, read_html

BASE = "https://flasky.example"
A = f"{{{ATOM}}}"


async def fetch(client: Client, path: str, **headers: str) -> tuple[Any, bytes]:
    """The feed at `path`, parsed by feedparser, and its raw bytes."""
    response = await client.get(path, headers=headers)
    assert response.status_code == 200
    assert response.content_type == "application/atom+xml; charset=utf-8"
    raw = await response.get_data(as_text=False)
    parsed = feedparser.parse(raw)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed, raw


async def test_the_site_feed_has_the_newest_20_posts_with_absolute_links(
    client: Client, db: AsyncSession, make_user: MakeUser, reconfigure: Reconfigure
) -> None:
    reconfigure(base_url=BASE)
    john = await make_user("john")
    posts = await add_posts(db, john, 25)
    feed, _raw = await fetch(client, "/feed.atom")
    assert feed.version == "atom10"
    assert feed.feed.title == "Flasky"
    assert feed.feed.link == f"{BASE}/"
    assert len(feed.entries) == 20
    for entry, post in zip(feed.entries, posts, strict=False):
        assert entry.title == post.body
        assert entry.link == f"{BASE}/post/{post.id}"
        assert entry.author == "john"
        assert entry.published == post.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert entry.updated == entry.published
        assert entry.content[0].type == "text/html"
        assert entry.content[0].value == post.body_html
    assert feed.feed.updated == feed.entries[0].published


async def test_a_users_feed_has_only_their_posts(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    await add_post(db, john, "by john")
    await add_post(db, susan, "by susan")
    feed, _raw = await fetch(client, "/user/john/feed.atom")
    assert [entry.title for entry in feed.entries] == ["by john"]
    assert feed.feed.title == "Posts by john"
    assert feed.feed.link == "http://localhost/user/john"
    empty, _raw = await fetch(client, f"/user/{(await make_user('quiet')).username}/feed.atom")
    assert empty.entries == []


async def test_an_unknown_users_feed_is_404(client: Client) -> None:
    assert (await client.get("/user/nobody/feed.atom")).status_code == 404


async def test_chinese_text_arrives_intact_and_titles_are_the_first_words(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    chinese = "今天天气非常好。" * 20
    await add_post(db, john, chinese, age=2)
    await add_post(db, john, "Hello *world*, " + "word " * 30, age=1)
    control = await add_post(db, john, "abc")
    # Characters XML cannot carry, in the stored HTML (the sanitizer removes most of them).
    await db.execute(
        update(Post).where(Post.id == control.id).values(body_html="<p>a\x01b\x0bc\ufffe</p>")
    )
    await db.commit()
    feed, _raw = await fetch(client, "/feed.atom")
    stripped, english, full = feed.entries
    assert stripped.title == "abc" and stripped.content[0].value == "<p>abc</p>"
    assert english.title.startswith("Hello world, word word") and english.title.endswith("…")
    assert len(english.title) <= 61 and " wor…" not in english.title
    assert full.title == chinese[:60] + "…"
    assert chinese in full.content[0].value


async def test_entry_ids_do_not_change_with_the_host_or_the_base_url(
    client: Client, db: AsyncSession, make_user: MakeUser, reconfigure: Reconfigure
) -> None:
    john = await make_user("john")
    await add_posts(db, john, 3)
    first, _raw = await fetch(client, "/feed.atom")
    second, _raw = await fetch(client, "/feed.atom", Host="127.0.0.1:5000")
    reconfigure(base_url=BASE)
    third, _raw = await fetch(client, "/feed.atom")
    ids = [entry.id for entry in first.entries]
    assert len(set(ids)) == 3 and all(i.startswith("urn:uuid:") for i in ids)
    assert ids == [e.id for e in second.entries] == [e.id for e in third.entries]
    assert first.entries[0].link == "http://localhost/post/" + first.entries[0].link.rsplit("/")[-1]
    assert second.entries[0].link.startswith("http://127.0.0.1:5000/post/")


async def test_a_script_in_a_post_is_never_markup_in_the_feed(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    await add_post(
        db,
        john,
        '<script>alert("x")</script><img src=x onerror="alert(1)"> ]]> </content> <b>ok</b>',
    )
    feed, raw = await fetch(client, "/feed.atom")
    root = ET.fromstring(raw)  # noqa: S314 (the app's own output, in a test)
    # Only Atom elements: the post's HTML is text, never elements of the document.
    assert {element.tag for element in root.iter()} <= {
        f"{A}{name}"
        for name in (
            "feed", "id", "title", "updated", "link", "generator", "entry",
            "author", "name", "uri", "published", "content",
        )
    }  # fmt: skip
    content = root.find(f"{A}entry/{A}content")
    assert content is not None and content.get("type") == "html"
    html = content.text or ""
    assert "<b>ok</b>" in html
    assert "<script" not in html and "onerror" not in html and "<img" not in html
    assert "<script" not in feed.entries[0].content[0].value


async def test_the_index_and_profiles_announce_and_link_their_feeds(
    client: Client, make_user: MakeUser
) -> None:
    await make_user("john")
    index = await read_html(await client.get("/"), status=200)
    assert '<link rel="alternate" type="application/atom+xml" href="/feed.atom"' in index
    assert 'class="feed-link' in index and 'href="/feed.atom"' in index
    profile = await read_html(await client.get("/user/john"), status=200)
    assert (
        '<link rel="alternate" type="application/atom+xml" href="/user/john/feed.atom"' in profile
    )
    assert profile.count('href="/user/john/feed.atom"') == 2
    # Each profile its own feed, each language its own words (the links are cached).
    await make_user("susan")
    other = await read_html(await client.get("/user/susan"), status=200)
    assert other.count('href="/user/susan/feed.atom"') == 2 and "/user/john/" not in other
    chinese = await read_html(await client.get("/", headers={"Accept-Language": "zh-CN"}))
    assert 'title="Atom 订阅源"' in chinese and 'title="Atom feed"' not in chinese


async def test_conditional_gets_answer_304_without_a_body(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "first", age=60)
    response = await client.get("/feed.atom")
    etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        again = await client.get("/feed.atom", headers=headers)
        assert again.status_code == 304, headers
        assert await again.get_data() == b""
        assert again.headers["ETag"] == etag
    stale = await client.get("/feed.atom", headers={"If-None-Match": '"something else"'})
    assert stale.status_code == 200
    # An edit changes the ETag, though not the time of the newest post.
    await db.execute(update(Post).where(Post.id == post.id).values(body_html="<p>edited</p>"))
    await db.commit()
    edited = await client.get("/feed.atom", headers={"If-None-Match": etag})
    assert edited.status_code == 200 and edited.headers["ETag"] != etag
    await add_post(db, john, "second")
    newer = await client.get("/feed.atom", headers={"If-Modified-Since": modified})
    assert newer.status_code == 200
    assert newer.headers["Last-Modified"] != modified


async def test_last_modified_is_the_newest_posts_time(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    newest = utcnow().replace(microsecond=0) - timedelta(hours=1)
    await add_post(db, john, "newest", at=newest)
    await add_post(db, john, "older", at=newest - timedelta(days=1))
    response = await client.get("/user/john/feed.atom")
    assert response.last_modified == newest
