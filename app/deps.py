"""FastAPI dependencies: short aliases for what routes need, resolved from app.state."""

from collections.abc import AsyncIterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.requests import HTTPConnection

from app import ratelimit
from app.config import Settings
from app.live.broadcaster import Broadcaster
from app.live.fragments import Fragments
from app.live.hub import Hub
from app.models import Event, Participant, Table
from app.security import Signer
from app.services.access import table_for_runner
from app.services.errors import Forbidden
from app.services.events import check_admin, event_for_moderator
from app.services.participants import participant_by_token

T = TypeVar("T")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A lazy session: it takes a connection from the pool only when the route first uses it.

    FastAPI runs each synchronous dependency and the route in separate worker threads. A
    dependency that kept its connection while the route waited for a thread deadlocked the
    server under ~55 concurrent requests (every thread waiting for a connection held by a
    request waiting for a thread). So a dependency that reads must `release` the session
    before it returns; a connection is then only ever held by a thread that is running.

    It is made and closed on the event loop: making a session touches no database, and the
    route's own thread has closed it by the end (`app/routing.py`), so the close here gives
    nothing back. As a synchronous generator it cost every request two more thread hops,
    which a burst of votes waits for under the GIL.
    """
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()


def release(session: Session) -> None:
    """End the read transaction and give the connection back (loaded objects stay usable)."""
    session.commit()


async def get_settings(conn: HTTPConnection) -> Settings:
    """Dependencies that only read app.state are `async`: FastAPI runs a synchronous one
    in a worker thread, and a vote passed through six of them."""
    settings: Settings = conn.app.state.settings
    return settings


async def get_live(conn: HTTPConnection) -> Broadcaster:
    live: Broadcaster = conn.app.state.live
    return live


async def get_hub(conn: HTTPConnection) -> Hub:
    hub: Hub = conn.app.state.hub
    return hub


async def get_signer(conn: HTTPConnection) -> Signer:
    signer: Signer = conn.app.state.signer
    return signer


async def get_fragments(conn: HTTPConnection) -> Fragments:
    fragments: Fragments = conn.app.state.fragments
    return fragments


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LiveDep = Annotated[Broadcaster, Depends(get_live)]
HubDep = Annotated[Hub, Depends(get_hub)]
SignerDep = Annotated[Signer, Depends(get_signer)]
FragmentsDep = Annotated[Fragments, Depends(get_fragments)]

_bearer = HTTPBearer(auto_error=False, description="A capability token")


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    return credentials.credentials if credentials else None


TokenDep = Annotated[str | None, Depends(bearer_token)]


def api_participant(session: SessionDep, token: TokenDep) -> Participant:
    try:
        return participant_by_token(session, token)
    finally:
        release(session)


def api_moderated_event(event_id: int, session: SessionDep, token: TokenDep) -> Event:
    """The event named in the path, for the holder of its moderator token."""
    try:
        event = event_for_moderator(session, token)
    finally:
        release(session)
    if event.id != event_id:
        raise Forbidden("This moderator token is for another event")
    return event


def api_organiser(settings: SettingsDep, token: TokenDep) -> None:
    check_admin(admin_token=settings.admin_token, given=token)


ApiOrganiserDep = Annotated[None, Depends(api_organiser)]


def api_runner_table(request: Request, code: str, session: SessionDep, token: TokenDep) -> Table:
    """The table named in the path, for its event's moderator or its facilitator."""
    try:
        return table_for_runner(session, token, code, client=ratelimit.address(request))
    finally:
        release(session)


ApiRunnerTableDep = Annotated[Table, Depends(api_runner_table)]
ApiParticipantDep = Annotated[Participant, Depends(api_participant)]
ApiModeratorDep = Annotated[Event, Depends(api_moderated_event)]


async def csrf_protect(request: Request, signer: SignerDep) -> None:
    """Every state-changing browser request carries the session's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    token = request.headers.get("x-csrf-token")
    if token is None:
        form = await request.form()
        value = form.get("csrf_token")
        token = value if isinstance(value, str) else None
    if not signer.csrf_valid(request.state.sid, token):
        raise Forbidden("The form has expired: reload the page and try again")
