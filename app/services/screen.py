"""What the projector shows, and the table's settings that shape the wall."""

from sqlmodel import Session, col, select

from app.enums import Phase, ScreenMode, Status
from app.models import SCREEN_MODES, Proposal, RankingChange, Table
from app.services.consensus import RANKINGS
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


SETTINGS = (
    "premoderation",
    "post_in_discussion",
    "results_hidden",
    "group_by_tag",
    "group_by_need",
    "joining_open",
)
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
    group_by_need: bool | None = None,
    joining_open: bool | None = None,
    max_posts: int | None = None,
) -> Change:
    """The console's switches, and the cap on posts per participant. The wall has one
    grouping: by tag and by need exclude each other (turning one on turns the other off)."""
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
            ("group_by_need", group_by_need),
            ("joining_open", joining_open),
            ("max_posts", max_posts),
        ):
            if value is not None:
                setattr(current, name, value)
        if group_by_tag and group_by_need:
            raise Invalid("Group the wall by tag or by need, not both", field="group_by_need")
        if group_by_tag:
            current.group_by_need = False
        if group_by_need:
            current.group_by_tag = False
        session.add(current)
    return write.change


# The wall's pace: paused (0), or a page every 5 to 120 seconds; the console offers these.
WALL_PACES = (8, 12, 20, 30, 60, 0)
MIN_WALL_PAGE_SECONDS = 5
MAX_WALL_PAGE_SECONDS = 120


def set_wall_pace(session: Session, table: Table, seconds: int) -> Change:
    """How long each page of the projector's wall stays before it turns by itself; 0
    pauses the turning (the moderator then turns the pages by hand)."""
    if seconds != 0 and not MIN_WALL_PAGE_SECONDS <= seconds <= MAX_WALL_PAGE_SECONDS:
        raise Invalid(
            "Page pace: 0 (paused) or from %(low)s to %(high)s seconds",
            field="seconds",
            low=MIN_WALL_PAGE_SECONDS,
            high=MAX_WALL_PAGE_SECONDS,
        )
    with table_write(session, table.id or 0, layout=True) as write:
        if write.table.wall_page_seconds == seconds:  # a double tap: nothing to push
            write.nothing()
        else:
            write.table.wall_page_seconds = seconds
            session.add(write.table)
    return write.change


def turn_wall(session: Session, table: Table, step: int) -> Change:
    """The moderator turns the wall's page by hand (forward 1, back -1). The table keeps the
    running sum of the turns: each projector moves by the difference from the last sum it
    saw, as only a screen knows how many pages its size makes."""
    if step not in (-1, 1):
        raise Invalid("Turn one page forward (1) or back (-1)", field="step")
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        if current.screen_mode != ScreenMode.WALL:
            raise Conflict("The screen is not showing the wall")
        current.wall_turns += step
        session.add(current)
    return write.change


def set_ranking(session: Session, table: Table, ranking: str) -> Change:
    """Which ranking the results view shows and the minutes adopt: a display choice and the
    table's decision, never a change to a vote, so it may be made while voting and after
    the close (not before: there is nothing to rank). Each choice joins the table's
    timeline (`RankingChange`); the projector and the phones redraw."""
    if ranking not in RANKINGS:
        raise Invalid("Unknown ranking", field="ranking")
    with table_write(session, table.id or 0, layout=True) as write:
        current = write.table
        if current.phase not in (Phase.VOTING, Phase.CLOSED):
            raise Conflict("The ranking is chosen while voting or once the table is closed")
        if current.ranking == ranking:
            write.nothing()
        else:
            current.ranking = ranking
            session.add(current)
            session.add(RankingChange(table_id=current.id or 0, ranking=ranking))
    return write.change
