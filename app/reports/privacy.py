"""Which figures a report shows, so that nobody's category or vote can be singled out.

One rule, over exactly the people whose figures are printed (a table's participants; removed
ones are in no figure, their votes are gone), with N = TAVOLI_REPORT_MIN_GROUP:

1. Per-category figures (people and votes by category, the proxy votes) are printed only in
   the final minutes of a table: closed, and never reopened after a closing. Every other
   download is a draft ("bozza") with totals only, so two downloads around one vote differ
   in totals only, never in a category.
2. In a row (a table's people, and every proposal's votes) a category with fewer than N
   people is "< N" (None here); if the hidden ones are alone or hold fewer than N people
   between them, the smallest other categories are withheld too ("*", WITHHELD), so every
   hidden figure mixes N people or more. If that leaves no category shown (a table of fewer
   than N people, or of one big category and small ones) the table has no breakdown at all:
   totals only (`table_marks` returns None).
3. A column fed by a group of people across the categories (the proxy votes: the paper
   participants) is printed only if that group and its complement, inside every printed
   category and inside the hidden ones together, have 0 or N people or more: then every
   difference a reader can take between the column, the categories and the total still
   mixes N people (`crossing_shown`). A head count of such a group is "< N" when small.
4. The event's category totals add up the tables' printed cells: a total is printed only
   if every cell of its column is printed, "*" otherwise. It then adds nothing a reader
   could not add up, in this download or between two (a table that closes, is added or
   reopened changes the totals by figures its own minutes print).
5. The named list (people who consented) prints a category only when the table prints that
   category's count, and is left out of a table with fewer than N people (its totals are
   those few people's votes), of a draft and of a reopened table (two downloads could tell
   who joined next to a change in a total).
6. The register's organisations (rule 7 of docs/privacy.md): `organisation_groups`.
"""

import enum
from collections.abc import Mapping, Sequence


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


def protect_totals(rows: Sequence[Sequence[Cell]], width: int) -> list[Cell]:
    """The `width` column totals under a table of counts whose rows are protected (rule 4):
    exact where every cell of the column is, "*" elsewhere."""
    totals: list[Cell] = []
    for c in range(width):
        column = [row[c] for row in rows]
        exact = [v for v in column if isinstance(v, int)]
        totals.append(sum(exact) if len(exact) == len(column) else WITHHELD)
    return totals


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
