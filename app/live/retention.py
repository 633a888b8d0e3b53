"""The retention sweep in the server: at start, then every `interval` seconds, erase the
personal data of events past their retention (services/privacy.purge_expired) in a thread,
and publish what it changed (the consoles drop the paper participants' names)."""

import asyncio
import contextlib
import logging

from sqlalchemy import Engine

from app.db import open_session
from app.live.broadcaster import Broadcaster
from app.services.privacy import purge_expired
from app.services.tables import Change

log = logging.getLogger(__name__)
STOP_SECONDS = 10.0  # a sweep in progress gets this long to finish at shutdown


def sweep(engine: Engine) -> list[Change]:
    with open_session(engine) as session:
        return purge_expired(session)


class Sweeper:
    """The periodic sweep. Stopping lets a sweep in progress finish (cancelling it would
    leave its thread holding a connection past the engine's disposal), then ends."""

    def __init__(self, engine: Engine, live: Broadcaster, interval: float) -> None:
        self._engine, self._live, self._interval = engine, live, interval
        self._stopping = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                changes = await asyncio.to_thread(sweep, self._engine)
            except Exception:  # a failed sweep must not stop the next one
                log.exception("retention sweep failed")
            else:
                for change in changes:
                    self._live.publish(change)
                if changes:
                    log.info("retention sweep: erased personal data at %d tables", len(changes))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._stopping.wait()

    async def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_SECONDS):
                await asyncio.shield(self.task)
        self.task.cancel()


def start(engine: Engine, live: Broadcaster, interval: float) -> Sweeper | None:
    """The sweeper, or None when `interval` is 0 (sweeps off: run `app.cli purge`)."""
    if interval <= 0:
        return None
    return Sweeper(engine, live, interval)


async def stop(sweeper: Sweeper | None) -> None:
    if sweeper is not None:
        await sweeper.stop()
