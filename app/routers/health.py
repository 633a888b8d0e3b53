"""`GET /healthz`: can this worker serve? For a load balancer or a container's HEALTHCHECK.

It asks the two things every page and push depends on: the database (`SELECT 1`) and the
realtime hub (`Hub.check`: Redis when several workers share the tables). Each check is
bounded by `CHECK_TIMEOUT`, so a stuck connection gives a 503 rather than a probe that hangs.
The answer names the part that failed and nothing more (no host, no error text: the route is
public); the reason goes to the server log. No rate limit, no session, no access-log line when
healthy (app/logs.py).
"""

import asyncio
import logging
from collections.abc import Awaitable
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from app.live.hub import Hub

PATH = "/healthz"
CHECK_TIMEOUT = 5.0  # seconds per part; Docker's HEALTHCHECK below gives the probe 10

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

Status = Literal["ok", "failed"]


class HealthOut(BaseModel):
    """How each part this worker depends on answered."""

    database: Status = Field(description="`SELECT 1` on the database.")
    hub: Status = Field(description="The realtime hub (`HUB_URL`) can carry pushes.")


def _select_one(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _check(part: str, check: Awaitable[object]) -> Status:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT)
    except Exception as exc:  # any failure is "failed": the probe must answer
        log.warning("health check: %s failed: %s: %s", part, type(exc).__name__, exc)
        return "failed"
    return "ok"


@router.get(
    PATH,
    response_model=HealthOut,
    summary="Health of this worker: database and realtime hub",
    responses={503: {"model": HealthOut, "description": "A part failed or did not answer."}},
)
async def healthz(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    hub: Hub = request.app.state.hub
    # asyncio's executor, not the request threads: a worker busy with requests still answers.
    database, hub_status = await asyncio.gather(
        _check("database", asyncio.to_thread(_select_one, engine)),
        _check("hub", hub.check()),
    )
    health = HealthOut(database=database, hub=hub_status)
    healthy = database == "ok" and hub_status == "ok"
    return JSONResponse(
        health.model_dump(),
        status_code=200 if healthy else 503,
        headers={"cache-control": "no-store"},
    )
