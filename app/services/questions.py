"""A Q&A table's answers: the moderator marks the question being answered, with a short
note for the minutes; it leaves the open questions for the answered list and its support
is frozen (`voting._apply_vote` refuses a support on it) until it is marked not answered."""

from sqlmodel import Session

from app.enums import Status
from app.models import Table, utcnow
from app.services.errors import Conflict
from app.services.formats import format_of
from app.services.moderation import proposal_on
from app.services.phases import require_open
from app.services.tables import Change, table_write
from app.services.text import clean_line

NOTE_LIMIT = 300


def set_answered(
    session: Session, table: Table, proposal_id: int, *, answered: bool, note: str = ""
) -> Change:
    """Mark a question answered (with the moderator's note) or not answered. Idempotent: the
    same state and note again changes nothing."""
    clean_note = clean_line(note, field="note", limit=NOTE_LIMIT)
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        require_open(current)
        if not format_of(current).answers:
            raise Conflict("Only a questions and answers table marks questions answered")
        question = proposal_on(session, current, proposal_id)
        if question.status != Status.VISIBLE:
            raise Conflict("Only a question on the wall can be marked answered")
        if answered:
            stamp = question.answered_at or utcnow()
            if question.answered_at is not None and question.answer_note == clean_note:
                write.nothing()
            question.answered_at, question.answer_note = stamp, clean_note
        else:
            if question.answered_at is None:
                write.nothing()
            question.answered_at, question.answer_note = None, ""
        question.updated_seq = write.seq
        session.add(question)
    return write.change
