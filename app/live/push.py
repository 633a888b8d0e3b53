"""A push: one message for every connection of a table, rendered once per audience, and
the hand-over its flusher waits for."""

import asyncio
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from app.live.transport import Wire


class Handover:
    """How many subscriptions still hold a push in their queue; `done` is set once none does
    (each sender has taken it). The table's flusher waits for it before the next push."""

    __slots__ = ("done", "pending")

    def __init__(self) -> None:
        self.pending = 0
        self.done = asyncio.Event()

    def add(self) -> None:
        self.pending += 1

    def taken(self) -> None:
        self.pending -= 1
        if self.pending <= 0:
            self.done.set()


@dataclass(frozen=True)
class Push:
    """One message for every connection of a table, rendered once per audience.

    `rendered` names the payload keys that were rendered (None: all of them); a missing key
    outside it means "nothing for you", one not rendered means "resynchronise". A `final`
    push says the table is gone: connections send their payload and close."""

    channel: str
    seq: int
    prev_seq: int
    payloads: Mapping[str, str]
    rendered: frozenset[str] | None = None
    final: bool = False
    # One participant's own state (votes, dots left) for their own connections only
    # (`Hub.deliver_own`); outside the table's seq chain, its fragments carry their seq.
    own: bool = False
    _sizes: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _frames: dict[tuple[str, Hashable], bytes] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    handover: Handover = field(default_factory=Handover, init=False, repr=False, compare=False)

    def size(self, key: str | None) -> int:
        """Bytes of the payload under `key` (UTF-8), measured once per push and key."""
        if key is None or key not in self.payloads:
            return 0
        size = self._sizes.get(key)
        if size is None:
            size = self._sizes[key] = len(self.payloads[key].encode())
        return size

    def covers(self, key: str) -> bool:
        return self.rendered is None or key in self.rendered

    def frame(self, key: str, wire: Wire, kind: Hashable) -> bytes:
        """The payload under `key` as a frame of `kind`, encoded once per push, key and kind."""
        frame = self._frames.get((key, kind))
        if frame is None:
            frame = self._frames[key, kind] = wire.encode(self.payloads[key])
        return frame


# What `Subscription.next` answers when the connection must check its link first.
CHECK = Push(channel="", seq=0, prev_seq=0, payloads={})


def table_channel(table_id: int) -> str:
    return f"table:{table_id}"
