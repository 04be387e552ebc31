"""Markdown to safe HTML: rendered with markdown-it, then sanitized with an allow-list.

markdown-it passes raw HTML through (`<img onerror=...>`), so sanitizing the
output is what makes it safe; it runs on write, and pages show the stored
`body_html`.

The cost of both steps depends on the input, not only on its length, so two
bounds keep ordinary worst cases cheap (requests render through
`service.render_pool`, which adds a time budget for the rest):

- markdown-it's `maxNesting` caps how deep blocks (quotes, lists) and inline
  markup nest; deeper content is left unparsed, as markdown-it always does;
- nh3 (html5ever) is quadratic in the depth of unclosed tags (`"<div>" * 20_000`
  took 6 s), so HTML whose tags would nest deeper than `MAX_HTML_NESTING` is
  refused with `TooComplex` before it reaches the sanitizer. No real post
  comes near it: a list nested as deep as markdown-it allows is 40 levels.

The functions here are synchronous and run where they are called: requests
use `service.render_pool`, trusted bulk work (`flasky fake`) calls them directly.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

POST_TAGS = {
    "a", "abbr", "acronym", "b", "blockquote", "code", "em", "i", "li", "ol",
    "pre", "strong", "ul", "h1", "h2", "h3", "p",
}  # fmt: skip
COMMENT_TAGS = {"a", "abbr", "acronym", "b", "code", "em", "i", "strong"}
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "acronym": {"title"}}
URL_SCHEMES = {"http", "https", "mailto"}

# markdown-it's own guard (the commonmark preset's value, stated here on purpose).
MAX_NESTING = 20
# How deep open HTML tags may nest in markdown-it's output before nh3 sees it.
MAX_HTML_NESTING = 100
TOO_COMPLEX = "This text is too complex to display."

# Elements that never have content, so they open no level.
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta",
     "param", "source", "track", "wbr"}
)  # fmt: skip
# A start or end tag; markdown-it escapes every `<` of plain text, so what
# matches here is markup (markdown-it's own or raw HTML from the author).
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")

_markdown = MarkdownIt(
    "commonmark", {"linkify": False, "typographer": False, "maxNesting": MAX_NESTING}
)


class TooComplex(ValueError):
    """The text would cost too much to render; the user sees `TOO_COMPLEX`."""

    def __init__(self, message: str = TOO_COMPLEX) -> None:
        super().__init__(message)


def html_nesting(html: str) -> int:
    """The deepest nesting of open tags in `html`, counting unclosed ones as open.

    A linear scan that over-counts rather than under-counts: implied end tags
    (`<p>` after `<p>`) count as nesting, as they cost html5ever work as well.
    """
    depth = deepest = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.groups()
        if closing:
            depth = max(depth - 1, 0)
        elif not self_closing and name.lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _sanitize(html: str, tags: set[str]) -> str:
    if html_nesting(html) > MAX_HTML_NESTING:
        raise TooComplex()
    return nh3.clean(
        html,
        tags=tags,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener",
    ).strip()


def render_post(body: str) -> str:
    """A post's HTML; raises `TooComplex` for HTML nested beyond `MAX_HTML_NESTING`."""
    return _sanitize(_markdown.render(body), POST_TAGS)


def render_comment(body: str) -> str:
    """A comment's HTML (inline tags only); raises `TooComplex` like `render_post`."""
    return _sanitize(_markdown.render(body), COMMENT_TAGS)
