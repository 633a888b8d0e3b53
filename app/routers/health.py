"""`GET /healthz`: can this worker serve? For a load balancer or a container's HEALTHCHECK.

Only the database decides (`SELECT 1`): every page, vote and push needs it, and it holds
everything. Redis holds nothing worth taking a worker out for: while it is away the
workers still serve (pushes to their own sockets, rate limits counted per worker, the other
workers' screens caught up from the database), so the realtime hub (`Hub.check`) and the
rate limits' shared storage are reported "degraded" in the body of a 200. Taking every
worker out of the balancer at once because their shared Redis blinked would turn a few
seconds of degraded service into an outage.

Each check is bounded by `CHECK_TIMEOUT`, so a stuck connection gives an answer rather than
a probe that hangs. The answer names the part and nothing more (no host, no error text: the
route is public); the reason goes to the server log. No rate limit, no session, no
access-log line when healthy (app/logs.py).
"""

import asyncio
import logging
from collections.abc import Awaitable
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text

from app import ratelimit
from app.live.hub import Hub

PATH = "/healthz"
CHECK_TIMEOUT = 5.0  # seconds per part; Docker's HEALTHCHECK below gives the probe 10

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

Status = Literal["ok", "failed"]
Shared = Literal["ok", "degraded"]


class HealthOut(BaseModel):
    """How each part this worker depends on answered; only the database fails a worker."""

    database: Status = Field(description="`SELECT 1` on the database; `failed` answers 503.")
    hub: Shared = Field(
        description="The realtime hub (`HUB_URL`) can carry notices to the other workers; "
        "`degraded` while Redis is away (screens on other workers catch up from the database)."
    )
    rate_limits: Shared = Field(
        description="The rate limits' shared storage (`TAVOLI_LIMITS_URL`) answers; "
        "`degraded` while each worker counts alone."
    )


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
    summary="Health of this worker: database, realtime hub, rate limits",
    responses={503: {"model": HealthOut, "description": "The database failed or did not answer."}},
)
async def healthz(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    hub: Hub = request.app.state.hub
    # asyncio's executor, not the request threads: a worker busy with requests still answers.
    database, hub_status = await asyncio.gather(
        _check("database", asyncio.to_thread(_select_one, engine)),
        _check("hub", hub.check()),
    )
    limits_degraded = await asyncio.to_thread(ratelimit.degraded)  # at most one short try
    health = HealthOut(
        database=database,
        hub="ok" if hub_status == "ok" else "degraded",
        rate_limits="degraded" if limits_degraded else "ok",
    )
    return JSONResponse(
        health.model_dump(),
        status_code=200 if database == "ok" else 503,
        headers={"cache-control": "no-store"},
    )
