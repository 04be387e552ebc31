"""The one pagination helper: a page of rows plus what the pagination macro needs.

Counting is bounded. A list is counted exactly up to `EXACT_COUNT` rows, and
beyond that only as far as `AHEAD` pages past the one asked for: counting a
million posts on every page took 90-110 ms on PostgreSQL (MVCC makes every
`count(*)` visit its rows), while counting the 20,000 rows before page 1,000
takes a few, no more than the page's own OFFSET. A longer list's `total` is
then a lower bound (`exact` is false): every page linked holds rows, the
"next" link always leads to the following rows, and the pagination shows a
gap ("…") after the last page it knows of instead of the last page. Asking
for the last page (`page=-1`) counts in full.

A list whose count is expensive however bounded (a search for two common
words: PostgreSQL builds the whole bitmap of their trigrams first, 35 ms)
can pass a `count_key`: once its count reaches a bound, that lower bound is
remembered for `LOWER_BOUNDS_KEPT` seconds, in the process, and the
following pages and repeats of the search show "more than" without counting
again. New rows keep a lower bound true; a deletion can make it a few rows
too high until it expires. Exact (shorter) counts are never remembered.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from quart import request
from sqlalchemy import BigInteger, Select, bindparam, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper

from .db import read_rows

T = TypeVar("T")
# Lists up to this many rows are counted exactly, whatever the page. Counting
# 10,000 index entries took 4-20 ms on PostgreSQL (1,266 buffers); 1,000, a tenth.
EXACT_COUNT = 1_000
# Beyond that, how many pages after the current one the count looks ahead.
AHEAD = 3
# How long a reached bound of a list with a `count_key` is remembered, and how many.
LOWER_BOUNDS_KEPT = 60.0
_LOWER_BOUNDS_SIZE = 1024
# The largest count asked of the database: beyond it a page number is absurd.
_MOST_ROWS = 2**53
# A SELECT of any number of columns: a page may list entities or rows of several columns.
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Pagination(Generic[T]):
    items: Sequence[T]
    page: int
    per_page: int
    total: int
    # False when `total` is a lower bound: the list goes on past what was counted.
    exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(
        self, left_edge: int = 2, left_current: int = 2, right_current: int = 3, right_edge: int = 2
    ) -> Iterator[int | None]:
        """Page numbers to show, with None where a gap ("…") goes; as Flask-SQLAlchemy's."""
        last = 0
        for num in range(1, self.pages + 1):
            if (
                num <= left_edge
                or self.page - left_current - 1 < num < self.page + right_current
                or num > self.pages - right_edge
            ):
                if last + 1 != num:
                    yield None
                yield num
                last = num
        if not self.exact:
            yield None


def page_arg(name: str = "page") -> int:
    """The requested page number: -1 means the last page; anything unusable means 1."""
    value = request.args.get(name, "1")
    try:
        page = int(value)
    except ValueError:
        return 1
    return page if page >= 1 or page == -1 else 1


@dataclass(frozen=True)
class Prepared:
    """A list's statements built once (`prepare`), for `paginate`.

    SQLAlchemy caches a statement's SQL, not the statement: building a page's
    statement and its cache key again cost about 600 Python calls a request
    (a tenth of the index's). A list whose shape never changes is prepared
    once, its varying values as bound parameters (`paginate(params=...)`); the
    page's LIMIT and OFFSET and the count's bound are parameters already.
    """

    rows: AnySelect
    scalars: bool
    counted: AnySelect
    # Whether `rows` selects plain columns only, no ORM entity (`db.read_rows`).
    plain: bool

    @functools.cached_property
    def count(self) -> Select[int]:
        """The bounded count, built when first needed: a list whose count is
        skipped (a remembered bound, a short first page) never builds it."""
        return _count_of(self.counted, bounded=True)


def prepare(
    statement: AnySelect,
    *,
    scalars: bool = True,
    count_of: AnySelect | None = None,
    page_rows: Callable[[AnySelect], AnySelect] | None = None,
) -> Prepared:
    """`paginate`'s statements for `statement`; its options of the same names, explained there."""
    rows = _page_of(statement)
    if page_rows is not None:
        rows, scalars = page_rows(rows), False
    entities = any(d["expr"] is d.get("entity") for d in rows.column_descriptions)
    return Prepared(rows, scalars, statement if count_of is None else count_of, not entities)


async def paginate(
    session: AsyncSession,
    statement: AnySelect | Prepared,
    page: int,
    per_page: int,
    *,
    scalars: bool = True,
    count_of: AnySelect | None = None,
    exact: bool = False,
    page_rows: Callable[[AnySelect], AnySelect] | None = None,
    rows_first: bool = False,
    count_key: Hashable | None = None,
    exact_up_to: int | None = None,
    params: dict[str, Any] | None = None,
    total: int | None = None,
) -> Pagination[Any]:
    """Run `statement` for one page: two SQL statements (count and rows), whatever the page.

    `page=-1` gives the last page; a page past the end is empty, not an error.
    The count is bounded (see the module's docstring) unless `exact`, exact
    up to `exact_up_to` rows when given instead of `EXACT_COUNT`. The
    rows of `count_of`, when given, are counted instead of those of
    `statement`: a cheaper statement with as many rows. `page_rows`, when
    given, turns the statement restricted to the page into the one run (plain
    columns instead of the entity, say); its items are then rows. With
    `rows_first`, the first page's rows come before the count, and a first
    page that is not full is the whole list: no count. For a list whose count
    reads every row (a search no index serves), that halves the cost of a
    short one. `count_key` names the list for the remembered lower bounds
    (see the module's docstring). A `Prepared` statement brings its own
    `scalars`, `count_of` and `page_rows`, and `params` its bound parameters.
    `total`, when the caller has it already (a profile counts its user's
    posts in the statement that loads them), is the list's exact count, and
    none is run.
    """
    if not isinstance(statement, Prepared):
        statement = prepare(statement, scalars=scalars, count_of=count_of, page_rows=page_rows)
    params = params or {}
    first: Sequence[Any] | None = None
    if rows_first and page == 1:
        first = await _rows(session, statement, 1, per_page, params)
        if len(first) < per_page:
            return Pagination(items=first, page=1, per_page=per_page, total=len(first))
    bound = (
        None
        if exact or page == -1
        else min(max(exact_up_to or EXACT_COUNT, (page + AHEAD) * per_page) + 1, _MOST_ROWS)
    )
    bounds = _lower_bounds(session) if count_key is not None else None
    if total is not None:
        bound = None
    elif bound is not None and bounds is not None and bounds.reached(count_key, bound):
        total = bound
    else:
        total = await count(session, statement, bound, params)
    exact = bound is None or total < bound
    if not exact and bounds is not None:
        bounds.remember(count_key, total)
    pages = max(1, -(-total // per_page))
    if page == -1:
        page = pages
    # Past the end is empty either way; clamping keeps a huge ?page= from overflowing OFFSET.
    page = min(page, pages + 1)
    items = first if first is not None else await _rows(session, statement, page, per_page, params)
    return Pagination(items=items, page=page, per_page=per_page, total=total, exact=exact)


class _LowerBounds:
    """The bounds lists' counts reached lately, by `count_key`: a small LRU with expiry."""

    def __init__(self) -> None:
        self._reached: OrderedDict[Hashable, tuple[int, float]] = OrderedDict()

    def reached(self, key: Hashable, bound: int) -> bool:
        """Whether the list `key` was counted to `bound` or further in the last while."""
        found = self._reached.get(key)
        if found is None or time.monotonic() - found[1] > LOWER_BOUNDS_KEPT:
            return False
        self._reached.move_to_end(key)
        return found[0] >= bound

    def remember(self, key: Hashable, total: int) -> None:
        self._reached[key] = (total, time.monotonic())
        self._reached.move_to_end(key)
        while len(self._reached) > _LOWER_BOUNDS_SIZE:
            self._reached.popitem(last=False)


# One set of bounds per database (its engine), forgotten with the engine.
_bounds_of: weakref.WeakKeyDictionary[Any, _LowerBounds] = weakref.WeakKeyDictionary()


def _lower_bounds(session: AsyncSession) -> _LowerBounds:
    engine = session.get_bind()
    bounds = _bounds_of.get(engine)
    if bounds is None:
        bounds = _bounds_of[engine] = _LowerBounds()
    return bounds


async def _rows(
    session: AsyncSession, prepared: Prepared, page: int, per_page: int, params: dict[str, Any]
) -> Sequence[Any]:
    """The rows of `prepared` on `page`."""
    window = {**params, _LIMIT: per_page, _OFFSET: (page - 1) * per_page}
    if prepared.plain:
        return (await read_rows(session, prepared.rows, window)).all()
    result = await session.execute(prepared.rows, window)
    return result.scalars().unique().all() if prepared.scalars else result.all()


async def count(
    session: AsyncSession, prepared: Prepared, bound: int | None, params: dict[str, Any]
) -> int:
    """How many rows the list of `prepared` holds, counting no further than `bound` (None: all)."""
    if bound is None:
        counted = await read_rows(session, _count_of(prepared.counted, bounded=False), params)
    else:
        counted = await read_rows(session, prepared.count, {**params, _BOUND: bound})
    return counted.scalar() or 0


# The names of the bound parameters of every list's page and count; 64-bit,
# as a count's bound and a far page's offset may pass 2**31 (PostgreSQL
# would refuse them as INTEGER).
_LIMIT, _OFFSET, _BOUND = "page_limit", "page_offset", "count_bound"


def _count_of(statement: AnySelect, bounded: bool) -> Select[int]:
    """How many rows `statement` gives, up to the parameter `count_bound` if `bounded`."""
    key = _key_of(statement)
    # Only the keys: an index-only scan where an index covers the condition.
    rows = (statement if key is None else statement.with_only_columns(key)).order_by(None)
    if bounded:
        rows = rows.limit(bindparam(_BOUND, type_=BigInteger))
    return select(func.count()).select_from(rows.subquery())


def _page_of(statement: AnySelect) -> AnySelect:
    """`statement` restricted to one page (parameters `page_limit`, `page_offset`), one statement.

    A plain OFFSET makes the database read (and join) every skipped row in
    full: page 4,000 of 100,000 posts took 130 ms on SQLite. When the statement
    selects one mapped entity, a subquery first finds the page's primary keys
    (an index-only scan where an index serves the ORDER BY) and only those rows
    are read: the same page then takes 2 ms. Same rows, same order.
    """
    limit, offset = bindparam(_LIMIT, type_=BigInteger), bindparam(_OFFSET, type_=BigInteger)
    key = _key_of(statement)
    if key is None:
        return statement.limit(limit).offset(offset)
    keys = statement.with_only_columns(key).limit(limit).offset(offset)
    return statement.where(key.in_(keys.scalar_subquery()))


def _key_of(statement: AnySelect) -> Any:
    """The primary key column when `statement` selects one mapped entity with one; else None."""
    selected = statement.column_descriptions
    if len(selected) == 1 and selected[0]["expr"] is selected[0].get("entity"):
        mapper = inspect(selected[0]["entity"], raiseerr=False)
        if isinstance(mapper, Mapper) and len(mapper.primary_key) == 1:
            return mapper.primary_key[0]
    return None
