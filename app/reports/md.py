"""Markdown minutes: readable as plain text, and valid input for any Markdown tool."""

import re

from app.reports import labels
from app.reports.data import EventReport, TableReport

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def esc(text: str) -> str:
    """Untrusted text as literal Markdown: no links, emphasis, HTML or table breaks."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _synthesis(text: str) -> str:
    # The facilitator's own Markdown is kept, but raw HTML in it is shown as text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(report: TableReport, level: int) -> list[str]:
    _ = labels._
    h = "#" * level
    n = report.min_group
    out = [f"{h} {esc(report.title)}", ""]
    voting = labels.voting(report.voting_mode, report.dots, report.max_per_proposal)
    if report.question:
        out += [f"**{_('Guiding question')}:** {esc(report.question)}  "]
    out += [
        f"**{_('Facilitator')}:** {esc(report.facilitator) or '—'}  ",
        f"**{_('Voting')}:** {voting}  ",
        f"**{_('Began')}:** {labels.clock(report.start)} · **{_('End')}:** "
        f"{labels.clock(report.end)} · **{_('Phase')}:** {labels.phase(report.phase)}",
        "",
        f"{h}# {_('Timeline')}",
        "",
    ]
    out += [f"- {labels.clock(s.at)} {labels.phase(s.phase)}" for s in report.timeline] or [
        _("No phase change recorded yet.")
    ]
    cats = [esc(labels.category(c)) for c in report.categories]
    out += [
        "",
        f"{h}# {_('Participants')}",
        "",
        _row([*cats, _("Total")]),
        _row(["---:"] * (len(cats) + 1)),
        _row([*(labels.cell(v, n) for v in report.people), labels.number(report.people_total)]),
        "",
        _(
            "Of whom on paper (input typed by the moderator): %(n)s. Removed by the moderator, "
            "not counted: %(m)s."
        )
        % {"n": report.paper, "m": report.removed},
        labels.privacy_note(n),
        "",
        *(
            [f"**{_('Named with their consent')}:** {esc(labels.named(report.named))}", ""]
            if report.named
            else []
        ),
        f"{h}# {_('Priorities')}",
        "",
    ]
    top = report.top(10)
    out += [f"{line.rank}. {esc(line.title)} — **{line.votes}**" for line in top] or [
        _("No votes yet.")
    ]
    out += ["", f"{h}# {_('Proposals by kind and tag')}", ""]
    for group in report.groups():
        tag = esc(group.tag) if group.tag else _("no tag")
        out += [f"{h}## {labels.kind_group(group.kind)} · {tag}", ""]
        out += [_row(["#", _("Title"), _("Votes"), _("Voters"), *cats])]
        out += [_row(["---:", "---", "---:", "---:", *(["---:"] * len(cats))])]
        for line in group.lines:
            notes = []
            if line.proxy:
                notes.append(f"\\[{_('proxy input')}\\]")
            if line.proxy_votes:
                notes.append(f"\\[{_('proxy votes')}: {line.proxy_votes}\\]")
            if line.merged_from:
                merged = " · ".join(esc(t) for t in line.merged_from)
                notes.append(f"{_('Merged from')}: {merged}")
            title = " ".join([esc(line.title), *notes])
            cells = [labels.cell(v, n) for v in line.by_category]
            out.append(_row([str(line.rank), title, str(line.votes), str(line.voters), *cells]))
        out.append("")
    if report.merged or report.off_wall:
        out += [f"{h}# {_('Posts not on the wall')}", ""]
        if report.merged:
            out.append(f"- {_('merged into another proposal')}: {report.merged}")
        out += [f"- {labels.status(s)}: {c}" for s, c in report.off_wall]
        out += ["", _("Counted, not printed: their text stays with the moderator."), ""]
    out += [f"{h}# " + _("Facilitator's synthesis"), ""]
    out += [_synthesis(report.synthesis) if report.synthesis else _("Not written yet."), ""]
    return out


def _event_head(report: TableReport | EventReport) -> list[str]:
    e = report.event
    where = " · ".join(x for x in (labels.long_date(e.date), esc(e.place), esc(e.organiser)) if x)
    return [where, ""]


def table_md(report: TableReport) -> bytes:
    _ = labels._
    out = [f"*{_('Minutes of the table')} · {esc(report.event.title)}*", "", *_event_head(report)]
    out += _table(report, 1)
    return "\n".join(out).encode()


def event_md(report: EventReport) -> bytes:
    _ = labels._
    n = report.min_group
    out = [f"# {esc(report.event.title)}", "", f"*{_('Synthesis of the event')}*", ""]
    out += _event_head(report)
    out += [
        _("Tables: %(t)s · participants: %(p)s · proposals on the wall: %(n)s · votes: %(v)s")
        % {
            "t": len(report.tables),
            "p": labels.number(report.people_total),
            "n": labels.number(report.proposals),
            "v": labels.number(report.total_votes),
        },
        "",
        f"## {_('Participation by category and table')}",
        "",
    ]
    cats = [esc(labels.category(c)) for c in report.categories]
    out += [_row([_("Table"), *cats, _("Total")]), _row(["---", *(["---:"] * (len(cats) + 1))])]
    for t in report.tables:
        cells = [labels.cell(report.cell(t, c), n) for c in report.categories]
        out.append(_row([esc(t.title), *cells, labels.number(t.people_total)]))
    totals = [labels.cell(v, n) for v in report.people]
    out += [_row([_("Total"), *totals, labels.number(report.people_total)]), ""]
    out += [labels.privacy_note(n), "", f"## {_('Top priorities of each table')}", ""]
    for t in report.tables:
        out += [f"### {esc(t.title)}", ""]
        out += [f"{line.rank}. {esc(line.title)} — **{line.votes}**" for line in t.top(5)] or [
            _("No votes yet.")
        ]
        out.append("")
    for t in report.tables:
        out += _table(t, 2)
    return "\n".join(out).encode()
