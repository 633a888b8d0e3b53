"""What the projector shows, and the table's settings that shape the wall."""

from sqlmodel import Session, col, select

from app.enums import Status
from app.models import SCREEN_MODES, Proposal, Table
from app.services.errors import Conflict, Invalid
from app.services.formats import format_of
from app.services.moderation import proposal_on
from app.services.tables import Change, table_write
from app.services.voting import tallies


def set_mode(
    session: Session, table: Table, mode: str, *, spotlight_id: int | None = None
) -> Change:
    if mode not in SCREEN_MODES:
        raise Invalid("Unknown screen mode", field="mode")
    with table_write(session, table.id or 0, layout=True) as write:
        _show(session, write.table, mode, spotlight_id)
    return write.change


def _show(session: Session, table: Table, mode: str, spotlight_id: int | None) -> None:
    if (
        spotlight_id is not None
        and proposal_on(session, table, spotlight_id).status != Status.VISIBLE
    ):
        raise Conflict("Only a proposal on the wall can be in the spotlight")
    table.screen_mode = mode
    if spotlight_id is not None:
        table.spotlight_id = spotlight_id
    session.add(table)


def step_spotlight(session: Session, table: Table, step: int) -> Change:
    """Spotlight the next (or previous) proposal of the wall, in posting order; in a format
    sorted by support, the next open question in the wall's order (the most supported
    first: the one to answer next)."""
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        visible_ids = [
            pid or 0
            for pid in session.exec(
                select(Proposal.id)
                .where(Proposal.table_id == current.id, Proposal.status == Status.VISIBLE)
                .where(col(Proposal.answered_at).is_(None))
                .order_by(col(Proposal.created_seq))
            )
        ]
        if format_of(current).by_support:  # as the wall: most supported first, ties by time
            supports = tallies(session, visible_ids)
            visible_ids.sort(key=lambda pid: -supports.get(pid, (0, 0))[0])
        if not visible_ids:
            raise Conflict("There is nothing on the wall yet")
        if current.spotlight_id in visible_ids:
            index = (visible_ids.index(current.spotlight_id) + step) % len(visible_ids)
        else:
            index = 0 if step > 0 else len(visible_ids) - 1
        _show(session, current, "spotlight", visible_ids[index])
    return write.change


SETTINGS = ("premoderation", "post_in_discussion", "results_hidden", "group_by_tag", "joining_open")
MAX_POSTS_LIMIT = 500


def update_setting(session: Session, table: Table, name: str, value: bool) -> Change:
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
    joining_open: bool | None = None,
    max_posts: int | None = None,
) -> Change:
    """The console's switches, and the cap on posts per participant."""
    if max_posts is not None and not 1 <= max_posts <= MAX_POSTS_LIMIT:
        raise Invalid(
            "Posts per participant: from 1 to %(limit)s", field="max_posts", limit=MAX_POSTS_LIMIT
        )
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        for name, value in (
            ("premoderation", premoderation),
            ("post_in_discussion", post_in_discussion),
            ("results_hidden", results_hidden),
            ("group_by_tag", group_by_tag),
            ("joining_open", joining_open),
            ("max_posts", max_posts),
        ):
            if value is not None:
                setattr(current, name, value)
        session.add(current)
    return write.change
