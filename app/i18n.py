"""One message catalogue, Italian first: msgids are English, app/locales/it translates them."""

import datetime as dt
import gettext as gettext_module
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

# The events are Italian: times people read are Rome's, whatever the server's zone.
LOCAL_TIME = ZoneInfo("Europe/Rome")

LOCALES = ("it", "en")
DEFAULT_LOCALE = "it"
LOCALE_DIR = Path(__file__).parent / "locales"

_locale: ContextVar[str] = ContextVar("locale", default=DEFAULT_LOCALE)


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


@lru_cache
def translations(locale: str) -> gettext_module.NullTranslations:
    """Compile the .po file in memory, so there is no build step and no binary in git."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext_module.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def pick_locale(requested: str | None) -> str:
    return requested if requested in LOCALES else DEFAULT_LOCALE


def from_accept_language(header: str | None) -> str | None:
    """The first of our locales the browser asks for (`en-GB,en;q=0.9,it;q=0.8` gives "en"),
    by quality then order; None when it asks for none of them."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if language in LOCALES and quality > 0:
            candidate = (-quality, position, language)
            if best is None or candidate < best:
                best = candidate
    return best[2] if best else None


def choose_locale(*, query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """`?lang=` first, then the remembered choice (cookie), then the browser's languages;
    Italian for everything else."""
    for requested in (query, cookie):
        if requested in LOCALES:
            return requested
    return from_accept_language(accept_language) or DEFAULT_LOCALE


def current_locale() -> str:
    return _locale.get()


@contextmanager
def using_locale(locale: str) -> Iterator[None]:
    token = _locale.set(pick_locale(locale))
    try:
        yield
    finally:
        _locale.reset(token)


def gettext(message: str) -> str:
    return translations(_locale.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_locale.get()).ngettext(singular, plural, n)


def long_date(value: dt.date) -> str:
    return format_date(value, format="full", locale=_locale.get())


def _aware(value: dt.datetime) -> dt.datetime:
    """Stored times are UTC; SQLite gives them back naive."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def local_clock(value: dt.datetime) -> str:
    """“14:32”: the time in Rome."""
    return format_time(_aware(value).astimezone(LOCAL_TIME), format="short", locale=_locale.get())


def local_moment(value: dt.datetime) -> str:
    """“lunedì 7 dicembre 2026, 03:39”: a day and a time in Rome, in words."""
    local = _aware(value).astimezone(LOCAL_TIME)
    return f"{long_date(local.date())}, {local_clock(value)}"
