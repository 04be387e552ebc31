"""The types of the fixtures in conftest.py, and reading the pages the app answers.

Test modules annotate their fixture parameters with these (`make_user: MakeUser`)
so that mypy checks every call a test makes; conftest.py builds the fixtures to
match. Importing this module, rather than conftest.py, keeps pytest's own
loading of conftest the only one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol

from quart import Response
from quart.typing import TestClientProtocol

from service.models import User

# Quart's test client, the `client` fixture. Under its own name a test module
# importing it would have pytest try to collect it as a test class.
Client = TestClientProtocol


class MakeUser(Protocol):
    """`make_user`: a user row, committed; see conftest.py for the defaults."""

    async def __call__(
        self,
        username: str = ...,
        *,
        email: str | None = ...,
        password: str = ...,
        confirmed: bool = ...,
        role: str = ...,
        **fields: Any,
    ) -> User: ...


class Csrf(Protocol):
    """`csrf`: a CSRF token for the client's browser session, read from a page."""

    async def __call__(self, client: Client, path: str = ...) -> str: ...


class Login(Protocol):
    """`login`: the answer to posting the login form."""

    async def __call__(
        self,
        client: Client,
        email: str,
        password: str = ...,
        remember: bool = ...,
    ) -> Response: ...


class Submit(Protocol):
    """`submit`: the answer to posting a form with the client's CSRF token."""

    async def __call__(
        self, client: Client, path: str, data: dict[str, str], **kwargs: Any
    ) -> Response: ...


class ApiAuth(Protocol):
    """`api_auth`: Basic authentication headers, for a password or a token."""

    def __call__(self, username: str, password: str = ...) -> dict[str, str]: ...


SignedIn = Callable[[Client, User], AbstractAsyncContextManager[None]]
"""`signed_in`: `async with signed_in(client, user):` carries that user's login cookie."""

Reconfigure = Callable[..., None]
"""`reconfigure`: replace settings of this test's app (`Config` fields, each of its own type)."""

CountStatements = Callable[[], AbstractContextManager[list[str]]]
"""`count_statements`: `with count_statements() as statements:` records the SQL run."""


async def read_html(response: Response, *, status: int | None = None) -> str:
    """The page's text; with `status`, first check the answer had that status.

    Checking the status first makes a failure name the status it got, rather
    than a string missing from an error page.
    """
    if status is not None:
        assert response.status_code == status
    return await response.get_data(as_text=True)
