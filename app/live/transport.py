"""A connection's transport, when the server offers one: the seam app/live/wire.py fills."""

from collections.abc import Hashable, Mapping
from typing import Any, Protocol

WIRE_EXTENSION = "tavoli.wire"  # the ASGI scope extension app/live/wire.py adds


class Wire(Protocol):
    """A connection's transport, when the server offers it (app/live/wire.py)."""

    @property
    def kind(self) -> Hashable | None: ...

    def encode(self, text: str) -> bytes: ...

    def buffered(self) -> int: ...

    def write(self, frame: bytes) -> bool: ...


def wire_of(scope: Mapping[str, Any]) -> Wire | None:
    """The connection's `Wire`, when uvicorn serves with app/live/wire.py's protocol."""
    extension = (scope.get("extensions") or {}).get(WIRE_EXTENSION)
    wire: Wire | None = extension.get("wire") if extension else None
    return wire
