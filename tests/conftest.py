"""Fixtures: a fresh database per test (a SQLite file, or a PostgreSQL schema for the modules
that run on both), the app with its lifespan, plain factories."""

import contextlib
import datetime as dt
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, SQLModel

from app import ratelimit
from app.config import Settings
from app.db import make_engine
from app.live.hub import Hub, table_channel
from app.main import create_app
from app.models import Event, Participant, Table
from app.services import events, participants, tables

ADMIN_TOKEN = "test-organiser-token"


# Multi-worker deployments run on PostgreSQL: these modules' database tests run on both
# backends (a module opts in by its name here).
BOTH_DATABASES = {
    "test_api",
    "test_api_event_day",
    "test_console",
    "test_console_event_day",
    "test_duplicates",
    "test_facilitation",
    "test_facilitation_api",
    "test_group_commit",
    "test_integrity",
    "test_known_voters",
    "test_invariants",
    "test_links",
    "test_live",
    "test_outcomes",
    "test_pages",
    "test_plenary",
    "test_privacy_data",
    "test_qa",
    "test_reports",
    "test_services",
    # Issue 18's dissent (kept apart so that merges with other lists stay clean).
    "test_dissent",
    "test_report_dissent",
}
POSTGRES_URL = os.environ.get(
    "TAVOLI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

# The system catalogs that CREATE and DROP SCHEMA … CASCADE of the models' tables write to.
CATALOGS = [
    f"pg_catalog.{name}"
    for name in (
        "pg_attrdef",
        "pg_attribute",
        "pg_class",
        "pg_constraint",
        "pg_depend",
        "pg_index",
        "pg_namespace",
        "pg_sequence",
        "pg_trigger",
        "pg_type",
    )
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that touch the database (through `db`) in an opted-in module run once per backend."""
    module = metafunc.module.__name__.rpartition(".")[2]
    if "db" in metafunc.fixturenames and module in BOTH_DATABASES:
        metafunc.parametrize("db", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(autouse=True)
def _no_rate_limits() -> None:
    """Services called without an app meet no limit (counters are per process and ids repeat
    between tests); tests of the limits create an app that turns them on."""
    ratelimit.configure(enabled=False)


@pytest.fixture
def db(request: pytest.FixtureRequest) -> str:
    """The backend of this test: SQLite unless the test was parametrised for PostgreSQL."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """One autocommit connection pool to the test cluster, or a skip (once) when none answers:
    a laptop without PostgreSQL still runs everything else."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests disabled: TAVOLI_TEST_POSTGRES_URL is empty")
    try:
        admin = create_engine(
            POSTGRES_URL,
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 3, "options": "-csynchronous_commit=off"},
        )
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (ImportError, OperationalError) as exc:
        where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
        first_line = str(exc).strip().splitlines()[0]
        pytest.skip(f"PostgreSQL unreachable at {where} (TAVOLI_TEST_POSTGRES_URL): {first_line}")
    yield admin
    with admin.connect() as connection:
        # Every schema leaves dead rows in the system catalogs; where autovacuum is off (as on
        # the local and CI cluster), each run would make the next one's DDL slower. Only
        # housekeeping: the other test process may still be making schemas (it holds the
        # catalogs' locks meanwhile), so it waits a while, and a run never fails on it.
        connection.execute(text("SET lock_timeout = '60s'"))
        with contextlib.suppress(DBAPIError):
            connection.execute(text(f"VACUUM {', '.join(CATALOGS)}"))
    admin.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A URL whose connections see only a fresh schema, so runs sharing the cluster never meet.
    Measured per test with the tables: a schema ~70 ms; a database ~150 ms, or ~90 ms copied
    from a prepared template but with ~4.5 MB of WAL each."""
    with fresh_schema(postgres_admin, "tavoli_t") as url:
        yield url


@contextlib.contextmanager
def fresh_schema(admin: Engine, prefix: str) -> Iterator[str]:
    """A PostgreSQL URL whose connections see only a new schema, dropped on the way out."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(POSTGRES_URL).update_query_dict(
        {"options": f"-csearch_path={schema} -csynchronous_commit=off", "application_name": schema}
    )
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _drop_schema(admin, schema)


@contextlib.contextmanager
def redis_prefix_or_skip(url: str) -> Iterator[str]:
    """A key prefix of the caller's own on the shared Redis (its keys removed afterwards), or
    a skipped test when Redis is unreachable."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable at {url} (TAVOLI_TEST_REDIS_URL): {exc}")
    prefix = f"tavoli-test-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


@contextlib.asynccontextmanager
async def screens(hubs: "list[Hub]", table_id: int) -> AsyncIterator[None]:
    """A JSON screen of the table on each of these workers' hubs: a worker builds a table's
    pushes only for its own sockets."""
    async with contextlib.AsyncExitStack() as stack:
        for hub in hubs:
            await stack.enter_async_context(hub.subscribe(table_channel(table_id), key="api"))
        yield


def _drop_schema(admin: Engine, schema: str) -> None:
    """Drop a test's schema; a connection the test left inside a transaction would block the
    DROP for ever, so after a short wait it is cut off (found by its application_name)."""
    with admin.connect() as connection:
        connection.execute(text("SET lock_timeout = '5s'"))
        try:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        except DBAPIError:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name AND pid <> pg_backend_pid()"
                ),
                {"name": schema},
            )
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:  # the pool keeps the connection, and a SET lasts as long as it does
            connection.execute(text("RESET lock_timeout"))


@pytest.fixture
def database_url(db: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Asks for PostgreSQL only when the test runs on it: SQLite tests never wait for it."""
    if db == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path}/tavoli.db"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        hub_url="memory://",
        tavoli_admin_token=ADMIN_TOKEN,
        tavoli_secret_key="test-secret-key",
        tavoli_push_interval=0.02,
        tavoli_warm_pdf=False,  # a test app lives a moment: no PDF engine to warm
        tavoli_report_wait=60,  # a first PDF starts a worker: files, not progress pages
        tavoli_rate_limits=False,  # tests make many posts and votes quickly: see test_limits
        tavoli_purge_interval=0,  # the factories' events are years past their retention
        # Many apps live in one test process: its collector keeps its own pace (the real
        # servers the tests start keep the default; tests/test_gc_pace.py turns it on).
        tavoli_gc_pace=False,
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    SQLModel.metadata.create_all(engine, checkfirst=False)  # the database is always new
    yield engine
    engine.dispose()


@pytest.fixture
def impatient(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite engine whose connections never wait for the database's lock: a writer that
    skipped this process's writers' queue (or the group commit) fails at once instead of
    sleeping unseen in SQLite's busy handler."""
    engine = make_engine(f"sqlite:///{tmp_path}/impatient.db")
    SQLModel.metadata.create_all(engine)

    @event.listens_for(engine, "checkout")
    def _no_waiting(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def make_event(session: Session, **overrides: object) -> tuple[Event, str]:
    fields: dict[str, object] = {
        "title": "Stati Generali del Welfare dell'Ambito Sociale Valle dell'Irno",
        "date": dt.date(2024, 11, 9),
        "place": "Fisciano, Aula Magna",
        "organiser": "Ufficio di Piano",
    }
    fields.update(overrides)
    return events.create_event(session, **fields)  # type: ignore[arg-type]


def make_table(
    session: Session,
    event: Event | None = None,
    *,
    mode: str = "approval",
    dots: int = 5,
    cap: int = 3,
    phase: str = "collect",
) -> Table:
    if event is None:
        event, _ = make_event(session)
    table = tables.create_table(
        session,
        event=event,
        title="Disabilità e progetti di vita",
        question="Quali servizi mancano per l'autonomia delle persone con disabilità?",
        voting=tables.VotingRules.checked(mode, dots, cap),
    )
    return in_phase(session, table, phase)


def in_phase(session: Session, table: Table, phase: str) -> Table:
    """Test set-up shortcut: put a table in a phase without a sequence step or timeline entry
    (the phase service itself is tested in test_facilitation)."""
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    fresh.phase = phase
    session.add(fresh)
    session.commit()
    return fresh


def make_participant(session: Session, table: Table, **fields: str) -> tuple[Participant, str]:
    joined = participants.join(
        session, table=table, event=tables.event_of(session, table), **fields
    )
    return joined.participant, joined.token


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need PostgreSQL are marked `postgresql`, those that take seconds `slow`
    (`make test-fast` leaves both out).
    Browser tests last: Playwright's sync API keeps an event loop running on the main thread.
    Among them the longest first (`BROWSER_FIRST`): xdist hands tests out in this order, so
    the run ends on short tests on both workers, not on one worker's 30-s test."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        fixtures = set(getattr(item, "fixturenames", ()))
        on_postgresql = callspec is not None and callspec.params.get("db") == "postgresql"
        if on_postgresql or POSTGRES_FIXTURES & fixtures:
            item.add_marker(pytest.mark.postgresql)
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if module in SLOW_MODULES or SERVER_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
    items.sort(key=_run_order)


def _run_order(item: pytest.Item) -> tuple[bool, int]:
    if "browser" not in item.keywords:
        return False, 0  # in file order: the modules' server fixtures start once
    starts = (rank for rank, prefix in enumerate(BROWSER_FIRST) if item.nodeid.startswith(prefix))
    return True, next(starts, len(BROWSER_FIRST))


# The browser tests of 10 s or more in a full run with `-n 2` (pytest --durations), longest
# first; a module with a module-scoped fixture is moved whole, so that it starts once. A name
# no longer collected only loses its place.
BROWSER_FIRST = (
    "tests/browser/test_wall_pages.py::test_every_post_is_on_a_page_at_every_size",
    "tests/browser/test_wall_pages.py::test_the_pages_turn_at_the_moderators_pace",
    "tests/browser/test_tour.py",
    "tests/browser/test_links.py::test_needs_actions_and_resources_from_console_phone_and",
    "tests/browser/test_phone_waits.py",
    "tests/browser/test_console.py::test_a_facilitator_runs_a_whole_table",
    "tests/browser/test_projector.py::test_results_of_12_40_and_80_posts_fit_both_projectors",
    "tests/browser/test_mirror.py::test_the_mirror_says_what_the_screen_shows_in_order",
    "tests/browser/test_qa.py",
    "tests/browser/test_organiser.py",
    "tests/browser/test_reports_downloads.py::test_a_pdf_being_prepared_shows_its_progress",
    "tests/browser/test_duplicates.py",
    "tests/browser/test_dissent.py",
    "tests/browser/test_projector.py::test_after_the_timer_the_screen_shows_the_phase",
    "tests/browser/test_console_more.py::test_a_busy_console_on_a_laptop",
    "tests/browser/test_joining.py",
)


# A test asking for one of these needs PostgreSQL whatever its parameters.
POSTGRES_FIXTURES = {"postgres_admin", "postgres_url"}
# Marked `slow` (`make test-fast` leaves them out): the modules' real-server fixtures
# (tests/server.py), and modules whose every test starts processes or renders many PDFs. A
# test that starts a server itself carries the mark.
SERVER_FIXTURES = {"server", "plain_server", "base"}
SLOW_MODULES = {
    "test_hall",
    "test_no_freeze",
    "test_openapi_fuzz",
    "test_pdf_workers",
    "test_report_pdf_pages",
    "test_revocation",
    "test_socket_abuse",
}
