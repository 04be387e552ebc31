"""Markdown to safe HTML: rendered with markdown-it, then sanitized with an allow-list.

markdown-it passes raw HTML through (`<img onerror=...>`), so sanitizing the
output is what makes it safe; it runs on write, and pages show the stored
`body_html`.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

POST_TAGS = {
    "a", "abbr", "acronym", "b", "blockquote", "code", "em", "i", "li", "ol",
    "pre", "strong", "ul", "h1", "h2", "h3", "p",
}  # fmt: skip
COMMENT_TAGS = {"a", "abbr", "acronym", "b", "code", "em", "i", "strong"}
ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "acronym": {"title"}}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"linkify": False, "typographer": False})


def _sanitize(html: str, tags: set[str]) -> str:
    return nh3.clean(
        html,
        tags=tags,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener",
    ).strip()


def render_post(body: str) -> str:
    return _sanitize(_markdown.render(body), POST_TAGS)


def render_comment(body: str) -> str:
    return _sanitize(_markdown.render(body), COMMENT_TAGS)
