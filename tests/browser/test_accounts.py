"""A person's account in a real browser: register, confirm by e-mail, log in, log out."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pyotp
import pytest
from playwright.sync_api import Page, expect

from ..conftest import Mailbox
from ..server import Account, wait_for_mail
from .conftest import LiveData

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_register_confirm_by_mail_and_log_in(
    page: Page, mailbox: Mailbox, log_in: Callable[[Page, Account], None]
) -> None:
    page.goto("/auth/register")
    page.fill("input[name=email]", "newcomer@flasky.dev")
    page.fill("input[name=username]", "newcomer")
    page.fill("input[name=password]", "cat-password")
    page.fill("input[name=password2]", "cat-password")
    page.locator("form:has(input[name=password2]) [type=submit]").click()
    expect(page.get_by_text("A confirmation email has been sent to you by email.")).to_be_visible()

    message = wait_for_mail(mailbox, "newcomer@flasky.dev")
    link = next(url for url in mailbox.links(message) if "/auth/confirm/" in url)
    page.goto(link)
    expect(page.get_by_text("You have confirmed your account. Thanks!")).to_be_visible()

    account = Account(0, "newcomer", "newcomer@flasky.dev", "cat-password")
    page.context.clear_cookies()
    log_in(page, account)
    expect(page.get_by_role("link", name="Profile")).to_be_visible()


def test_log_out_from_the_navbar(
    page: Page, live_data: LiveData, log_in: Callable[[Page, Account], None]
) -> None:
    log_in(page, live_data.user("leaving"))
    page.get_by_role("button", name="Log Out", exact=True).click()
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    expect(page.get_by_role("heading", name="Hello, Stranger!")).to_be_visible()


def test_wrong_password_is_refused(page: Page, live_data: LiveData) -> None:
    account = live_data.user("forgetful")
    page.goto("/auth/login")
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", "not-my-password")
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page.get_by_text("Invalid email or password.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/auth/login"))


def test_pages_run_without_script_errors(
    page: Page, page_errors: list[str], live_data: LiveData, log_in: Callable[[Page, Account], None]
) -> None:
    # The Content-Security-Policy forbids inline scripts: a page relying on one
    # would log a violation here.
    account = live_data.user("careful")
    post_id = live_data.post(account, "A post with a *comment* form")
    log_in(page, account)
    for path in ("/", f"/post/{post_id}", f"/user/{account.username}", "/auth/change-password"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert page_errors == []


def test_turn_on_two_factor_and_log_in_with_a_code(
    page: Page, live_data: LiveData, log_in: Callable[[Page, Account], None]
) -> None:
    account = live_data.user("careful")
    log_in(page, account)
    page.locator("#account-menu").click()
    page.get_by_role("link", name="Two-Factor Sign-In").click()
    expect(page.locator(".two-factor-qr svg")).to_be_visible()
    totp = pyotp.TOTP(page.locator("#two-factor-secret").inner_text())
    page.fill("input[name=code]", totp.now())
    page.get_by_role("button", name="Turn On").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)

    page.get_by_role("button", name="Log Out", exact=True).click()
    page.goto("/auth/login")
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page).to_have_url(re.compile(r"/auth/two-factor/verify"))
    # The next step's code: the one that turned two-factor on is spent.
    page.fill("input[name=code]", totp.at(time.time() + 30))
    page.locator("form:has(input[name=code]) [type=submit]").click()
    expect(page.get_by_role("heading", name=f"Hello, {account.username}!")).to_be_visible()
