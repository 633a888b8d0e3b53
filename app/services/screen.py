"""What the projector shows, and the table's settings that shape the wall."""

from sqlmodel import Session, col, select

from app.models import SCREEN_MODES, Proposal, Table
from app.services.errors import Conflict, Invalid
from app.services.moderation import proposal_on
from app.services.tables import bump_layout


def set_mode(session: Session, table: Table, mode: str, *, spotlight_id: int | None = None) -> int:
    if mode not in SCREEN_MODES:
        raise Invalid("Unknown screen mode", field="mode")
    if spotlight_id is not None and proposal_on(session, table, spotlight_id).status != "visible":
        raise Conflict("Only a proposal on the wall can be in the spotlight")
    seq = bump_layout(session, table)
    table.screen_mode = mode
    if spotlight_id is not None:
        table.spotlight_id = spotlight_id
    session.add(table)
    session.commit()
    return seq


def step_spotlight(session: Session, table: Table, step: int) -> int:
    """Spotlight the next (or previous) proposal of the wall, in posting order."""
    visible_ids = [
        pid or 0
        for pid in session.exec(
            select(Proposal.id)
            .where(Proposal.table_id == table.id, Proposal.status == "visible")
            .order_by(col(Proposal.created_seq))
        )
    ]
    if not visible_ids:
        raise Conflict("There is nothing on the wall yet")
    if table.spotlight_id in visible_ids:
        index = (visible_ids.index(table.spotlight_id) + step) % len(visible_ids)
    else:
        index = 0 if step > 0 else len(visible_ids) - 1
    return set_mode(session, table, "spotlight", spotlight_id=visible_ids[index])


SETTINGS = ("premoderation", "post_in_discussion", "results_hidden", "group_by_tag")


def update_setting(session: Session, table: Table, name: str, value: bool) -> int:
    """One switch of the console, by name."""
    if name not in SETTINGS:
        raise Invalid("Unknown setting", field="name")
    return update_settings(session, table, **{name: value})


def update_settings(
    session: Session,
    table: Table,
    *,
    premoderation: bool | None = None,
    post_in_discussion: bool | None = None,
    results_hidden: bool | None = None,
    group_by_tag: bool | None = None,
) -> int:
    seq = bump_layout(session, table)
    if premoderation is not None:
        table.premoderation = premoderation
    if post_in_discussion is not None:
        table.post_in_discussion = post_in_discussion
    if results_hidden is not None:
        table.results_hidden = results_hidden
    if group_by_tag is not None:
        table.group_by_tag = group_by_tag
    session.add(table)
    session.commit()
    return seq
