"""What each audience's templates need, built once here for pages, snapshots and pushes."""

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from app.enums import Status
from app.models import Participant, Proposal, Table
from app.services import dissent, proposals, state, tables, voting


def participant_context(session: Session, table: Table, me: Participant) -> dict[str, Any]:
    """A phone's view: the shared wall plus its own votes, dots and posts."""
    current = state.table_state(session, table)
    mine = own_cards(((p.id, p.author_id, p.merged_into_id) for p in current.proposals), me.id or 0)
    return {
        "audience": "participant",
        "state": current,
        "table": current.table,
        "event": current.event,
        "me": me,
        "my_votes": voting.my_votes(session, me),
        "dots_left": voting.dots_left(session, me, current.table),
        # While collecting, every own post can be fixed or withdrawn; later only the ones
        # that still need the author's attention are listed.
        "my_posts": [
            p
            for p in my_posts(current, me.id or 0, mine)
            if current.can_post or p.status != Status.VISIBLE
        ],
        "my_cards": mine,
        # Its own dissent, by proposal id: the list "you disagree with" and the cards' marks.
        "my_dissent": dissent.my_dissent(session, me),
        "can_dissent": dissent.can_dissent(current.table),
        "reason_limit": dissent.REASON_LIMIT,
        # The limits of the services, shown by the counters of the phone's text fields.
        "title_limit": proposals.TITLE_LIMIT,
        "body_limit": proposals.BODY_LIMIT,
        # Orders this phone's own fragments: an answer read before a newer one is dropped.
        "me_seq": current.seq,
    }


def my_posts(current: state.TableState, me: int, mine: list[int]) -> list[state.ProposalView]:
    """This phone's posts: its own, and in place of one merged into another card, that card
    (the duplicates a moderator merged still count as the author's contribution)."""
    own = {p.id for p in current.by_author(me)}
    cards = set(mine)
    return [
        p
        for p in current.proposals
        if p.id in own
        or (p.id in cards and p.status in (Status.VISIBLE, Status.PENDING, Status.REPHRASE))
    ]


def own_cards(proposals: Iterable[tuple[int, int, int | None]], me: int) -> list[int]:
    """The cards a phone marks "by you": its own posts and every card they were merged into
    (so the survivor of duplicates it co-authored), from (id, author, merged into) rows.
    Only this person's own fragments carry it; shared cards say nothing about authors."""
    rows = list(proposals)
    parent = {pid: into for pid, _author, into in rows if into is not None}
    mine: set[int] = set()
    for pid, author, _into in rows:
        current: int | None = pid if author == me else None
        while current is not None and current not in mine:
            mine.add(current)
            current = parent.get(current)
    return sorted(mine)


def my_cards(session: Session, table: Table, me: Participant) -> list[int]:
    """`own_cards` for an answer that does not read the whole table (a vote)."""
    rows = session.exec(
        select(Proposal.id, Proposal.participant_id, Proposal.merged_into_id).where(
            Proposal.table_id == table.id
        )
    ).all()
    return own_cards(((pid or 0, author, into) for pid, author, into in rows), me.id or 0)


def own_contexts(
    session: Session, table: Table, participant_ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """Several phones' own state (`#me`, dots left), read in a few queries after the table
    (its seq first, so no fragment claims a seq later than what it shows). A removed
    participant gets nothing."""
    ids = list(participant_ids)
    removed = set(
        session.exec(
            select(Participant.id).where(
                col(Participant.id).in_(ids), col(Participant.removed).is_(True)
            )
        )
    )
    ids = [pid for pid in ids if pid not in removed]
    if not ids:
        return {}
    rows = session.exec(
        select(Proposal.id, Proposal.participant_id, Proposal.merged_into_id).where(
            Proposal.table_id == table.id
        )
    ).all()
    cards = [(pid or 0, author, into) for pid, author, into in rows]
    found = voting.ballots(session, table, ids)
    dissented = dissent.dissented(session, ids)
    return {
        pid: {
            "table": table,
            "my_votes": found[pid].votes,
            "my_dissent": dissented.get(pid, {}),
            "dots_left": found[pid].dots_left,
            "my_cards": own_cards(cards, pid),
            "me_seq": table.seq,
        }
        for pid in ids
    }


def shared_context(session: Session, table: Table, audience: str, people: int) -> dict[str, Any]:
    """The screen's or the moderators' view: the same for every connection."""
    current = state.table_state(session, table)
    context = {
        "audience": audience,
        "state": current,
        "table": current.table,
        "event": current.event,
        "stats": current.stats(people),
    }
    if audience == "moderator":  # the console's "Edit the table" locks the voting method
        context["voting_opened"] = tables.voting_opened(session, current.table)
    return context
