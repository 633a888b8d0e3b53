"""Organisation names typed in different ways, unified for the attendance register.

People type their organisation on a phone. The automatic match (`organisation_key`) takes
spaces, case, accents, apostrophes and dots apart ("A.P.S. Il Ponte" is "APS il ponte");
what it cannot know ("Coop. Sociale Il Faro" and "Cooperativa sociale Il Faro") the event's
moderator unifies before the register is filed: each variant, by its key, onto the name
to print. The mapping is stored per event and read by every format of the register
(app/reports/data.py); the register's threshold (rule 7 of docs/privacy.md) applies after
it, so a unified group is shown only with N people or more, like any other.

Who: the event's moderator (the event's page, or the API with the moderator's or the
organiser's token). The coordinator's link stays read-only: it is handed to third parties
(an office, a consultant), and a read-only link that can rewrite the register would no
longer be one.
"""

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.models import Event, Participant, Table
from app.services.errors import Invalid, NotFound
from app.services.text import clean_line

NAME_LIMIT = 200  # as the organisation a participant types
MAX_VARIANTS = 500  # names in one request: more than any event has organisations


def organisation_key(organisation: str) -> str:
    """The automatic match: "Comune di  Baronissi" and "comune di baronissi", "Città di
    Salerno" and "CITTA' DI SALERNO", "A.P.S. Il Ponte" and "APS il ponte" are one group.
    Accents, apostrophes and dots go; other punctuation (dashes, quotes, slashes) separates
    words."""
    letters = unicodedata.normalize("NFKD", organisation.casefold())
    kept = (
        "" if unicodedata.combining(c) or c in ".'’`´" else c if c.isalnum() else " "
        for c in letters
    )
    return " ".join("".join(kept).split())


def canonical(event: Event, organisation: str) -> tuple[str, str]:
    """The key a person's organisation counts under, and the name the moderator gave it
    ("" when it is not unified: the register prints the most typed spelling)."""
    key = organisation_key(organisation)
    name = event.organisation_names.get(key, "")
    return (organisation_key(name), name) if name else (key, "")


@dataclass(frozen=True)
class Variant:
    """One organisation as the automatic match sees it, with every spelling typed."""

    key: str
    spellings: tuple[str, ...]  # as typed (spaces collapsed), the most typed first
    name: str  # the name it is unified onto; "" when it is not


def variants(session: Session, event: Event) -> list[Variant]:
    """The organisations typed at the event's tables (removed people aside: they are in no
    figure), by key, in alphabetical order. No head counts: the page that shows them says
    which organisations were typed, never how many people typed each."""
    rows = session.exec(
        select(Participant.organisation)
        .join(Table, col(Table.id) == Participant.table_id)
        .where(Table.event_id == event.id, col(Participant.removed).is_(False))
    )
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for organisation in rows:
        spelled = " ".join(organisation.split())
        key = organisation_key(spelled)
        if key:
            spellings[key][spelled] += 1
    return [
        Variant(
            key,
            tuple(s for s, _n in sorted(spellings[key].items(), key=lambda x: (-x[1], x[0]))),
            event.organisation_names.get(key, ""),
        )
        for key in sorted(spellings)
    ]


def set_names(session: Session, *, event: Event, names: Mapping[str, str]) -> Event:
    """Replace the event's unified names. `names`: a variant (a spelling as typed, or its
    key) -> the name to print; "" (or the variant's own name) unifies nothing. A name may
    not be itself a variant unified onto another name: one step, so what a reader sees is
    what the page showed."""
    if len(names) > MAX_VARIANTS:
        raise Invalid("Too many organisations in one request", field="names")
    known = {v.key for v in variants(session, event)}
    mapping: dict[str, str] = {}
    for variant, raw in names.items():
        key = organisation_key(variant)
        if key not in known:
            raise Invalid("No participant typed this organisation", field=variant)
        name = clean_line(raw, field=variant, limit=NAME_LIMIT)
        if name:  # onto another name, or its own printed as the moderator spells it
            mapping[key] = name
    for key, name in mapping.items():
        target = organisation_key(name)
        if target in mapping and target != key:
            raise Invalid("“%(name)s” is itself unified onto another name", field=key, name=name)
    fresh = session.get(Event, event.id)
    if fresh is None:
        raise NotFound("No event has this id")
    fresh.organisation_names = mapping
    session.add(fresh)
    session.commit()
    session.refresh(fresh)
    return fresh
