"""The engine and the one place a database session is opened."""

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlmodel import Session, create_engine

# Threads that may hold a connection at once: the request threads (anyio's limiter, set to
# `threads` at start), asyncio's default executor (pushes, snapshots, timers: at most 32) and
# FastAPI's one thread closing dependencies. The pool has room for all of them, so a thread
# never waits for a connection that a thread waiting for a thread holds.
EXTRA_CONNECTIONS = 33


# SQLite has one writer at a time, and a writer that finds the database locked sleeps in
# SQLite's busy handler (1, 2, 5 … 100 ms), however soon the lock is free again: forty
# voters at once wasted most of a burst asleep. This process's writers queue here instead,
# and each goes the moment the one before commits. (The database's lock still decides;
# other processes, and PostgreSQL's row locks, are untouched.)
class Writers:
    """The queue of one SQLite engine's writers in this process (a re-entrant lock that
    knows whether this thread is in it: a write inside a write must not wait for another
    thread's, see `services/group_commit.py`)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._mine = threading.local()

    def __enter__(self) -> "Writers":
        self._lock.acquire()
        self._mine.depth = getattr(self._mine, "depth", 0) + 1
        return self

    def __exit__(self, *_exc: object) -> None:
        self._mine.depth -= 1
        self._lock.release()

    def held_here(self) -> bool:
        return bool(getattr(self._mine, "depth", 0))


_WRITERS: "WeakKeyDictionary[Engine, Writers]" = WeakKeyDictionary()


def engine_of(on: Session | Engine) -> Engine:
    bind = on.get_bind() if isinstance(on, Session) else on
    return bind if isinstance(bind, Engine) else bind.engine


def writers_queue(on: Session | Engine) -> AbstractContextManager[object]:
    """Hold this for a write transaction on a session (or anything that blocks writers on an
    engine, such as a checkpoint): a queue on SQLite, nothing elsewhere."""
    lock = _WRITERS.get(engine_of(on))
    return lock if lock is not None else nullcontext()


def single_writer(engine: Engine) -> Writers | None:
    """The writers' queue of an engine whose database takes one writer at a time (SQLite)."""
    return _WRITERS.get(engine)


def make_engine(url: str, *, threads: int = 40) -> Engine:
    parsed = make_url(url)
    pool = {"pool_size": threads, "max_overflow": EXTRA_CONNECTIONS, "pool_timeout": 10}
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, **pool)
        _ping_when_idle(engine)
        return engine
    if parsed.database and parsed.database != ":memory:":
        private_files(Path(parsed.database))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
    _WRITERS[engine] = Writers()

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted and overwritten content is zeroed in the file, so an erasure really erases
        # (services/privacy also empties the WAL after one).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return engine


# A pooled connection idle for longer than this is pinged before use; one used since is not.
IDLE_BEFORE_PING = 2.0  # seconds


def _ping_when_idle(engine: Engine) -> None:
    """A connection that sat in the pool is pinged before it is handed out, and replaced if
    the server dropped it (a restart, an idle timeout): SQLAlchemy's `pool_pre_ping`, except
    for a connection used within `IDLE_BEFORE_PING`. A busy hall checks a connection out
    hundreds of times a second, and each ping cost a round trip and about 0.13 ms of CPU. A
    connection the server drops while in use fails its request as it would with a ping, and
    SQLAlchemy then replaces every connection older than the failure."""

    dialect = engine.dialect

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["used_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("used_at", 0.0) < IDLE_BEFORE_PING:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            # As `pool_pre_ping`: every connection older than this one is replaced too.
            raise InvalidatePoolError("the database dropped this connection") from error


def reads_engine(engine: Engine) -> Engine:
    """The engine of a thread that only reads (a push's build): on PostgreSQL each of its
    statements commits by itself. That saves a read-only transaction's BEGIN and ROLLBACK,
    two round trips of a build's six, and changes nothing it reads: under READ COMMITTED
    each statement has its own snapshot anyway. SQLite keeps its one snapshot per
    transaction, which costs no round trip."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine


def private_files(database: Path) -> None:
    """The SQLite file holds personal data: a folder we create is 0700, the database 0600.

    SQLite gives its -wal and -shm files the database file's mode, so creating it 0600
    before the first connection covers them; existing ones are narrowed too."""
    if not database.parent.exists():
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not database.exists():
        database.touch(mode=0o600)
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(0o600)


@contextmanager
def open_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
