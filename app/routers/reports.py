"""Report downloads: the JSON API (bearer token) and the coordinator's downloads page
(capability link /c/{token}), both over the same builder and renderers."""

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from app import i18n, ratelimit, reports
from app.api_errors import ERROR_RESPONSES
from app.config import Settings
from app.db import open_session
from app.deps import SessionDep, SettingsDep, TokenDep
from app.models import Event, Table, utcnow
from app.reports import access, data, formats, labels
from app.reports.html import csp
from app.reports.jobs import Job, ReportFile, ReportQueue
from app.routing import UnitOfWorkRoute
from app.services import events
from app.services.errors import Forbidden, NotFound
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


POLL_SECONDS = 2  # the progress page asks again this often


@dataclass(frozen=True)
class Target:
    """What a reader asked for, authorised: the event, or one of its tables."""

    event_id: int
    table_id: int | None = None


def _file(report: ReportFile) -> Response:
    kind = formats.get(report.fmt)
    headers = {
        "content-disposition": reports.content_disposition(report.name, inline=kind.inline),
        "cache-control": "no-store",
    }
    if kind.inline:  # the HTML minutes, opened in the browser: only their own stylesheet
        headers["content-security-policy"] = csp()
    return Response(report.body, media_type=kind.media_type, headers=headers)


def _make(
    engine: Engine, target: Target, fmt: str, locale: str, min_group: int, base: str = ""
) -> ReportFile:
    """Build and render the file (a request thread for fast formats, the queue's for slow
    ones), reading the database in a session of its own."""
    with open_session(engine) as session, i18n.using_locale(locale):
        event = session.get(Event, target.event_id)
        table = session.get(Table, target.table_id) if target.table_id is not None else None
        if event is None or (target.table_id is not None and table is None):
            raise NotFound("This report no longer exists")
        if table is not None:
            report = data.build_table_report(session, table, min_group=min_group, base=base)
            body = reports.render_table(report, fmt, generated=utcnow())
            draft = labels.draft() if report.draft else ""
            name = reports.filename(event.title, event.date, fmt, table.title, draft=draft)
        else:
            event_report = data.build_event_report(session, event, min_group=min_group, base=base)
            body = reports.render_event(event_report, fmt, generated=utcnow())
            draft = labels.draft() if event_report.draft else ""
            name = reports.filename(event.title, event.date, fmt, draft=draft)
    return ReportFile(body, fmt, name)


def _authorise(
    engine: Engine,
    token: str | None,
    *,
    code: str | None = None,
    event_id: int | None = None,
    client: str | None = None,
) -> tuple[access.Reader, Target]:
    """The reader of `token` and what it may read: a table by code (a refusal counts as a
    failed lookup of `client`'s address), else the event."""
    with open_session(engine) as session:
        if code is not None:
            table = access.readable_table(session, token, code, client=client)
            return access.reader(session, token), Target(table.event_id, table.id)
        reader = access.reader(session, token)
        event = reader.check_event(event_id)
        return reader, Target(event.id or 0)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _reader(engine: Engine, token: str | None) -> access.Reader:
    with open_session(engine) as session:
        return access.reader(session, token)


async def _deliver(
    request: Request, target: Target, fmt: str, lang: str | None, *, wait: float | None
) -> Response | Job:
    """The file; for a slow format made by the report queue (503 when it is full), waited
    for without a thread: to the end (`wait` None) or `wait` seconds, then the job."""
    settings = request.app.state.settings
    make = partial(
        _make,
        request.app.state.engine,
        target,
        fmt,
        lang or i18n.current_locale(),
        settings.tavoli_report_min_group,
        public_base(request, settings.tavoli_public_url),  # the follow-up page's address
    )
    if not formats.get(fmt).slow:
        return _file(await run_in_threadpool(make))
    queue: ReportQueue = request.app.state.report_queue
    job = queue.submit(
        (target, fmt, lang or i18n.current_locale()),
        make,
        event_id=target.event_id,
        table_id=target.table_id,
    )
    if await job.wait(wait):
        return _file(job.future.result())  # a failure raises its own error here
    return job


def _preparing(request: Request, token: str, job: Job) -> Response:
    """202 and a page saying the file is being prepared. It reloads itself every few
    seconds (a Refresh header: no script) and the downloads page's script polls the same
    place (Location), so the file comes as soon as it is ready."""
    url = f"/c/{token}/files/{job.id}"
    return templates.TemplateResponse(
        request,
        "reports/preparing.html",
        {
            "url": url,
            "back": f"/c/{token}",
            "seconds": POLL_SECONDS,
            "csrf_token": csrf_token(request, request.app.state.signer),
        },
        status_code=202,
        headers={
            "location": url,
            "refresh": f"{POLL_SECONDS}; url={url}",
            "retry-after": str(POLL_SECONDS),
            "cache-control": "no-store",
        },
    )


@api.get("/tables/{code}/report.{fmt}", response_class=Response)
async def table_report(
    request: Request, code: str, fmt: Format, token: TokenDep, lang: Lang = None
) -> Response:
    """A table's minutes, for the moderator's, the coordinator's or its facilitator's token.
    PDF, Word and Excel are made in a queue of their own: 503 with Retry-After when full."""
    engine = request.app.state.engine
    _reader, target = await run_in_threadpool(
        partial(_authorise, engine, token, code=code, client=ratelimit.address(request))
    )
    answer = await _deliver(request, target, fmt, lang, wait=None)
    assert isinstance(answer, Response)
    return answer


@api.get("/events/{event_id}/report.{fmt}", response_class=Response)
async def event_report(
    request: Request, event_id: int, fmt: Format, token: TokenDep, lang: Lang = None
) -> Response:
    """The event's synthesis with every table, for the moderator's or coordinator's token.
    PDF, Word and Excel are made in a queue of their own: 503 with Retry-After when full."""
    engine = request.app.state.engine
    _reader, target = await run_in_threadpool(partial(_authorise, engine, token, event_id=event_id))
    answer = await _deliver(request, target, fmt, lang, wait=None)
    assert isinstance(answer, Response)
    return answer


@api.post("/events/{event_id}/coordinator-link", status_code=201, response_model=CoordinatorOut)
def coordinator_link(
    request: Request, event_id: int, session: SessionDep, settings: SettingsDep, token: TokenDep
) -> CoordinatorOut:
    """A read-only link for the Ufficio di Piano; only the event's moderator makes one."""
    reader = access.reader(session, token)
    if reader.role != "moderator":
        raise Forbidden("Only the event's moderator can hand out coordinator links")
    event = reader.check_event(event_id)
    new = events.new_coordinator_link(session, event)
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
async def table_download(
    request: Request, token: str, code: str, fmt: Format, lang: Lang = None
) -> Response:
    engine = request.app.state.engine
    _reader, target = await run_in_threadpool(
        partial(_authorise, engine, token, code=code, client=ratelimit.address(request))
    )
    answer = await _deliver(
        request, target, fmt, lang, wait=settings_of(request).tavoli_report_wait
    )
    return answer if isinstance(answer, Response) else _preparing(request, token, answer)


@pages.get("/c/{token}/report.{fmt}")
async def event_download(request: Request, token: str, fmt: Format, lang: Lang = None) -> Response:
    engine = request.app.state.engine
    _reader, target = await run_in_threadpool(partial(_authorise, engine, token))
    answer = await _deliver(
        request, target, fmt, lang, wait=settings_of(request).tavoli_report_wait
    )
    return answer if isinstance(answer, Response) else _preparing(request, token, answer)


@pages.get("/c/{token}/files/{job_id}")
async def prepared_file(request: Request, token: str, job_id: str) -> Response:
    """A file the queue is making or has made: the file once ready, else the progress page.
    Only a link that may read the report gets it (the id alone is not enough)."""
    engine = request.app.state.engine
    reader = await run_in_threadpool(partial(_reader, engine, token))
    queue: ReportQueue = request.app.state.report_queue
    job = queue.get(job_id)
    mine = job is not None and job.event_id == reader.event.id
    if job is None or not mine or reader.table_id not in (None, job.table_id):
        raise NotFound("This file is no longer here: download it again from the reports page")
    if await job.wait(settings_of(request).tavoli_report_wait):
        return _file(job.future.result())
    return _preparing(request, token, job)
