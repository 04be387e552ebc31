"""Finding the row a URL names, or answering 404."""

from __future__ import annotations

from typing import TypeVar

from quart import abort
from sqlalchemy import ColumnElement, select

from ..db import get_session
from ..models import Base

M = TypeVar("M", bound=Base)

# The largest id an INTEGER column holds: a larger one in a URL is a 404, not
# a database overflow. (Bounding the route's converter instead would turn it
# into a 405 for the other methods of the same path.)
MAX_ID = 2**31 - 1


async def get_or_404(model: type[M], id: int, *criteria: ColumnElement[bool]) -> M:
    """The row of `model` with this id (and matching `criteria`, e.g. visibility)."""
    row = None
    if id <= MAX_ID:
        row = await get_session().scalar(select(model).filter_by(id=id).where(*criteria))
    if row is None:
        abort(404, f"No {model.__name__.lower()} with id {id}")
    return row
