"""Slow report files (PDF, Word, Excel) are made apart from the request threads.

A big event's PDF takes seconds, most of them waiting for the PDF workers: made in a request
thread, sixty of them in flight held every thread, and a vote waited 12.7 s behind them. So
the routes hand the work to this queue, which runs it in threads of its own (as many as the
PDF workers: more would only wait for them) and lets the routes wait without a thread:

- at most `limit` files are being made or waiting; past that a request is refused at once
  with 503 and a `Retry-After` estimated from the queue and the recent durations (`Busy`);
- the same file asked for again while it is being made joins the job (a double click, a
  reader polling), and is not counted twice;
- a finished file is kept for `KEEP_SECONDS` (at most `KEEP_FILES` of them), under a random
  id, for the downloads page to fetch when it is ready. Who may fetch it is decided again by
  the route (the reader's event and table), never by the id alone.
"""

import asyncio
import contextlib
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from app.reports import pdf
from app.services.errors import TooMany
from app.templating import N_

THREADS = pdf.WORKERS
KEEP_SECONDS = 600.0
KEEP_FILES = 32
FIRST_GUESS = 5.0  # seconds a file takes, until one was measured
BUSY = N_("Many reports are being prepared: try again in %(seconds)s seconds")


class Busy(TooMany):
    """The queue is full: 503 (the server is busy, not the client too fast), Retry-After."""

    status = 503


@dataclass(frozen=True)
class ReportFile:
    body: bytes
    fmt: str
    name: str


@dataclass
class Job:
    """One file being made, or made: `event_id` and `table_id` say whose it is."""

    id: str
    key: Hashable
    event_id: int
    table_id: int | None
    future: "Future[ReportFile]" = field(default_factory=Future)
    finished_at: float | None = None

    @property
    def done(self) -> bool:
        return self.future.done()

    async def wait(self, seconds: float | None = None) -> bool:
        """Wait without a thread, up to `seconds` (None: until done); True once done. The
        job goes on if the waiter leaves (another may be waiting, or will fetch it)."""
        if not self.future.done():
            waiting = asyncio.wrap_future(self.future)
            waiting.add_done_callback(_seen)  # a failure after we left is not "unretrieved"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(waiting), seconds)
        return self.future.done()


def _seen(future: "asyncio.Future[ReportFile]") -> None:
    if not future.cancelled():
        future.exception()


class ReportQueue:
    def __init__(self, limit: int, threads: int = THREADS) -> None:
        self.limit = limit
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._pending: dict[Hashable, Job] = {}  # being made or waiting, by what they make
        self._jobs: OrderedDict[str, Job] = OrderedDict()  # by id, oldest first
        self._took = FIRST_GUESS  # a moving average of the seconds a file takes

    def submit(
        self,
        key: Hashable,
        make: Callable[[], ReportFile],
        *,
        event_id: int,
        table_id: int | None = None,
    ) -> Job:
        """The job making `key`: the one already under way, or a new one; Busy when full."""
        with self._lock:
            self._forget_old()
            job = self._pending.get(key)
            if job is not None:
                return job
            if len(self._pending) >= self.limit:
                raise Busy(BUSY, retry_after=self._retry_after())
            job = Job(secrets.token_urlsafe(16), key, event_id, table_id)
            self._pending[key] = job
            self._jobs[job.id] = job
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._threads, "tavoli-report")
            executor = self._executor
        executor.submit(self._run, job, make)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._forget_old()
            return self._jobs.get(job_id)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def _run(self, job: Job, make: Callable[[], ReportFile]) -> None:
        started = time.monotonic()
        try:
            result = make()
        except BaseException as exc:  # the waiters get it (a DomainError becomes its answer)
            self._finished(job, started)
            job.future.set_exception(exc)
        else:
            self._finished(job, started)
            job.future.set_result(result)

    def _finished(self, job: Job, started: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._took = 0.7 * self._took + 0.3 * (now - started)
            job.finished_at = now
            if self._pending.get(job.key) is job:
                del self._pending[job.key]

    def _retry_after(self) -> int:
        """When a place is likely free: the files ahead, per thread, times their duration."""
        rounds = math.ceil(len(self._pending) / self._threads)
        return max(1, math.ceil(rounds * self._took))

    def _forget_old(self) -> None:
        now = time.monotonic()
        finished = [j for j in self._jobs.values() if j.finished_at is not None]
        excess = len(finished) - KEEP_FILES
        for job in finished:
            assert job.finished_at is not None
            if excess > 0 or now - job.finished_at > KEEP_SECONDS:
                del self._jobs[job.id]
                excess -= 1

    def shutdown(self) -> None:
        """At server stop: what is waiting is not started (its waiters are gone)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
