"""The garbage collector's pace (app/gc_pace.py): a full collection stops the whole worker
for as long as it walks every object (0.3-0.6 s with 2,000 screens), so it runs at a quiet
moment, or at the latest after MAX_GAP, never in the middle of a vote by itself."""

import asyncio
import gc

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app import gc_pace
from app.config import Settings
from app.gc_pace import Pace, due
from app.main import create_app


def test_a_full_collection_waits_for_a_quiet_moment_but_not_forever() -> None:
    assert not due(since_full=gc_pace.MIN_GAP - 1, quiet_for=3600)  # not twice in a minute
    assert due(since_full=gc_pace.MIN_GAP, quiet_for=gc_pace.QUIET)  # quiet: now
    assert not due(since_full=gc_pace.MAX_GAP - 1, quiet_for=0.1)  # votes coming in: later
    assert due(since_full=gc_pace.MAX_GAP, quiet_for=0.0)  # ...but not forever


@pytest.mark.parametrize(("quiet_for", "expected"), [(0.0, False), (60.0, True)])
def test_the_collector_runs_a_full_collection_only_when_the_tables_are_quiet(
    monkeypatch: pytest.MonkeyPatch, quiet_for: float, expected: bool
) -> None:
    monkeypatch.setattr(gc_pace, "MIN_GAP", 0.0)
    monkeypatch.setattr(gc_pace, "TICK", 0.01)
    full: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full.append(1)

    async def serve_a_while() -> int:
        pace = Pace(lambda: quiet_for)
        pace.start()
        gc.callbacks.append(seen)
        try:
            # Garbage in cycles, as a busy worker makes: never enough for a full collection
            # to start by itself, whatever the thresholds.
            for _ in range(50):
                loop: list[object] = []
                loop.append(loop)
                await asyncio.sleep(0.005)
        finally:
            gc.callbacks.remove(seen)
            await pace.stop()
        return pace.full_collections

    before = gc.get_threshold()
    collections = asyncio.run(serve_a_while())
    assert (collections > 0) is expected
    assert bool(full) is expected
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0  # given back


def test_the_server_serves_with_the_pace_and_gives_the_settings_back(
    settings: Settings, engine: Engine
) -> None:
    assert Settings.model_fields["tavoli_gc_pace"].default is True  # what a server runs with
    before = gc.get_threshold()
    app = create_app(settings.model_copy(update={"tavoli_gc_pace": True}))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_threshold() == (gc_pace.YOUNG, 10, gc_pace.NEVER)
        assert gc.get_freeze_count() > 0  # what start loaded is never walked again
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
