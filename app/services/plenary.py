"""The plenary: the event's tables side by side, for the event's moderator to project when
the rapporteurs report back (issue 19).

It reads every table and writes none of them: each table's top priorities under the ranking
it adopted (`ranking.adopted_ranking`), the themes that came up at several tables (suggested
by `themes.suggest`; the moderator confirms or dismisses each, stored in `plenary_themes`,
never in a table's posts or tallies), the needs no action answers and the resources pledged
across the event. Figures follow each table's tally visibility for the room
(`visibility.tallies_shown(table, "screen")`): a table that hides its results shows no
figure and no order.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.enums import Kind, Status, ThemeDecision
from app.models import Event, PlenaryTheme, Proposal, Table
from app.services import themes
from app.services.errors import Invalid, NotFound
from app.services.ranking import adopted_ranking, top_of
from app.services.rows import MAX_ID, by_id
from app.services.state import ProposalView, table_state
from app.services.tables import Change, tables_of, tables_write
from app.services.visibility import tallies_shown

TOP = 5  # each table's priorities on the plenary (a tie at the cut is kept whole)
THEME_POSTS = 15  # each table's top posts offered to the theme finder
AUDIENCE = "screen"  # the plenary is projected: the room's visibility of tallies


@dataclass(frozen=True)
class Item:
    """A post on the plenary: its table, rank (0: no order shown) and tally (None: hidden)."""

    id: int
    table_id: int
    table: str
    kind: str
    title: str
    rank: int = 0
    tally: int | None = None


@dataclass(frozen=True)
class TableColumn:
    table: Table  # for its voting method's words
    id: int
    title: str
    phase: str
    shown: bool  # the table's tallies are shown to the room
    priorities: tuple[Item, ...]  # its top ones with votes, a tie kept whole
    tied_after: int  # more posts share the last rank shown (a tie too long to list)
    proposals: int  # posts of kind proposal on its wall


@dataclass(frozen=True)
class Theme:
    key: str
    title: str
    items: tuple[Item, ...]
    decision: str | None  # None: suggested, not decided yet
    id: int | None = None  # the stored decision

    @property
    def tables(self) -> int:
        return len({item.table_id for item in self.items})


@dataclass(frozen=True)
class Plenary:
    event: Event
    tables: tuple[TableColumn, ...]
    confirmed: tuple[Theme, ...]
    suggested: tuple[Theme, ...]
    needs: tuple[Item, ...]  # needs that no action answers
    resources: tuple[Item, ...]  # resources pledged across the event


def theme_key(ids: Iterable[int]) -> str:
    return ",".join(str(i) for i in sorted(set(ids)))


def _item(table: Table, view: ProposalView, rank: int = 0, shown: bool = False) -> Item:
    return Item(
        id=view.id,
        table_id=table.id or 0,
        table=table.title,
        kind=view.kind,
        title=view.title,
        rank=rank if shown else 0,
        tally=view.tally if shown else None,
    )


def plenary(session: Session, event: Event, *, audience: str = AUDIENCE) -> Plenary:
    """The plenary as of now (read only), with the figures `audience` sees: the room's on
    the projector, every figure in the minutes (audience "moderator", as they print every
    tally)."""
    tables = tables_of(session, event)
    columns: list[TableColumn] = []
    theme_posts: list[themes.ThemePost] = []
    walls: list[tuple[Table, ProposalView]] = []
    items: dict[int, Item] = {}
    answered: set[int] = set()  # needs a proposal on its wall answers (services/links.py)
    pledged: set[int] = set()  # resources pledged to a proposal on its wall
    for table in tables:
        shown = tallies_shown(table, audience)
        state = table_state(session, table)
        walls += [(table, view) for view in state.visible]
        answered.update(need for needs in state.links.answers.values() for need in needs)
        pledged.update(p.resource_id for p in state.links.pledges)
        ranking = adopted_ranking(session, table, kinds=(Kind.PROPOSAL,), state=state)
        best, tied = top_of(ranking, TOP)
        top = tuple(_item(table, view, rank, shown) for rank, view in best)
        columns.append(
            TableColumn(
                table=table,
                id=table.id or 0,
                title=table.title,
                phase=table.phase,
                shown=shown,
                priorities=top if shown else (),
                tied_after=tied if shown else 0,
                proposals=len(ranking),
            )
        )
        # The theme finder gets each table's top posts; where the order is hidden, every
        # post (a subset would tell which ones lead).
        ranked_all = adopted_ranking(session, table, kinds=(Kind.PROPOSAL, Kind.NEED), state=state)
        offered = ranked_all[:THEME_POSTS] if shown else ranked_all
        for rank, view in offered:
            items[view.id] = _item(table, view, rank, shown)
            theme_posts.append(
                themes.ThemePost(view.id, table.id or 0, view.title, view.body, view.kind)
            )
    for table, view in walls:
        items.setdefault(view.id, _item(table, view))
    decided = {
        row.key: row
        for row in session.exec(
            select(PlenaryTheme)
            .where(PlenaryTheme.event_id == event.id)
            .order_by(col(PlenaryTheme.id))
        )
    }
    confirmed = []
    for row in decided.values():
        if row.decision != ThemeDecision.CONFIRMED:
            continue
        kept = tuple(items[int(i)] for i in row.key.split(",") if int(i) in items)
        confirmed.append(Theme(row.key, row.title, kept, row.decision, row.id))
    suggested = []
    for group in themes.suggest(theme_posts):
        key = theme_key(p.id for p in group)
        if key in decided:
            continue
        members = tuple(items[p.id] for p in group)
        suggested.append(Theme(key, _title(members), members, None))
    needs = [(t, v) for t, v in walls if v.kind == Kind.NEED]
    return Plenary(
        event=event,
        tables=tuple(columns),
        confirmed=tuple(confirmed),
        suggested=tuple(suggested),
        needs=tuple(_item(t, v) for t, v in needs if v.id not in answered),
        resources=tuple(
            _item(t, v) for t, v in walls if v.kind == Kind.RESOURCE and v.id in pledged
        ),
    )


def _title(items: tuple[Item, ...]) -> str:
    """A theme is named by its shortest title: usually the most general wording."""
    return min(items, key=lambda item: (len(item.title), item.id)).title


@dataclass(frozen=True)
class ThemeChange:
    """A theme decided: each table whose posts it groups spent a seq (no tally moved), so
    that the event's one stream (the plenary, on every worker) redraws."""

    changes: list[Change]


def decide_theme(
    session: Session, *, event: Event, post_ids: list[int], decision: str
) -> ThemeChange:
    """Confirm or dismiss the theme grouping these posts (visible posts of the event, at two
    tables or more). Deciding the same again changes nothing; a new decision replaces the
    old one. The tables are locked first (in id order), then everything is read."""
    try:
        chosen = ThemeDecision(decision)
    except ValueError:
        raise Invalid("Confirm or dismiss the theme", field="decision") from None
    ids = sorted(set(post_ids))
    if len(ids) < 2 or len(ids) > 200:
        raise Invalid("A theme groups posts of two tables or more", field="posts")
    if not all(1 <= i <= MAX_ID for i in ids):  # names nothing (a driver would overflow)
        raise NotFound("No post with this id at this event")
    table_ids = {
        t for t in session.exec(select(Proposal.table_id).where(col(Proposal.id).in_(ids)))
    }
    with tables_write(session, table_ids) as write:
        posts = list(session.exec(select(Proposal).where(col(Proposal.id).in_(ids))))
        tables = {t.id: t for t in session.exec(select(Table).where(col(Table.id).in_(table_ids)))}
        if len(posts) != len(ids) or any(
            tables[p.table_id].event_id != event.id for p in posts if p.table_id in tables
        ):
            raise NotFound("No post with this id at this event")
        if any(p.status != Status.VISIBLE for p in posts):
            raise Invalid("Only posts on the wall can make a theme", field="posts")
        if len({p.table_id for p in posts}) < 2:
            raise Invalid("A theme groups posts of two tables or more", field="posts")
        key = theme_key(ids)
        row = session.exec(
            select(PlenaryTheme).where(PlenaryTheme.event_id == event.id, PlenaryTheme.key == key)
        ).first()
        title = min(posts, key=lambda p: (len(p.title), p.id or 0)).title
        if row is not None and row.decision == chosen:
            write.nothing()
        elif row is not None:
            row.decision, row.decided_at = chosen, dt.datetime.now(dt.UTC)
            session.add(row)
        else:
            session.add(PlenaryTheme(event_id=event.id or 0, key=key, title=title, decision=chosen))
    return ThemeChange(write.changes)


def forget_theme(session: Session, *, event: Event, theme_id: int) -> ThemeChange:
    """Take back a decision: the theme is a suggestion again (if the tables still suggest it)."""
    found = by_id(session, PlenaryTheme, theme_id)
    if found is None or found.event_id != event.id:
        raise NotFound("No theme with this id at this event")
    table_ids = {
        t
        for t in session.exec(
            select(Proposal.table_id).where(
                col(Proposal.id).in_([int(i) for i in found.key.split(",")])
            )
        )
    }
    with tables_write(session, table_ids) as write:
        row = session.get(PlenaryTheme, theme_id)
        if row is None:
            write.nothing()
        else:
            session.delete(row)
    return ThemeChange(write.changes)
