"""The plenary (issue 19): the event moderator's projectable view of every table, its live
region pushed over the event's one stream (`sockets._event_stream`), and its theme
decisions from the page (htmx, CSRF) and the API, over `services/plenary.py`."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api_errors import ERROR_RESPONSES
from app.deps import ApiModeratorDep, LiveDep, SessionDep, csrf_protect
from app.enums import ThemeDecision
from app.i18n import gettext
from app.live.broadcaster import Broadcaster
from app.routing import UnitOfWorkRoute
from app.services import events, plenary
from app.services.errors import Invalid
from app.templating import templates
from app.web import csrf_token

api = APIRouter(
    prefix="/api", tags=["plenary"], responses=ERROR_RESPONSES, route_class=UnitOfWorkRoute
)
pages = APIRouter(
    dependencies=[Depends(csrf_protect)], include_in_schema=False, route_class=UnitOfWorkRoute
)


def _publish(live: Broadcaster, done: plenary.ThemeChange) -> None:
    for change in done.changes:
        live.publish(change)


@pages.get("/m/{token}/plenary")
def plenary_page(request: Request, token: str, session: SessionDep) -> Response:
    event = events.event_for_moderator(session, token)
    return templates.TemplateResponse(
        request,
        "pages/plenary.html",
        {
            "event": event,
            "plenary": plenary.plenary(session, event),
            "token": token,
            "csrf_token": csrf_token(request, request.app.state.signer),
        },
        headers={"cache-control": "no-store"},
    )


def _ids(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise Invalid("A theme groups posts of two tables or more", field="posts") from None


def _answer(request: Request, token: str, message: str) -> Response:
    """The moderator's own answer: a flash (the push redraws the plenary, here too)."""
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/m/{token}/plenary", status_code=303)
    return templates.TemplateResponse(
        request,
        "partials/_flash.html",
        {"message": message, "level": "ok"},
        headers={"hx-retarget": "#flash", "hx-reswap": "innerHTML"},
    )


@pages.post("/m/{token}/plenary/themes")
def decide_theme(
    request: Request,
    token: str,
    session: SessionDep,
    live: LiveDep,
    posts: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
) -> Response:
    event = events.event_for_moderator(session, token)
    done = plenary.decide_theme(session, event=event, post_ids=_ids(posts), decision=decision)
    _publish(live, done)
    confirmed = decision == ThemeDecision.CONFIRMED
    return _answer(
        request, token, gettext("Theme confirmed.") if confirmed else gettext("Theme dismissed.")
    )


@pages.post("/m/{token}/plenary/themes/{theme_id}/forget")
def forget_theme(
    request: Request, token: str, theme_id: int, session: SessionDep, live: LiveDep
) -> Response:
    event = events.event_for_moderator(session, token)
    _publish(live, plenary.forget_theme(session, event=event, theme_id=theme_id))
    return _answer(request, token, gettext("Decision taken back."))


class ThemeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    posts: list[int] = Field(description="The ids of the posts the theme groups (2+ tables).")
    decision: ThemeDecision


class PlenaryItemOut(BaseModel):
    id: int
    table_id: int
    table: str
    kind: str
    title: str
    rank: int | None = Field(description="None where the table hides its results.")
    tally: int | None = Field(description="None where the table hides its results.")


class PlenaryThemeOut(BaseModel):
    id: int | None = Field(description="The stored decision's id; None for a suggestion.")
    title: str
    decision: str | None
    posts: list[PlenaryItemOut]


class PlenaryTableOut(BaseModel):
    id: int
    title: str
    phase: str
    tallies_shown: bool
    priorities: list[PlenaryItemOut]


class PlenaryOut(BaseModel):
    tables: list[PlenaryTableOut]
    themes: list[PlenaryThemeOut] = Field(description="Confirmed themes, then the suggested ones.")
    unanswered_needs: list[PlenaryItemOut]
    resources: list[PlenaryItemOut]


def _item(item: plenary.Item) -> PlenaryItemOut:
    return PlenaryItemOut(
        id=item.id,
        table_id=item.table_id,
        table=item.table,
        kind=item.kind,
        title=item.title,
        rank=item.rank or None,
        tally=item.tally,
    )


def _out(current: plenary.Plenary) -> PlenaryOut:
    return PlenaryOut(
        tables=[
            PlenaryTableOut(
                id=t.id,
                title=t.title,
                phase=t.phase,
                tallies_shown=t.shown,
                priorities=[_item(i) for i in t.priorities],
            )
            for t in current.tables
        ],
        themes=[
            PlenaryThemeOut(
                id=t.id, title=t.title, decision=t.decision, posts=[_item(i) for i in t.items]
            )
            for t in (*current.confirmed, *current.suggested)
        ],
        unanswered_needs=[_item(i) for i in current.needs],
        resources=[_item(i) for i in current.resources],
    )


@api.get("/events/{event_id}/plenary", response_model=PlenaryOut)
def get_plenary(session: SessionDep, event: ApiModeratorDep) -> PlenaryOut:
    """The plenary as the projector shows it (figures only where each table shows them)."""
    return _out(plenary.plenary(session, event))


@api.post("/events/{event_id}/plenary/themes", response_model=PlenaryOut)
def post_theme(
    body: ThemeIn, session: SessionDep, event: ApiModeratorDep, live: LiveDep
) -> PlenaryOut:
    """Confirm or dismiss a theme (never touches the tables' tallies)."""
    _publish(
        live,
        plenary.decide_theme(session, event=event, post_ids=body.posts, decision=body.decision),
    )
    return _out(plenary.plenary(session, event))


@api.delete("/events/{event_id}/plenary/themes/{theme_id}", response_model=PlenaryOut)
def delete_theme(
    theme_id: int, session: SessionDep, event: ApiModeratorDep, live: LiveDep
) -> PlenaryOut:
    """Take a decision back: the theme is a suggestion again."""
    _publish(live, plenary.forget_theme(session, event=event, theme_id=theme_id))
    return _out(plenary.plenary(session, event))
