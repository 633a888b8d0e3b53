"""What a push carries: HTML per audience and locale, and JSON for machine clients."""

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi.templating import Jinja2Templates

from app.i18n import LOCALES, using_locale
from app.models import Table
from app.services.state import ProposalView, TableDelta, TableState, TableStats

SCREEN, PARTICIPANT, API = "screen", "participant", "api"


def payload_key(audience: str, locale: str) -> str:
    return audience if audience == API else f"{audience}:{locale}"


def api_event(kind: str, seq: int, **data: Any) -> str:
    return json.dumps({"seq": seq, "type": kind, **data}, ensure_ascii=False, separators=(",", ":"))


def proposal_json(p: ProposalView) -> dict[str, Any]:
    return p.as_json()


def snapshot_json(state: TableState, people: int) -> str:
    return api_event("snapshot", state.seq, **table_json(state, people=people))


def table_json(state: TableState, *, people: int | None = None) -> dict[str, Any]:
    table = state.table
    data: dict[str, Any] = {
        "code": table.code,
        "title": table.title,
        "question": table.question,
        "voting": voting_json(table),
        "participants": state.participants,
        "proposals": [p.as_json() for p in state.proposals],
    }
    if people is not None:
        data["people"] = people
    return data


def voting_json(table: Table) -> dict[str, Any]:
    if table.voting_mode == "dots":
        return {"mode": "dots", "dots": table.dots, "max_per_proposal": table.max_per_proposal}
    return {"mode": "approval"}


class Fragments:
    """Renders every payload of a push once; connections only pick theirs."""

    def __init__(self, templates: Jinja2Templates, author_tag: Callable[[int], str]) -> None:
        self._templates = templates
        self.author_tag = author_tag

    def render(self, name: str, **context: Any) -> str:
        context.setdefault("author_tag", self.author_tag)
        return self._templates.get_template(name).render(context)

    def push(self, table: Table, delta: TableDelta, stats: TableStats) -> Mapping[str, str]:
        payloads: dict[str, str] = {
            API: api_event(
                "delta",
                delta.seq,
                prev_seq=delta.prev_seq,
                proposals=[p.as_json() for p in delta.new],
                tallies={str(p.id): p.tally for p in (*delta.new, *delta.changed)},
                proposal_count=stats.proposals,
                vote_total=stats.votes,
                people=stats.people,
            )
        }
        new_first = list(reversed(delta.new))
        for locale in LOCALES:
            with using_locale(locale):
                payloads[payload_key(SCREEN, locale)] = self.render(
                    "partials/_push.html",
                    audience=SCREEN,
                    table=table,
                    delta=delta,
                    new_first=new_first,
                    stats=stats,
                )
                if not delta.empty:
                    payloads[payload_key(PARTICIPANT, locale)] = self.render(
                        "partials/_push.html",
                        audience=PARTICIPANT,
                        table=table,
                        delta=delta,
                        new_first=new_first,
                        stats=stats,
                    )
        return payloads
