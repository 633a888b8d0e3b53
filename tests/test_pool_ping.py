"""A PostgreSQL connection the server dropped while it sat in the pool is replaced before
anyone uses it (app/db.py pings a connection idle for a while, not one just used)."""

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from app import db


def _pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _drop(admin: Engine, pid: int) -> None:
    """What a restart or an idle timeout does to a pooled connection."""
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_dropped_connection_idle_in_the_pool_is_replaced(
    postgres_url: str, postgres_admin: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.make_engine(postgres_url, threads=1)
    try:
        first = _pid(engine)
        _drop(postgres_admin, first)
        monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)  # it has been idle long enough
        second = _pid(engine)  # no error: pinged, found dropped, replaced
        assert second != first
        assert _pid(engine) == second  # the new one stays in the pool
    finally:
        engine.dispose()


def test_a_connection_just_used_is_not_pinged(
    postgres_url: str, postgres_admin: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ping is what replaced it above: without one, the dropped connection fails its
    first use, and the pool then replaces it."""
    engine = db.make_engine(postgres_url, threads=1)
    try:
        first = _pid(engine)
        _drop(postgres_admin, first)
        monkeypatch.setattr(db, "IDLE_BEFORE_PING", 3600.0)
        with pytest.raises(DBAPIError) as failed:
            _pid(engine)
        assert failed.value.connection_invalidated
        assert _pid(engine) != first
    finally:
        engine.dispose()
