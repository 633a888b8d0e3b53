"""Markdown minutes, read as a reader would: rendered by a CommonMark/GFM tool and as text.

The known table of test_reports, with a richer synthesis (setext and ATX headings, a list, a
blockquote, raw HTML, a script link, an image and a fence left open) and a few titles that
look like Markdown."""

import random
import re
from dataclasses import dataclass

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from sqlmodel import Session

from app import reports
from app.models import Table
from app.reports import data, labels, md
from app.services import phases, proposals, synthesis, voting
from tests.conftest import make_participant, make_table
from tests.test_reports import (
    COMUNE,
    DAY_BODY,
    ETS,
    TOTAL_VOTES,
    Known,
    build_known,
)


# Every renderer a reader may use: strict CommonMark with GFM tables, and a permissive one
# (raw HTML on, any link scheme allowed) to show that nothing unsafe is in the source.
class _AnyLink(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        return True


GFM = MarkdownIt("commonmark").enable("table")
PERMISSIVE = _AnyLink("commonmark", {"html": True}).enable("table")

SYNTHESIS = """Sintesi del tavolo
==================

Il tavolo chiede **più trasporti** e un *centro diurno*.

## Priorità condivise

1. Trasporto sociale a chiamata;
2. centro diurno per l'autonomia.

> Nota: due proposte sul trasporto sono state accorpate.

###### Un dettaglio

<img src=x onerror=alert(1)> e a < b, `<b>codice</b>`.

[clic](javascript:alert(1)) · [sito](https://example.org) · ![traccia](https://tracker.example/p.png)

```
una recinzione lasciata aperta"""

LAW = "Equipe d'Ambito per i progetti di vita (D.lgs. 62/2024)"
LAW_BODY = "Sulla linea Salerno-Avellino (Comune di Fisciano): *tutti* i giorni"
HOSTILE = "Sì | no <script>alert(1)</script> [x](javascript:alert(1))"
FACILITATOR = "Dott.ssa Anna Rossi"


@dataclass
class Rich:
    known: Known
    table: Table


def _rich(session: Session) -> Rich:
    known = build_known(session)
    # A new post after the close: reopen the collection for a moment.
    phases.set_phase(session, known.table, "collect")
    author, _token = make_participant(session, known.table, category=ETS)
    proposals.post_proposal(session, participant=author, kind="proposal", title=LAW, body=LAW_BODY)
    proposals.post_proposal(session, participant=author, kind="proposal", title=HOSTILE)
    phases.set_phase(session, known.table, "closed")
    table = session.get(Table, known.table.id, populate_existing=True)
    assert table is not None
    synthesis.save_synthesis(session, table, facilitator=FACILITATOR, synthesis=SYNTHESIS)
    return Rich(known, table)


@pytest.fixture
def rich(session: Session) -> Rich:
    return _rich(session)


def _table_md(session: Session, rich: Rich) -> str:
    report = data.build_table_report(session, rich.table, min_group=3)
    return reports.render_table(report, "md").decode()


def _event_md(session: Session, rich: Rich) -> str:
    report = data.build_event_report(session, rich.known.event, min_group=3)
    return reports.render_event(report, "md").decode()


def _headings(text: str) -> list[tuple[int, str]]:
    tokens: list[Token] = GFM.parse(text)
    return [
        (int(t.tag[1:]), tokens[i + 1].content)
        for i, t in enumerate(tokens)
        if t.type == "heading_open"
    ]


def _under(headings: list[tuple[int, str]], title: str, occurrence: int = 0) -> list[int]:
    """The levels of the headings inside a section (until one of its level or higher)."""
    starts = [i for i, (_level, text) in enumerate(headings) if text == title]
    start = starts[occurrence]
    level = headings[start][0]
    inside = []
    for sub_level, _text in headings[start + 1 :]:
        if sub_level <= level:
            break
        inside.append(sub_level)
    return inside


# --- the facilitator's synthesis -----------------------------------------------------------


def test_synthesis_headings_sit_below_the_synthesis_heading(session: Session, rich: Rich) -> None:
    headings = _headings(_table_md(session, rich))
    section = dict((text, level) for level, text in headings)["Sintesi del facilitatore"]
    assert section == 2
    assert (3, "Sintesi del tavolo") in headings  # setext "===" became an ATX heading
    assert (4, "Priorità condivise") in headings
    assert (6, "Un dettaglio") in headings  # deeper than 6 stays 6
    assert _under(headings, "Sintesi del facilitatore") == [3, 4, 6]

    event = _headings(_event_md(session, rich))
    # In the event's syntheses section, under the table's h3; in its minutes, under an h3.
    assert (2, labels._("The tables' summaries")) in event
    assert _under(event, rich.table.title, 1)[:3] == [4, 5, 6]
    assert all(level > 3 for level in _under(event, "Sintesi del facilitatore"))
    assert _under(event, "Sintesi del facilitatore") == [4, 5, 6]


def test_synthesis_stays_markdown_without_raw_html(session: Session, rich: Rich) -> None:
    text = _table_md(session, rich)
    assert "&gt;" not in text
    assert "\n> Nota: due proposte sul trasporto sono state accorpate." in text
    page = GFM.render(text)
    assert re.search(r"<blockquote>\s*<p>Nota: due proposte", page)
    assert "<strong>più trasporti</strong>" in page and "<em>centro diurno</em>" in page
    assert "<ol>\n<li>Trasporto sociale a chiamata;</li>" in page
    assert '<a href="https://example.org">sito</a>' in page
    assert "<code>&lt;b&gt;codice&lt;/b&gt;</code>" in page  # code as typed
    assert "a &lt; b" in page
    for renderer in (GFM, PERMISSIVE):
        html = renderer.render(text)
        assert "<img" not in html and "<script" not in html and "<b>" not in html
        assert 'href="javascript' not in html


def test_a_fence_left_open_does_not_swallow_the_proposals(session: Session, rich: Rich) -> None:
    text = _table_md(session, rich)
    headings = [title for _level, title in _headings(text)]
    assert "Contributi per tipo ed etichetta" in headings
    assert "<pre><code>una recinzione lasciata aperta\n</code></pre>" in GFM.render(text)


def test_synthesis_comes_right_after_the_priorities(session: Session, rich: Rich) -> None:
    text = _table_md(session, rich)
    order = [
        "## Priorità",
        "## Sintesi del facilitatore",
        "Il tavolo chiede **più trasporti**",
        "## Contributi per tipo ed etichetta",
        "## Contributi fuori bacheca",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)


def test_no_synthesis_yet(session: Session) -> None:
    known = build_known(session)
    synthesis.save_synthesis(session, known.table, facilitator="", synthesis="")
    report = data.build_table_report(session, known.table)
    text = reports.render_table(report, "md").decode()
    after = text.split("## Sintesi del facilitatore\n\n", 1)[1]
    assert after.startswith("Non ancora scritta.\n")


def test_synthesis_demotion_and_safety_alone() -> None:
    out = md.synthesis("# Uno\n\n## Due\n\n> ### Tre\n\n    # codice\n", 3)
    # mdformat writes an indented code block fenced; the code is as typed either way.
    assert out.splitlines() == [
        *["### Uno", "", "#### Due", "", "> ##### Tre", ""],
        *["```", "# codice", "```"],
    ]
    assert md.synthesis("#### Già basso", 3) == "#### Già basso"
    # A script link's definition is dropped, its use keeps its words: "a", no link.
    assert md.synthesis("[a]: javascript:alert(1)\n\n[a]", 3) == "a"
    assert md.synthesis("<https://example.org>", 3) == "<https://example.org>"
    assert md.synthesis("<javascript:alert(1)>", 3) == "&lt;javascript:alert(1)>"


# --- plain text from people ----------------------------------------------------------------


def test_plain_text_is_escaped_only_where_markdown_would_read_it(
    session: Session, rich: Rich
) -> None:
    text = _table_md(session, rich)
    assert FACILITATOR in text and LAW in text
    assert "D.lgs. 62/2024" in text and "Salerno-Avellino (Comune di Fisciano)" in text
    for over_escaped in ("\\.", "\\-", "\\(", "\\)", "\\!"):
        assert over_escaped not in text.replace("\\![traccia]", "")
    assert "\\*tutti\\*" in text  # would be emphasis
    page = GFM.render(text)
    assert "*tutti*" in page and "<em>tutti</em>" not in page
    assert md.esc("# Titolo", start=True) == "\\# Titolo"
    assert md.esc("1. primo", start=True) == "1\\. primo"
    assert md.esc("- voce", start=True) == "\\- voce"
    assert md.esc("snake_case e 2 * 3") == "snake_case e 2 * 3"
    assert md.esc("a | b", cell=True) == "a \\| b"
    assert md.esc("Voto #", heading=True) == "Voto \\#"


def test_a_hostile_title_neither_breaks_a_table_nor_becomes_html(
    session: Session, rich: Rich
) -> None:
    for text in (_table_md(session, rich), _event_md(session, rich)):
        page = GFM.render(text)
        assert "<table>" in page
        cell = "<td>Sì | no &lt;script&gt;alert(1)&lt;/script&gt; [x](javascript:alert(1))</td>"
        assert cell in page
        for table in re.findall(r"<table>.*?</table>", page, flags=re.DOTALL):
            widths = {row.count("<td") + row.count("<th") for row in table.split("<tr>")[1:]}
            assert len(widths) == 1, table  # every row as wide as the header
        for renderer in (GFM, PERMISSIVE):
            html = renderer.render(text)
            assert "<script" not in html and "<img" not in html
            assert 'href="javascript' not in html


def test_a_table_title_with_a_pipe_keeps_the_participation_table(session: Session) -> None:
    known = build_known(session)
    known.table.title = "Casa | lavoro <b>grassetto</b>"
    session.add(known.table)
    session.commit()
    text = reports.render_event(data.build_event_report(session, known.event), "md").decode()
    page = GFM.render(text)
    assert "<td>Casa | lavoro &lt;b&gt;grassetto&lt;/b&gt;</td>" in page
    assert "<b>" not in PERMISSIVE.render(text)


# --- content and order ---------------------------------------------------------------------


def test_descriptions_tags_merges_and_proxy_marks_each_on_a_line(
    session: Session, rich: Rich
) -> None:
    text = _table_md(session, rich)
    lines = [line.strip() for line in text.splitlines()]
    assert DAY_BODY in lines
    assert f"{labels._('Merged from')}: Trasporti sociali su richiesta" in lines
    # Changed by issue 9: one person took part on paper, so which posts and votes are theirs
    # is not said (tests/test_report_issue9.py shows the marks with three on paper).
    assert not any(labels._("proxy input") in line for line in lines)
    assert not any(labels._("proxy votes") in line for line in lines)
    page = GFM.render(text)
    assert f"<br />\n{labels._('Merged from')}: Trasporti sociali su richiesta" in page
    # The merged note never runs into the title.
    assert "Trasporto sociale a chiamata Accorpa" not in page


def test_priorities_are_ranked_with_their_unit(session: Session, rich: Rich) -> None:
    text = _table_md(session, rich)
    priorities = text.split("## Priorità\n", 1)[1].split("\n## ", 1)[0]
    assert f"· {TOTAL_VOTES} voti" in priorities
    assert "- **1.** Trasporto sociale a chiamata — **6** voti" in priorities
    # 3 votes: the removed participant's vote was withdrawn with them (see test_reports).
    assert "- **2.** Centro diurno per l'autonomia — **3** voti" in priorities
    assert priorities.count("- **3.** ") == 2  # a tie shares its rank, Markdown keeps it
    assert "<li>" in GFM.render(priorities) and "<ol" not in GFM.render(priorities)


def test_event_keeps_votes_and_dots_apart(session: Session) -> None:
    known = build_known(session)
    dots = make_table(session, known.event, mode="dots", dots=5, cap=3, phase="collect")
    voter, _token = make_participant(session, dots, category=COMUNE)
    post = proposals.post_proposal(
        session, participant=voter, kind="need", title="Più asili"
    ).proposal
    phases.set_phase(session, dots, "voting")
    voting.set_vote(session, participant=voter, proposal_id=post.id or 0, dots=3)
    report = data.build_event_report(session, known.event, min_group=3)
    assert report.votes_by_mode() == {"approval": TOTAL_VOTES, "dots": 3}
    text = reports.render_event(report, "md").decode()
    assert f"· {TOTAL_VOTES} voti · 3 bollini" in text
    # Never one total of two units (a bare number would also match a clock time).
    assert not re.search(rf"\b{TOTAL_VOTES + 3}\**\s*(voti|bollini)", text)
    top = text.split("## Le priorità di ogni tavolo", 1)[1].split("\n## ", 1)[0]
    assert labels.voting("dots", 5, 3) in top and labels.voting("approval", 5, 3) in top
    assert "- **1.** Più asili — **3** bollini" in top
    assert "- **1.** Trasporto sociale a chiamata — **6** voti" in top


def test_event_order_syntheses_then_every_tables_minutes(session: Session, rich: Rich) -> None:
    text = _event_md(session, rich)
    order = [
        "# Stati Generali",
        "## Partecipazione per tipologia e tavolo",
        "## Le priorità di ogni tavolo",
        "## " + labels._("The tables' summaries"),
        f"Facilitatore: {FACILITATOR}",
        "Il tavolo chiede **più trasporti**",
        f"\n## {rich.table.title}\n",
        "\n### Sintesi del facilitatore\n",
        "\n### Contributi per tipo ed etichetta\n",
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert "<table>" in GFM.render(text)


PIECES = (
    "<b>",
    "</b>",
    "<img src=x>",
    "<script>",
    "<a href='`'>",
    "`",
    "``",
    "|",
    "\\|",
    "\n",
    "\n\n",
    "> ",
    "- ",
    "# ",
    "[a]",
    "(javascript:x)",
    "](",
    "![",
    "<!--",
    "```",
    "~~~",
    "    ",
    "<https://e.org>",
    "<http://a`b>",
    "<javascript:y>",
    "\\",
    "*",
    "_",
    "&#60;b&#62;",
    "testo",
    " ",
    "===",
    "---",
    "[r]: ",
    "java&#115;cript:",
    "1. ",
    "<",
    ">",
    "|---|---|\n",
    "<div>",
    "<pre>",
    "\t",
)


def test_no_mix_of_markdown_pieces_gets_html_images_or_script_links_through() -> None:
    """Hostile Markdown, shaken together: the synthesis and plain text stay inert and end
    where they should, for a renderer with raw HTML, images and every link scheme on."""
    shaker = random.Random(7)
    for _ in range(400):
        text = "".join(shaker.choice(PIECES) for _ in range(shaker.randint(1, 30)))
        plain = md.esc(text, start=True)
        row = md.esc(text, cell=True)
        documents = {
            "synthesis": md.synthesis(text, 3),
            "plain": f"| a | b |\n| --- | --- |\n| {row} | x |\n\n{plain}\n\n- **{md.esc(text)}**",
        }
        for kind, document in documents.items():
            for renderer in (PERMISSIVE, _AnyLink("commonmark", {"html": True})):
                tokens = renderer.parse(document + "\n\n## fine\n")
                flat = [t for token in tokens for t in (token, *(token.children or ()))]
                assert [t.content for t in tokens[-3:]] == ["", "fine", ""], (text, kind)
                for t in flat:
                    assert t.type not in ("html_block", "html_inline", "image"), (text, kind)
                    href = str(t.attrGet("href") or "")
                    if t.type == "link_open":
                        assert kind == "synthesis", text  # plain text never links
                        assert not re.match(r"\s*(javascript|vbscript|data|file):", href, re.I)
