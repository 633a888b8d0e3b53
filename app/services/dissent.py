"""Dissent: "Non sono d'accordo" on a proposal, with an optional reason (issue 18).

A participant marks their disagreement with a proposal on the wall while the table
discusses or votes, and may withdraw it. It is recorded, never counted: no tally, budget
or ranking reads it (the votes' services never import this module). The reason goes
through pre-moderation when the table uses it, like a post: pending until a moderator
accepts or rejects it; a rejected reason is never printed, the dissent itself still counts.

Who dissented is the moderators' business only in the aggregate: the console shows each
proposal's count and its reasons without names, the projector shows nothing of it, the
minutes print the count, the accepted reasons and a count by category only where the
categories are printed (app/reports). Removed and erased participants' dissent is deleted,
so it counts nowhere. Every write is one unit of work that redraws the consoles and phones
(`layout`): the count lives in the console's live region and a phone's own list.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from app import ratelimit
from app.enums import Phase, ReasonStatus, Status
from app.models import Dissent, Merge, Participant, Proposal, Table
from app.services.errors import Conflict, NotFound
from app.services.phases import require_open
from app.services.rows import by_id
from app.services.tables import Change, table_write
from app.services.text import clean_paragraphs
from app.services.voting import active_participant

REASON_LIMIT = 280
# The phases in which a participant may say they disagree, and take it back.
PHASES = (Phase.DISCUSSION, Phase.VOTING)


def can_dissent(table: Table) -> bool:
    return table.phase in PHASES


def require_dissent(table: Table) -> None:
    if not can_dissent(table):
        raise Conflict("You can disagree only while the table discusses or votes")


def clean_reason(reason: str) -> str:
    return clean_paragraphs(reason, field="reason", limit=REASON_LIMIT)


def _on_wall(session: Session, table: Table, proposal_id: int) -> Proposal:
    proposal = by_id(session, Proposal, proposal_id)
    if proposal is None or proposal.table_id != table.id:
        raise NotFound("No proposal with this id on your table")
    if proposal.status != Status.VISIBLE:
        raise Conflict("This proposal is not on the wall")
    return proposal


def set_dissent(
    session: Session, *, participant: Participant, proposal_id: int, reason: str = ""
) -> Change:
    """Mark (or re-word) this participant's dissent on a proposal. Idempotent: the same
    reason again changes nothing. A new reason waits for the moderator when the table
    pre-moderates; an unchanged one keeps the moderator's decision."""
    clean = clean_reason(reason)
    ratelimit.hit("post", str(participant.id))
    with table_write(session, participant.table_id, layout=True) as write:
        me = active_participant(session, participant.id or 0)
        proposal = _on_wall(session, write.table, proposal_id)
        require_dissent(write.table)
        status = (
            ReasonStatus.PENDING if clean and write.table.premoderation else ReasonStatus.ACCEPTED
        )
        found = session.exec(
            select(Dissent).where(
                Dissent.participant_id == me.id, Dissent.proposal_id == proposal.id
            )
        ).first()
        if found is None:
            session.add(
                Dissent(
                    participant_id=me.id or 0,
                    proposal_id=proposal.id or 0,
                    reason=clean,
                    reason_status=status,
                )
            )
        elif found.reason == clean:
            write.nothing()
        else:
            found.reason, found.reason_status = clean, status
            session.add(found)
    return write.change


def withdraw_dissent(session: Session, *, participant: Participant, proposal_id: int) -> Change:
    """Take one's dissent back (and its reason with it). Nothing to withdraw changes nothing."""
    with table_write(session, participant.table_id, layout=True) as write:
        me = active_participant(session, participant.id or 0)
        proposal = by_id(session, Proposal, proposal_id)
        if proposal is None or proposal.table_id != write.table.id:
            raise NotFound("No proposal with this id on your table")
        require_dissent(write.table)
        found = session.exec(
            select(Dissent).where(
                Dissent.participant_id == me.id, Dissent.proposal_id == proposal_id
            )
        ).first()
        if found is None:
            write.nothing()
        else:
            session.delete(found)
    return write.change


def _reason_on(session: Session, table: Table, dissent_id: int) -> Dissent:
    found = by_id(session, Dissent, dissent_id)
    proposal = session.get(Proposal, found.proposal_id) if found is not None else None
    if found is None or proposal is None or proposal.table_id != table.id or not found.reason:
        raise NotFound("No reason with this id on your table")
    return found


def accept_reason(session: Session, table: Table, dissent_id: int) -> Change:
    """A moderator lets a reason into the console's list and the minutes."""
    return _decide(session, table, dissent_id, ReasonStatus.ACCEPTED)


def reject_reason(session: Session, table: Table, dissent_id: int) -> Change:
    """A moderator keeps a reason out of the minutes (an insult, a name); the dissent counts."""
    return _decide(session, table, dissent_id, ReasonStatus.REJECTED)


def _decide(session: Session, table: Table, dissent_id: int, status: ReasonStatus) -> Change:
    with table_write(session, table.id or 0, layout=True) as write:
        require_open(write.table)
        found = _reason_on(session, write.table, dissent_id)
        if found.reason_status == status:
            write.nothing()
        else:
            found.reason_status = status
            session.add(found)
    return write.change


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    id: int
    text: str
    status: str


@dataclass(frozen=True)
class ProposalDissent:
    """One proposal's dissent as the moderators see it: a count and reasons, no names."""

    count: int
    reasons: tuple[Reason, ...]  # every non-empty reason, oldest first

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(r.text for r in self.reasons if r.status == ReasonStatus.ACCEPTED)

    @property
    def pending(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if r.status == ReasonStatus.PENDING)

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.reasons if r.status == ReasonStatus.REJECTED)


def _counted(session: Session, proposal_ids: list[int]) -> list[tuple[Dissent, Participant]]:
    """The dissent on these proposals of people who still count (not removed, not erased:
    their rows are deleted too, this is the second lock of the same door)."""
    if not proposal_ids:
        return []
    return [
        (d, p)
        for d, p in session.exec(
            select(Dissent, Participant)
            .join(Participant, col(Participant.id) == Dissent.participant_id)
            .where(
                col(Dissent.proposal_id).in_(proposal_ids),
                col(Participant.removed).is_(False),
                col(Participant.erased).is_(False),
            )
            .order_by(col(Dissent.id))
        )
    ]


def dissent_by_proposal(session: Session, proposal_ids: list[int]) -> dict[int, ProposalDissent]:
    """Each proposal's dissent (only the proposals that have some)."""
    rows: dict[int, list[Dissent]] = defaultdict(list)
    for found, _person in _counted(session, proposal_ids):
        rows[found.proposal_id].append(found)
    return {
        pid: ProposalDissent(
            count=len(found),
            reasons=tuple(Reason(d.id or 0, d.reason, d.reason_status) for d in found if d.reason),
        )
        for pid, found in rows.items()
    }


def dissent_by_category(session: Session, proposal_ids: list[int]) -> dict[int, dict[str, int]]:
    """Dissenters per proposal and category, for the minutes (which print only what their
    privacy rule lets through)."""
    result: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for found, person in _counted(session, proposal_ids):
        result[found.proposal_id][person.category] += 1
    return result


def my_dissent(session: Session, participant: Participant) -> dict[int, Dissent]:
    """This participant's dissent, by proposal id (their own phone's list)."""
    return {
        d.proposal_id: d
        for d in session.exec(select(Dissent).where(Dissent.participant_id == participant.id))
    }


def dissented(session: Session, participant_ids: list[int]) -> dict[int, dict[int, Dissent]]:
    """`my_dissent` of several participants in one read (their other tabs' marks)."""
    result: dict[int, dict[int, Dissent]] = defaultdict(dict)
    if participant_ids:
        for d in session.exec(
            select(Dissent).where(col(Dissent.participant_id).in_(participant_ids))
        ):
            result[d.participant_id][d.proposal_id] = d
    return dict(result)


# --- the other services' hooks: removal, erasure, merges ------------------------------------


def forget(session: Session, participant_ids: Iterable[int]) -> None:
    """A removed or erased participant's dissent and reasons are deleted (inside the
    caller's unit of work), from the merges' records too: they count nowhere, and the
    words are gone."""
    ids = set(participant_ids)
    if not ids:
        return
    session.execute(delete(Dissent).where(col(Dissent.participant_id).in_(ids)))
    # A merge's record keeps the dissent it moved, for its undo: their words leave it too.
    tables = select(Participant.table_id).where(col(Participant.id).in_(ids))
    for record in session.exec(select(Merge).where(col(Merge.table_id).in_(tables))):
        kept = [row for row in record.dissent_before if int(row[0]) not in ids]
        if len(kept) != len(record.dissent_before):
            record.dissent_before = kept
            session.add(record)


def fold(session: Session, record: Merge, survivor_id: int, merged_ids: list[int]) -> None:
    """A merge carries the dissent of its posts to the survivor, one per participant: their
    survivor's own if they had one, else the first of theirs (by id) that has a reason, else
    their first. What was there before is kept in the merge's record for its undo."""
    involved = [survivor_id, *merged_ids]
    found = list(
        session.exec(
            select(Dissent).where(col(Dissent.proposal_id).in_(involved)).order_by(col(Dissent.id))
        )
    )
    record.dissent_before = [
        [d.participant_id, d.proposal_id, d.reason, d.reason_status] for d in found
    ]
    kept: dict[int, Dissent] = {}
    for d in found:
        best = kept.get(d.participant_id)
        if (
            best is None
            or (d.proposal_id == survivor_id and best.proposal_id != survivor_id)
            or (not best.reason and d.reason and best.proposal_id != survivor_id)
        ):
            kept[d.participant_id] = d
    for d in found:
        if kept[d.participant_id] is not d:
            session.delete(d)
    session.flush()
    for d in kept.values():
        if d.proposal_id != survivor_id:
            d.proposal_id = survivor_id
            session.add(d)
    session.flush()


def unfold(session: Session, record: Merge) -> None:
    """Undo what `fold` did, not what people did since (as the votes' undo): whoever still
    has on the survivor the dissent the merge left them gets their dissent from before the
    merge back; whoever withdrew or re-worded it since keeps it as they left it, and the
    posts split off get nothing from them. A participant removed or erased since gets
    nothing back (their dissent was deleted)."""
    before: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    for participant_id, proposal_id, reason, status in record.dissent_before:
        before[int(participant_id)].append((int(proposal_id), str(reason), str(status)))
    if not before:
        return
    gone = set(
        session.exec(
            select(Participant.id).where(
                col(Participant.id).in_(list(before)),
                col(Participant.removed).is_(True) | col(Participant.erased).is_(True),
            )
        )
    )
    on_survivor = {
        d.participant_id: d
        for d in session.exec(
            select(Dissent).where(
                Dissent.proposal_id == record.survivor_id,
                col(Dissent.participant_id).in_(list(before)),
            )
        )
    }
    for participant_id, rows in before.items():
        now = on_survivor.get(participant_id)
        if participant_id in gone or now is None:
            continue
        if not any(reason == now.reason for _pid, reason, _status in rows):
            continue  # re-worded since the merge: their last word was on the merged post
        decided = now.reason_status  # a moderator's decision since the merge stands
        session.delete(now)
        session.flush()
        for proposal_id, reason, status in rows:
            session.add(
                Dissent(
                    participant_id=participant_id,
                    proposal_id=proposal_id,
                    reason=reason,
                    reason_status=decided if reason == now.reason else status,
                )
            )
    session.flush()
