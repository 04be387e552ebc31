"""Atom 1.0 feeds of posts, built with an XML serializer, and their conditional GETs.

The XML comes from `xml.etree.ElementTree`, which escapes every text and
attribute it writes: no user text is ever pasted into markup. A post's HTML
(`body_html`, already sanitized) travels as the escaped text of
`<content type="html">`, as RFC 4287 defines it, so even a `<script>` that
got past the sanitizer would be text in the feed, never an element.

Entry ids are `urn:uuid:` names derived from the post's id and its creation
time. They depend neither on `FLASKY_BASE_URL` nor on the host a request
names (development has no base URL, and the same site answers as
`localhost` and `127.0.0.1`), so a feed reader never sees a post twice; the
creation time keeps two installations' post 7 apart. Links are absolute,
built like the links in e-mails (`service.email.absolute_url`).
"""

from __future__ import annotations

import hashlib
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser

from quart import Response, request

from .email import absolute_url
from .models import Post

ATOM = "http://www.w3.org/2005/Atom"
CONTENT_TYPE = "application/atom+xml; charset=utf-8"
LENGTH = 20
TITLE_LENGTH = 60
# The namespace of every entry id; fixed forever, or every reader sees every post again.
ENTRY_NAMESPACE = uuid.UUID("6f1d3c52-8a0e-4f5b-9b8e-2c7a4d9e1f30")
# An empty feed still needs an `updated`: the epoch, so its ETag does not change.
EPOCH = datetime.fromtimestamp(0, UTC)
# Characters XML 1.0 cannot carry at all, not even escaped; posts may contain them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_BLOCKS = frozenset({"p", "li", "h1", "h2", "h3", "blockquote", "pre", "ul", "ol", "br"})


@dataclass(frozen=True)
class Feed:
    """What a feed says about itself; its entries are posts (authors loaded)."""

    id: str
    title: str
    self_url: str
    page_url: str
    posts: Sequence[Post]
    # When there are no posts to date the feed by.
    updated_without_posts: datetime = EPOCH

    @property
    def updated(self) -> datetime:
        return max((post.timestamp for post in self.posts), default=self.updated_without_posts)


def entry_id(post: Post) -> str:
    """The post's id in every feed, for good: see the module docstring."""
    name = f"post/{post.id}/{post.timestamp.astimezone(UTC).isoformat()}"
    return uuid.uuid5(ENTRY_NAMESPACE, name).urn


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")


def title_of(body_html: str) -> str:
    """The first words of the post's text, cut at a space when there is one (Chinese has none)."""
    parser = _Text()
    parser.feed(_xml_text(body_html))
    parser.close()
    text = " ".join("".join(parser.parts).split())
    if len(text) <= TITLE_LENGTH:
        return text
    space = text.rfind(" ", 0, TITLE_LENGTH + 1)
    head = text[:space] if space > TITLE_LENGTH // 2 else text[:TITLE_LENGTH]
    return head.rstrip() + "…"


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = _xml_text(text)
    return element


def atom_xml(feed: Feed, untitled: str) -> bytes:
    """The feed as an Atom 1.0 document; `untitled` is the title of a post with no text."""
    # The Atom namespace as the default one, declared on the root: every
    # element below is then Atom's (ElementTree's own default_namespace
    # option refuses attributes without a namespace, like `href`).
    root = ET.Element(
        "feed",
        {"xmlns": ATOM, "{http://www.w3.org/XML/1998/namespace}base": absolute_url("main.index")},
    )
    _add(root, "id", feed.id)
    _add(root, "title", feed.title)
    _add(root, "updated", rfc3339(feed.updated))
    _add(root, "link", rel="self", type="application/atom+xml", href=feed.self_url)
    _add(root, "link", rel="alternate", type="text/html", href=feed.page_url)
    _add(root, "generator", "Flasky")
    for post in feed.posts:
        entry = _add(root, "entry")
        _add(entry, "id", entry_id(post))
        _add(entry, "title", title_of(post.body_html) or untitled)
        _add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=absolute_url("main.post", id=post.id),
        )
        author = _add(entry, "author")
        _add(author, "name", post.author.username)
        _add(author, "uri", absolute_url("main.user", username=post.author.username))
        _add(entry, "published", rfc3339(post.timestamp))
        _add(entry, "updated", rfc3339(post.timestamp))
        _add(entry, "content", post.body_html, type="html")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def response(document: bytes, updated: datetime) -> Response:
    """The feed, or 304 with no body when the client's copy is current.

    The ETag is a digest of the document, so an edit or a deletion changes it
    too; `Last-Modified` is the newest post's time, so a client that sends only
    `If-Modified-Since` learns of new posts (edits wait for the next one).
    `If-None-Match` wins when both are sent, as RFC 9110 says.
    """
    etag = hashlib.sha256(document).hexdigest()[:32]
    last_modified = updated.astimezone(UTC).replace(microsecond=0)
    if request.if_none_match:
        unchanged = request.if_none_match.contains_weak(etag)
    else:
        since = request.if_modified_since
        unchanged = since is not None and last_modified <= since
    answer = Response(b"" if unchanged else document, status=304 if unchanged else 200)
    if unchanged:
        del answer.headers["Content-Type"]
    else:
        answer.content_type = CONTENT_TYPE
    answer.set_etag(etag)
    answer.last_modified = last_modified
    return answer
