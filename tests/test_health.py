"""`/healthz`: 200 while the database answers (a hub or rate-limit storage away is "degraded"
in the body, not a worker to take out), 503 naming the database when it does not, never a
hang; healthy probes stay out of the access log."""

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db import make_engine
from app.live.hub import Hub
from app.routers import health
from tests.server import free_port, running_server


class DownHub(Hub):
    """A hub whose backend is gone, as a Redis hub's is when Redis stops."""

    async def check(self) -> None:
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")


class StuckHub(Hub):
    """A hub whose backend never answers (a dropped network path, not a refusal)."""

    async def check(self) -> None:
        await asyncio.Event().wait()


def test_healthy_worker_answers_200_ok_for_both_parts(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "hub": "ok", "rate_limits": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_unreachable_database_answers_503_naming_the_database(
    app: FastAPI, client: TestClient
) -> None:
    closed = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test")
    app.state.engine = closed  # the server went away after the worker started
    try:
        response = client.get("/healthz")
    finally:
        closed.dispose()
    assert response.status_code == 503
    assert response.json() == {"database": "failed", "hub": "ok", "rate_limits": "ok"}
    assert "127.0.0.1" not in response.text  # no connection details to the public


def test_a_failing_hub_is_degraded_not_a_worker_to_take_out(
    app: FastAPI, client: TestClient
) -> None:
    """Redis holds nothing: every worker answering 503 at once because it blinked would take
    the whole event offline (each still serves its own sockets and every vote)."""
    app.state.hub = DownHub()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "hub": "degraded", "rate_limits": "ok"}
    assert "redis" not in response.text


def test_a_hub_that_never_answers_is_degraded_within_the_timeout(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.3)
    app.state.hub = StuckHub()
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    assert response.json()["hub"] == "degraded"


def test_healthz_is_documented_with_both_answers(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/healthz"]["get"]
    for status in ("200", "503"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/HealthOut"}


@pytest.mark.slow
def test_access_log_keeps_requests_but_not_healthy_probes(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    with running_server(
        f"sqlite:///{tmp_path}/tavoli.db",
        log_path,
        TAVOLI_ADMIN_TOKEN="health-organiser-token",
        TAVOLI_SECRET_KEY="health-secret-key",
    ) as base:
        for _ in range(3):
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{base}/api/tables/NOSUCH", timeout=10).status_code == 404
        time.sleep(0.2)  # let the last access line reach the file
    log = log_path.read_text()
    assert "/api/tables/NOSUCH" in log
    assert "/healthz" not in log


def test_a_failing_probe_is_still_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    access = logging.getLogger("uvicorn.access")  # the filter is installed by create_app
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.9:5123", "GET", "/healthz", "1.1", 200)
        access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.9:5124", "GET", "/healthz", "1.1", 503)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ['10.0.0.9:5124 - "GET /healthz HTTP/1.1" 503']
