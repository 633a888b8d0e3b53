"""What became of an event's priorities, for the public: the API's JSON and the Atom feed an
association follows (RFC 4287), from one `services.outcomes.FollowUp`.

Both carry the event, the tables' titles and the priorities' titles with their outcomes and
public notes; never a participant, an organisation of a person, a category figure or a
capability link (the page's address is the event's id).
"""

import datetime as dt
from typing import Any
from xml.etree import ElementTree as ET

from app import i18n
from app.services.outcomes import FollowUp
from app.templating import OUTCOME_LABELS

ATOM = "http://www.w3.org/2005/Atom"


def page_path(event_id: int) -> str:
    """The follow-up page's path: public, by the event's id."""
    return f"/esiti/{event_id}"


def feed_path(event_id: int) -> str:
    return f"/esiti/{event_id}/feed.atom"


def _stamp(value: dt.datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def outcomes_json(follow: FollowUp, base: str) -> dict[str, Any]:
    event = follow.event
    return {
        "event": {
            "id": event.id,
            "title": event.title,
            "date": event.date.isoformat(),
            "place": event.place,
            "organiser": event.organiser,
        },
        "url": f"{base}{page_path(event.id or 0)}",
        "feed": f"{base}{feed_path(event.id or 0)}",
        "tables": [
            {
                "id": table.id,
                "title": table.title,
                "question": table.question,
                "priorities": [
                    {
                        "id": p.id,
                        "rank": p.rank or None,
                        "title": p.title,
                        "outcome": _change(p.current) if p.current else None,
                        "history": [_change(c) for c in p.history],
                    }
                    for p in table.priorities
                ],
            }
            for table in follow.tables
        ],
    }


def _change(change: Any) -> dict[str, Any]:
    return {
        "status": change.status,
        "note": change.note,
        "date": change.date.isoformat(),
        "recorded_at": _stamp(change.recorded_at),
    }


def atom(follow: FollowUp, base: str) -> bytes:
    """One entry per recorded outcome, newest first: a change of outcome is a new entry,
    so a reader sees it as news (the page keeps the whole history)."""
    event = follow.event
    page = f"{base}{page_path(event.id or 0)}"
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(
        f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": i18n.current_locale()}
    )
    sub(feed, "id", page)
    sub(feed, "title", i18n.gettext("What became of it: %(event)s") % {"event": event.title})
    sub(feed, "subtitle", i18n.gettext("The outcome of each priority of the event's tables"))
    sub(feed, "updated", _stamp(follow.updated))
    author = sub(feed, "author")
    sub(author, "name", event.organiser or "Tavoli")
    sub(feed, "link", rel="alternate", type="text/html", href=page)
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{page}/feed.atom")
    sub(feed, "generator", "Tavoli")
    for table, priority, change in follow.changes():
        entry = sub(feed, "entry")
        sub(entry, "id", f"{page}#esito-{change.id}")
        label = i18n.gettext(OUTCOME_LABELS.get(change.status, change.status))
        sub(entry, "title", f"{priority.title}: {label}")
        sub(entry, "updated", _stamp(change.recorded_at))
        sub(entry, "link", rel="alternate", type="text/html", href=f"{page}#p-{priority.id}")
        sub(entry, "category", term=change.status, label=label)
        summary = i18n.gettext("%(table)s · %(outcome)s on %(date)s") % {
            "table": table.title,
            "outcome": label,
            "date": i18n.long_date(change.date),
        }
        sub(entry, "summary", f"{summary}. {change.note}" if change.note else summary)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
