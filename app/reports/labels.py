"""Words and numbers of the reports, in the current locale (Italian unless asked otherwise)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from babel.dates import format_time
from babel.numbers import format_decimal

from app import i18n
from app.enums import Kind, Status, VotingMode
from app.reports.data import (
    ConsensusGroup,
    EventInfo,
    EventReport,
    GroupSupport,
    Line,
    Named,
    Organisation,
    PledgeLine,
    TableReport,
)
from app.reports.privacy import WITHHELD, Cell, Withheld
from app.services.consensus import ranking_of, rule_of
from app.services.formats import FORMATS
from app.services.methods import METHODS, SUPPORT, of_mode
from app.templating import KIND_GROUPS, KIND_LABELS, N_, PHASE_LABELS

# Events happen in Italy; timestamps are stored in UTC.
LOCAL_TIME = ZoneInfo("Europe/Rome")

STATUS_LABELS: dict[str, str] = {
    Status.HIDDEN: N_("hidden by the moderator"),
    Status.REJECTED: N_("rejected"),
    Status.PENDING: N_("waiting for approval"),
    Status.REPHRASE: N_("sent back to rephrase"),
    Status.WITHDRAWN: N_("withdrawn by the author"),
}


def _(message: str) -> str:
    return i18n.gettext(message)


def kind(value: str) -> str:
    return _(KIND_LABELS.get(value, value))


def kind_group(value: str) -> str:
    return _(KIND_GROUPS.get(value, value))


def phase(value: str, format: str = "") -> str:
    """A phase's name; given the table's format, in its words (a Q&A table's live phase is
    "Domande aperte", not "Raccolta idee")."""
    found = FORMATS.get(format)
    own = found.phase_label(value) if found else None
    return _(own or PHASE_LABELS.get(value, value))


def status(value: str) -> str:
    return _(STATUS_LABELS.get(value, value))


def off_wall(status: str, count: int) -> str:
    """“rifiutati: 3”, “rifiutato: 1”: a kind of post not on the wall, with how many."""
    n = {"num": number(count)}
    ngettext = i18n.ngettext
    if status == Status.MERGED:
        text = ngettext(
            "merged into another proposal: %(num)s", "merged into other proposals: %(num)s", count
        )
    elif status == Status.HIDDEN:
        text = ngettext(
            "hidden by the moderator: %(num)s", "hidden by the moderator: %(num)s", count
        )
    elif status == Status.REJECTED:
        text = ngettext("rejected: %(num)s", "rejected: %(num)s", count)
    elif status == Status.PENDING:
        text = ngettext("waiting for approval: %(num)s", "waiting for approval: %(num)s", count)
    elif status == Status.REPHRASE:
        text = ngettext("sent back to rephrase: %(num)s", "sent back to rephrase: %(num)s", count)
    elif status == Status.WITHDRAWN:
        text = ngettext(
            "withdrawn by the author: %(num)s", "withdrawn by the author: %(num)s", count
        )
    else:
        return f"{status}: {n['num']}"
    return text % n


def off_wall_lines(report: TableReport) -> list[str]:
    """The posts counted but not printed, one line per kind (merged first)."""
    merged = [("merged", report.merged)] if report.merged else []
    return [off_wall(s, c) for s, c in (*merged, *report.off_wall)]


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
    head = f" — {tally(mode, line.votes)} · {_('Voters')}: {number(line.voters)} · {numbered(line)}"
    if line.proxy:
        head += f" · [{_('proxy input')}]"
    if shown_proxy_votes(line):
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


def dissent_count(count: int) -> str:
    """“3 non sono d'accordo”: a proposal's dissent in the minutes."""
    return i18n.ngettext("%(num)s disagrees", "%(num)s disagree", count) % {"num": number(count)}


def dissent_breakdown(line: Line, categories: tuple[str, ...], min_group: int) -> str:
    """A proposal's dissenters by category, as `breakdown` prints its votes: the printed
    categories by name, the hidden ones as one figure. "" in a draft (no categories)."""
    if not categories or not line.dissent_by_category:
        return ""
    shown = [
        (c, v)
        for c, v in zip(categories, line.dissent_by_category, strict=True)
        if isinstance(v, int)
    ]
    parts = [f"{category(c)} {number(v)}" for c, v in shown if v]
    hidden = line.dissent - sum(v for _c, v in shown)
    if hidden and len(shown) < len(categories):
        parts.append(f"{_('other categories')} {number(hidden)}")
    return " · ".join(parts)


def dissent_note() -> str:
    """What the dissent section says once, in every format."""
    return _(
        "Participants could say they disagree with a proposal, with an optional reason. "
        "Disagreement changes no vote. Reasons are printed without names, only those the "
        "moderator accepted; by category only where the minutes print categories."
    )


def shown_proxy_votes(line: Line) -> bool:
    """The proxy votes are printed next to a title when they are a figure and not 0."""
    return isinstance(line.proxy_votes, int) and line.proxy_votes > 0


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


def moment(value: dt.datetime) -> str:
    """A step of the timeline: “sabato 9 novembre 2024, 10:15”."""
    return f"{long_date(value.astimezone(LOCAL_TIME).date())}, {clock(value)}"


def numbered(line: Line) -> str:
    """A proposal's number, the one its card shows on the wall: “n. 12”."""
    return _("No. %(num)s") % {"num": line.number}


def voting_name(mode: str) -> str:
    """The method's one name, shared with every page: “Voto per approvazione”, “Bollini”."""
    method = METHODS.get(mode)
    return method.name() if method else mode


def voting(mode: str, dots: int, cap: int) -> str:
    return of_mode(mode).described(dots, cap)


# --- Questions and answers (services/formats.py) ---------------------------------------------


def format_name(key: str) -> str:
    """“Domande e risposte”: how the table ran."""
    found = FORMATS.get(key)
    return found.name() if found else key


def supports(count: int) -> str:
    """“12 sostegni”: a question's support."""
    return f"{number(count)} {SUPPORT.unit(count)}"


def supports_heading() -> str:
    return SUPPORT.heading()


def answer(line: Line) -> str:
    """“Risposta data: <note>”, “Risposta data”, or “Senza risposta”."""
    if not line.answered:
        return _("Not answered")
    if line.answer_note:
        return _("Answered: %(note)s") % {"note": line.answer_note}
    return _("Answered")


def asked_by(line: Line) -> str:
    """“posta da Maria Rossi” where its author consented to be named, else “anonima”."""
    return _("asked by %(name)s") % {"name": line.asker} if line.asker else _("anonymous")


def counted(report: TableReport, count: int) -> str:
    """A line's votes in its table's unit: “12 voti”, “12 bollini”, or a Q&A table's
    “12 sostegni”."""
    return supports(count) if report.questions else tally(report.voting_mode, count)


def how_voted(report: TableReport) -> tuple[str, str]:
    """(heading, words) of how a table chose: its voting method, or its format (Q&A)."""
    if report.questions:
        return _("Format"), format_name(report.format)
    return _("Voting"), voting(report.voting_mode, report.dots, report.max_per_proposal)


def question_details(line: Line, categories: tuple[str, ...], min_group: int) -> str:
    """What follows a question's title in the PDF, one item a line (as `line_details`)."""
    rows = [f" — {supports(line.votes)} · {asked_by(line)} · {numbered(line)}", answer(line)]
    if line.body:
        rows.append(" ".join(line.body.split()))
    if line.merged_from:
        rows.append(f"{_('Merged from')}: {' · '.join(line.merged_from)}")
    by = breakdown(line, categories, min_group)
    if by:
        rows.append(by)
    return "\n".join(rows)


def questions_note(report: TableReport) -> str:
    """“12 domande, 5 con risposta · 340 sostegni”."""
    return _("%(questions)s questions, %(answered)s answered · %(supports)s") % {
        "questions": number(report.proposals),
        "answered": number(report.answered),
        "supports": supports(report.total_votes),
    }


def tied_after(count: int) -> str:
    """After a priority list cut inside a tie: the proposals of that rank not listed."""
    return i18n.ngettext(
        "and %(num)s more proposal with the same votes",
        "and %(num)s more proposals with the same votes",
        count,
    ) % {"num": number(count)}


def tally(mode: str, count: int) -> str:
    """“12 voti” or “12 bollini”: approvals and dots are different units, never added up."""
    return f"{number(count)} {of_mode(mode).unit(count)}"


def votes_heading(mode: str) -> str:
    """The heading of a votes column: “Voti”, or “Bollini” in a dot-voting table."""
    return of_mode(mode).heading()


def totals(by_mode: dict[str, int]) -> str:
    """An event's votes, one figure per unit: “207 voti · 114 bollini”."""
    return " · ".join(tally(mode, n) for mode, n in by_mode.items()) or tally(
        VotingMode.APPROVAL, 0
    )


def privacy_note(min_group: int) -> str:
    return _(
        "“< %(n)s”: a stakeholder category with fewer than %(n)s people; its figures are "
        "not shown so that nobody can be singled out. “*”: a figure withheld as well, so "
        "that a “< %(n)s” one cannot be worked out from the totals."
    ) % {"n": min_group}


def draft() -> str:
    return _("draft")


def provisional(report: TableReport) -> str:
    """A table in the event's synthesis: “Tutela minori (provvisorio)” while it runs."""
    return f"{report.title} ({_('provisional')})" if report.draft else report.title


def titled(title: str, report: TableReport | EventReport) -> str:
    """A heading, marked “(bozza)” while the table (or a table of the event) runs."""
    return f"{title} ({draft()})" if report.draft else title


def withheld_note(report: TableReport) -> str:
    """Why a table's minutes give no figure by category (empty when they give them)."""
    n = {"n": report.min_group}
    notes = {
        "draft": _(
            "Draft: the table is still running. Figures by category are given only in the "
            "final minutes, once the table is closed; a draft gives totals only, so that two "
            "downloads cannot be compared to tell how someone voted."
        ),
        "event": _(
            "Figures by category are given once every table of the event is closed: the "
            "event's totals and the tables' figures protect each other's small groups, so "
            "none is printed before all of them are known."
        ),
        "changed": _(
            "The event's tables changed after all of them had been closed (one was reopened "
            "or added): figures by category are not given, so that two versions of the final "
            "minutes cannot be compared."
        ),
        "reopened": _(
            "The table was reopened after it had been closed: figures by category are not "
            "given, so that two versions of the final minutes cannot be compared."
        ),
        "others": _(
            "Figures by category are withheld so that the small groups of the event's other "
            "tables cannot be worked out from the event's totals: only totals are given."
        ),
        "few": _(
            "Too few people in the categories of this table to give figures by category "
            "without singling someone out (each figure must mix at least %(n)s people): "
            "only totals are given."
        )
        % n,
    }
    parts = [notes[report.withheld]] if report.withheld else []
    if report.named_withheld:
        parts.append(
            _("Fewer than %(n)s people took part: nobody is named next to their votes.") % n
        )
    return " ".join(parts)


def paper_note(report: TableReport) -> str:
    return _(
        "Of whom on paper (input typed by the moderator): %(n)s. Removed by the moderator, "
        "not counted: %(m)s."
    ) % {"n": cell(report.paper, report.min_group), "m": report.removed}


def event_totals_note(report: EventReport) -> str:
    """Under the event's participation table: what its category totals count."""
    text = _(
        "Category totals add up every table closed with at least %(n)s people, those that "
        "show “*” in every category too; a figure or a total is “*” where a small group "
        "could otherwise be worked out by subtraction. Tables still running, reopened or "
        "of fewer than %(n)s people are not in the category totals."
    ) % {"n": report.min_group}
    if report.draft:
        text = _("Draft: some tables are still running.") + " " + text
    return text


def privacy_line(event: EventInfo, text: Callable[[str], str] = str) -> str:
    """The one line every minutes format gives on the event's privacy notice (art. 13
    GDPR), then where the public follows what became of the priorities: that page keeps
    no personal data and outlives the erasure (services/outcomes.py)."""
    line = _privacy_line(event, text)
    return f"{line} {followup_line(event)}" if event.followup else line


def followup_line(event: EventInfo) -> str:
    """Where the public follows what became of the priorities (services/outcomes.py)."""
    text = _("What became of the priorities is published, with no personal data, at %(url)s.")
    return text % {"url": event.followup}


def _privacy_line(event: EventInfo, text: Callable[[str], str] = str) -> str:
    """The one line every minutes format gives on the event's privacy notice (art. 13
    GDPR): its controller and DPO when the organiser filled it, else that Tavoli's default
    notice applies; and the day the participants' personal data are erased. `text` escapes
    what the organiser typed (Markdown)."""
    # As the notice's own page says it: "dal sabato 8 febbraio 2025" (the weekday also
    # spares Italian its "dall'8").
    date = long_date(event.erase_after)
    if not event.notice_filled:
        return _(
            "Privacy notice: Tavoli's default text; participants' personal data are erased "
            "from %(date)s."
        ) % {"date": date}
    values = {"controller": text(event.controller), "date": date}
    dpo = event.dpo or event.dpo_contact
    if not dpo:
        return (
            _(
                "Privacy notice (art. 13 GDPR): data controller %(controller)s. Participants' "
                "personal data are erased from %(date)s."
            )
            % values
        )
    if event.dpo and event.dpo_contact:
        values |= {"dpo": text(event.dpo), "dpo_contact": text(event.dpo_contact)}
        return (
            _(
                "Privacy notice (art. 13 GDPR): data controller %(controller)s; data protection "
                "officer %(dpo)s (%(dpo_contact)s). Participants' personal data are erased "
                "from %(date)s."
            )
            % values
        )
    values |= {"dpo": text(dpo)}
    return (
        _(
            "Privacy notice (art. 13 GDPR): data controller %(controller)s; data protection "
            "officer %(dpo)s. Participants' personal data are erased from %(date)s."
        )
        % values
    )


# --- the attendance register (foglio presenze) ----------------------------------------------


def register_note(report: TableReport) -> str:
    """Who is present, and why names and organisations are given or not."""
    values = {"n": number(report.people_total), "named": number(len(report.named))}
    values["min"] = str(report.min_group)
    if report.register_withheld == "draft":
        text = _(
            "Draft: names and organisations are given in the final minutes, once the table "
            "is closed. People present: %(n)s."
        )
    elif report.register_withheld == "reopened":
        text = _(
            "The table was reopened after it had been closed: names and organisations are "
            "not given, so that two versions of the final minutes cannot be compared. People "
            "present: %(n)s."
        )
    elif report.register_withheld == "few":
        text = _("Fewer than %(min)s people took part: nobody is named. People present: %(n)s.")
    else:
        text = _(
            "People present: %(n)s; named with their consent: %(named)s. The others are "
            "counted, never listed."
        )
    return text % values


def event_register_note(report: EventReport) -> str:
    values = {
        "n": number(report.registered),
        "total": number(report.people_total),
        "named": number(len(report.named)),
    }
    return (
        _(
            "People at the tables whose final minutes give a register: %(n)s of %(total)s; "
            "named with their consent: %(named)s. The others are counted, never listed."
        )
        % values
    )


def organisations_note(min_group: int) -> str:
    return _(
        "An organisation is counted on its own only with at least %(n)s people, of whom those "
        "not named are none or at least %(n)s; everyone else is counted together, so that "
        "nobody can be singled out."
    ) % {"n": min_group}


def event_organisations_note(min_group: int) -> str:
    return _(
        "Each figure adds up the tables whose own register counts the organisation (at least "
        "%(n)s people there): it tells nothing the tables' minutes do not."
    ) % {"n": min_group}


def other_organisations(min_group: int) -> str:
    return _("Other organisations (fewer than %(n)s people each) or none stated") % {"n": min_group}


def no_organisation_groups(min_group: int) -> str:
    return _("No organisation is counted on its own: none had %(n)s people or more.") % {
        "n": min_group
    }


def organisation_rows(
    groups: tuple[Organisation, ...], others: int, min_group: int
) -> list[tuple[str, int]]:
    """The register's rows by organisation, the others last (when there are any)."""
    rows = [(o.name, o.people) for o in groups]
    if others and groups:
        rows.append((other_organisations(min_group), others))
    return rows


def named_category(person: Named) -> str:
    """A named person's category, blank where the minutes do not print it."""
    return "" if person.category is None else category(person.category)


def named_header(*, with_table: bool) -> list[str]:
    """The columns of the named people in the register, in every format."""
    header = [_("Name"), _("Organisation"), _("Stakeholder category")]
    return [*header, _("Table")] if with_table else header


def named_cells(person: Named, *, with_table: bool, blank: str = "—") -> list[str]:
    """A named person's row under `named_header`; `blank` fills what is not known."""
    cells = [person.name, person.organisation or blank, named_category(person) or blank]
    return [*cells, person.table] if with_table else cells


# --- the closing block (documento di sintesi) ------------------------------------------------

BLANK = "_" * 28  # a line to fill in by hand


@dataclass(frozen=True)
class Closing:
    """The end of the minutes, shaped for the co-programming procedure (DM 72/2021): who
    led the work, when it was approved, and the responsible officer's signature."""

    lines: tuple[tuple[str, str], ...]  # (label, value); BLANK where it is filled by hand
    note: str  # why a line is blank (a draft), or ""
    signatory: str
    signature: tuple[tuple[str, str], ...]


def _signature() -> tuple[str, tuple[tuple[str, str], ...]]:
    return _("The person responsible for the procedure"), (
        (_("Name"), BLANK),
        (_("Signature"), BLANK),
    )


def table_closing(report: TableReport) -> Closing:
    # Tavoli records when a table closed, not that its people approved the minutes: the
    # date of approval is left to fill by whoever has the table approve them.
    approved = BLANK
    note = (
        _("Draft: the table is still running; it is approved once closed.") if report.draft else ""
    )
    signatory, signature = _signature()
    return Closing(
        lines=(
            (_("Facilitated by"), report.facilitator or BLANK),
            (_("Approved by the table on"), approved),
        ),
        note=note,
        signatory=signatory,
        signature=signature,
    )


def event_closing(report: EventReport) -> Closing:
    e = report.event
    lines = [(_("Organised by"), e.organiser or BLANK), (_("Date of the event"), long_date(e.date))]
    if e.place:
        lines.append((_("Place"), e.place))
    tables = i18n.ngettext(
        "the minutes of %(num)s table follow",
        "the minutes of %(num)s tables follow",
        len(report.tables),
    ) % {"num": number(len(report.tables))}
    lines.append((_("Annexes"), tables))
    signatory, signature = _signature()
    return Closing(
        lines=tuple(lines),
        note=_("Draft: some tables are still running.") if report.draft else "",
        signatory=signatory,
        signature=signature,
    )


# --- consensus across categories and the fair counting rule (services/consensus.py) ---------


def rule_name(weighting: str) -> str:
    """“Una persona, un voto”: the table's fair counting rule, named in the minutes' head."""
    return _(rule_of(weighting).label)


def rule_explained(weighting: str) -> str:
    return _(rule_of(weighting).explanation)


def ranking_name(key: str) -> str:
    """“per voti”, “per consenso trasversale”, “per voti ponderati”."""
    return _(ranking_of(key).label)


def weighted(value: float) -> str:
    """A weighted tally, with one decimal (“2,7”)."""
    return format_decimal(value, format="#,##0.0", locale=i18n.current_locale())


def score(value: float | None) -> str:
    return (
        "—"
        if value is None
        else format_decimal(value, format="0.000", locale=i18n.current_locale())
    )


def percent(share: float) -> str:
    return format_decimal(round(100 * share), locale=i18n.current_locale()) + "%"


def group_name(group: ConsensusGroup) -> str:
    if group.kind == "others":
        return _("Other categories")
    if group.kind == "none":
        return _("No category")
    return group.category


def support_cell(group: ConsensusGroup, support: GroupSupport, min_group: int) -> str:
    """“3 su 4 (75%)”, or the mark when the group's figures are withheld."""
    if not isinstance(group.voters, int) or not isinstance(support.supporters, int):
        return mark(WITHHELD, min_group)
    return _("%(a)s of %(n)s (%(pct)s)") % {
        "a": number(support.supporters),
        "n": number(group.voters),
        "pct": percent(support.share or 0.0),
    }


def consensus_formula(min_group: int) -> str:
    return _(
        "How the consensus across categories is computed: for each proposal and each group "
        "(a category with at least %(n)s voters; the smaller ones together as “Other "
        "categories” when they reach %(n)s), the support is the share of the group's voters who "
        "gave it at least one vote, smoothed as (supporters + ½) / (voters + 1) so that no "
        "group counts as zero or as everyone; the bridging score is the geometric mean of "
        "these supports over the groups, so a proposal ranks high only if every group "
        "backs it, and a group that ignores it weighs as much as one that loves it. Ties go "
        "to the proposal with more votes, then to the lower number."
    ) % {"n": number(min_group)}


def fallback_formula() -> str:
    return _(
        "Without two groups to compare, the minutes give the pairwise-disagreement score "
        "instead: b = 4/n² · Σ d(j,k), summed over every pair of people who voted for the "
        "proposal, where n is the number of voters and d(j,k) the share of the other "
        "proposals on which the two chose differently. It is high when a proposal is backed "
        "by people who otherwise disagree."
    )


@dataclass(frozen=True)
class Para:
    """A paragraph of a section drawn the same way by every narrative format."""

    text: str
    note: bool = False


@dataclass(frozen=True)
class Grid:
    """A table of a section: headers, which columns are figures, widths in cm (Word)."""

    header: tuple[str, ...]
    numeric: tuple[bool, ...]
    widths: tuple[float, ...]
    rows: tuple[tuple[str, ...], ...]


def rule_line(report: TableReport) -> str:
    """The rule named in the head, and explained in one sentence."""
    return f"{rule_name(report.weighting)}: {rule_explained(report.weighting)}"


def consensus_blocks(report: TableReport) -> list[Para | Grid]:
    """The section “Rankings and consensus”, for the HTML (and PDF), Markdown and Word."""
    blocks: list[Para | Grid] = [
        Para(_("Counting rule: %(rule)s") % {"rule": rule_line(report)}),
        Para(_("Ranking adopted by the table: %(name)s.") % {"name": ranking_name(report.ranking)}),
    ]
    mode = report.voting_mode
    by_weight = {pid: i for i, pid in enumerate((report.rankings or {}).get("weighted") or (), 1)}
    blocks.append(Para(_("Ranking by votes, with the weighted votes under the counting rule:")))
    blocks.append(
        Grid(
            (
                _("Rank"),
                _("No."),
                _("Title"),
                votes_heading(mode),
                _("Weighted"),
                _("Weighted rank"),
            ),
            (True, True, False, True, True, True),
            (1.2, 1.3, 8.0, 1.8, 2.0, 2.2),
            tuple(
                (
                    str(line.rank),
                    str(line.number),
                    line.title,
                    number(line.votes),
                    weighted(line.weighted),
                    str(by_weight.get(line.id, "—")),
                )
                for line in report.ranked("tally")
            ),
        )
    )
    if not report.consensus:
        blocks.append(
            Para(
                _(
                    "The consensus across categories is given only in the final minutes, "
                    "where the figures by category are printed."
                ),
                note=True,
            )
        )
        return blocks
    groups = report.consensus_groups
    bridged = report.ranked("bridging")
    if bridged:
        blocks.append(
            Para(_("Ranking by consensus across categories, with the support in each group:"))
        )
        blocks.append(
            Grid(
                (
                    _("Rank"),
                    _("No."),
                    _("Title"),
                    *(group_name(g) for g in groups),
                    _("Bridging score"),
                ),
                (True, True, False, *(True for _g in groups), True),
                (1.2, 1.3, 5.5, *(2.4 for _g in groups), 2.0),
                tuple(
                    (
                        str(position),
                        str(line.number),
                        line.title,
                        *(
                            support_cell(g, s, report.min_group)
                            for g, s in zip(groups, line.support, strict=True)
                        ),
                        score(line.bridging),
                    )
                    for position, line in enumerate(bridged, 1)
                ),
            )
        )
        blocks.append(Para(consensus_formula(report.min_group), note=True))
    else:
        blocks.append(Para(_(report.bridging_reason)))
        blocks.append(
            Grid(
                (_("No."), _("Title"), *(group_name(g) for g in groups), _("Disagreement score")),
                (True, False, *(True for _g in groups), True),
                (1.3, 8.0, *(2.4 for _g in groups), 2.4),
                tuple(
                    (
                        str(line.number),
                        line.title,
                        *(
                            support_cell(g, s, report.min_group)
                            for g, s in zip(groups, line.support, strict=True)
                        ),
                        score(line.disagreement),
                    )
                    for line in report.ranked("tally")
                ),
            )
        )
        blocks.append(Para(fallback_formula(), note=True))
    if report.left_out:
        blocks.append(
            Para(
                i18n.ngettext(
                    "%(num)s voter belongs to categories too small to count, even together: "
                    "left out of the score.",
                    "%(num)s voters belong to categories too small to count, even together: "
                    "left out of the score.",
                    report.left_out,
                )
                % {"num": number(report.left_out)},
                note=True,
            )
        )
    return blocks


def timeline_rows(report: TableReport) -> list[tuple[str, str]]:
    """The table's timeline, oldest first: every phase change and every choice of the
    ranking shown (the console's, logged as the table's decision)."""
    moments = [(s.at, phase(s.phase, report.format)) for s in report.timeline] + [
        (c.at, _("Ranking shown: %(name)s") % {"name": ranking_name(c.ranking)})
        for c in report.ranking_steps
    ]
    return [(moment(at), text) for at, text in sorted(moments, key=lambda m: m[0])]


# --- needs → actions → resources --------------------------------------------------------------


def chain_note() -> str:
    return _(
        "Each need, the proposals (actions) that answer it with their votes, and the "
        "resources organisations pledged to each. A pledge is the organisation's public "
        "offer; no person is named."
    )


def unanswered() -> str:
    """The flag of a need no proposal answers."""
    return _("No action answers this need")


def unanswered_heading() -> str:
    return _("Needs that no action answers")


def unlinked_heading() -> str:
    return _("Proposals that answer no need")


def need_head(line: Line, mode: str) -> str:
    """“Bisogno n. 3 · Trasporti per le frazioni (4 voti)”."""
    return _("Need %(num)s: %(title)s (%(votes)s)") % {
        "num": numbered(line),
        "title": line.title,
        "votes": tally(mode, line.votes),
    }


def action_text(line: Line, mode: str) -> str:
    """“n. 7 · Navetta sociale a chiamata — 12 voti (1°)”."""
    return _("%(num)s · %(title)s — %(votes)s, rank %(rank)s") % {
        "num": numbered(line),
        "title": line.title,
        "votes": tally(mode, line.votes),
        "rank": line.rank,
    }


def pledge_text(pledge: PledgeLine, resource: Line) -> str:
    """“Parrocchia San Michele: il pulmino il martedì (risorsa n. 12)”."""
    who = pledge.organisation or _("organisation not stated")
    return _("%(organisation)s: %(offer)s (resource %(num)s)") % {
        "organisation": who,
        "offer": pledge.offer,
        "num": numbered(resource),
    }


def chain_cell(line: Line, report: TableReport) -> str:
    """The spreadsheet's and the CSV's one cell of the chain, by kind: the needs a proposal
    answers, the actions proposed for a need (or the flag), what a resource is pledged to."""
    by_id = {other.id: other for other in report.lines}
    if line.kind == Kind.PROPOSAL:
        return ", ".join(numbered(by_id[n]) for n in line.answers if n in by_id)
    if line.kind == Kind.NEED:
        actions = [other for other in report.lines if line.id in other.answers]
        return ", ".join(numbered(a) for a in actions) or unanswered().upper()
    return ", ".join(numbered(by_id[p.proposal]) for p in line.pledges if p.proposal in by_id)


def pledges_cell(line: Line, report: TableReport) -> str:
    """A proposal's pledges received, or a resource's made: “organisation: offer”."""
    if line.kind == Kind.PROPOSAL:
        pairs = report.pledges_to(line.id)
    else:
        by_id = {other.id: other for other in report.lines}
        pairs = [(p, line) for p in line.pledges if p.proposal in by_id]
    return " | ".join(
        f"{p.organisation or _('organisation not stated')}: {p.offer}" for p, _r in pairs
    )
