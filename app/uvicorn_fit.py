"""Whether uvicorn's protocol still has what a Tavoli subclass of it builds on.

app/live/wire.py and app/protocol.py extend uvicorn's WebSocket and HTTP protocols, whose
internals are no public API. Instead of pinning uvicorn, each module checks at import that the
class it extends has the methods its subclass overrides or calls, with the same parameters,
and that an instance of the subclass, made without a connection, has the attributes it reads.
When it does not (or `TAVOLI_PROTOCOLS=plain`), the module exports uvicorn's own protocol
instead, and says why in one log line: the server then runs as with `--ws websockets-sansio`
or `--http httptools`, without Tavoli's additions. `make test` runs tests/test_wire.py against
the newest uvicorn as well (scripts/test_newest_uvicorn.sh), so a release that breaks the
check is known the day it lands.
"""

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

# uvicorn's own logger: the line goes where the server's start-up lines go.
log = logging.getLogger("uvicorn.error")

# A method's parameter names after `self`.
Methods = Mapping[str, tuple[str, ...]]
Attributes = Mapping[str, type | tuple[type, ...]]


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    """The probe instance's application: never called."""


def unmet(
    base: type,
    methods: Methods,
    make: Callable[[Config, ServerState, dict[str, Any], asyncio.AbstractEventLoop], object],
    attributes: Attributes,
) -> str | None:
    """What `base` lacks for the subclass `make` builds, or None when it has it all."""
    name = base.__name__
    for method_name, wanted in methods.items():
        method = getattr(base, method_name, None)
        if not callable(method):
            return f"{name}.{method_name} is gone"
        try:
            parameters = tuple(inspect.signature(method).parameters)[1:]
        except (TypeError, ValueError):
            return f"{name}.{method_name} has no readable signature"
        if parameters != wanted:
            got, want = ", ".join(parameters), ", ".join(wanted)
            return f"{name}.{method_name} takes ({got}), not ({want})"
    loop = asyncio.new_event_loop()
    try:
        config = Config(_no_app, log_config=None, lifespan="off")
        instance = make(config, ServerState(), {}, loop)
    except Exception as exc:  # whatever a changed constructor raises
        return f"an instance could not be made on {name}: {exc!r}"
    finally:
        loop.close()
    for attribute, kind in attributes.items():
        if not hasattr(instance, attribute):
            return f"{name} has no attribute {attribute}"
        value = getattr(instance, attribute)
        if not isinstance(value, kind):
            return f"{name}.{attribute} is a {type(value).__name__}, not {_names(kind)}"
    return None


def choose(fast: type, plain: type, unfit: str | None, what: str) -> type:
    """`fast` when nothing is unfit; else `plain`, saying why in one line."""
    if unfit is None:
        return fast
    log.warning(
        "Serving %s through uvicorn's own %s, without Tavoli's additions: %s",
        what,
        plain.__name__,
        unfit,
    )
    return plain


def _names(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)
