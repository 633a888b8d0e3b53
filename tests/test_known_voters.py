"""The API's vote remembers who each token names (participants.KnownVoters) and is still
refused exactly as before once that changes: an erased or removed participant, a deleted
table, and on SQLite a new table and participant that took the deleted ones' ids. Every
phone below votes once first, so that its token is known when the change comes."""

import asyncio
from collections import Counter

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.models import Participant, Table, Vote
from app.services import moderation, participants, privacy, proposals, voting
from app.services.errors import DomainError, Forbidden
from tests.conftest import in_phase, make_participant, make_table


def _cast(engine: Engine, token: str, proposal_id: int, dots: int) -> object:
    """The API's vote; its answer or its refusal."""
    try:
        return asyncio.run(
            voting.cast(engine, token=token, proposal_id=proposal_id, dots=dots, expected=None)
        )
    except DomainError as refused:
        return refused


def _voting_table(engine: Engine, phones: int) -> tuple[int, list[int], list[str]]:
    """A table in voting with two posts; its id, the posts' ids and the phones' tokens."""
    with Session(engine, expire_on_commit=False) as session:
        table = make_table(session, phase="collect")
        author, _ = make_participant(session, table)
        ids = [
            proposals.post_proposal(
                session, participant=author, kind="proposal", title=title
            ).proposal.id
            or 0
            for title in ("Un centro diurno a Baronissi", "Trasporto sociale nelle frazioni")
        ]
        table = in_phase(session, table, "voting")
        tokens = [make_participant(session, table)[1] for _ in range(phones)]
        return table.id or 0, ids, tokens


def _tallies(engine: Engine) -> Counter[int]:
    with Session(engine) as session:
        tallies = Counter[int]()
        for vote in session.exec(select(Vote)):
            tallies[vote.proposal_id] += vote.dots
        return tallies


def _participant(engine: Engine, token: str) -> Participant:
    with Session(engine, expire_on_commit=False) as session:
        found = participants.participant_by_token(session, token)
        assert found is not None
        return found


def test_a_known_token_erased_or_removed_is_refused_as_before(engine: Engine) -> None:
    _table_id, ids, tokens = _voting_table(engine, 3)
    for token in tokens:  # each token is now known
        assert isinstance(_cast(engine, token, ids[0], 1), voting.VoteResult)
    known = participants.KnownVoters.of(engine)
    assert len(known.get([participants.token_digest(t) for t in tokens])) == 3

    erased, removed, kept = tokens
    with Session(engine, expire_on_commit=False) as session:
        privacy.erase_participant(session, participant=_participant(engine, erased))
    gone = _participant(engine, removed)
    with Session(engine, expire_on_commit=False) as session:
        table = session.get(Table, gone.table_id)
        assert table is not None
        moderation.remove_participant(session, table, gone.id or 0)

    refused = _cast(engine, erased, ids[1], 1)
    assert isinstance(refused, Forbidden) and "not valid" in str(refused), refused
    # A removed phone keeps its answer however often it taps.
    for _ in range(3):
        refused = _cast(engine, removed, ids[1], 1)
        assert isinstance(refused, Forbidden) and "removed" in str(refused), refused
    assert isinstance(_cast(engine, kept, ids[1], 1), voting.VoteResult)
    # The erased phone's first vote stays (anonymised); the removed phone's is withdrawn.
    assert _tallies(engine) == {ids[0]: 2, ids[1]: 1}


def test_a_known_token_of_a_deleted_table_is_refused_as_before(engine: Engine) -> None:
    table_id, ids, tokens = _voting_table(engine, 1)
    assert isinstance(_cast(engine, tokens[0], ids[0], 1), voting.VoteResult)
    with Session(engine, expire_on_commit=False) as session:
        table = session.get(Table, table_id)
        assert table is not None
        privacy.delete_table(session, table=table)
    refused = _cast(engine, tokens[0], ids[0], 1)
    assert isinstance(refused, Forbidden) and "not valid" in str(refused), refused


def test_a_known_token_never_votes_as_whoever_took_its_ids(impatient: Engine) -> None:
    """SQLite gives the highest ids again once their rows are gone: a deleted table's phone
    whose participant, table and post ids now belong to a new table's is refused, and the
    newcomer's count is untouched."""
    engine = impatient  # SQLite
    table_id, ids, tokens = _voting_table(engine, 1)
    assert isinstance(_cast(engine, tokens[0], ids[1], 1), voting.VoteResult)
    old = _participant(engine, tokens[0])
    with Session(engine, expire_on_commit=False) as session:
        table = session.get(Table, table_id)
        assert table is not None
        privacy.delete_table(session, table=table)
    again_table, again_ids, again_tokens = _voting_table(engine, 1)
    newcomer = _participant(engine, again_tokens[0])
    assert (again_table, again_ids, newcomer.id) == (table_id, ids, old.id), "ids reused"

    refused = _cast(engine, tokens[0], ids[1], 1)
    assert isinstance(refused, Forbidden) and "not valid" in str(refused), refused
    refused = _cast(engine, tokens[0], 10**6, 1)  # no such post: the token is read again too
    assert isinstance(refused, Forbidden) and "not valid" in str(refused), refused
    assert _tallies(engine) == {}
    assert isinstance(_cast(engine, again_tokens[0], ids[1], 1), voting.VoteResult)
    assert _tallies(engine) == {ids[1]: 1}
