"""Writes that span tables (an event's edit, an erasure) queue with the single-table writes.

On SQLite this process's writers take turns in `db.writers_queue`; a writer outside it
meets the others in SQLite's own lock, where it sleeps in the busy handler (1, 2, 5 …
100 ms) or, past the busy timeout, fails with "database is locked". Here the busy timeout
is 0, so any writer that skips the queue fails at once instead of sleeping unseen."""

import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session

from app.models import Event, Table
from app.services import events, privacy, synthesis, tables
from tests.conftest import make_event, make_table

ROUNDS = 15


def _run_together(engine: Engine, jobs: list[Callable[[Session], None]]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[Session], None]) -> None:
        start.wait()
        try:
            with Session(engine, expire_on_commit=False) as session:
                job(session)
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a writer is stuck"
    return errors


def _seqs(engine: Engine, ids: list[int]) -> dict[int, int]:
    with Session(engine) as session:
        return {t: (session.get(Table, t) or Table()).seq for t in ids}


def test_an_event_edit_and_erasures_queue_with_table_writes_and_spend_one_seq_each(
    impatient: Engine,
) -> None:
    with Session(impatient, expire_on_commit=False) as session:
        kept, _ = make_event(session)
        kept_tables = [make_table(session, kept) for _ in range(3)]
        doomed, _ = make_event(session)
        doomed_tables = [make_table(session, doomed) for _ in range(2)]
        erased, _ = make_event(session)
        erased_tables = [make_table(session, erased) for _ in range(2)]
    ids = [t.id or 0 for t in kept_tables]
    before = _seqs(impatient, ids)

    def edit_event(session: Session) -> None:
        for n in range(ROUNDS):
            edit = events.update_event(session, event=kept, title=f"Stati Generali {n}")
            assert [c.table_id for c in edit.changes] == sorted(ids)
            assert all(c.seq is not None for c in edit.changes)

    def write_table(table: Table) -> Callable[[Session], None]:
        def job(session: Session) -> None:
            for n in range(ROUNDS):
                change = synthesis.save_synthesis(
                    session, table, facilitator=f"Anna {n}", synthesis=f"Sintesi {n}"
                )
                assert change.seq is not None

        return job

    def erase_tables(session: Session) -> None:
        for table in doomed_tables:
            privacy.delete_table(session, table=table)

    def erase_event(session: Session) -> None:
        privacy.delete_event(session, event=erased)

    errors = _run_together(
        impatient,
        [edit_event, *(write_table(t) for t in kept_tables), erase_tables, erase_event],
    )
    assert [str(e)[:300] for e in errors] == []
    # Every write spent exactly one seq of each table it changed: the edit one per table
    # and round, each synthesis one.
    assert _seqs(impatient, ids) == {t: before[t] + 2 * ROUNDS for t in ids}
    with Session(impatient) as session:
        for table in [*doomed_tables, *erased_tables]:
            assert session.get(Table, table.id) is None
        assert session.get(Event, erased.id) is None
        assert session.get(Event, kept.id) is not None


def test_a_multi_table_write_that_changes_nothing_spends_no_seq(session: Session) -> None:
    event, _ = make_event(session)
    ids = [make_table(session, event).id or 0 for _ in range(2)]
    before = _seqs_in(session, ids)
    edit = events.update_event(session, event=event, title=event.title)
    assert [c.seq for c in edit.changes] == [None, None]
    assert _seqs_in(session, ids) == before
    with tables.tables_write(session, reversed(ids)) as write:
        assert list(write.seqs) == sorted(ids)  # locked in id order
        write.nothing()
    assert _seqs_in(session, ids) == before


def _seqs_in(session: Session, ids: list[int]) -> dict[int, int]:
    session.expire_all()
    return {t: (session.get(Table, t) or Table()).seq for t in ids}
