"""Translations: the functions that mark and translate user-visible text.

Python code marks strings with `gettext` (imported as `_`), `ngettext` and,
where the text is needed before a request exists (form labels), `lazy_gettext`;
templates use `_()`, `ngettext()` and `{% trans %}` from Jinja's i18n extension.
"""

from __future__ import annotations

from typing import Any

from quart import Quart


def gettext(message: str, **variables: Any) -> str:
    """`message` in the page's language, with `%(name)s` placeholders filled in."""
    return message % variables if variables else message


def ngettext(singular: str, plural: str, num: int, **variables: Any) -> str:
    """The form of `singular`/`plural` for `num`; `%(num)d` is filled in too."""
    variables.setdefault("num", num)
    return (singular if num == 1 else plural) % variables


def lazy_gettext(message: str, **variables: Any) -> str:
    """`gettext` for text defined at import time (form labels); translated when shown."""
    return gettext(message, **variables)


def init_app(app: Quart) -> None:
    """Install Jinja's i18n extension with our translation functions."""
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
