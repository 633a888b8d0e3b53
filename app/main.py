"""The application factory: `uvicorn --factory app.main:create_app`."""

import logging
import resource
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from app import i18n, logs, ratelimit
from app.api_errors import error_code, validation_error
from app.config import Settings, get_settings
from app.db import make_engine
from app.gc_pace import Pace
from app.hygiene import BodyGuard
from app.live import retention
from app.live.broadcaster import Broadcaster
from app.live.deadline import SendWatch
from app.live.farewell import farewell
from app.live.fragments import Fragments
from app.live.hub import hub_from_url
from app.reports import pdf
from app.reports.jobs import ReportQueue
from app.routers import (
    admin,
    api,
    api_facilitation,
    console,
    docs,
    health,
    organisations,
    outcomes,
    pages,
    plenary,
    privacy,
    reports,
    sockets,
)
from app.security import Signer
from app.services import consensus
from app.services.errors import DomainError, Invalid, TooMany
from app.templating import templates
from app.vote_lane import VoteLane
from app.web import WebMiddleware, csrf_token

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    secret_key = settings.secret_key
    engine = make_engine(settings.database_url, threads=settings.tavoli_threads)
    hub = hub_from_url(settings.hub_url, presence_seconds=settings.tavoli_presence_seconds)
    ratelimit.configure(
        settings.tavoli_limits_url,
        enabled=settings.tavoli_rate_limits,
        overrides=settings.tavoli_limits,
    )
    room_for_sockets(ratelimit.cap("worker_sockets"))
    consensus.configure(settings.tavoli_report_min_group)  # no group under N on a screen
    signer = Signer(secret_key)
    logs.install()  # no capability token in uvicorn's access log
    fragments = Fragments(templates, settings.tavoli_public_url)
    live = Broadcaster(
        hub=hub,
        engine=engine,
        render=fragments.push,
        interval=settings.tavoli_push_interval,
        farewell=partial(farewell, fragments),
        render_own=fragments.own,
    )

    send_watch = SendWatch(settings.tavoli_send_timeout)
    report_queue = ReportQueue(settings.tavoli_report_queue)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's threads; the database pool was sized from this number.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.tavoli_threads
        await hub.connect()
        await live.start()
        if settings.tavoli_warm_pdf:  # a PDF worker starts; the server answers meanwhile
            pdf.warm_up()
        sweeper = retention.start(engine, live, settings.tavoli_purge_interval)
        collector = Pace(live.quiet_for) if settings.tavoli_gc_pace else None
        if collector is not None:  # full collections at quiet moments only
            collector.start()
        _app.state.gc_pace = collector
        try:
            yield
        finally:
            if collector is not None:
                await collector.stop()
            await retention.stop(sweeper)
            await live.stop()
            send_watch.close()
            await hub.disconnect()
            report_queue.shutdown()
            pdf.shutdown()
            engine.dispose()

    app = FastAPI(
        title="Tavoli",
        summary="Live tavoli di confronto for co-programming events.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # app.routers.docs serves Swagger UI from /static, no CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.hub = hub
    app.state.live = live
    app.state.send_watch = send_watch
    app.state.report_queue = report_queue
    app.state.signer = signer
    app.state.fragments = fragments

    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(docs.router)
    app.include_router(api_facilitation.router)
    app.include_router(reports.api)
    app.include_router(reports.pages)
    app.include_router(console.router)
    app.include_router(sockets.router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(privacy.api)
    app.include_router(privacy.pages)
    app.include_router(organisations.api)
    app.include_router(organisations.pages)
    app.include_router(outcomes.api)
    app.include_router(outcomes.pages)
    app.include_router(plenary.api)
    app.include_router(plenary.pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_middleware(VoteLane, refuse=_domain_error)  # inside the two below
    app.add_middleware(BodyGuard, limit=settings.tavoli_max_body_bytes, refuse=_domain_error)
    app.add_middleware(WebMiddleware, signer=signer, secure_cookies=settings.tavoli_secure_cookies)
    return app


def room_for_sockets(sockets: int) -> None:
    """Each open socket is a file descriptor: raise this process's soft limit on open files
    toward the hard one, to hold the worker's cap on sockets and some more (the pool, files).
    A container's or a desktop's soft limit is often 1,024, which stops a worker near 1,000
    phones with "too many open files"."""
    want = sockets + 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < want:
        log.warning(
            "open files are limited to %s: fewer than the %s sockets a worker may hold; "
            "raise `ulimit -n` (docs/deploy.md)",
            target,
            sockets,
        )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _api_locale(request: Request) -> str:
    """The API's errors follow `Accept-Language` alone (no cookie, no page default): Italian
    when asked for, English for a client that asks for nothing."""
    return i18n.from_accept_language(request.headers.get("accept-language")) or "en"


def _translated(exc: DomainError) -> str:
    message = i18n.gettext(exc.message)
    return message % exc.params if exc.params else message


async def _domain_error(request: Request, exc: DomainError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooMany) else None
    if _is_api(request):
        with i18n.using_locale(_api_locale(request)):
            detail = (
                i18n.gettext(exc.message) % exc.params if exc.params else i18n.gettext(exc.message)
            )
        content: dict[str, object] = {"detail": detail, "code": error_code(exc.message)}
        if exc.field:
            content["field"] = exc.field
        content.update(exc.extra)
        return JSONResponse(content, status_code=exc.status, headers=headers)
    message = _translated(exc)
    if request.headers.get("hx-request"):
        response = templates.TemplateResponse(
            request,
            "partials/_flash.html",
            {"message": message, "level": "error"},
            status_code=exc.status,
            headers=headers,
        )
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return templates.TemplateResponse(
        request,
        "pages/error.html",
        {
            "message": message,
            "status": exc.status,
            # A page refused for going too fast waits as told, then reloads by itself.
            "reload_after": (
                exc.retry_after if isinstance(exc, TooMany) and request.method == "GET" else None
            ),
            "csrf_token": csrf_token(request, request.app.state.signer),
        },
        status_code=exc.status,
        headers=headers,
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    if _is_api(request):
        return JSONResponse(jsonable_errors(exc, _api_locale(request)), status_code=422)
    return await _domain_error(request, Invalid("Some fields are missing or not valid"))


def jsonable_errors(exc: RequestValidationError, locale: str = "en") -> dict[str, object]:
    """The API's one error shape (`app.api_errors.ErrorOut`), first bad field in `detail`."""
    return validation_error(exc, locale).model_dump(exclude_none=True)
