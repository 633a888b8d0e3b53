"""Needs → actions → resources: a proposal answers needs, a resource is pledged to a proposal.

A need, a proposal and a resource are posts of one table (`Proposal.kind`). A proposal (an
action) may answer several needs, a need be answered by several proposals; a resource is
pledged to a proposal by an organisation with its offer in one line. The moderator or the
facilitator links any post; a participant links their own proposal to needs and pledges
their own resource. Every door (console, phone, JSON API) calls these functions.

When: a runner while the table is open, like every moderation; a participant while the
room works on the wall (collecting, discussing, voting). A link moves no vote, so voting is
no reason to stop it, and "this answers that need" often only becomes clear while people
weigh the proposals. Not in preparation (nothing is on the wall yet) and not once closed:
the final minutes print the chain, and they must not change after the close.

The rows are kept when a post leaves the wall or changes kind; the reads (`links_of`) show
only the links whose two posts are on the wall with the right kinds, so restoring a hidden
post brings its links back. Merges move them to the survivor and undo moves them back
(`carry`, `restore`, called by services/moderation.py).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, delete, select

from app import ratelimit
from app.enums import Kind, Phase, Status
from app.i18n import N_
from app.models import Answer, Pledge, Proposal, Table
from app.services.access import runs_table
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from app.services.participants import participant_by_token
from app.services.phases import require_open
from app.services.rows import by_id
from app.services.tables import Change, table_write
from app.services.text import clean_line, clean_name_line
from app.services.voting import active_participant

OFFER_LIMIT = 150
ORGANISATION_LIMIT = 150
MAX_NEEDS = 50  # needs one proposal may answer (a wall rarely has more)
# The phases in which a participant links their own posts (see the module's docstring).
LINKING_PHASES = (Phase.COLLECT, Phase.DISCUSSION, Phase.VOTING)


# --- who links ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Linker:
    """Who links, at which table: a runner (`participant_id` None: any post of the table)
    or a participant (their own posts only)."""

    table: Table
    participant_id: int | None = None


def linker_for(session: Session, token: str | None, post_id: int) -> Linker:
    """The API's caller for a post named in the path: the moderator's or the table's
    facilitator's token, or a participant's token at that post's table."""
    if not token:
        raise Unauthorized("The token is missing")
    post = by_id(session, Proposal, post_id)
    table = session.get(Table, post.table_id) if post is not None else None
    if post is None or table is None:
        raise NotFound("No proposal with this id")
    if runs_table(session, token, table):
        return Linker(table)
    participant = participant_by_token(session, token)
    if participant.table_id != table.id:
        raise Forbidden("This token is for another table")
    return Linker(table, participant.id)


def _count(by: int | None) -> None:
    """A participant's link redraws every wall: limited like a post, before the table's lock
    is taken (as posts and votes are)."""
    if by is not None:
        ratelimit.hit("link", str(by))


def _may_link(session: Session, table: Table, by: int | None) -> None:
    if by is None:
        require_open(table)
        return
    active_participant(session, by)
    if table.phase not in LINKING_PHASES:
        raise Conflict("Needs and proposals can be linked while collecting, discussing and voting")


def _post(session: Session, table: Table, post_id: int, *, kind: str, field: str) -> Proposal:
    """A post of this table, on the wall, of the kind the link needs."""
    post = by_id(session, Proposal, post_id)
    if post is None or post.table_id != table.id:
        raise NotFound("No post with this id on this table", field=field)
    if post.status == Status.MERGED:
        raise Conflict("This post was merged into another: link that one", field=field)
    if post.status != Status.VISIBLE:
        raise Conflict("Only posts on the wall can be linked", field=field)
    if post.kind != kind:
        raise Invalid(_WRONG_KIND[kind], field=field)
    return post


_WRONG_KIND: dict[str, str] = {
    Kind.NEED: N_("Only a need can be answered: this post is not a need"),
    Kind.PROPOSAL: N_(
        "Only a proposal can answer a need or receive a pledge: this post is not one"
    ),
    Kind.RESOURCE: N_("Only a resource can be pledged: this post is not a resource"),
}


def _touch(session: Session, posts: Iterable[Proposal], seq: int) -> None:
    for post in posts:
        post.updated_seq = seq
        session.add(post)


# --- writes ------------------------------------------------------------------------------


def set_answers(
    session: Session, table: Table, *, proposal_id: int, need_ids: list[int], by: int | None
) -> Change:
    """The needs this proposal answers, replacing the previous ones ([] unlinks them all).
    A participant (`by`) may only link their own proposal."""
    wanted = list(dict.fromkeys(need_ids))
    if len(wanted) > MAX_NEEDS:
        raise Invalid("At most %(limit)s needs per proposal", field="needs", limit=MAX_NEEDS)
    _count(by)
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        _may_link(session, current, by)
        proposal = _post(session, current, proposal_id, kind=Kind.PROPOSAL, field="proposal")
        if by is not None and proposal.participant_id != by:
            raise Forbidden("Only its author can link this proposal to needs")
        needs = [_post(session, current, nid, kind=Kind.NEED, field="needs") for nid in wanted]
        rows = list(session.exec(select(Answer).where(Answer.proposal_id == proposal_id)))
        have = {row.need_id for row in rows}
        if have == set(wanted):
            write.nothing()
        else:
            for row in rows:
                if row.need_id not in wanted:
                    session.delete(row)
            for need_id in wanted:
                if need_id not in have:
                    session.add(Answer(proposal_id=proposal_id, need_id=need_id))
            _touch(session, [proposal, *needs], write.seq)
    return write.change


def pledge(
    session: Session,
    table: Table,
    *,
    proposal_id: int,
    resource_id: int,
    offer: str,
    organisation: str = "",
    by: int | None,
) -> Change:
    """Pledge a resource to a proposal with the organisation's offer in one line (set again:
    the offer is replaced). A participant (`by`) may only pledge their own resource, to any
    proposal. The organisation is what the pledging person typed, public by their act: it is
    never filled in from a participant's own data, which is printed only with consent."""
    clean_offer = clean_line(offer, field="offer", limit=OFFER_LIMIT, required=True)
    clean_organisation = clean_name_line(
        organisation, field="organisation", limit=ORGANISATION_LIMIT
    )
    _count(by)
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        _may_link(session, current, by)
        resource = _post(session, current, resource_id, kind=Kind.RESOURCE, field="resource")
        if by is not None and resource.participant_id != by:
            raise Forbidden("Only its author can pledge this resource")
        proposal = _post(session, current, proposal_id, kind=Kind.PROPOSAL, field="proposal")
        row = session.get(Pledge, (resource_id, proposal_id))
        if row is not None and (row.offer, row.organisation) == (clean_offer, clean_organisation):
            write.nothing()
        else:
            row = row or Pledge(resource_id=resource_id, proposal_id=proposal_id, offer="")
            row.offer, row.organisation = clean_offer, clean_organisation
            session.add(row)
            _touch(session, [proposal, resource], write.seq)
    return write.change


def unpledge(
    session: Session, table: Table, *, proposal_id: int, resource_id: int, by: int | None
) -> Change:
    """Withdraw a resource's pledge to a proposal (nothing to withdraw: nothing changes)."""
    _count(by)
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        _may_link(session, current, by)
        resource = by_id(session, Proposal, resource_id)
        if resource is None or resource.table_id != current.id:
            raise NotFound("No post with this id on this table", field="resource")
        if by is not None and resource.participant_id != by:
            raise Forbidden("Only its author can pledge this resource")
        row = session.get(Pledge, (resource_id, proposal_id))
        if row is None:
            write.nothing()
        else:
            session.delete(row)
            proposal = session.get(Proposal, proposal_id)
            _touch(session, [resource, *([proposal] if proposal else [])], write.seq)
    return write.change


# --- reads -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PledgeView:
    resource_id: int
    proposal_id: int
    organisation: str
    offer: str


@dataclass(frozen=True)
class Links:
    """The links shown of a table: both posts on the wall, of the right kinds."""

    answers: dict[int, tuple[int, ...]] = field(default_factory=dict)  # proposal -> needs
    pledges: tuple[PledgeView, ...] = ()

    def needs_of(self, proposal_id: int) -> tuple[int, ...]:
        return self.answers.get(proposal_id, ())

    def answered_by(self, need_id: int) -> list[int]:
        return [pid for pid, needs in self.answers.items() if need_id in needs]

    def pledged_to(self, proposal_id: int) -> list[PledgeView]:
        return [p for p in self.pledges if p.proposal_id == proposal_id]

    def pledges_of(self, resource_id: int) -> list[PledgeView]:
        return [p for p in self.pledges if p.resource_id == resource_id]


def links_of(session: Session, posts: Iterable[tuple[int, str, str]]) -> Links:
    """The links among these posts, from (id, kind, status) rows of one table, in the
    posts' order (the needs of a proposal in posting order, as given)."""
    rows = list(posts)
    order = {pid: n for n, (pid, _kind, _status) in enumerate(rows)}
    on_wall = {pid: kind for pid, kind, status in rows if status == Status.VISIBLE}
    proposals = [pid for pid, kind in on_wall.items() if kind == Kind.PROPOSAL]
    if not proposals:
        return Links()
    answers: dict[int, list[int]] = {}
    for proposal_id, need_id in session.exec(
        select(Answer.proposal_id, Answer.need_id).where(col(Answer.proposal_id).in_(proposals))
    ):
        if on_wall.get(need_id) == Kind.NEED:
            answers.setdefault(proposal_id, []).append(need_id)
    pledges = [
        PledgeView(row.resource_id, row.proposal_id, row.organisation, row.offer)
        for row in session.exec(select(Pledge).where(col(Pledge.proposal_id).in_(proposals)))
        if on_wall.get(row.resource_id) == Kind.RESOURCE
    ]
    return Links(
        answers={
            pid: tuple(sorted(needs, key=order.__getitem__))
            for pid, needs in sorted(answers.items(), key=lambda item: order[item[0]])
        },
        pledges=tuple(sorted(pledges, key=lambda p: (order[p.proposal_id], order[p.resource_id]))),
    )


# --- merges ------------------------------------------------------------------------------

AnswerRow = tuple[int, int]  # (proposal, need)
PledgeRow = tuple[int, int, str, str]  # (resource, proposal, organisation, offer)


def _rows(session: Session, ids: list[int]) -> tuple[set[AnswerRow], set[PledgeRow]]:
    """Every answer and pledge that touches one of these posts, in either role."""
    answers = {
        (a.proposal_id, a.need_id)
        for a in session.exec(
            select(Answer).where(col(Answer.proposal_id).in_(ids) | col(Answer.need_id).in_(ids))
        )
    }
    pledges = {
        (p.resource_id, p.proposal_id, p.organisation, p.offer)
        for p in session.exec(
            select(Pledge).where(
                col(Pledge.resource_id).in_(ids) | col(Pledge.proposal_id).in_(ids)
            )
        )
    }
    return answers, pledges


def _dump(answers: set[AnswerRow], pledges: set[PledgeRow]) -> dict[str, list[list[Any]]]:
    return {
        "answers": [list(a) for a in sorted(answers)],
        "pledges": [list(p) for p in sorted(pledges)],
    }


def _load(data: dict[str, Any]) -> tuple[set[AnswerRow], set[PledgeRow]]:
    answers = {(int(a), int(b)) for a, b in data.get("answers", [])}
    pledges = {(int(r), int(p), str(o), str(f)) for r, p, o, f in data.get("pledges", [])}
    return answers, pledges


def _write(
    session: Session,
    ids: list[int],
    answers: set[AnswerRow],
    pledges: set[PledgeRow],
) -> None:
    """Make the rows touching `ids` exactly these."""
    session.exec(
        delete(Answer).where(col(Answer.proposal_id).in_(ids) | col(Answer.need_id).in_(ids))
    )
    session.exec(
        delete(Pledge).where(col(Pledge.resource_id).in_(ids) | col(Pledge.proposal_id).in_(ids))
    )
    session.flush()
    for proposal_id, need_id in sorted(answers):
        session.add(Answer(proposal_id=proposal_id, need_id=need_id))
    for resource_id, proposal_id, organisation, offer in sorted(pledges):
        session.add(
            Pledge(
                resource_id=resource_id,
                proposal_id=proposal_id,
                organisation=organisation,
                offer=offer,
            )
        )
    session.flush()


def carry(session: Session, survivor_id: int, merged_ids: list[int]) -> dict[str, Any]:
    """A merge's links: every answer and pledge of the merged posts moves to the survivor, in
    the same role (a duplicate need's answers become the survivor's; a duplicate proposal's
    needs and pledges too). Where the survivor already has the same link, its own stays (its
    offer wins). Returns the record for `restore`: the rows before and after."""
    ids = [survivor_id, *merged_ids]
    answers, pledges = _rows(session, ids)

    def moved(post_id: int) -> int:
        return survivor_id if post_id in merged_ids else post_id

    new_answers = {(moved(p), moved(n)) for p, n in answers}
    new_answers = {(p, n) for p, n in new_answers if p != n}
    kept: dict[tuple[int, int], PledgeRow] = {}
    # The survivor's own pledges first, so that its offer wins over a duplicate's.
    for row in sorted(pledges, key=lambda r: (r[0] in merged_ids or r[1] in merged_ids, r)):
        key = (moved(row[0]), moved(row[1]))
        if key[0] != key[1] and key not in kept:
            kept[key] = (key[0], key[1], row[2], row[3])
    new_pledges = set(kept.values())
    _write(session, ids, new_answers, new_pledges)
    return {"before": _dump(answers, pledges), "after": _dump(new_answers, new_pledges)}


def restore(
    session: Session, record: dict[str, Any], survivor_id: int, merged_ids: list[int]
) -> None:
    """Undo what a merge did to the links, not what people did since: the links it created
    on the survivor go (unless changed since), the ones it took from the merged posts come
    back (unless one of the same two posts was made since), and a link made after the merge
    stays."""
    if not record:  # a merge recorded before links existed moved none
        return
    ids = [survivor_id, *merged_ids]
    before_a, before_p = _load(record.get("before", {}))
    after_a, after_p = _load(record.get("after", {}))
    now_a, now_p = _rows(session, ids)
    answers = (now_a - (after_a - before_a)) | (before_a - after_a)
    pledges = now_p - (after_p - before_p)
    taken = {(r, p) for r, p, _o, _f in pledges}
    for row in sorted(before_p - after_p):
        if (row[0], row[1]) not in taken:
            pledges.add(row)
            taken.add((row[0], row[1]))
    _write(session, ids, answers, pledges)
