"""Organiser and moderator pages, behind capability links."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.deps import SessionDep, SettingsDep, csrf_protect
from app.services import events, tables
from app.services.errors import Invalid
from app.templating import templates
from app.web import csrf_token

router = APIRouter(dependencies=[Depends(csrf_protect)], include_in_schema=False)


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
    event = events.event_for_moderator(session, token)
    return _page(
        request,
        "pages/moderator.html",
        token=token,
        event=event,
        tables=tables.tables_of(session, event),
        created=created,
    )


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
