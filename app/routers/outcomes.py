"""What became of it: the coordinator's form (`/c/{token}/outcomes`), the public follow-up
page (`/esiti/{event id}`) with its Atom feed, and the API (`PUT /api/proposals/{id}/outcome`,
`GET /api/events/{id}/outcomes`), over `services/outcomes.py`."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api_errors import ERROR_RESPONSES
from app.deps import LiveDep, SessionDep, SettingsDep, TokenDep, csrf_protect
from app.enums import OutcomeField
from app.reports import followup
from app.routing import UnitOfWorkRoute
from app.services import outcomes
from app.templating import templates
from app.web import csrf_token, public_base

api = APIRouter(
    prefix="/api", tags=["outcomes"], responses=ERROR_RESPONSES, route_class=UnitOfWorkRoute
)
pages = APIRouter(
    dependencies=[Depends(csrf_protect)], include_in_schema=False, route_class=UnitOfWorkRoute
)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: OutcomeField
    note: str = Field(
        default="",
        description=f"A short public note, {outcomes.NOTE_LIMIT} characters at most.",
    )
    date: str = Field(description="When it happened, YYYY-MM-DD.", examples=["2025-03-14"])


class OutcomeOut(BaseModel):
    proposal_id: int
    status: str
    note: str
    date: str
    recorded: bool = Field(description="False when it repeated the current outcome.")


@api.put("/proposals/{proposal_id}/outcome", response_model=OutcomeOut)
def put_outcome(
    proposal_id: int, body: OutcomeIn, session: SessionDep, token: TokenDep, live: LiveDep
) -> OutcomeOut:
    """Record what became of a priority (a proposal on the wall of a closed table), with the
    coordinator's or the event moderator's token. Each recording is kept: the follow-up page
    shows the history."""
    event = outcomes.event_for_recorder(session, token)
    done = outcomes.record_outcome(
        session,
        event=event,
        proposal_id=proposal_id,
        status=body.status,
        note=body.note,
        date=body.date,
    )
    live.publish(done)
    current = outcomes.current_outcomes(session, [proposal_id])[proposal_id]
    return OutcomeOut(
        proposal_id=proposal_id,
        status=current.status,
        note=current.note,
        date=current.date.isoformat(),
        recorded=done.outcome is not None,
    )


class OutcomeChangeOut(BaseModel):
    status: OutcomeField
    note: str
    date: str = Field(description="When it happened, YYYY-MM-DD.")
    recorded_at: str = Field(description="When it was recorded (UTC, ISO 8601).")


class PriorityOut(BaseModel):
    id: int
    rank: int | None = Field(description="In the ranking the table adopted; None where hidden.")
    title: str
    outcome: OutcomeChangeOut | None = Field(description="The current one; None: not yet.")
    history: list[OutcomeChangeOut] = Field(description="Every recording, oldest first.")


class FollowedTableOut(BaseModel):
    id: int
    title: str
    question: str
    priorities: list[PriorityOut]


class PublicEventOut(BaseModel):
    id: int
    title: str
    date: str
    place: str
    organiser: str


class OutcomesOut(BaseModel):
    event: PublicEventOut
    url: str = Field(description="The public follow-up page.")
    feed: str = Field(description="Its Atom feed.")
    tables: list[FollowedTableOut] = Field(description="The closed tables, in creation order.")


@api.get(
    "/events/{event_id}/outcomes",
    response_model=OutcomesOut,
    openapi_extra={"security": [{}]},
)
def get_outcomes(
    request: Request, response: Response, event_id: int, session: SessionDep, settings: SettingsDep
) -> OutcomesOut:
    """Public, no token: the event's closed tables, their priorities in the ranking each
    table adopted, and each one's outcome with its history. No personal data."""
    follow = outcomes.follow_up(session, outcomes.public_event(session, event_id))
    body = followup.outcomes_json(follow, public_base(request, settings.tavoli_public_url))
    response.headers["cache-control"] = "public, max-age=60"
    return OutcomesOut.model_validate(body)


@pages.get("/esiti/{event_id}")
def follow_up_page(request: Request, event_id: int, session: SessionDep) -> Response:
    follow = outcomes.follow_up(session, outcomes.public_event(session, event_id))
    return templates.TemplateResponse(
        request,
        "pages/followup.html",
        {
            "follow": follow,
            "feed": followup.feed_path(event_id),
            "csrf_token": csrf_token(request, request.app.state.signer),
        },
        headers={"cache-control": "public, max-age=60"},
    )


@pages.get("/esiti/{event_id}/feed.atom")
def follow_up_feed(
    request: Request, event_id: int, session: SessionDep, settings: SettingsDep
) -> Response:
    follow = outcomes.follow_up(session, outcomes.public_event(session, event_id))
    return Response(
        followup.atom(follow, public_base(request, settings.tavoli_public_url)),
        media_type="application/atom+xml; charset=utf-8",
        headers={"cache-control": "public, max-age=300"},
    )


@pages.get("/c/{token}/outcomes")
def outcomes_form(request: Request, token: str, session: SessionDep) -> Response:
    """The coordinator's (or the moderator's) form: every priority of every closed table."""
    event = outcomes.event_for_recorder(session, token)
    return templates.TemplateResponse(
        request,
        "pages/outcomes.html",
        {
            "follow": outcomes.follow_up(session, event, everything=True),
            "base": f"/c/{token}",
            "public": followup.page_path(event.id or 0),
            "csrf_token": csrf_token(request, request.app.state.signer),
        },
        headers={"cache-control": "no-store"},
    )


@pages.post("/c/{token}/outcomes/{proposal_id}")
def record_outcome(
    request: Request,
    token: str,
    proposal_id: int,
    session: SessionDep,
    live: LiveDep,
    status: Annotated[str, Form()] = "",
    date: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    event = outcomes.event_for_recorder(session, token)
    done = outcomes.record_outcome(
        session, event=event, proposal_id=proposal_id, status=status, note=note, date=date
    )
    live.publish(done)
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/c/{token}/outcomes#p-{proposal_id}", status_code=303)
    follow = outcomes.follow_up(session, event, everything=True)
    priority = next(p for t in follow.tables for p in t.priorities if p.id == proposal_id)
    return templates.TemplateResponse(
        request,
        "partials/_outcome_form.html",
        {
            "p": priority,
            "base": f"/c/{token}",
            "saved": True,
            "csrf_token": csrf_token(request, request.app.state.signer),
        },
        headers={"cache-control": "no-store"},
    )
