"""A hall's votes committed together on SQLite (services/group_commit.py): each vote is
answered only after the commit that holds it, exactly as if they had come one at a time;
a refused vote leaves the others of its batch whole; a batch that cannot commit records
none of its votes and tells each voter so."""

import asyncio
import gc
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.db import make_engine, writers_queue
from app.enums import Status
from app.models import Participant, Proposal, Table, Vote
from app.services import group_commit, moderation, proposals, voting
from app.services.errors import Conflict, DomainError, Forbidden, NotFound
from tests.conftest import in_phase, make_participant, make_table

VOTERS = 40


def _together(
    engine: Engine, jobs: Sequence[Callable[[Session], object]], *, held: float = 0.5
) -> list[object]:
    """Run the jobs in threads at once while a long write holds the database (an erasure, a
    merge): they all wait, so they reach the writer together. Each job's outcome or error."""
    outcomes: list[object] = [None] * len(jobs)
    ready = threading.Barrier(len(jobs) + 1)

    def run(index: int) -> None:
        ready.wait()
        try:
            with Session(engine, expire_on_commit=False) as session:
                outcomes[index] = jobs[index](session)
        except Exception as error:  # the outcome under test
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    with writers_queue(engine):
        ready.wait()
        time.sleep(held)
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a voter is stuck"
    return outcomes


def _batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch `voting.commit_votes` is called with, from now on."""
    batches: list[int] = []
    commit = voting.commit_votes

    def counted_commit(session: Session, requests: Sequence[voting.VoteRequest]) -> Any:
        batches.append(len(requests))
        return commit(session, requests)

    monkeypatch.setattr(voting, "commit_votes", counted_commit)
    return batches


def test_a_hall_voting_at_once_is_counted_as_if_one_by_one(
    impatient: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(impatient, expire_on_commit=False) as session:
        table = make_table(session, mode="dots", dots=3, cap=2)
        author, _ = make_participant(session, table)
        posts = [
            proposals.post_proposal(session, participant=author, kind="proposal", title=title)
            for title in (
                "Trasporto sociale a chiamata per le frazioni di Baronissi",
                "Sportello unico per l'amministratore di sostegno",
                "Centro diurno aperto anche il sabato",
            )
        ]
        hidden = proposals.post_proposal(
            session, participant=author, kind="need", title="Un post che la moderatrice nasconde"
        )
        ids = [post.proposal.id or 0 for post in posts]
        hidden_id = hidden.proposal.id or 0
        table = in_phase(session, table, "voting")
        people = [make_participant(session, table)[0].id or 0 for _ in range(VOTERS)]
        proposal = session.get(Proposal, hidden_id)
        assert proposal is not None
        proposal.status = Status.HIDDEN
        session.add(proposal)
        session.commit()
    with Session(impatient, expire_on_commit=False) as session:
        moderation.remove_participant(session, table=table, participant_id=people[-1])
        for early in (VOTERS - 4, VOTERS - 2):  # two people gave 2 dots before the hall
            person = session.get(Participant, people[early])
            assert person is not None
            voting.set_vote(session, participant=person, proposal_id=ids[2], dots=2)
        seq_before = (session.get(Table, table.id) or Table()).seq

    def vote(person_index: int, proposal_id: int, dots: int) -> Callable[[Session], object]:
        def job(session: Session) -> object:
            person = session.get(Participant, people[person_index])
            assert person is not None
            return voting.set_vote(session, participant=person, proposal_id=proposal_id, dots=dots)

        return job

    jobs = [vote(i, ids[i % 3], 2) for i in range(VOTERS - 4)]  # 36 votes that count
    jobs += [
        vote(VOTERS - 4, ids[1], 2),  # over the budget of 3: 2 given before
        vote(VOTERS - 3, hidden_id, 1),  # a hidden post
        vote(VOTERS - 1, ids[0], 1),  # removed from the table
        vote(VOTERS - 2, ids[2], 2),  # a double tap: the same 2 dots again, nothing changes
    ]
    batches = _batch_sizes(monkeypatch)
    outcomes = _together(impatient, jobs)
    assert sum(batches) == len(jobs) and max(batches) > VOTERS // 2, batches  # together

    counted = outcomes[: VOTERS - 4]
    assert all(isinstance(o, voting.VoteResult) for o in counted), counted
    refused = outcomes[VOTERS - 4 :]
    assert isinstance(refused[0], Conflict) and "dots left" in str(refused[0])
    assert isinstance(refused[1], Conflict) and "not on the wall" in str(refused[1])
    assert isinstance(refused[2], Forbidden)
    double = refused[3]
    assert isinstance(double, voting.VoteResult) and double.seq is None  # nothing to push
    # Each counted vote spent one seq of its own, the table's seqs in a row; the refused
    # and the double tap none.
    seqs = sorted(o.seq or 0 for o in counted if isinstance(o, voting.VoteResult))
    assert seqs == list(range(seq_before + 1, seq_before + 1 + len(counted)))
    with Session(impatient) as session:
        assert (session.get(Table, table.id) or Table()).seq == seq_before + len(counted)
        tallies = Counter[int]()
        for v in session.exec(select(Vote)):
            tallies[v.proposal_id] += v.dots
        assert tallies - Counter({ids[2]: 4}) == {
            pid: 2 * sum(1 for i in range(VOTERS - 4) if i % 3 == k) for k, pid in enumerate(ids)
        }
    # The answers a phone shows: its dots left and the tally after its own vote.
    assert all(o.dots_left == 1 for o in counted if isinstance(o, voting.VoteResult))


def test_a_batch_that_cannot_commit_records_none_and_tells_each_voter(
    impatient: Engine,
) -> None:
    calls: list[int] = []

    def failing(session: Session, requests: Sequence[int]) -> list[int | Exception]:
        calls.append(len(requests))
        raise RuntimeError("disk I/O error")

    queue: group_commit.GroupCommit[int, int] = group_commit.GroupCommit(
        impatient, failing, "tavoli-test"
    )
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        try:
            queue.submit(n)
        except BaseException as error:  # the outcome under test
            errors.append(error)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 10
    assert all(isinstance(e, group_commit.NotCommitted) for e in errors)
    assert all(isinstance(e.__cause__, RuntimeError) for e in errors)
    assert sum(calls) == 10


def test_a_vote_inside_a_write_or_after_unsaved_changes_is_not_queued_behind_itself(
    impatient: Engine,
) -> None:
    """A write already holding the writers' queue (or a session with changes of its own)
    commits its vote in its own unit of work instead of waiting for the writer thread."""
    with Session(impatient, expire_on_commit=False) as session:
        table = make_table(session)
        author, _ = make_participant(session, table)
        post = proposals.post_proposal(
            session, participant=author, kind="proposal", title="Orti sociali nei quartieri"
        )
        table = in_phase(session, table, "voting")
        voter, _ = make_participant(session, table)
        done = threading.Event()

        def inside() -> None:
            with writers_queue(session):
                voting.set_vote(
                    session, participant=voter, proposal_id=post.proposal.id or 0, dots=1
                )
            done.set()

        thread = threading.Thread(target=inside)
        thread.start()
        thread.join(timeout=10)
        assert done.is_set(), "the vote waited for itself"
        # Unsaved changes of the caller's are committed with the vote, not dropped.
        renamed = session.get(Table, table.id)
        assert renamed is not None
        renamed.title = "Orti e giardini condivisi"
        session.add(renamed)
        voting.set_vote(session, participant=voter, proposal_id=post.proposal.id or 0, dots=0)
    with Session(impatient) as session:
        assert (session.get(Table, table.id) or Table()).title == "Orti e giardini condivisi"
        assert session.exec(select(Vote)).all() == []


def test_a_vote_for_a_deleted_table_is_refused_alone(impatient: Engine) -> None:
    with Session(impatient, expire_on_commit=False) as session:
        table = make_table(session, phase="voting")
        voter, _ = make_participant(session, table)
    gone = voting.VoteRequest(participant_id=voter.id or 0, table_id=10**6, proposal_id=1, dots=1)
    with Session(impatient) as session:
        outcome = voting.commit_votes(session, [gone])
    assert len(outcome) == 1 and isinstance(outcome[0], NotFound)
    assert isinstance(outcome[0], DomainError)


def test_a_closed_engine_is_not_kept_alive_by_its_queue(tmp_path: Path) -> None:
    """The queue of an engine lives as long as the engine, not longer (a server's test
    process makes hundreds of engines)."""
    engine = make_engine(f"sqlite:///{tmp_path}/closed.db")

    def doubled(session: Session, requests: Sequence[int]) -> list[int | Exception]:
        return [2 * n for n in requests]

    with Session(engine) as session:
        assert group_commit.run(session, doubled, 21, name="tavoli-test") == 42
    closed = weakref.ref(engine)
    engine.dispose()
    del engine, session
    gc.collect()
    assert closed() is None


def test_votes_awaited_from_event_loops_join_the_batch_and_their_tokens_are_checked_in_it(
    impatient: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's vote (`voting.cast`) awaits the group commit from the event loop and its
    token is read in the batch: phones of two loops and a thread's vote commit together;
    an unknown token, a removed participant's and a vote over the budget are refused alone,
    as the API refused them when the token was read first."""
    with Session(impatient, expire_on_commit=False) as session:
        table = make_table(session, mode="dots", dots=2, cap=2)
        author, _ = make_participant(session, table)
        post = proposals.post_proposal(
            session, participant=author, kind="proposal", title="Più corse del bus per Sava"
        )
        post_id = post.proposal.id or 0
        table = in_phase(session, table, "voting")
        joined = [make_participant(session, table) for _ in range(8)]
        ids = [person.id or 0 for person, _token in joined]
        removed_token = joined[-1][1]
        moderation.remove_participant(session, table=table, participant_id=ids[-1])
        seq_before = (session.get(Table, table.id) or Table()).seq
    tokens = [token for _person, token in joined[:6]]

    def cast(token: str | None, dots: int = 1) -> Any:
        return voting.cast(impatient, token=token, proposal_id=post_id, dots=dots, expected=None)

    async def one_loop(*asked: Any) -> list[object]:
        return await asyncio.gather(*asked, return_exceptions=True)

    def thread_vote(session: Session) -> object:
        person = session.get(Participant, ids[6])
        assert person is not None
        return voting.set_vote(session, participant=person, proposal_id=post_id, dots=2)

    batches = _batch_sizes(monkeypatch)
    jobs: list[Callable[[Session], object]] = [
        lambda _s: asyncio.run(one_loop(*(cast(t) for t in tokens[:3]), cast("nessuno"))),
        lambda _s: asyncio.run(
            one_loop(*(cast(t) for t in tokens[3:]), cast(removed_token), cast(tokens[0], 3))
        ),
        thread_vote,
    ]
    first, second, third = _together(impatient, jobs)
    assert sum(batches) == 10 and len(batches) <= 3, batches  # together, not one by one
    assert isinstance(first, list) and isinstance(second, list)
    counted = first[:3] + second[:3] + [third]
    assert all(isinstance(o, voting.VoteResult) and o.seq for o in counted), counted
    assert isinstance(first[3], Forbidden) and "not valid" in str(first[3])
    assert isinstance(second[3], Forbidden) and "removed" in str(second[3])
    assert isinstance(second[4], DomainError)  # 3 dots over a cap of 2
    seqs = sorted(o.seq or 0 for o in counted if isinstance(o, voting.VoteResult))
    assert seqs == list(range(seq_before + 1, seq_before + 8))
    with Session(impatient) as session:
        assert sum(v.dots for v in session.exec(select(Vote))) == 6 + 2
        assert (session.get(Table, table.id) or Table()).seq == seq_before + 7


def test_a_hall_of_api_votes_is_committed_together_on_either_database(engine: Engine) -> None:
    """Thirty phones vote through the API at once on one loop (SQLite or PostgreSQL): every
    vote is answered after its commit, with a seq of its own in a row, and counted once."""
    with Session(engine, expire_on_commit=False) as session:
        table = make_table(session, phase="collect")
        author, _ = make_participant(session, table)
        posts = [
            proposals.post_proposal(session, participant=author, kind="proposal", title=title)
            for title in ("Un centro per le famiglie a Nardò", "Doposcuola nelle frazioni")
        ]
        ids = [post.proposal.id or 0 for post in posts]
        table = in_phase(session, table, "voting")
        tokens = [make_participant(session, table)[1] for _ in range(30)]
        seq_before = (session.get(Table, table.id) or Table()).seq

    async def hall() -> list[object]:
        asked = [
            voting.cast(engine, token=token, proposal_id=ids[i % 2], dots=1, expected=None)
            for i, token in enumerate(tokens)
        ]
        asked.append(voting.cast(engine, token="x" * 43, proposal_id=ids[0], dots=1, expected=0))
        return await asyncio.gather(*asked, return_exceptions=True)

    outcomes = asyncio.run(hall())
    counted = [o for o in outcomes[:-1] if isinstance(o, voting.VoteResult)]
    assert len(counted) == 30, outcomes
    assert isinstance(outcomes[-1], Forbidden)
    assert sorted(o.seq or 0 for o in counted) == list(range(seq_before + 1, seq_before + 31))
    assert all(o.table_seq == o.seq for o in counted)
    with Session(engine) as session:
        tallies = Counter[int]()
        for v in session.exec(select(Vote)):
            tallies[v.proposal_id] += v.dots
        assert tallies == {ids[0]: 15, ids[1]: 15}


def test_a_batch_whose_write_fails_records_none_and_the_next_ones_count(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails in a batch (a broken disk, a lost connection) refuses the whole
    batch: nothing of it is written, each voter is told, and the next votes are counted
    (either database)."""
    with Session(engine, expire_on_commit=False) as session:
        table = make_table(session, phase="collect")
        author, _ = make_participant(session, table)
        post = proposals.post_proposal(
            session, participant=author, kind="proposal", title="Orti sociali a Galàtone"
        )
        proposal_id = post.proposal.id or 0
        table = in_phase(session, table, "voting")
        tokens = [make_participant(session, table)[1] for _ in range(8)]
        seq_before = (session.get(Table, table.id) or Table()).seq

    async def hall(voters: Sequence[str]) -> list[object]:
        asked = [
            voting.cast(engine, token=token, proposal_id=proposal_id, dots=1, expected=None)
            for token in voters
        ]
        return await asyncio.gather(*asked, return_exceptions=True)

    broken = sa.text("UPDATE no_such_table SET seq = :seq WHERE id = :proposal")
    monkeypatch.setattr(voting, "PROPOSAL_TOUCH", broken)
    refused = asyncio.run(hall(tokens[:4]))
    assert all(isinstance(o, group_commit.NotCommitted) for o in refused), refused
    with Session(engine) as session:
        assert list(session.exec(select(Vote))) == []
        assert (session.get(Table, table.id) or Table()).seq == seq_before

    monkeypatch.undo()
    for _ in range(3):  # the same votes again change nothing: their seqs are given back
        counted = asyncio.run(hall(tokens))
        assert all(isinstance(o, voting.VoteResult) for o in counted), counted
        with Session(engine) as session:
            assert sum(v.dots for v in session.exec(select(Vote))) == 8
            assert (session.get(Table, table.id) or Table()).seq == seq_before + 8
