"""Search: Chinese and English, every write kept in step, literal FTS syntax, safe highlights.

Each test runs on the database under test (SQLite, or PostgreSQL with
TEST_DATABASE_URL), and the same expectations hold for both.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service import search
from service.db import make_engine
from service.models import Base, Post, User
from service.search import MAX_LENGTH, MAX_WORDS, Query, highlight, posts_matching

from .blog import add_comment, add_post, add_posts
from .fixtures import ApiAuth, Client, CountStatements, Csrf, MakeUser, SignedIn, read_html

WEATHER = "今天天气非常好"
POST_BODY = re.compile(r'<div class="post-body">(.*?)</div>', re.DOTALL)


def bodies(html: str) -> list[str]:
    """The HTML of each post the page lists, in order."""
    return POST_BODY.findall(html)


def plain(body: str) -> str:
    return re.sub(r"</?mark>", "", body)


async def found(client: Client, query: str) -> list[str]:
    """The posts `/search?q=query` lists, as text without the highlights."""
    response = await client.get("/search", query_string={"q": query})
    return [plain(body) for body in bodies(await read_html(response, status=200))]


@pytest.mark.parametrize("query", ["天气", "非常好", "今天天气非常好", "天", "好"])
async def test_chinese_finds_any_sequence_of_characters(
    client: Client, db: AsyncSession, make_user: MakeUser, query: str
) -> None:
    john = await make_user("john")
    await add_post(db, john, WEATHER)
    await add_post(db, john, "明日下雨")
    assert await found(client, query) == [f"<p>{WEATHER}</p>"]


@pytest.mark.parametrize("query", ["天晴", "非常坏", "今天气"])
async def test_chinese_finds_nothing_for_a_sequence_not_written(
    client: Client, db: AsyncSession, make_user: MakeUser, query: str
) -> None:
    await add_post(db, await make_user("john"), WEATHER)
    assert await found(client, query) == []


async def test_english_ignores_case_and_needs_every_word(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    await add_post(db, john, "I like flask and async", age=3)
    await add_post(db, john, "FLASK only", age=2)
    await add_post(db, john, "async only", age=1)
    assert await found(client, "Flask") == ["<p>FLASK only</p>", "<p>I like flask and async</p>"]
    assert await found(client, "flask ASYNC") == ["<p>I like flask and async</p>"]
    assert await found(client, "flask django") == []


async def test_short_words_combine_with_long_ones(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    await add_post(db, john, "go with flask")
    await add_post(db, john, "stay with flask")
    await add_post(db, john, "go home")
    assert await found(client, "go flask") == ["<p>go with flask</p>"]
    assert await found(client, "Go") == ["<p>go home</p>", "<p>go with flask</p>"]


async def test_writing_editing_and_deleting_change_the_results_at_once(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        token = await csrf(client, "/")
        await client.post("/", form={"body": "about Flask", "csrf_token": token})
        assert await found(client, "flask") == ["<p>about Flask</p>"]
        post = await db.scalar(select(Post))
        assert post is not None
        await client.post(f"/edit/{post.id}", form={"body": "about Quart", "csrf_token": token})
        assert await found(client, "flask") == []
        assert await found(client, "quart") == ["<p>about Quart</p>"]
        await client.post(f"/post/{post.id}/delete", form={"csrf_token": token})
        assert await found(client, "quart") == []


@pytest.mark.parametrize(
    "query",
    ['"', '""', "*", "fla*", "NEAR", "NEAR(a b)", "AND", "OR", "NOT", "(", ")", "-", "a -b",
     'say "hi"', "body:x", "^start", "{a b}", "%", "_", "\\", "a%b", "'; --"],
)  # fmt: skip
async def test_query_syntax_is_searched_as_text(
    client: Client, db: AsyncSession, make_user: MakeUser, query: str
) -> None:
    john = await make_user("john")
    await add_post(db, john, f"before {query} after")
    await add_post(db, john, "xyz")
    [shown] = await found(client, query)
    assert "before" in shown and "xyz" not in shown


async def test_like_wildcards_match_only_themselves(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    await add_post(db, john, "100% sure", age=2)
    await add_post(db, john, "100 percent", age=1)
    await add_post(db, john, "snake_case")
    await add_post(db, john, "snakeXcase")
    assert await found(client, "0%") == ["<p>100% sure</p>"]
    assert await found(client, "e_c") == ["<p>snake_case</p>"]
    assert await found(client, "_") == ["<p>snake_case</p>"]


async def test_an_empty_query_shows_the_box_and_no_results(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    await add_post(db, await make_user("john"), "anything")
    for path in ("/search", "/search?q=", "/search?q=%20%20", "/search?q=%E3%80%80"):
        html = await read_html(await client.get(path), status=200)
        assert 'name="q"' in html
        assert bodies(html) == []


async def test_a_query_over_the_limit_is_refused(client: Client, api_auth: ApiAuth) -> None:
    assert (await client.get("/search", query_string={"q": "x" * MAX_LENGTH})).status_code == 200
    response = await client.get("/search", query_string={"q": "x" * (MAX_LENGTH + 1)})
    assert "at most 200 characters" in await read_html(response, status=400)
    many = " ".join(f"w{n}" for n in range(MAX_WORDS + 1))
    response = await client.get("/search", query_string={"q": many})
    assert f"at most {MAX_WORDS} words" in await read_html(response, status=400)


async def test_the_api_filters_posts_the_same_way(
    client: Client, db: AsyncSession, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    john = await make_user("john")
    posts = await add_posts(db, john, 25)
    await add_post(db, john, WEATHER)
    headers = api_auth("john@flasky.dev", "cat-password")
    response = await client.get("/api/v1/posts/", query_string={"q": "POST"}, headers=headers)
    assert response.status_code == 200
    page = await response.get_json()
    assert page["count"] == 25
    assert [item["body"] for item in page["posts"]] == [post.body for post in posts[:20]]
    assert page["next"] is not None and "q=POST" in page["next"]
    chinese = await client.get("/api/v1/posts/", query_string={"q": "天气"}, headers=headers)
    assert [item["body"] for item in (await chinese.get_json())["posts"]] == [WEATHER]
    everything = await client.get("/api/v1/posts/", query_string={"q": " "}, headers=headers)
    assert (await everything.get_json())["count"] == 26
    too_long = await client.get(
        "/api/v1/posts/", query_string={"q": "x" * (MAX_LENGTH + 1)}, headers=headers
    )
    assert too_long.status_code == 400
    assert await too_long.get_json() == {
        "error": "bad request",
        "message": f"q must have at most {MAX_LENGTH} characters",
    }


async def test_results_are_paginated_newest_first_and_keep_the_query(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    await add_posts(db, john, 25)
    html = await read_html(await client.get("/search?q=post"), status=200)
    assert [plain(b) for b in bodies(html)] == [f"<p>post {n}</p>" for n in range(20)]
    assert "25 posts" in html
    assert 'href="/search?page=2&amp;q=post"' in html
    second = await read_html(await client.get("/search?q=post&page=2"), status=200)
    assert [plain(b) for b in bodies(second)] == [f"<p>post {n}</p>" for n in range(20, 25)]


async def test_matches_are_marked_in_the_text(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    await add_post(db, await make_user("john"), "Flask, *flask* and FLASK; 今天天气非常好")
    html = await read_html(await client.get("/search?q=flask"), status=200)
    assert bodies(html) == [
        "<p><mark>Flask</mark>, <em><mark>flask</mark></em> and <mark>FLASK</mark>;"
        " 今天天气非常好</p>"
    ]
    chinese = await read_html(await client.get("/search", query_string={"q": "天气"}), status=200)
    assert "今天<mark>天气</mark>非常好" in chinese


@pytest.mark.parametrize("query", ["script", "alert", "<mark>", "mark", "title", "href", "onerror"])
async def test_highlighting_never_opens_a_hole_in_the_sanitized_html(
    client: Client, db: AsyncSession, make_user: MakeUser, query: str
) -> None:
    body = (
        'script alert mark title href onerror <script>alert("x")</script>'
        '<a href="https://example.com/script" title="mark > script">link</a>'
        '<img src=x onerror="alert(1)"> `<mark>` &lt;mark&gt;'
    )
    await add_post(db, await make_user("john"), body)
    html = await read_html(await client.get("/search", query_string={"q": query}), status=200)
    [shown] = bodies(html)
    assert "<script" not in shown and "onerror=" not in shown and "<img" not in shown
    assert '<a href="https://example.com/script" title="mark &gt; script"' in shown
    # Every tag on the page is one of the sanitized post's, or a mark.
    tags = set(re.findall(r"</?([a-z0-9]+)", shown))
    assert tags <= {"p", "a", "code", "mark"}
    assert shown.count("<mark>") == shown.count("</mark>") >= 1
    assert "<mark>&lt;mark&gt;</mark>" in shown or query != "<mark>"


def test_highlight_touches_only_text_between_tags() -> None:
    html = '<p>a <a href="/x?flask=1" title="flask &gt; flask">flask</a> &amp; flask&lt;</p>'
    assert highlight(html, ["flask"]) == (
        '<p>a <a href="/x?flask=1" title="flask &gt; flask"><mark>flask</mark></a>'
        " &amp; <mark>flask</mark>&lt;</p>"
    )
    assert highlight("<p>&lt;b&gt;</p>", ["<b>"]) == "<p><mark>&lt;b&gt;</mark></p>"
    assert highlight("<p>a &amp; b</p>", ["&"]) == "<p>a <mark>&amp;</mark> b</p>"
    assert highlight("<p>x</p>", []) == "<p>x</p>"


async def test_users_whose_username_or_name_contains_the_query_at_most_five(
    client: Client, make_user: MakeUser
) -> None:
    for n in range(7):
        await make_user(f"flaskfan{n}")
    await make_user("named", name="Ms Flask")
    await make_user("mailonly", email="flask@flasky.dev", location="Flask City")
    html = await read_html(await client.get("/search?q=FLASK"), status=200)
    listed = re.findall(r'<li class="list-inline-item[^"]*">\s*<a href="/user/([^"]+)"', html)
    assert listed == ["flaskfan0", "flaskfan1", "flaskfan2", "flaskfan3", "flaskfan4"]
    named = await read_html(await client.get("/search?q=Ms%20Fl"), status=200)
    assert 'href="/user/named"' in named
    assert "mailonly" not in await read_html(await client.get("/search?q=flask@"), status=200)
    assert "flask@flasky.dev" not in html


async def test_comments_are_not_searched_and_disabled_ones_never_show(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "an ordinary post")
    await add_comment(db, post, john, "secret words of a comment", disabled=True)
    html = await read_html(await client.get("/search?q=secret"), status=200)
    assert bodies(html) == [] and "secret words" not in html


async def test_every_page_has_the_search_box(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    for path in ("/", "/user/john", "/auth/login", "/search?q=x"):
        html = await read_html(await client.get(path), status=200)
        assert re.search(r'<form[^>]*role="search"[^>]*action="/search"', html), path
    async with signed_in(client, john):
        html = await read_html(await client.get("/"), status=200)
    assert 'action="/search"' in html
    searched = await read_html(await client.get("/search?q=%3Cb%3E"), status=200)
    assert 'value="&lt;b&gt;"' in searched


async def test_same_results_for_the_same_data(db: AsyncSession, make_user: MakeUser) -> None:
    """One table of queries and the posts they find: CI runs it on SQLite and on PostgreSQL."""
    john = await make_user("john")
    texts = [WEATHER, "Flask is fun", "flask-async", "I ❤ Flask", "天气预报", "a_b", "50%"]
    posts = {body: await add_post(db, john, body, age=n) for n, body in enumerate(texts)}
    expected = {
        "天气": {WEATHER, "天气预报"},
        "flask": {"Flask is fun", "flask-async", "I ❤ Flask"},
        "FLASK fun": {"Flask is fun"},
        "❤": {"I ❤ Flask"},
        "-as": {"flask-async"},
        "_": {"a_b"},
        "%": {"50%"},
        "预报 天": {"天气预报"},
        "nothing": set(),
    }
    dialect = db.get_bind().dialect.name
    for query, bodies_found in expected.items():
        condition = posts_matching(Query.parse(query), dialect)
        ids = set((await db.scalars(select(Post.id).where(condition))).all())
        assert ids == {posts[body].id for body in bodies_found}, query


async def test_create_all_builds_the_sqlite_index_and_its_triggers(tmp_path: Path) -> None:
    """Databases made from the models (not the migrations) are searchable too; on any backend."""
    engine = make_engine(f"sqlite:///{tmp_path / 'search.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(
            insert(User).values(
                id=1, email="a@flasky.dev", username="a", confirmed=True, session_generation=0
            )
        )
        for number, body in enumerate(["今天天气非常好", "Flask"], start=1):
            await conn.execute(
                insert(Post).values(
                    id=number, body=body, body_html="", author_id=1, timestamp=text("'2026-01-01'")
                )
            )
        await conn.execute(text("UPDATE posts SET body = 'Quart' WHERE id = 2"))

        async def search(query: str) -> list[int]:
            condition = posts_matching(Query.parse(query), "sqlite")
            return list((await conn.scalars(select(Post.id).where(condition))).all())

        assert await search("天气非") == [1]
        assert await search("flask") == []
        assert await search("QUART") == [2]
        await conn.execute(text("DELETE FROM posts WHERE id = 1"))
        assert await search("天气非") == []
        await conn.run_sync(Base.metadata.drop_all)
        tables = await conn.scalars(
            text("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite%'")
        )
        assert list(tables) == []
    await engine.dispose()


async def test_a_search_counts_its_matches_exactly_up_to_its_own_bound(
    client: Client, db: AsyncSession, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Exact up to EXACT_MATCHES; past it, on page 1, counted AHEAD pages of 20 ahead (80).
    monkeypatch.setattr(search, "EXACT_MATCHES", 5)
    john = await make_user("john")
    await add_posts(db, john, 90)
    with_one = sum("1" in str(n) for n in range(90))
    # Counted in the FTS5 index (SQLite), with a LIKE, and both together.
    for query, heading in (
        ("post", "More than 80 posts"),
        ("po", "More than 80 posts"),
        ("post 1", f"{with_one} posts"),
    ):
        html = await read_html(await client.get("/search", query_string={"q": query}))
        assert heading in html, query
        assert "90 posts" not in html, query
    # The last page counts in full, and the next links reach it.
    last = await read_html(await client.get("/search", query_string={"q": "post", "page": -1}))
    assert "90 posts" in last
    page4 = await read_html(await client.get("/search", query_string={"q": "post", "page": 4}))
    assert "page=5" in page4


async def test_a_short_word_found_on_one_page_is_not_counted_again(
    client: Client, db: AsyncSession, make_user: MakeUser, count_statements: CountStatements
) -> None:
    # A word the trigram index cannot look up is found by reading every post:
    # the first page already holds all three matches, so no count reads them again.
    john = await make_user("john")
    for body in ("go west", "let it go", "gone", "stay"):
        await add_post(db, john, body)
    with count_statements() as statements:
        html = await read_html(await client.get("/search", query_string={"q": "go"}))
    assert "3 posts" in html
    assert not [s for s in statements if s.startswith("SELECT count(")]


async def test_each_search_is_planned_for_its_own_words(
    client: Client, db: AsyncSession, make_user: MakeUser, count_statements: CountStatements
) -> None:
    """PostgreSQL gets the pattern in the SQL, never as a parameter of a prepared statement.

    After five runs of a prepared statement PostgreSQL may plan it once for any
    parameter: for `LIKE $1` that plan reads the whole trigram index, also for
    a pattern of two characters that the index cannot serve (500 ms a search
    at 100,000 posts instead of 10). On SQLite the pattern stays a parameter.
    """
    john = await make_user("john")
    await add_post(db, john, "it's 100% done")
    for _ in range(7):
        with count_statements() as statements:
            assert len(await found(client, "it's %")) == 1
    searched = [s for s in statements if "posts.body" in s and "LIKE" in s.upper()]
    assert searched
    inlined = [s for s in searched if "'%it''s%'" in s]
    postgres = db.get_bind().dialect.name == "postgresql"
    assert len(inlined) == (len(searched) if postgres else 0)


async def test_users_are_searched_through_trigram_indexes_on_postgresql(db: AsyncSession) -> None:
    # The tables under test are built as `create_all` builds them; the
    # migrations' own tests check that 0010 builds the same.
    if db.get_bind().dialect.name != "postgresql":
        return
    found = await db.scalars(
        text("SELECT indexdef FROM pg_indexes WHERE tablename = 'users' AND indexdef LIKE '%gin%'")
    )
    assert sorted(found) == [
        "CREATE INDEX ix_users_name_grams ON public.users"
        " USING gin (short_word_grams((name)::text))",
        "CREATE INDEX ix_users_name_trgm ON public.users USING gin (name gin_trgm_ops)",
        "CREATE INDEX ix_users_username_grams ON public.users"
        " USING gin (short_word_grams((username)::text))",
        "CREATE INDEX ix_users_username_trgm ON public.users USING gin (username gin_trgm_ops)",
    ]


@pytest.mark.parametrize(
    ("body", "query", "matches"),
    [
        (WEATHER, "天气", True),
        (WEATHER, "好", True),
        ("今天weather", "天w", True),  # with ASCII: the LIKE alone
        ("今天 and 天气", "天天", False),  # pairs joined across the ASCII removed
        (WEATHER, "天晴", False),
    ],
)
async def test_short_words_without_ascii_are_looked_up_by_their_character_pairs(
    client: Client, db: AsyncSession, make_user: MakeUser, body: str, query: str, matches: bool
) -> None:
    await add_post(db, await make_user("john"), body)
    assert await found(client, query) == ([f"<p>{body}</p>"] if matches else [])


async def test_a_short_chinese_word_is_read_from_the_gram_index_on_postgresql(
    db: AsyncSession, make_user: MakeUser
) -> None:
    # A million posts and no match read every post (575 ms); the index: 0.1 ms.
    if db.get_bind().dialect.name != "postgresql":
        return
    john = await make_user("john")
    await add_post(db, john, WEATHER)
    await add_post(db, john, "猫")
    condition = posts_matching(Query.parse("天气 猫"), "postgresql")
    compiled = (
        select(Post.id)
        .where(condition)
        .compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    )
    await db.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(await db.scalars(text(f"EXPLAIN {compiled}")))
    assert "ix_posts_body_grams" in plan
    # Case is folded as ILIKE folds it (PostgreSQL's; SQLite's LIKE folds ASCII only).
    await add_post(db, john, "Ωμέγα")
    assert [
        post.body
        for post in await db.scalars(
            select(Post).where(posts_matching(Query.parse("ΩΜ"), "postgresql"))
        )
    ] == ["Ωμέγα"]
    grams = await db.scalar(text("SELECT short_word_grams(:body)"), {"body": "今天 Weather 天气"})
    assert set(grams) >= {"今", "天", "气", "今天", "天天", "天气"}
