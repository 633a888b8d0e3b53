"""The Jinja environment: autoescaped, translated through the request's locale."""

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from app import i18n

TEMPLATE_DIR = Path(__file__).parent / "templates"


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


KIND_LABELS = {"need": N_("Need"), "proposal": N_("Proposal"), "resource": N_("Resource")}


def _kind_label(kind: str) -> str:
    return i18n.gettext(KIND_LABELS.get(kind, kind))


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
        "kind_label": _kind_label,
        "long_date": i18n.long_date,
        "current_locale": i18n.current_locale,
        "KINDS": tuple(KIND_LABELS),
        "HTMX": "vendor/htmx-2.0.11.min.js",
        "HTMX_WS": "vendor/htmx-ext-ws-2.0.4.min.js",
    }
    env.globals.update(globals_)
    env.filters["paragraphs"] = _paragraphs
    return Jinja2Templates(env=env)


templates = build_templates()
