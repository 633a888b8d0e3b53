"""JSON open data: the report as plain values, with the schema name and version.

Schema `tavoli.report/1` (one table or a whole event) is docs/report-schema.json.
A by-category cell is a count, "< N" (a category with fewer than N people) or "*" (a
figure withheld so that a "< N" one cannot be worked out from the totals).
"""

import datetime as dt
import json
from typing import Any

from app.reports.data import EventInfo, EventReport, TableReport
from app.reports.labels import raw_cell

SCHEMA = "tavoli.report/1"


def _time(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value else None


def table_data(report: TableReport) -> dict[str, Any]:
    n = report.min_group
    cats = report.categories
    return {
        "code": report.code,
        "title": report.title,
        "question": report.question,
        "facilitator": report.facilitator,
        "voting": {
            "mode": report.voting_mode,
            "dots": report.dots,
            "max_per_proposal": report.max_per_proposal,
        },
        "format": report.format,
        "phase": report.phase,
        "draft": report.draft,
        "breakdown_withheld": report.withheld or None,
        "start": _time(report.start),
        "end": _time(report.end),
        "timeline": [{"phase": s.phase, "at": _time(s.at)} for s in report.timeline],
        "categories": list(cats),
        "participants": {
            "total": report.people_total,
            "paper": raw_cell(report.paper, n),
            "removed": report.removed,
            "by_category": {c: raw_cell(v, n) for c, v in zip(cats, report.people, strict=True)},
            "named": [
                {"name": p.name, "organisation": p.organisation, "category": p.category}
                for p in report.named
            ],
            "named_withheld": report.named_withheld,
            "register_withheld": report.register_withheld or None,
            "organisations": [{"name": o.name, "people": o.people} for o in report.organisations],
            "other_organisations": report.other_organisations,
        },
        "proposals": [
            {
                "id": line.id,
                "rank": line.rank,
                "number": line.number,
                "kind": line.kind,
                "title": line.title,
                "body": line.body,
                "tags": list(line.tags),
                "votes": line.votes,
                "voters": line.voters,
                "by_category": {
                    c: raw_cell(v, n) for c, v in zip(cats, line.by_category, strict=True)
                },
                "proxy": line.proxy,
                "proxy_votes": raw_cell(line.proxy_votes, n),
                "merged_from": list(line.merged_from),
                "edited": line.edited,
                # A Q&A question's answer (false, null and "" at a tavolo's proposals).
                "answered": line.answered,
                "answered_at": _time(line.answered_at),
                "answer_note": line.answer_note,
                "asked_by": line.asker or None,
            }
            for line in report.lines
        ],
        "totals": {"proposals": report.proposals, "votes": report.total_votes},
        "off_wall": dict(report.off_wall),
        "merged": report.merged,
        "synthesis": report.synthesis,
    }


def table_json(report: TableReport) -> bytes:
    data = {
        "schema": SCHEMA,
        "kind": "table",
        "event": _event(report.event),
        "min_group": report.min_group,
        **table_data(report),
    }
    return _dump(data)


def event_json(report: EventReport) -> bytes:
    n = report.min_group
    data = {
        "schema": SCHEMA,
        "kind": "event",
        "draft": report.draft,
        "event": _event(report.event),
        "min_group": n,
        "categories": list(report.categories),
        "participants": {
            "total": report.people_total,
            "by_category": {
                c: raw_cell(v, n) for c, v in zip(report.categories, report.people, strict=True)
            },
            "named": [
                {
                    "name": p.name,
                    "organisation": p.organisation,
                    "category": p.category,
                    "table": p.table,
                }
                for p in report.named
            ],
            "organisations": [{"name": o.name, "people": o.people} for o in report.organisations],
        },
        # Approvals and dots are different units: one figure per voting mode.
        "totals": {"proposals": report.proposals, "votes_by_mode": report.votes_by_mode()},
        "tables": [table_data(t) for t in report.tables],
    }
    return _dump(data)


def _event(e: EventInfo) -> dict[str, Any]:
    return {
        "id": e.id,
        "title": e.title,
        "date": e.date.isoformat(),
        "place": e.place,
        "organiser": e.organiser,
        # The privacy notice the minutes cite: null where the organiser wrote nothing (no
        # controller: the notice is not filled, Tavoli's default text applies).
        "privacy": {
            "controller": e.controller or None,
            "dpo": e.dpo or None,
            "dpo_contact": e.dpo_contact or None,
            "erase_after": e.erase_after.isoformat(),
        },
    }


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode()
