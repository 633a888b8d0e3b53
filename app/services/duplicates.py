"""Likely duplicates among a table's wall, for the moderator to merge or dismiss.

The scoring is `services/similarity.py` (pure, shared with other callers); this module
binds it to a table: the posts on the wall (visible: merged, hidden and queued posts are
left out), the event's own glossary lines, the pairs a moderator dismissed (stored, left
out for good). Each process keeps one index per table and brings it up to date from the
wall it is given: a new post costs its own row (`Index.add`), an edited or removed one is
dropped or re-added, a changed glossary rebuilds. Pushes (built after the commit, off the
request path), the console's page and the API all read the same `suggestions`.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.enums import Phase, Status
from app.models import DismissedPair, Event, Proposal, Table
from app.services.errors import Invalid
from app.services.phases import require_open
from app.services.rows import by_id
from app.services.similarity import DEFAULT_GLOSSARY, Glossary, Index, Item, Pair
from app.services.tables import Change, event_of, table_write
from app.services.text import clean_paragraphs

DEFAULT_LIMIT = 20
MAX_LIMIT = 5000
# The console lists the best few pairs worth a look, above this score: on the development
# set 8 in 10 pairs above it are duplicates (6.7 in 10 above 0.3, 9 in 10 above 0.45), and
# they are 57 % of all its duplicates. The API lists every pair, down to 0.
CONSOLE_MIN_SCORE = 0.35
CONSOLE_LIMIT = 8
GLOSSARY_LIMIT = 5000
CACHED_TABLES = 256
# While collecting and discussing: the phases in which the wall fills up and merges happen.
SUGGESTING = (Phase.COLLECT, Phase.DISCUSSION)


@dataclass
class _Cached:
    glossary_text: str
    index: Index
    texts: dict[int, Item]
    lock: threading.Lock


_lock = threading.Lock()  # guards the dict below; each table's index has its own lock
_indexes: "OrderedDict[int, _Cached]" = OrderedDict()


def glossary_for(event: Event) -> Glossary:
    return DEFAULT_GLOSSARY.extended(event.glossary) if event.glossary else DEFAULT_GLOSSARY


def wall_items(session: Session, table: Table) -> list[Item]:
    rows = session.exec(
        select(Proposal.id, Proposal.kind, Proposal.title, Proposal.body)
        .where(Proposal.table_id == table.id, Proposal.status == Status.VISIBLE)
        .order_by(col(Proposal.created_seq))
    ).all()
    return [Item(pid or 0, kind, title, body) for pid, kind, title, body in rows]


def _entry(table_id: int) -> _Cached | None:
    with _lock:
        cached = _indexes.get(table_id)
        if cached is not None:
            _indexes.move_to_end(table_id)
        return cached


def _keep(table_id: int, cached: _Cached) -> None:
    with _lock:
        _indexes[table_id] = cached
        _indexes.move_to_end(table_id)
        while len(_indexes) > CACHED_TABLES:
            _indexes.popitem(last=False)


def _updated(cached: _Cached, wall: dict[int, Item]) -> None:
    """Bring the index up to date with the wall (under the entry's lock)."""
    for pid in [pid for pid, item in cached.texts.items() if wall.get(pid) != item]:
        cached.index.remove(pid)  # off the wall, or edited (re-added below)
        del cached.texts[pid]
    for pid, item in wall.items():
        if pid not in cached.texts:
            cached.index.add(item)
            cached.texts[pid] = item


def dismissed_of(session: Session, table: Table) -> frozenset[tuple[int, int]]:
    rows = session.exec(
        select(DismissedPair.low_id, DismissedPair.high_id).where(
            DismissedPair.table_id == table.id
        )
    ).all()
    return frozenset((low, high) for low, high in rows)


def ranked(
    table_id: int,
    items: Iterable[Item],
    glossary_text: str,
    dismissed: Iterable[tuple[int, int]],
    *,
    limit: int,
    min_score: float = 0.0,
) -> list[Pair]:
    """The wall's likely duplicates, best first, dismissed pairs left out. A table's index
    is read and updated under its own lock: two tables never wait for each other."""
    wall = {int(item.id): item for item in items}
    cached = _entry(table_id)
    if cached is None or cached.glossary_text != glossary_text:
        glossary = DEFAULT_GLOSSARY.extended(glossary_text) if glossary_text else DEFAULT_GLOSSARY
        cached = _Cached(
            glossary_text, Index(wall.values(), glossary), dict(wall), threading.Lock()
        )
        _keep(table_id, cached)
    with cached.lock:
        _updated(cached, wall)
        return cached.index.pairs(limit, min_score=min_score, skip=dismissed)


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid("Ask for 1 to 5,000 pairs", field="limit")
    return limit


def suggestions(session: Session, table: Table, *, limit: int = DEFAULT_LIMIT) -> list[Pair]:
    """Every door's list (the API's; the console reads the same through `for_state`)."""
    checked_limit(limit)
    return ranked(
        table.id or 0,
        wall_items(session, table),
        event_of(session, table).glossary,
        dismissed_of(session, table),
        limit=limit,
    )


def dismiss(session: Session, table: Table, a: int, b: int) -> Change:
    """Never suggest these two posts as duplicates again. Redraws the consoles (layout)."""
    if a == b:
        raise Invalid("Choose two different posts", field="b")
    with table_write(session, table.id or 0, layout=True) as write:
        require_open(write.table)
        for name, pid in (("a", a), ("b", b)):
            proposal = by_id(session, Proposal, pid)
            if proposal is None or proposal.table_id != write.table.id:
                raise Invalid("No post with this id on your table", field=name)
        low, high = sorted((a, b))
        if session.get(DismissedPair, (write.table.id, low, high)) is not None:
            write.nothing()
        else:
            session.add(DismissedPair(table_id=write.table.id or 0, low_id=low, high_id=high))
    return write.change


def clean_glossary(text: str) -> str:
    """An event's own glossary lines ("PIS = pronto intervento sociale"), checked: each names two
    or more forms of one concept. Blank lines go."""
    clean = clean_paragraphs(text, field="glossary", limit=GLOSSARY_LIMIT)
    lines = [line.strip() for line in clean.splitlines() if line.strip()]
    for line in lines:
        if len([part for part in line.split("=") if part.strip()]) < 2:
            raise Invalid(
                "Write each line as two or more words that mean the same, separated by =",
                field="glossary",
            )
    return "\n".join(lines)
