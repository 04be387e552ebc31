"""Where a login may send the browser next: only to a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None.

    Browsers are lenient in ways an attacker can use: `//evil.example` and
    `/\\evil.example` both mean another host, and tabs or newlines inside a
    URL are dropped before it is parsed (`/\\t/evil.example`). So only a
    plain absolute path with no backslash and no control character passes.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
