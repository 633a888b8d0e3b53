"""The garbage collector's pace for a worker that holds thousands of sockets.

CPython's full collection walks every tracked object with the GIL held. With 2,000 screens
(about 800,000 objects) it stopped the worker for 0.3-0.6 s, a dozen times a minute while
screens connected and votes came in: the slowest votes of a whole event were those caught
behind one (`benchmarks/fanout.py --scenario event`, docs/performance.md). So, while the
worker serves:

- what was loaded at start (modules, templates, the app) is frozen: never walked again;
- young collections run every `YOUNG` new objects instead of 700 (each stays short) and
  never escalate to a full collection by themselves;
- a full collection runs at a quiet moment (no change to any table for `QUIET` seconds), at
  most every `MIN_GAP` seconds, and at the latest every `MAX_GAP` seconds even through a
  busy stretch: the cycles that outlive the young collections wait that long at most.

Objects freed by their reference count (nearly all of them) are freed at once as ever.
Stopping gives back the settings found at start (the tests run many apps in one process).
"""

import asyncio
import contextlib
import gc
from collections.abc import Callable

YOUNG = 10_000
NEVER = 1_000_000_000  # young collections before a full one: the full ones are ours
QUIET = 2.0
MIN_GAP = 60.0
MAX_GAP = 600.0
TICK = 1.0


def due(*, since_full: float, quiet_for: float) -> bool:
    """Whether a full collection runs now, `since_full` seconds after the last one."""
    return since_full >= MAX_GAP or (since_full >= MIN_GAP and quiet_for >= QUIET)


class Pace:
    """Started and stopped with the app (its lifespan); `quiet_for` says how long no table
    has changed (`Broadcaster.quiet_for`)."""

    def __init__(self, quiet_for: Callable[[], float]) -> None:
        self._quiet_for = quiet_for
        self._previous = gc.get_threshold()
        self._task: asyncio.Task[None] | None = None
        self.full_collections = 0

    def start(self) -> None:
        self._previous = gc.get_threshold()
        gc.freeze()  # a splice of lists: no walk
        gc.set_threshold(YOUNG, 10, NEVER)
        self._task = asyncio.create_task(self._run(), name="gc-pace")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        gc.set_threshold(*self._previous)
        gc.unfreeze()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(TICK)
            if due(since_full=loop.time() - last, quiet_for=self._quiet_for()):
                gc.collect()
                self.full_collections += 1
                last = loop.time()
