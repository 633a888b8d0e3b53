"""Report downloads: the JSON API (bearer token) and the coordinator's downloads page
(capability link /c/{token}), both over the same builder and renderers."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app import i18n, ratelimit, reports
from app.api_errors import ERROR_RESPONSES
from app.deps import SessionDep, SettingsDep, TokenDep
from app.models import Table, utcnow
from app.reports import access, data, formats, labels
from app.reports.html import csp
from app.routing import UnitOfWorkRoute
from app.services.errors import Forbidden
from app.templating import TEMPLATE_DIR, templates
from app.web import csrf_token, public_base

Format = formats.FormatKey
Lang = Annotated[Literal["it", "en"] | None, Query(description="Language; Italian by default.")]

api = APIRouter(
    prefix="/api", tags=["reports"], responses=ERROR_RESPONSES, route_class=UnitOfWorkRoute
)
pages = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)


class CoordinatorOut(BaseModel):
    token: str = Field(description="Shown once; stored hashed. A new one revokes the old.")
    url: str


def _file(body: bytes, fmt: str, name: str) -> Response:
    kind = formats.get(fmt)
    headers = {
        "content-disposition": reports.content_disposition(name, inline=kind.inline),
        "cache-control": "no-store",
    }
    if kind.inline:  # the HTML minutes, opened in the browser: only their own stylesheet
        headers["content-security-policy"] = csp()
    return Response(body, media_type=kind.media_type, headers=headers)


def _table_file(
    session: Session, table: Table, fmt: str, lang: str | None, min_group: int
) -> Response:
    with i18n.using_locale(lang or i18n.current_locale()):
        report = data.build_table_report(session, table, min_group=min_group)
        body = reports.render_table(report, fmt, generated=utcnow())
        draft = labels.draft() if report.draft else ""
    name = reports.filename(report.event.title, report.event.date, fmt, table.title, draft=draft)
    return _file(body, fmt, name)


def _event_file(
    session: Session, reader: access.Reader, fmt: str, lang: str | None, min_group: int
) -> Response:
    event = reader.check_event()
    with i18n.using_locale(lang or i18n.current_locale()):
        report = data.build_event_report(session, event, min_group=min_group)
        body = reports.render_event(report, fmt, generated=utcnow())
        draft = labels.draft() if report.draft else ""
    return _file(body, fmt, reports.filename(event.title, event.date, fmt, draft=draft))


@api.get("/tables/{code}/report.{fmt}", response_class=Response)
def table_report(
    request: Request,
    code: str,
    fmt: Format,
    session: SessionDep,
    settings: SettingsDep,
    token: TokenDep,
    lang: Lang = None,
) -> Response:
    """A table's minutes, for the moderator's, the coordinator's or its facilitator's token."""
    table = access.readable_table(session, token, code, client=ratelimit.address(request))
    return _table_file(session, table, fmt, lang, settings.tavoli_report_min_group)


@api.get("/events/{event_id}/report.{fmt}", response_class=Response)
def event_report(
    event_id: int,
    fmt: Format,
    session: SessionDep,
    settings: SettingsDep,
    token: TokenDep,
    lang: Lang = None,
) -> Response:
    """The event's synthesis with every table, for the moderator's or coordinator's token."""
    reader = access.reader(session, token)
    reader.check_event(event_id)
    return _event_file(session, reader, fmt, lang, settings.tavoli_report_min_group)


@api.post("/events/{event_id}/coordinator-link", status_code=201, response_model=CoordinatorOut)
def coordinator_link(
    request: Request, event_id: int, session: SessionDep, settings: SettingsDep, token: TokenDep
) -> CoordinatorOut:
    """A read-only link for the Ufficio di Piano; only the event's moderator makes one."""
    reader = access.reader(session, token)
    if reader.role != "moderator":
        raise Forbidden("Only the event's moderator can hand out coordinator links")
    event = reader.check_event(event_id)
    new = access.new_coordinator_link(session, event)
    return CoordinatorOut(
        token=new, url=f"{public_base(request, settings.tavoli_public_url)}/c/{new}"
    )


DOWNLOADS_JS = TEMPLATE_DIR / "reports" / "downloads.js"


@pages.get("/_reports/downloads.js")
def downloads_script() -> Response:
    return Response(
        DOWNLOADS_JS.read_bytes(),
        media_type="text/javascript",
        headers={"cache-control": "public, max-age=3600"},
    )


@pages.get("/c/{token}")
def downloads(request: Request, token: str, session: SessionDep) -> Response:
    reader = access.reader(session, token)
    rows = [(t, data.proposal_count(session, t.id or 0)) for t in reader.tables(session)]
    return templates.TemplateResponse(
        request,
        "reports/downloads.html",
        {
            "reader": reader,
            "event": reader.event,
            "rows": rows,
            "base": f"/c/{token}",
            "formats": formats.FORMATS,
            "csrf_token": csrf_token(request, request.app.state.signer),
        },
        headers={"cache-control": "no-store"},
    )


@pages.get("/run/{token}/{code}/reports")
def console_downloads(request: Request, token: str, code: str, session: SessionDep) -> Response:
    """The console links here with a relative path (its pushed fragments carry no token)."""
    access.readable_table(session, token, code, client=ratelimit.address(request))
    return RedirectResponse(f"/c/{token}", status_code=303)


@pages.get("/c/{token}/tables/{code}/report.{fmt}")
def table_download(
    request: Request,
    token: str,
    code: str,
    fmt: Format,
    session: SessionDep,
    settings: SettingsDep,
    lang: Lang = None,
) -> Response:
    table = access.readable_table(session, token, code, client=ratelimit.address(request))
    return _table_file(session, table, fmt, lang, settings.tavoli_report_min_group)


@pages.get("/c/{token}/report.{fmt}")
def event_download(
    token: str, fmt: Format, session: SessionDep, settings: SettingsDep, lang: Lang = None
) -> Response:
    reader = access.reader(session, token)
    return _event_file(session, reader, fmt, lang, settings.tavoli_report_min_group)
