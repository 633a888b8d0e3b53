"""Posting proposals, needs and resources; authors may fix or withdraw theirs while collecting."""

from sqlmodel import Session

from app.models import KINDS, Participant, Proposal, Table
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.phases import require_posting
from app.services.tables import bump_layout, bump_seq
from app.services.text import clean_line, clean_paragraphs

TITLE_LIMIT = 140
BODY_LIMIT = 1000


def _clean(kind: str, title: str, body: str) -> tuple[str, str, str]:
    if kind not in KINDS:
        raise Invalid("Unknown kind: choose need, proposal or resource", field="kind")
    clean_title = clean_line(title, field="title", limit=TITLE_LIMIT, required=True)
    return kind, clean_title, clean_paragraphs(body, field="body", limit=BODY_LIMIT)


def post_proposal(
    session: Session, *, participant: Participant, kind: str, title: str, body: str = ""
) -> Proposal:
    """Post to the wall, or to the moderators' queue when the table pre-moderates."""
    kind, clean_title, clean_body = _clean(kind, title, body)
    table = _table(session, participant)
    require_posting(table)
    seq = bump_seq(session, participant.table_id)
    proposal = Proposal(
        table_id=participant.table_id,
        participant_id=participant.id or 0,
        kind=kind,
        title=clean_title,
        body=clean_body,
        status="pending" if table.premoderation and not participant.proxy else "visible",
        created_seq=seq,
        updated_seq=seq,
    )
    session.add(proposal)
    session.commit()
    session.refresh(proposal)
    return proposal


def edit_own(
    session: Session, *, participant: Participant, proposal_id: int, title: str, body: str = ""
) -> int:
    """The author rewrites their post; one sent back for rephrasing goes to the queue again."""
    proposal = _own(session, participant, proposal_id)
    _kind, clean_title, clean_body = _clean(proposal.kind, title, body)
    table = _table(session, participant)
    require_posting(table)
    seq = bump_layout(session, table)
    proposal.title, proposal.body = clean_title, clean_body
    if proposal.status == "rephrase" or (table.premoderation and not participant.proxy):
        # A rewritten post is checked again before it is (back) on the wall.
        proposal.status = "pending" if table.premoderation else "visible"
        proposal.moderator_note = ""
    proposal.updated_seq = seq
    session.add(proposal)
    session.commit()
    return seq


def withdraw_own(session: Session, *, participant: Participant, proposal_id: int) -> int:
    proposal = _own(session, participant, proposal_id)
    table = _table(session, participant)
    require_posting(table)
    seq = bump_layout(session, table)
    proposal.status = "withdrawn"
    proposal.updated_seq = seq
    session.add(proposal)
    session.commit()
    return seq


def _own(session: Session, participant: Participant, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.table_id != participant.table_id:
        raise NotFound("No proposal with this id on your table")
    if proposal.participant_id != participant.id:
        raise Forbidden("Only its author can change this post")
    if proposal.status not in ("visible", "pending", "rephrase"):
        raise Conflict("This post can no longer be changed")
    return proposal


def _table(session: Session, participant: Participant) -> Table:
    table = session.get(Table, participant.table_id, populate_existing=True)
    if table is None:
        raise NotFound("No table has this code")
    return table
