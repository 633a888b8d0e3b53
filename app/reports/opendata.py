"""JSON open data: the report as plain values, with the schema name and version.

Schema `tavoli.report/2` (one table or a whole event) is docs/report-schema.json: version 2
adds the fair counting rule (`voting.weighting`), each proposal's `weighted_tally` and
`consensus` across categories, and the table's `rankings` and `ranking_adopted`.
A by-category cell is a count, "< N" (a category with fewer than N people) or "*" (a
figure withheld so that a "< N" one cannot be worked out from the totals).
"""

import datetime as dt
import json
from typing import Any

from app.reports.data import EventInfo, EventReport, Line, PlenaryLine, TableReport
from app.reports.labels import raw_cell

SCHEMA = "tavoli.report/2"


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
            "weighting": report.weighting,
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
                "weighted_tally": round(line.weighted, 3),
                "consensus": _consensus(report, line),
                "dissent": _dissent(line, cats, n),
                # Needs → actions → resources: the needs a proposal answers, the
                # proposals a resource is pledged to ([] for the other kinds).
                "answers": list(line.answers),
                "pledges": [
                    {"proposal": p.proposal, "organisation": p.organisation, "offer": p.offer}
                    for p in line.pledges
                ],
                # A Q&A question's answer (false, null and "" at a tavolo's proposals).
                "answered": line.answered,
                "answered_at": _time(line.answered_at),
                "answer_note": line.answer_note,
                "asked_by": line.asker or None,
            }
            for line in report.lines
        ],
        "rankings": {
            key: list(ids) if ids is not None else None
            for key, ids in (report.rankings or {}).items()
        },
        "ranking_adopted": report.ranking,
        "ranking_timeline": [
            {"ranking": s.ranking, "at": _time(s.at)} for s in report.ranking_steps
        ],
        "consensus_left_out": report.left_out if report.consensus else None,
        "unanswered_needs": [line.id for line in report.unanswered()],
        "totals": {"proposals": report.proposals, "votes": report.total_votes},
        "off_wall": dict(report.off_wall),
        "merged": report.merged,
        "synthesis": report.synthesis,
    }


def _consensus(report: TableReport, line: Line) -> dict[str, Any] | None:
    """Support in each qualifying group and the bridging score; null in drafts and wherever
    the breakdown by category is withheld. A withheld group's figures are "*"."""
    if not report.consensus:
        return None
    return {
        "groups": [
            {
                "name": group.name,
                "voters": raw_cell(group.voters, report.min_group),
                "supporters": raw_cell(support.supporters, report.min_group),
                "support": round(support.share, 4) if support.share is not None else "*",
            }
            for group, support in zip(report.consensus_groups, line.support, strict=True)
        ],
        "bridging": round(line.bridging, 4) if line.bridging is not None else None,
        "disagreement": round(line.disagreement, 4) if line.disagreement is not None else None,
    }


def _dissent(line: Line, cats: tuple[str, ...], n: int) -> dict[str, Any]:
    """ "Non sono d'accordo": the count and the accepted reasons (no names); `by_category`
    only where the minutes print categories, with the votes' marks, never in a draft."""
    return {
        "count": line.dissent,
        "reasons": list(line.dissent_reasons),
        "by_category": {
            c: raw_cell(v, n) for c, v in zip(cats, line.dissent_by_category, strict=True)
        },
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
        "plenary": _plenary(report),
    }
    return _dump(data)


def _plenary(report: EventReport) -> dict[str, Any] | None:
    """The plenary, the first chapter: each table's top priorities, the confirmed themes,
    the needs no action answers, the resources offered."""
    chapter = report.plenary
    if chapter is None:
        return None

    def post(line: PlenaryLine) -> dict[str, Any]:
        return {"table": line.table, "title": line.title}

    return {
        "priorities": [
            {
                "table": table,
                "tied_after": tied,
                "top": [
                    {"rank": x.rank, "title": x.title, "votes": x.votes, "voting": x.voting_mode}
                    for x in lines
                ],
            }
            for table, lines, tied in chapter.priorities
        ],
        "themes": [
            {"title": theme, "posts": [post(x) for x in lines]} for theme, lines in chapter.themes
        ],
        "unanswered_needs": [post(x) for x in chapter.needs],
        "resources": [post(x) for x in chapter.resources],
    }


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
        # The public page of what became of the priorities; null when unknown.
        "followup_url": e.followup or None,
    }


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode()
