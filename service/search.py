"""Search: what a query asks for, the SQL conditions that find it, and the highlight of matches.

A query is split at whitespace into words; a post matches when its Markdown
text (`body`, never the HTML) contains every word, ignoring case. A word is a
plain substring, not a token: Chinese has no spaces, so `天气` finds
`今天天气非常好`, and FTS syntax (`"`, `*`, `NEAR`, `AND`, parentheses, `-`)
is text like any other.

How each database finds the words (the indexes are in `service.search_index`):

- SQLite: words of three or more characters go to the FTS5 trigram index,
  each quoted as an FTS5 string (a `"` doubled), so nothing in them is
  syntax. The trigram index cannot look up one or two characters, so shorter
  words are a `LIKE` on `posts.body` (with `%`, `_` and `\\` escaped), which
  reads every post the other words left, or all of them.
- PostgreSQL: every word is an `ILIKE '%word%'`, which the pg_trgm index
  serves from three characters on. A shorter word without ASCII (a Chinese
  word) is also looked up among the characters and character pairs that
  `short_word_grams()` indexes; a short word with ASCII (`go`) is left to
  the `ILIKE`, which finds the first page of a common one soon enough by
  walking the posts newest first.

Both fold the case of ASCII letters alike; beyond ASCII, PostgreSQL's
`ILIKE` and the trigram index fold case where SQLite's `LIKE` (the one- and
two-character words) does not.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    column,
    func,
    or_,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import ARRAY, array

from .models import Post, User
from .search_index import SHORT_WORD_GRAMS, TABLE

# Longer queries are refused (400): no one types them, and each word costs a condition.
MAX_LENGTH = 200
# Every word is a condition in SQL and an alternative in the highlighting
# regular expression, run over a page of posts: the count is bounded too.
MAX_WORDS = 10
# A search is counted exactly up to this many matches, not `EXACT_COUNT`: a
# word in one post of 14 ("father" in a million posts) made PostgreSQL read
# 13,500 posts to count 1,001 (50 ms), and a reader of search results wants
# the first pages, not the total of a long list ("More than 100 posts").
EXACT_MATCHES = 100
# The shortest word the trigram index can find by itself.
TRIGRAM = 3
USERS_SHOWN = 5

_INDEX = table(TABLE, column("rowid"), column("body"))


class QueryRefused(ValueError):
    """A query the search does not run; `too_long` tells which limit it broke."""

    def __init__(self, *, too_long: bool) -> None:
        super().__init__("too long" if too_long else "too many words")
        self.too_long = too_long


@dataclass(frozen=True)
class Query:
    """A search query: the text as typed (stripped) and its distinct words."""

    text: str
    words: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Query:
        """The query in `text`; raises `QueryRefused` past `MAX_LENGTH` or `MAX_WORDS`."""
        if len(text) > MAX_LENGTH:
            raise QueryRefused(too_long=True)
        words: dict[str, str] = {}
        for word in text.split():
            words.setdefault(word.casefold(), word)
        if len(words) > MAX_WORDS:
            raise QueryRefused(too_long=False)
        return cls(text.strip(), tuple(words.values()))

    def __bool__(self) -> bool:
        return bool(self.words)

    @property
    def indexed(self) -> bool:
        """Whether the trigram index can look up every word (none is shorter than `TRIGRAM`)."""
        return all(len(word) >= TRIGRAM for word in self.words)


def _fts_string(word: str) -> str:
    """`word` as an FTS5 string: double-quoted, inner quotes doubled, so never syntax."""
    return '"' + word.replace('"', '""') + '"'


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its wildcards and the escape character escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(expression: Any, text: str, dialect: str) -> ColumnElement[bool]:
    """`expression` contains `text`, ignoring case.

    SQLite's LIKE already ignores ASCII case. On PostgreSQL, text without
    letters that have case (Chinese, digits) needs no ILIKE, and LIKE is five
    times faster there (a scan of 100,000 posts: 64 ms instead of 321 ms).

    On PostgreSQL the pattern is written into the statement (quoted by
    SQLAlchemy), not sent as a parameter: asyncpg prepares every statement,
    and after five runs PostgreSQL may switch a prepared statement to a
    generic plan, made without the pattern, which reads the whole trigram
    index even for a two-character pattern the index cannot serve
    (`/search?q=go`: 10 ms, then 500 ms from the sixth search on).
    """
    pattern: Any = _like_pattern(text)
    if dialect != "sqlite":
        pattern = bindparam(None, pattern, literal_execute=True)
    if dialect == "sqlite" or text.lower() == text == text.upper():
        found = expression.like(pattern, escape="\\")
    else:
        found = expression.ilike(pattern, escape="\\")
    if dialect == "postgresql" and len(text) < TRIGRAM and not any(map(str.isascii, text)):
        return and_(_has_grams(expression, text), found)
    return found


def _has_grams(expression: Any, text: str) -> ColumnElement[bool]:
    """`expression` holds the characters of `text` (one or two, no ASCII) side by side.

    The lookup in the GIN index of `short_word_grams(expression)`; `text` is
    lower-cased by PostgreSQL, as the index was, and written into the
    statement for the same reason as the `LIKE` pattern.
    """
    grams = getattr(func, SHORT_WORD_GRAMS)
    gram = func.lower(bindparam(None, text, literal_execute=True, type_=Text))
    return grams(expression, type_=ARRAY(Text)).contains(array([gram]))


def _index_matches(words: Sequence[str]) -> Select[tuple[Any]]:
    """The rowids (post ids) of the FTS5 index that contain every one of `words` (3+ characters)."""
    match = " ".join(_fts_string(word) for word in words)
    return select(_INDEX.c.rowid).where(_INDEX.c.body.match(match))


def matches_counted(query: Query, dialect: str) -> Select[tuple[Any]] | None:
    """A statement with a row per post `query` finds, cheaper to count than the posts; or None.

    On SQLite, when every word can be looked up in the FTS5 index, the index
    alone answers: counting 70,230 matches of "the" there takes 2 ms, against
    28 ms joining them to `posts`.
    """
    if dialect == "sqlite" and query.indexed:
        return _index_matches(query.words)
    return None


def posts_matching(query: Query, dialect: str) -> ColumnElement[bool]:
    """The condition on `Post` that `query` sets, in the SQL of `dialect` (its name)."""
    if dialect != "sqlite":
        return and_(*(_contains(Post.body, word, dialect) for word in query.words))
    indexed = [word for word in query.words if len(word) >= TRIGRAM]
    conditions = [
        _contains(Post.body, word, dialect) for word in query.words if len(word) < TRIGRAM
    ]
    if indexed:
        found = _index_matches(indexed)
        # `id + 0`, not `id`: SQLite then walks the (timestamp, id) index in
        # page order, checking each post against the matches, and stops after
        # a page, instead of fetching and sorting every match (a word most
        # posts contain: 54 ms for the first page of 100,000 posts, 8 ms so).
        conditions.insert(0, (Post.id + 0).in_(found))
    return and_(*conditions)


def users_matching(query: Query, dialect: str) -> ColumnElement[bool]:
    """Users whose username or name contains the whole query (never their e-mail or profile)."""
    return or_(
        _contains(User.username, query.text, dialect), _contains(User.name, query.text, dialect)
    )


# A tag of sanitized HTML: attribute values are always quoted, and may hold `>`.
_TAG = re.compile(r"""<(?:[^"'>]|"[^"]*"|'[^']*')*>""")


def highlight(body_html: str, words: Sequence[str]) -> str:
    """`body_html` with each occurrence of the words, ignoring case, wrapped in `<mark>`.

    Only text between tags is touched, and only after unescaping it: the
    matched text and its surroundings are escaped again, so what a query
    inserts is `<mark>` and `</mark>` and nothing else, inside a text run,
    where it cannot split a tag or an attribute. The tags of the sanitized
    HTML are kept exactly as they were.
    """
    if not words:
        return body_html
    pattern = re.compile(
        "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True)), re.IGNORECASE
    )
    pieces: list[str] = []
    position = 0
    for tag in _TAG.finditer(body_html):
        pieces += [_mark(body_html[position : tag.start()], pattern), tag.group()]
        position = tag.end()
    pieces.append(_mark(body_html[position:], pattern))
    return "".join(pieces)


def _mark(escaped_text: str, pattern: re.Pattern[str]) -> str:
    text = html.unescape(escaped_text)
    if pattern.search(text) is None:
        return escaped_text
    pieces: list[str] = []
    position = 0
    for found in pattern.finditer(text):
        pieces += [
            html.escape(text[position : found.start()], quote=False),
            "<mark>",
            html.escape(found.group(), quote=False),
            "</mark>",
        ]
        position = found.end()
    pieces.append(html.escape(text[position:], quote=False))
    return "".join(pieces)
