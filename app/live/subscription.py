"""A connection's subscription to a table: a bounded queue of pushes, written through to
the transport when it can be, and who holds it (revocation)."""

import asyncio
from collections import deque

from app.live.push import CHECK, Push
from app.live.transport import Wire

# Who holds a connection: the consoles and dashboards (opened with a moderator or a
# facilitator link) of a table, or one participant.
RUNNERS = "runners"


def participant_holder(participant_id: int) -> str:
    return f"participant:{participant_id}"


class Subscription:
    """A connection's queue of pushes: when it overflows the connection is dropped, not awaited.

    It overflows past `maxsize` pushes or past `max_bytes` bytes of the payload under `key`
    (the one its connection sends), counting the push handed out last until the next call
    of `next`: that one is being sent. A single push larger than the bound still goes
    through when nothing else is pending, or a big table could never be followed.

    Written through: with a `wire` (the server's transport, app/live/wire.py) and `seq` set,
    a push that follows `seq` while the connection waits in `next` with nothing queued is
    written to the transport at once, framed once for every socket of its kind; the queue
    and the connection's task are for everything else (a gap, a snapshot, the last push of
    a deleted table). The transport's unsent bytes count against `max_bytes` then.

    Checked: after `recheck` (its holder's link was revoked) nothing is written through and
    `next` answers `CHECK` before any push, until the connection calls `checked`."""

    def __init__(
        self,
        maxsize: int,
        max_bytes: int | None = None,
        key: str | None = None,
        owner: int | None = None,
        holder: str | None = None,
        paces: bool = True,
    ) -> None:
        self._items: deque[Push] = deque()
        # The table's flusher waits for this queue to take each push (`Handover`): a
        # table's own screens pace its pushes; a page that follows every table of the event
        # (the dashboard) does not, or one slow reader would pace them all.
        self.paces = paces
        self.owner = owner  # the participant whose connection this is (their own pushes)
        self._ready = asyncio.Event()
        self._maxsize = maxsize
        self._max_bytes = max_bytes
        self.key = key
        self.holder = holder
        self.checking = False
        self._pending = 0  # bytes queued, plus the push being sent
        self._sending = 0
        self.dropped = False
        self.seq: int | None = None  # the last seq this connection's client has
        self.wire: Wire | None = None
        self._through: Wire | None = None  # the wire while `next` waits on an empty queue

    @property
    def pending_bytes(self) -> int:
        return self._pending

    def deliver(self, push: Push) -> None:
        if self.dropped:
            return
        wire = self._through
        if (
            wire is not None
            and not self._items
            and not self.checking
            and self._write_through(wire, push)
        ):
            return
        size = push.size(self.key)
        over_bytes = (
            self._max_bytes is not None
            and self._pending > 0
            and self._pending + size > self._max_bytes
        )
        if len(self._items) >= self._maxsize or over_bytes:
            self.drop()
            return
        self._items.append(push)
        if self.paces:
            push.handover.add()
        self._pending += size
        self._ready.set()

    def _write_through(self, wire: Wire, push: Push) -> bool:
        """Write `push` now if it follows what the client has; False: queue it instead."""
        key = self.key
        if key is None or not self.follows(push):
            return False
        kind = wire.kind
        if kind is None:  # an extension this module cannot frame for
            return False
        self.seq = push.seq
        if key not in push.payloads:
            return True  # nothing for this audience
        frame = push.frame(key, wire, kind)
        buffered = wire.buffered()
        if self._max_bytes is not None and buffered and buffered + len(frame) > self._max_bytes:
            self.drop()  # the client stopped reading: it comes back and resynchronises
            return True
        wire.write(frame)  # a closing connection refuses it: its task is ending anyway
        return True

    def follows(self, push: Push) -> bool:
        """`push` continues what this connection's client has, and was rendered for it."""
        return (
            not push.final
            and not push.own
            and push.prev_seq == self.seq
            and (self.key is None or push.covers(self.key))
        )

    def recheck(self) -> None:
        """Its holder's link may no longer open it: hold everything until it is checked."""
        self.checking = True
        self._ready.set()

    def checked(self) -> None:
        """The link still holds: what was held goes out in order."""
        self.checking = False

    def drop(self) -> None:
        """Give up on this subscriber: its queue is freed now, `next` answers None."""
        self.dropped = True
        self._release()
        self._pending = self._sending = 0
        self._ready.set()

    def _release(self) -> None:
        """Nobody will take what is queued: the flusher must not wait for it."""
        while self._items:
            push = self._items.popleft()
            if self.paces:
                push.handover.taken()

    async def next(self) -> Push | None:
        """The next push; None once this subscriber was dropped for falling behind; `CHECK`
        (before any push) when its link must be checked again."""
        self._pending -= self._sending  # the previous push was sent
        self._sending = 0
        while not self._items and not self.dropped and not self.checking:
            self._ready.clear()
            self._through = self.wire if self.seq is not None else None
            try:
                await self._ready.wait()
            finally:
                self._through = None
        if self.dropped:
            return None
        if self.checking:
            return CHECK
        push = self._items.popleft()
        if self.paces:
            push.handover.taken()
        self._sending = push.size(self.key)
        return push
