"""The language switcher in a real browser: the navbar changes language, and times follow."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import LiveData

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_switching_to_chinese_changes_the_navbar_and_stays(page: Page) -> None:
    page.goto("/auth/login")
    expect(page.get_by_role("link", name="Log In", exact=True)).to_be_visible()
    page.get_by_role("button", name="中文").click()

    expect(page).to_have_url(re.compile(r"/auth/login$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("link", name="首页")).to_be_visible()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    expect(page.get_by_role("button", name="中文")).to_have_attribute("aria-pressed", "true")

    page.goto("/")
    expect(page.get_by_role("heading", name="你好，陌生人！")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Hello, Stranger!")).to_be_visible()
    expect(page.get_by_role("link", name="Home")).to_be_visible()


def test_times_are_written_in_the_page_language(page: Page, live_data: LiveData) -> None:
    # The browser's own locale is en-US (see conftest): the page's language wins.
    author = live_data.user("writer")
    page.goto(f"/user/{author.username}")
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_text("注册于")).to_be_visible()
    since = page.locator("p:has-text('注册于') time").first
    expect(since).to_have_text(re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$"))
