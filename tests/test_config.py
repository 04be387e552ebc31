"""Configuration from the environment."""

from __future__ import annotations

import subprocess
import sys

import pytest

from service.config import ConfigError, load_config
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
