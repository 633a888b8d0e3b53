"""The JSON API: automation and integrations, over the same services as the pages."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app import ratelimit
from app.api_errors import ERROR_RESPONSES
from app.deps import (
    ApiModeratorDep,
    ApiOrganiserDep,
    ApiParticipantDep,
    LiveDep,
    SessionDep,
    SettingsDep,
)
from app.live.fragments import table_json
from app.routing import UnitOfWorkRoute
from app.services import events, participants, proposals, state, tables, voting
from app.services.errors import Forbidden
from app.web import public_base

router = APIRouter(
    prefix="/api", tags=["api"], responses=ERROR_RESPONSES, route_class=UnitOfWorkRoute
)


class EventIn(BaseModel):
    title: str
    date: dt.date
    place: str = ""
    organiser: str = ""
    categories: list[str] | None = Field(
        default=None, description="Stakeholder categories; the Italian defaults when omitted."
    )


class EventOut(BaseModel):
    id: int
    moderator_token: str = Field(description="Shown once; stored hashed.")
    moderator_url: str
    categories: list[str]


class ApprovalVoting(BaseModel):
    mode: Literal["approval"]


class DotsVoting(BaseModel):
    mode: Literal["dots"]
    dots: int = 5
    max_per_proposal: int | None = None


class TableIn(BaseModel):
    title: str
    question: str = ""
    voting: Annotated[ApprovalVoting | DotsVoting, Field(discriminator="mode")] = ApprovalVoting(
        mode="approval"
    )


class TableOut(BaseModel):
    id: int
    code: str
    join_url: str
    voting: dict[str, Any]


class JoinIn(BaseModel):
    name: str = ""
    organisation: str = ""
    category: str = ""
    named_in_minutes: bool = Field(
        default=False, description="Consent to name and organisation in the minutes."
    )


class JoinOut(BaseModel):
    participant_id: int
    token: str = Field(description="Bearer token for this participant's posts and votes.")


class ProposalIn(BaseModel):
    kind: Literal["need", "proposal", "resource"] = "proposal"
    title: str
    body: str = ""


class ProposalOut(BaseModel):
    id: int
    seq: int


class VoteIn(BaseModel):
    dots: int


class VoteOut(BaseModel):
    proposal_id: int
    dots: int
    dots_left: int | None = Field(description="None in approval mode.")
    tally: int | None = Field(description="None while the moderator hides the results.")
    seq: int


@router.post("/events", status_code=201, response_model=EventOut)
def create_event(
    request: Request,
    body: EventIn,
    session: SessionDep,
    settings: SettingsDep,
    _organiser: ApiOrganiserDep,
) -> EventOut:
    event, moderator_token = events.create_event(
        session,
        title=body.title,
        date=body.date,
        place=body.place,
        organiser=body.organiser,
        categories=body.categories,
    )
    return EventOut(
        id=event.id or 0,
        moderator_token=moderator_token,
        moderator_url=f"{public_base(request, settings.tavoli_public_url)}/m/{moderator_token}",
        categories=event.categories,
    )


@router.post("/events/{event_id}/tables", status_code=201, response_model=TableOut)
def create_table(
    request: Request,
    event_id: int,
    body: TableIn,
    session: SessionDep,
    event: ApiModeratorDep,
    settings: SettingsDep,
) -> TableOut:
    if event.id != event_id:
        raise Forbidden("This moderator token is for another event")
    voting = body.voting
    rules = (
        tables.VotingRules.checked("dots", voting.dots, voting.max_per_proposal)
        if isinstance(voting, DotsVoting)
        else tables.VotingRules.checked("approval")
    )
    table = tables.create_table(
        session, event=event, title=body.title, question=body.question, voting=rules
    )
    return TableOut(
        id=table.id or 0,
        code=table.code,
        join_url=f"{public_base(request, settings.tavoli_public_url)}/t/{table.code}",
        voting={"mode": rules.mode, "dots": rules.dots, "max_per_proposal": rules.max_per_proposal},
    )


@router.post("/tables/{code}/participants", status_code=201, response_model=JoinOut)
def join_table(
    request: Request, code: str, session: SessionDep, live: LiveDep, body: JoinIn | None = None
) -> JoinOut:
    client = ratelimit.address(request)
    table = tables.table_by_code(session, code, client=client)
    body = body or JoinIn()
    joined = participants.join(
        session,
        table=table,
        event=tables.event_of(session, table),
        name=body.name,
        organisation=body.organisation,
        category=body.category,
        named_in_minutes=body.named_in_minutes,
        client=client,
    )
    live.publish(joined)
    return JoinOut(participant_id=joined.participant.id or 0, token=joined.token)


@router.post("/tables/{code}/proposals", status_code=201, response_model=ProposalOut)
def post_proposal(
    code: str,
    body: ProposalIn,
    session: SessionDep,
    participant: ApiParticipantDep,
    live: LiveDep,
) -> ProposalOut:
    table = tables.table_by_code(session, code)
    if participant.table_id != table.id:
        raise Forbidden("This participant token is for another table")
    posted = proposals.post_proposal(
        session, participant=participant, kind=body.kind, title=body.title, body=body.body
    )
    live.publish(posted)
    return ProposalOut(id=posted.proposal.id or 0, seq=posted.seq)


@router.put("/proposals/{proposal_id}/vote", response_model=VoteOut)
def vote(
    proposal_id: int,
    body: VoteIn,
    session: SessionDep,
    participant: ApiParticipantDep,
    live: LiveDep,
) -> VoteOut:
    result = voting.set_vote(
        session, participant=participant, proposal_id=proposal_id, dots=body.dots
    )
    live.publish(result)
    return VoteOut(
        proposal_id=result.proposal_id,
        dots=result.my_dots,
        dots_left=result.dots_left,
        tally=result.tally,
        seq=result.seq if result.seq is not None else state.current_seq(session, result.table_id),
    )


class EditIn(BaseModel):
    title: str
    body: str = ""


class ChangedOut(BaseModel):
    seq: int


@router.patch("/proposals/{proposal_id}", response_model=ChangedOut)
def edit_own(
    proposal_id: int,
    body: EditIn,
    session: SessionDep,
    participant: ApiParticipantDep,
    live: LiveDep,
) -> ChangedOut:
    """The author rewrites their own post, while the table is collecting."""
    change = proposals.edit_own(
        session, participant=participant, proposal_id=proposal_id, title=body.title, body=body.body
    )
    live.publish(change)
    return ChangedOut(seq=change.seq or 0)


@router.delete("/proposals/{proposal_id}", response_model=ChangedOut)
def withdraw_own(
    proposal_id: int, session: SessionDep, participant: ApiParticipantDep, live: LiveDep
) -> ChangedOut:
    """The author withdraws their own post, while the table is collecting."""
    change = proposals.withdraw_own(session, participant=participant, proposal_id=proposal_id)
    live.publish(change)
    return ChangedOut(seq=change.seq or 0)


@router.get("/tables/{code}")
def get_table(request: Request, code: str, session: SessionDep) -> dict[str, Any]:
    """The table, its proposals with tallies, and the sequence number they are current at."""
    table = tables.table_by_code(session, code, client=ratelimit.address(request))
    current = state.table_state(session, table)
    return {"seq": current.seq, **table_json(current)}
