"""Two-factor helpers for tests: a frozen TOTP clock, turning it on through the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyotp
import pytest

from service import two_factor

from .fixtures import Client, Submit, read_html

# A moment inside a 30-second step, so that +-15 s stays within it.
START = 1_800_000_015.0
SECRET_RE = re.compile(r'<code id="two-factor-secret">([A-Z2-7]+)</code>')
RECOVERY_RE = re.compile(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>")


@dataclass
class Clock:
    """The time TOTP codes are checked against; `advance` moves it."""

    now: float = START

    def advance(self, seconds: float) -> None:
        self.now += seconds


def freeze(monkeypatch: pytest.MonkeyPatch, at: float = START) -> Clock:
    clock = Clock(at)
    monkeypatch.setattr(two_factor, "clock", lambda: clock.now)
    return clock


def code(secret: str, clock: Clock, offset: float = 0) -> str:
    """The app's code at the clock's time plus `offset` seconds."""
    return pyotp.TOTP(secret).at(clock.now + offset)


@dataclass(frozen=True)
class Enabled:
    secret: str
    recovery_codes: list[str]


async def read_secret(client: Client) -> str:
    html = await read_html(await client.get("/auth/two-factor"), status=200)
    match = SECRET_RE.search(html)
    assert match is not None, "no secret on the setup page"
    return match.group(1)


async def enable(client: Client, submit: Submit, clock: Clock) -> Enabled:
    """Turn two-factor on for the signed-in client, as a person would; then move past that code."""
    secret = await read_secret(client)
    response = await submit(client, "/auth/two-factor", {"code": code(secret, clock)})
    codes = RECOVERY_RE.findall(await read_html(response, status=200))
    assert len(codes) == 10
    clock.advance(30)
    return Enabled(secret, codes)
