"""Finding the row a URL names, or answering 404."""

from __future__ import annotations

from typing import NoReturn, TypeVar

from quart import abort
from sqlalchemy import ColumnElement

from .. import queries
from ..db import get_session
from ..models import Base

M = TypeVar("M", bound=Base)


async def get_or_404(model: type[M], id: int, *criteria: ColumnElement[bool]) -> M:
    """The row of `model` with this id (and matching `criteria`, e.g. visibility)."""
    row = await queries.by_id(get_session(), model, id, *criteria)
    if row is None:
        not_found(model, id)
    return row


def not_found(model: type[Base], id: int) -> NoReturn:
    """404: no row of `model` with this id (or none the caller may see)."""
    abort(404, f"No {model.__name__.lower()} with id {id}")
