"""Configuration from the environment."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from service.config import (
    ConfigError,
    configuration_table,
    declared_settings,
    default_database_url,
    load_config,
)
from tests.conftest import ROOT


def test_production_refuses_to_start_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config("production")


def test_production_start_up_failure_is_a_clear_message() -> None:
    env = {"PATH": "", "FLASKY_CONFIG": "production"}
    result = subprocess.run(
        [sys.executable, "-c", "import service.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_defaults_are_secure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    config = load_config("production")
    assert config.cookie_secure is True
    assert config.debug is False
    settings = config.quart_settings()
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["QUART_AUTH_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["QUART_AUTH_DURATION"] == 30 * 24 * 3600


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASKY_POSTS_PER_PAGE", "7")
    monkeypatch.setenv("FLASKY_ADMIN", "Boss@Example.COM")
    monkeypatch.setenv("FLASKY_COOKIE_SECURE", "true")
    monkeypatch.setenv("FLASKY_BASE_URL", "https://blog.example.com/")
    monkeypatch.setenv("FLASKY_MAX_CONTENT_LENGTH", "2048")
    config = load_config("development")
    assert config.posts_per_page == 7
    assert config.admin_email == "boss@example.com"
    assert config.cookie_secure is True
    assert config.base_url == "https://blog.example.com"
    assert config.quart_settings()["MAX_CONTENT_LENGTH"] == 2048


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLASKY_CONFIG", "staging"),
        ("FLASKY_POSTS_PER_PAGE", "many"),
        ("FLASKY_COOKIE_SECURE", "perhaps"),
        ("FLASKY_AVATARS", "robohash"),
    ],
)
def test_bad_values_are_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_config()


def test_development_keeps_a_random_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config("development").secret_key
    assert len(first) >= 40
    assert load_config("development").secret_key == first


DECLARED = [declared.variable for declared in declared_settings()]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No declared variable set, whatever the environment the suite runs in."""
    for variable in DECLARED:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FLASKY_POSTS_PER_PAGE", "0"),
        ("FLASKY_POSTS_PER_PAGE", "-5"),
        ("FLASKY_POSTS_PER_PAGE", "1001"),
        ("FLASKY_FOLLOWERS_PER_PAGE", "0"),
        ("FLASKY_COMMENTS_PER_PAGE", "0"),
        ("FLASKY_COMMENTS_PER_PAGE", "100000"),
        ("MAIL_PORT", "0"),
        ("MAIL_PORT", "65536"),
        ("MAIL_PORT", "smtp"),
        ("MAIL_USE_TLS", "maybe"),
        ("MAIL_USE_SSL", "2"),
        ("FLASKY_LOGIN_MAX_FAILURES", "0"),
        ("FLASKY_LOGIN_WINDOW", "0"),
        ("FLASKY_LOGIN_WINDOW", "99999999999999"),
        ("FLASKY_TRUSTED_PROXIES", "-1"),
        ("FLASKY_MAX_CONTENT_LENGTH", "1023"),
        ("FLASKY_MAX_CONTENT_LENGTH", "1.5"),
        ("FLASKY_SLOW_DB_QUERY_TIME", "-0.1"),
        ("FLASKY_SLOW_DB_QUERY_TIME", "nan"),
        ("FLASKY_BASE_URL", "blog.example.com"),
        ("FLASKY_BASE_URL", "ftp://blog.example.com"),
        ("FLASKY_BASE_URL", "https://"),
        ("FLASKY_BASE_URL", "https://blog.example.com/flasky"),
        ("FLASKY_BASE_URL", "https://blog.example.com?next=/"),
        ("FLASKY_BASE_URL", "https://user:secret@blog.example.com"),
        ("FLASKY_BASE_URL", "https://blog.example.com:99999"),
        ("FLASKY_AVATARS", "Local"),
        ("FLASKY_CONFIG", "prod"),
    ],
)
def test_values_out_of_range_are_refused_by_name(
    clean_environment: pytest.MonkeyPatch, name: str, value: str
) -> None:
    clean_environment.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"^{name} must be "):
        load_config()


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("FLASKY_POSTS_PER_PAGE", "1", "posts_per_page", 1),
        ("FLASKY_POSTS_PER_PAGE", "1000", "posts_per_page", 1000),
        ("MAIL_PORT", "65535", "mail_port", 65535),
        ("MAIL_PORT", "1", "mail_port", 1),
        ("FLASKY_LOGIN_MAX_FAILURES", "1", "login_max_failures", 1),
        ("FLASKY_LOGIN_WINDOW", "1", "login_window", 1),
        ("FLASKY_TRUSTED_PROXIES", "0", "trusted_proxies", 0),
        ("FLASKY_MAX_CONTENT_LENGTH", "1024", "max_content_length", 1024),
        ("FLASKY_SLOW_DB_QUERY_TIME", "0", "slow_db_query_time", 0.0),
        ("FLASKY_BASE_URL", "http://127.0.0.1:5000", "base_url", "http://127.0.0.1:5000"),
        ("FLASKY_BASE_URL", "https://blog.example.com/", "base_url", "https://blog.example.com"),
        ("MAIL_USE_SSL", "yes", "mail_use_ssl", True),
    ],
)
def test_values_at_the_edges_of_their_range_are_accepted(
    clean_environment: pytest.MonkeyPatch, name: str, value: str, field: str, expected: object
) -> None:
    clean_environment.setenv(name, value)
    assert getattr(load_config(), field) == expected


def test_tls_and_ssl_together_are_refused(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("MAIL_USE_TLS", "true")
    clean_environment.setenv("MAIL_USE_SSL", "true")
    with pytest.raises(ConfigError, match="MAIL_USE_TLS and MAIL_USE_SSL are both true"):
        load_config()


def test_values_given_in_code_are_checked_like_the_environment(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match=r"^FLASKY_POSTS_PER_PAGE must be between 1 and 1000"):
        load_config("testing", posts_per_page=0)
    config = load_config("testing")
    with pytest.raises(ConfigError, match=r"^MAIL_PORT must be"):
        dataclasses.replace(config, mail_port=70000)
    with pytest.raises(ConfigError, match=r"^FLASKY_LOGIN_WINDOW must be a whole number"):
        dataclasses.replace(config, login_window=1.5)  # type: ignore[arg-type]


def test_defaults_are_unchanged(clean_environment: pytest.MonkeyPatch) -> None:
    config = load_config("development")
    assert {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in {"secret_key", "database_url", "extra"}
    } == {
        "name": "development",
        "admin_email": None,
        "database_pool_size": 15,
        "database_max_overflow": 0,
        "mail_server": None,
        "mail_port": 25,
        "mail_use_tls": False,
        "mail_use_ssl": False,
        "mail_username": None,
        "mail_password": None,
        "mail_sender": "Flasky Admin <flasky@example.com>",
        "mail_subject_prefix": "[Flasky]",
        "posts_per_page": 20,
        "followers_per_page": 50,
        "comments_per_page": 30,
        "slow_db_query_time": 0.5,
        "cookie_secure": False,
        "avatars": "local",
        "default_locale": "en",
        "login_max_failures": 5,
        "login_window": 900,
        "trusted_proxies": 0,
        "max_content_length": 1024 * 1024,
        "base_url": None,
        "argon2_time_cost": 3,
        "argon2_memory_cost": 65536,
        "testing": False,
        "debug": True,
    }
    assert config.database_url == default_database_url()
    testing = load_config("testing")
    assert (testing.argon2_time_cost, testing.argon2_memory_cost) == (1, 8192)
    assert (testing.testing, testing.debug, testing.cookie_secure) == (True, False, False)
    assert len(testing.secret_key) >= 40
    clean_environment.setenv("SECRET_KEY", "x" * 40)
    production = load_config("production")
    assert (production.cookie_secure, production.debug, production.testing) == (True, False, False)
    assert (production.argon2_time_cost, production.argon2_memory_cost) == (3, 65536)


def test_hypercorn_refuses_to_start_with_a_setting_out_of_range() -> None:
    env = {"PATH": "", "FLASKY_CONFIG": "testing", "FLASKY_POSTS_PER_PAGE": "0"}
    result = subprocess.run(
        [sys.executable, "-m", "hypercorn", "-b", "127.0.0.1:0", "service.asgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert (
        "Flasky cannot start: FLASKY_POSTS_PER_PAGE must be between 1 and 1000, not 0"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def _readme_configuration_rows() -> dict[str, list[str]]:
    """The README's configuration table: variable to its other cells."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows]
    return {first.strip("`"): rest for first, *rest in cells}


def test_readme_table_lists_every_declared_setting_with_its_default() -> None:
    rows = _readme_configuration_rows()
    assert sorted(rows) == sorted(DECLARED)
    for declared in declared_settings():
        assert rows[declared.variable][-1] == declared.shown_default, declared.variable
    readme = (ROOT / "README.md").read_text()
    assert configuration_table() in readme, "regenerate the README's table (see service/config.py)"
