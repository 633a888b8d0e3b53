"""Words and numbers of the reports, in the current locale (Italian unless asked otherwise)."""

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_time
from babel.numbers import format_decimal

from app import i18n
from app.reports.data import Line, Named
from app.reports.privacy import Cell, Withheld
from app.templating import KIND_GROUPS, KIND_LABELS, N_, PHASE_LABELS

# Events happen in Italy; timestamps are stored in UTC.
LOCAL_TIME = ZoneInfo("Europe/Rome")

STATUS_LABELS = {
    "hidden": N_("hidden by the moderator"),
    "rejected": N_("rejected"),
    "pending": N_("waiting for approval"),
    "rephrase": N_("sent back to rephrase"),
    "withdrawn": N_("withdrawn by the author"),
}


def _(message: str) -> str:
    return i18n.gettext(message)


def kind(value: str) -> str:
    return _(KIND_LABELS.get(value, value))


def kind_group(value: str) -> str:
    return _(KIND_GROUPS.get(value, value))


def phase(value: str) -> str:
    return _(PHASE_LABELS.get(value, value))


def status(value: str) -> str:
    return _(STATUS_LABELS.get(value, value))


def category(value: str) -> str:
    return value or _("Not stated")


def cell(value: Cell, min_group: int) -> str:
    """The same marks in every format for a figure not shown."""
    if isinstance(value, int):
        return number(value)
    return mark(value, min_group)


def mark(value: Withheld | None, min_group: int) -> str:
    return f"< {min_group}" if value is None else value.value


def line_details(line: Line, mode: str, categories: tuple[str, ...], min_group: int) -> str:
    """What follows a proposal's title in the PDF, one item a line (the paragraph keeps
    line breaks): WeasyPrint lays out plain text far faster than nested inline elements."""
    head = f" — {tally(mode, line.votes)} · {_('Voters')}: {number(line.voters)}"
    if line.proxy:
        head += f" · [{_('proxy input')}]"
    if line.proxy_votes:
        head += f" · [{_('proxy votes')}: {line.proxy_votes}]"
    rows = [head]
    if line.body:
        rows.append(" ".join(line.body.split()))
    if len(line.tags) > 1:
        rows.append(f"{_('Tags')}: {', '.join(line.tags)}")
    if line.merged_from:
        rows.append(f"{_('Merged from')}: {' · '.join(line.merged_from)}")
    by = breakdown(line, categories, min_group)
    if by:
        rows.append(by)
    return "\n".join(rows)


def breakdown(line: Line, categories: tuple[str, ...], min_group: int) -> str:
    """A proposal's votes by category in words, for the PDF: the categories shown by name,
    then the hidden ones as one figure (the total minus the shown ones, so it tells
    nothing that the row does not already)."""
    shown = [
        (c, v) for c, v in zip(categories, line.by_category, strict=True) if isinstance(v, int)
    ]
    parts = [f"{category(c)} {number(v)}" for c, v in shown if v]
    hidden = line.votes - sum(v for _c, v in shown)
    if hidden and len(shown) < len(categories):
        other = _("other categories")
        parts.append(f"{other} {number(hidden)}")
    return " · ".join(parts)


def raw_cell(value: Cell, min_group: int) -> int | str:
    """For machine formats: the number itself, or the mark."""
    return value if isinstance(value, int) else mark(value, min_group)


def number(value: int | float) -> str:
    return format_decimal(value, locale=i18n.current_locale())


def long_date(value: dt.date) -> str:
    return i18n.long_date(value)


def clock(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return format_time(value.astimezone(LOCAL_TIME), format="short", locale=i18n.current_locale())


def voting(mode: str, dots: int, cap: int) -> str:
    if mode == "dots":
        return _("Dots: %(dots)s each, at most %(cap)s on one proposal") % {
            "dots": dots,
            "cap": cap,
        }
    return _("Approval voting")


def tally(mode: str, count: int) -> str:
    """“12 voti” or “12 bollini”: approvals and dots are different units, never added up."""
    word = (
        i18n.ngettext("dot", "dots", count)
        if mode == "dots"
        else i18n.ngettext("vote", "votes", count)
    )
    return f"{number(count)} {word}"


def votes_heading(mode: str) -> str:
    """The heading of a votes column: “Voti”, or “Bollini” in a dot-voting table."""
    return _("Dots") if mode == "dots" else _("Votes")


def totals(by_mode: dict[str, int]) -> str:
    """An event's votes, one figure per unit: “207 voti · 114 bollini”."""
    return " · ".join(tally(mode, n) for mode, n in by_mode.items()) or tally("approval", 0)


def privacy_note(min_group: int) -> str:
    return _(
        "“< %(n)s”: a stakeholder category with fewer than %(n)s people; its figures are "
        "not shown so that nobody can be singled out. “*”: a figure withheld as well, so "
        "that a “< %(n)s” one cannot be worked out from the totals."
    ) % {"n": min_group}


def named(people: tuple[Named, ...]) -> str:
    """Those who consented to be named: «Name (Organisation)», one after the other."""
    return "; ".join(f"{p.name} ({p.organisation})" if p.organisation else p.name for p in people)
