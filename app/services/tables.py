"""Tables (tavoli): join codes, voting rules and the per-table sequence number."""

import secrets
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models import Event, Table
from app.services.errors import Invalid, NotFound
from app.services.text import clean_line

# No look-alikes: no 0/O, 1/I/L, and no U/V either.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTWXYZ23456789"
CODE_LENGTH = 6


@dataclass(frozen=True)
class VotingRules:
    mode: str = "approval"
    dots: int = 1
    max_per_proposal: int = 1

    @classmethod
    def checked(
        cls, mode: str, dots: int | None = None, max_per_proposal: int | None = None
    ) -> "VotingRules":
        if mode == "approval":
            return cls("approval", 1, 1)
        if mode != "dots":
            raise Invalid("Unknown voting mode", field="voting")
        budget = 5 if dots is None else dots
        cap = budget if max_per_proposal is None else max_per_proposal
        if not 1 <= budget <= 100:
            raise Invalid("Dots must be between 1 and 100", field="dots")
        if not 1 <= cap <= budget:
            raise Invalid(
                "The cap per proposal must be between 1 and the dots", field="max_per_proposal"
            )
        return cls("dots", budget, cap)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    return "".join(raw.split()).upper().replace("-", "")


def create_table(
    session: Session, *, event: Event, title: str, question: str = "", voting: VotingRules
) -> Table:
    clean_title = clean_line(title, field="title", limit=200, required=True)
    clean_question = clean_line(question, field="question", limit=500)
    for _attempt in range(10):
        table = Table(
            event_id=event.id or 0,
            code=new_code(),
            title=clean_title,
            question=clean_question,
            voting_mode=voting.mode,
            dots=voting.dots,
            max_per_proposal=voting.max_per_proposal,
        )
        session.add(table)
        try:
            session.commit()
        except IntegrityError:  # the code was taken: draw again
            session.rollback()
            continue
        session.refresh(table)
        return table
    raise RuntimeError("could not draw a free table code")


def table_by_code(session: Session, code: str) -> Table:
    table = session.exec(select(Table).where(Table.code == normalise_code(code))).first()
    if table is None:
        raise NotFound("No table has this code")
    return table


def tables_of(session: Session, event: Event) -> list[Table]:
    return list(
        session.exec(select(Table).where(Table.event_id == event.id).order_by(col(Table.id)))
    )


def event_of(session: Session, table: Table) -> Event:
    event = session.get(Event, table.event_id)
    if event is None:  # the foreign key makes this impossible
        raise NotFound("No table has this code")
    return event


def bump_seq(session: Session, table_id: int) -> int:
    """Start a table's write: take its write lock first, then return its next sequence number.

    Every write service calls this before reading what it checks, so that writes to one
    table are serialised (budget checks cannot race) on SQLite and PostgreSQL alike.
    """
    seq = session.execute(
        update(Table)
        .where(col(Table.id) == table_id)
        .values(seq=col(Table.seq) + 1)
        .returning(col(Table.seq))
    ).scalar_one()
    return int(seq)


def bump_layout(session: Session, table: Table) -> int:
    """Start a write that changes more than cards and tallies: pushes re-render regions."""
    seq = bump_seq(session, table.id or 0)
    session.refresh(table)
    table.layout_seq = seq
    return seq
