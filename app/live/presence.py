"""Who is connected to each table: counted in this worker and, with a shared hub (Redis),
across workers.

Each worker writes its changes at once (then a presence notice) and every
`presence_seconds / 3` rewrites its members and reads the counts of the tables it watches
again (a killed worker's participants expire). The count is distinct participants, cached
per table (`counts`, read by snapshot builders in threads)."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app.live.hub import PRESENCE, Hub, Notice

log = logging.getLogger(__name__)


class Presence:
    """The shared counts. `here()` gives this worker's participants per table, `changed`
    marks a table whose count moved (its next push shows it), `tick` runs at every tick
    (the broadcaster catches up on lost notices there)."""

    def __init__(
        self,
        hub: Hub,
        *,
        here: Callable[[], dict[int, tuple[int, ...]]],
        changed: Callable[[int], None],
        tick: Callable[[set[int]], Awaitable[None]],
    ) -> None:
        self._hub = hub
        self._here = here
        self._changed = changed
        self._tick = tick
        # People per table across workers (read by snapshot builders in threads), the
        # tables whose local presence to write and whose count to read again.
        self.counts: dict[int, int] = {}
        self._present: set[int] = set()
        self._recount: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._hub.shared:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())

    def changed_here(self, table_id: int) -> None:
        """Someone arrived at or left the table in this worker."""
        if not self._hub.shared:
            self._changed(table_id)
            return
        self._present.add(table_id)
        self._wake.set()

    def recount(self, table_id: int) -> None:
        self._recount.add(table_id)
        self._wake.set()

    def watching(self, table_id: int) -> None:
        """A connection to this table opened here: with a shared hub, make sure its count
        is known (it may never have been read in this worker)."""
        if self._hub.shared and table_id not in self.counts:
            self.recount(table_id)

    def count(self, table_id: int, here: int) -> int:
        """`here` participants connected to this worker; with a shared hub, the latest
        count read across workers (any thread)."""
        if self._hub.shared:
            return self.counts.get(table_id, here)
        return here

    def forget(self, table_id: int) -> None:
        """No socket of the table here any more: read its count again when one opens."""
        self.counts.pop(table_id, None)

    async def _run(self) -> None:
        """Write this worker's presence changes to the hub and tell the others; read the
        counts of the tables that changed; every `presence_seconds / 3`, rewrite every
        member before it expires and read every watched table's count again (a killed
        worker's participants drop out of it)."""
        loop = asyncio.get_running_loop()
        every = self._hub.presence_seconds / 3
        next_tick = loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_tick - loop.time())):
                    await self._wake.wait()
            self._wake.clear()
            tick = loop.time() >= next_tick
            if tick:  # from the database: it answers while Redis is away
                await self._tick(self._hub.watched_tables())
            present, self._present = self._present, set()
            recount, self._recount = self._recount, set()
            try:
                here = self._here()
                if tick:
                    await self._hub.refresh_presence(here)
                    next_tick = loop.time() + every
                    watched = self._hub.watched_tables()
                    for table_id in set(self.counts) - watched:
                        del self.counts[table_id]
                    recount |= watched
                elif present:
                    await self._hub.share_presence({t: here.get(t, ()) for t in present})
                for table_id in present:
                    self._hub.announce(Notice(PRESENCE, table_id))
                recount |= present
                counts = await self._hub.count_people(recount) if recount else {}
            except Exception as exc:  # Redis away: try again shortly
                log.warning("presence not shared (%s); retrying", exc)
                self._present |= present
                self._recount |= recount
                await asyncio.sleep(1.0)
                continue
            for table_id, count in counts.items():
                if self.counts.get(table_id) != count:
                    self.counts[table_id] = count
                    self._changed(table_id)

    async def stop(self) -> None:
        """This worker's participants leave the shared count now, not at their expiry."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        try:
            async with asyncio.timeout(1.0):
                await self._hub.refresh_presence({})
        except Exception:
            log.warning("could not remove this worker's presence from the hub")
            return
        for table_id in self.counts:
            self._hub.announce(Notice(PRESENCE, table_id))
