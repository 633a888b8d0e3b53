"""A push of new tallies is rendered from the table's counts, not from every card: what every
screen, phone, console and dashboard receives must be the same as from the whole state."""

import pytest
from fastapi import FastAPI
from sqlmodel import Session

from app.live.fragments import Fragments
from app.models import Table
from app.services import state, voting
from app.services.proposals import post_proposal
from tests.conftest import in_phase, make_participant, make_table


def _table_with_votes(session: Session, *, premoderation: bool) -> tuple[Table, list[int]]:
    table = make_table(session, phase="collect")
    people = [make_participant(session, table)[0] for _ in range(4)]
    ids = []
    for i, person in enumerate(people[:3]):
        posted = post_proposal(
            session, participant=person, kind="proposal", title=f"Sportello unico n. {i + 1}"
        )
        ids.append(posted.proposal.id or 0)
    if premoderation:  # one post waits in the moderators' queue: the dashboard counts it
        table.premoderation = True
        session.add(table)
        session.commit()
        post_proposal(session, participant=people[3], kind="proposal", title="In attesa")
    table = in_phase(session, table, "voting")
    for person in people:
        voting.set_vote(session, participant=person, proposal_id=ids[0], dots=1)
    voting.set_vote(session, participant=people[0], proposal_id=ids[1], dots=1)
    return table, ids


@pytest.mark.parametrize("screen_mode", ["wall", "join"])
@pytest.mark.parametrize("premoderation", [False, True])
def test_a_tally_push_is_the_same_from_counts_as_from_the_whole_table(
    session: Session, app: FastAPI, screen_mode: str, premoderation: bool
) -> None:
    table, ids = _table_with_votes(session, premoderation=premoderation)
    table.screen_mode = screen_mode
    session.add(table)
    session.commit()
    before = state.current_seq(session, table.id or 0)
    voter = make_participant(session, table)[0]
    voting.set_vote(session, participant=voter, proposal_id=ids[2], dots=1)

    delta = state.table_delta(session, table.id or 0, before)
    assert delta.changed and not delta.new and not delta.layout  # a vote: tallies only
    light = state.push_state(session, table, delta)
    full = state.table_state(session, table)
    assert isinstance(light, state.TablePatch)
    # A patch is not a table's state: it has no wall, queue or ranking to be asked for
    # (as a TableState subclass it answered those by raising).
    assert not isinstance(light, state.TableState)
    for whole in ("visible", "queue", "off_wall", "ranked", "standings", "max_tally"):
        assert not hasattr(light, whole)
    assert [p.id for p in light.changed] == [ids[2]]
    assert light.stats(7) == full.stats(7)
    assert light.stats(7).queue == (1 if premoderation else 0)

    fragments: Fragments = app.state.fragments
    assert fragments.push(delta, light.stats(7), light) == fragments.push(
        delta, full.stats(7), full
    )


def test_a_push_that_redraws_gets_the_whole_table(session: Session) -> None:
    """New cards, a layout change and the projector's ranking need every card."""
    table, ids = _table_with_votes(session, premoderation=False)
    before = state.current_seq(session, table.id or 0)
    voter = make_participant(session, table)[0]
    voting.set_vote(session, participant=voter, proposal_id=ids[2], dots=1)
    tallies_only = state.table_delta(session, table.id or 0, before)
    for mode in ("spotlight", "results"):
        table.screen_mode = mode
        session.add(table)
        session.commit()
        chosen = state.push_state(session, table, tallies_only)
        assert not isinstance(chosen, state.TablePatch)
        assert [p.id for p in chosen.visible] == ids

    table.screen_mode = "wall"
    session.add(table)
    session.commit()
    table = in_phase(session, table, "collect")
    before = state.current_seq(session, table.id or 0)
    post_proposal(session, participant=voter, kind="proposal", title="Trasporto sociale")
    with_new_card = state.table_delta(session, table.id or 0, before)
    assert with_new_card.new
    chosen = state.push_state(session, table, with_new_card)
    assert not isinstance(chosen, state.TablePatch)
    assert [p.title for p in chosen.visible][-1] == "Trasporto sociale"
