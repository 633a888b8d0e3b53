"""Personal data: the event's privacy notice, a participant's access and erasure (GDPR art.
13, 15, 17), the retention sweep and deleting an event. docs/privacy.md lists every datum.

Erasure keeps the participant's row as an anonymous ballot: name, organisation, consent and
token go, the join time and vote times are cut to the day, and `erased` is set. The row keeps
only `category`, `proxy` and `removed`, which the published figures count (participants by
category, votes by category, paper votes): tallies, budgets, merges and undos, and the
minutes' figures are exactly what they were. Nothing left in it points to a person: no
name, no organisation, no token (the cookie and the bearer token stop working), no time
finer than the event's day. Posts stay on the wall as anonymous posts.

Erasure really erases (`scrub`): SQLite runs with `secure_delete` (app/db.py), so the old
bytes are zeroed in the file, and the WAL is checkpointed and truncated after each erasure;
PostgreSQL vacuums the tables, so the dead row versions go as well. VACUUM cannot remove a
version that an older transaction may still see (a pg_dump, a long migration): then the
scrub is retried in the background until no such transaction is left (`scrub_pending` says
so meanwhile, and the answer to the erasure too).
"""

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from app.db import writers_queue
from app.models import (
    Answer,
    DismissedPair,
    Dissent,
    Event,
    Merge,
    OutcomeChange,
    Participant,
    PhaseChange,
    Pledge,
    PlenaryTheme,
    Proposal,
    ProposalTag,
    RankingChange,
    Table,
    Tag,
    Vote,
)
from app.security import hash_token, new_token, tokens_equal
from app.services import dissent
from app.services.errors import Forbidden, Invalid, NotFound, Unauthorized
from app.services.events import event_for_moderator
from app.services.tables import Change, table_write, tables_write
from app.services.text import clean_line, clean_paragraphs

log = logging.getLogger(__name__)

# The notice's fields (art. 13 GDPR), in the order a DPO reads them, with their limits; the
# first three are single lines, the rest free text.
NOTICE_FIELDS: dict[str, int] = {
    "controller": 300,  # titolare del trattamento
    "dpo": 200,  # responsabile della protezione dei dati (RPD/DPO)
    "dpo_contact": 200,
    "purposes": 2000,  # finalità
    "legal_basis": 2000,  # base giuridica
    "recipients": 2000,  # destinatari
    "retention": 2000,  # conservazione
    "rights": 2000,  # diritti dell'interessato
    "complaint": 2000,  # reclamo al Garante
}
LINES = ("controller", "dpo", "dpo_contact")
REQUIRED = ("controller", "purposes", "legal_basis")
RETENTION_DAYS = (1, 3650)
# Every table whose rows belong to a table of an event, children first.
_PERSONAL_TABLES = ("participants", "votes", "proposals", "proposal_tags", "merges", "tables")


def notice_filled(event: Event) -> bool:
    return bool(event.privacy.get("controller"))


def set_notice(
    session: Session, *, event: Event, fields: dict[str, str], retention_days: int
) -> Event:
    """Store the event's notice; all fields empty clears it (the default notice is shown)."""
    lo, hi = RETENTION_DAYS
    if not lo <= retention_days <= hi:
        raise Invalid(
            "Retention must be between %(low)s and %(high)s days",
            field="retention_days",
            low=lo,
            high=hi,
        )
    notice: dict[str, str] = {}
    for name, limit in NOTICE_FIELDS.items():
        raw = fields.get(name) or ""
        clean = clean_line if name in LINES else clean_paragraphs
        notice[name] = clean(raw, field=name, limit=limit)
    if any(notice.values()):
        for name in REQUIRED:
            if not notice[name]:
                raise Invalid("This field is required", field=name)
    fresh = session.get(Event, event.id)
    if fresh is None:
        raise NotFound("No event has this id")
    fresh.privacy = notice if any(notice.values()) else {}
    fresh.retention_days = retention_days
    session.add(fresh)
    session.commit()
    session.refresh(fresh)
    return fresh


def erase_after(event: Event) -> dt.date:
    """The first day on which the sweep erases the event's personal data."""
    return event.date + dt.timedelta(days=event.retention_days + 1)


def event_for_manager(
    session: Session, event_id: int, token: str | None, admin_token: str
) -> Event:
    """The event, for the organiser's token or this event's moderator token."""
    if not token:
        raise Unauthorized("The moderator token is missing")
    if tokens_equal(token, admin_token):
        event = session.get(Event, event_id)
        if event is None:
            raise NotFound("No event has this id")
        return event
    event = event_for_moderator(session, token)
    if event.id != event_id:
        raise Forbidden("This moderator token is for another event")
    return event


@dataclass(frozen=True)
class MyData:
    """What Tavoli holds about one participant (art. 15)."""

    name: str
    organisation: str
    category: str
    named_in_minutes: bool
    joined_at: dt.datetime
    posts: list[dict[str, Any]]
    votes: list[dict[str, Any]]
    dissent: list[dict[str, Any]]


def my_data(session: Session, participant: Participant) -> MyData:
    posts = session.exec(
        select(Proposal).where(Proposal.participant_id == participant.id).order_by(col(Proposal.id))
    )
    votes = session.exec(
        select(Vote, Proposal.title)
        .join(Proposal, col(Proposal.id) == Vote.proposal_id)
        .where(Vote.participant_id == participant.id)
        .order_by(col(Vote.proposal_id))
    )
    disagreed = session.exec(
        select(Dissent, Proposal.title)
        .join(Proposal, col(Proposal.id) == Dissent.proposal_id)
        .where(Dissent.participant_id == participant.id)
        .order_by(col(Dissent.proposal_id))
    )
    return MyData(
        name=participant.name,
        organisation=participant.organisation,
        category=participant.category,
        named_in_minutes=participant.named_in_minutes,
        joined_at=_aware(participant.created_at),
        posts=[
            {
                "id": p.id,
                "kind": p.kind,
                "title": p.title,
                "body": p.body,
                "status": p.status,
                "posted_at": _aware(p.created_at),
            }
            for p in posts
        ],
        votes=[
            {
                "proposal_id": vote.proposal_id,
                "title": title,
                "dots": vote.dots,
                "at": _aware(vote.updated_at),
            }
            for vote, title in votes
        ],
        dissent=[
            {"proposal_id": d.proposal_id, "title": title, "reason": d.reason}
            for d, title in disagreed
        ],
    )


def erase_participant(session: Session, *, participant: Participant) -> Change:
    """Art. 17: erase one participant (see the module); the table is locked first."""
    participant_id = participant.id or 0
    # Layout: their dissent leaves the consoles' counts (dissent.forget).
    with table_write(session, participant.table_id, layout=True) as write:
        me = session.get(Participant, participant_id)
        if me is None or me.erased:
            write.nothing()
        else:
            _anonymise(session, [me])
    if write.changed:
        scrub(session)
    return write.change


def purge_expired(session: Session, *, today: dt.date | None = None) -> list[Change]:
    """The retention sweep: erase the personal data of every event past its retention (its
    participants as in `erase_participant`, and the facilitator's name). Figures stay.
    The sweep runs `scrub` every time, so it also empties a WAL an erasure left busy."""
    today = today or dt.datetime.now(dt.UTC).date()
    expired = [e for e in session.exec(select(Event)) if erase_after(e) <= today]
    table_ids = [
        table_id
        for event in expired
        for table_id in session.exec(
            select(Table.id).where(Table.event_id == event.id).order_by(col(Table.id))
        )
        if table_id is not None
    ]
    session.rollback()  # reading done: each table is then locked before it is read again
    changes: list[Change] = []
    for table_id in table_ids:
        with table_write(session, table_id, layout=True) as write:
            people = list(
                session.exec(
                    select(Participant).where(
                        Participant.table_id == table_id, col(Participant.erased).is_(False)
                    )
                )
            )
            if not people and not write.table.facilitator_name:
                write.nothing()
            else:
                _anonymise(session, people)
                write.table.facilitator_name = ""
                session.add(write.table)
        if write.changed:
            changes.append(write.change)
    scrub(session)  # every sweep: also finishes a checkpoint an earlier erasure found busy
    return changes


def delete_event(session: Session, *, event: Event) -> list[int]:
    """Erase an event and everything about it; returns the ids its tables had.

    Every table is locked first (in id order, as every multi-table writer must), so no write
    of a table can land between the reads and the deletes."""
    event_id = event.id
    table_ids = [
        t for t in session.exec(select(Table.id).where(Table.event_id == event_id)) if t is not None
    ]
    with tables_write(session, table_ids):
        if session.get(Event, event_id) is None:
            raise NotFound("No event has this id")
        _delete_tables(session, table_ids)
        session.execute(delete(PlenaryTheme).where(col(PlenaryTheme.event_id) == event_id))
        session.execute(delete(Event).where(col(Event.id) == event_id))
    scrub(session)
    return table_ids


def delete_table(session: Session, *, table: Table) -> list[int]:
    """Erase one table and everything about it (its participants, posts, votes, tags, merges
    and phase changes); the table is locked first. Returns its id, as `delete_event` does,
    for the caller to close its screens."""
    table_id = table.id or 0
    with tables_write(session, [table_id]):  # a 404 when it is already gone
        _delete_tables(session, [table_id])
    scrub(session)
    return [table_id]


def _delete_tables(session: Session, table_ids: list[int]) -> None:
    """Every row of these tables, children first (in the caller's transaction)."""
    proposal_ids = select(Proposal.id).where(col(Proposal.table_id).in_(table_ids))
    participant_ids = select(Participant.id).where(col(Participant.table_id).in_(table_ids))
    session.execute(delete(ProposalTag).where(col(ProposalTag.proposal_id).in_(proposal_ids)))
    session.execute(delete(OutcomeChange).where(col(OutcomeChange.proposal_id).in_(proposal_ids)))
    session.execute(delete(Dissent).where(col(Dissent.proposal_id).in_(proposal_ids)))
    session.execute(delete(Dissent).where(col(Dissent.participant_id).in_(participant_ids)))
    # Links point at a table's own posts only (services/links.py): by either end is enough.
    session.execute(delete(Answer).where(col(Answer.proposal_id).in_(proposal_ids)))
    session.execute(delete(Pledge).where(col(Pledge.proposal_id).in_(proposal_ids)))
    session.execute(delete(Vote).where(col(Vote.proposal_id).in_(proposal_ids)))
    session.execute(delete(Vote).where(col(Vote.participant_id).in_(participant_ids)))
    session.execute(delete(Merge).where(col(Merge.table_id).in_(table_ids)))
    session.execute(delete(DismissedPair).where(col(DismissedPair.table_id).in_(table_ids)))
    session.execute(
        update(Proposal).where(col(Proposal.table_id).in_(table_ids)).values(merged_into_id=None)
    )
    session.execute(delete(Proposal).where(col(Proposal.table_id).in_(table_ids)))
    session.execute(delete(Tag).where(col(Tag.table_id).in_(table_ids)))
    session.execute(delete(PhaseChange).where(col(PhaseChange.table_id).in_(table_ids)))
    session.execute(delete(RankingChange).where(col(RankingChange.table_id).in_(table_ids)))
    session.execute(delete(Participant).where(col(Participant.table_id).in_(table_ids)))
    session.execute(delete(Table).where(col(Table.id).in_(table_ids)))


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def scrub(session: Session) -> bool:
    """After an erasure has committed: leave no copy of the old rows in the database's files
    (SQLite: the WAL is checkpointed and truncated; `secure_delete` already zeroed the
    pages) or in dead row versions (PostgreSQL: VACUUM, which cannot run in a transaction).
    False when PostgreSQL must wait for an older transaction: retried until done."""
    engine = _engine(session)
    session.commit()  # no transaction of ours may hold a snapshot the checkpoint must keep
    return scrub_engine(engine)


def scrub_pending(bind: Session | Engine) -> bool:
    """Old versions of erased rows are still waiting for an older transaction to end (in
    the database of this session or engine)."""
    engine = bind if isinstance(bind, Engine) else _engine(bind)
    with _pending_lock:
        return engine in _pending


RETRY_SECONDS = 5.0  # between two attempts while an older transaction holds old versions
LOCK_TIMEOUT = "1s"  # VACUUM waits no longer for a table a migration holds (then retried)
_pending: "WeakKeyDictionary[Engine, int]" = WeakKeyDictionary()  # the latest `since`
_pending_lock = threading.Lock()


def _older_snapshots(connection: Connection, since: int) -> int:
    """Transactions of this database whose snapshot or xid is older than `since` (the next
    xid when the erasure had committed): VACUUM keeps every row version they might still
    see, the erased ones included (it compares xids, so a transaction begun after the
    erasure whose snapshot is older still counts)."""
    count = connection.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND (age(backend_xmin) > age(xid(CAST(:since AS xid8)))"
            " OR age(backend_xid) > age(xid(CAST(:since AS xid8))))"
        ),
        {"since": str(since)},
    ).scalar_one()
    return int(count)


# The tables whose rows hold personal text (names, organisations, posts): VACUUM must have
# left none of their dead row versions behind for an erasure to be complete.
_TEXT_TABLES = ("participants", "proposals", "tables", "events")


def _vacuum(connection: Connection, since: int) -> bool:
    """VACUUM the tables that held personal data; True when no old version is left: no
    older snapshot kept one, no table was skipped for its lock, and VACUUM's own count of
    the dead versions it left (it skips a page another backend has pinned) is zero."""
    clear = _older_snapshots(connection, since) == 0
    connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        for name in ("events", "phase_changes", "tags", *_PERSONAL_TABLES):
            try:
                connection.exec_driver_sql(f"VACUUM {name}")
            except DBAPIError as exc:  # the lock was not free in time
                log.warning("erasure: VACUUM %s postponed (%s)", name, type(exc.orig).__name__)
                clear = False
    finally:
        connection.exec_driver_sql("RESET lock_timeout")
    relids = ", ".join(f"'{name}'::regclass" for name in _TEXT_TABLES)
    left = connection.exec_driver_sql(  # the names are this module's constants
        f"SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE relid IN ({relids})"  # noqa: S608
    ).scalar_one()
    return clear and int(left) == 0


def _retry_later(engine: Engine, since: int) -> None:
    with _pending_lock:
        first = engine not in _pending
        _pending[engine] = max(since, _pending.get(engine, since))
    if first:
        log.warning(
            "erasure: an older transaction keeps old row versions; retrying every %.0f s",
            RETRY_SECONDS,
        )
        threading.Thread(target=_retry, args=(engine,), name="tavoli-scrub", daemon=True).start()


def _retry(engine: Engine) -> None:
    """Scrub again, every RETRY_SECONDS, until no transaction older than the latest
    pending erasure is left; VACUUM only once none is (waiting costs one query)."""
    while True:
        time.sleep(RETRY_SECONDS)
        with _pending_lock:
            since = _pending.get(engine)
        if since is None:
            return
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                try:
                    done = _older_snapshots(connection, since) == 0 and _vacuum(connection, since)
                finally:  # closed, not pooled: the engine may be disposed before the next try
                    connection.invalidate()
        except Exception as exc:  # the database went away: the retention sweep scrubs again
            log.warning("erasure: retrying the scrub failed (%s); left to the next sweep", exc)
            done = True
        if done:
            with _pending_lock:
                if _pending.get(engine) == since:
                    del _pending[engine]
                    log.warning("erasure: the old row versions are removed now")
                    return


def scrub_engine(engine: Engine) -> bool:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if engine.dialect.name == "sqlite":
            # A pending TRUNCATE checkpoint holds back every writer: wait briefly, never for
            # the pool's 30 s; when readers keep it busy, the next sweep truncates the WAL.
            # This process's writers wait in their queue meanwhile, not in SQLite's lock.
            connection.exec_driver_sql("PRAGMA busy_timeout=100")
            try:
                with writers_queue(engine):
                    for _attempt in range(3):
                        checkpoint = "PRAGMA wal_checkpoint(TRUNCATE)"
                        if not connection.exec_driver_sql(checkpoint).scalar():
                            break
                        time.sleep(0.05)
            finally:
                connection.exec_driver_sql("PRAGMA busy_timeout=30000")
        elif engine.dialect.name == "postgresql":
            since = int(  # the next xid: the erasure's is older
                connection.exec_driver_sql(
                    "SELECT pg_snapshot_xmax(pg_current_snapshot())::text"
                ).scalar_one()
            )
            if _vacuum(connection, since):
                return True
            for attempt in range(3):  # a vote's transaction that began just before ends soon
                time.sleep(0.1 * (attempt + 1))
                if _older_snapshots(connection, since) == 0 and _vacuum(connection, since):
                    return True
            _retry_later(engine, since)
            return False
    return True


def _anonymise(session: Session, people: Iterable[Participant]) -> None:
    for person in people:
        person.name = ""
        person.organisation = ""
        person.named_in_minutes = False
        person.token_hash = hash_token(new_token())  # a token nobody holds
        person.created_at = _day(person.created_at)
        person.erased = True
        session.add(person)
        for vote in session.exec(select(Vote).where(Vote.participant_id == person.id)):
            vote.updated_at = _day(vote.updated_at)
            session.add(vote)
    # Their dissent counts nowhere and its reasons are their own words: deleted.
    dissent.forget(session, [person.id or 0 for person in people])


def _day(value: dt.datetime) -> dt.datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
