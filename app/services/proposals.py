"""Posting proposals, needs and resources; authors may fix or withdraw theirs while collecting."""

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from app import ratelimit
from app.enums import Kind, Status
from app.models import KINDS, Participant, Proposal
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.phases import require_posting
from app.services.rows import by_id
from app.services.tables import Change, table_write
from app.services.text import clean_line, clean_paragraphs
from app.services.voting import active_participant

TITLE_LIMIT = 140
BODY_LIMIT = 1000


def _clean(kind: str, title: str, body: str) -> tuple[str, str, str]:
    if kind not in KINDS:
        raise Invalid("Unknown kind: choose need, proposal or resource", field="kind")
    clean_title = clean_line(title, field="title", limit=TITLE_LIMIT, required=True)
    return kind, clean_title, clean_paragraphs(body, field="body", limit=BODY_LIMIT)


@dataclass(frozen=True)
class Posted:
    table_id: int
    seq: int
    proposal: Proposal


def post_proposal(
    session: Session, *, participant: Participant, kind: str, title: str, body: str = ""
) -> Posted:
    """Post to the wall, or to the moderators' queue when the table pre-moderates."""
    kind, clean_title, clean_body = _clean(kind, title, body)
    if not participant.proxy:  # a moderator typing for a paper participant is not a script
        ratelimit.hit("post", str(participant.id))
    # A paper participant's post is listed under their name on the consoles: redrawn whole.
    with table_write(session, participant.table_id, layout=participant.proxy) as write:
        table = write.table
        me = active_participant(session, participant.id or 0)
        require_posting(table)
        posts = session.exec(
            select(func.count())
            .select_from(Proposal)
            .where(Proposal.participant_id == me.id, col(Proposal.status) != Status.WITHDRAWN)
        ).one()
        if not me.proxy and int(posts) >= table.max_posts:
            raise Conflict("At most %(limit)s posts each at this table", limit=table.max_posts)
        proposal = Proposal(
            table_id=table.id or 0,
            participant_id=me.id or 0,
            kind=kind,
            title=clean_title,
            body=clean_body,
            status=Status.PENDING if table.premoderation and not me.proxy else Status.VISIBLE,
            created_seq=write.seq,
            updated_seq=write.seq,
        )
        session.add(proposal)
        if kind == Kind.NEED and table.group_by_need:  # a new need opens its own group
            table.layout_seq = write.seq
            session.add(table)
    session.refresh(proposal)
    return Posted(table.id or 0, write.seq, proposal)


def edit_own(
    session: Session, *, participant: Participant, proposal_id: int, title: str, body: str = ""
) -> Change:
    """The author rewrites their post; one sent back for rephrasing goes to the queue again."""
    with table_write(session, participant.table_id, layout=True) as write:
        table = write.table
        me = active_participant(session, participant.id or 0)
        proposal = _own(session, me, proposal_id)
        _kind, clean_title, clean_body = _clean(proposal.kind, title, body)
        require_posting(table)
        proposal.title, proposal.body = clean_title, clean_body
        if proposal.status == Status.REPHRASE or (table.premoderation and not me.proxy):
            # A rewritten post is checked again before it is (back) on the wall.
            proposal.status = Status.PENDING if table.premoderation else Status.VISIBLE
            proposal.moderator_note = ""
        proposal.updated_seq = write.seq
        session.add(proposal)
    return write.change


def withdraw_own(session: Session, *, participant: Participant, proposal_id: int) -> Change:
    with table_write(session, participant.table_id, layout=True) as write:
        me = active_participant(session, participant.id or 0)
        proposal = _own(session, me, proposal_id)
        require_posting(write.table)
        proposal.status = Status.WITHDRAWN
        proposal.updated_seq = write.seq
        session.add(proposal)
    return write.change


def _own(session: Session, participant: Participant, proposal_id: int) -> Proposal:
    proposal = by_id(session, Proposal, proposal_id)
    if proposal is None or proposal.table_id != participant.table_id:
        raise NotFound("No proposal with this id on your table")
    if proposal.participant_id != participant.id:
        raise Forbidden("Only its author can change this post")
    if proposal.status not in (Status.VISIBLE, Status.PENDING, Status.REPHRASE):
        raise Conflict("This post can no longer be changed")
    return proposal
