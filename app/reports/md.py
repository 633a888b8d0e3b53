"""Markdown minutes: readable as plain text, and valid CommonMark/GFM for any Markdown tool.

Two kinds of text come from people: plain text (titles, names, descriptions, tags), escaped
only where a character would change the rendering in its place (`esc`), and the facilitator's
synthesis, which is Markdown and stays Markdown, only made safe (`synthesis`): no raw HTML,
no image, no script link, headings below the section that holds it.
"""

import html as html_entities
import itertools
import re
import string
from collections.abc import Iterable

from markdown_it import MarkdownIt
from markdown_it.token import Token

from app.reports import labels
from app.reports.data import EventReport, Line, TableReport
from app.reports.html import MARKDOWN

_PUNCTUATION = frozenset(string.punctuation)
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_TAG_START = re.compile(r"<[A-Za-z/!?]")  # an HTML tag, comment or declaration would start
_ORDERED = re.compile(r"^(\d{1,9})([.)])(?= |$)")
_ONLY_MARKS = re.compile(r"[\s|:=+\-]+")  # a line like this could be a rule or a table row


def esc(text: str, *, cell: bool = False, start: bool = False, heading: bool = False) -> str:
    """Plain text as literal Markdown, on one line: no link, image, emphasis, code or HTML.

    Only what would be read as Markdown in that place is escaped, so that "Dott.ssa",
    "D.lgs. 62/2024" or "(Comune di Fisciano)" read as typed. `cell`: inside a table row
    (a "|" would end the cell); `start`: at the start of a line (a "#", ">", "- " or "1. "
    would start a block); `heading`: the text of an ATX heading (a final " #" would vanish).
    """
    text = " ".join(text.split())
    out: list[str] = []
    for i, char in enumerate(text):
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if char == "\\":
            out.append("\\\\" if not after or after in _PUNCTUATION else char)
        elif char in "`[]":
            out.append("\\" + char)
        elif char in "*~":
            # Between two spaces it can neither open nor close emphasis ("2 * 3").
            out.append(char if before == after == " " else "\\" + char)
        elif char == "_":
            inert = before == after == " " or (before.isalnum() and after.isalnum())
            out.append(char if inert else "\\_")
        elif char == "<":
            out.append("&lt;" if _TAG_START.match(text, i) else char)
        elif char == "&":
            out.append("\\&" if _ENTITY.match(text, i) else char)
        elif char == "|" and cell:
            out.append("\\|")
        else:
            out.append(char)
    result = "".join(out)
    if start and result:
        if _ONLY_MARKS.fullmatch(result):
            result = "".join("\\" + c if c in "|:=+-" else c for c in result)
        elif result[0] in "#>" or (result[0] in "+-=" and result[1:2] in ("", " ", result[0])):
            result = "\\" + result
        else:
            result = _ORDERED.sub(r"\1\\\2", result)
    if heading:
        # An ATX heading drops a closing run of "#" that follows a space.
        result = re.sub(r"(^|\s)(#+)$", r"\1\\\2", result)
    return result


# --- the facilitator's synthesis -----------------------------------------------------------


class _AnyLink(MarkdownIt):
    """A renderer that takes every link as written: what a careless Markdown tool would do."""

    def validateLink(self, url: str) -> bool:
        return True


# The block structure is read without and with GFM tables (a table row may be a fence's
# opening line to plain CommonMark); only what both call code is left as written. The result
# is then checked by renderers with raw HTML, images and every link scheme on.
GFM = MarkdownIt("commonmark", {"html": False}).enable("table")
_CHECKERS = (_AnyLink("commonmark", {"html": True}), _AnyLink("commonmark", {"html": True}))
_CHECKERS[1].enable("table")

_AUTOLINK = re.compile(r"<(?:https?|mailto):[^\s<>`|\\]*>", re.IGNORECASE)
_EMAIL = re.compile(r"<[A-Za-z0-9.!#$%&'*+/=?^_{}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>")
_DESTINATION = re.compile(r"[ \t]*(?:\n[ \t>]*)?<?([^\s)>]*)")  # may sit on the next line
_SCRIPT_SCHEME = re.compile(r"(?:javascript|vbscript|data|file):", re.IGNORECASE)


def _unsafe_destination(destination: str) -> bool:
    """What a browser would run: entities and backslash escapes undone, blanks dropped."""
    plain = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", destination)
    plain = re.sub(r"[\x00-\x20\x7f]", "", html_entities.unescape(plain))
    return bool(_SCRIPT_SCHEME.match(plain))


_BACKTICKS = re.compile("`+")


def _code_spans(text: str, pieces: Iterable[tuple[int, int]]) -> set[int]:
    """The positions inside code spans (CommonMark's rule), each piece read on its own."""
    inside: set[int] = set()
    for low, high in pieces:
        i = low
        while i < high:
            if text[i] == "\\" and i + 1 < high and text[i + 1] in _PUNCTUATION:
                i += 2  # an escaped backtick opens nothing
            elif text[i] == "`":
                run = _BACKTICKS.match(text, i, high)
                assert run is not None
                width = len(run.group())
                runs = _BACKTICKS.finditer(text, run.end(), high)
                closer = next((m for m in runs if len(m.group()) == width), None)
                if closer:
                    inside.update(range(i, closer.end()))
                i = closer.end() if closer else run.end()
            else:
                i += 1
    return inside


def _pieces(text: str, cut: str) -> list[tuple[int, int]]:
    bounds = [-1, *(i for i, char in enumerate(text) if char in cut), len(text)]
    return [(a + 1, b) for a, b in itertools.pairwise(bounds)]


def _code(text: str) -> set[int]:
    """What is code however it is read: over the whole block (a paragraph), and line by line
    and cell by cell (a GFM table splits its cells at "|" before it looks for code). Where the
    readings differ, the text is not taken for code: a "<" there is escaped, safe if not
    pretty."""
    return _code_spans(text, [(0, len(text))]) & _code_spans(text, _pieces(text, "|\n"))


def _defuse(text: str, *, keep_code: bool) -> str:
    """Markdown source of one block with no raw HTML, no image and no script link; code
    spans and everything else untouched. Never adds or removes a line."""
    code = _code(text) if keep_code else set()
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if i in code:
            out.append(char)  # shown as typed by any renderer
            i += 1
            continue
        if char == "\\" and i + 1 < len(text) and text[i + 1] in _PUNCTUATION:
            out.append(text[i : i + 2])  # an escape stays as the writer meant it
            i += 2
            continue
        if char == "<":
            link = _AUTOLINK.match(text, i) or _EMAIL.match(text, i)
            if link:
                out.append(link.group())
                i = link.end()
                continue
            if _TAG_START.match(text, i):
                out.append("&lt;")  # shown as "<", never a tag
                i += 1
                continue
        if char == "!" and text[i + 1 : i + 2] == "[":
            out.append("\\!")  # a link, not an image: a reader must not fetch anything
            i += 1
            continue
        if char == "]" and text[i + 1 : i + 2] in ("(", ":"):
            destination = _DESTINATION.match(text, i + 2)
            if destination and _unsafe_destination(destination.group(1)):
                out.append("\\]")  # "[text](javascript:…)" stays as text
                i += 1
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _isolated(text: str) -> bool:
    """Whether what follows the text stands on its own (an unclosed fence would swallow it)."""
    for parser in (MARKDOWN, GFM):
        tokens = parser.parse(text + "\n\nx")
        ends = [(t.type, t.level, t.content) for t in tokens[-3:]]
        if ends != [("paragraph_open", 0, ""), ("inline", 1, "x"), ("paragraph_close", 0, "")]:
            return False
    return True


def _safe(text: str) -> bool:
    """No raw HTML, no image, no script link, for renderers that allow all three."""
    for parser in _CHECKERS:
        for token in parser.parse(text):
            for t in (token, *(token.children or ())):
                if t.type in ("html_block", "html_inline", "image"):
                    return False
                if t.type == "link_open" and _unsafe_destination(str(t.attrGet("href") or "")):
                    return False
    return True


def _code_lines(tokens: list[Token]) -> set[int]:
    return {
        number
        for t in tokens
        if t.type in ("fence", "code_block") and t.map
        for number in range(*t.map)
    }


def synthesis(text: str, top: int) -> str:
    """The facilitator's Markdown, kept as Markdown: its headings start at level `top` (a
    level past 6 stays 6), raw HTML shows as text, images become links, script links text,
    code is untouched. What cannot be made so is given as plain text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd").strip("\n")
    for keep_code in (True, False):
        result = _synthesis(text, top, keep_code=keep_code)
        if _isolated(result) and _safe(result):
            return result
    return "\n\n".join(esc(p, start=True) for p in text.split("\n\n") if p.strip())


def _synthesis(text: str, top: int, *, keep_code: bool) -> str:
    lines = text.split("\n")
    out: list[str | None] = list(lines)  # None: a line dropped (a setext underline)
    tokens = GFM.parse(text)
    code = _code_lines(tokens) & _code_lines(MARKDOWN.parse(text))
    levels = [int(t.tag[1:]) for t in tokens if t.type == "heading_open"]
    shift = max(0, top - min(levels)) if levels else 0
    done: set[int] = set()
    for index, token in enumerate(tokens):
        if token.map is None or token.map[0] in done:
            continue
        first, last = token.map
        if token.type == "heading_open":
            level = "#" * min(6, int(token.tag[1:]) + shift)
            if token.markup.startswith("#"):
                line = _defuse(lines[first], keep_code=keep_code)
                marks = re.match(r"([^#]*)#+", line)  # after any "> " or "- " it sits in
                out[first] = marks.group(1) + level + line[marks.end() :] if marks else line
            else:  # "Title" over "===" or "---": setext only has two levels, write it ATX
                content = tokens[index + 1].content
                prefix = lines[first][: max(0, lines[first].find(content.split("\n")[0]))]
                words = _defuse(" ".join(content.split()), keep_code=keep_code)
                out[first] = f"{prefix}{level} " + re.sub(r"(^|\s)(#+)$", r"\1\\\2", words)
                out[first + 1 : last] = [None] * (last - first - 1)
        elif token.type == "inline":
            # A block at a time: a link definition may go on over the next line.
            block = "\n".join(lines[first:last])
            out[first:last] = _defuse(block, keep_code=keep_code).split("\n")
        else:
            continue
        done.update(range(first, last))
    for number, line in enumerate(lines):
        if number not in done and number not in code:
            # Blank lines, rules, link definitions, and code to only one of the two readings.
            out[number] = _defuse(line, keep_code=keep_code)
    result = "\n".join(line for line in out if line is not None)
    if not _isolated(result):
        fences = [t for t in tokens if t.type == "fence" and t.level == 0]
        if fences:
            result += "\n" + fences[-1].markup  # close the fence left open
    return result


# --- building blocks -----------------------------------------------------------------------


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _grid(header: list[str], align: list[str], rows: Iterable[list[str]]) -> list[str]:
    """A GFM table; cells are escaped by the caller (`esc(..., cell=True)`)."""
    return [_row(header), _row(align), *(_row(r) for r in rows), ""]


def _tally(mode: str, count: int) -> str:
    """“**12** voti”: the figure stands out, the unit says what it counts."""
    words, figure = labels.tally(mode, count), labels.number(count)
    if words.startswith(figure):
        return f"**{figure}**{words[len(figure) :]}"
    return f"**{words}**"


def _ranked(report: TableReport, lines: tuple[Line, ...]) -> list[str]:
    """Rank, full title, votes with their unit. Not a numbered Markdown list: that would
    renumber ties (1, 2, 2, 4) as 1, 2, 3, 4."""
    if not lines:
        return [labels._("No votes yet."), ""]
    items = [
        f"- **{line.rank}.** {esc(line.title)} — {_tally(report.voting_mode, line.votes)}"
        for line in lines
    ]
    return [*items, ""]


def _synthesis_block(report: TableReport, top: int) -> list[str]:
    if not report.synthesis.strip():
        return [labels._("Not written yet."), ""]
    return [synthesis(report.synthesis, top), ""]


def _details(line: Line) -> list[str]:
    """A proposal's description, tags, merges and proxy marks, one per line."""
    _ = labels._
    rows = []
    if line.body:
        rows.append(esc(line.body, start=True))
    if len(line.tags) > 1:
        rows.append(f"{_('Tags')}: " + ", ".join(esc(t) for t in line.tags))
    if line.merged_from:
        rows.append(f"{_('Merged from')}: " + " · ".join(esc(t) for t in line.merged_from))
    marks = []
    if line.proxy:
        marks.append(_("proxy input"))
    if labels.shown_proxy_votes(line):
        marks.append(f"{_('proxy votes')}: {labels.cell(line.proxy_votes, 0)}")
    if marks:
        rows.append("*" + " · ".join(marks) + "*")
    if not rows:
        return []
    # Two spaces end a line inside the item: each note on a line of its own.
    head = f"- **{line.rank}. {esc(line.title)}** ({labels.numbered(line)})"
    return [head + "  ", *(f"  {r}  " for r in rows[:-1]), f"  {rows[-1]}"]


# --- a table's minutes ---------------------------------------------------------------------


def _table(report: TableReport, level: int) -> list[str]:
    """As the HTML minutes: head, timeline, participants (with the privacy notice's line),
    priorities, the facilitator's synthesis, every proposal with its description, the posts
    not on the wall."""
    _ = labels._
    h = "#" * level
    n = report.min_group
    eyebrow = f"*{_('Minutes of the table')} · {esc(report.code)}*"
    if report.draft:
        eyebrow += f" · **{labels.draft().upper()}**"
    out = [eyebrow, ""]
    out += [f"{h} {esc(labels.titled(report.title, report), heading=True)}", ""]
    if report.question:
        out += [f"**{_('Guiding question')}:** {esc(report.question)}", ""]
    voting = labels.voting(report.voting_mode, report.dots, report.max_per_proposal)
    out += [
        f"**{_('Facilitator')}:** {esc(report.facilitator) or '—'} · **{_('Voting')}:** {voting}",
        "",
        f"**{_('Start time')}:** {labels.clock(report.start)} · **{_('End')}:** "
        f"{labels.clock(report.end)} · **{_('Phase')}:** {labels.phase(report.phase)}",
        "",
    ]
    withheld = labels.withheld_note(report)
    if withheld:
        out += [f"> {withheld}", ""]
    out += [
        f"{h}# {_('Timeline')}",
        "",
    ]
    if report.timeline:
        steps = ([labels.moment(s.at), labels.phase(s.phase)] for s in report.timeline)
        out += _grid([_("Date and time"), _("Phase")], ["---", "---"], steps)
    else:
        out += [_("No phase change recorded yet."), ""]

    cats = [esc(labels.category(c), cell=True) for c in report.categories]
    out += [f"{h}# {_('Participants')}", ""]
    people = [*(labels.cell(v, n) for v in report.people), labels.number(report.people_total)]
    out += _grid([*cats, _("Total")], ["---:"] * (len(cats) + 1), [people])
    out += [
        labels.paper_note(report),
        "",
        labels.privacy_note(n),
        "",
    ]
    if report.named:
        out += [f"**{_('Named with their consent')}:** {esc(labels.named(report.named))}", ""]
    out += [labels.privacy_line(report.event, esc), ""]

    out += [f"{h}# {_('Priorities')}", ""]
    out += [
        _("Proposals on the wall: %(n)s · %(votes)s")
        % {
            "n": labels.number(report.proposals),
            "votes": labels.tally(report.voting_mode, report.total_votes),
        },
        "",
    ]
    out += _ranked(report, report.top(10))

    out += [f"{h}# " + _("Facilitator's summary"), ""]
    out += _synthesis_block(report, level + 2)

    out += [f"{h}# {_('Proposals by kind and tag')}", ""]
    groups = report.groups()
    for group in groups:
        tag = esc(group.tag, heading=True) if group.tag else _("no tag")
        out += [f"{h}## {labels.kind_group(group.kind)} · {tag}", ""]
        header = [
            _("Rank"),
            _("No."),
            _("Title"),
            labels.votes_heading(report.voting_mode),
            _("Voters"),
            *cats,
        ]
        align = ["---:", "---:", "---", "---:", "---:", *(["---:"] * len(cats))]
        rows = (
            [
                str(line.rank),
                labels.number(line.number),
                esc(line.title, cell=True),
                labels.number(line.votes),
                labels.number(line.voters),
                *(labels.cell(v, n) for v in line.by_category),
            ]
            for line in group.lines
        )
        out += _grid(header, align, rows)
        details = [row for line in group.lines for row in _details(line)]
        if details:
            out += [*details, ""]
    if not groups:
        out += [_("No proposal on the wall."), ""]

    if report.merged or report.off_wall:
        out += [f"{h}# {_('Posts not on the wall')}", ""]
        out += [f"- {text}" for text in labels.off_wall_lines(report)]
        out += ["", _("Counted, not printed: their text stays with the moderator."), ""]
    return out


def _event_line(report: TableReport | EventReport, *, with_title: bool) -> list[str]:
    e = report.event
    parts = [esc(e.title, start=True)] if with_title else []
    parts += [labels.long_date(e.date), esc(e.place), esc(e.organiser)]
    return [" · ".join(p for p in parts if p), ""]


def _document(lines: list[str]) -> bytes:
    while lines and not lines[-1]:
        lines.pop()
    return ("\n".join(lines) + "\n").encode()


def table_md(report: TableReport) -> bytes:
    return _document([*_event_line(report, with_title=True), *_table(report, 1)])


def event_md(report: EventReport) -> bytes:
    """The event's synthesis (figures, priorities, each table's synthesis), then every
    table's minutes, one heading level down."""
    _ = labels._
    n = report.min_group
    eyebrow = f"*{_('Event summary')}*"
    if report.draft:
        eyebrow += f" · **{labels.draft().upper()}**"
    title = esc(labels.titled(report.event.title, report), heading=True)
    out = [eyebrow, "", f"# {title}", ""]
    out += _event_line(report, with_title=False)
    out += [
        _("Tables: %(t)s · participants: %(p)s · proposals on the wall: %(n)s · %(votes)s")
        % {
            "t": labels.number(len(report.tables)),
            "p": labels.number(report.people_total),
            "n": labels.number(report.proposals),
            "votes": labels.totals(report.votes_by_mode()),
        },
        "",
        f"## {_('Participation by category and table')}",
        "",
    ]
    cats = [esc(labels.category(c), cell=True) for c in report.categories]
    rows = [
        [
            esc(t.title, cell=True),
            *(labels.cell(report.cell(t, c), n) for c in report.categories),
            labels.number(t.people_total),
        ]
        for t in report.tables
    ]
    rows.append(
        [
            f"**{_('Total')}**",
            *(labels.cell(v, n) for v in report.people),
            labels.number(report.people_total),
        ]
    )
    out += _grid([_("Table"), *cats, _("Total")], ["---", *(["---:"] * (len(cats) + 1))], rows)
    out += [labels.event_totals_note(report), "", labels.privacy_note(n), ""]
    out += [labels.privacy_line(report.event, esc), ""]
    out += [f"## {_('Top priorities of each table')}", ""]
    for t in report.tables:
        out += [f"### {esc(labels.provisional(t), heading=True)}", ""]
        out += [labels.voting(t.voting_mode, t.dots, t.max_per_proposal), ""]
        out += _ranked(t, t.top(5))
    out += ["## " + _("The tables' summaries"), ""]
    for t in report.tables:
        out += [f"### {esc(labels.provisional(t), heading=True)}", ""]
        if t.facilitator:
            out += [f"{_('Facilitator')}: {esc(t.facilitator)}", ""]
        out += _synthesis_block(t, 4)
    for t in report.tables:
        out += _table(t, 2)
    return _document(out)
