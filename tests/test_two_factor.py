"""Two-factor sign-in (SPEC 8.5): setup, the verify step, replays, recovery codes, the throttle."""

from __future__ import annotations

import pytest
from itsdangerous.timed import TimestampSigner
from quart import Quart, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.two_factor_views import PENDING_MAX_AGE
from service.auth.views import PENDING_KEY
from service.models import RecoveryCode, User
from service.signed_links import RESET_PASSWORD, make_token

from .fixtures import ApiAuth, Client, Csrf, Login, MakeUser, SignedIn, Submit, read_html
from .test_sessions import set_cookie
from .two_factor import SECRET_RE, Clock, Enabled, code, enable, freeze, read_secret

ELSEWHERE = ("198.51.100.7", 40000)
VERIFY = "/auth/two-factor/verify"
# Six digits to str.isdigit, but not ASCII: a wrong code like any other.
ARABIC_INDIC_DIGITS = "\u0661\u0662\u0663\u0664\u0665\u0666"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return freeze(monkeypatch)


@pytest.fixture
async def enabled(
    app: Quart, make_user: MakeUser, signed_in: SignedIn, submit: Submit, clock: Clock
) -> Enabled:
    """John, with two-factor turned on through the pages (in a browser of his own)."""
    john = await make_user("john")
    browser = app.test_client()
    async with signed_in(browser, john):
        return await enable(browser, submit, clock)


async def verify(
    client: Client, submit: Submit, value: str, address: tuple[str, int] | None = None
) -> Response:
    """Post a code; from the test client's own address (as `login` posts) unless one is given."""
    scope = {} if address is None else {"scope_base": {"client": address}}
    return await submit(client, VERIFY, {"code": value}, **scope)


async def greeting(client: Client) -> str:
    return await read_html(await client.get("/"), status=200)


async def stored(db: AsyncSession, username: str = "john") -> User:
    user = await db.scalar(select(User).where(User.username == username))
    assert user is not None
    await db.refresh(user)
    await db.commit()
    return user


async def test_setup_page_draws_the_qr_code_and_keeps_the_secret_over_a_reload(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.get("/auth/two-factor")
        html = await read_html(response, status=200)
        assert "<svg" in html and "<path" in html
        assert "http" not in html.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
            "http://www.w3.org/2000/svg", ""
        )
        assert response.headers["Cache-Control"] == "no-store"
        secret = SECRET_RE.search(html)
        assert secret is not None and len(secret.group(1)) == 32
        assert await read_secret(client) == secret.group(1)


async def test_account_menu_links_to_two_factor(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        html = await greeting(client)
    assert 'href="/auth/two-factor"' in html


async def test_a_wrong_code_does_not_turn_it_on(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    submit: Submit,
    clock: Clock,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        secret = await read_secret(client)
        response = await submit(client, "/auth/two-factor", {"code": code(secret, clock, 90)})
        assert "Invalid code." in await read_html(response, status=200)
    assert not (await stored(db)).two_factor_enabled


async def test_turning_on_shows_ten_recovery_codes_once_and_stores_no_secret_in_clear(
    client: Client,
    db: AsyncSession,
    signed_in: SignedIn,
    submit: Submit,
    clock: Clock,
    enabled: Enabled,
) -> None:
    async with signed_in(client, await stored(db)):
        html = await read_html(await client.get("/auth/two-factor"), status=200)
    assert len(set(enabled.recovery_codes)) == 10
    assert enabled.secret not in html
    assert not any(recovery in html for recovery in enabled.recovery_codes)
    user = await stored(db)
    assert user.two_factor_enabled
    assert user.two_factor_secret is not None
    assert enabled.secret not in user.two_factor_secret
    hashes = (await db.scalars(select(RecoveryCode.code_hash))).all()
    await db.commit()
    assert len(hashes) == 10
    assert not set(enabled.recovery_codes) & set(hashes)


async def test_the_password_alone_signs_nobody_in(
    client: Client,
    login: Login,
    enabled: Enabled,
) -> None:
    response = await login(client, "john@flasky.dev")
    assert response.status_code == 302
    assert response.location == VERIFY
    assert not any(h.startswith("flasky_auth=") for h in response.headers.getlist("Set-Cookie"))
    assert "Hello, Stranger!" in await greeting(client)
    for page in ("/auth/change-password", "/account/delete", "/auth/two-factor"):
        assert (await client.get(page)).location.startswith("/auth/login")
    assert "Enter the code" in await read_html(await client.get(VERIFY), status=200)


async def test_the_login_page_answers_the_same_with_two_factor_before_the_password(
    app: Quart,
    client: Client,
    submit: Submit,
    login: Login,
    make_user: MakeUser,
    clock: Clock,
    enabled: Enabled,
) -> None:
    await make_user("susan")
    answers = []
    for email in ("john@flasky.dev", "susan@flasky.dev"):
        response = await login(app.test_client(), email, "dog-password")
        answers.append(
            (response.status_code, "Invalid email or password." in await read_html(response))
        )
    assert answers == [(200, True), (200, True)]


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-60, False), (-30, True), (0, True), (30, True), (60, False)]
)
async def test_codes_one_step_early_or_late_are_accepted_two_are_not(
    client: Client,
    submit: Submit,
    login: Login,
    clock: Clock,
    enabled: Enabled,
    offset: int,
    accepted: bool,
) -> None:
    clock.advance(600)
    await login(client, "john@flasky.dev")
    response = await verify(client, submit, code(enabled.secret, clock, offset))
    if accepted:
        assert response.status_code == 302
        assert "Hello, john!" in await greeting(client)
    else:
        assert "Invalid code." in await read_html(response, status=200)
        assert "Hello, Stranger!" in await greeting(client)


async def test_a_code_works_once(
    app: Quart,
    submit: Submit,
    login: Login,
    clock: Clock,
    enabled: Enabled,
) -> None:
    first, second = app.test_client(), app.test_client()
    await login(first, "john@flasky.dev")
    await login(second, "john@flasky.dev")
    the_code = code(enabled.secret, clock)
    assert (await verify(first, submit, the_code)).status_code == 302
    replayed = await verify(second, submit, the_code)
    assert "Invalid code." in await read_html(replayed, status=200)
    # An earlier step's code, though within the skew, is older than the one used: refused too.
    earlier = await verify(second, submit, code(enabled.secret, clock, -30))
    assert "Invalid code." in await read_html(earlier, status=200)
    assert "Hello, Stranger!" in await greeting(second)
    clock.advance(30)
    assert (await verify(second, submit, code(enabled.secret, clock))).status_code == 302


async def test_a_recovery_code_works_once(
    app: Quart,
    submit: Submit,
    login: Login,
    enabled: Enabled,
) -> None:
    recovery = enabled.recovery_codes[3]
    first, second = app.test_client(), app.test_client()
    await login(first, "john@flasky.dev")
    assert (await verify(first, submit, recovery.upper().replace("-", " "))).status_code == 302
    assert "Hello, john!" in await greeting(first)
    await login(second, "john@flasky.dev")
    assert "Invalid code." in await read_html(await verify(second, submit, recovery), status=200)
    assert (await verify(second, submit, enabled.recovery_codes[4])).status_code == 302


async def test_wrong_codes_are_throttled_per_account_and_address(
    app: Quart,
    client: Client,
    submit: Submit,
    login: Login,
    clock: Clock,
    enabled: Enabled,
) -> None:
    await login(client, "john@flasky.dev")
    for wrong in ("000000", ARABIC_INDIC_DIGITS, "x" * 64, "abcde-fghij", "00000"):
        assert (await verify(client, submit, wrong)).status_code == 200
    locked = await verify(client, submit, code(enabled.secret, clock))
    assert locked.status_code == 429
    assert "Too many failed login attempts" in await read_html(locked)
    assert "Hello, Stranger!" in await greeting(client)
    # Logging in again does not reset the count: the password alone clears nothing.
    assert (await login(client, "john@flasky.dev")).status_code == 429
    # The owner, elsewhere, is not locked out by the guesser.
    elsewhere = app.test_client()
    await login(elsewhere, "john@flasky.dev")
    response = await verify(elsewhere, submit, code(enabled.secret, clock), address=ELSEWHERE)
    assert response.status_code == 302


@pytest.mark.parametrize("remember", [True, False])
async def test_remember_me_carries_through_the_code(
    client: Client,
    submit: Submit,
    login: Login,
    clock: Clock,
    enabled: Enabled,
    remember: bool,
) -> None:
    await login(client, "john@flasky.dev", remember=remember)
    cookie = set_cookie(await verify(client, submit, code(enabled.secret, clock)), "flasky_auth")
    assert ("Max-Age=2592000" in cookie) is remember


async def test_the_next_page_carries_through_the_code(
    client: Client,
    submit: Submit,
    csrf: Csrf,
    clock: Clock,
    enabled: Enabled,
) -> None:
    form = {
        "email": "john@flasky.dev",
        "password": "cat-password",
        "csrf_token": await csrf(client),
    }
    await client.post("/auth/login?next=/auth/change-password", form=form)
    response = await verify(client, submit, code(enabled.secret, clock))
    assert response.location == "/auth/change-password"


async def test_the_pending_login_expires(
    client: Client,
    submit: Submit,
    login: Login,
    clock: Clock,
    enabled: Enabled,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await login(client, "john@flasky.dev")
    now = TimestampSigner.get_timestamp
    monkeypatch.setattr(
        TimestampSigner, "get_timestamp", lambda self: now(self) + PENDING_MAX_AGE + 1
    )
    clock.advance(PENDING_MAX_AGE + 1)
    response = await verify(client, submit, code(enabled.secret, clock))
    assert response.status_code == 302
    assert response.location == "/auth/login"
    assert "Hello, Stranger!" in await greeting(client)


async def test_the_pending_token_is_good_for_nothing_else(
    app: Quart,
    client: Client,
    db: AsyncSession,
    submit: Submit,
    login: Login,
    clock: Clock,
    enabled: Enabled,
) -> None:
    await login(client, "john@flasky.dev")
    async with client.session_transaction() as browser_session:
        pending = browser_session[PENDING_KEY]
    # Not a password-reset link ...
    other = app.test_client()
    response = await other.get(f"/auth/reset/{pending}")
    assert response.location == "/auth/reset"
    # ... nor a login cookie.
    other.set_cookie("localhost", "flasky_auth", pending)
    assert "Hello, Stranger!" in await greeting(other)
    # And a token for something else is no pending login.
    async with app.app_context():
        reset = make_token(RESET_PASSWORD, await stored(db))
    async with client.session_transaction() as browser_session:
        browser_session[PENDING_KEY] = reset
    response = await verify(client, submit, code(enabled.secret, clock))
    assert response.location == "/auth/login"
    assert "Hello, Stranger!" in await greeting(client)


async def test_turning_it_off_needs_the_password_and_a_code(
    client: Client,
    db: AsyncSession,
    signed_in: SignedIn,
    submit: Submit,
    clock: Clock,
    enabled: Enabled,
) -> None:
    async with signed_in(client, await stored(db)):
        right = {"password": "cat-password", "code": code(enabled.secret, clock)}
        for wrong in ({**right, "password": "dog-password"}, {**right, "code": "123456"}):
            response = await submit(client, "/auth/two-factor/disable", wrong)
            assert "Invalid password or code." in await read_html(response, status=400)
        response = await submit(client, "/auth/two-factor/disable", {"password": "cat-password"})
        assert response.status_code == 400
        assert (await stored(db)).two_factor_enabled
        assert (await client.get("/auth/two-factor/disable")).status_code == 405
        response = await submit(client, "/auth/two-factor/disable", right)
        assert response.status_code == 302
    user = await stored(db)
    assert not user.two_factor_enabled
    assert user.two_factor_secret is None
    assert (await db.scalars(select(RecoveryCode))).all() == []
    await db.commit()


async def test_a_password_reset_leaves_two_factor_on(
    app: Quart,
    client: Client,
    db: AsyncSession,
    submit: Submit,
    login: Login,
    clock: Clock,
    enabled: Enabled,
) -> None:
    async with app.app_context():
        token = make_token(RESET_PASSWORD, await stored(db))
    new = {"password": "new-password", "password2": "new-password"}
    assert (await submit(client, f"/auth/reset/{token}", new)).status_code == 302
    assert (await stored(db)).two_factor_enabled
    response = await login(client, "john@flasky.dev", "new-password")
    assert response.location == VERIFY
    assert "Hello, Stranger!" in await greeting(client)
    assert (await verify(client, submit, code(enabled.secret, clock))).status_code == 302


async def test_api_refuses_the_password_of_a_two_factor_account(
    client: Client,
    api_auth: ApiAuth,
    clock: Clock,
    enabled: Enabled,
) -> None:
    headers = api_auth("john@flasky.dev", "cat-password")
    refused = await client.get("/api/v1/posts/", headers=headers)
    assert refused.status_code == 401
    assert "X-Flasky-OTP" in (await refused.get_json())["message"]
    # A code does not open other endpoints to the password either.
    with_code = {**headers, "X-Flasky-OTP": code(enabled.secret, clock)}
    assert (await client.get("/api/v1/posts/", headers=with_code)).status_code == 401
    assert (await client.post("/api/v1/tokens/", headers=headers)).status_code == 401


async def test_api_token_with_a_code(
    client: Client,
    api_auth: ApiAuth,
    clock: Clock,
    enabled: Enabled,
) -> None:
    headers = api_auth("john@flasky.dev", "cat-password")
    wrong = await client.post("/api/v1/tokens/", headers={**headers, "X-Flasky-OTP": "000000"})
    assert wrong.status_code == 401
    the_code = code(enabled.secret, clock)
    response = await client.post("/api/v1/tokens/", headers={**headers, "X-Flasky-OTP": the_code})
    assert response.status_code == 200
    token = (await response.get_json())["token"]
    replayed = await client.post("/api/v1/tokens/", headers={**headers, "X-Flasky-OTP": the_code})
    assert replayed.status_code == 401
    assert (await client.get("/api/v1/posts/", headers=api_auth(token))).status_code == 200


async def test_wrong_api_codes_count_towards_the_throttle(
    client: Client,
    api_auth: ApiAuth,
    clock: Clock,
    enabled: Enabled,
) -> None:
    headers = api_auth("john@flasky.dev", "cat-password")
    for wrong in ("1", "000000", "x" * 100, "abcde-fghij", ARABIC_INDIC_DIGITS):
        otp = {**headers, "X-Flasky-OTP": wrong.encode().decode("latin-1")}
        response = await client.post("/api/v1/tokens/", headers=otp)
        assert response.status_code == 401
    right = {**headers, "X-Flasky-OTP": code(enabled.secret, clock)}
    assert (await client.post("/api/v1/tokens/", headers=right)).status_code == 429
