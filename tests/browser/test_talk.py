"""Private messages in a real browser: A writes to B, B sees the badge, reads and answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Page, expect

from ..server import Account, LiveServer
from .conftest import LiveData

pytestmark = [pytest.mark.browser, pytest.mark.server]

LogIn = Callable[[Page, Account], None]


def test_message_badge_conversation_and_answer(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    live_data: LiveData,
    log_in: LogIn,
    page_errors: list[str],
) -> None:
    alice, bob = live_data.user("alice"), live_data.user("bob")
    log_in(page, alice)
    page.goto(f"/user/{bob.username}")
    page.get_by_role("link", name="Send Message").click()
    page.locator(".comment-form [name=body]").fill("Hello **Bob**")
    page.locator(".comment-form [type=submit]").click()
    expect(page.locator(".messages .message strong")).to_have_text("Bob")

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)
    other = context.new_page()
    try:
        log_in(other, bob)
        expect(other.locator("#unread-notifications")).to_have_text("1")
        other.get_by_role("link", name="Messages", exact=True).click()
        expect(other.locator(".conversation.unread")).to_contain_text(alice.username)
        other.get_by_role("link", name=alice.username).click()
        expect(other.locator(".messages")).to_contain_text("Hello Bob")
        expect(other.locator("#unread-notifications")).to_have_count(0)
        other.locator(".comment-form [name=body]").fill("Hi *Alice*")
        other.locator(".comment-form [type=submit]").click()
        expect(other.locator(".messages .message em")).to_have_text("Alice")
    finally:
        context.close()

    page.goto("/")
    expect(page.locator("#unread-notifications")).to_have_text("1")
    page.get_by_role("link", name="Notifications").click()
    page.get_by_role("link", name="a message").click()
    expect(page.locator(".messages")).to_contain_text("Hi Alice")
    assert page_errors == []
