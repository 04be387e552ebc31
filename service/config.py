"""Settings, read once from the environment.

One class per environment; `load_config()` picks it by `FLASKY_CONFIG`. Every
setting the operator can change is named in the README's configuration table.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any

from quart import current_app

from .paths import INSTANCE_DIR


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the app can run with."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {value!r}")


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {value!r}") from None


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

    name: str
    secret_key: str
    database_url: str
    admin_email: str | None = None
    mail_server: str | None = None
    mail_port: int = 25
    mail_use_tls: bool = False
    mail_use_ssl: bool = False
    mail_username: str | None = None
    mail_password: str | None = None
    mail_sender: str = "Flasky Admin <flasky@example.com>"
    mail_subject_prefix: str = "[Flasky]"
    posts_per_page: int = 20
    followers_per_page: int = 50
    comments_per_page: int = 30
    slow_db_query_time: float = 0.5
    cookie_secure: bool = False
    avatars: str = "local"
    login_max_failures: int = 5
    login_window: int = 900
    trusted_proxies: int = 0
    max_content_length: int = 1024 * 1024
    base_url: str | None = None
    # Argon2id cost; production keeps argon2-cffi's RFC 9106 "low memory" profile.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    testing: bool = False
    debug: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

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


def load_config(name: str | None = None, **overrides: Any) -> Config:
    """Build the configuration named by `name` or `FLASKY_CONFIG` from the environment."""
    name = name or _env("FLASKY_CONFIG", "development")
    if name not in {"development", "testing", "production"}:
        raise ConfigError(f"FLASKY_CONFIG must be development, testing or production, not {name!r}")
    production = name == "production"
    secret_key = _env("SECRET_KEY")
    if secret_key is None:
        if production:
            raise ConfigError(
                "SECRET_KEY is not set. Production refuses to start without it: set "
                'SECRET_KEY to a long random value, e.g. python -c "import secrets; '
                'print(secrets.token_urlsafe(48))"'
            )
        secret_key = secrets.token_urlsafe(48) if name == "testing" else _development_secret_key()
    avatars = _env("FLASKY_AVATARS", "local")
    if avatars not in {"local", "gravatar"}:
        raise ConfigError(f"FLASKY_AVATARS must be local or gravatar, not {avatars!r}")
    base_url = _env("FLASKY_BASE_URL")
    values: dict[str, Any] = {
        "name": name,
        "secret_key": secret_key,
        "database_url": _env("DATABASE_URL", default_database_url()),
        "admin_email": (_env("FLASKY_ADMIN") or "").strip().lower() or None,
        "mail_server": _env("MAIL_SERVER"),
        "mail_port": _env_int("MAIL_PORT", 25),
        "mail_use_tls": _env_bool("MAIL_USE_TLS", False),
        "mail_use_ssl": _env_bool("MAIL_USE_SSL", False),
        "mail_username": _env("MAIL_USERNAME"),
        "mail_password": _env("MAIL_PASSWORD"),
        "mail_sender": _env("FLASKY_MAIL_SENDER", "Flasky Admin <flasky@example.com>"),
        "mail_subject_prefix": _env("FLASKY_MAIL_SUBJECT_PREFIX", "[Flasky]"),
        "posts_per_page": _env_int("FLASKY_POSTS_PER_PAGE", 20),
        "followers_per_page": _env_int("FLASKY_FOLLOWERS_PER_PAGE", 50),
        "comments_per_page": _env_int("FLASKY_COMMENTS_PER_PAGE", 30),
        "slow_db_query_time": _env_float("FLASKY_SLOW_DB_QUERY_TIME", 0.5),
        "cookie_secure": _env_bool("FLASKY_COOKIE_SECURE", production),
        "avatars": avatars,
        "login_max_failures": _env_int("FLASKY_LOGIN_MAX_FAILURES", 5),
        "login_window": _env_int("FLASKY_LOGIN_WINDOW", 900),
        "trusted_proxies": _env_int("FLASKY_TRUSTED_PROXIES", 0),
        "max_content_length": _env_int("FLASKY_MAX_CONTENT_LENGTH", 1024 * 1024),
        "base_url": base_url.rstrip("/") if base_url else None,
        "testing": name == "testing",
        "debug": name == "development",
    }
    if name == "testing":
        # Tests hash hundreds of passwords; the algorithm stays Argon2id.
        values.update(argon2_time_cost=1, argon2_memory_cost=8192)
    values.update(overrides)
    return Config(**values)


def current_config() -> Config:
    """The validated configuration of the app handling this request."""
    config: Config = current_app.extensions["flasky_config"]
    return config
