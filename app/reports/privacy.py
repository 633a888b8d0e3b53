"""Which figures a report withholds, so that nobody's category or vote can be singled out.

Two marks, both truthful:
- "< N" (None here): a stakeholder category with fewer than N people (primary);
- "*" (WITHHELD): a larger figure hidden only so that a "< N" one cannot be worked out by
  subtracting the shown figures from a total (secondary).

A row of a table's minutes (its people, and every proposal's votes by category) hides the
small categories and, if they hold fewer than N people between them or are alone, the
smallest other categories too: every hidden vote figure then mixes at least N people.
The event's participation table (tables x categories, with totals both ways) also hides
category totals until no hidden figure is determined by the published ones (checked by
linear algebra over the row and column equations).
"""

import enum
from collections.abc import Mapping, Sequence
from fractions import Fraction


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


def protect_totals(
    rows: Sequence[Sequence[Cell]], column_totals: Sequence[int], min_group: int
) -> list[Cell]:
    """The column totals to print under a table of counts whose rows are already protected
    (each row's total is published, and so is the grand total): small ones are "< N", and
    more are WITHHELD until no "< N" figure, cell or total, can be worked out from what is
    shown. (No complement by size alone: a total whose cells are all shown is no secret.)"""
    result: list[Cell] = [None if 0 < n < min_group else n for n in column_totals]
    hidden_cells = [
        (r, c) for r, row in enumerate(rows) for c, value in enumerate(row) if _hidden(value)
    ]
    # What a row gives away on its own (one person at a table), no total can protect.
    lost = _exposed(rows, [WITHHELD] * len(result), hidden_cells)
    while exposed := _exposed(rows, result, hidden_cells) - lost:
        columns = {column for _kind, column, _row in exposed}
        candidates = [
            c
            for c, total in enumerate(result)
            if not _hidden(total) and any(cc == c for _r, cc in hidden_cells)
        ]
        if not candidates:
            break
        # Hide the total of an exposed figure's column if we can, the smallest first.
        best = min(candidates, key=lambda c: (c not in columns, column_totals[c], c))
        result[best] = WITHHELD
    return result


def _hidden(value: Cell) -> bool:
    return value is None or value is WITHHELD


# A "< N" figure: ("cell", column, row) or ("total", column, -1).
Target = tuple[str, int, int]


def _exposed(
    rows: Sequence[Sequence[Cell]], totals: Sequence[Cell], hidden_cells: list[tuple[int, int]]
) -> set[Target]:
    """The "< N" figures that the published equations (every row total, the shown column
    totals) determine exactly."""
    index = {cell: i for i, cell in enumerate(hidden_cells)}

    def ones(cells: list[tuple[int, int]]) -> Vector:
        return {index[cell]: Fraction(1) for cell in cells}

    equations = [ones([cell for cell in hidden_cells if cell[0] == r]) for r in range(len(rows))]
    columns = [ones([cell for cell in hidden_cells if cell[1] == c]) for c in range(len(totals))]
    equations += [col for col, total in zip(columns, totals, strict=True) if not _hidden(total)]
    basis = _basis(equations)
    exposed: set[Target] = set()
    for (r, c), i in index.items():
        if rows[r][c] is None and not _reduce({i: Fraction(1)}, basis):
            exposed.add(("cell", c, r))
    for c, total in enumerate(totals):
        if total is None and not _reduce(columns[c], basis):
            exposed.add(("total", c, -1))
    return exposed


Vector = dict[int, Fraction]


def _reduce(vector: Vector, basis: list[tuple[int, Vector]]) -> Vector:
    """What is left of `vector` outside the span of `basis` (empty: it is determined)."""
    left = {k: v for k, v in vector.items() if v}
    for pivot, row in basis:
        factor = left.get(pivot)
        if factor:
            for k, v in row.items():
                left[k] = left.get(k, Fraction(0)) - factor * v
            left = {k: v for k, v in left.items() if v}
    return left


def _basis(equations: list[Vector]) -> list[tuple[int, Vector]]:
    """Gaussian elimination, exact: each row has 1 at its pivot and 0 at the pivots of the
    rows before it, so `_reduce`, going through the rows in order, clears every pivot."""
    basis: list[tuple[int, Vector]] = []
    for equation in equations:
        left = _reduce(equation, basis)
        if left:
            pivot = min(left)
            basis.append((pivot, {k: v / left[pivot] for k, v in left.items()}))
    return basis
