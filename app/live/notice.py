"""What one worker tells the others about a table (through a shared hub), and its kinds."""

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SEQ, PRESENCE, TIMER, DELETED, REVOKED = "seq", "presence", "timer", "deleted", "revoked"


@dataclass(frozen=True)
class Notice:
    """What one worker tells the others about a table; each acts on it for its own sockets."""

    kind: str  # SEQ, PRESENCE, TIMER, DELETED or REVOKED
    table_id: int
    seq: int | None = None
    ends_at: dt.datetime | None = None
    owner: int | None = None  # SEQ: the participant whose own state the commit changed
    holder: str | None = None  # REVOKED: whose connections check their link again

    def encode(self, origin: str) -> str:
        data: dict[str, Any] = {"w": origin, "k": self.kind, "t": self.table_id}
        if self.seq is not None:
            data["s"] = self.seq
        if self.owner is not None:
            data["p"] = self.owner
        if self.ends_at is not None:
            data["e"] = self.ends_at.isoformat()
        if self.holder is not None:
            data["h"] = self.holder
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def decode(raw: str | bytes) -> tuple[str, "Notice"]:
        data = json.loads(raw)
        ends = data.get("e")
        notice = Notice(
            kind=str(data["k"]),
            table_id=int(data["t"]),
            seq=int(data["s"]) if "s" in data else None,
            ends_at=dt.datetime.fromisoformat(ends) if ends else None,
            owner=int(data["p"]) if "p" in data else None,
            holder=str(data["h"]) if "h" in data else None,
        )
        return str(data["w"]), notice


OnNotice = Callable[[Notice], None]
OnResync = Callable[[], None]
