"""Organiser and moderator pages, behind capability links."""

import datetime as dt
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.deps import SessionDep, SettingsDep, csrf_protect
from app.reports import access as report_access
from app.routing import UnitOfWorkRoute
from app.services import access, events, tables
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
def organiser(request: Request, token: str, settings: SettingsDep) -> Response:
    events.check_admin(admin_token=settings.admin_token, given=token)
    return _page(
        request,
        "pages/organiser.html",
        token=token,
        today=dt.date.today(),
        default_categories=events.DEFAULT_CATEGORIES,
    )


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
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise Invalid("Enter the date of the event", field="date") from None
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
def moderator(request: Request, token: str, session: SessionDep, created: bool = False) -> Response:
    return _dashboard(request, token, session, created=created)


def _dashboard(
    request: Request,
    token: str,
    session: Session,
    *,
    created: bool = False,
    new_link: tuple[str, str] | None = None,
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
        new_link=new_link,
        coordinator_url=coordinator_url,
    )


@router.post("/m/{token}/tables/{code}/facilitator")
def facilitator_link(
    request: Request, token: str, code: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """A link that runs one table only, for the volunteer who facilitates it."""
    events.event_for_moderator(session, token)
    table = access.table_for_runner(session, token, code)
    new = access.new_facilitator_link(session, table)
    url = f"{public_base(request, settings.tavoli_public_url)}/run/{new}/{table.code}/"
    return _dashboard(request, token, session, new_link=(table.code, url))


@router.post("/m/{token}/coordinator")
def coordinator_link(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> Response:
    """A read-only link to the reports, for the Ufficio di Piano; a new one revokes the old."""
    event = events.event_for_moderator(session, token)
    new = report_access.new_coordinator_link(session, event)
    url = f"{public_base(request, settings.tavoli_public_url)}/c/{new}"
    return _dashboard(request, token, session, coordinator_url=url)


@router.post("/m/{token}/tables")
def create_table(
    token: str,
    session: SessionDep,
    title: Annotated[str, Form()] = "",
    question: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "approval",
    dots: Annotated[int, Form()] = 5,
    max_per_proposal: Annotated[int, Form()] = 3,
) -> Response:
    event = events.event_for_moderator(session, token)
    rules = tables.VotingRules.checked(mode, dots, max_per_proposal)
    tables.create_table(session, event=event, title=title, question=question, voting=rules)
    return RedirectResponse(f"/m/{token}", status_code=303)
