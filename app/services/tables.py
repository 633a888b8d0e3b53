"""Tables (tavoli): join codes, voting rules and the per-table sequence number."""

import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import bindparam, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app import ratelimit
from app.db import writers_queue
from app.enums import Phase, TableFormat, Weighting
from app.models import Event, Participant, PhaseChange, Proposal, Table, Vote
from app.services.consensus import RULES
from app.services.errors import Conflict, DomainError, Invalid, NotFound
from app.services.formats import of_key
from app.services.methods import VotingRules as VotingRules  # its settings, checked by the method
from app.services.text import clean_line

# No look-alikes: no 0/O, 1/I/L, and no U/V either.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 6

T = TypeVar("T")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    return "".join(raw.split()).upper().replace("-", "")


def checked_format(key: str, voting: VotingRules | None) -> tuple[str, VotingRules | None]:
    """The format as stored, with the voting rules it leaves: a format that fixes its method
    (Q&A: one support per question) takes approval, and refuses another method sent with it."""
    chosen = of_key(key)
    if chosen is None:
        raise Invalid("Unknown table format", field="format")
    fixed = chosen.method()
    if fixed is None:
        return chosen.key, voting
    if voting is not None and voting.mode != fixed.key:
        raise Invalid(
            "A questions and answers table takes one support per question: no other voting method",
            field="voting",
        )
    return chosen.key, VotingRules(fixed.key, 1, 1)


def create_table(
    session: Session,
    *,
    event: Event,
    title: str,
    question: str = "",
    voting: VotingRules,
    weighting: str = Weighting.PERSON,
    format: str = TableFormat.TAVOLO,
) -> Table:
    rule = checked_weighting(weighting)
    clean_title = clean_line(title, field="title", limit=200, required=True)
    clean_question = clean_line(question, field="question", limit=500)
    key, rules = checked_format(format, voting)
    voting = rules or voting
    for _attempt in range(10):
        table = Table(
            event_id=event.id or 0,
            code=new_code(),
            title=clean_title,
            question=clean_question,
            voting_mode=voting.mode,
            dots=voting.dots,
            max_per_proposal=voting.max_per_proposal,
            weighting=rule,
            format=key,
        )
        session.add(table)
        try:
            session.commit()
        except IntegrityError:  # the code was taken: draw again
            session.rollback()
            continue
        session.refresh(table)
        return table
    raise RuntimeError("could not draw a free table code")


def checked_weighting(weighting: str) -> str:
    """A fair counting rule's key, or `Invalid` (`consensus.RULES` holds what each does)."""
    if weighting not in RULES:
        raise Invalid("Unknown counting rule", field="weighting")
    return weighting


def table_by_code(session: Session, code: str) -> Table:
    """The table with this code, for the server's own re-reads. A code that came from a
    client goes through `resolve` or `resolve_for`, which count failed lookups."""
    return anyone(_find(session, code))


def _find(session: Session, code: str) -> Table | None:
    return session.exec(select(Table).where(Table.code == normalise_code(code))).first()


def anyone(table: Table | None) -> Table:
    """The admission of the doors open to all (pages, screens, joining): any known code."""
    if table is None:
        raise NotFound("No table has this code")
    return table


def resolve(
    session: Session,
    code: str,
    *,
    client: str | None,
    known_by: Callable[[Table | None], object] | None = None,
) -> Table:
    """The table behind a code a client sent, at a door open to anyone who has the code.

    The limit is checked before looking: here a success itself would tell that a code
    exists, so once an address is over the limit `lookup` every code answers 429 -- except
    to a caller whose credential `known_by` admits to this table (a phone's cookie on its
    own table's page): it tells nothing the credential did not name, and a hall's phones
    reloading their page are not locked out by someone guessing behind the same address."""
    if client is not None and known_by is not None:
        table = _find(session, code)
        try:
            known_by(table)
        except DomainError:
            pass
        else:
            if table is not None:  # (an admission refuses an unknown code)
                return table
    if client is not None:
        ratelimit.check("lookup", client)
    return resolve_for(session, code, client=client, admit=anyone)[0]


def resolve_for(
    session: Session, code: str, *, client: str | None, admit: Callable[[Table | None], T]
) -> tuple[Table, T]:
    """The table behind a code a client sent, with what `admit` lets the caller use there.

    Codes are guessable (6 of 29 letters), so no door may tell an unknown code from a known
    one it refuses: `admit` gets None for an unknown code and must raise the very error it
    raises for a table the caller may not use (credentials first: no token is 401 with any
    code). Every refusal counts as a failed lookup of the client's address, and once it is
    over the limit `lookup` a refusal is a 429 instead. A caller that `admit` lets in
    passes even then: its credential already names this table, so the answer tells nothing
    (a hall's phones keep voting while someone behind the same address was guessing)."""
    table = _find(session, code)
    try:
        granted = admit(table)
    except DomainError:
        if client is not None:
            ratelimit.hit("lookup", client)  # TooMany (429) once over the limit
        raise
    if table is None:  # an admission that lets in an unknown code is a bug
        raise RuntimeError("admit() must refuse an unknown code")
    return table, granted


def tables_of(session: Session, event: Event) -> list[Table]:
    return list(
        session.exec(select(Table).where(Table.event_id == event.id).order_by(col(Table.id)))
    )


# A push's build reads both: one statement (built once) instead of two.
TABLE_AND_EVENT = (
    select(Table, Event)
    .join(Event, col(Event.id) == Table.event_id)
    .where(Table.id == bindparam("table_id"))
)


def table_and_event(session: Session, table_id: int) -> tuple[Table, Event] | None:
    """A table and its event in one read. While the caller holds the event, `event_of`
    finds it in the session without a statement of its own (the session holds its
    objects weakly)."""
    row = session.exec(TABLE_AND_EVENT, params={"table_id": table_id}).first()
    return (row[0], row[1]) if row is not None else None


def event_of(session: Session, table: Table) -> Event:
    event = session.get(Event, table.event_id)
    if event is None:  # the foreign key makes this impossible
        raise NotFound("No table has this code")
    return event


def bump_seq(session: Session, table_id: int) -> int:
    """Take a table's write lock and return its next sequence number.

    `UPDATE tables SET seq = seq + 1 ... RETURNING seq` locks the table's row on PostgreSQL
    and the database on SQLite until the transaction ends, so writes to one table are
    serialised and commit in sequence order (`lock_table`).
    """
    table = lock_table(session, table_id)
    if table is None:
        raise NotFound("No table has this code")
    return table.seq


@dataclass(frozen=True)
class Change:
    """What a write committed: the caller publishes `seq` to the table's screens.

    `seq` is None when the write changed nothing (a double tap): nothing to publish."""

    table_id: int
    seq: int | None


@dataclass
class Write:
    """One unit of work on one table, inside `table_write`."""

    table: Table
    seq: int
    changed: bool = True

    def nothing(self) -> None:
        """Nothing to write after all: roll back, so no sequence number is spent."""
        self.changed = False

    @property
    def change(self) -> Change:
        return Change(self.table.id or 0, self.seq if self.changed else None)


# Built once: building it, and the ORM matching its result to the session's objects,
# cost more than the statement (a vote's batch runs it once per table).
LOCK_TABLE = (
    update(Table)
    .where(col(Table.id) == bindparam("table_id"))
    .values(seq=col(Table.seq) + bindparam("seqs"))
    .returning(Table)
)


def lock_table(session: Session, table_id: int, *, seqs: int = 1) -> Table | None:
    """Lock a table (its row on PostgreSQL, the database on SQLite) and take its next `seqs`
    sequence numbers: the lock and the table as it now stands in one statement (None: no
    such table). Every write takes its table's lock here."""
    return session.scalars(
        LOCK_TABLE,
        {"table_id": table_id, "seqs": seqs},
        # The returned row refreshes the table's object; nothing else needs matching.
        execution_options={"populate_existing": True, "synchronize_session": False},
    ).one_or_none()


_TABLES = Table.metadata.tables["tables"]
LOCK_TABLE_ROW = (
    _TABLES.update()
    .where(_TABLES.c.id == bindparam("table_id"))
    .values(seq=_TABLES.c.seq + bindparam("seqs"))
    .returning(*_TABLES.c)
)


def lock_table_row(session: Session, table_id: int, *, seqs: int = 1) -> Table | None:
    """`lock_table` for a unit of work that writes through Core alone (a batch of votes):
    the same lock and seqs in the same statement, the table as a plain value that no
    session tracks (loading it through the ORM cost a vote's batch more than the
    statement). Nothing set on it is saved: `set_seqs` writes what the unit changes."""
    row = (
        session.connection()
        .execute(LOCK_TABLE_ROW, {"table_id": table_id, "seqs": seqs})
        .one_or_none()
    )
    return None if row is None else Table.model_construct(**row._mapping)


def keep_held_current(session: Session, table: Table, **seqs: int) -> None:
    """The session's own object of a table locked by `lock_table_row`, if it holds one (a
    door's session that voted in its own unit of work), takes the values the unit
    committed, with no statement: as `lock_table` keeps it current."""
    held = session.identity_map.get(Session.identity_key(Table, table.id))
    if held is None:
        return
    for column in _TABLES.c:
        set_committed_value(held, column.key, seqs.get(column.key, getattr(table, column.key)))


def set_seqs(session: Session, table_id: int, **seqs: int) -> None:
    """Write a locked table's `seq` and/or `layout_seq` (after `lock_table_row`)."""
    session.connection().execute(_TABLES.update().where(_TABLES.c.id == table_id).values(**seqs))


@contextmanager
def table_write(session: Session, table_id: int, *, layout: bool = False) -> Iterator[Write]:
    """The one write path: lock the table FIRST, then read and check, write, commit.

    Everything is read after the lock (the session's cache is expired), so no check can see
    a state that another write is changing: a vote waiting behind a merge finds the merged
    proposal gone, a vote waiting behind the close finds the table closed. An error rolls
    back (and frees the lock) before it leaves; `layout` marks a change that redraws whole
    regions (phase, screen, moderation) rather than cards and tallies. Every write spends a
    seq and its caller publishes it (a join too: the screens count who has joined); a seq
    that is never pushed would make every connected client resynchronise in full.
    """
    with writers_queue(session):
        try:  # a table not found rolls back too: its UPDATE took SQLite's lock
            session.expire_all()  # nothing read before the lock is trusted after it
            table = lock_table(session, table_id)
            if table is None:
                raise NotFound("No table has this code")
            seq = table.seq
            if layout:
                table.layout_seq = seq
                session.add(table)
            write = Write(table, seq)
            yield write
        except BaseException:
            session.rollback()
            raise
        if write.changed:
            session.commit()
        else:
            session.rollback()


@dataclass
class Writes:
    """One unit of work on several tables, inside `tables_write`."""

    seqs: dict[int, int]  # table id -> the seq this write spends
    changed: bool = True

    def nothing(self) -> None:
        """Nothing to write after all: roll back, so no sequence number is spent."""
        self.changed = False

    @property
    def changes(self) -> list[Change]:
        return [Change(t, s if self.changed else None) for t, s in self.seqs.items()]


@contextmanager
def tables_write(session: Session, table_ids: Iterable[int]) -> Iterator[Writes]:
    """`table_write` for a write that spans tables (an event's edit, an erasure): it ends the
    transaction the ids were read in, joins this process's writers' queue (SQLite), then
    locks every table FIRST, in id order, so two such writers never wait for each other in
    a circle; then read and check, write, commit (or roll back on an error or `nothing`).
    A table that is gone is a 404, and nothing is written."""
    ids = sorted(set(table_ids))
    session.rollback()  # SQLite cannot make a reader with an old snapshot the writer
    with writers_queue(session):
        try:
            writes = Writes({table_id: bump_seq(session, table_id) for table_id in ids})
            session.expire_all()
            yield writes
        except BaseException:
            session.rollback()
            raise
        if writes.changed:
            session.commit()
        else:
            session.rollback()


def _opened(session: Session, table: Table) -> bool:
    """The timeline has left preparation once (even if the table stepped back)."""
    moved = session.exec(
        select(PhaseChange.id).where(
            PhaseChange.table_id == table.id, PhaseChange.phase != Phase.PREPARATION
        )
    ).first()
    return moved is not None


def voting_opened(session: Session, table: Table) -> bool:
    """Voting has opened once (the timeline has reached it), even if the table stepped back."""
    if table.phase == Phase.VOTING:
        return True
    reached = session.exec(
        select(PhaseChange.id).where(
            PhaseChange.table_id == table.id, PhaseChange.phase == Phase.VOTING
        )
    ).first()
    return reached is not None


def update_table(
    session: Session,
    table: Table,
    *,
    title: str | None = None,
    question: str | None = None,
    voting: VotingRules | None = None,
    weighting: str | None = None,
    format: str | None = None,
) -> Change:
    """Edit a table's theme, question, format, voting method and fair counting rule. The
    method, its numbers and the rule change only until voting has opened once (409 after):
    a count must not change its rule under the votes; the format only until the table opens
    (it is in preparation and never left it: 409 after), and a format that fixes its method
    sets it. The projector and the phones show the theme: the change redraws their layout."""
    clean: dict[str, object] = {}
    rule = checked_weighting(weighting) if weighting is not None else None
    if format is not None:
        checked_format(format, voting)  # an unknown format is refused before the lock
    if title is not None:
        clean["title"] = clean_line(title, field="title", limit=200, required=True)
    if question is not None:
        clean["question"] = clean_line(question, field="question", limit=500)
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        key, fixed = checked_format(format or current.format, voting)
        if fixed is not None and (voting is not None or key != current.format):
            voting = fixed  # the format's own method, whatever the table had
        if voting is not None and (
            voting.mode,
            voting.dots,
            voting.max_per_proposal,
        ) != (current.voting_mode, current.dots, current.max_per_proposal):
            if voting_opened(session, current):
                raise Conflict(
                    "The voting method cannot change once voting has opened", field="voting"
                )
            clean["voting_mode"] = voting.mode
            clean["dots"] = voting.dots
            clean["max_per_proposal"] = voting.max_per_proposal
        if rule is not None and rule != current.weighting:
            if voting_opened(session, current):
                raise Conflict(
                    "The counting rule cannot change once voting has opened", field="weighting"
                )
            clean["weighting"] = rule
        if key != current.format:
            if current.phase != Phase.PREPARATION or _opened(session, current):
                raise Conflict("The format cannot change once the table has opened", field="format")
            clean["format"] = key
        changed = {k: v for k, v in clean.items() if getattr(current, k) != v}
        if not changed:
            write.nothing()
        else:
            for name, value in changed.items():
                setattr(current, name, value)
            session.add(current)
    return write.change


@dataclass(frozen=True)
class Contents:
    """What deleting a table erases, for the confirmation."""

    participants: int
    proposals: int
    votes: int


def contents(session: Session, table: Table) -> Contents:
    people = session.exec(
        select(func.count()).select_from(Participant).where(Participant.table_id == table.id)
    ).one()
    posts = session.exec(
        select(func.count()).select_from(Proposal).where(Proposal.table_id == table.id)
    ).one()
    votes = session.exec(
        select(func.count())
        .select_from(Vote)
        .join(Proposal, col(Proposal.id) == Vote.proposal_id)
        .where(Proposal.table_id == table.id)
    ).one()
    return Contents(int(people), int(posts), int(votes))
