"""The Jinja environment: autoescaped, translated through the request's locale."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from app import i18n
from app.i18n import N_ as N_  # re-exported: the templates' labels and the reports mark with it
from app.services.visibility import tallies_shown

TEMPLATE_DIR = Path(__file__).parent / "templates"


KIND_LABELS = {"need": N_("Need"), "proposal": N_("Proposal"), "resource": N_("Resource")}
KIND_GROUPS = {"need": N_("Needs"), "proposal": N_("Proposals"), "resource": N_("Resources")}
PHASE_LABELS = {
    "preparation": N_("Preparation"),
    "collect": N_("Collecting ideas"),
    "discussion": N_("Discussion"),
    "voting": N_("Voting"),
    "closed": N_("Closed"),
}
PHASE_HINTS = {
    "preparation": N_("The table is about to start."),
    "collect": N_("Write needs, proposals and resources."),
    "discussion": N_("Discussion under way: listen and speak up."),
    "voting": N_("Vote for the proposals you see as priorities."),
    "closed": N_("The table is closed. Thank you for taking part!"),
}
# One name per voting method, on every page and in every format of the minutes.
VOTING_LABELS = {"approval": N_("Approval voting"), "dots": N_("Dot voting")}
SCREEN_LABELS = {
    "join": N_("Join"),
    "wall": N_("Wall"),
    "spotlight": N_("Spotlight"),
    "results": N_("Results"),
    "timer": N_("Timer"),
}


def _label(table: dict[str, str]) -> Callable[[str], str]:
    return lambda key: i18n.gettext(table.get(key, key))


def _mmss(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(max(0, seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def _paragraphs(text: str) -> Markup:
    """Line breaks of user text as <br>, the text itself escaped."""
    return Markup("<br>").join(Markup.escape(line) for line in text.split("\n"))


def build_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    globals_: dict[str, Any] = {
        "kind_label": _label(KIND_LABELS),
        "group_label": _label(KIND_GROUPS),
        "phase_label": _label(PHASE_LABELS),
        "phase_hint": _label(PHASE_HINTS),
        "screen_label": _label(SCREEN_LABELS),
        "voting_label": _label(VOTING_LABELS),
        "mmss": _mmss,
        "tallies_shown": tallies_shown,
        "PHASES": tuple(PHASE_LABELS),
        "SCREEN_MODES": tuple(SCREEN_LABELS),
        "long_date": i18n.long_date,
        "local_moment": i18n.local_moment,
        "current_locale": i18n.current_locale,
        "KINDS": tuple(KIND_LABELS),
        "HTMX": "vendor/htmx-2.0.11.min.js",
        "HTMX_WS": "vendor/htmx-ext-ws-2.0.4.min.js",
        "IDIOMORPH": "vendor/idiomorph-ext-0.8.0.min.js",
    }
    env.globals.update(globals_)
    env.filters["paragraphs"] = _paragraphs
    return Jinja2Templates(env=env)


templates = build_templates()
