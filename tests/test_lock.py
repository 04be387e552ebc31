"""The environment the suite runs in is exactly the one `requirements.lock` pins."""

from __future__ import annotations

import re
from importlib import metadata

from tests.conftest import ROOT

# Installer machinery that virtual environments bring with them; the lock pins
# what the project and its tests import, not the tools that installed them.
_INSTALLER = {"pip", "setuptools", "wheel", "flasky-async"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {_normalise(name): version for name, version in _PIN.findall(text)}


def _installed() -> dict[str, str]:
    found = {_normalise(d.metadata["Name"]): d.version for d in metadata.distributions()}
    return {name: version for name, version in found.items() if name not in _INSTALLER}


def test_lock_pins_every_installed_package_at_its_installed_version() -> None:
    locked, installed = _locked(), _installed()
    differ = {
        name: (version, locked.get(name))
        for name, version in installed.items()
        if locked.get(name) != version
    }
    assert differ == {}, "installed (version, locked version) that differ from the lock"


def test_every_locked_package_is_installed() -> None:
    locked, installed = _locked(), _installed()
    assert sorted(set(locked) - set(installed)) == []


def test_every_pin_carries_hashes() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements.lock").read_text())
    pins = [entry for entry in entries if _PIN.match(entry)]
    assert pins, "the lock pins nothing"
    assert [entry.split()[0] for entry in pins if "--hash=sha256:" not in entry] == []
