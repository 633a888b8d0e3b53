"""Fixtures: a fresh SQLite file per test, the app with its lifespan, plain factories."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.models import Event, Participant, Table
from app.services import events, participants, tables

ADMIN_TOKEN = "test-organiser-token"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path}/tavoli.db",
        hub_url="memory://",
        tavoli_admin_token=ADMIN_TOKEN,
        tavoli_secret_key="test-secret-key",
        tavoli_push_interval=0.02,
        tavoli_warm_pdf=False,  # a test app lives a moment: no PDF engine to warm
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    SQLModel.metadata.create_all(engine)
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
    return participants.join(session, table=table, event=tables.event_of(session, table), **fields)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running on the main thread."""
    items.sort(key=lambda item: "browser" in item.keywords)
