"""JSON API for running a table: phases, timer, projector, moderation, proxy input.

Every route takes the event's moderator token or the table's facilitator token. The
actions come from the one list in `app/actions.py`, which the console registers too.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from app.api_errors import ERROR_RESPONSES
from app.deps import ApiRunnerTableDep, LiveDep, SessionDep, SettingsDep, TokenDep
from app.routers.registered import register_api
from app.routing import UnitOfWorkRoute
from app.services import access, duplicates, phases, state
from app.services.errors import Forbidden
from app.web import public_base

router = APIRouter(
    prefix="/api/tables/{code}",
    tags=["facilitation"],
    responses=ERROR_RESPONSES,
    route_class=UnitOfWorkRoute,
)

register_api(router)


class FacilitatorOut(BaseModel):
    token: str = Field(description="Shown once; stored hashed. A new one revokes the old.")
    url: str


@router.post("/facilitator-link", status_code=201, response_model=FacilitatorOut)
def facilitator_link(
    request: Request,
    session: SessionDep,
    table: ApiRunnerTableDep,
    token: TokenDep,
    settings: SettingsDep,
    live: LiveDep,
) -> FacilitatorOut:
    if not access.is_event_moderator(session, token, table):
        raise Forbidden("Only the event's moderator can hand out facilitator links")
    new = access.new_facilitator_link(session, table)
    live.revoked((table.id or 0,))  # the old link's open consoles close
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


class DuplicatePair(BaseModel):
    a: int
    b: int
    score: float = Field(ge=0, le=1, description="How alike the two posts are, 0 to 1.")


class DuplicatesOut(BaseModel):
    pairs: list[DuplicatePair] = Field(description="Best first; dismissed pairs left out.")


@router.get("/duplicates", response_model=DuplicatesOut)
def likely_duplicates(
    session: SessionDep,
    table: ApiRunnerTableDep,
    limit: Annotated[int, Query(ge=1, le=duplicates.MAX_LIMIT)] = duplicates.DEFAULT_LIMIT,
) -> DuplicatesOut:
    """Pairs of posts on the wall that are likely duplicates (merge them with
    `POST /merges`, or `POST /duplicates/dismiss`). Resources pair only with resources."""
    pairs = duplicates.suggestions(session, table, limit=limit)
    return DuplicatesOut(
        pairs=[DuplicatePair(a=int(p.a), b=int(p.b), score=p.score) for p in pairs]
    )
