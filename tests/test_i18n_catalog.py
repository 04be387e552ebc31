"""The Chinese catalog is complete: every marked string has a real translation.

The strings are extracted from the code and the templates exactly as
`make translations` does (babel.cfg, the same keywords), so a string added
anywhere and not translated fails here, as does a fuzzy entry (what `pybabel
update` leaves where an English text changed) or a translation whose
`%(name)s` placeholders or HTML tags differ from the English.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from service.i18n import TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
# The keywords `make translations` passes to pybabel, besides Babel's defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
TAG = re.compile(r"</?[a-z]+")


def extracted() -> dict[str, tuple[str, ...]]:
    """Every marked string of service/ and templates/: msgid -> (msgid, msgid_plural)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        forms = (message,) if isinstance(message, str) else tuple(m for m in message if m)
        if forms and forms[0]:
            found[forms[0]] = forms
    return found


def chinese_catalog() -> Catalog:
    with (TRANSLATIONS_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale="zh_CN")


def markup(text: str) -> Counter[str]:
    """What a translation must keep: its placeholders and HTML tags, with their counts."""
    return Counter(PLACEHOLDER.findall(text) + TAG.findall(text))


def problems(message: Message | None, forms: tuple[str, ...]) -> str | None:
    if message is None:
        return "missing"
    if message.fuzzy:
        return "fuzzy"
    strings = [
        str(s or "")
        for s in (message.string if isinstance(message.string, (tuple, list)) else [message.string])
    ]
    if not all(strings):
        return "untranslated"
    if isinstance(message.id, tuple) != (len(forms) > 1):
        return "singular/plural mismatch"
    english = markup(forms[-1])
    for string in strings:
        if markup(string) != english:
            return f"placeholders or tags differ: {dict(markup(string))} vs {dict(english)}"
    return None


def test_extraction_finds_the_strings() -> None:
    # Guards against a vacuous pass: a broken babel.cfg would extract nothing.
    found = extracted()
    assert "Log In" in found
    assert "Please log in to access this page." in found
    assert found["%(num)d Comment"] == ("%(num)d Comment", "%(num)d Comments")
    assert "Dear %(username)s," in found
    assert len(found) > 100


def test_every_marked_string_has_a_chinese_translation() -> None:
    catalog = chinese_catalog()
    failures = {
        msgid: problem
        for msgid, forms in sorted(extracted().items())
        if (problem := problems(catalog.get(msgid), forms))
    }
    assert not failures, "zh_CN catalog (run `make translations`, then translate):\n" + "\n".join(
        f"  {problem}: {msgid!r}" for msgid, problem in failures.items()
    )


def test_chinese_catalog_has_one_plural_form() -> None:
    catalog = chinese_catalog()
    assert catalog.num_plurals == 1
    assert catalog.plural_expr == "0"


@pytest.mark.parametrize(
    ("english", "chinese", "problem"),
    [
        ("Hello, %(name)s!", "你好！", "placeholders or tags differ"),
        ("Hello, %(name)s!", "你好，%(username)s！", "placeholders or tags differ"),
        ('Go <a href="%(url)s">here</a>.', "去%(url)s。", "placeholders or tags differ"),
        ("Log In", "", "untranslated"),
        ("Log In", "登录", None),
    ],
)
def test_the_check_itself_catches_bad_entries(
    english: str, chinese: str, problem: str | None
) -> None:
    message = Message(english, chinese)
    found = problems(message, (english,))
    assert (found or "").startswith(problem or "") and (found is None) == (problem is None)
    message.flags.add("fuzzy")
    assert problems(message, (english,)) == "fuzzy"
    assert problems(None, (english,)) == "missing"
