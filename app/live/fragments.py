"""What a push carries: HTML per audience and locale, and JSON for machine clients."""

import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any

from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from app.enums import Kind
from app.i18n import LOCALES, using_locale
from app.models import Table
from app.services.formats import format_of
from app.services.methods import method_of
from app.services.state import (
    PushState,
    TableDelta,
    TableState,
    TableStats,
    screen_ranks_every_card,
)
from app.services.visibility import tallies_shown
from app.views import own_contexts

SCREEN, PARTICIPANT, MODERATOR, DASHBOARD, API = (
    "screen",
    "participant",
    "moderator",
    "dashboard",
    "api",
)
# "The screen on my phone": the projector in text on a phone (partials/_mirror.html).
MIRROR = "mirror"
HTML_AUDIENCES = (SCREEN, PARTICIPANT, MODERATOR, MIRROR)


def payload_key(audience: str, locale: str) -> str:
    return audience if audience == API else f"{audience}:{locale}"


def api_event(kind: str, seq: int, **data: Any) -> str:
    return json.dumps({"seq": seq, "type": kind, **data}, ensure_ascii=False, separators=(",", ":"))


def snapshot_json(state: TableState, people: int) -> str:
    return api_event("snapshot", state.seq, **table_json(state, people=people))


def table_json(
    state: TableState, *, people: int | None = None, audience: str = API
) -> dict[str, Any]:
    """The public view of a table: what a participant may see (no queue, no hidden posts);
    the tallies as `tallies_shown` allows the audience (the moderator's own GET sees them)."""
    table = state.table
    hidden = not tallies_shown(table, audience)
    data: dict[str, Any] = {
        "code": table.code,
        "title": table.title,
        "question": table.question,
        "format": table.format,
        "phase": table.phase,
        "voting": voting_json(table),
        # The ranking the results view shows and the minutes adopt (PUT …/ranking).
        "ranking": table.ranking,
        "results_hidden": table.results_hidden,
        "tallies_shown": not hidden,
        "screen": {
            "mode": table.screen_mode,
            "spotlight_id": table.spotlight_id,
            "wall_page_seconds": table.wall_page_seconds,
            "wall_turns": table.wall_turns,
        },
        "timer": {"seconds_left": state.timer_left, "advances": table.timer_advances},
        "participants": state.participants,
        "proposals": [_public(_linked(p.as_json(), state), hidden) for p in state.visible],
    }
    if audience == MODERATOR:  # the runner's own GET: each proposal's dissent, never who
        for proposal in data["proposals"]:
            found = state.dissent.get(proposal["id"])
            proposal["dissent"] = {
                "count": found.count if found else 0,
                "reasons": [
                    {"id": r.id, "text": r.text, "status": r.status}
                    for r in (found.reasons if found else ())
                ],
            }
    if format_of(table).by_support:
        data["order"] = state.order(audience)
    if people is not None:
        data["people"] = people
    return data


def _linked(proposal: dict[str, Any], state: TableState) -> dict[str, Any]:
    """The needs a proposal answers, the pledges a resource made: the minutes' JSON keys."""
    if proposal["kind"] == Kind.PROPOSAL:
        proposal["answers"] = list(state.links.needs_of(proposal["id"]))
    elif proposal["kind"] == Kind.RESOURCE:
        proposal["pledges"] = [
            {"proposal": p.proposal_id, "organisation": p.organisation, "offer": p.offer}
            for p in state.links.pledges_of(proposal["id"])
        ]
    return proposal


def _public(proposal: dict[str, Any], hidden: bool) -> dict[str, Any]:
    if hidden:
        proposal.update(tally=None, voters=None)
    return proposal


def voting_json(table: Table) -> dict[str, Any]:
    """The method's settings and the table's fair counting rule (`weighting`)."""
    return {**method_of(table).json(table), "weighting": table.weighting}


class Fragments:
    """Renders every payload of a push once; connections only pick theirs."""

    def __init__(self, templates: Jinja2Templates, public_url: str = "") -> None:
        self._templates = templates
        # Shown on the projector; when not configured, the page fills in its own host.
        self.join_host = public_url.split("://", 1)[-1].rstrip("/")

    def render(self, name: str, **context: Any) -> str:
        context.setdefault("join_host", self.join_host)
        return self._templates.get_template(name).render(context)

    def own(
        self, session: Session, table: Table, owners: Mapping[int, AbstractSet[str]]
    ) -> dict[int, Mapping[str, str]]:
        """Each participant's own state (`#me`, dots left) for their own connections, after a
        change made elsewhere (another tab's vote), under the payload keys they send."""
        payloads: dict[int, Mapping[str, str]] = {}
        for owner, context in own_contexts(session, table, owners).items():
            rendered: dict[str, str] = {}
            for locale in LOCALES:
                if payload_key(PARTICIPANT, locale) in owners[owner]:
                    with using_locale(locale):
                        rendered[payload_key(PARTICIPANT, locale)] = self.render(
                            "partials/_own.html", **context
                        )
            payloads[owner] = rendered
        return payloads

    def push(
        self,
        delta: TableDelta,
        stats: TableStats,
        current: PushState,
        *,
        keys: AbstractSet[str] | None = None,
    ) -> Mapping[str, str]:
        """Every payload, or only those under `keys` (what this worker's connections send)."""

        def wanted(audience: str, locale: str = "") -> bool:
            return keys is None or payload_key(audience, locale) in keys

        table = current.table
        payloads: dict[str, str] = {}
        if wanted(API):
            payloads[API] = self._api(delta, stats, current)
        new = [p for p in delta.new if p.visible]
        changed = [p for p in delta.changed if p.visible]
        # A new post waiting in the queue changes only the moderators' view, but all of it.
        full_for_moderators = delta.layout or len(new) < len(delta.new)
        # The projector is redrawn whole when its layout (a post added, the ranking) changes; a wall
        # sorted by support is patched as the phones are (tallies and `#wall-order`), and
        # tavoli.js re-sorts and fits its questions.
        screen_full = bool(delta.layout or new or screen_ranks_every_card(table))
        context = {
            "table": table,
            "event": current.event,
            "state": current,
            "delta": delta,
            "stats": stats,
            "new_first": list(reversed(new)),
            "changed": changed,
            "seq": delta.seq,
        }
        for locale in LOCALES:
            with using_locale(locale):
                if wanted(SCREEN, locale):
                    payloads[payload_key(SCREEN, locale)] = self.render(
                        "partials/_push.html", audience=SCREEN, full=screen_full, **context
                    )
                # The mirror follows the projector: whole when the projector is redrawn,
                # else the tallies that moved (when the projector shows tallies).
                if (screen_full or changed) and wanted(MIRROR, locale):
                    payloads[payload_key(MIRROR, locale)] = self.render(
                        "partials/_push.html", audience=MIRROR, full=screen_full, **context
                    )
                if (delta.layout or new or changed) and wanted(PARTICIPANT, locale):
                    payloads[payload_key(PARTICIPANT, locale)] = self.render(
                        "partials/_push.html", audience=PARTICIPANT, full=delta.layout, **context
                    )
                if wanted(MODERATOR, locale):
                    payloads[payload_key(MODERATOR, locale)] = self.render(
                        "partials/_push.html",
                        audience=MODERATOR,
                        full=full_for_moderators,
                        **context,
                    )
                if wanted(DASHBOARD, locale):
                    payloads[payload_key(DASHBOARD, locale)] = self.render(
                        "partials/_dashboard_row.html", oob=True, **context
                    )
        return payloads

    def _api(self, delta: TableDelta, stats: TableStats, current: PushState) -> str:
        if delta.layout:
            assert isinstance(current, TableState)  # a layout change is pushed whole
            return api_event(
                "state",
                delta.seq,
                prev_seq=delta.prev_seq,
                **table_json(current, people=stats.people),
            )
        hidden = not tallies_shown(current.table, API)
        # A wall sorted by support: the open questions' order as it now stands.
        order = {"order": current.order(API)} if format_of(current.table).by_support else {}
        return api_event(
            "delta",
            delta.seq,
            prev_seq=delta.prev_seq,
            **order,
            # A new card is pushed with the whole state (push_state), links and all.
            proposals=[
                _public(_linked(p.as_json(), current), hidden)
                if isinstance(current, TableState)
                else _public(p.as_json(), hidden)
                for p in delta.new
                if p.visible
            ],
            tallies={}
            if hidden
            else {str(p.id): p.tally for p in (*delta.new, *delta.changed) if p.visible},
            proposal_count=stats.proposals,
            vote_total=None if hidden else stats.votes,
            participants=stats.joined,
            people=stats.people,
        )
