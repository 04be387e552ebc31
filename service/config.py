"""Settings, read once from the environment and checked before the app starts.

Each setting is declared once, as a field of `Config`: its environment
variable, default, type (the field's annotation), allowed range or choices, and
the one-line meaning the README's configuration table shows. One loop reads
them all (`load_config`), one loop checks them all (`Config.__post_init__`, so
a value given in code is held to the same rules as one from the environment),
and `configuration_table()` prints the README's table from the same
declarations.

Why a small loop over dataclass fields rather than pydantic-settings: the
settings are a flat list of scalars, the messages must name the environment
variable in the operator's words (pydantic's name the field and its error
type), and the environment-dependent defaults (the secret key, `Secure`
cookies in production, the testing Argon2 cost) are plain code here. Fifty
lines of loop cost less to read than a dependency and its conventions.

A value out of range is refused at start-up with a `ConfigError` naming the
variable, never discovered later as a 500 (a page size of 0 divided by zero).
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints
from urllib.parse import urlsplit

from quart import current_app

from .paths import INSTANCE_DIR


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the app can run with."""


CONFIG_NAMES = ("development", "testing", "production")
# A worker's PostgreSQL pool, also `service.db.make_engine`'s default (the reason is there).
POSTGRES_POOL_SIZE = 15
POSTGRES_MAX_OVERFLOW = 0
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    """How one `Config` field is set from the environment, and what it may hold."""

    variable: str
    meaning: str
    shown_default: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    # Returns what is wrong with a value, or None; for rules a range cannot say.
    check: Callable[[Any], str | None] | None = None
    # Applied to the text read from the environment, before the checks.
    clean: Callable[[str], Any] | None = None
    allowed: str | None = None


def setting(
    variable: str,
    meaning: str,
    default: Any = None,
    *,
    shown_default: str | None = None,
    required: bool = False,
    **rules: Any,
) -> Any:
    """A dataclass field declared with its environment variable and its rules.

    Typed `Any` like `dataclasses.field`, so `posts_per_page: int = setting(...)`
    type-checks as an `int` field.
    """
    shown = shown_default if shown_default is not None else _show(default)
    declared = Setting(variable, meaning, shown, **rules)
    if required:
        return field(metadata={"setting": declared})
    return field(default=default, metadata={"setting": declared})


def _show(value: Any) -> str:
    """A default as the README shows it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"`{value}`"
    return str(value)


def _base_url_problem(value: str) -> str | None:
    """Links in e-mails are the base URL plus a path: anything else would garble them."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "must be an http(s) URL like https://blog.example.com"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "must be an http(s) URL with a host, like https://blog.example.com"
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return "must be only a scheme and host (and port), with no path, query or credentials"
    return None


def _development_secret_key() -> str:
    """A random key kept in `instance/`, so development sessions survive restarts."""
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def default_database_url() -> str:
    return f"sqlite+aiosqlite:///{INSTANCE_DIR / 'flasky.sqlite'}"


@dataclass(frozen=True)
class Config:
    """Everything the app reads from the environment, validated."""

    name: str = setting(
        "FLASKY_CONFIG",
        "the environment the app runs in: production refuses to start without `SECRET_KEY`",
        required=True,
        shown_default="`development`",
        choices=CONFIG_NAMES,
    )
    secret_key: str = setting(
        "SECRET_KEY",
        "signs cookies and tokens",
        required=True,
        shown_default=(
            "production: required (start-up fails with a clear message); "
            "development: a random key kept in `instance/secret_key`"
        ),
        allowed="text",
    )
    database_url: str = setting(
        "DATABASE_URL",
        "SQLAlchemy URL; plain `sqlite:///…` and `postgresql://…` are mapped to aiosqlite/asyncpg",
        required=True,
        shown_default="`sqlite+aiosqlite:///instance/flasky.sqlite` (in the checkout)",
        allowed="a database URL",
    )
    database_pool_size: int = setting(
        "DATABASE_POOL_SIZE",
        "PostgreSQL connections each worker process keeps once opened (ignored for SQLite)",
        POSTGRES_POOL_SIZE,
        low=1,
        high=1000,
    )
    database_max_overflow: int = setting(
        "DATABASE_MAX_OVERFLOW",
        "PostgreSQL connections a worker may open beyond the pool under a burst, closed after",
        POSTGRES_MAX_OVERFLOW,
        low=0,
        high=1000,
    )
    admin_email: str | None = setting(
        "FLASKY_ADMIN",
        "e-mail address that gets the Administrator role when it registers",
        clean=lambda text: text.strip().lower() or None,
        allowed="an e-mail address",
    )
    mail_server: str | None = setting(
        "MAIL_SERVER",
        "SMTP server for outgoing mail",
        shown_default="none: messages are logged",
        allowed="a host name",
    )
    mail_port: int = setting("MAIL_PORT", "SMTP port", 25, low=1, high=65535)
    mail_use_tls: bool = setting(
        "MAIL_USE_TLS", "upgrade the SMTP connection with STARTTLS (not with `MAIL_USE_SSL`)", False
    )
    mail_use_ssl: bool = setting(
        "MAIL_USE_SSL", "connect to the SMTP server over TLS (not with `MAIL_USE_TLS`)", False
    )
    mail_username: str | None = setting("MAIL_USERNAME", "SMTP user name", allowed="text")
    mail_password: str | None = setting("MAIL_PASSWORD", "SMTP password", allowed="text")
    mail_sender: str = setting(
        "FLASKY_MAIL_SENDER", "From: of the app's mails", "Flasky Admin <flasky@example.com>"
    )
    mail_subject_prefix: str = setting(
        "FLASKY_MAIL_SUBJECT_PREFIX", "prefix of the app's mail subjects", "[Flasky]"
    )
    posts_per_page: int = setting("FLASKY_POSTS_PER_PAGE", "posts on a page", 20, low=1, high=1000)
    followers_per_page: int = setting(
        "FLASKY_FOLLOWERS_PER_PAGE", "followers on a page", 50, low=1, high=1000
    )
    comments_per_page: int = setting(
        "FLASKY_COMMENTS_PER_PAGE", "comments on a page", 30, low=1, high=1000
    )
    slow_db_query_time: float = setting(
        "FLASKY_SLOW_DB_QUERY_TIME",
        "seconds; slower queries are logged with their statement",
        0.5,
        low=0,
    )
    cookie_secure: bool = setting(
        "FLASKY_COOKIE_SECURE",
        "`Secure` flag on cookies",
        False,
        shown_default="true in production, false otherwise",
    )
    avatars: str = setting(
        "FLASKY_AVATARS",
        "`local` (identicons drawn by the app; no third party sees the reader) or `gravatar`",
        "local",
        choices=("local", "gravatar"),
    )
    login_max_failures: int = setting(
        "FLASKY_LOGIN_MAX_FAILURES",
        "failed logins allowed per account and client address within the window",
        5,
        low=1,
    )
    login_window: int = setting(
        "FLASKY_LOGIN_WINDOW",
        "the failed-login window, in seconds",
        900,
        low=1,
        high=365 * 24 * 3600,
    )
    trusted_proxies: int = setting(
        "FLASKY_TRUSTED_PROXIES",
        "how many reverse proxies in front may set `X-Forwarded-For`/`-Proto`",
        0,
        low=0,
        high=100,
    )
    max_content_length: int = setting(
        "FLASKY_MAX_CONTENT_LENGTH",
        "largest request body in bytes; larger ones get 413",
        1024 * 1024,
        low=1024,
    )
    base_url: str | None = setting(
        "FLASKY_BASE_URL",
        "scheme and host for links in e-mails (the request's Host header is never used when set)",
        shown_default="none: the request's host",
        check=_base_url_problem,
        clean=lambda text: text.strip().rstrip("/"),
        allowed="an http(s) URL with a host and no path",
    )
    default_locale: str = setting(
        "FLASKY_DEFAULT_LOCALE",
        "language of the pages for readers who chose none and whose browser asks for neither "
        "`en` nor `zh-CN`",
        "en",
        choices=("en", "zh-CN"),
    )
    # Argon2id cost; production keeps argon2-cffi's RFC 9106 "low memory" profile.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    testing: bool = False
    debug: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse a value no part of the app can work with, naming its variable."""
        for name, declared, kind in _declared():
            problem = _problem(declared, kind, getattr(self, name))
            if problem:
                raise ConfigError(f"{declared.variable} {problem}")
        if self.mail_use_tls and self.mail_use_ssl:
            raise ConfigError(
                "MAIL_USE_TLS and MAIL_USE_SSL are both true: choose one (STARTTLS on a plain "
                "port, usually 587, or TLS from the start, usually 465)"
            )

    def quart_settings(self) -> dict[str, Any]:
        """The subset Quart and its extensions read from `app.config`."""
        return {
            "SECRET_KEY": self.secret_key,
            "TESTING": self.testing,
            "DEBUG": self.debug,
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "MAX_FORM_MEMORY_SIZE": self.max_content_length,
            "SESSION_COOKIE_NAME": "flasky_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.cookie_secure,
            "QUART_AUTH_COOKIE_NAME": "flasky_auth",
            "QUART_AUTH_COOKIE_HTTP_ONLY": True,
            "QUART_AUTH_COOKIE_SAMESITE": "Lax",
            "QUART_AUTH_COOKIE_SECURE": self.cookie_secure,
            # "Remember me" lasts 30 days; a plain login writes a browser-session
            # cookie, and quart-auth checks this age for both.
            "QUART_AUTH_DURATION": 30 * 24 * 60 * 60,
            "QUART_AUTH_SALT": "flasky-auth",
            "SEND_FILE_MAX_AGE_DEFAULT": 3600,
            **self.extra,
        }


def _declared() -> Iterator[tuple[str, Setting, type]]:
    """Each declared setting: its field name, its declaration, and its value type."""
    hints = get_type_hints(Config)
    for each in fields(Config):
        declared = each.metadata.get("setting")
        if declared is not None:
            kind = hints[each.name]
            # `str | None` is a `str` setting that may be unset.
            kinds = [k for k in getattr(kind, "__args__", (kind,)) if k is not type(None)]
            yield each.name, declared, kinds[0]


def declared_settings() -> list[Setting]:
    """Every setting the operator can change, in the order the README lists them."""
    return [declared for _, declared, _ in _declared()]


def _problem(declared: Setting, kind: type, value: Any) -> str | None:
    """What is wrong with `value` for this setting, in words for the operator, or None."""
    if value is None:
        return None
    if kind is bool:
        return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, not {value!r}"
        if kind is int and not isinstance(value, int):
            return f"must be a whole number, not {value!r}"
        low = -math.inf if declared.low is None else declared.low
        high = math.inf if declared.high is None else declared.high
        # Written so that NaN fails too.
        if not low <= value <= high:
            return f"must be {_range_text(declared)}, not {value!r}"
        return None
    if not isinstance(value, str):
        return f"must be text, not {value!r}"
    if declared.choices and value not in declared.choices:
        return f"must be {_choices_text(declared.choices)}, not {value!r}"
    return declared.check(value) if declared.check else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _range_text(declared: Setting) -> str:
    low, high = declared.low, declared.high
    if low is not None and high is not None:
        return f"between {_number(low)} and {_number(high)}"
    if low is not None:
        return f"at least {_number(low)}"
    return f"at most {_number(high)}" if high is not None else "a number"


def _choices_text(choices: tuple[str, ...]) -> str:
    return ", ".join(choices[:-1]) + " or " + choices[-1] if len(choices) > 1 else choices[0]


def _env(name: str) -> str | None:
    """The variable's value; an empty one counts as unset, as most shells write it."""
    value = os.environ.get(name)
    return value if value not in (None, "") else None


def _parse(declared: Setting, kind: type, text: str) -> Any:
    """The environment's text as the setting's type; range checks come later."""
    if declared.clean is not None:
        return declared.clean(text)
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ConfigError(f"{declared.variable} must be true or false, not {text!r}")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{declared.variable} must be a whole number, not {text!r}") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{declared.variable} must be a number, not {text!r}") from None
    return text


def load_config(name: str | None = None, **overrides: Any) -> Config:
    """Build the configuration named by `name` or `FLASKY_CONFIG` from the environment.

    `overrides` (field names) win over the environment and are checked the same way.
    """
    name = name or _env("FLASKY_CONFIG") or "development"
    if name not in CONFIG_NAMES:
        raise ConfigError(f"FLASKY_CONFIG must be {_choices_text(CONFIG_NAMES)}, not {name!r}")
    production = name == "production"
    values: dict[str, Any] = {"name": name}
    for field_name, declared, kind in _declared():
        text = _env(declared.variable)
        if field_name != "name" and text is not None:
            values[field_name] = _parse(declared, kind, text)
    values.update(overrides)

    # Defaults that depend on the environment the app runs in.
    if values.get("secret_key") is None:
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. Production refuses to start without it: set "
                'SECRET_KEY to a long random value, e.g. python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"'
            )
        values["secret_key"] = (
            secrets.token_urlsafe(48) if name == "testing" else _development_secret_key()
        )
    values.setdefault("database_url", default_database_url())
    values.setdefault("cookie_secure", production)
    values.setdefault("testing", name == "testing")
    values.setdefault("debug", name == "development")
    if name == "testing":
        # Tests hash hundreds of passwords; the algorithm stays Argon2id.
        values.setdefault("argon2_time_cost", 1)
        values.setdefault("argon2_memory_cost", 8192)
    return Config(**values)


def _allowed_text(declared: Setting, kind: type) -> str:
    if declared.allowed is not None:
        return declared.allowed
    if declared.choices:
        return ", ".join(f"`{choice}`" for choice in declared.choices)
    if kind is bool:
        return "true or false"
    if kind in (int, float):
        unit = "whole number" if kind is int else "number"
        low, high = declared.low, declared.high
        if low is not None and high is not None:
            return f"{unit}, {_number(low)} to {_number(high)}"
        if low is not None:
            return f"{unit} ≥ {_number(low)}"
        return f"{unit} ≤ {_number(high)}" if high is not None else unit
    return "text"


def configuration_table() -> str:
    """The README's configuration table, in Markdown, from the declarations.

    Regenerate the README's table with
    `python -c "from service.config import configuration_table as t; print(t())"`.
    """
    lines = ["| variable | meaning | allowed | default |", "| --- | --- | --- | --- |"]
    for _, declared, kind in _declared():
        cells = [f"`{declared.variable}`", declared.meaning, _allowed_text(declared, kind)]
        lines.append("| " + " | ".join([*cells, declared.shown_default]) + " |")
    return "\n".join(lines)


def current_config() -> Config:
    """The validated configuration of the app handling this request."""
    config: Config = current_app.extensions["flasky_config"]
    return config
