"""The JSON API: automation and integrations, over the same services as the pages."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlmodel import Session
from starlette.datastructures import State

from app import ratelimit
from app.actions import AnsweredIn, Changed
from app.api_errors import ERROR_RESPONSES
from app.deps import (
    ApiModeratorDep,
    ApiOrganiserDep,
    ApiParticipantDep,
    ApiRunnerTableDep,
    LiveDep,
    SessionDep,
    SettingsDep,
    TokenDep,
)
from app.enums import (
    Kind,
    KindField,
    TableFormat,
    TableFormatField,
    VotingMode,
    Weighting,
    WeightingField,
)
from app.live.fragments import API, MODERATOR, table_json, voting_json
from app.models import Table
from app.reports import cards, content_disposition
from app.routing import UnitOfWorkRoute
from app.services import (
    access,
    dissent,
    events,
    links,
    participants,
    privacy,
    proposals,
    questions,
    state,
    tables,
    voting,
)
from app.services.errors import Forbidden
from app.services.tables import Change
from app.web import public_base

router = APIRouter(
    prefix="/api", tags=["api"], responses=ERROR_RESPONSES, route_class=UnitOfWorkRoute
)


class StrictIn(BaseModel):
    """An input of the API: a field it does not know is a 422, not silently ignored (a
    misspelt `titel` would otherwise answer 200 and change nothing)."""

    model_config = ConfigDict(extra="forbid")


class EventIn(StrictIn):
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


# The API's schema of each shipped method (`services/methods.py`): its key as the tag, its
# settings as the fields; the method itself checks them (`VotingRules.checked`).
class CountedVoting(StrictIn):
    """What every method's schema carries: the fair counting rule (`services/consensus.py`)."""

    weighting: WeightingField | None = Field(
        default=None,
        description="The fair counting rule: person (one person, one ballot), organisation "
        "(one organisation, one voice) or category (every category the same weight). Left "
        "out: unchanged (person at creation). Only until voting has opened (409 after).",
    )


class ApprovalVoting(CountedVoting):
    mode: Literal[VotingMode.APPROVAL]


class DotsVoting(CountedVoting):
    mode: Literal[VotingMode.DOTS]
    dots: int = 5
    max_per_proposal: int | None = None


# One schema for the voting method, in and out: what `POST …/tables` and `PATCH
# /api/tables/{code}` take and answer, and what `GET /api/tables/{code}` shows.
Voting = Annotated[ApprovalVoting | DotsVoting, Field(discriminator="mode")]

_VOTING = TypeAdapter[ApprovalVoting | DotsVoting](Voting)


def voting_of(table: Table) -> ApprovalVoting | DotsVoting:
    """The table's voting method in the one schema (the same dict the GET shows)."""
    return _VOTING.validate_python(voting_json(table))


FORMAT_HELP = (
    '"tavolo" (default): collect, discuss, vote. "qa" ("Domande e risposte"): questions '
    "posted and supported at once (one support per question: approval, no other method), "
    "sorted by support."
)


class TableIn(StrictIn):
    title: str
    question: str = ""
    format: TableFormatField = Field(default=TableFormat.TAVOLO, description=FORMAT_HELP)
    voting: Voting = ApprovalVoting(mode=VotingMode.APPROVAL)


class TableOut(BaseModel):
    id: int
    code: str
    join_url: str
    event_id: int
    format: TableFormatField
    voting: Voting


class JoinIn(StrictIn):
    name: str = ""
    organisation: str = ""
    category: str = ""
    named_in_minutes: bool = Field(
        default=False, description="Consent to name and organisation in the minutes."
    )


class JoinOut(BaseModel):
    participant_id: int
    token: str = Field(description="Bearer token for this participant's posts and votes.")


class ProposalIn(StrictIn):
    kind: KindField = Kind.PROPOSAL
    title: str
    body: str = ""


class ProposalOut(BaseModel):
    id: int
    seq: int

    @classmethod
    def of(cls, posted: proposals.Posted) -> "ProposalOut":
        return cls(id=posted.proposal.id or 0, seq=posted.seq)


class VoteIn(StrictIn):
    dots: int
    expected: int | None = Field(
        default=None,
        description="Optional precondition: the dots this client last saw on the proposal. "
        "If the stored count is neither this nor `dots`, nothing changes and the answer is "
        "409 with the vote as it stands under `current` (another client of the same "
        "participant changed it meanwhile).",
    )


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
    body: TableIn,
    session: SessionDep,
    event: ApiModeratorDep,
    settings: SettingsDep,
) -> TableOut:
    table = tables.create_table(
        session,
        event=event,
        title=body.title,
        question=body.question,
        voting=rules_of(body.voting),
        weighting=body.voting.weighting or Weighting.PERSON,
        format=body.format,
    )
    return TableOut(
        id=table.id or 0,
        code=table.code,
        join_url=f"{public_base(request, settings.tavoli_public_url)}/t/{table.code}",
        event_id=table.event_id,
        format=TableFormat(table.format),
        voting=voting_of(table),
    )


@router.post("/tables/{code}/participants", status_code=201, response_model=JoinOut)
def join_table(
    request: Request, code: str, session: SessionDep, live: LiveDep, body: JoinIn | None = None
) -> JoinOut:
    client = ratelimit.address(request)
    table = tables.resolve(session, code, client=client)
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
    request: Request,
    code: str,
    body: ProposalIn,
    session: SessionDep,
    token: TokenDep,
    live: LiveDep,
) -> ProposalOut:
    admit = participants.holder(session, token)
    _table, participant = tables.resolve_for(
        session, code, client=ratelimit.address(request), admit=admit
    )
    posted = proposals.post_proposal(
        session, participant=participant, kind=body.kind, title=body.title, body=body.body
    )
    live.publish(posted)
    return ProposalOut.of(posted)


@router.put("/proposals/{proposal_id}/vote", response_model=VoteOut)
async def vote(request: Request, proposal_id: int, body: VoteIn, token: TokenDep) -> VoteOut:
    """Set this participant's dots on a proposal (absolute, so a repeated request changes
    nothing); with `expected`, only if the count is still the one the client saw.

    The hot path of the reveal moment: a well-formed request is answered before it gets
    here, by the same `cast_vote` (app/vote_lane.py); this route answers the rest."""
    return await cast_vote(request.app.state, token, proposal_id, body)


async def cast_vote(state: State, token: str | None, proposal_id: int, body: VoteIn) -> VoteOut:
    """The API's vote: awaited from the loop, the token read in the vote's own unit of work
    (`voting.cast`), the push announced from the loop. A refusal is raised (DomainError)."""
    try:
        result = await voting.cast(
            state.engine,
            token=token,
            proposal_id=proposal_id,
            dots=body.dots,
            expected=body.expected,
        )
    except voting.StaleVote as stale:  # 409 as every refusal, with the vote as it stands
        stale.extra["current"] = _vote_out(stale.current).model_dump()
        raise
    state.live.publish(result)
    return _vote_out(result)


def _vote_out(result: voting.VoteResult) -> VoteOut:
    assert result.table_seq is not None, "a vote's outcome says its table's seq"
    return VoteOut(
        proposal_id=result.proposal_id,
        dots=result.my_dots,
        dots_left=result.dots_left,
        tally=result.tally,
        seq=result.table_seq,
    )


class EditIn(StrictIn):
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


class DissentIn(StrictIn):
    reason: str = Field(
        default="",
        description="Optional, up to 280 characters; checked by a moderator first when the "
        "table pre-moderates.",
    )


@router.put("/proposals/{proposal_id}/dissent", response_model=ChangedOut)
def set_dissent(
    proposal_id: int,
    session: SessionDep,
    participant: ApiParticipantDep,
    live: LiveDep,
    body: DissentIn | None = None,
) -> ChangedOut:
    """Say "I disagree" with a proposal on the wall, with an optional reason, while the
    table discusses or votes (409 otherwise). Absolute: sending it again changes nothing, a
    new reason replaces the old one. It never changes a tally."""
    change = dissent.set_dissent(
        session,
        participant=participant,
        proposal_id=proposal_id,
        reason=(body or DissentIn()).reason,
    )
    live.publish(change)
    return _changed_out(session, change)


@router.delete("/proposals/{proposal_id}/dissent", response_model=ChangedOut)
def withdraw_dissent(
    proposal_id: int, session: SessionDep, participant: ApiParticipantDep, live: LiveDep
) -> ChangedOut:
    """Withdraw one's dissent and its reason (while the table discusses or votes)."""
    change = dissent.withdraw_dissent(session, participant=participant, proposal_id=proposal_id)
    live.publish(change)
    return _changed_out(session, change)


# --- needs → actions → resources (services/links.py) ------------------------------------


class AnswersIn(StrictIn):
    needs: list[int] = Field(
        description="The ids of the needs this proposal answers, at its table; replaces the "
        "set ([] unlinks them all)."
    )


class PledgeIn(StrictIn):
    resource: int = Field(description="The id of the resource (a post of kind resource).")
    offer: str = Field(
        description="What the organisation offers, in one line (up to 150 characters): "
        "printed on the wall and in the minutes."
    )
    organisation: str = Field(
        default="",
        description="The organisation that offers it, as printed on the wall and in the "
        "minutes (never filled in from the participant's own details).",
    )


class UnpledgeIn(StrictIn):
    resource: int = Field(description="The id of the resource whose pledge is withdrawn.")


def _changed_out(session: Session, change: Change) -> ChangedOut:
    seq = change.seq if change.seq is not None else state.current_seq(session, change.table_id)
    return ChangedOut(seq=seq)


_LINK_TOKENS = (
    " The moderator's token or the table's facilitator's token links any post of the table;"
    " a participant's token only their own proposal (answers) or their own resource"
    " (pledges), while the table is collecting, discussing or voting."
)


@router.put(
    "/proposals/{proposal_id}/answers",
    response_model=ChangedOut,
    description="The needs a proposal answers, replacing the previous set." + _LINK_TOKENS,
)
def set_answers(
    proposal_id: int, body: AnswersIn, session: SessionDep, token: TokenDep, live: LiveDep
) -> ChangedOut:
    who = links.linker_for(session, token, proposal_id)
    change = links.set_answers(
        session, who.table, proposal_id=proposal_id, need_ids=body.needs, by=who.participant_id
    )
    live.publish(change)
    return _changed_out(session, change)


@router.delete(
    "/proposals/{proposal_id}/answers",
    response_model=ChangedOut,
    description="Unlink a proposal from every need it answered." + _LINK_TOKENS,
)
def clear_answers(
    proposal_id: int, session: SessionDep, token: TokenDep, live: LiveDep
) -> ChangedOut:
    who = links.linker_for(session, token, proposal_id)
    change = links.set_answers(
        session, who.table, proposal_id=proposal_id, need_ids=[], by=who.participant_id
    )
    live.publish(change)
    return _changed_out(session, change)


@router.put(
    "/proposals/{proposal_id}/pledges",
    response_model=ChangedOut,
    description="Pledge a resource to this proposal with the organisation's offer (sent "
    "again: the offer is replaced)." + _LINK_TOKENS,
)
def pledge(
    proposal_id: int, body: PledgeIn, session: SessionDep, token: TokenDep, live: LiveDep
) -> ChangedOut:
    who = links.linker_for(session, token, proposal_id)
    change = links.pledge(
        session,
        who.table,
        proposal_id=proposal_id,
        resource_id=body.resource,
        offer=body.offer,
        organisation=body.organisation,
        by=who.participant_id,
    )
    live.publish(change)
    return _changed_out(session, change)


@router.delete(
    "/proposals/{proposal_id}/pledges",
    response_model=ChangedOut,
    description="Withdraw a resource's pledge to this proposal; the JSON body names the "
    "resource, as the other DELETE with a body (`DELETE /api/tables/{code}/participants/"
    "{participant_id}`)." + _LINK_TOKENS,
)
def unpledge(
    proposal_id: int, body: UnpledgeIn, session: SessionDep, token: TokenDep, live: LiveDep
) -> ChangedOut:
    who = links.linker_for(session, token, proposal_id)
    change = links.unpledge(
        session,
        who.table,
        proposal_id=proposal_id,
        resource_id=body.resource,
        by=who.participant_id,
    )
    live.publish(change)
    return _changed_out(session, change)


# The token is optional here (anyone with the code reads the table; a runner's token adds
# the hidden tallies), which OpenAPI says with an empty alternative.
@router.get("/tables/{code}", openapi_extra={"security": [{}]})
def get_table(request: Request, code: str, session: SessionDep, token: TokenDep) -> dict[str, Any]:
    """The table, its proposals with tallies, and the sequence number they are current at.
    With the moderator's or the table's facilitator's token, the tallies even while hidden
    (as the console shows them), the table's `event_id` and each proposal's `dissent`
    (`count`, and `reasons` as `{id, text, status}`: the ids the reasons' accept and reject
    take; never who dissented)."""
    table = tables.resolve(session, code, client=ratelimit.address(request))
    runner = access.runs_table(session, token, table)
    current = state.table_state(session, table)
    data = {"seq": current.seq, **table_json(current, audience=MODERATOR if runner else API)}
    if runner:
        data["event_id"] = table.event_id
    return data


# --- organiser and moderator: events and tables after creation -------------------------------


class EventSummaryOut(BaseModel):
    id: int
    title: str
    date: dt.date
    place: str
    organiser: str
    tables: int
    preparing: int = Field(description="Tables not started yet.")
    running: int = Field(description="Tables collecting, discussing or voting.")
    closed: int


@router.get("/events", response_model=list[EventSummaryOut])
def list_events(session: SessionDep, _organiser: ApiOrganiserDep) -> list[EventSummaryOut]:
    """Every event, newest first, with how many of its tables run or are closed (the
    organiser's token; a moderator finds its event's id in its tables' JSON)."""
    return [
        EventSummaryOut(
            id=s.event.id or 0,
            title=s.event.title,
            date=s.event.date,
            place=s.event.place,
            organiser=s.event.organiser,
            tables=s.tables,
            preparing=s.preparing,
            running=s.running,
            closed=s.closed,
        )
        for s in events.list_events(session)
    ]


class ModeratorLinkOut(BaseModel):
    moderator_token: str = Field(description="Shown once; stored hashed. The old one stops.")
    moderator_url: str


@router.post("/events/{event_id}/moderator-link", status_code=201, response_model=ModeratorLinkOut)
def moderator_link(
    request: Request,
    event_id: int,
    session: SessionDep,
    settings: SettingsDep,
    _organiser: ApiOrganiserDep,
    live: LiveDep,
) -> ModeratorLinkOut:
    """A new moderator link for the event (organiser token); the previous one stops at once,
    and the consoles and dashboard it opened are closed."""
    new = events.new_moderator_link(session, events.event_by_id(session, event_id))
    live.revoked(new.table_ids)
    base = public_base(request, settings.tavoli_public_url)
    return ModeratorLinkOut(moderator_token=new.token, moderator_url=f"{base}/m/{new.token}")


class EventEditIn(StrictIn):
    title: str | None = None
    date: dt.date | None = None
    place: str | None = None
    organiser: str | None = None
    categories: list[str] | None = Field(
        default=None, description="Only before anyone has joined one of the event's tables."
    )
    glossary: str | None = Field(
        default=None,
        description="The event's own abbreviations and synonyms for duplicate suggestions, "
        "one concept a line: `PIS = pronto intervento sociale`.",
    )


class EventDetailsOut(BaseModel):
    id: int
    title: str
    date: dt.date
    place: str
    organiser: str
    categories: list[str]
    glossary: str


@router.patch("/events/{event_id}", response_model=EventDetailsOut)
def edit_event(
    body: EventEditIn, session: SessionDep, event: ApiModeratorDep, live: LiveDep
) -> EventDetailsOut:
    """Edit the event (moderator token); omitted fields stay as they are."""
    edit = events.update_event(session, event=event, **body.model_dump(exclude_unset=True))
    for change in edit.changes:
        live.publish(change)
    e = edit.event
    return EventDetailsOut(
        id=e.id or 0,
        title=e.title,
        date=e.date,
        place=e.place,
        organiser=e.organiser,
        categories=e.categories,
        glossary=e.glossary,
    )


class TableEditIn(StrictIn):
    title: str | None = None
    question: str | None = None
    format: TableFormatField | None = Field(
        default=None,
        description="Only while the table is in preparation and was never opened (409 after). "
        + FORMAT_HELP,
    )
    voting: Voting | None = Field(
        default=None, description="Only until voting has opened (409 after)."
    )


class TableDetailsOut(BaseModel):
    code: str
    event_id: int
    title: str
    question: str
    format: TableFormatField
    voting: Voting
    seq: int


def rules_of(voting: ApprovalVoting | DotsVoting) -> tables.VotingRules:
    """The settings as sent, checked by the method they name."""
    settings = voting.model_dump()
    return tables.VotingRules.checked(
        voting.mode, settings.get("dots"), settings.get("max_per_proposal")
    )


@router.patch("/tables/{code}", response_model=TableDetailsOut)
def edit_table(
    body: TableEditIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> TableDetailsOut:
    """Edit the theme, the question, the voting method and the counting rule (moderator or
    facilitator)."""
    change = tables.update_table(
        session,
        table,
        title=body.title,
        question=body.question,
        voting=rules_of(body.voting) if body.voting is not None else None,
        weighting=body.voting.weighting if body.voting is not None else None,
        format=body.format,
    )
    live.publish(change)
    fresh = tables.table_by_code(session, table.code)
    return TableDetailsOut(
        code=fresh.code,
        event_id=fresh.event_id,
        title=fresh.title,
        question=fresh.question,
        format=TableFormat(fresh.format),
        voting=voting_of(fresh),
        seq=fresh.seq,
    )


class StrictAnsweredIn(AnsweredIn):
    model_config = ConfigDict(extra="forbid")


@router.put("/proposals/{proposal_id}/answered", response_model=Changed)
def answered(
    request: Request,
    proposal_id: int,
    body: StrictAnsweredIn,
    session: SessionDep,
    token: TokenDep,
    live: LiveDep,
) -> Changed:
    """Questions and answers: mark a question answered with a short note for the minutes
    (its support is frozen: further supports are refused), or open again (moderator or
    facilitator; the same as `PUT /api/tables/{code}/proposals/{id}/answered`)."""
    table = access.table_of_proposal_for_runner(
        session, token, proposal_id, client=ratelimit.address(request)
    )
    change = questions.set_answered(
        session, table, proposal_id, answered=body.answered, note=body.note
    )
    live.publish(change)
    seq = change.seq if change.seq is not None else state.current_seq(session, table.id or 0)
    return Changed(seq=seq)


@router.delete("/tables/{code}", status_code=204)
def delete_table(
    request: Request, code: str, session: SessionDep, token: TokenDep, live: LiveDep
) -> Response:
    """Erase the table with everything about it (the event's moderator only)."""
    try:
        _event, table = access.table_for_moderator(
            session, token, code, client=ratelimit.address(request)
        )
    except Forbidden:  # a facilitator's token, say: tell them whose it is to do
        raise Forbidden("Only the event's moderator can delete a table") from None
    live.deleted(privacy.delete_table(session, table=table))
    return Response(status_code=204)


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "content-disposition": content_disposition(name, inline=False),
            "cache-control": "no-store",
        },
    )


@router.get("/tables/{code}/card.pdf", response_class=Response)
def table_card(
    request: Request, session: SessionDep, table: ApiRunnerTableDep, settings: SettingsDep
) -> Response:
    """The table's printable A4 card: theme, question, QR, code (moderator or facilitator)."""
    event = tables.event_of(session, table)
    base = public_base(request, settings.tavoli_public_url)
    return _pdf(cards.cards_pdf(event, [table], base), cards.filename(event, table))


@router.get("/events/{event_id}/cards.pdf", response_class=Response)
def event_cards(
    request: Request,
    session: SessionDep,
    event: ApiModeratorDep,
    settings: SettingsDep,
) -> Response:
    """Every table's card, one page each, in one PDF (moderator token)."""
    base = public_base(request, settings.tavoli_public_url)
    found = tables.tables_of(session, event)
    return _pdf(cards.cards_pdf(event, found, base), cards.filename(event))
