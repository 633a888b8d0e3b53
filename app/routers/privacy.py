"""Personal data, on both doors: the event's privacy notice, a participant's own data (see
and erase), deleting an event. The rules are in app/services/privacy.py."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app import ratelimit
from app.api_errors import ERROR_RESPONSES
from app.deps import LiveDep, SessionDep, SettingsDep, SignerDep, TokenDep, csrf_protect
from app.models import Event, Participant, Table
from app.routing import UnitOfWorkRoute
from app.security import Signer
from app.services import events, participants, privacy, tables
from app.services.errors import Invalid
from app.templating import templates
from app.web import csrf_token

api = APIRouter(
    prefix="/api", tags=["privacy"], responses=ERROR_RESPONSES, route_class=UnitOfWorkRoute
)
pages = APIRouter(
    dependencies=[Depends(csrf_protect)], include_in_schema=False, route_class=UnitOfWorkRoute
)

PARTICIPANT_COOKIE = "tavoli_p"  # app/routers/pages.py sets it


class NoticeIn(BaseModel):
    """The privacy notice (art. 13 GDPR); every field empty clears it."""

    controller: str = Field(default="", description="Titolare del trattamento.")
    dpo: str = Field(default="", description="Responsabile della protezione dei dati (RPD).")
    dpo_contact: str = Field(default="", description="How to reach the DPO.")
    purposes: str = Field(default="", description="Finalità.")
    legal_basis: str = Field(default="", description="Base giuridica.")
    recipients: str = Field(default="", description="Destinatari.")
    retention: str = Field(default="", description="Conservazione, in words.")
    rights: str = Field(default="", description="Diritti dell'interessato.")
    complaint: str = Field(default="", description="Reclamo al Garante.")
    retention_days: int = Field(
        default=90, description="Days after the event when participants' data is erased."
    )


class NoticeOut(BaseModel):
    privacy: dict[str, str] = Field(description="The notice's fields; {} for the default.")
    retention_days: int
    erase_after: dt.date = Field(description="The day the retention sweep erases the data.")


class PostOut(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    status: str
    posted_at: dt.datetime


class VoteHeld(BaseModel):
    proposal_id: int
    title: str
    dots: int
    at: dt.datetime


class DissentHeld(BaseModel):
    proposal_id: int
    title: str
    reason: str


class MyDataOut(BaseModel):
    """Everything Tavoli holds about this participant (art. 15 GDPR)."""

    name: str
    organisation: str
    category: str
    named_in_minutes: bool = Field(description="Consent to be named in the minutes.")
    joined_at: dt.datetime
    posts: list[PostOut]
    votes: list[VoteHeld]
    dissent: list[DissentHeld] = Field(
        description="Proposals this participant said they disagree with, and the reasons."
    )


class ErasedOut(BaseModel):
    erased: bool
    seq: int | None = Field(description="None when there was nothing left to erase.")
    complete: bool = Field(
        description="False while an older database transaction (a backup, a migration) "
        "keeps the old row versions: they are removed by themselves as soon as it ends."
    )


def _notice_out(event: Event) -> NoticeOut:
    return NoticeOut(
        privacy=event.privacy,
        retention_days=event.retention_days,
        erase_after=privacy.erase_after(event),
    )


@api.put("/events/{event_id}/privacy", response_model=NoticeOut)
def put_notice(
    event_id: int, body: NoticeIn, session: SessionDep, settings: SettingsDep, token: TokenDep
) -> NoticeOut:
    """Fill in the event's privacy notice (moderator or organiser token)."""
    event = privacy.event_for_manager(session, event_id, token, settings.admin_token)
    fields = body.model_dump(exclude={"retention_days"})
    event = privacy.set_notice(
        session, event=event, fields=fields, retention_days=body.retention_days
    )
    return _notice_out(event)


@api.delete("/events/{event_id}", status_code=204)
def delete_event(
    event_id: int, session: SessionDep, settings: SettingsDep, token: TokenDep, live: LiveDep
) -> Response:
    """Erase the event and everything about it (moderator or organiser token)."""
    event = privacy.event_for_manager(session, event_id, token, settings.admin_token)
    live.deleted(privacy.delete_event(session, event=event))
    return Response(status_code=204)


def _bearer_participant(
    request: Request, session: Session, token: str | None, code: str
) -> tuple[Table, Participant]:
    """The participant behind a bearer token at this table, removed or not (their data is
    theirs to see and erase)."""
    admit = participants.holder(session, token)
    return tables.resolve_for(session, code, client=ratelimit.address(request), admit=admit)


@api.get("/tables/{code}/me", response_model=MyDataOut)
def get_my_data(request: Request, code: str, session: SessionDep, token: TokenDep) -> MyDataOut:
    """What Tavoli holds about the participant whose bearer token this is."""
    _table, me = _bearer_participant(request, session, token, code)
    data = privacy.my_data(session, me)
    return MyDataOut.model_validate(data, from_attributes=True)


@api.delete("/tables/{code}/me", response_model=ErasedOut)
def erase_my_data(
    request: Request, code: str, session: SessionDep, token: TokenDep, live: LiveDep
) -> ErasedOut:
    """Erase this participant's personal data: posts stay, anonymous; votes stay as counts;
    the token stops working."""
    _table, me = _bearer_participant(request, session, token, code)
    change = privacy.erase_participant(session, participant=me)
    live.publish(change)
    return ErasedOut(erased=True, seq=change.seq, complete=not privacy.scrub_pending(session))


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    context["csrf_token"] = csrf_token(request, request.app.state.signer)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


@pages.get("/t/{code}/privacy")
def notice_page(request: Request, code: str, session: SessionDep) -> Response:
    table = tables.resolve(session, code, client=ratelimit.address(request))
    event = tables.event_of(session, table)
    return _page(
        request,
        "pages/privacy.html",
        table=table,
        event=event,
        filled=privacy.notice_filled(event),
        fields=privacy.NOTICE_FIELDS,
        erase_after=privacy.erase_after(event),
    )


def _cookie_participant(
    request: Request, session: Session, signer: Signer, code: str
) -> tuple[Table, Participant]:
    """This phone's participant at the table (removed or not: their data is theirs)."""
    token = signer.unsign(request.cookies.get(PARTICIPANT_COOKIE))
    admit = participants.member(session, token)
    return tables.resolve_for(session, code, client=ratelimit.address(request), admit=admit)


@pages.get("/t/{code}/my-data")
def my_data_page(request: Request, code: str, session: SessionDep, signer: SignerDep) -> Response:
    table, me = _cookie_participant(request, session, signer, code)
    return _page(
        request,
        "pages/my_data.html",
        table=table,
        event=tables.event_of(session, table),
        data=privacy.my_data(session, me),
    )


@pages.post("/t/{code}/my-data/erase")
def erase_my_data_page(
    request: Request,
    code: str,
    session: SessionDep,
    signer: SignerDep,
    live: LiveDep,
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    table, me = _cookie_participant(request, session, signer, code)
    if not confirm:
        raise Invalid("Tick the box to confirm", field="confirm")
    live.publish(privacy.erase_participant(session, participant=me))
    response = _page(
        request,
        "pages/privacy_done.html",
        what="participant",
        table=table,
        pending=privacy.scrub_pending(session),
    )
    response.delete_cookie(PARTICIPANT_COOKIE, path=f"/t/{table.code}")
    return response


@pages.post("/m/{token}/privacy")
def notice_form(
    token: str,
    session: SessionDep,
    controller: Annotated[str, Form()] = "",
    dpo: Annotated[str, Form()] = "",
    dpo_contact: Annotated[str, Form()] = "",
    purposes: Annotated[str, Form()] = "",
    legal_basis: Annotated[str, Form()] = "",
    recipients: Annotated[str, Form()] = "",
    retention: Annotated[str, Form()] = "",
    rights: Annotated[str, Form()] = "",
    complaint: Annotated[str, Form()] = "",
    retention_days: Annotated[int, Form()] = 90,
) -> Response:
    event = events.event_for_moderator(session, token)
    fields = {
        "controller": controller,
        "dpo": dpo,
        "dpo_contact": dpo_contact,
        "purposes": purposes,
        "legal_basis": legal_basis,
        "recipients": recipients,
        "retention": retention,
        "rights": rights,
        "complaint": complaint,
    }
    privacy.set_notice(session, event=event, fields=fields, retention_days=retention_days)
    return RedirectResponse(f"/m/{token}?privacy_saved=1#privacy-title", status_code=303)


@pages.post("/m/{token}/delete")
def delete_event_form(
    request: Request,
    token: str,
    session: SessionDep,
    live: LiveDep,
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    event = events.event_for_moderator(session, token)
    if not confirm:
        raise Invalid("Tick the box to confirm", field="confirm")
    live.deleted(privacy.delete_event(session, event=event))
    return _page(request, "pages/privacy_done.html", what="event", table=None)
