"""`/healthz`: whether this process can serve, for load balancers, supervisors and deploy scripts.

It asks the database for `SELECT 1`, because a process that answers while its
database is gone would keep receiving traffic it can only fail. The route
takes no cookie, no CSRF token and no redirect, so a probe sees the truth.
"""

from __future__ import annotations

import asyncio
import logging

from quart import Quart, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("flasky.health")

# A probe must get an answer well before its own timeout, even from a database
# that accepts connections but never replies.
DATABASE_TIMEOUT = 3.0


async def database_answers(engine: AsyncEngine) -> bool:
    """Whether the database runs `SELECT 1` within `DATABASE_TIMEOUT` seconds."""
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        log.warning("Health check failed: the database does not answer (%s)", error)
        return False
    return True


def init_app(app: Quart) -> None:
    engine: AsyncEngine = app.extensions["db_engine"]

    @app.route("/healthz")
    async def healthz() -> Response:
        healthy = await database_answers(engine)
        response = jsonify(status="ok" if healthy else "unavailable")
        response.status_code = 200 if healthy else 503
        response.cache_control.no_store = True
        return response
