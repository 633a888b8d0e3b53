"""The table's synthesis for the minutes: who facilitated it and what they wrote."""

from sqlmodel import Session

from app.models import Table
from app.services.tables import Change, table_write
from app.services.text import clean_line, clean_paragraphs

SYNTHESIS_LIMIT = 20000


def save_synthesis(session: Session, table: Table, *, facilitator: str, synthesis: str) -> Change:
    """The facilitator's name and written synthesis, for the minutes (not shown on the wall).
    Saved even once the table is closed: the synthesis is often written after the vote."""
    name = clean_line(facilitator, field="facilitator_name", limit=100)
    text = clean_paragraphs(synthesis, field="synthesis", limit=SYNTHESIS_LIMIT)
    with table_write(session, table.id or 0) as write:
        if (write.table.facilitator_name, write.table.synthesis) == (name, text):
            write.nothing()
        else:
            write.table.facilitator_name, write.table.synthesis = name, text
            session.add(write.table)
    return write.change
