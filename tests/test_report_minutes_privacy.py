"""Issue 9, the minutes: a careful reader who subtracts every figure from every other one
(rows, columns, totals, the proxy column, the named list, two downloads) learns no vote and
no category of fewer than N people. Every format is read back for the new cases.

The reader knows who sat at the table only as the minutes describe them: a printed figure
is the sum, over a group of people, of their ballots (the total: everyone; a category's
column: that category; the proxy column: those on paper). It tries every combination of
+1, 0 and -1 of the printed groups (every sum and subtraction it could make) and checks
that what it obtains weighs on nobody or on N people or more."""

import csv
import io
import itertools
import json
import random
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlmodel import Session

from app import reports
from app.models import Event, Participant, Proposal, Table
from app.reports import data, labels
from app.services import moderation, phases, proposals, voting
from tests.conftest import make_event, make_participant, make_table
from tests.test_reports import CITTADINO, COMUNE, ETS, IMPRESA

N = 3
SMALL = f"< {N}"


@dataclass(frozen=True)
class Person:
    category: str
    paper: bool = False
    name: str = ""
    organisation: str = ""


@dataclass
class Built:
    event: Event
    table: Table
    people: list[Participant]
    spec: list[Person]
    posts: list[Proposal]


def _build(
    session: Session,
    spec: Sequence[Person],
    ballots: Sequence[Sequence[int]],
    *,
    close: bool = True,
    event: Event | None = None,
    posts: int = 2,
) -> Built:
    """A table with these people; ballots[i][k]: person i's approval of post k."""
    if event is None:
        event, _ = make_event(session)
    table = make_table(session, event, phase="collect")
    people: list[Participant] = []
    for who in spec:
        if who.paper:
            people.append(
                moderation.add_paper_participant(
                    session, table, name=who.name or f"Carta {len(people)}", category=who.category
                ).participant
            )
        else:
            fields = {"category": who.category}
            if who.name:
                fields |= {"name": who.name, "organisation": who.organisation}
            joined, _token = make_participant(session, table, **fields)
            if who.name:
                joined.named_in_minutes = True
                session.add(joined)
                session.commit()
            people.append(joined)
    author = people[0]
    made = [
        proposals.post_proposal(
            session, participant=author, kind="proposal", title=f"Proposta {k + 1}"
        ).proposal
        for k in range(posts)
    ]
    phases.set_phase(session, table, "voting")
    for person, ballot in zip(people, ballots, strict=True):
        for post, vote in zip(made, ballot, strict=True):
            if vote:
                voting.set_vote(session, participant=person, proposal_id=post.id or 0, dots=1)
    if close:
        phases.set_phase(session, table, "closed")
    fresh = session.get(Table, table.id, populate_existing=True)
    assert fresh is not None
    return Built(event, fresh, people, list(spec), made)


def _doc(session: Session, built: Built) -> dict:  # type: ignore[type-arg]
    report = data.build_table_report(session, built.table, min_group=N)
    return json.loads(reports.render_table(report, "json"))  # type: ignore[no-any-return]


# --- the reader -------------------------------------------------------------------------------


def _groups(doc: dict, spec: Sequence[Person]) -> dict[str, frozenset[int]]:  # type: ignore[type-arg]
    """The groups of people whose sums the minutes print (the reader's knowledge)."""
    everyone = frozenset(range(len(spec)))
    groups = {"total": everyone}
    for category, value in doc["participants"]["by_category"].items():
        if isinstance(value, int):
            groups[f"category {category!r}"] = frozenset(
                i for i, p in enumerate(spec) if p.category == category
            )
    printed_proxy = [p["proxy_votes"] for p in doc["proposals"]]
    if any(isinstance(v, int) for v in printed_proxy) and any(p.paper for p in spec):
        groups["proxy"] = frozenset(i for i, p in enumerate(spec) if p.paper)
    return groups


def _check_figures(
    doc: dict,  # type: ignore[type-arg]
    spec: Sequence[Person],
    ballots: Sequence[Sequence[int]],
) -> None:
    """The reader's reading is right: every printed figure is its group's sum of ballots."""
    for k, line in enumerate(sorted(doc["proposals"], key=lambda p: p["title"])):
        assert line["votes"] == sum(b[k] for b in ballots)
        for category, value in line["by_category"].items():
            if isinstance(value, int):
                assert value == sum(
                    b[k] for b, p in zip(ballots, spec, strict=True) if p.category == category
                )
        if isinstance(line["proxy_votes"], int):
            assert line["proxy_votes"] == sum(
                b[k] for b, p in zip(ballots, spec, strict=True) if p.paper
            )


def isolated(groups: Iterable[frozenset[int]], people: int, min_group: int) -> list[set[int]]:
    """Every combination of +1/0/-1 of the groups that weighs on 1 to N-1 people: what a
    reader who adds and subtracts the printed figures can single out."""
    found = []
    listed = list(groups)
    for signs in itertools.product((-1, 0, 1), repeat=len(listed)):
        weight = [0] * people
        for sign, group in zip(signs, listed, strict=True):
            for i in group:
                weight[i] += sign
        support = {i for i, w in enumerate(weight) if w}
        if 0 < len(support) < min_group:
            found.append(support)
    return found


def located(
    before: dict[str, frozenset[int]], after: dict[str, frozenset[int]], voter: int, people: int
) -> set[int]:
    """Two downloads around one vote: the reader learns, for every group printed in both,
    whether the voter is in it; the voter is any of the people who share those answers."""
    common = [after[k] for k in after if k in before]
    return {i for i in range(people) if all((i in g) == (voter in g) for g in common)}


def _assert_reader_learns_nothing(
    doc: dict,  # type: ignore[type-arg]
    spec: Sequence[Person],
    ballots: Sequence[Sequence[int]],
) -> None:
    _check_figures(doc, spec, ballots)
    groups = _groups(doc, spec)
    # The whole table is the one group a table of fewer than N people prints (its totals,
    # with no name and no category next to them); any smaller group is a leak.
    everyone = set(range(len(spec)))
    leaks = [s for s in isolated(groups.values(), len(spec), N) if s != everyone]
    assert leaks == [], groups
    # The named list: a category only where the table prints that category's count, and
    # nobody named next to the totals of fewer than N people.
    printed = {c for c, v in doc["participants"]["by_category"].items() if isinstance(v, int)}
    for named in doc["participants"]["named"]:
        assert named["category"] is None or named["category"] in printed
    if doc["participants"]["named"]:
        assert doc["participants"]["total"] >= N
    # A "< N" head count is not worked out from the row: the hidden ones are two or more
    # categories holding N people or more.
    hidden = [c for c, v in doc["participants"]["by_category"].items() if not isinstance(v, int)]
    if hidden:
        assert len(hidden) >= 2
        assert sum(1 for p in spec if p.category in hidden) >= N


def test_the_reader_catches_what_the_old_minutes_gave_away() -> None:
    """The reader itself: the old proxy column (one paper participant), a category of two,
    and a proxy column inside one category (its complement is two people) are caught."""
    spec = [Person(ETS)] * 3 + [Person(COMUNE)] * 3 + [Person(CITTADINO, paper=True)]
    everyone = frozenset(range(7))
    paper = frozenset({6})
    assert isolated([everyone, paper], 7, N)
    two = frozenset({5, 6})
    assert isolated([everyone, two], 7, N)
    ets = frozenset({0, 1, 2, 3, 4})
    on_paper = frozenset({0, 1, 2})
    assert {3, 4} in isolated([everyone, ets, on_paper], 7, N)
    del spec


def test_the_proxy_column_of_one_paper_participant_is_not_their_ballot(
    session: Session,
) -> None:
    spec = [Person(ETS)] * 3 + [Person(COMUNE)] * 3 + [Person(CITTADINO, paper=True)]
    ballots = [[1, 0], [1, 1], [0, 1], [1, 0], [0, 0], [1, 1], [1, 0]]
    built = _build(session, spec, ballots)
    doc = _doc(session, built)
    assert doc["participants"]["paper"] == SMALL
    assert {p["proxy_votes"] for p in doc["proposals"]} == {SMALL}
    assert {p["proxy"] for p in doc["proposals"]} == {None}
    _assert_reader_learns_nothing(doc, spec, ballots)
    report = data.build_table_report(session, built.table, min_group=N)
    texts = _every_format(report)
    for fmt, text in texts.items():
        assert f"{labels._('proxy votes')}:" not in text, fmt
    rows = _csv_rows(report)
    column = rows[0].index(labels._("Proxy votes"))
    assert {r[column] for r in rows[1:]} == {SMALL}
    sheet = load_workbook(io.BytesIO(reports.render_table(report, "xlsx"))).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert {
        r[header.index(labels._("Proxy votes"))]
        for r in sheet.iter_rows(min_row=2, values_only=True)
    } == {SMALL}


def test_three_on_paper_in_two_categories_print_their_column(session: Session) -> None:
    """Paper participants and the rest hold N people in every printed category: the column
    is a figure, and still no subtraction singles anyone out."""
    spec = (
        [Person(ETS)] * 3
        + [Person(ETS, paper=True)] * 3
        + [Person(COMUNE)] * 3
        + [Person(COMUNE, paper=True)] * 3
    )
    ballots = [[i % 2, (i // 2) % 2] for i in range(12)]
    built = _build(session, spec, ballots)
    doc = _doc(session, built)
    assert doc["participants"]["paper"] == 6
    assert all(isinstance(p["proxy_votes"], int) for p in doc["proposals"])
    _assert_reader_learns_nothing(doc, spec, ballots)
    report = data.build_table_report(session, built.table, min_group=N)
    page = reports.render_table(report, "md").decode()
    assert f"{labels._('proxy votes')}: " in page


def test_paper_inside_one_category_keeps_its_column_hidden(session: Session) -> None:
    """Three on paper, all ETS among five ETS: the proxy column minus ETS would be the two
    other ETS people's ballots. Withheld."""
    spec = [Person(ETS)] * 2 + [Person(ETS, paper=True)] * 3 + [Person(COMUNE)] * 3
    ballots = [[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [1, 1], [0, 1], [1, 0]]
    doc = _doc(session, _build(session, spec, ballots))
    assert doc["participants"]["by_category"] == {COMUNE: 3, ETS: 5}
    assert {p["proxy_votes"] for p in doc["proposals"]} == {"*"}
    _assert_reader_learns_nothing(doc, spec, ballots)


def test_a_table_of_one_person_gives_totals_only_in_every_format(session: Session) -> None:
    spec = [Person(IMPRESA, name="Ugo Solo", organisation="Ditta Solo")]
    built = _build(session, spec, [[1, 0]])
    doc = _doc(session, built)
    assert doc["categories"] == [] and doc["participants"]["by_category"] == {}
    assert doc["breakdown_withheld"] == "few" and not doc["draft"]
    assert doc["participants"]["named"] == [] and doc["participants"]["named_withheld"]
    assert all(p["by_category"] == {} for p in doc["proposals"])
    _assert_reader_learns_nothing(doc, spec, [[1, 0]])
    report = data.build_table_report(session, built.table, min_group=N)
    note = labels.withheld_note(report)
    assert note.startswith("Troppo poche persone")
    for fmt, text in _every_format(report).items():
        flat = " ".join(text.split())
        assert IMPRESA not in flat and "Ugo Solo" not in flat and "Ditta Solo" not in flat, fmt
        if fmt not in ("json", "csv"):  # the JSON says "few"; the CSV is the proposals only
            assert "Troppo poche persone" in flat, fmt
    assert IMPRESA not in _csv_rows(report)[0]
    # The event: the table's row is "*" in every category, and lends it no column.
    event = data.build_event_report(session, built.event, min_group=N)
    event_doc = json.loads(reports.render_event(event, "json"))
    assert set(event_doc["tables"][0]["participants"]["by_category"]) == set()
    assert all(v in (0, "*") for v in event_doc["participants"]["by_category"].values())
    assert IMPRESA in event_doc["categories"]  # listed by the event itself, as every year


def test_a_named_person_of_a_hidden_category_is_named_without_it(session: Session) -> None:
    # Changed by issue 16: four of the Comune, not three. "5, *, < 3" of 9 people would tell
    # a reader that "*" (N or more) is 3 and "< 3" is 1 (see test_report_event_suppression).
    spec = (
        [Person(ETS, name="Anna Bianchi", organisation="Coop Aurora")]
        + [Person(ETS)] * 4
        + [Person(COMUNE)] * 4
        + [Person(CITTADINO, name="Giulia Verdi", organisation="Comitato Via Roma")]
    )
    ballots = [[1, 0]] * 4 + [[0, 1]] * 5 + [[1, 1]]
    built = _build(session, spec, ballots)
    doc = _doc(session, built)
    assert doc["participants"]["by_category"] == {COMUNE: "*", ETS: 5, CITTADINO: SMALL}
    assert doc["participants"]["named"] == [
        {"name": "Anna Bianchi", "organisation": "Coop Aurora", "category": ETS},
        {"name": "Giulia Verdi", "organisation": "Comitato Via Roma", "category": None},
    ]
    _assert_reader_learns_nothing(doc, spec, ballots)
    report = data.build_table_report(session, built.table, min_group=N)
    book = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
    named = [
        r
        for r in book[labels._("Attendance")].iter_rows(values_only=True)
        if r[0] in ("Anna Bianchi", "Giulia Verdi")
    ]
    assert [(r[0], r[2]) for r in named] == [("Anna Bianchi", ETS), ("Giulia Verdi", None)]
    for fmt, text in _every_format(report).items():
        if fmt == "csv":
            continue  # the proposals only
        flat = " ".join(text.split())
        assert "Giulia Verdi" in flat, fmt
        assert f"Giulia Verdi ({CITTADINO}" not in flat and "Verdi, Cittadino" not in flat, fmt


def test_a_draft_is_marked_and_gives_totals_only_in_every_format(
    session: Session, client: TestClient
) -> None:
    spec = [Person(ETS)] * 4 + [Person(COMUNE)] * 3 + [Person(CITTADINO, paper=True)] * 3
    ballots = [[1, 0]] * 5 + [[0, 1]] * 5
    built = _build(session, spec, ballots, close=False)
    doc = _doc(session, built)
    assert doc["draft"] is True and doc["breakdown_withheld"] == "draft"
    assert doc["categories"] == [] and all(p["by_category"] == {} for p in doc["proposals"])
    assert {p["proxy_votes"] for p in doc["proposals"]} == {"*"}
    _assert_reader_learns_nothing(doc, spec, ballots)
    report = data.build_table_report(session, built.table, min_group=N)
    for fmt, text in _every_format(report).items():
        if fmt == "json":
            assert json.loads(text)["draft"] is True
        else:
            assert "bozza" in text.lower(), fmt
        assert ETS not in text and COMUNE not in text, fmt
    assert {r[-1] for r in _csv_rows(report)[1:]} == {"bozza"}
    book = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
    assert book.worksheets[0].title.startswith("BOZZA · ")
    assert "(bozza)" in str(book.properties.title)
    # The file's name says so too.
    moderator = _moderator(session, built.event)
    for fmt in reports.FORMATS:
        answer = client.get(
            f"/api/tables/{built.table.code}/report.{fmt}",
            headers={"Authorization": f"Bearer {moderator}"},
        )
        assert answer.status_code == 200
        assert f"_bozza.{fmt}" in answer.headers["content-disposition"], fmt
    english = client.get(
        f"/api/tables/{built.table.code}/report.md?lang=en",
        headers={"Authorization": f"Bearer {moderator}"},
    )
    assert "_draft.md" in english.headers["content-disposition"]
    assert "(draft)" in english.text


def test_two_drafts_around_one_vote_cannot_be_subtracted(session: Session) -> None:
    spec = [Person(ETS)] * 4 + [Person(COMUNE)] * 3 + [Person(CITTADINO)]
    ballots = [[1, 0]] * 4 + [[0, 1]] * 3 + [[0, 0]]
    built = _build(session, spec, ballots, close=False)
    before = _doc(session, built)
    voter = 7  # the only Cittadino
    phases.set_phase(session, built.table, "voting")
    voting.set_vote(
        session, participant=built.people[voter], proposal_id=built.posts[0].id or 0, dots=1
    )
    after = _doc(session, built)
    moved = [
        (a["votes"] - b["votes"], a["by_category"], b["by_category"])
        for a, b in zip(before["proposals"], after["proposals"], strict=True)
    ]
    assert sorted(m[0] for m in moved) == [-1, 0] or sorted(m[0] for m in moved) == [0, 1]
    assert all(m[1] == m[2] == {} for m in moved)
    where = located(_groups(before, spec), _groups(after, spec), voter, len(spec))
    assert len(where) >= N and where == set(range(len(spec)))
    # Had the drafts printed categories (the old minutes), the vote would be located.
    old = {"total": frozenset(range(8)), "cittadino": frozenset({7}), "ets": frozenset(range(4))}
    assert located(old, old, voter, 8) == {7}
    # The final minutes afterwards: categories, but nothing to subtract from in the drafts.
    phases.set_phase(session, built.table, "closed")
    final = _doc(session, built)
    ballots_now = [list(b) for b in ballots]
    ballots_now[voter] = [1, 0]
    _assert_reader_learns_nothing(final, spec, ballots_now)
    assert located(_groups(before, spec), _groups(final, spec), voter, 8) == set(range(8))


def test_a_reopened_table_gives_totals_only(session: Session) -> None:
    spec = [Person(ETS)] * 4 + [Person(COMUNE)] * 3
    built = _build(session, spec, [[1, 0]] * 7)
    assert _doc(session, built)["participants"]["by_category"] == {COMUNE: 3, ETS: 4}
    phases.set_phase(session, built.table, "voting")
    phases.set_phase(session, built.table, "closed")
    doc = _doc(session, built)
    assert doc["breakdown_withheld"] == "reopened" and doc["categories"] == []
    assert not doc["draft"]


def test_a_mixed_event_adds_up_only_what_closed_tables_print(session: Session) -> None:
    """Changed by issue 16: the event's totals now add up every table (small groups are
    protected across the tables), so no table prints a category before every table of the
    event is closed: a figure printed early could be the one a later total must withhold."""
    running = _build(session, [Person(ETS)] * 3 + [Person(IMPRESA)] * 3, [[0, 1]] * 6, close=False)
    closed = _build(
        session, [Person(ETS)] * 4 + [Person(COMUNE)] * 3, [[1, 0]] * 7, event=running.event
    )
    event = data.build_event_report(session, closed.event, min_group=N)
    doc = json.loads(reports.render_event(event, "json"))
    assert doc["draft"] is True
    assert doc["tables"][1]["breakdown_withheld"] == "event"
    assert doc["tables"][0]["participants"]["by_category"] == {}
    assert doc["tables"][1]["participants"]["by_category"] == {}
    totals = doc["participants"]["by_category"]
    assert (totals[ETS], totals[COMUNE], totals[IMPRESA]) == ("*", "*", "*")
    assert doc["participants"]["total"] == 13
    page = reports.render_event(event, "html").decode()
    assert "(bozza)" in page and "Bozza: alcuni tavoli sono ancora in corso." in page
    table_doc = _doc(session, closed)
    assert table_doc["categories"] == [] and table_doc["breakdown_withheld"] == "event"
    # Once the last table closes, both print their categories and the event adds them up.
    phases.set_phase(session, running.table, "closed")
    event = data.build_event_report(session, closed.event, min_group=N)
    doc = json.loads(reports.render_event(event, "json"))
    totals = doc["participants"]["by_category"]
    assert (totals[ETS], totals[COMUNE], totals[IMPRESA]) == (7, 3, 3)
    assert _doc(session, closed)["participants"]["by_category"] == {COMUNE: 3, ETS: 4}
    # A table added after all had closed, once closed in turn, would change the totals by
    # its own row: the event's figures by category are withdrawn for good.
    _build(session, [Person(ETS)] * 3 + [Person(IMPRESA)], [[1, 0]] * 4, event=running.event)
    doc = json.loads(
        reports.render_event(data.build_event_report(session, closed.event, min_group=N), "json")
    )
    assert {t["breakdown_withheld"] for t in doc["tables"]} == {"changed"}
    assert set(doc["participants"]["by_category"].values()) == {"*"}


def test_random_closed_tables_never_give_a_vote_or_a_category_away(session: Session) -> None:
    """Brute force over random small tables, through the builder and the JSON: categories,
    paper participants, named ones, ballots; every combination of printed groups."""
    rng = random.Random(9)
    event, _ = make_event(session)
    checked = 0
    for _ in range(40):
        size = rng.randint(1, 10)
        spec = [
            Person(
                rng.choice((ETS, ETS, COMUNE, COMUNE, CITTADINO, IMPRESA)),
                paper=rng.random() < 0.35,
                name=f"Nome {i}" if rng.random() < 0.3 else "",
            )
            for i in range(size)
        ]
        spec = [Person(p.category, p.paper, "" if p.paper else p.name) for p in spec]
        ballots = [[rng.randint(0, 1), rng.randint(0, 1)] for _ in spec]
        built = _build(session, spec, ballots, event=event)
        doc = _doc(session, built)
        _assert_reader_learns_nothing(doc, spec, ballots)
        checked += 1
    assert checked == 40


# --- reading every format back ----------------------------------------------------------------


def _moderator(session: Session, event: Event) -> str:
    from app.security import hash_token, new_token

    token = new_token()
    event.moderator_token_hash = hash_token(token)
    session.add(event)
    session.commit()
    return token


def _csv_rows(report: data.TableReport) -> list[list[str]]:
    raw = reports.render_table(report, "csv").decode("utf-8-sig")
    return list(csv.reader(io.StringIO(raw), delimiter=";"))


def _every_format(report: data.TableReport) -> dict[str, str]:
    book = load_workbook(io.BytesIO(reports.render_table(report, "xlsx")))
    doc = Document(io.BytesIO(reports.render_table(report, "docx")))
    words = [p.text for p in doc.paragraphs]
    words += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    texts = {
        "html": reports.render_table(report, "html").decode(),
        "md": reports.render_table(report, "md").decode(),
        "json": reports.render_table(report, "json").decode(),
        "csv": reports.render_table(report, "csv").decode("utf-8-sig"),
        "docx": "\n".join(words),
        "xlsx": " ".join(
            [ws.title for ws in book.worksheets]
            + [str(ws.oddHeader.right.text) for ws in book.worksheets if ws.oddHeader]
            + [
                str(c.value)
                for ws in book.worksheets
                for row in ws.iter_rows()
                for c in row
                if c.value is not None
            ]
        ),
    }
    if shutil.which("pdftotext"):
        raw = reports.render_table(report, "pdf")
        texts["pdf"] = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=raw, capture_output=True, check=True
        ).stdout.decode()
    return texts
