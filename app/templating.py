"""The Jinja environment: autoescaped, translated through the request's locale."""

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from app import i18n
from app.enums import Kind, Outcome, Phase, ScreenMode, Status, VotingMode
from app.i18n import N_ as N_  # re-exported: the templates' labels and the reports mark with it
from app.models import Table
from app.services import duplicates
from app.services.consensus import RANKINGS, RULES, ranking_of, rule_of
from app.services.formats import FORMATS, Format, format_of
from app.services.links import OFFER_LIMIT
from app.services.methods import METHODS, VotingMethod, method_of
from app.services.screen import WALL_PACES
from app.services.similarity import Item
from app.services.state import ProposalView, TableState
from app.services.visibility import tallies_shown

TEMPLATE_DIR = Path(__file__).parent / "templates"


KIND_LABELS: dict[str, str] = {
    Kind.NEED: N_("Need"),
    Kind.PROPOSAL: N_("Proposal"),
    Kind.RESOURCE: N_("Resource"),
}
KIND_GROUPS: dict[str, str] = {
    Kind.NEED: N_("Needs"),
    Kind.PROPOSAL: N_("Proposals"),
    Kind.RESOURCE: N_("Resources"),
}
PHASE_LABELS: dict[str, str] = {
    Phase.PREPARATION: N_("Preparation"),
    Phase.COLLECT: N_("Collecting ideas"),
    Phase.DISCUSSION: N_("Discussion"),
    Phase.VOTING: N_("Voting"),
    Phase.CLOSED: N_("Closed"),
}
PHASE_HINTS: dict[str, str] = {
    Phase.PREPARATION: N_("The table is about to start."),
    Phase.COLLECT: N_("Write needs, proposals and resources."),
    Phase.DISCUSSION: N_("Discussion under way: listen and speak up."),
    Phase.VOTING: N_("Vote for the proposals you see as priorities."),
    Phase.CLOSED: N_("The table is closed. Thank you for taking part!"),
}
SCREEN_LABELS: dict[str, str] = {
    ScreenMode.JOIN: N_("Join"),
    ScreenMode.WALL: N_("Wall"),
    ScreenMode.SPOTLIGHT: N_("Spotlight"),
    ScreenMode.RESULTS: N_("Results"),
    ScreenMode.TIMER: N_("Timer"),
}
OUTCOME_LABELS: dict[str, str] = {
    Outcome.ACCEPTED: N_("Accepted"),
    Outcome.UNDER_REVIEW: N_("Under review"),
    Outcome.REJECTED: N_("Declined"),
    Outcome.DONE: N_("Carried out"),
}


def _label(table: dict[str, str]) -> Callable[[str], str]:
    return lambda key: i18n.gettext(table.get(key, key))


def _phased(
    labels: dict[str, str], worded: Callable[[Format, str], str | None]
) -> Callable[..., str]:
    """A phase's label or hint; given the table, in its format's words where they differ."""

    def label(phase: str, table: Table | None = None) -> str:
        own = worded(format_of(table), phase) if table is not None else None
        return i18n.gettext(own or labels.get(phase, phase))

    return label


def _kind_of(table: Table, kind: str) -> str:
    """What a post is called: its kind, or the one word of a format without kinds."""
    own = format_of(table).words.kind_label
    return i18n.gettext(own or KIND_LABELS.get(kind, kind))


def _shipped() -> tuple[VotingMethod, ...]:
    """The methods a moderator can choose (registered later ones, as the tests', are not)."""
    return tuple(m for m in METHODS.values() if m.key in tuple(VotingMode))


def _weighted(value: float | Fraction) -> str:
    """A weighted tally with one decimal, in the page's language (“2,7”)."""
    return format_decimal(float(value), format="#,##0.0", locale=i18n.current_locale())


def _mmss(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(max(0, seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def _paragraphs(text: str) -> Markup:
    """Line breaks of user text as <br>, the text itself escaped."""
    return Markup("<br>").join(Markup.escape(line) for line in text.split("\n"))


def likely_duplicates(state: TableState) -> list[tuple[ProposalView, ProposalView, float]]:
    """The console's suggestions: the best pairs of the wall worth a look, from the state
    being drawn (its cards and dismissed pairs), through the table's cached index."""
    wall = {p.id: p for p in state.visible}
    pairs = duplicates.ranked(
        state.table.id or 0,
        (Item(p.id, p.kind, p.title, p.body) for p in wall.values()),
        state.event.glossary,
        state.dismissed,
        limit=duplicates.CONSOLE_LIMIT,
        min_score=duplicates.CONSOLE_MIN_SCORE,
    )
    return [(wall[int(p.a)], wall[int(p.b)], p.score) for p in pairs]


def build_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the code: a push renders several, and checking each file's
        # time on every render was a system call per template per push.
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    globals_: dict[str, Any] = {
        "kind_label": _label(KIND_LABELS),
        "group_label": _label(KIND_GROUPS),
        "phase_label": _phased(PHASE_LABELS, Format.phase_label),
        "phase_hint": _phased(PHASE_HINTS, Format.phase_hint),
        "kind_of": _kind_of,
        # The table's format (services/formats.py): its phases and words; the formats offered.
        "table_format": format_of,
        "FORMATS": tuple(FORMATS.values()),
        "screen_label": _label(SCREEN_LABELS),
        "outcome_label": _label(OUTCOME_LABELS),
        "OUTCOMES": tuple(Outcome),
        # The table's voting method (services/methods.py): its words and its template.
        "method": method_of,
        "METHODS": _shipped,
        # The fair counting rules and the rankings (services/consensus.py).
        "RULES": tuple(RULES.values()),
        "RANKINGS": tuple(RANKINGS.values()),
        "rule_of": rule_of,
        "ranking_of": ranking_of,
        "weighted_figure": _weighted,
        "mmss": _mmss,
        "tallies_shown": tallies_shown,
        "likely_duplicates": likely_duplicates,
        "PHASES": tuple(Phase),
        "SCREEN_MODES": tuple(ScreenMode),
        "WALL_PACES": WALL_PACES,
        "Phase": Phase,
        "Kind": Kind,
        "Status": Status,
        "long_date": i18n.long_date,
        "local_moment": i18n.local_moment,
        "current_locale": i18n.current_locale,
        "KINDS": tuple(Kind),
        "OFFER_LIMIT": OFFER_LIMIT,  # a pledge's offer, one line
        "HTMX": "vendor/htmx-2.0.11.min.js",
        "HTMX_WS": "vendor/htmx-ext-ws-2.0.4.min.js",
        "IDIOMORPH": "vendor/idiomorph-ext-0.8.0.min.js",
    }
    env.globals.update(globals_)
    env.filters["paragraphs"] = _paragraphs
    return Jinja2Templates(env=env)


templates = build_templates()
