"""Organiser and moderator pages, behind capability links."""

import datetime as dt
import io
from types import SimpleNamespace
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app import ratelimit
from app.config import Settings
from app.deps import LiveDep, SessionDep, SettingsDep, csrf_protect
from app.enums import TableFormat, VotingMode, Weighting
from app.models import Event, Table
from app.reports import cards, content_disposition
from app.routing import UnitOfWorkRoute
from app.services import access, events, organisations, privacy, tables
from app.services.errors import Invalid
from app.templating import templates
from app.views import shared_context
from app.web import csrf_token, public_base

router = APIRouter(
    dependencies=[Depends(csrf_protect)], include_in_schema=False, route_class=UnitOfWorkRoute
)


def _page(request: Request, name: str, **context: Any) -> Response:
    context["csrf_token"] = csrf_token(request, request.app.state.signer)
    return templates.TemplateResponse(request, name, context)


@router.get("/admin/{token}")
def organiser(request: Request, token: str, session: SessionDep, settings: SettingsDep) -> Response:
    events.check_admin(admin_token=settings.admin_token, given=token)
    return _page(
        request,
        "pages/organiser.html",
        token=token,
        today=dt.date.today(),
        default_categories=events.DEFAULT_CATEGORIES,
        summaries=events.list_events(session),
    )


@router.post("/admin/{token}/events/{event_id}/moderator-link")
def reissue_moderator_link(
    token: str, event_id: int, session: SessionDep, settings: SettingsDep, live: LiveDep
) -> Response:
    """A new moderator link: the old one stops at once, its open consoles and dashboard
    too. The answer is the event's page under the new link, a GET that can be reloaded and
    bookmarked, which says so once."""
    events.check_admin(admin_token=settings.admin_token, given=token)
    new = events.new_moderator_link(session, events.event_by_id(session, event_id))
    live.revoked(new.table_ids)
    return RedirectResponse(f"/m/{new.token}?reissued=1", status_code=303)


@router.post("/admin/{token}/events")
def create_event(
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    title: Annotated[str, Form()] = "",
    date: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    organiser: Annotated[str, Form()] = "",
    categories: Annotated[str, Form()] = "",
) -> Response:
    events.check_admin(admin_token=settings.admin_token, given=token)
    day = _day(date)
    _event, moderator_token = events.create_event(
        session,
        title=title,
        date=day,
        place=place,
        organiser=organiser,
        categories=categories.splitlines(),
    )
    return RedirectResponse(f"/m/{moderator_token}?created=1", status_code=303)


@router.get("/m/{token}")
def moderator(
    request: Request,
    token: str,
    session: SessionDep,
    created: bool = False,
    reissued: bool = False,
) -> Response:
    return _dashboard(request, token, session, created=created, reissued=reissued)


def _dashboard(
    request: Request,
    token: str,
    session: Session,
    *,
    created: bool = False,
    reissued: bool = False,
    coordinator_url: str = "",
) -> Response:
    event = events.event_for_moderator(session, token)
    live = request.app.state.live
    rows = [
        SimpleNamespace(**shared_context(session, table, "dashboard", live.people(table.id)))
        for table in tables.tables_of(session, event)
    ]
    return _page(
        request,
        "pages/moderator.html",
        token=token,
        event=event,
        rows=rows,
        created=created,
        reissued=reissued,
        coordinator_url=coordinator_url,
        has_participants=events.has_participants(session, event),
        organisation_variants=organisations.variants(session, event),
    )


@router.post("/m/{token}/tables/{code}/facilitator")
def facilitator_link(
    request: Request, token: str, code: str, session: SessionDep, live: LiveDep
) -> Response:
    """A link that runs one table only, for the volunteer who facilitates it; the previous
    one stops working. Only its hash is stored, so the answer redirects to a page under the
    new link itself (`/run/{new}/{code}/link`): a GET that shows the link, survives a reload
    and can be bookmarked, where a POST's answer would re-submit (and revoke) on reload."""
    _event, table = access.table_for_moderator(
        session, token, code, client=ratelimit.address(request)
    )
    new = access.new_facilitator_link(session, table)
    live.revoked((table.id or 0,))  # the old link's open consoles close
    return RedirectResponse(f"/run/{new}/{table.code}/link", status_code=303)


@router.get("/run/{token}/{code}/link")
def facilitator_handout(
    request: Request, token: str, code: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """The facilitator link to hand out, shown by the link itself (facilitator links only)."""
    table = access.table_for_facilitator(session, token, code, client=ratelimit.address(request))
    base = public_base(request, settings.tavoli_public_url)
    return _page(
        request,
        "pages/admin_facilitator.html",
        table=table,
        event=tables.event_of(session, table),
        console_path=f"/run/{token}/{table.code}/",
        url=f"{base}/run/{token}/{table.code}/",
    )


@router.get("/run/{token}/{code}/link/qr.svg")
def facilitator_qr(
    request: Request, token: str, code: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """The facilitator link as a QR code, for the volunteer's phone or tablet to scan."""
    table = access.table_for_facilitator(session, token, code, client=ratelimit.address(request))
    url = f"{public_base(request, settings.tavoli_public_url)}/run/{token}/{table.code}/"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2, title=table.code)
    return Response(
        buffer.getvalue(),
        media_type="image/svg+xml",
        headers={"cache-control": "no-store", "referrer-policy": "no-referrer"},
    )


@router.get("/run/{token}/{code}/card.pdf")
def facilitator_card(
    request: Request, token: str, code: str, session: SessionDep, settings: SettingsDep
) -> Response:
    table = access.table_for_runner(session, token, code, client=ratelimit.address(request))
    return _card_file(request, session, settings, tables.event_of(session, table), [table])


@router.get("/m/{token}/tables/{code}/card.pdf")
def table_card(
    request: Request, token: str, code: str, session: SessionDep, settings: SettingsDep
) -> Response:
    event, table = access.table_for_moderator(
        session, token, code, client=ratelimit.address(request)
    )
    return _card_file(request, session, settings, event, [table])


@router.get("/m/{token}/cards.pdf")
def event_cards(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    event = events.event_for_moderator(session, token)
    return _card_file(request, session, settings, event, tables.tables_of(session, event))


def _card_file(
    request: Request, session: Session, settings: Settings, event: Event, found: list[Table]
) -> Response:
    base = public_base(request, settings.tavoli_public_url)
    body = cards.cards_pdf(event, found, base)
    name = cards.filename(event, found[0] if len(found) == 1 else None)
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "content-disposition": content_disposition(name, inline=False),
            "cache-control": "no-store",
        },
    )


@router.post("/m/{token}/event")
def edit_event(
    token: str,
    session: SessionDep,
    live: LiveDep,
    title: Annotated[str, Form()] = "",
    date: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    organiser: Annotated[str, Form()] = "",
    categories: Annotated[str | None, Form()] = None,
) -> Response:
    event = events.event_for_moderator(session, token)
    edit = events.update_event(
        session,
        event=event,
        title=title,
        date=_day(date),
        place=place,
        organiser=organiser,
        categories=categories.splitlines() if categories is not None else None,
    )
    for change in edit.changes:
        live.publish(change)
    return RedirectResponse(f"/m/{token}?event_saved=1#event-title", status_code=303)


@router.get("/m/{token}/tables/{code}")
def table_settings(request: Request, token: str, code: str, session: SessionDep) -> Response:
    """Edit or delete one table."""
    event, table = access.table_for_moderator(
        session, token, code, client=ratelimit.address(request)
    )
    return _page(
        request,
        "pages/admin_table.html",
        token=token,
        event=event,
        table=table,
        voting_opened=tables.voting_opened(session, table),
        contents=tables.contents(session, table),
    )


@router.post("/m/{token}/tables/{code}")
def edit_table(
    request: Request,
    token: str,
    code: str,
    session: SessionDep,
    live: LiveDep,
    title: Annotated[str, Form()] = "",
    question: Annotated[str, Form()] = "",
    mode: Annotated[str | None, Form()] = None,
    dots: Annotated[int, Form()] = 5,
    max_per_proposal: Annotated[int, Form()] = 3,
    weighting: Annotated[str | None, Form()] = None,
    format: Annotated[str | None, Form()] = None,
) -> Response:
    _event, table = access.table_for_moderator(
        session, token, code, client=ratelimit.address(request)
    )
    rules = tables.VotingRules.checked(mode, dots, max_per_proposal) if mode else None
    live.publish(
        tables.update_table(
            session,
            table,
            title=title,
            question=question,
            voting=rules,
            weighting=weighting,
            format=format,
        )
    )
    return RedirectResponse(f"/m/{token}?saved={table.code}", status_code=303)


@router.post("/m/{token}/tables/{code}/delete")
def delete_table(
    request: Request,
    token: str,
    code: str,
    session: SessionDep,
    live: LiveDep,
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    _event, table = access.table_for_moderator(
        session, token, code, client=ratelimit.address(request)
    )
    if not confirm:
        raise Invalid("Tick the box to confirm", field="confirm")
    live.deleted(privacy.delete_table(session, table=table))
    return RedirectResponse(f"/m/{token}?deleted=1", status_code=303)


def _day(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid("Enter the date of the event", field="date") from None


@router.post("/m/{token}/coordinator")
def coordinator_link(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """A read-only link to the reports, for the Ufficio di Piano; a new one revokes the old."""
    event = events.event_for_moderator(session, token)
    new = events.new_coordinator_link(session, event)
    url = f"{public_base(request, settings.tavoli_public_url)}/c/{new}"
    return _dashboard(request, token, session, coordinator_url=url)


@router.post("/m/{token}/tables")
def create_table(
    token: str,
    session: SessionDep,
    title: Annotated[str, Form()] = "",
    question: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = VotingMode.APPROVAL,
    dots: Annotated[int, Form()] = 5,
    max_per_proposal: Annotated[int, Form()] = 3,
    weighting: Annotated[str, Form()] = Weighting.PERSON,
    format: Annotated[str, Form()] = TableFormat.TAVOLO,
) -> Response:
    event = events.event_for_moderator(session, token)
    rules = tables.VotingRules.checked(mode, dots, max_per_proposal)
    tables.create_table(
        session,
        event=event,
        title=title,
        question=question,
        voting=rules,
        weighting=weighting,
        format=format,
    )
    return RedirectResponse(f"/m/{token}", status_code=303)
