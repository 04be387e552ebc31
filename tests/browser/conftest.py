"""Browser fixtures: Debian's Chromium driven by Playwright against the live server.

Each test gets a fresh browser context (no cookies) on the module's live
server. When a test fails, a screenshot of its page is saved in
`test-artifacts/` for whoever reads the CI log.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from ..server import ROOT, Account, LiveServer, add_comment, add_post, add_user, run_sync

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keep each phase's report on the item, so the page fixture knows whether the test failed.
    report: pytest.TestReport = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, one per module (Playwright's sync API must not outlive the module)."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(
    browser: Browser, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A new page in a new context: a visitor with no cookies, on the live server."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    reports = request.node.stash.get(REPORTS, {})
    if any(report.failed for report in reports.values()):
        ARTIFACTS.mkdir(exist_ok=True)
        name = request.node.nodeid.replace("/", "_").replace("::", "__")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    """Script errors and console errors (e.g. a CSP violation) on `page`, as they happen."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


_numbers = itertools.count(1)


class LiveData:
    """Rows in the live server's database, written directly (the tests are synchronous)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def user(self, name: str, role: str = "User") -> Account:
        """A new confirmed user whose name is `name` plus a number unique in the run."""
        username = f"{name}{next(_numbers)}"
        return run_sync(add_user(self.database_url, username, role=role))

    def post(self, author: Account, body: str) -> int:
        return run_sync(add_post(self.database_url, author, body))

    def comment(self, author: Account, post_id: int, body: str) -> int:
        return run_sync(add_comment(self.database_url, author, post_id, body))


@pytest.fixture
def live_data(live_server: LiveServer) -> LiveData:
    return LiveData(live_server.database_url)


def _log_in(page: Page, account: Account) -> None:
    page.goto("/auth/login")
    page.fill("input[name=email]", account.email)
    page.fill("input[name=password]", account.password)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    expect(page.get_by_role("heading", name=f"Hello, {account.username}!")).to_be_visible()


@pytest.fixture
def log_in() -> Callable[[Page, Account], None]:
    """`log_in(page, account)`: through the login form, as a person would."""
    return _log_in
