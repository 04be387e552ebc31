"""Text the database cannot store is refused with a 400 at the door, never a 500."""

from __future__ import annotations

import pytest

from .fixtures import Client, Csrf, MakeUser, SignedIn


@pytest.mark.parametrize(
    "path",
    ["/user/bad%00name", "/followers/x%00", "/?page=1%00", "/auth/login?next=/%00"],
)
async def test_nul_in_path_or_query_is_refused(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 400
    assert "not allowed" in await response.get_data(as_text=True)


async def test_nul_in_a_form_field_is_refused_and_nothing_is_stored(
    client: Client,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    user = await make_user("john")
    async with signed_in(client, user):
        token = await csrf(client, "/")
        response = await client.post("/", form={"body": "evil\x00post", "csrf_token": token})
        assert response.status_code == 400
        index = await (await client.get("/")).get_data(as_text=True)
    assert "evil" not in index


async def test_nul_in_the_login_form_is_refused(client: Client, csrf: Csrf) -> None:
    token = await csrf(client)
    response = await client.post(
        "/auth/login",
        form={"email": "a\x00@flasky.dev", "password": "x", "csrf_token": token},
    )
    assert response.status_code == 400


async def test_ordinary_unicode_passes(client: Client) -> None:
    response = await client.get("/user/%C3%A9l%C3%A8ve")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/post/99999999999",
        "/edit/99999999999",
        "/edit-profile/99999999999",
        "/avatar/99999999999.svg",
        "/api/v1/posts/99999999999",
        "/api/v1/users/2147483648/posts/",
    ],
)
async def test_an_id_no_integer_column_holds_is_a_404(
    client: Client,
    make_user: MakeUser,
    signed_in: SignedIn,
    path: str,
) -> None:
    admin = await make_user("boss", role="Administrator")
    async with signed_in(client, admin):
        response = await client.get(path, headers={"Authorization": "Basic eA=="})
    assert response.status_code == 404


async def test_the_largest_id_still_reaches_the_view(client: Client) -> None:
    response = await client.get("/avatar/2147483647.svg")
    assert response.status_code == 200


async def test_an_id_out_of_range_is_a_404_for_every_method(client: Client) -> None:
    for method, send in (("GET", client.get), ("PUT", client.put), ("DELETE", client.delete)):
        response = await send("/api/v1/posts/99999999999")
        assert response.status_code == 404, method
