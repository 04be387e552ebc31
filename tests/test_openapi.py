"""The OpenAPI document: served openly, valid, and naming exactly the API's routes."""

from __future__ import annotations

import re

import schemathesis
from quart import Quart
from quart.testing import QuartClient

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def openapi_path(rule: str) -> str:
    """`/api/v1/posts/<int(min=1):id>` -> `/api/v1/posts/{id}`."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule)


async def test_document_needs_no_credentials(client: QuartClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert (await response.get_json())["openapi"].startswith("3.")


async def test_document_is_valid_openapi(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    schemathesis.openapi.from_dict(document).validate()


async def test_document_names_exactly_the_api_routes(client: QuartClient, app: Quart) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    documented = {
        (path, method.upper(), operation["operationId"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    routes = {
        (openapi_path(rule.rule), method, rule.endpoint.removeprefix("api."))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in (rule.methods or set()) - IGNORED_METHODS
    }
    assert documented == routes


async def test_every_authenticated_operation_documents_auth_errors(client: QuartClient) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    for operations in document["paths"].values():
        for operation in operations.values():
            if operation.get("security") != []:
                assert {"401", "403", "429"} <= set(operation["responses"]), operation[
                    "operationId"
                ]
