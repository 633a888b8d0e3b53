"""Posting proposals, needs and resources."""

from sqlmodel import Session

from app.models import KINDS, Participant, Proposal
from app.services.errors import Invalid
from app.services.tables import bump_seq
from app.services.text import clean_line, clean_paragraphs

TITLE_LIMIT = 140
BODY_LIMIT = 1000


def post_proposal(
    session: Session, *, participant: Participant, kind: str, title: str, body: str = ""
) -> Proposal:
    if kind not in KINDS:
        raise Invalid("Unknown kind: choose need, proposal or resource", field="kind")
    clean_title = clean_line(title, field="title", limit=TITLE_LIMIT, required=True)
    clean_body = clean_paragraphs(body, field="body", limit=BODY_LIMIT)
    seq = bump_seq(session, participant.table_id)
    proposal = Proposal(
        table_id=participant.table_id,
        participant_id=participant.id or 0,
        kind=kind,
        title=clean_title,
        body=clean_body,
        created_seq=seq,
        updated_seq=seq,
    )
    session.add(proposal)
    session.commit()
    session.refresh(proposal)
    return proposal
