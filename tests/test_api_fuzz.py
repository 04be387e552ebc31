"""Fuzzing the API: schemathesis generates requests from the OpenAPI document,
and every response must be a non-5xx that matches the document.

Hypothesis drives synchronous test functions, so the fuzzing loop runs in a
worker thread and hands each request back to the test's event loop, where the
app, its database connections and the fixtures live. Requests reach the app
in-process, through httpx's ASGI transport.

Run with `-s` to see the figures (requests sent per operation and status).
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import Quart
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Comment, Follow, Post

from .fixtures import ApiAuth, MakeUser

# Per operation and generation mode; 15 operations x 2 modes x 25 stays well under a minute.
MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PASSWORD = ("john@flasky.dev", "cat-password")


async def arrange(db: AsyncSession, make_user: MakeUser) -> dict[str, list[int]]:
    """Rows for the generated ids to hit: posts of the caller and of someone else, comments
    (one disabled), a follow; returned as the ids each kind of URL can name."""
    john = await make_user("john")
    susan = await make_user("susan")
    posts = [
        Post(body=f"post {i}", body_html=f"<p>post {i}</p>", author_id=author.id)
        for i, author in enumerate([john, john, susan] * 2)
    ]
    db.add_all(posts)
    db.add(Follow(follower_id=john.id, followed_id=susan.id))
    await db.flush()
    comments = [
        Comment(body="c", body_html="c", author_id=susan.id, post_id=post.id, disabled=i == 0)
        for i, post in enumerate(posts)
    ]
    db.add_all(comments)
    await db.commit()
    return {
        "posts": [post.id for post in posts],
        "users": [john.id, susan.id],
        "comments": [comment.id for comment in comments],
    }


class Fuzzer:
    """Sends schemathesis cases to the app on the test's event loop, and keeps the figures."""

    def __init__(self, app: Quart, loop: asyncio.AbstractEventLoop, auth: ApiAuth) -> None:
        # Quart types the ASGI scope and events precisely, httpx as plain mappings:
        # the same interface, which mypy cannot match up.
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        self.http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        self.loop = loop
        self.auth = auth
        self.token = ""
        self.statuses: Counter[tuple[str, int]] = Counter()

    def run(self, operations: list[APIOperation], ids: dict[str, list[int]]) -> None:
        """Fuzz each operation; in a worker thread, as `request` waits on the event loop."""
        self.token = self.new_token()
        for operation in operations:
            negatable = operation.path_parameters or operation.query or operation.body
            for mode in GenerationMode if negatable else [GenerationMode.POSITIVE]:
                self.fuzz(operation, mode, ids_for(operation.path, ids))

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        # requests prepares the exact bytes schemathesis meant to send (URL, query, body).
        prepared = requests.Request(method, url, **kwargs).prepare()
        # A prepared body is bytes, text or nothing (requests types it as any body it takes).
        assert prepared.body is None or isinstance(prepared.body, bytes | str)
        coroutine = self.http.request(
            prepared.method or method,
            prepared.url or url,
            # Header values are text or bytes; httpx takes both, though typed for one per mapping.
            headers=dict(prepared.headers),  # type: ignore[arg-type]
            content=prepared.body,
        )
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def new_token(self) -> str:
        response = self.request(
            "POST", "http://testserver/api/v1/tokens/", headers=self.auth(*PASSWORD)
        )
        token: str = response.json()["token"]
        return token

    def credentials(self, case: Case) -> dict[str, str]:
        """Password auth to mint a token, a fresh token to revoke, the shared token otherwise."""
        operation = case.operation.definition.raw["operationId"]
        if operation == "get_token":
            return self.auth(*PASSWORD)
        return self.auth(self.new_token() if operation == "revoke_token" else self.token)

    def send_and_check(self, case: Case) -> None:
        kwargs = case.as_transport_kwargs(
            base_url="http://testserver", headers=self.credentials(case)
        )
        response = self.request(**kwargs)
        self.statuses[(case.operation.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)

    def fuzz(self, operation: APIOperation, mode: GenerationMode, ids: list[int]) -> None:
        cases = operation.as_strategy(generation_mode=mode)
        if ids and operation.path_parameters:
            # Ids of real rows, as often as generated ones, so that requests reach the data.
            known = st.sampled_from(ids).flatmap(
                lambda id: operation.as_strategy(generation_mode=mode, path_parameters={"id": id})
            )
            cases = st.one_of(known, cases)

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            # CI replays the same examples on every run, so a submission cannot pass or
            # fail by luck; local runs draw new examples each time and keep exploring.
            derandomize=bool(os.environ.get("CI")),
            # Generating from JSON Schema is slower than Hypothesis's default budget allows.
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        @given(case=cases)
        def run(case: Case) -> None:
            self.send_and_check(case)

        run()

    def report(self) -> str:
        lines = [f"{sum(self.statuses.values())} generated requests"]
        lines += [
            f"  {label} -> {status}: {n}" for (label, status), n in sorted(self.statuses.items())
        ]
        return "\n".join(lines)


def ids_for(path: str, ids: dict[str, list[int]]) -> list[int]:
    """The ids a path's `{id}` names: a post's comments are named by the post."""
    return next(
        (ids[kind] for kind in ("comments", "users", "posts") if f"/{kind}/{{id}}" in path), []
    )


async def test_fuzz_api(
    app: Quart, db: AsyncSession, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    ids = await arrange(db, make_user)
    document = await (await app.test_client().get("/api/v1/openapi.json")).get_json()
    operations = []
    for result in schemathesis.openapi.from_dict(document).get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    # Deletions last, so that the other operations still find the rows.
    operations.sort(key=lambda operation: operation.method == "delete")
    fuzzer = Fuzzer(app, asyncio.get_running_loop(), api_auth)
    try:
        await asyncio.to_thread(fuzzer.run, operations, ids)
    finally:
        await fuzzer.http.aclose()
        print(fuzzer.report())
    # Guards against a vacuous pass (e.g. every request refused with a documented 401).
    succeeded = {label for (label, status) in fuzzer.statuses if status < 300}
    assert succeeded == {operation.label for operation in operations}
