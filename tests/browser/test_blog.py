"""The blog in a real browser: write with a live preview, follow, comment, moderate."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from ..server import Account, LiveServer
from .conftest import LiveData

pytestmark = [pytest.mark.browser, pytest.mark.server]

LogIn = Callable[[Page, Account], None]


def test_markdown_post_with_live_preview(page: Page, live_data: LiveData, log_in: LogIn) -> None:
    log_in(page, live_data.user("writer"))
    page.fill("textarea[name=body]", "Hello **bold** world, _slanted_ too")
    preview = page.locator(".markdown-preview")
    expect(preview.locator("strong")).to_have_text("bold")
    expect(preview.locator("em")).to_have_text("slanted")

    page.locator("form:has(textarea[name=body]) [type=submit]").click()
    newest = page.locator(".post-list .post").first
    expect(newest.locator(".post-body strong")).to_have_text("bold")
    expect(page.locator("textarea[name=body]")).to_have_value("")


def test_follow_a_user_and_read_the_followed_tab(
    page: Page, live_data: LiveData, log_in: LogIn
) -> None:
    reader, followed, other = (live_data.user(n) for n in ("reader", "followed", "other"))
    live_data.post(followed, "Worth following")
    live_data.post(other, "Not followed")
    log_in(page, reader)

    page.goto(f"/user/{followed.username}")
    page.get_by_role("button", name="Follow", exact=True).click()
    expect(page.get_by_text(f"You are now following {followed.username}.")).to_be_visible()
    expect(page.get_by_role("button", name="Unfollow")).to_be_visible()

    page.goto("/")
    page.get_by_role("link", name="Followed", exact=True).click()
    posts = page.locator(".post-list")
    expect(posts).to_contain_text("Worth following")
    expect(posts).not_to_contain_text("Not followed")
    page.get_by_role("link", name="All", exact=True).click()
    expect(posts).to_contain_text("Not followed")


def test_comment_on_a_post(page: Page, live_data: LiveData, log_in: LogIn) -> None:
    author, commenter = live_data.user("author"), live_data.user("commenter")
    post_id = live_data.post(author, "Comment on me")
    log_in(page, commenter)

    page.goto(f"/post/{post_id}")
    page.locator(".comment-form [name=body]").fill("A *thoughtful* reply")
    page.locator(".comment-form [type=submit]").click()
    comment = page.locator(".comment-list .comment", has_text="A thoughtful reply")
    expect(comment.locator("em")).to_have_text("thoughtful")
    expect(comment.locator(".comment-author")).to_have_text(commenter.username)


def test_moderator_disables_a_comment(
    page: Page, browser: Browser, live_server: LiveServer, live_data: LiveData, log_in: LogIn
) -> None:
    author, troll = live_data.user("author"), live_data.user("troll")
    post_id = live_data.post(author, "A calm post")
    live_data.comment(troll, post_id, "Something rude")
    log_in(page, live_data.user("moderator", role="Moderator"))

    page.get_by_role("link", name="Moderate Comments").click()
    comment = page.locator(".comment-list .comment", has_text="Something rude")
    comment.get_by_role("button", name="Disable").click()
    comment = page.locator(".comment-list .comment", has_text="Something rude")
    expect(comment.get_by_role("button", name="Enable")).to_be_visible()

    visitor = browser.new_context(base_url=live_server.url).new_page()
    visitor.goto(f"/post/{post_id}")
    comments = visitor.locator(".comment-list")
    expect(comments).to_contain_text("This comment has been disabled by a moderator.")
    expect(comments).not_to_contain_text("Something rude")
    visitor.context.close()
