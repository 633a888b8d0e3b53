"""Markdown minutes: readable as plain text, and valid CommonMark/GFM for any Markdown tool.

Two kinds of text come from people: plain text (titles, names, descriptions, tags), escaped
only where a character would change the rendering in its place (`esc`), and the facilitator's
synthesis, which is Markdown and stays Markdown, only made safe (`synthesis`): no raw HTML,
no image, no script link, headings below the section that holds it. Both are done by
markdown-it-py and mdformat, in app/reports/markdown_safe.py.
"""

from collections.abc import Callable, Iterable

from app.reports import labels, outline
from app.reports.data import EventReport, Line, Named, PlenaryLine, TableReport
from app.reports.markdown_safe import esc, synthesis

__all__ = ["esc", "event_md", "synthesis", "table_md"]


# --- building blocks -----------------------------------------------------------------------


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _grid(header: list[str], align: list[str], rows: Iterable[list[str]]) -> list[str]:
    """A GFM table; cells are escaped by the caller (`esc(..., cell=True)`)."""
    return [_row(header), _row(align), *(_row(r) for r in rows), ""]


def _tally(report: TableReport, count: int) -> str:
    """“**12** voti”: the figure stands out, the unit says what it counts."""
    return _bold_figure(labels.counted(report, count), count)


def _bold_figure(words: str, count: int) -> str:
    figure = labels.number(count)
    if words.startswith(figure):
        return f"**{figure}**{words[len(figure) :]}"
    return f"**{words}**"


def _ranked(report: TableReport, lines: tuple[Line, ...]) -> list[str]:
    """Rank, full title, votes with their unit. Not a numbered Markdown list: that would
    renumber ties (1, 2, 2, 4) as 1, 2, 3, 4."""
    if not lines:
        return [labels._("No votes yet."), ""]
    items = [
        f"- **{line.rank}.** {esc(line.title)} — {_tally(report, line.votes)}" for line in lines
    ]
    more = report.tied_after(lines)
    if more:
        items.append(f"- … {esc(labels.tied_after(more))}")
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
    """As the HTML minutes: the head, then the sections of the outline (outline.TABLE)."""
    _ = labels._
    h = "#" * level
    eyebrow = f"*{_('Minutes of the table')} · {esc(report.code)}*"
    if report.draft:
        eyebrow += f" · **{labels.draft().upper()}**"
    out = [eyebrow, ""]
    out += [f"{h} {esc(labels.titled(report.title, report), heading=True)}", ""]
    if report.question:
        out += [f"**{_('Guiding question')}:** {esc(report.question)}", ""]
    voting = labels.voting(report.voting_mode, report.dots, report.max_per_proposal)
    how = (
        f"**{_('Format')}:** {labels.format_name(report.format)}"
        if report.questions
        else f"**{_('Voting')}:** {voting}"
    )
    out += [
        f"**{_('Facilitator')}:** {esc(report.facilitator) or '—'} · {how}"
        f" · **{_('Counting rule')}:** {labels.rule_name(report.weighting)}",
        "",
        f"**{_('Start time')}:** {labels.clock(report.start)} · **{_('End')}:** "
        f"{labels.clock(report.end)} · "
        f"**{_('Phase')}:** {labels.phase(report.phase, report.format)}",
        "",
    ]
    withheld = labels.withheld_note(report)
    if withheld:
        out += [f"> {withheld}", ""]
    for section in outline.table_sections(report):
        out += [f"{h}# {_(section.heading)}", ""]
        out += _TABLE_DRAW[section.id](report, level)
    return out


def _timeline(report: TableReport, level: int) -> list[str]:
    _ = labels._
    if not report.timeline:
        return [_("No phase change recorded yet."), ""]
    steps = ([at, esc(text, cell=True)] for at, text in labels.timeline_rows(report))
    return _grid([_("Date and time"), _("Phase")], ["---", "---"], steps)


def _participants(report: TableReport, level: int) -> list[str]:
    _ = labels._
    n = report.min_group
    cats = [esc(labels.category(c), cell=True) for c in report.categories]
    people = [*(labels.cell(v, n) for v in report.people), labels.number(report.people_total)]
    out = _grid([*cats, _("Total")], ["---:"] * (len(cats) + 1), [people])
    out += [labels.paper_note(report), "", labels.privacy_note(n), ""]
    return [*out, labels.privacy_line(report.event, esc), ""]


def _named(people: tuple[Named, ...], *, with_table: bool) -> list[str]:
    header = labels.named_header(with_table=with_table)
    rows = (
        [esc(cell, cell=True) for cell in labels.named_cells(p, with_table=with_table)]
        for p in people
    )
    return _grid(header, ["---"] * len(header), rows)


def _organisations(rows: list[tuple[str, int]]) -> list[str]:
    _ = labels._
    cells = ([esc(name, cell=True), labels.number(count)] for name, count in rows)
    return _grid([_("Organisation"), _("People")], ["---", "---:"], cells)


def _attendance(report: TableReport, level: int) -> list[str]:
    """The foglio presenze: named only with consent, organisations only in groups of N."""
    n = report.min_group
    out = [labels.register_note(report), ""]
    if report.register_withheld:
        return out
    if report.named:
        out += _named(report.named, with_table=False)
    rows = labels.organisation_rows(report.organisations, report.other_organisations, n)
    out += _organisations(rows) if rows else [labels.no_organisation_groups(n), ""]
    return [*out, labels.organisations_note(n), ""]


def _priorities(report: TableReport, level: int) -> list[str]:
    _ = labels._
    out = [
        _("Proposals on the wall: %(n)s · %(votes)s")
        % {
            "n": labels.number(report.proposals),
            "votes": labels.tally(report.voting_mode, report.total_votes),
        },
        "",
    ]
    return out + _ranked(report, report.top(10))


def _rankings(report: TableReport, level: int) -> list[str]:
    out: list[str] = []
    for block in labels.consensus_blocks(report):
        if isinstance(block, labels.Para):
            text = esc(block.text, start=True)
            out += [f"*{text}*" if block.note else text, ""]
        else:
            out += _grid(
                [esc(h, cell=True) for h in block.header],
                ["---:" if n else "---" for n in block.numeric],
                ([esc(c, cell=True) for c in row] for row in block.rows),
            )
    return out


def _questions(report: TableReport, level: int) -> list[str]:
    """A Q&A table's questions by support, answered or not, with the moderator's note."""
    _ = labels._
    n = report.min_group
    cats = [esc(labels.category(c), cell=True) for c in report.categories]
    out = [labels.questions_note(report), ""]
    if not report.lines:
        return [*out, _("No question on the wall."), ""]
    header = [_("Rank"), _("No."), _("Question"), labels.supports_heading(), _("Answer"), *cats]
    align = ["---:", "---:", "---", "---:", "---", *(["---:"] * len(cats))]
    rows = (
        [
            str(line.rank),
            labels.number(line.number),
            f"{esc(line.title, cell=True)} ({esc(labels.asked_by(line), cell=True)})",
            labels.number(line.votes),
            esc(labels.answer(line), cell=True),
            *(labels.cell(v, n) for v in line.by_category),
        ]
        for line in report.lines
    )
    out += _grid(header, align, rows)
    details = [row for line in report.lines for row in _details(line)]
    return [*out, *details, ""] if details else out


def _summary(report: TableReport, level: int) -> list[str]:
    return _synthesis_block(report, level + 2)


def _proposals(report: TableReport, level: int) -> list[str]:
    _ = labels._
    h = "#" * level
    n = report.min_group
    cats = [esc(labels.category(c), cell=True) for c in report.categories]
    out: list[str] = []
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
    return out


def _dissent(report: TableReport, level: int) -> list[str]:
    out = [labels.dissent_note(), ""]
    for line in report.dissented:
        rows = [
            f"- **{line.rank}. {esc(line.title)}** ({labels.numbered(line)}) — "
            f"{labels.dissent_count(line.dissent)}"
        ]
        by = labels.dissent_breakdown(line, report.categories, report.min_group)
        if by:
            rows.append(f"  {esc(by)}")
        rows += [f"  - «{esc(reason)}»" for reason in line.dissent_reasons]
        out += [rows[0] + ("  " if by else ""), *rows[1:]]
    return [*out, ""]


def _chain(report: TableReport, level: int) -> list[str]:
    """Each need, its actions with their votes, the pledges to each; the unanswered flagged."""
    h = "#" * level
    mode = report.voting_mode
    out = [esc(labels.chain_note()), ""]
    for item in report.chain():
        out += [f"{h}## {esc(labels.need_head(item.need, mode), heading=True)}", ""]
        if not item.actions:
            out += [f"**⚠ {esc(labels.unanswered())}**", ""]
            continue
        for action in item.actions:
            out.append(f"- {esc(labels.action_text(action.line, mode))}")
            out += [f"  - {esc(labels.pledge_text(p, r))}" for p, r in action.pledges]
        out.append("")
    unanswered = report.unanswered()
    if unanswered:
        out += [f"{h}## {esc(labels.unanswered_heading(), heading=True)}", ""]
        out += [f"- **⚠ {esc(labels.numbered(n))} · {esc(n.title)}**" for n in unanswered]
        out.append("")
    unlinked = report.unlinked_actions()
    if unlinked:
        out += [f"{h}## {esc(labels.unlinked_heading(), heading=True)}", ""]
        for line in unlinked:
            out.append(f"- {esc(labels.action_text(line, mode))}")
            out += [f"  - {esc(labels.pledge_text(p, r))}" for p, r in report.pledges_to(line.id)]
        out.append("")
    return out


def _off_wall(report: TableReport, level: int) -> list[str]:
    out = [f"- {text}" for text in labels.off_wall_lines(report)]
    return [*out, "", labels._("Counted, not printed: their text stays with the moderator."), ""]


def _fill(value: str) -> str:
    """A value, or the line to fill by hand as it is: a run of "_" after a space and at the
    end of a line is neither emphasis nor a rule."""
    return value if value == labels.BLANK else esc(value)


def _closing(closing: labels.Closing) -> list[str]:
    """Lines to fill by hand, then the signature."""
    out: list[str] = []
    for label, value in closing.lines:
        out += [f"**{label}:** {_fill(value)}", ""]
    if closing.note:
        out += [f"*{closing.note}*", ""]
    out += [f"**{closing.signatory}**", ""]
    out += [f"{label}: {_fill(value)}  " for label, value in closing.signature]
    out[-1] = out[-1].rstrip()
    return [*out, ""]


_TABLE_DRAW: dict[str, Callable[[TableReport, int], list[str]]] = {
    "timeline": _timeline,
    "participants": _participants,
    "attendance": _attendance,
    "priorities": _priorities,
    "rankings": _rankings,
    "questions": _questions,
    "summary": _summary,
    "chain": _chain,
    "proposals": _proposals,
    "dissent": _dissent,
    "off_wall": _off_wall,
    "closing": lambda report, _level: _closing(labels.table_closing(report)),
}


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
    ]
    for section in outline.event_sections(report):
        out += [f"## {_(section.heading)}", ""]
        out += _EVENT_DRAW[section.id](report)
    for t in report.tables:
        out += _table(t, 2)
    return _document(out)


def _participation(report: EventReport) -> list[str]:
    _ = labels._
    n = report.min_group
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
    out = _grid([_("Table"), *cats, _("Total")], ["---", *(["---:"] * (len(cats) + 1))], rows)
    out += [labels.event_totals_note(report), "", labels.privacy_note(n), ""]
    return [*out, labels.privacy_line(report.event, esc), ""]


def _event_attendance(report: EventReport) -> list[str]:
    n = report.min_group
    out = [labels.event_register_note(report), ""]
    if report.named:
        out += _named(report.named, with_table=True)
    if report.organisations:
        out += _organisations(labels.organisation_rows(report.organisations, 0, n))
        return [*out, labels.event_organisations_note(n), ""]
    return [*out, labels.no_organisation_groups(n), ""]


def _event_priorities(report: EventReport) -> list[str]:
    out: list[str] = []
    for t in report.tables:
        out += [f"### {esc(labels.provisional(t), heading=True)}", ""]
        out += [labels.how_voted(t)[1], ""]
        out += _ranked(t, t.top(5))
    return out


def _event_summaries(report: EventReport) -> list[str]:
    _ = labels._
    out: list[str] = []
    for t in report.tables:
        out += [f"### {esc(labels.provisional(t), heading=True)}", ""]
        if t.facilitator:
            out += [f"{_('Facilitator')}: {esc(t.facilitator)}", ""]
        out += _synthesis_block(t, 4)
    return out


def _event_plenary(report: EventReport) -> list[str]:
    _ = labels._
    chapter = report.plenary
    if chapter is None:
        return []
    out: list[str] = []
    for table, lines, tied in chapter.priorities:
        out += [f"**{esc(table)}**", ""]  # not a heading: the table's own come later
        items = [
            f"- {line.rank} · {esc(line.title)}"
            + (
                f" — {_bold_figure(labels.tally(line.voting_mode, line.votes), line.votes)}"
                if line.votes is not None
                else ""
            )
            for line in lines
        ]
        if tied:
            items.append(f"- … {esc(labels.tied_after(tied))}")
        out += [*items, ""] if items else [_("No votes yet."), ""]

    def listed(heading: str, lines: tuple[PlenaryLine, ...], empty: str) -> list[str]:
        items = [f"- {esc(line.title)} · {esc(line.table)}" for line in lines]
        return [f"### {esc(heading, heading=True)}", "", *(items or [empty]), ""]

    out += [f"### {esc(_('Themes that came up at several tables'), heading=True)}", ""]
    if not chapter.themes:
        out += [_("No theme was confirmed."), ""]
    for theme, lines in chapter.themes:
        out += [f"**{esc(theme)}**", "", *(f"- {esc(x.title)} · {esc(x.table)}" for x in lines), ""]
    out += listed(_("Needs no action answers yet"), chapter.needs, _("None."))
    out += listed(_("Resources pledged"), chapter.resources, _("None."))
    return out


_EVENT_DRAW: dict[str, Callable[[EventReport], list[str]]] = {
    "plenary": _event_plenary,
    "participation": _participation,
    "attendance": _event_attendance,
    "priorities": _event_priorities,
    "summaries": _event_summaries,
    "closing": lambda report: _closing(labels.event_closing(report)),
}
