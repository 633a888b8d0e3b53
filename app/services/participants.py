"""Participants: a phone at one table, anonymous unless they say more."""

import threading
import weakref
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app import ratelimit
from app.enums import Phase
from app.models import Event, Participant, Table
from app.security import hash_token, new_token
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.services.tables import table_write
from app.services.text import clean_line, clean_name_line


@dataclass(frozen=True)
class Joined:
    """A join committed: the screens count who has joined, so it is published like any write.
    `token` is kept by the phone and stored here only hashed."""

    table_id: int
    seq: int
    participant: Participant
    token: str


def join(
    session: Session,
    *,
    table: Table,
    event: Event,
    name: str = "",
    organisation: str = "",
    category: str = "",
    named_in_minutes: bool = False,
    previous: Participant | None = None,
    client: str | None = None,
) -> Joined:
    """Add a participant; returns it with its token and the seq the screens' count moved to.

    Their name reaches the minutes only if they said so, and only with a name given. The
    table is locked first: a join racing "close joining" is refused, not let in. `previous`
    is who this phone already was (its cookie): someone removed from this table cannot come
    back as a new participant with the same phone."""
    category = clean_line(category, field="category", limit=100)
    if category and category not in event.categories:
        raise Invalid("Unknown stakeholder category", field="category")
    clean_name = clean_name_line(name, field="name", limit=100)
    clean_organisation = clean_name_line(organisation, field="organisation", limit=150)
    if client is not None:  # joins per address: a hall behind one router, not a script
        ratelimit.check("join_table", str(table.id))  # nor many addresses on one table
        ratelimit.hit("join", client)
        ratelimit.hit("join_table", str(table.id))
    token = new_token()
    with table_write(session, table.id or 0) as write:
        # Read under the lock: a removal racing this join has committed or waits for it.
        was = session.get(Participant, previous.id) if previous is not None else None
        if was is not None and was.table_id == write.table.id and was.removed:
            raise Forbidden("You were removed from this table")
        if not write.table.joining_open:
            raise Conflict("This table is not taking new participants")
        if write.table.phase == Phase.CLOSED:
            raise Conflict("The table is closed")
        participant = Participant(
            table_id=write.table.id or 0,
            token_hash=hash_token(token),
            name=clean_name,
            organisation=clean_organisation,
            category=category,
            named_in_minutes=named_in_minutes and bool(clean_name),
        )
        session.add(participant)
    session.refresh(participant)
    return Joined(write.table.id or 0, write.seq, participant, token)


def token_digest(token: str | None) -> str:
    """The stored form of a bearer token (its hash), or the refusal a malformed one gets."""
    if not token:
        raise Unauthorized("The participant token is missing")
    if len(token) > 200:
        raise Forbidden("The participant token is not valid")
    return hash_token(token)


def participant_by_token(
    session: Session, token: str | None, *, allow_removed: bool = False
) -> Participant:
    """The participant behind a bearer token; a removed one only to see or erase their data."""
    participant = session.exec(
        select(Participant).where(Participant.token_hash == token_digest(token))
    ).first()
    if participant is None:
        raise Forbidden("The participant token is not valid")
    if participant.removed and not allow_removed:
        raise Forbidden("You were removed from this table")
    return participant


@dataclass(frozen=True)
class Voter:
    """Who a token names, as a vote needs it (read in one Core statement, no ORM object)."""

    id: int
    table_id: int
    proxy: bool
    removed: bool


_VOTERS = sa.select(
    col(Participant.token_hash),
    col(Participant.id),
    col(Participant.table_id),
    col(Participant.proxy),
    col(Participant.removed),
).where(col(Participant.token_hash).in_(sa.bindparam("hashes", expanding=True)))


def voters_by_digest(session: Session, digests: Collection[str]) -> dict[str, Voter]:
    """The voters behind several tokens (`token_digest`), in one read; an unknown one is
    missing. `admitted` refuses them as `participant_by_token` does."""
    if not digests:
        return {}
    rows = session.connection().execute(_VOTERS, {"hashes": list(set(digests))})  # Core
    return {
        digest: Voter(int(pid or 0), int(table_id), bool(proxy), bool(removed))
        for digest, pid, table_id, proxy, removed in rows
    }


class KnownVoters:
    """Who the tokens seen lately name, per database, so that a vote's batch reads only the
    tokens it has not seen (the reveal moment: each phone votes many times). Only what a
    token names and never changes is kept: its participant, their table, whether they vote
    on paper. It is a hint, never the check: each vote verifies under its table's lock that
    the token still names that participant (`voting.VOTE_CONTEXT`), and a vote whose hint
    went stale (the token replaced by an erasure, its table deleted) forgets it and is
    read again. No removed voter is kept: a removal refuses before the rate limit counts."""

    LIMIT = 20_000  # about 3 MB at most; the oldest goes first

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._voters: dict[str, Voter] = {}

    @classmethod
    def of(cls, engine: Engine) -> "KnownVoters":
        with _KNOWN_LOCK:
            known = _KNOWN.get(engine)
            if known is None:
                known = _KNOWN[engine] = cls()
            return known

    def get(self, digests: Collection[str]) -> dict[str, Voter]:
        with self._lock:
            return {d: self._voters[d] for d in digests if d in self._voters}

    def keep(self, voters: Mapping[str, Voter]) -> None:
        with self._lock:
            for digest, voter in voters.items():
                if voter.removed:
                    continue
                if len(self._voters) >= self.LIMIT:
                    del self._voters[next(iter(self._voters))]
                self._voters[digest] = voter

    def forget(self, digest: str) -> None:
        with self._lock:
            self._voters.pop(digest, None)


# Per engine, weakly: an engine disposed of (a test's database) takes its voters with it.
_KNOWN: "weakref.WeakKeyDictionary[Engine, KnownVoters]" = weakref.WeakKeyDictionary()
_KNOWN_LOCK = threading.Lock()


def admitted(voter: Voter | None) -> Voter:
    """The voter a token named, or `participant_by_token`'s refusal. A removal committed
    after the read is caught again by the vote's own check, under the table's lock."""
    if voter is None:
        raise Forbidden("The participant token is not valid")
    if voter.removed:
        raise Forbidden("You were removed from this table")
    return voter


def participant_at(session: Session, token: str | None, table: Table) -> Participant | None:
    """The participant behind a cookie, if it belongs to this table."""
    if not token:
        return None
    participant = session.exec(
        select(Participant).where(Participant.token_hash == hash_token(token))
    ).first()
    return participant if participant and participant.table_id == table.id else None


def member(session: Session, token: str | None) -> Callable[[Table | None], Participant]:
    """The admission of a phone's own doors (its cookie): the participant it is at this
    table, removed or not (the services refuse a removed one, uncounted). Without one, any
    code, known or not, gets the same 404."""

    def admit(table: Table | None) -> Participant:
        me = participant_at(session, token, table) if table is not None else None
        if me is None:
            raise NotFound("Join the table first")
        return me

    return admit


def holder(session: Session, token: str | None) -> Callable[[Table | None], Participant]:
    """The admission of the API's participant doors (a bearer token): 401 without a token
    and 403 for one that is not valid, whatever the code; a valid token of another table,
    or with an unknown code, is the same 403. Removed participants pass (to see or erase
    their data; the services refuse their posts and votes)."""

    def admit(table: Table | None) -> Participant:
        participant = participant_by_token(session, token, allow_removed=True)
        if table is None or participant.table_id != table.id:
            raise Forbidden("This participant token is for another table")
        return participant

    return admit


def still_at_table(session: Session, participant_id: int) -> bool:
    """Not removed (nor erased): the participant's open connections may go on."""
    participant = session.get(Participant, participant_id)
    return participant is not None and not participant.removed
