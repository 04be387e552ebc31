"""The OpenAPI document: served openly, valid, and naming exactly the API's routes."""

from __future__ import annotations

import re

import pytest
import schemathesis
from quart import Blueprint, Quart

from service.api.openapi import build_document
from service.api.operations import operation as declare_operation
from service.api.operations import undeclared_views

from .fixtures import ApiAuth, Client, MakeUser

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def openapi_path(rule: str) -> str:
    """`/api/v1/posts/<int(min=1):id>` -> `/api/v1/posts/{id}`."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule)


async def test_document_needs_no_credentials(client: Client) -> None:
    response = await client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert (await response.get_json())["openapi"].startswith("3.")


async def test_document_is_valid_openapi(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    schemathesis.openapi.from_dict(document).validate()


async def test_document_names_exactly_the_api_routes(client: Client, app: Quart) -> None:
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


async def test_every_authenticated_operation_documents_auth_errors(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    for operations in document["paths"].values():
        for operation in operations.values():
            if operation.get("security") != []:
                assert {"401", "403", "429"} <= set(operation["responses"]), operation[
                    "operationId"
                ]


async def test_every_api_view_declares_its_operation(app: Quart) -> None:
    assert undeclared_views(app) == []


def test_a_view_without_a_declaration_is_reported() -> None:
    toy = Quart(__name__)
    blueprint = Blueprint("api", __name__)

    @blueprint.route("/declared")
    @declare_operation("Declared", status=204)
    async def declared() -> str:
        return ""

    @blueprint.route("/forgotten")
    async def forgotten() -> str:
        return ""

    toy.register_blueprint(blueprint)
    assert undeclared_views(toy) == ["api.forgotten"]
    with pytest.raises(RuntimeError, match=r"api\.forgotten"):
        build_document(toy)


async def test_documented_shapes_are_the_json_sent(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    schemas = document["components"]["schemas"]
    user = await make_user("john")
    headers = api_auth("john@flasky.dev", "cat-password")
    post = await (
        await client.post("/api/v1/posts/", json={"body": "hi"}, headers=headers)
    ).get_json()
    comment_response = await client.post(
        post["comments_url"], json={"body": "yes"}, headers=headers
    )
    sent = {
        "Post": post,
        "Comment": await comment_response.get_json(),
        "User": await (await client.get(f"/api/v1/users/{user.id}", headers=headers)).get_json(),
        "PostList": await (await client.get("/api/v1/posts/", headers=headers)).get_json(),
    }
    for name, body in sent.items():
        assert set(body) == set(schemas[name]["properties"]) == set(schemas[name]["required"]), name


async def test_the_post_list_documents_its_search_parameter(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).get_json()
    parameters = document["paths"]["/api/v1/posts/"]["get"]["parameters"]
    assert {"$ref": "#/components/parameters/q"} in parameters
    q = document["components"]["parameters"]["q"]
    assert q["in"] == "query" and q["schema"] == {"type": "string", "maxLength": 200}
