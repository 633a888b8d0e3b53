"""Keeping the wall clean: the queue, hide and restore, edits, merges, tags, removals."""

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlmodel import Session, col, delete, func, select

from app.enums import Status
from app.models import KINDS, Merge, Participant, Proposal, ProposalTag, Table, Tag, Vote, utcnow
from app.security import hash_token, new_token
from app.services import dissent, links
from app.services.errors import Conflict, Invalid, NotFound
from app.services.methods import method_of
from app.services.phases import require_open
from app.services.rows import by_id
from app.services.tables import Change, Write, event_of, table_write
from app.services.text import clean_line, clean_name_line, clean_paragraphs
from app.services.voting import dots_used, trim_to_budget

MAX_TAGS = 12
NOTE_LIMIT = 300


def proposal_on(session: Session, table: Table, proposal_id: int) -> Proposal:
    proposal = by_id(session, Proposal, proposal_id)
    if proposal is None or proposal.table_id != table.id:
        raise NotFound("No proposal with this id on your table")
    return proposal


@contextmanager
def _moderating(session: Session, table: Table) -> Iterator[Write]:
    """A moderator's unit of work: the table locked first, then refused once closed."""
    with table_write(session, table.id or 0, layout=True) as write:
        require_open(write.table)
        yield write


def _touch(session: Session, proposal: Proposal, seq: int) -> None:
    proposal.updated_seq = seq
    session.add(proposal)


def accept(session: Session, table: Table, proposal_id: int) -> Change:
    with _moderating(session, table) as write:
        proposal = proposal_on(session, write.table, proposal_id)
        if proposal.status not in (Status.PENDING, Status.REPHRASE, Status.REJECTED, Status.HIDDEN):
            raise Conflict("This post is not waiting for a decision")
        _to_wall(session, write, proposal)
    return write.change


def accept_all(session: Session, table: Table) -> Change:
    """Put every post waiting in the queue on the wall, oldest first."""
    with _moderating(session, table) as write:
        waiting = list(
            session.exec(
                select(Proposal)
                .where(Proposal.table_id == write.table.id, Proposal.status == Status.PENDING)
                .order_by(col(Proposal.created_seq))
            )
        )
        if not waiting:
            write.nothing()
        for proposal in waiting:
            _to_wall(session, write, proposal)
    return write.change


def set_kind(session: Session, table: Table, proposal_id: int, kind: str) -> Change:
    """Say what a post is (need, proposal, resource) when its author chose the wrong kind."""
    if kind not in KINDS:
        raise Invalid("Unknown kind: choose need, proposal or resource", field="kind")
    with _moderating(session, table) as write:
        proposal = proposal_on(session, write.table, proposal_id)
        if proposal.status == Status.MERGED:
            raise Conflict("This post was merged into another")
        if proposal.kind == kind:
            write.nothing()
        else:
            proposal.kind = kind
            _touch(session, proposal, write.seq)
    return write.change


def _to_wall(session: Session, write: Write, proposal: Proposal) -> None:
    proposal.status, proposal.moderator_note = Status.VISIBLE, ""
    _touch(session, proposal, write.seq)
    session.flush()
    trim_to_budget(session, write.table, proposal)


def reject(session: Session, table: Table, proposal_id: int, *, note: str = "") -> Change:
    return _send_back(session, table, proposal_id, status=Status.REJECTED, note=note)


def ask_rephrase(session: Session, table: Table, proposal_id: int, *, note: str) -> Change:
    if not note.strip():
        raise Invalid("Tell the author what to change", field="note")
    return _send_back(session, table, proposal_id, status=Status.REPHRASE, note=note)


def _send_back(
    session: Session, table: Table, proposal_id: int, *, status: str, note: str
) -> Change:
    clean_note = clean_line(note, field="note", limit=NOTE_LIMIT)
    with _moderating(session, table) as write:
        proposal = proposal_on(session, write.table, proposal_id)
        if proposal.status not in (Status.PENDING, Status.VISIBLE, Status.REPHRASE):
            raise Conflict("This post is not waiting for a decision")
        proposal.status, proposal.moderator_note = status, clean_note
        _touch(session, proposal, write.seq)
    return write.change


def hide(session: Session, table: Table, proposal_id: int) -> Change:
    with _moderating(session, table) as write:
        proposal = proposal_on(session, write.table, proposal_id)
        if proposal.status != Status.VISIBLE:
            raise Conflict("Only a post on the wall can be hidden")
        proposal.status = Status.HIDDEN
        _touch(session, proposal, write.seq)
    return write.change


def restore(session: Session, table: Table, proposal_id: int) -> Change:
    """Back on the wall; its votes count again only within each voter's budget."""
    with _moderating(session, table) as write:
        proposal = proposal_on(session, write.table, proposal_id)
        if proposal.status != Status.HIDDEN:
            raise Conflict("Only a hidden post can be restored")
        _to_wall(session, write, proposal)
    return write.change


def edit(session: Session, table: Table, proposal_id: int, *, title: str, body: str) -> Change:
    """Fix a typo or clarify; the author's wording is kept and the card marked as edited."""
    clean_title = clean_line(title, field="title", limit=140, required=True)
    clean_body = clean_paragraphs(body, field="body", limit=1000)
    with _moderating(session, table) as write:
        proposal = proposal_on(session, write.table, proposal_id)
        if (clean_title, clean_body) == (proposal.title, proposal.body):
            write.nothing()
        else:
            if proposal.original_title is None:
                proposal.original_title, proposal.original_body = proposal.title, proposal.body
            proposal.title, proposal.body = clean_title, clean_body
            _touch(session, proposal, write.seq)
    return write.change


@dataclass(frozen=True)
class Merged:
    table_id: int
    seq: int
    merge_id: int


def merge(
    session: Session,
    table: Table,
    *,
    survivor_id: int,
    merged_ids: list[int],
) -> Merged:
    """Fold duplicates into one proposal, moving votes over without double counting.

    A participant keeps one approval, or with dots the sum of their dots capped at the
    per-proposal maximum; the excess goes back to their budget.
    """
    others = [pid for pid in dict.fromkeys(merged_ids) if pid != survivor_id]
    if not others:
        raise Invalid("Pick at least two proposals to merge", field="proposal_ids")
    with _moderating(session, table) as write:
        current = write.table
        survivor = proposal_on(session, current, survivor_id)
        merged = [proposal_on(session, current, pid) for pid in others]
        if any(p.status != Status.VISIBLE for p in (survivor, *merged)):
            raise Conflict("Only proposals on the wall can be merged")
        if any(p.answered_at is not None for p in (survivor, *merged)):  # support frozen
            raise Conflict("An answered question cannot be merged: mark it not answered first")
        involved = [survivor_id, *others]
        votes = list(session.exec(select(Vote).where(col(Vote.proposal_id).in_(involved))))
        record = Merge(
            table_id=current.id or 0,
            survivor_id=survivor_id,
            merged_ids=others,
            votes_before=[[v.participant_id, v.proposal_id, v.dots] for v in votes],
            statuses_before={str(p.id): p.status for p in merged},
        )
        # Answers and pledges move to the survivor too; the record keeps both sides.
        record.links = links.carry(session, survivor_id, others)
        totals: dict[int, int] = defaultdict(int)
        for vote in votes:
            totals[vote.participant_id] += vote.dots
            session.delete(vote)
        session.flush()
        for participant_id, total in totals.items():
            session.add(
                Vote(
                    participant_id=participant_id,
                    proposal_id=survivor_id,
                    dots=_folded(current, total),
                )
            )
        for proposal in merged:
            proposal.status, proposal.merged_into_id = Status.MERGED, survivor_id
            _touch(session, proposal, write.seq)
        _touch(session, survivor, write.seq)
        dissent.fold(session, record, survivor_id, others)
        session.add(record)
        session.flush()
        merge_id = record.id or 0
    return Merged(current.id or 0, write.seq, merge_id)


def undo_merge(session: Session, table: Table, merge_id: int) -> Change:
    """Split a merge again: undo what the merge did, not what people did since.

    Whoever still has on the survivor the vote the merge gave them gets their votes from
    before the merge back (the survivor's first, then within their budget if they have spent
    the dots the merge returned). Whoever changed or withdrew that vote since keeps it as they
    left it, and the posts split off get nothing from them: their last word was on the merged
    post. Later voters keep theirs. A participant removed since gets nothing back."""
    with _moderating(session, table) as write:
        current = write.table
        record = by_id(session, Merge, merge_id)
        if record is None or record.table_id != current.id:
            raise NotFound("No merge with this id on your table")
        if record.undone_at is not None:
            raise Conflict("This merge was already undone")
        survivor = proposal_on(session, current, record.survivor_id)
        involved_ids = {record.survivor_id, *record.merged_ids}
        later = [
            m
            for m in merges_of(session, current)
            if (m.id or 0) > (record.id or 0) and involved_ids & {m.survivor_id, *m.merged_ids}
        ]
        if survivor.status == Status.HIDDEN:  # its voters' dots are off the count meanwhile
            raise Conflict("Restore the merged post before undoing its merge")
        if survivor.status != Status.VISIBLE or later:
            raise Conflict("Undo the later merge first")
        before: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for participant_id, proposal_id, dots in record.votes_before:
            before[participant_id].append((proposal_id, dots))
        on_survivor = {
            vote.participant_id: vote
            for vote in session.exec(
                select(Vote).where(
                    Vote.proposal_id == record.survivor_id,
                    col(Vote.participant_id).in_(list(before)),
                )
            )
        }
        removed = set(
            session.exec(
                select(Participant.id).where(
                    col(Participant.id).in_(list(before)), col(Participant.removed).is_(True)
                )
            )
        )
        untouched = {
            participant_id: restored
            for participant_id, restored in before.items()
            if participant_id not in removed
            and participant_id in on_survivor
            and on_survivor[participant_id].dots
            == _folded(current, sum(dots for _, dots in restored))
        }
        for participant_id in untouched:
            session.delete(on_survivor[participant_id])
        session.flush()
        for participant_id, restored in untouched.items():
            room = _room(session, current, participant_id)
            # The survivor's votes first: they are what the participant sees now.
            for proposal_id, dots in sorted(
                restored, key=lambda pair: pair[0] != record.survivor_id
            ):
                give = dots if room is None else min(dots, room)
                if give > 0:
                    session.add(
                        Vote(participant_id=participant_id, proposal_id=proposal_id, dots=give)
                    )
                    room = None if room is None else room - give
        for proposal_id in record.merged_ids:
            proposal = proposal_on(session, current, proposal_id)
            proposal.status = record.statuses_before.get(str(proposal_id), Status.VISIBLE)
            proposal.merged_into_id = None
            _touch(session, proposal, write.seq)
        links.restore(session, record.links, record.survivor_id, record.merged_ids)
        _touch(session, survivor, write.seq)
        dissent.unfold(session, record)
        record.undone_at = utcnow()
        session.add(record)
    return write.change


def _folded(table: Table, total: int) -> int:
    """What a merge leaves on the survivor of a participant's votes on the merged posts:
    one approval, or their dots up to the cap (the method cannot change once votes exist)."""
    return method_of(table).folded(table, total)


def _room(session: Session, table: Table, participant_id: int) -> int | None:
    """Dots this participant may still give (None: the method has no budget)."""
    budget = method_of(table).budget(table)
    if budget is None:
        return None
    participant = session.get(Participant, participant_id)
    return budget - (dots_used(session, participant) if participant else 0)


def merges_of(session: Session, table: Table) -> list[Merge]:
    return list(
        session.exec(
            select(Merge)
            .where(Merge.table_id == table.id, col(Merge.undone_at).is_(None))
            .order_by(col(Merge.id).desc())
        )
    )


@dataclass(frozen=True)
class TagCreated:
    table_id: int
    seq: int
    tag_id: int
    name: str


def create_tag(session: Session, table: Table, name: str) -> TagCreated:
    clean = clean_line(name, field="name", limit=40, required=True)
    with _moderating(session, table) as write:
        existing = list(session.exec(select(Tag).where(Tag.table_id == write.table.id)))
        if any(tag.name.casefold() == clean.casefold() for tag in existing):
            raise Conflict("This tag already exists")
        if len(existing) >= MAX_TAGS:
            raise Conflict("At most %(limit)s tags per table", limit=MAX_TAGS)
        tag = Tag(table_id=write.table.id or 0, name=clean)
        session.add(tag)
        session.flush()
        tag_id = tag.id or 0
    return TagCreated(write.table.id or 0, write.seq, tag_id, clean)


def delete_tag(session: Session, table: Table, tag_id: int) -> Change:
    with _moderating(session, table) as write:
        tag = _tag_on(session, write.table, tag_id)
        session.exec(delete(ProposalTag).where(col(ProposalTag.tag_id) == tag.id))
        session.delete(tag)
    return write.change


def set_tag(
    session: Session, table: Table, *, tag_id: int, proposal_ids: list[int], on: bool = True
) -> Change:
    """Tag (or untag) several proposals at once."""
    if not proposal_ids:
        raise Invalid("Pick at least one proposal", field="proposal_ids")
    with _moderating(session, table) as write:
        tag = _tag_on(session, write.table, tag_id)
        proposals = [proposal_on(session, write.table, pid) for pid in dict.fromkeys(proposal_ids)]
        for proposal in proposals:
            link = session.get(ProposalTag, (proposal.id, tag.id))
            if on and link is None:
                session.add(ProposalTag(proposal_id=proposal.id or 0, tag_id=tag.id or 0))
            elif not on and link is not None:
                session.delete(link)
            _touch(session, proposal, write.seq)
    return write.change


def _tag_on(session: Session, table: Table, tag_id: int) -> Tag:
    tag = by_id(session, Tag, tag_id)
    if tag is None or tag.table_id != table.id:
        raise NotFound("No tag with this id on your table")
    return tag


def tags_of(session: Session, table: Table) -> list[Tag]:
    return list(session.exec(select(Tag).where(Tag.table_id == table.id).order_by(col(Tag.name))))


@dataclass(frozen=True)
class Removed(Change):
    """A participant removed: their open connections are closed when it is published."""

    removed_participant: int


def remove_participant(
    session: Session, table: Table, participant_id: int, *, keep_ids: list[int] | None = None
) -> Removed:
    """Remove someone who abuses the table: their posts leave the wall, their token stops,
    and their votes are withdrawn, so they count nowhere (live, API, minutes). A post of
    theirs listed in `keep_ids` (one on the wall that others support) stays visible; it
    keeps its author, and their own vote on it is withdrawn like all their votes."""
    keep = set(keep_ids or [])
    with _moderating(session, table) as write:
        participant = by_id(session, Participant, participant_id)
        if participant is None or participant.table_id != write.table.id:
            raise NotFound("No participant with this id on your table")
        participant.removed = True
        session.add(participant)
        posts = list(
            session.exec(
                select(Proposal).where(
                    Proposal.participant_id == participant_id,
                    col(Proposal.status).in_((Status.VISIBLE, Status.PENDING, Status.REPHRASE)),
                )
            )
        )
        keepable = {p.id for p in posts if p.status == Status.VISIBLE}
        if keep - keepable:
            raise Invalid("Only their posts on the wall can be kept", field="keep_ids")
        for proposal in posts:
            if proposal.id in keep:
                continue
            proposal.status = Status.HIDDEN
            _touch(session, proposal, write.seq)
        for vote in list(session.exec(select(Vote).where(Vote.participant_id == participant_id))):
            voted = session.get(Proposal, vote.proposal_id)
            if voted is not None:
                _touch(session, voted, write.seq)
            session.delete(vote)
        dissent.forget(session, [participant_id])
    return Removed(write.table.id or 0, write.seq, participant_id)


@dataclass(frozen=True)
class RemovedPost:
    id: int
    title: str
    status: str
    others: int  # other people who voted for it
    others_dots: int


@dataclass(frozen=True)
class RemovalPreview:
    """What removing a participant will do, for the moderator to confirm (read only)."""

    participant_id: int
    name: str
    proxy: bool
    posts: list[RemovedPost]
    own_votes: int  # proposals they voted for

    @property
    def supported(self) -> list[RemovedPost]:
        """Posts on the wall that others voted for: the ones worth keeping."""
        return [p for p in self.posts if p.status == Status.VISIBLE and p.others]


def removal_preview(session: Session, table: Table, participant_id: int) -> RemovalPreview:
    participant = by_id(session, Participant, participant_id)
    if participant is None or participant.table_id != table.id:
        raise NotFound("No participant with this id on your table")
    if participant.removed:
        raise Conflict("This participant was already removed")
    posts = list(
        session.exec(
            select(Proposal)
            .where(
                Proposal.participant_id == participant_id,
                col(Proposal.status).in_((Status.VISIBLE, Status.PENDING, Status.REPHRASE)),
            )
            .order_by(col(Proposal.created_seq))
        )
    )
    support: dict[int, tuple[int, int]] = {}
    if posts:
        for proposal_id, voters, dots in session.exec(
            select(Vote.proposal_id, func.count(), func.coalesce(func.sum(Vote.dots), 0))
            .where(
                col(Vote.proposal_id).in_([p.id for p in posts]),
                Vote.participant_id != participant_id,
            )
            .group_by(col(Vote.proposal_id))
        ):
            support[proposal_id] = (int(voters), int(dots))
    own = session.exec(
        select(func.count()).select_from(Vote).where(Vote.participant_id == participant_id)
    ).one()
    return RemovalPreview(
        participant_id=participant_id,
        name=participant.name,
        proxy=participant.proxy,
        posts=[
            RemovedPost(p.id or 0, p.title, p.status, *support.get(p.id or 0, (0, 0)))
            for p in posts
        ],
        own_votes=int(own),
    )


@dataclass(frozen=True)
class PaperAdded:
    table_id: int
    seq: int
    participant: Participant


def add_paper_participant(
    session: Session,
    table: Table,
    *,
    name: str,
    category: str = "",
    organisation: str = "",
    named_in_minutes: bool = False,
) -> PaperAdded:
    """Someone without a smartphone: the moderator posts and votes for them, marked as proxy.
    Like anyone joining, they may give an organisation and agree to be named in the minutes."""
    clean_name = clean_name_line(name, field="name", limit=100, required=True)
    clean_category = clean_line(category, field="category", limit=100)
    clean_organisation = clean_name_line(organisation, field="organisation", limit=150)
    with _moderating(session, table) as write:
        if clean_category and clean_category not in event_of(session, write.table).categories:
            raise Invalid("Unknown stakeholder category", field="category")
        participant = Participant(
            table_id=write.table.id or 0,
            token_hash=hash_token(new_token()),  # never handed out: only moderators act for them
            name=clean_name,
            organisation=clean_organisation,
            category=clean_category,
            named_in_minutes=named_in_minutes,
            proxy=True,
        )
        session.add(participant)
    session.refresh(participant)
    return PaperAdded(write.table.id or 0, write.seq, participant)


def paper_participants(session: Session, table: Table) -> list[Participant]:
    return list(
        session.exec(
            select(Participant)
            .where(Participant.table_id == table.id, col(Participant.proxy).is_(True))
            .order_by(col(Participant.name))
        )
    )


def paper_participant(session: Session, table: Table, participant_id: int) -> Participant:
    participant = by_id(session, Participant, participant_id)
    if participant is None or participant.table_id != table.id or not participant.proxy:
        raise NotFound("No paper participant with this id on your table")
    return participant


def paper_votes(session: Session, table: Table) -> dict[int, list[tuple[int, int]]]:
    """What was typed in for each paper participant: (proposal id, dots), latest first."""
    rows = session.exec(
        select(Vote.participant_id, Vote.proposal_id, Vote.dots)
        .join(Participant, col(Participant.id) == Vote.participant_id)
        .where(Participant.table_id == table.id, col(Participant.proxy).is_(True))
        .order_by(col(Vote.updated_at).desc(), col(Vote.proposal_id).desc())
    )
    entered: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for participant_id, proposal_id, dots in rows:
        entered[participant_id].append((proposal_id, dots))
    return dict(entered)
