"""The engine and the one place a database session is opened."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

# Threads that may hold a connection at once: the request threads (anyio's limiter, set to
# `threads` at start), asyncio's default executor (pushes, snapshots, timers: at most 32) and
# FastAPI's one thread closing dependencies. The pool has room for all of them, so a thread
# never waits for a connection that a thread waiting for a thread holds.
EXTRA_CONNECTIONS = 33


def make_engine(url: str, *, threads: int = 40) -> Engine:
    parsed = make_url(url)
    pool = {"pool_size": threads, "max_overflow": EXTRA_CONNECTIONS, "pool_timeout": 10}
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **pool)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


@contextmanager
def open_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
