"""Group commit: on SQLite, the writes waiting for the one writer are committed together.

SQLite takes one writer at a time. Each vote's thread used to queue for it
(`db.writers_queue`) and, once in, wait for the GIL at each of its statements behind the
fan-out: the queue's service time grew with the load, and a whole event (10 tables, 2,000
screens, 100 votes/s) tipped into a backlog it never left (docs/performance.md). Here one
thread per engine takes every request waiting and commits them in one unit of work: the
more wait, the less each costs. The caller's thread waits holding no connection and no
lock, and is answered only after the commit that holds its write (or with its refusal).

A request awaited from an event loop (`run_async`: the API's vote, the hot path) is
committed this way on every database: it holds no session, so nothing it holds can be what
the batch waits for. On PostgreSQL the batch saves each vote its own transaction, its
round trips and its commit's flush (a whole event on two workers: docs/performance.md).
A thread's request (`run`) on PostgreSQL, whose row locks let writes to different tables
run at once, runs the same unit of work in the caller's thread and session, for one
request: its session may already hold a table's lock.
"""

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlmodel import Session

from app.db import engine_of, open_session, single_writer

R = TypeVar("R")
Out = TypeVar("Out")

# The unit of work: the requests in order, each one's outcome (or refusal) in the same order.
# It must commit before it returns, and a refused request must have written nothing.
Commit = Callable[[Session, Sequence[R]], list[Out | Exception]]

MAX_BATCH = 64  # requests in one transaction: a bound on the time the first one waits
IDLE_SECONDS = 2.0  # the thread ends after this long without a request (started on the next)


class NotCommitted(RuntimeError):
    """The batch holding this request failed as a whole (the database refused the commit):
    nothing of it was written."""


@dataclass
class _Ticket(Generic[R, Out]):
    request: R
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Out | Exception | None = None
    # Awaited from an event loop (`submit_async`): settled there, not by `done`.
    future: "asyncio.Future[Out] | None" = None


class GroupCommit(Generic[R, Out]):
    """One engine's queue of requests for one unit of work, and the thread that commits them."""

    def __init__(self, engine: Engine, commit: Commit[R, Out], name: str) -> None:
        # Weakly: the queues are kept per engine for as long as the engine lives (`_QUEUES`).
        self._engine = weakref.ref(engine)
        self._commit = commit
        self._name = name
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._waiting: list[_Ticket[R, Out]] = []
        self._thread: threading.Thread | None = None

    def submit(self, request: R) -> Out:
        """Wait until the request is committed (its outcome) or refused (raised)."""
        ticket: _Ticket[R, Out] = _Ticket(request)
        self._enqueue(ticket)
        ticket.done.wait()
        outcome = ticket.outcome
        if isinstance(outcome, Exception):
            raise outcome
        assert outcome is not None
        return outcome

    async def submit_async(self, request: R) -> Out:
        """`submit` from an event loop, which goes on serving meanwhile. A request whose
        caller is cancelled is still committed (as a thread's would be), unanswered."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._enqueue(_Ticket(request, future=future))
        return await future

    def _enqueue(self, ticket: "_Ticket[R, Out]") -> None:
        with self._lock:
            self._waiting.append(ticket)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            else:
                self._arrived.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._arrived.wait(IDLE_SECONDS)
                if not self._waiting:
                    self._thread = None
                    return
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            outcomes: Sequence[Out | Exception]
            try:
                outcomes = self._commit_batch([ticket.request for ticket in batch])
            except BaseException as failed:  # nothing was committed: each one is told
                for ticket in batch:
                    error = NotCommitted(f"{self._name}: the batch was not committed")
                    error.__cause__ = failed
                    ticket.outcome = error
                _answer(batch)
                if not isinstance(failed, Exception):
                    with self._lock:
                        self._thread = None
                    raise
                continue
            for ticket, outcome in zip(batch, outcomes, strict=True):
                ticket.outcome = outcome
            _answer(batch)
            del batch, outcomes  # nothing of a batch is kept while the thread waits

    def _commit_batch(self, requests: list[R]) -> Sequence[Out | Exception]:
        engine = self._engine()
        if engine is None:
            raise RuntimeError("the engine was closed")
        with open_session(engine) as session:
            return self._commit(session, requests)


def _answer(batch: "list[_Ticket[R, Out]]") -> None:
    """Wake each caller: a thread by its event, the callers on an event loop with one call
    into that loop for the whole batch."""
    loops: dict[asyncio.AbstractEventLoop, list[_Ticket[R, Out]]] = {}
    for ticket in batch:
        if ticket.future is None:
            ticket.done.set()
        else:
            loops.setdefault(ticket.future.get_loop(), []).append(ticket)
    for loop, tickets in loops.items():
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits them
            loop.call_soon_threadsafe(_settle, tickets)


def _settle(tickets: "list[_Ticket[R, Out]]") -> None:
    for ticket in tickets:
        future = ticket.future
        if future is None or future.done():
            continue
        if isinstance(ticket.outcome, Exception):
            future.set_exception(ticket.outcome)
        else:
            future.set_result(ticket.outcome)  # type: ignore[arg-type]


# Each engine's queues, one per unit of work.
_QUEUES: "WeakKeyDictionary[Engine, dict[object, GroupCommit[object, object]]]" = (
    WeakKeyDictionary()
)
_QUEUES_LOCK = threading.Lock()


def run(session: Session, commit: Commit[R, Out], request: R, *, name: str) -> Out:
    """`commit` of this one request: with the engine's other waiting requests in its group
    commit on SQLite, in this session elsewhere (or when this thread already writes: it
    would wait for itself). The session's read snapshot ends first, so what it reads after
    includes the write."""
    engine = engine_of(session)
    writers = single_writer(engine)
    if writers is None or writers.held_here() or _writes_pending(session):
        outcome = commit(session, [request])[0]
    else:
        session.rollback()  # no connection held while waiting; later reads see the commit
        outcome = _queue(engine, commit, name).submit(request)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def run_async(engine: Engine, commit: Commit[R, Out], request: R, *, name: str) -> Out:
    """`run` awaited from an event loop, with no session of the caller's: committed with the
    other requests waiting, on every database (the caller holds no lock a batch could wait
    for)."""
    outcome = await _queue(engine, commit, name).submit_async(request)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _queue(engine: Engine, commit: Commit[R, Out], name: str) -> "GroupCommit[R, Out]":
    with _QUEUES_LOCK:
        queues = _QUEUES.setdefault(engine, {})
        queue = queues.get(commit)
        if queue is None:
            queue = queues[commit] = GroupCommit(engine, commit, name)  # type: ignore[arg-type]
    return queue  # type: ignore[return-value]


def _writes_pending(session: Session) -> bool:
    """This session has written and not committed (its writes belong to its own unit)."""
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    dbapi = session.connection().connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", True))
