"""The one pagination helper: a page of rows plus what the pagination macro needs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from quart import request
from sqlalchemy import Select, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper

T = TypeVar("T")
# A SELECT of any number of columns: a page may list entities or rows of several columns.
AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Pagination(Generic[T]):
    items: Sequence[T]
    page: int
    per_page: int
    total: int

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


def page_arg(name: str = "page") -> int:
    """The requested page number: -1 means the last page; anything unusable means 1."""
    value = request.args.get(name, "1")
    try:
        page = int(value)
    except ValueError:
        return 1
    return page if page >= 1 or page == -1 else 1


async def paginate(
    session: AsyncSession, statement: AnySelect, page: int, per_page: int, *, scalars: bool = True
) -> Pagination[Any]:
    """Run `statement` for one page: two SQL statements (count and rows), whatever the page.

    `page=-1` gives the last page; a page past the end is empty, not an error.
    """
    total = await session.scalar(
        select(func.count()).select_from(statement.order_by(None).subquery())
    )
    total = total or 0
    pages = max(1, -(-total // per_page))
    if page == -1:
        page = pages
    # Past the end is empty either way; clamping keeps a huge ?page= from overflowing OFFSET.
    page = min(page, pages + 1)
    result = await session.execute(_page_of(statement, per_page, (page - 1) * per_page))
    items: Sequence[Any] = result.scalars().unique().all() if scalars else result.all()
    return Pagination(items=items, page=page, per_page=per_page, total=total)


def _page_of(statement: AnySelect, limit: int, offset: int) -> AnySelect:
    """`statement` restricted to one page, still one SQL statement.

    A plain OFFSET makes the database read (and join) every skipped row in
    full: page 4,000 of 100,000 posts took 130 ms on SQLite. When the statement
    selects one mapped entity, a subquery first finds the page's primary keys
    (an index-only scan where an index serves the ORDER BY) and only those rows
    are read: the same page then takes 2 ms. Same rows, same order.
    """
    selected = statement.column_descriptions
    if len(selected) == 1 and selected[0]["expr"] is selected[0]["entity"]:
        mapper = inspect(selected[0]["entity"], raiseerr=False)
        if isinstance(mapper, Mapper) and len(mapper.primary_key) == 1:
            key = mapper.primary_key[0]
            keys = statement.with_only_columns(key).limit(limit).offset(offset)
            return statement.where(key.in_(keys.scalar_subquery()))
    return statement.limit(limit).offset(offset)
