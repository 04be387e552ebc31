"""Translations: the page's language, and the functions that mark and translate text.

Python code marks strings with `gettext` (imported as `_`), `ngettext` and,
where the text is needed before a request exists (form labels), `lazy_gettext`;
templates use `_()`, `ngettext()` and `{% trans %}` from Jinja's i18n extension.

The page's language (SPEC §8.1), decided once per request, in this order: the
signed-in user's saved choice (`users.locale`, already loaded with the user,
so it costs no query), the `lang` cookie, the `Accept-Language` header (by
quality; every Simplified Chinese tag means `zh-CN`, Traditional Chinese tags
match nothing), then `FLASKY_DEFAULT_LOCALE`. The API always speaks English.

The catalogs are the `.po` files under `service/translations/`, compiled in
memory when the process first needs them: there is no `.mo` file to build, so
a fresh checkout or `pip install` speaks Chinese as it is. Fuzzy entries are
left out, as `msgfmt` would.
"""

from __future__ import annotations

import functools
import gettext as gnu_gettext
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup
from quart import (
    Quart,
    Request,
    Response,
    abort,
    g,
    has_app_context,
    has_request_context,
    redirect,
    request,
    url_for,
)
from quart.typing import ResponseReturnValue
from sqlalchemy import update
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from wtforms.i18n import get_builtin_gnu_translations

from .config import current_config
from .db import get_session, write_transaction
from .models import User
from .request_user import request_user
from .templating import isoformat

LOCALES = ("en", "zh-CN")
# The language of the catalogs' msgids, and of the API.
SOURCE_LOCALE = "en"
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
COOKIE_NAME = "lang"
COOKIE_MAX_AGE = 365 * 24 * 60 * 60

# Where each locale's catalog lives (Babel's and gettext's spelling) and its
# name for Babel's date formats; WTForms ships its own messages under `zh`.
_CATALOG_NAMES = {"zh-CN": "zh_CN"}
_WTFORMS_NAMES = {"zh-CN": "zh"}
_TRADITIONAL_SUBTAGS = {"hant", "tw", "hk", "mo"}

_forced_locale: ContextVar[str | None] = ContextVar("flasky_forced_locale", default=None)
# The language of the request being handled, set by the before-request hook:
# a page asks for it a few dozen times, and a context variable is one lookup
# where `g` is two proxies. Quart handles each request in a task of its own.
_request_locale: ContextVar[str | None] = ContextVar("flasky_request_locale", default=None)


def supported_locale(tag: str) -> str | None:
    """The locale of ours a language tag asks for (`zh-Hans-SG` → `zh-CN`), or None.

    Simplified Chinese is `zh` with any region or script but a Traditional
    one; `zh-TW`, `zh-HK` and `zh-Hant` match nothing, so the reader gets the
    next language they accept rather than the wrong script.
    """
    primary, *rest = tag.strip().replace("_", "-").lower().split("-")
    if primary == "en":
        return "en"
    if primary == "zh":
        subtags = set(rest)
        if "hans" in subtags or not subtags & _TRADITIONAL_SUBTAGS:
            return "zh-CN"
    return None


def locale_from_header(accepted: Iterable[tuple[str, float]]) -> str | None:
    """The first of our locales in an `Accept-Language` list, best quality first."""
    for tag, quality in sorted(accepted, key=lambda item: -item[1]):
        locale = supported_locale(tag) if quality > 0 else None
        if locale is not None:
            return locale
    return None


def _saved_locale() -> str | None:
    # quart-auth's user; its `Reader` was loaded by service.identity's
    # before-request hook (importing that module here would be circular).
    reader = getattr(request_user(), "reader", None)
    locale = getattr(reader, "locale", None)
    return locale if locale in LOCALES else None


def negotiate_locale() -> str:
    """This request's language, in the order of SPEC §8.1."""
    current: Request = request._get_current_object()  # type: ignore[attr-defined]
    if current.path.startswith("/api/"):
        return SOURCE_LOCALE
    cookie = current.cookies.get(COOKIE_NAME)
    return (
        _saved_locale()
        or (cookie if cookie in LOCALES else None)
        or _header_locale(current.headers.get("Accept-Language"))
        or current_config().default_locale
    )


@functools.lru_cache(maxsize=256)
def _header_locale(header: str | None) -> str | None:
    # Browsers send a handful of distinct headers; each is parsed once.
    return locale_from_header(parse_accept_header(header, LanguageAccept)) if header else None


def current_locale() -> str:
    """The language text is translated into now: a forced one, the request's, or the default."""
    locale = _forced_locale.get() or _request_locale.get()
    if locale is not None:
        return locale
    if has_request_context():
        return negotiate_locale()
    if has_app_context():
        return str(current_config().default_locale)
    return SOURCE_LOCALE


@contextmanager
def force_locale(locale: str | None) -> Iterator[None]:
    """Translate into `locale` inside the block (a mail in its recipient's language).

    None, or a value that is not one of ours, leaves the current language.
    """
    token = _forced_locale.set(locale if locale in LOCALES else current_locale())
    try:
        yield
    finally:
        _forced_locale.reset(token)


@functools.cache
def translations(locale: str) -> gnu_gettext.NullTranslations:
    """The compiled catalog of `locale` (English, the msgids' language, needs none)."""
    name = _CATALOG_NAMES.get(locale)
    if name is None:
        return gnu_gettext.NullTranslations()
    with (TRANSLATIONS_DIR / name / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        catalog = read_po(po, locale=name, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@functools.cache
def wtforms_translations(locale: str) -> gnu_gettext.NullTranslations | None:
    """WTForms' own messages ("This field is required.") in `locale`; None for English."""
    name = _WTFORMS_NAMES.get(locale)
    return get_builtin_gnu_translations([name]) if name else None


def babel_locale(locale: str | None = None) -> Locale:
    """Babel's `Locale` for one of ours (date and number formats)."""
    return _babel_locale(locale or current_locale())


@functools.cache
def _babel_locale(locale: str) -> Locale:
    # Parsed once per locale: `Locale.parse` looks the locale data up each time.
    return Locale.parse(locale.replace("-", "_"))


def gettext(message: str, **variables: Any) -> str:
    """`message` in the current language, with `%(name)s` placeholders filled in."""
    translated = translations(current_locale()).gettext(message)
    return translated % variables if variables else translated


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The form of `singular`/`plural` for `num` in the current language; `%(num)d` too."""
    variables.setdefault("num", num)
    return translations(current_locale()).ngettext(singular, plural, num) % variables


def lazy_gettext(message: str, **variables: Any) -> LazyProxy:
    """`gettext` for text defined at import time (form labels): translated each time it is shown."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


# Templates' `_()`, `gettext()` and `ngettext()` (and `{% trans %}`, which calls
# them): what Jinja's "newstyle" gettext does (translate; in an autoescaped
# template, make it Markup, so that `%` escapes the values filled in), in one
# call. Jinja's own goes `_` -> `gettext` -> the translation function, each a
# trip through `Context.call`, then formats even a message without values:
# about 25,000 instructions a message, and a page shows 15-30 of them. A
# message without values comes from a cache, as its text depends only on it,
# the language and the escaping.
@pass_eval_context
def _template_gettext(eval_context: EvalContext, message: str, /, **variables: Any) -> str:
    if variables:
        return _template_text(message, current_locale(), eval_context.autoescape) % variables
    return _template_constant(message, current_locale(), eval_context.autoescape)


@pass_eval_context
def _template_ngettext(
    eval_context: EvalContext, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", num)
    translated = translations(current_locale()).ngettext(singular, plural, num)
    return _as_template_text(translated, eval_context.autoescape) % variables


@functools.lru_cache(maxsize=4096)
def _template_text(message: str, locale: str, autoescape: bool) -> str:
    return _as_template_text(translations(locale).gettext(message), autoescape)


def _as_template_text(translated: str, autoescape: bool) -> str:
    # A message is part of its template (the msgid is written there, its
    # translation is in our catalog): trusted HTML, as Jinja's gettext takes it.
    return Markup(translated) if autoescape else translated  # noqa: S704


@functools.lru_cache(maxsize=4096)
def _template_constant(message: str, locale: str, autoescape: bool) -> str:
    # Formatted with no values, as Jinja does (`%%` becomes `%`).
    return _template_text(message, locale, autoescape) % {}


def localized_time(value: datetime, format: str = "LLL") -> str:
    """A UTC timestamp as the page's language writes it: what readers without JavaScript see.

    `L`/`LL` are dates (Flask-Moment's names), anything else a date and time.
    """
    return _localized_time(value, format, current_locale())


def time_element(value: datetime, format: str = "LLL") -> Markup:
    """The `<time>` element of a timestamp: templates' `time()`, shown by static/flasky.js.

    The script writes it in the page's language and the reader's time zone;
    readers without JavaScript see `localized_time` (UTC, the page's language).
    """
    return _time_element(value, format, current_locale())


# A Python function rather than a template macro: a macro call is a dozen
# Jinja calls (its context, the filter, the escaping), for 20-50 per page.
@functools.lru_cache(maxsize=8192)
def _time_element(value: datetime, format: str, language: str) -> Markup:
    return Markup('<time datetime="{}" data-format="{}">{}</time>').format(
        isoformat(value), format, _localized_time(value, format, language)
    )


# Babel's formatting is a fifth of a list page's rendering; a post's timestamp
# never changes, so each (timestamp, format, language) is formatted once.
@functools.lru_cache(maxsize=8192)
def _localized_time(value: datetime, format: str, language: str) -> str:
    locale = babel_locale(language)
    if format == "L":
        return format_date(value, "medium", locale=locale)
    if format == "LL":
        return format_date(value, "long", locale=locale)
    return format_datetime(value, "long", tzinfo=UTC, locale=locale)


async def set_language() -> ResponseReturnValue:
    """`POST /language` (fields `lang`, `next`): remember the reader's language.

    The cookie holds it for every visitor; a signed-in user's choice is also
    saved on the account, so it follows them to another browser and decides
    the language of their mail.
    """
    # The auth package imports this module (its forms are translated).
    from .auth.redirects import safe_next

    form = await request.form
    locale = form.get("lang")
    if locale not in LOCALES:
        abort(400, gettext("Unknown language."))
    reader = getattr(request_user(), "reader", None)
    if reader is not None and reader.locale != locale:
        session = get_session()
        async with write_transaction(session):
            await session.execute(update(User).where(User.id == reader.id).values(locale=locale))
    target = safe_next(form.get("next")) or url_for("main.index")
    response: Response = redirect(target)  # type: ignore[assignment]
    response.set_cookie(
        COOKIE_NAME,
        locale,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_config().cookie_secure,
    )
    return response


def init_app(app: Quart) -> None:
    """Install Jinja's i18n extension, the per-request language and `POST /language`."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # `{% trans %}` compiled the "newstyle" way: it passes its values to `gettext`.
    app.jinja_env.newstyle_gettext = True  # type: ignore[attr-defined]
    app.jinja_env.globals.update(
        _=_template_gettext,
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        current_locale=current_locale,
        locales=LOCALES,
        localized_time=localized_time,
        time=time_element,
    )
    app.add_url_rule("/language", "set_language", set_language, methods=["POST"])

    @app.before_request
    async def _decide_locale() -> None:
        # Registered after service.identity's hook, so the signed-in user is known.
        g.locale_token = _request_locale.set(negotiate_locale())

    @app.teardown_request
    async def _forget_locale(_error: BaseException | None) -> None:
        # A request context pushed by hand (a test) shares its task with others.
        token = g.pop("locale_token", None)
        if token is not None:
            _request_locale.reset(token)
