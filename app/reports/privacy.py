"""Which figures a report shows, so that nobody's category or vote can be singled out.

One rule, over exactly the people whose figures are printed (a table's participants; removed
ones are in no figure, their votes are gone), with N = TAVOLI_REPORT_MIN_GROUP:

1. Per-category figures (people and votes by category, the proxy votes) are printed only in
   the final minutes of a table: closed, never reopened after a closing, and every table of
   its event closed too (rule 4 decides a table's figures together with the others'); the
   event's tables must not have changed since they were all closed (a table reopened or
   added: "changed", for good). Every other download is a draft ("bozza") or says why it
   has totals only, so two downloads around one vote differ in totals only.
2. In a row (a table's people, and every proposal's votes) a category with fewer than N
   people is "< N" (None here); if the hidden ones are alone or hold fewer than N people
   between them, the smallest other categories are withheld too ("*", WITHHELD), so every
   hidden figure mixes N people or more. If that leaves no category shown (a table of fewer
   than N people, or of one big category and small ones) the table has no breakdown at all:
   totals only (`table_marks` returns None). Rule 4 may withhold more.
3. A column fed by a group of people across the categories (the proxy votes: the paper
   participants) is printed only if that group and its complement, inside every printed
   category and inside the hidden ones together, have 0 or N people or more: then every
   difference a reader can take between the column, the categories and the total still
   mixes N people (`crossing_shown`). A head count of such a group is "< N" when small.
4. The event's participation table (a row per table, a column per category, the rows'
   and the columns' totals) is protected as a whole (`event_marks`): a reader who knows
   every printed figure, that "< N" is 1 to N-1 and a "*" of a printed row N or more, must
   find two possible values for every small figure, by any subtraction across rows and
   columns. The fewest and smallest figures are withheld to that end (secondary
   suppression); each table's own minutes print exactly its row of that table, so the two
   downloads together say no more than the event's. The totals add up the tables closed for
   good with N people or more (a blind row, "*" everywhere, still counts in them).
5. The named list (people who consented) prints a category only when the table prints that
   category's count, and is left out of a table with fewer than N people (its totals are
   those few people's votes), of a draft and of a reopened table (two downloads could tell
   who joined next to a change in a total).
6. The register's organisations (rule 7 of docs/privacy.md): `organisation_groups`.
"""

import enum
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


class Withheld(enum.Enum):
    MARK = "*"


WITHHELD = Withheld.MARK

# A figure in a breakdown: a number, None ("< N") or WITHHELD ("*").
Cell = int | None | Withheld


def row_marks(
    counts: Mapping[str, int], categories: Sequence[str], min_group: int
) -> dict[str, Cell]:
    """The hidden categories of one row of people, with their marks."""
    small = [c for c in categories if 0 < counts.get(c, 0) < min_group]
    marks: dict[str, Cell] = dict.fromkeys(small)
    if not small:
        return marks
    others = sorted((counts[c], c) for c in categories if c not in marks and counts.get(c, 0) > 0)
    hidden_people = sum(counts[c] for c in small)
    for count, category in others:
        if len(marks) >= 2 and hidden_people >= min_group:
            break
        marks[category] = WITHHELD
        hidden_people += count
    return marks


def table_marks(
    counts: Mapping[str, int], categories: Sequence[str], min_group: int
) -> dict[str, Cell] | None:
    """The marks of a table's rows, or None when no category could be shown exactly: then
    the table has no per-category breakdown at all (rule 2)."""
    marks = row_marks(counts, categories, min_group)
    present = [c for c in categories if counts.get(c, 0) > 0]
    if not present or all(c in marks for c in present):
        return None
    return marks


def group_cell(count: int, min_group: int) -> Cell:
    """A head count of a group that is not a category (the paper participants)."""
    return None if 0 < count < min_group else count


def crossing_shown(parts: Sequence[tuple[int, int]], min_group: int) -> bool:
    """Whether a column fed by a group that crosses the categories may be printed (rule 3).

    `parts`: for every printed category, and for the hidden categories together, the
    (in the group, not in the group) people. Every difference between the column, the
    categories and the total is a sum of whole parts: each must be empty or hold N."""
    inside = sum(a for a, _b in parts)
    if inside < min_group:
        return False
    return all(n == 0 or n >= min_group for part in parts for n in part)


def organisation_groups(
    people: Sequence[tuple[str, bool]], min_group: int
) -> tuple[dict[str, int], int]:
    """The attendance register's head counts by organisation (rule 7 of docs/privacy.md).

    `people`: one (organisation key, named) per counted person; "" is no organisation.
    An organisation is shown as a group only with N people or more, of whom those not named
    (the named ones are listed by name) are none or N or more: so no figure, and no
    difference between a figure and the names under it, points at fewer than N people of
    one organisation. Everyone else is one "other organisations" figure, 0 or N or more
    (the smallest groups join it until it is): it is the total minus the groups, and must
    mix N people too. Returns the groups shown and that figure."""
    counts: dict[str, int] = {}
    unnamed: dict[str, int] = {}
    for key, is_named in people:
        counts[key] = counts.get(key, 0) + 1
        unnamed[key] = unnamed.get(key, 0) + (0 if is_named else 1)
    shown = {
        key
        for key, count in counts.items()
        if key and count >= min_group and (unnamed[key] == 0 or unnamed[key] >= min_group)
    }
    rest = len(people) - sum(counts[key] for key in shown)
    while 0 < rest < min_group and shown:
        smallest = min(shown, key=lambda key: (counts[key], key))
        shown.remove(smallest)
        rest += counts[smallest]
    return {key: counts[key] for key in shown}, rest


# --- the event's participation table: secondary suppression across tables (rule 4) ---------

INFINITY = 10**9


@dataclass(frozen=True)
class EventMarks:
    """What the event's participation table prints: for every row (a table whose figures
    count in the event) its marks, or None when the row is blind ("*" in every category,
    zeros too: the reader knows its total only); and for every category whether its total
    is printed."""

    rows: tuple[dict[str, Cell] | None, ...]
    totals: tuple[bool, ...]


class _Reader:
    """What a careful reader knows of the event's table: the rows' totals, every printed
    figure, the printed column totals, that a "< N" figure is 1 to N-1, that a "*" of a row
    that prints categories is N or more (the small ones are all marked "< N"), and that a
    blind row's figures are 0 or more. `changes` tells whether a cell has two possible
    values: an integer filling that differs from the true one there exists exactly when a
    cycle of unknown figures through it can move by one, each within its bounds (the
    difference of two fillings splits into such cycles)."""

    def __init__(
        self,
        values: Sequence[Sequence[int]],
        marks: Sequence[dict[int, Cell] | None],
        withheld_totals: set[int],
        min_group: int,
    ) -> None:
        # Nodes: ("r", row), ("c", column) and ("t",) for the withheld totals together (the
        # grand total is known: it is the sum of the rows' totals). An edge is an unknown
        # figure with its value and bounds; a withheld total T enters as -T, so that every
        # edge weighs +1 on both its nodes and a move alternates +1 and -1 around a cycle.
        self._arcs: dict[tuple[object, ...], list[tuple[tuple[object, ...], int]]] = {}
        self._edges: dict[tuple[int, int], int] = {}
        edges: list[tuple[tuple[object, ...], tuple[object, ...], int, int, int]] = []
        width = len(values[0]) if values else 0
        for r, row_marks_ in enumerate(marks):
            for c in range(width):
                value = values[r][c]
                if row_marks_ is None:
                    bounds = (0, INFINITY)
                elif c not in row_marks_:
                    continue
                elif row_marks_[c] is None:
                    bounds = (1, min_group - 1)
                else:
                    bounds = (min_group, INFINITY)
                self._edges[(r, c)] = len(edges)
                edges.append((("r", r), ("c", c), value, *bounds))
        for c in withheld_totals:
            total = sum(values[r][c] for r in range(len(values)))
            edges.append((("t",), ("c", c), -total, -INFINITY, 0))
        self._all = edges
        for index, (side, column, value, low, high) in enumerate(edges):
            if value + 1 <= high:
                self._arcs.setdefault(side, []).append((column, index))
            if value - 1 >= low:
                self._arcs.setdefault(column, []).append((side, index))

    def _path(self, start: tuple[object, ...], goal: tuple[object, ...], skip: int) -> bool:
        seen = {start}
        todo = [start]
        while todo:
            node = todo.pop()
            for nxt, index in self._arcs.get(node, ()):
                if index == skip or nxt in seen:
                    continue
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    def arcs(self) -> dict[tuple[object, ...], list[tuple[tuple[object, ...], int]]]:
        return self._arcs

    def index(self, r: int, c: int) -> int:
        return self._edges.get((r, c), -1)

    def bounds(self, r: int, c: int) -> tuple[int, int]:
        index = self._edges.get((r, c))
        if index is None:
            return (0, -1)  # printed: it cannot move
        return self._all[index][3], self._all[index][4]

    def changes(self, r: int, c: int) -> bool:
        """Whether the reader finds two or more possible values for the cell (r, c)."""
        index = self._edges.get((r, c))
        if index is None:
            return False  # printed
        row, column, value, low, high = self._all[index]
        up = value + 1 <= high and self._path(column, row, index)
        return up or (value - 1 >= low and self._path(row, column, index))


# The price of withholding, to keep the fewest and smallest figures: a cell costs its figure
# over CELL, a column total (a headline figure) its sum over TOTAL; a blind row is the last
# resort.
CELL, TOTAL = 10**4, 10**8

Node = tuple[object, ...]
Step = tuple[str, int, int]  # ("cell", row, column) or ("total", 0, column)


def event_marks(
    rows: Sequence[Mapping[str, int]], categories: Sequence[str], min_group: int
) -> EventMarks:
    """The marks of the event's participation table (rule 4): every small figure keeps two
    possible values for a reader who knows every printed figure and total, in rows and
    columns across the tables, with the fewest and smallest figures withheld besides
    (secondary suppression, as statistical offices do).

    Each row starts from its own row rule (`row_marks`); a row where no category would be
    printed is blind. While a small figure can be worked out, the cheapest cycle of figures
    through it that could move is found (a shortest path: withheld figures cost nothing,
    printed ones their price) and its printed figures are withheld; if there is none, its
    row is made blind."""
    width = len(categories)
    values = [[row.get(c, 0) for c in categories] for row in rows]
    marks: list[dict[int, Cell] | None] = []
    for row in rows:
        found = table_marks(row, categories, min_group)
        marks.append(None if found is None else {categories.index(c): m for c, m in found.items()})
    withheld: set[int] = set()
    small = [(r, c) for r in range(len(rows)) for c in range(width) if 0 < values[r][c] < min_group]
    while True:
        check = _Reader(values, marks, withheld, min_group)
        stuck = next(((r, c) for r, c in small if not check.changes(r, c)), None)
        if stuck is None:
            break
        path = _cheapest_cycle(values, marks, withheld, min_group, stuck)
        if path is not None and path:
            for kind, r, c in path:
                if kind == "total":
                    withheld.add(c)
                else:
                    row_of = marks[r]
                    assert row_of is not None
                    row_of[c] = WITHHELD
        elif marks[stuck[0]] is not None:
            marks[stuck[0]] = None
        else:  # cannot happen (a blind row can move through two withheld totals)
            return EventMarks(tuple(None for _ in rows), tuple(False for _ in categories))
    return EventMarks(
        tuple(None if m is None else {categories[c]: mark for c, mark in m.items()} for m in marks),
        tuple(c not in withheld for c in range(width)),
    )


def _cheapest_cycle(
    values: Sequence[Sequence[int]],
    marks: Sequence[dict[int, Cell] | None],
    withheld: set[int],
    min_group: int,
    stuck: tuple[int, int],
) -> list[Step] | None:
    """The printed figures to withhold so that the figure `stuck` can move by one, the
    cheapest first; None when no cycle can free it while its row prints categories."""
    reader = _Reader(values, marks, withheld, min_group)
    arcs = reader.arcs()
    extra: dict[Node, list[tuple[Node, int, Step]]] = {}
    for r, found in enumerate(marks):
        if found is None:
            continue
        for c, value in enumerate(values[r]):
            if c in found or not value:
                continue
            step: Step = ("cell", r, c)
            price = CELL + value
            extra.setdefault(("r", r), []).append((("c", c), price, step))  # up: always
            if value - 1 >= min_group:
                extra.setdefault(("c", c), []).append((("r", r), price, step))
    for c in range(len(values[0]) if values else 0):
        if c in withheld:
            continue
        total = sum(row[c] for row in values)
        step = ("total", 0, c)
        extra.setdefault(("c", c), []).append((("t",), TOTAL + total, step))
        if total >= 1:
            extra.setdefault(("t",), []).append((("c", c), TOTAL + total, step))
    r, c = stuck
    skip = reader.index(r, c)
    best: list[Step] | None = None
    best_price = -1
    value, low, high = values[r][c], *reader.bounds(r, c)
    for start, goal, possible in (
        (("c", c), ("r", r), value + 1 <= high),
        (("r", r), ("c", c), value - 1 >= low),
    ):
        if not possible:
            continue
        found_path = _shortest(start, goal, arcs, extra, skip)
        if found_path is not None and (best is None or found_path[0] < best_price):
            best_price, best = found_path
    return best


def _shortest(
    start: Node,
    goal: Node,
    arcs: Mapping[Node, list[tuple[Node, int]]],
    extra: Mapping[Node, list[tuple[Node, int, Step]]],
    skip: int,
) -> tuple[int, list[Step]] | None:
    """Dijkstra from `start` to `goal`: unknown figures cost nothing (never the edge
    `skip`), printed ones their price. Returns the price and the figures to withhold."""
    queue: list[tuple[int, int, Node]] = [(0, 0, start)]
    done: set[Node] = set()
    came: dict[Node, tuple[Node, Step | None]] = {}
    price_of: dict[Node, int] = {start: 0}
    counter = 0
    while queue:
        price, _n, node = heapq.heappop(queue)
        if node in done:
            continue
        done.add(node)
        if node == goal:
            steps: list[Step] = []
            while node != start:
                node, step = came[node]
                if step is not None:
                    steps.append(step)
            return price, steps
        nexts: list[tuple[Node, int, Step | None]] = [
            (nxt, 0, None) for nxt, index in arcs.get(node, ()) if index != skip
        ]
        nexts += list(extra.get(node, ()))
        for nxt, cost, step in nexts:
            if nxt in done or price + cost >= price_of.get(nxt, price + cost + 1):
                continue
            price_of[nxt] = price + cost
            came[nxt] = (node, step)
            counter += 1
            heapq.heappush(queue, (price + cost, counter, nxt))
    return None
