"""The page's language: how it is chosen, the switcher, mail in the recipient's language.

SPEC §8.1: saved choice > `lang` cookie > `Accept-Language` > `FLASKY_DEFAULT_LOCALE`;
the API stays English whatever the reader asks for.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from quart import Quart
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.i18n import locale_from_header, supported_locale
from service.models import User
from service.templating import synchronous_environment
from tests.blog import add_comment, add_posts
from tests.conftest import Mailbox

from .fixtures import (
    ApiAuth,
    Client,
    Csrf,
    Login,
    MakeUser,
    Reconfigure,
    SignedIn,
    Submit,
    read_html,
)

ZH = {"Accept-Language": "zh-CN"}
LANG_RE = re.compile(r'<html lang="([^"]+)">')


async def page_language(client: Client, path: str = "/", **headers: str) -> str:
    """The `<html lang>` of the page at `path`."""
    response = await client.get(path, headers=headers)
    match = LANG_RE.search(await response.get_data(as_text=True))
    assert match is not None, f"no <html lang> on {path}"
    return match.group(1)


async def choose(client: Client, csrf: Csrf, lang: str, **fields: str) -> tuple[int, str, str]:
    """Press the switcher: (status, Location, Set-Cookie of `lang`)."""
    token = await csrf(client, "/")
    response = await client.post("/language", form={"lang": lang, "csrf_token": token, **fields})
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang=")]
    return response.status_code, response.headers.get("Location", ""), "".join(cookies)


async def saved_locale(db: AsyncSession, username: str) -> str | None:
    db.expire_all()
    return await db.scalar(select(User.locale).where(User.username == username))


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh-cn", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("zh-Hans-HK", "zh-CN"),
        ("zh-TW", None),
        ("zh-Hant", None),
        ("zh-HK", None),
        ("zh-Hant-TW", None),
        ("en", "en"),
        ("en-GB", "en"),
        ("fr", None),
        ("*", None),
    ],
)
def test_language_tags_map_to_our_locales(tag: str, locale: str | None) -> None:
    assert supported_locale(tag) == locale


def test_accept_language_is_read_by_quality() -> None:
    assert locale_from_header([("fr", 1.0), ("en", 0.3), ("zh", 0.8)]) == "zh-CN"
    assert locale_from_header([("zh-TW", 1.0), ("en", 0.5)]) == "en"
    assert locale_from_header([("zh", 0.0), ("fr", 1.0)]) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("fr-FR, zh-Hans;q=0.7, en;q=0.5", "zh-CN"),
        ("en;q=0.4, zh-SG;q=0.6", "zh-CN"),
        ("zh-TW,zh-Hant;q=0.9", "en"),
        ("zh-TW, en;q=0.1", "en"),
        ("de", "en"),
        ("", "en"),
    ],
)
async def test_accept_language_chooses_the_page_language(
    client: Client, header: str, expected: str
) -> None:
    assert await page_language(client, "/", **{"Accept-Language": header}) == expected


async def test_without_any_preference_the_page_is_english(client: Client) -> None:
    html = await read_html(await client.get("/auth/login"))
    assert '<html lang="en">' in html
    assert "<title>Flasky - Login</title>" in html


async def test_default_locale_applies_when_nothing_else_decides(
    client: Client, reconfigure: Reconfigure
) -> None:
    reconfigure(default_locale="zh-CN")
    assert await page_language(client) == "zh-CN"
    assert await page_language(client, "/", **{"Accept-Language": "en"}) == "en"


async def test_cookie_beats_the_header(client: Client) -> None:
    client.set_cookie("localhost", "lang", "zh-CN")
    assert await page_language(client, "/", **{"Accept-Language": "en"}) == "zh-CN"


async def test_a_cookie_of_another_language_is_ignored(client: Client) -> None:
    client.set_cookie("localhost", "lang", "fr")
    assert await page_language(client, "/", **ZH) == "zh-CN"


async def test_saved_choice_beats_cookie_and_header(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    user = await make_user("john", locale="zh-CN")
    client.set_cookie("localhost", "lang", "en")
    async with signed_in(client, user):
        assert await page_language(client, "/", **{"Accept-Language": "en"}) == "zh-CN"


async def test_switcher_sets_the_cookie_and_returns_to_the_page(client: Client, csrf: Csrf) -> None:
    status, location, cookie = await choose(client, csrf, "zh-CN", next="/auth/login")
    assert (status, location) == (302, "/auth/login")
    assert cookie.startswith("lang=zh-CN;")
    assert "Max-Age=31536000" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    assert await page_language(client, "/auth/login") == "zh-CN"
    await choose(client, csrf, "en")
    assert await page_language(client, "/", **ZH) == "en"


async def test_switcher_cookie_is_secure_when_the_session_cookie_is(
    client: Client, csrf: Csrf, reconfigure: Reconfigure
) -> None:
    reconfigure(cookie_secure=True)
    _, _, cookie = await choose(client, csrf, "en")
    assert "Secure" in cookie


@pytest.mark.parametrize("lang", ["fr", "zh", "zh-TW", "ZH-CN", "", "en;"])
async def test_switcher_refuses_other_languages(client: Client, csrf: Csrf, lang: str) -> None:
    status, _, cookie = await choose(client, csrf, lang)
    assert status == 400
    assert cookie == ""


async def test_switcher_without_a_language_is_refused(client: Client, csrf: Csrf) -> None:
    token = await csrf(client, "/")
    response = await client.post("/language", form={"csrf_token": token})
    assert response.status_code == 400


async def test_switcher_needs_a_csrf_token(client: Client) -> None:
    response = await client.post("/language", form={"lang": "zh-CN"})
    assert response.status_code == 400
    assert "lang=" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
async def test_switcher_ignores_a_next_on_another_site(
    client: Client, csrf: Csrf, target: str
) -> None:
    status, location, _ = await choose(client, csrf, "zh-CN", next=target)
    assert (status, location) == (302, "/")


async def test_every_page_has_the_switcher(client: Client) -> None:
    for path in ("/", "/auth/login", "/no/such/page"):
        html = await read_html(await client.get(path))
        assert 'action="/language"' in html, path
        assert 'name="lang" value="zh-CN"' in html and ">中文</button>" in html, path
        assert 'name="lang" value="en"' in html and ">English</button>" in html, path


async def test_signed_in_choice_is_saved_and_follows_the_user(
    app: Quart, client: Client, csrf: Csrf, login: Login, make_user: MakeUser, db: AsyncSession
) -> None:
    first, second = client, app.test_client()
    await make_user("john")
    await login(first, "john@flasky.dev")
    await choose(first, csrf, "zh-CN")
    assert await saved_locale(db, "john") == "zh-CN"
    await first.post("/auth/logout", form={"csrf_token": await csrf(first, "/")})

    # Another browser: no cookie, a browser that asks for English.
    assert await page_language(second, "/", **{"Accept-Language": "en"}) == "en"
    await login(second, "john@flasky.dev")
    html = await read_html(await second.get("/", headers={"Accept-Language": "en"}))
    assert '<html lang="zh-CN">' in html
    assert "退出登录" in html


async def test_registration_saves_the_page_language(
    client: Client, submit: Submit, db: AsyncSession, mailbox: Mailbox
) -> None:
    client.set_cookie("localhost", "lang", "zh-CN")
    form = {
        "email": "li@flasky.dev",
        "username": "li",
        "password": "cat-password",
        "password2": "cat-password",
    }
    response = await submit(client, "/auth/register", form, follow_redirects=True)
    assert "确认邮件已发送到你的邮箱。" in await read_html(response)
    assert await saved_locale(db, "li") == "zh-CN"

    [message] = mailbox.to("li@flasky.dev")
    assert message["Subject"] == "[Flasky] 请确认你的账号"
    text, html = Mailbox.body(message, "plain"), Mailbox.body(message, "html")
    assert "li，你好：" in text
    assert "请点击下面的链接确认你的账号：" in text
    assert "Flasky 团队" in text
    assert "Dear" not in text and "confirm your account" not in text
    assert "请<a href=" in html and "欢迎来到 <b>Flasky</b>！" in html
    link = next(url for url in mailbox.links(message) if "/auth/confirm/" in url)
    assert link.startswith("http")


async def test_english_registration_mail_reads_as_before(
    client: Client, submit: Submit, db: AsyncSession, mailbox: Mailbox
) -> None:
    form = {
        "email": "ann@flasky.dev",
        "username": "ann",
        "password": "cat-password",
        "password2": "cat-password",
    }
    await submit(client, "/auth/register", form)
    assert await saved_locale(db, "ann") == "en"
    [message] = mailbox.to("ann@flasky.dev")
    assert message["Subject"] == "[Flasky] Confirm Your Account"
    assert "To confirm your account please click on the following link:" in Mailbox.body(message)


async def test_mail_goes_out_in_the_recipients_language_not_the_pages(
    client: Client, submit: Submit, make_user: MakeUser, mailbox: Mailbox
) -> None:
    await make_user("wang", locale="zh-CN")
    await make_user("bob", locale="en")
    await submit(client, "/auth/reset", {"email": "wang@flasky.dev"})
    await submit(client, "/auth/reset", {"email": "bob@flasky.dev"}, headers=ZH)
    [chinese] = mailbox.to("wang@flasky.dev")
    [english] = mailbox.to("bob@flasky.dev")
    assert chinese["Subject"] == "[Flasky] 重置密码"
    assert "请点击下面的链接重置密码：" in Mailbox.body(chinese)
    assert "链接一小时内有效，且只能使用一次。" in Mailbox.body(chinese)
    assert english["Subject"] == "[Flasky] Reset Your Password"
    assert "To reset your password click on the following link:" in Mailbox.body(english)


async def test_flashes_and_form_errors_are_in_the_page_language(
    client: Client, submit: Submit
) -> None:
    response = await submit(
        client,
        "/auth/register",
        {"email": "x", "username": "1x", "password": "a", "password2": "b"},
        headers=ZH,
    )
    html = await read_html(response)
    assert "无效的 Email 地址。" in html  # WTForms' own catalog
    assert "用户名只能包含字母、数字、点或下划线" in html
    assert "密码长度必须在 8 到 " in html
    response = await submit(
        client,
        "/auth/login",
        {"email": "nobody@flasky.dev", "password": "wrong-password"},
        headers=ZH,
    )
    assert "邮箱或密码错误。" in await read_html(response)
    response = await submit(client, "/auth/login", {"email": "", "password": ""}, headers=ZH)
    assert "该字段是必填字段。" in await read_html(response)


async def test_english_form_errors_are_unchanged(client: Client, submit: Submit) -> None:
    response = await submit(client, "/auth/login", {"email": "", "password": ""})
    assert "This field is required." in await read_html(response)


async def test_comment_counts_use_plural_forms(
    client: Client, make_user: MakeUser, db: AsyncSession
) -> None:
    author = await make_user("john")
    one, two = await add_posts(db, author, 2)
    await add_comment(db, one, author)
    await add_comment(db, two, author)
    await add_comment(db, two, author)
    english = await read_html(await client.get("/"))
    assert "1 Comment<" in english and "2 Comments<" in english
    chinese = await read_html(await client.get("/", headers=ZH))
    assert "1 条评论<" in chinese and "2 条评论<" in chinese


async def test_profile_dates_are_in_the_page_language(client: Client, make_user: MakeUser) -> None:
    when = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    await make_user("john", member_since=when, last_seen=when)
    chinese = await read_html(await client.get("/user/john", headers=ZH))
    assert "注册于 <time" in chinese
    assert "2026年3月4日" in chinese
    english = await read_html(await client.get("/user/john"))
    assert "Member since <time" in english
    assert "Mar 4, 2026" in english


async def test_the_api_stays_english(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john", locale="zh-CN")
    client.set_cookie("localhost", "lang", "zh-CN")
    response = await client.get(
        "/api/v1/posts/12345", headers=ZH | api_auth("john@flasky.dev", "cat-password")
    )
    assert response.status_code == 404
    body = await response.get_json()
    assert body["error"] == "not found"
    assert body["message"].isascii()
    response = await client.get("/api/v1/no-such-thing", headers=ZH)
    assert await response.get_json() == {"error": "not found"}


@pytest.mark.parametrize(
    ("autoescape", "expected"),
    [
        (True, '<a href="#">&lt;i&gt;</a> 100% <a href="#">&lt;i&gt;</a> 2 条评论'),
        (False, '<a href="#"><i></a> 100% <a href="#"><i></a> 2 条评论'),
    ],
)
async def test_template_translations_escape_only_what_they_fill_in(
    app: Quart, autoescape: bool, expected: str
) -> None:
    # A message is trusted HTML (it is the template's); the values filled in
    # are not, where the template escapes. `%%` is a percent sign.
    source = (
        "{% autoescape " + str(autoescape).lower() + " %}"
        """{{ _('<a href="#">%(place)s</a>', place='<i>') }} {{ _('100%%') }} """
        """{% trans place='<i>' %}<a href="#">{{ place }}</a>{% endtrans %} """
        "{{ ngettext('%(num)d Comment', '%(num)d Comments', 2) }}{% endautoescape %}"
    )
    async with app.test_request_context("/", headers=ZH):
        await app.preprocess_request()
        template = synchronous_environment(app).from_string(source)
        assert template.render() == expected
