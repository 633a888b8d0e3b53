"""JSON API for running a table: phases, timer, projector, moderation, proxy input.

Every route takes the event's moderator token or the table's facilitator token.
"""

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.api_errors import ERROR_RESPONSES
from app.deps import ApiRunnerTableDep, LiveDep, SessionDep, SettingsDep, TokenDep
from app.live.broadcaster import Broadcaster, Committed
from app.routing import UnitOfWorkRoute
from app.services import access, moderation, phases, proposals, screen, state, voting
from app.services.errors import Forbidden
from app.web import public_base

router = APIRouter(
    prefix="/api/tables/{code}",
    tags=["facilitation"],
    responses=ERROR_RESPONSES,
    route_class=UnitOfWorkRoute,
)

Phase = Literal["preparation", "collect", "discussion", "voting", "closed"]
ScreenMode = Literal["join", "wall", "spotlight", "results", "timer"]


class Changed(BaseModel):
    seq: int = Field(description="The table's sequence number after the change.")


class PhaseIn(BaseModel):
    phase: Phase


class TimerIn(BaseModel):
    seconds: int = Field(description="Length of the countdown, 1 s to 4 h.")
    advance: bool = Field(default=False, description="Move to the next phase at zero.")


class ExtendIn(BaseModel):
    seconds: int


class SettingsIn(BaseModel):
    premoderation: bool | None = None
    post_in_discussion: bool | None = None
    results_hidden: bool | None = None
    group_by_tag: bool | None = None
    joining_open: bool | None = Field(default=None, description="New participants may join.")
    max_posts: int | None = Field(default=None, description="Posts per participant, 1 to 500.")


class ScreenIn(BaseModel):
    mode: ScreenMode
    spotlight_id: int | None = None


class NoteIn(BaseModel):
    note: str = ""


class TextIn(BaseModel):
    title: str
    body: str = ""


class MergeIn(BaseModel):
    survivor_id: int = Field(description="The proposal whose wording survives.")
    proposal_ids: list[int] = Field(description="The duplicates folded into it.")


class MergeOut(BaseModel):
    id: int
    seq: int


class TagIn(BaseModel):
    name: str


class TagOut(BaseModel):
    id: int
    name: str


class TagProposalsIn(BaseModel):
    proposal_ids: list[int]
    on: bool = True


class PaperParticipantIn(BaseModel):
    name: str
    category: str = ""


class PaperParticipantOut(BaseModel):
    id: int
    name: str


class ProposalIn(BaseModel):
    kind: Literal["need", "proposal", "resource"] = "proposal"
    title: str
    body: str = ""


class VoteIn(BaseModel):
    dots: int


class FacilitatorOut(BaseModel):
    token: str = Field(description="Shown once; stored hashed. A new one revokes the old.")
    url: str


def _done(live: Broadcaster, session: Session, change: Committed) -> Changed:
    """Publish what the service committed and answer with the table's seq after it."""
    live.publish(change)
    seq = change.seq if change.seq is not None else state.current_seq(session, change.table_id)
    return Changed(seq=seq)


@router.put("/phase", response_model=Changed)
def set_phase(
    body: PhaseIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, phases.set_phase(session, table, body.phase))


@router.put("/timer", response_model=Changed)
def start_timer(
    body: TimerIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    change = phases.start_timer(session, table, seconds=body.seconds, advance=body.advance)
    return _done(live, session, change)


@router.post("/timer/extend", response_model=Changed)
def extend_timer(
    body: ExtendIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, phases.extend_timer(session, table, seconds=body.seconds))


@router.delete("/timer", response_model=Changed)
def stop_timer(session: SessionDep, table: ApiRunnerTableDep, live: LiveDep) -> Changed:
    return _done(live, session, phases.stop_timer(session, table))


@router.patch("/settings", response_model=Changed)
def update_settings(
    body: SettingsIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, screen.update_settings(session, table, **body.model_dump()))


@router.put("/screen", response_model=Changed)
def set_screen(
    body: ScreenIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(
        live, session, screen.set_mode(session, table, body.mode, spotlight_id=body.spotlight_id)
    )


@router.post("/proposals/{proposal_id}/accept", response_model=Changed)
def accept(
    proposal_id: int, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, moderation.accept(session, table, proposal_id))


@router.post("/proposals/{proposal_id}/reject", response_model=Changed)
def reject(
    proposal_id: int, body: NoteIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, moderation.reject(session, table, proposal_id, note=body.note))


@router.post("/proposals/{proposal_id}/rephrase", response_model=Changed)
def rephrase(
    proposal_id: int, body: NoteIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(
        live, session, moderation.ask_rephrase(session, table, proposal_id, note=body.note)
    )


@router.post("/proposals/{proposal_id}/hide", response_model=Changed)
def hide(proposal_id: int, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep) -> Changed:
    return _done(live, session, moderation.hide(session, table, proposal_id))


@router.post("/proposals/{proposal_id}/restore", response_model=Changed)
def restore(
    proposal_id: int, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, moderation.restore(session, table, proposal_id))


@router.put("/proposals/{proposal_id}/text", response_model=Changed)
def edit(
    proposal_id: int, body: TextIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    """Edit a post's wording; the author's original is kept and the card marked as edited."""
    return _done(
        live,
        session,
        moderation.edit(session, table, proposal_id, title=body.title, body=body.body),
    )


@router.post("/merges", status_code=201, response_model=MergeOut)
def merge(body: MergeIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep) -> MergeOut:
    merged = moderation.merge(
        session, table, survivor_id=body.survivor_id, merged_ids=body.proposal_ids
    )
    live.publish(merged)
    return MergeOut(id=merged.merge_id, seq=merged.seq)


@router.delete("/merges/{merge_id}", response_model=Changed)
def undo_merge(
    merge_id: int, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, moderation.undo_merge(session, table, merge_id))


@router.post("/tags", status_code=201, response_model=TagOut)
def create_tag(body: TagIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep) -> TagOut:
    created = moderation.create_tag(session, table, body.name)
    live.publish(created)
    return TagOut(id=created.tag_id, name=created.name)


@router.delete("/tags/{tag_id}", response_model=Changed)
def delete_tag(
    tag_id: int, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, moderation.delete_tag(session, table, tag_id))


@router.post("/tags/{tag_id}/proposals", response_model=Changed)
def tag_proposals(
    tag_id: int, body: TagProposalsIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    change = moderation.set_tag(
        session, table, tag_id=tag_id, proposal_ids=body.proposal_ids, on=body.on
    )
    return _done(live, session, change)


@router.delete("/participants/{participant_id}", response_model=Changed)
def remove_participant(
    participant_id: int, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> Changed:
    return _done(live, session, moderation.remove_participant(session, table, participant_id))


@router.post("/paper-participants", status_code=201, response_model=PaperParticipantOut)
def add_paper_participant(
    body: PaperParticipantIn, session: SessionDep, table: ApiRunnerTableDep, live: LiveDep
) -> PaperParticipantOut:
    added = moderation.add_paper_participant(session, table, name=body.name, category=body.category)
    live.publish(added)
    return PaperParticipantOut(id=added.participant.id or 0, name=added.participant.name)


@router.post(
    "/paper-participants/{participant_id}/proposals", status_code=201, response_model=Changed
)
def post_for(
    participant_id: int,
    body: ProposalIn,
    session: SessionDep,
    table: ApiRunnerTableDep,
    live: LiveDep,
) -> Changed:
    person = moderation.paper_participant(session, table, participant_id)
    posted = proposals.post_proposal(
        session, participant=person, kind=body.kind, title=body.title, body=body.body
    )
    return _done(live, session, posted)


@router.put("/paper-participants/{participant_id}/votes/{proposal_id}", response_model=Changed)
def vote_for(
    participant_id: int,
    proposal_id: int,
    body: VoteIn,
    session: SessionDep,
    table: ApiRunnerTableDep,
    live: LiveDep,
) -> Changed:
    person = moderation.paper_participant(session, table, participant_id)
    result = voting.set_vote(session, participant=person, proposal_id=proposal_id, dots=body.dots)
    return _done(live, session, result)


@router.post("/facilitator-link", status_code=201, response_model=FacilitatorOut)
def facilitator_link(
    request: Request,
    session: SessionDep,
    table: ApiRunnerTableDep,
    token: TokenDep,
    settings: SettingsDep,
) -> FacilitatorOut:
    if not access.is_event_moderator(session, token, table):
        raise Forbidden("Only the event's moderator can hand out facilitator links")
    new = access.new_facilitator_link(session, table)
    base = public_base(request, settings.tavoli_public_url)
    return FacilitatorOut(token=new, url=f"{base}/run/{new}/{table.code}/")


@router.get("/moderation")
def moderation_view(session: SessionDep, table: ApiRunnerTableDep) -> dict[str, Any]:
    """What only moderators see: the queue, posts off the wall, tags, merges, timeline."""
    current = state.table_state(session, table)
    return {
        "seq": current.seq,
        "phase": table.phase,
        "queue": [p.as_json() for p in current.queue],
        "off_wall": [{**p.as_json(), "note": p.moderator_note} for p in current.off_wall],
        "tags": [{"id": t.id, "name": t.name} for t in current.tags],
        "merges": [
            {"id": m.id, "survivor_id": m.survivor_id, "merged_ids": m.merged_ids}
            for m in current.merges
        ],
        "timeline": [
            {"phase": c.phase, "at": c.at.isoformat()} for c in phases.timeline(session, table)
        ],
    }
