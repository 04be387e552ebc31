"""SQLAlchemy's aiosqlite adapter, with one trip to the driver's thread per statement.

aiosqlite runs every call of the sqlite3 driver on a thread of its own, one
per connection; each call is a trip there and back: a queue put, a thread
wake-up, a callback to the event loop and a wake-up of the loop, about
0.13 ms of CPU here. SQLAlchemy's adapter makes four trips for a statement
(open a cursor, execute, fetch the rows, close the cursor), so a request
reading one page made nine in all with its `BEGIN` and two rollbacks, and
those trips, not SQLite, were most of the CPU a short read costs
(docs/performance.md, "One trip per statement"). Here a statement is one
trip: its four calls run in one function on the driver's thread, which
hands back the rows (the adapter kept them too); a reader's `BEGIN` goes in
the trip of its first statement, and a commit or rollback with no
transaction open (sqlite3 would do nothing) makes no trip: two in all.

A reader's rollback — a transaction that ran nothing but SELECTs — is not
waited for either: it holds no change to lose and no lock anyone waits on,
so its ROLLBACK is queued on the driver's thread, where it runs before
anything the connection is asked next (aiosqlite's queue is first in, first
out), and the request goes on. That spares the trip back: the event loop's
wake-up and the switches into and out of SQLAlchemy's greenlet (~70,000
instructions, and a thread hand-off, per page). Every other transaction's
rollback, and every commit, is waited for, so its errors reach the caller.

Transactions begin in the dialect (`OneTripDialect.do_begin`): a reader's
deferred `BEGIN` waits for its first statement, a writer's `BEGIN
IMMEDIATE` (the `WRITE_OPTION` execution option, set by
`service.db.write_transaction`) is sent at once. SQLAlchemy's recipe for
SQLite's BEGIN is a listener of the engine's `begin` event, but an engine
with any listener of its connection events takes SQLAlchemy's event path
on every statement, and the slow-query log's `before_cursor_execute`
listeners made two more calls a statement: with the BEGIN here and the
statements timed in `_OneTripCursor._trip`, the engine has no listener,
and a page of three statements costs ~0.3 million instructions less
(docs/performance.md, "The engine without listeners, methods called
directly, a profile's head cached").

`service.db.make_engine` gives SQLite URLs this module's driver name
(`DRIVER_NAME`); the dialect's SQL, its pool and its error handling are
SQLAlchemy's aiosqlite dialect's. Server-side cursors (`stream()`, which
the application does not use) keep the adapter's own.
"""

from __future__ import annotations

import collections
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Mapping
from typing import Any, cast

import aiosqlite
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.engine import Connection
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import EMPTY_DICT

from .sqlite_reads import READS

log = logging.getLogger("flasky.db")

# The driver of `sqlite+<DRIVER_NAME>://` URLs: SQLAlchemy loads `OneTripDialect` for it.
DRIVER_NAME = "flasky_aiosqlite"
# The execution option that makes a connection's next transaction a writer's (BEGIN IMMEDIATE).
WRITE_OPTION = "flasky_write"


def _run(
    connection: sqlite3.Connection, begin: bool, operation: str, parameters: Any, many: bool
) -> tuple[Any, list[Any], int, int | None]:
    """On the driver's thread: BEGIN if `begin`, execute, fetch every row, close the cursor."""
    cursor = connection.cursor()
    try:
        if begin:
            cursor.execute("BEGIN")
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _end_read(connection: sqlite3.Connection, adapter: _OneTripConnection) -> None:
    """On a driver thread: roll back a reader's transaction, which no one waits for."""
    try:
        connection.rollback()
    except sqlite3.ProgrammingError:
        pass  # closed since by the pool, on its own thread: closing rolled it back
    except sqlite3.Error:
        # Nobody to tell: the next BEGIN on this connection fails and reports it.
        log.exception("Ending a read transaction failed")
    finally:
        adapter.read_ended = True


def _nothing() -> None:
    """A job that only waits its turn: the jobs queued before it have run."""


def _holding(lock: threading.Lock, function: Any) -> Any:
    with lock:
        return function()


class _Locked:
    """aiosqlite's queue of a connection's calls: each call holds the connection's lock."""

    __slots__ = ("_lock", "_queue")

    def __init__(self, queue: Any, lock: threading.Lock) -> None:
        self._queue, self._lock = queue, lock

    def put_nowait(self, item: tuple[Any, Any]) -> None:
        future, function = item
        self._queue.put_nowait((future, functools.partial(_holding, self._lock, function)))


class _OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor that holds no driver cursor: each statement's results, read in one trip."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        # The DB-API default; it only sizes `fetchmany()`, and every row is here already.
        return 1

    @arraysize.setter
    def arraysize(self, _value: int) -> None:
        pass

    async def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = cast("_OneTripConnection", self._adapt_connection)
        started = time.perf_counter()
        async with connection._execute_mutex:
            begin, connection.begin_pending = connection.begin_pending, False
            # Queued behind a rollback that is not waited for, if there is one.
            connection.rollback_queued = False
            if not operation.startswith("SELECT"):
                connection.wrote = True
            elif begin:
                connection.reading = True
            driver = self._connection
            args = (driver._conn, begin, operation, parameters, many)
            if connection.reading and not connection.wrote:
                # A read transaction's statements: on the thread of every
                # reader (service.sqlite_reads).
                result = await READS.run(connection.lock, _run, *args)
            else:
                if not connection.read_ended:
                    # The last reader's rollback, queued there, goes first.
                    await READS.run(connection.lock, _nothing)
                # aiosqlite's own methods queue their calls with `_execute`,
                # this one the four of a statement at once.
                result = await driver._execute(_run, *args)
                if connection.wrote and not driver._conn.in_transaction:
                    # A statement outside any transaction (a PRAGMA on
                    # connecting) left nothing open to end.
                    connection.wrote = False
        elapsed = time.perf_counter() - started
        if elapsed >= connection.slow_query_time:
            log.warning("Slow query (%.3f s): %s parameters=%r", elapsed, operation, parameters)
        self._description, rows, self._rowcount, self._lastrowid = result
        self._rows = collections.deque(rows)

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._trip(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        """Nothing to close: the driver's cursor closed with its statement."""

    def close(self) -> None:
        self._rows.clear()


class _OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """The adapter's connection, with a reader's `BEGIN` that rides with its first statement."""

    __slots__ = (
        "begin_pending",
        "lock",
        "read_ended",
        "reading",
        "rollback_queued",
        "slow_query_time",
        "write_next",
        "wrote",
    )
    _cursor_cls: type[AsyncAdapt_aiosqlite_cursor] = _OneTripCursor

    def __init__(self, dbapi: Any, connection: Any, slow_query_time: float) -> None:
        super().__init__(dbapi, connection)
        # Statements that take this long (seconds) or longer are logged.
        self.slow_query_time = slow_query_time
        # Set by the dialect when a read transaction starts: its (deferred)
        # BEGIN is sent in the trip of its first statement, a trip fewer.
        self.begin_pending = False
        # Whether the next transaction is a writer's: its BEGIN IMMEDIATE is
        # a statement of its own, so that the write lock is taken when
        # `write_transaction` starts.
        self.write_next = False
        # Whether a statement other than a SELECT ran since the last commit
        # or waited-for rollback: then the transaction is not a reader's.
        self.wrote = False
        # Whether the open transaction began as a reader's, on the readers' thread.
        self.reading = False
        # Whether a reader's ROLLBACK is queued and the driver may not have run it yet.
        self.rollback_queued = False
        # False from queueing a reader's rollback until the readers' thread has run it.
        self.read_ended = True
        # Held by every job on the sqlite3 connection, on either thread.
        self.lock = threading.Lock()
        connection._tx = _Locked(connection._tx, self.lock)

    def _transaction_to_end(self) -> bool:
        """Forget a BEGIN not sent yet; whether the driver has a transaction open."""
        self.begin_pending = False
        self.write_next = False
        self.reading = False
        if self.rollback_queued:
            return False
        return bool(self._connection._connection) and self._connection.in_transaction

    # sqlite3's commit and rollback do nothing outside a transaction; the
    # pool rolls back every connection it gets back, after the session's own
    # rollback, so without these checks a request made that trip twice.

    def rollback(self) -> None:
        on_readers_thread = self.reading
        if not self._transaction_to_end():
            return
        if self.wrote:
            self.wrote = False
            super().rollback()
            return
        driver = self._connection
        # Queued behind the transaction's statements, with no future to answer.
        if on_readers_thread:
            self.read_ended = False
            READS.send(self.lock, _end_read, driver._conn, self)
        else:
            driver._tx.put_nowait((None, functools.partial(_end_read, driver._conn, self)))
        self.rollback_queued = True

    def commit(self) -> None:
        if self._transaction_to_end():
            self.wrote = False
            super().commit()


class _OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, slow_query_time: float = 0.5, **kw: Any) -> _OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return _OneTripConnection(self, adapted._connection, slow_query_time)


def _adapter(connection: PoolProxiedConnection) -> _OneTripConnection:
    return cast(_OneTripConnection, connection.dbapi_connection)


class OneTripDialect(SQLiteDialect_aiosqlite):
    """SQLAlchemy's aiosqlite dialect on this module's adapter, beginning each transaction itself.

    Connect arguments: aiosqlite's, and `slow_query_time` (seconds; 0.5 if not given).
    """

    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> _OneTripDBAPI:
        return _OneTripDBAPI(aiosqlite, sqlite3)

    def set_connection_execution_options(
        self, connection: Connection, opts: Mapping[str, Any]
    ) -> None:
        super().set_connection_execution_options(connection, opts)
        # A session applies a connection's options just before it begins.
        if WRITE_OPTION in opts and not connection.in_transaction():
            _adapter(connection.connection).write_next = bool(opts[WRITE_OPTION])

    def do_begin(self, dbapi_connection: PoolProxiedConnection) -> None:
        # Deferred for readers (they never block anyone in WAL mode), immediate
        # for writers, so that a writer waits for the lock up front instead of
        # meeting SQLITE_BUSY when its first write comes after a read.
        connection = _adapter(dbapi_connection)
        if connection.write_next:
            connection.write_next = False
            cursor = connection.cursor()
            try:
                cursor.execute("BEGIN IMMEDIATE")
            finally:
                cursor.close()
        else:
            connection.begin_pending = True


registry.register(f"sqlite.{DRIVER_NAME}", __name__, OneTripDialect.__name__)
