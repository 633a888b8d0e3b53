"""Issue 16: the event's participation table withholds only what it must (secondary
suppression across the tables), and still no small figure can be worked out.

The reader here is independent of `privacy.event_marks`: it lists every filling of the
table consistent with what is printed (each table's total, every printed figure and column
total, "< N" meaning 1 to N-1, "*" in a row that prints categories meaning N or more, since
every small figure is marked "< N", and a blind row's figures 0 or more) and asks that each
small figure keeps two possible values."""

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from app import reports
from app.models import Event, Participant, Table
from app.reports import data, privacy
from app.reports.privacy import WITHHELD, Cell
from app.services import phases
from tests.conftest import make_event, make_participant, make_table
from tests.test_reports import CITTADINO, COMUNE, ETS, IMPRESA

N = 3
INF = 10**6


def _bounds(row: int, marks: dict[str, Cell] | None, category: str, total: int) -> range | None:
    """The values the reader allows a figure (None: printed)."""
    if marks is None:
        return range(0, total + 1)
    if category not in marks:
        return None
    if marks[category] is None:
        return range(1, N)
    return range(N, total + 1)


def _fillings(
    rows: Sequence[dict[str, int]], categories: Sequence[str], result: privacy.EventMarks
) -> Iterator[list[list[int]]]:
    """Every filling consistent with what the event prints, row by row, pruned by the
    printed column totals."""
    totals = [sum(row.get(c, 0) for row in rows) for c in categories]
    printed = result.totals

    def options(r: int) -> list[list[int]]:
        row, marks = rows[r], result.rows[r]
        total = sum(row.values())
        known = [row.get(c, 0) for c in categories]
        ranges = [_bounds(r, marks, c, total) for c in categories]
        open_ = [i for i, rg in enumerate(ranges) if rg is not None]
        left = total - sum(known[i] for i in range(len(categories)) if ranges[i] is None)
        out: list[list[int]] = []

        def fill(k: int, rest: int, current: list[int]) -> None:
            if k == len(open_):
                if rest == 0:
                    out.append(list(current))
                return
            rg = ranges[open_[k]]
            assert rg is not None
            for v in rg:
                if v > rest:
                    break
                current[open_[k]] = v
                fill(k + 1, rest - v, current)
            current[open_[k]] = known[open_[k]]

        fill(0, left, list(known))
        return out

    per_row = [options(r) for r in range(len(rows))]

    def walk(r: int, sums: list[int], chosen: list[list[int]]) -> Iterator[list[list[int]]]:
        if r == len(rows):
            if all(not p or s == t for s, t, p in zip(sums, totals, printed, strict=True)):
                yield chosen
            return
        for option in per_row[r]:
            new = [s + v for s, v in zip(sums, option, strict=True)]
            if any(p and s > t for s, t, p in zip(new, totals, printed, strict=True)):
                continue
            yield from walk(r + 1, new, [*chosen, option])

    yield from walk(0, [0] * len(categories), [])


def assert_nothing_worked_out(rows: Sequence[dict[str, int]], categories: Sequence[str]) -> None:
    result = privacy.event_marks(rows, categories, N)
    for row, marks in zip(rows, result.rows, strict=True):
        if marks is None:
            continue
        for c in categories:  # the reader's knowledge of the marks holds
            value = row.get(c, 0)
            if 0 < value < N:
                assert marks.get(c, 0) is None, (row, marks)
            elif c in marks:
                assert marks[c] is WITHHELD and value >= N, (row, marks)
    small = {
        (r, ci): set()
        for r, row in enumerate(rows)
        for ci, c in enumerate(categories)
        if 0 < row.get(c, 0) < N
    }
    seen: dict[tuple[int, int], set[int]] = small
    for filling in _fillings(rows, categories, result):
        for (r, ci), values in seen.items():
            values.add(filling[r][ci])
        if all(len(v) >= 2 for v in seen.values()):
            return
    stuck = {k: v for k, v in seen.items() if len(v) < 2}
    assert not stuck, (rows, result, stuck)


CATEGORIES = ["Comune", "ETS", "Cittadino", "Impresa"]
row_strategy = st.lists(st.integers(0, 6), min_size=4, max_size=4).filter(lambda r: sum(r) >= N)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=1, max_size=4))
def test_no_small_figure_of_an_event_can_be_worked_out(counts: list[list[int]]) -> None:
    rows = [dict(zip(CATEGORIES, row, strict=True)) for row in counts]
    assert_nothing_worked_out(rows, CATEGORIES)


def test_the_realistic_event_keeps_its_category_totals() -> None:
    """Three tables of a dozen people and one of five (3 Comune, 1 ETS, 1 Impresa): the
    small table's two single people are protected by withholding two figures of one other
    table, and every category total of the event is printed."""
    rows = [
        {"Comune": 4, "ETS": 5, "Cittadino": 3},
        {"Comune": 6, "ETS": 4, "Impresa": 3},
        {"Comune": 3, "ETS": 6, "Cittadino": 4},
        {"Comune": 3, "ETS": 1, "Impresa": 1},
    ]
    result = privacy.event_marks(rows, CATEGORIES, N)
    assert result.totals == (True, True, True, True)
    assert result.rows[0] == {} and result.rows[2] == {}
    assert result.rows[1] == {"ETS": WITHHELD, "Impresa": WITHHELD}
    assert result.rows[3] is None  # its own row rule prints no category
    assert_nothing_worked_out(rows, CATEGORIES)


def test_a_starred_figure_of_n_cannot_give_a_single_person_away() -> None:
    """5 ETS, 3 Comune, 1 Impresa: "5, *, < 3" of 9 would tell Comune = 3 and Impresa = 1
    (a "*" is N or more, a "< 3" one or more); ETS is withheld too."""
    rows = [{"ETS": 5, "Comune": 3, "Impresa": 1}]
    result = privacy.event_marks(rows, ["ETS", "Comune", "Impresa"], N)
    assert result.rows[0] == {"Impresa": None, "Comune": WITHHELD, "ETS": WITHHELD}
    assert_nothing_worked_out(rows, ["ETS", "Comune", "Impresa"])


# --- through the builder: the event's minutes and each table's own ---------------------------


def _event(session: Session, layout: Sequence[dict[str, int]]) -> tuple[Event, list[Table]]:
    """An event whose tables are all set up first, then joined and closed (the usual day)."""
    event, _ = make_event(session)
    made = [make_table(session, event, phase="preparation") for _ in layout]
    for table, counts in zip(made, layout, strict=True):
        phases.set_phase(session, table, "collect")
        for category, n in counts.items():
            for _ in range(n):
                make_participant(session, table, category=category)
    for table in made:
        phases.set_phase(session, table, "closed")
    return event, made


def _published(doc: dict[str, Any], categories: Sequence[str]) -> privacy.EventMarks:
    """The event's participation table as its JSON prints it, in the reader's terms."""
    rows: list[dict[str, Cell] | None] = []
    for table in doc["tables"]:
        by = table["participants"]["by_category"]
        if not by:
            rows.append(None)
            continue
        rows.append(
            {c: (None if by[c] == f"< {N}" else WITHHELD) for c in by if isinstance(by[c], str)}
        )
    totals = doc["participants"]["by_category"]
    return privacy.EventMarks(tuple(rows), tuple(isinstance(totals[c], int) for c in categories))


def _check_downloads(session: Session, event: Event, tables: Sequence[Table]) -> dict[str, Any]:
    """Each table's own minutes print exactly the event's row for it (so the two downloads
    together say no more than the event's), and the event's table passes the reader."""
    report = data.build_event_report(session, event, min_group=N)
    doc = json.loads(reports.render_event(report, "json"))
    for table, row in zip(tables, doc["tables"], strict=True):
        own = json.loads(
            reports.render_table(data.build_table_report(session, table, min_group=N), "json")
        )
        assert own["participants"]["by_category"] == row["participants"]["by_category"]
        assert own["breakdown_withheld"] == row["breakdown_withheld"]
    categories = doc["categories"]
    # The tables the totals add up: closed for good, with N people or more.
    counted = [
        r
        for r, t in enumerate(doc["tables"])
        if t["participants"]["total"] >= N and t["breakdown_withheld"] in (None, "few", "others")
    ]
    seated = _with_people(session, tables)
    counts = [
        {c: sum(1 for p in seated[r].participants if p.category == c) for c in categories}
        for r in counted
    ]
    published = _published(doc, categories)
    result = privacy.EventMarks(tuple(published.rows[r] for r in counted), published.totals)
    seen: dict[tuple[int, int], set[int]] = {
        (r, ci): set()
        for r, row in enumerate(counts)
        for ci, c in enumerate(categories)
        if 0 < row[c] < N
    }
    for filling in _fillings(counts, categories, result):
        for (r, ci), values in seen.items():
            values.add(filling[r][ci])
        if all(len(v) >= 2 for v in seen.values()):
            break
    assert all(len(v) >= 2 for v in seen.values()), seen
    return doc


@dataclass
class _Seated:
    participants: list[Participant]


def _with_people(session: Session, tables: Sequence[Table]) -> list[_Seated]:
    return [
        _Seated(list(session.exec(select(Participant).where(Participant.table_id == table.id))))
        for table in tables
    ]


def test_a_realistic_event_keeps_its_category_totals_in_every_download(session: Session) -> None:
    """Issue 16: one table of five (3 Comune, 1 ETS, 1 Impresa) in a four-table event
    blanked its row and left its people out of the event's totals. Now the totals count
    everyone, two figures of one other table are withheld to protect the two single
    people, and every other figure is printed."""
    layout = [
        {COMUNE: 4, ETS: 5, CITTADINO: 3},
        {COMUNE: 6, ETS: 4, IMPRESA: 3},
        {COMUNE: 3, ETS: 6, CITTADINO: 4},
        {COMUNE: 3, ETS: 1, IMPRESA: 1},
    ]
    event, tables = _event(session, layout)
    doc = _check_downloads(session, event, tables)
    totals = doc["participants"]["by_category"]
    assert (totals[COMUNE], totals[ETS], totals[CITTADINO], totals[IMPRESA]) == (16, 16, 7, 4)
    rows = [t["participants"]["by_category"] for t in doc["tables"]]
    assert rows[0] == {COMUNE: 4, ETS: 5, CITTADINO: 3}
    assert rows[1] == {COMUNE: 6, ETS: "*", IMPRESA: "*"}
    assert rows[2] == {COMUNE: 3, ETS: 6, CITTADINO: 4}
    assert rows[3] == {} and doc["tables"][3]["breakdown_withheld"] == "few"
    assert doc["participants"]["total"] == 43
    # The HTML prints the same: the totals row has the figures, not "*".
    page = reports.render_event(data.build_event_report(session, event, min_group=N), "html")
    assert b">16</td>" in page


def test_random_events_print_in_each_table_what_the_event_prints(session: Session) -> None:
    rng = random.Random(16)
    for _ in range(6):
        layout = [
            {c: rng.choice((0, 1, 2, 3, 4, 5)) for c in (COMUNE, ETS, CITTADINO, IMPRESA)}
            for _ in range(rng.randint(2, 4))
        ]
        event, tables = _event(session, layout)
        _check_downloads(session, event, tables)
