"""Participant and projector pages, with htmx fragments as answers to a phone's own actions."""

import io
from dataclasses import dataclass
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app import ratelimit
from app.deps import LiveDep, SessionDep, SettingsDep, SignerDep, csrf_protect
from app.enums import Kind
from app.i18n import LOCALES
from app.live.broadcaster import Broadcaster, Committed
from app.models import Participant, Table
from app.routing import UnitOfWorkRoute
from app.security import Signer
from app.services import dissent, links, participants, proposals, state, tables, voting
from app.services.errors import NotFound
from app.templating import N_, templates
from app.views import my_cards, participant_context, shared_context
from app.web import LANG_COOKIE, csrf_token, public_base

router = APIRouter(
    dependencies=[Depends(csrf_protect)], include_in_schema=False, route_class=UnitOfWorkRoute
)

PARTICIPANT_COOKIE = "tavoli_p"


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    context["csrf_token"] = csrf_token(request, request.app.state.signer)
    context.setdefault("join_host", request.app.state.fragments.join_host)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _me(request: Request, session: Session, signer: Signer, table: Table) -> Participant | None:
    token = signer.unsign(request.cookies.get(PARTICIPANT_COOKIE))
    return participants.participant_at(session, token, table)


def _mine(
    request: Request, session: Session, signer: Signer, code: str
) -> tuple[Table, Participant]:
    """The table and this phone's participant there (its cookie): an unknown code and a
    table the phone has not joined are the same 404, and both count as a failed lookup."""
    token = signer.unsign(request.cookies.get(PARTICIPANT_COOKIE))
    admit = participants.member(session, token)
    return tables.resolve_for(session, code, client=ratelimit.address(request), admit=admit)


@router.get("/")
def home(request: Request) -> Response:
    return _page(request, "pages/home.html")


@router.get("/join")
def find_table(request: Request, session: SessionDep, code: str = "") -> Response:
    try:
        table = tables.resolve(session, code, client=ratelimit.address(request))
    except NotFound:
        return _page(request, "pages/home.html", status_code=404, code=code, not_found=True)
    return _see_other(f"/t/{table.code}")


@router.get("/lang/{locale}")
def set_language(locale: str, next: str = "/") -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = _see_other(target)
    if locale in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/t/{code}")
def table_page(request: Request, code: str, session: SessionDep, signer: SignerDep) -> Response:
    token = signer.unsign(request.cookies.get(PARTICIPANT_COOKIE))
    known_by = participants.member(session, token) if token else None
    table = tables.resolve(session, code, client=ratelimit.address(request), known_by=known_by)
    if table.code != code:
        return _see_other(f"/t/{table.code}")
    me = _me(request, session, signer, table)
    if me is None:
        return _page(request, "pages/join.html", table=table, event=tables.event_of(session, table))
    if me.removed:
        return _page(request, "pages/removed.html", status_code=403, table=table)
    return _page(request, "pages/participant.html", **participant_context(session, table, me))


@router.get("/t/{code}/me")
def my_state(request: Request, code: str, session: SessionDep, signer: SignerDep) -> Response:
    """This phone's own votes, dots and posts, fetched after a push that may have moved them."""
    table, me = _mine(request, session, signer, code)
    return _page(request, "partials/_me_sync.html", **participant_context(session, table, me))


@router.post("/t/{code}/join")
def join(
    request: Request,
    code: str,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    live: LiveDep,
    name: Annotated[str, Form()] = "",
    organisation: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    named_in_minutes: Annotated[bool, Form()] = False,
) -> Response:
    table = tables.resolve(session, code, client=ratelimit.address(request))
    joined = participants.join(
        session,
        table=table,
        event=tables.event_of(session, table),
        name=name,
        organisation=organisation,
        category=category,
        named_in_minutes=named_in_minutes,
        previous=_me(request, session, signer, table),
        client=ratelimit.address(request),
    )
    live.publish(joined)
    # The join page's form is sent by htmx (so that a 429 can wait and send it again): htmx
    # follows no redirect into the page, HX-Redirect has it load the table.
    response: Response = (
        Response(headers={"HX-Redirect": f"/t/{table.code}"})
        if _is_htmx(request)
        else _see_other(f"/t/{table.code}")
    )
    response.set_cookie(
        PARTICIPANT_COOKIE,
        signer.sign(joined.token),
        path=f"/t/{table.code}",
        max_age=30 * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.tavoli_secure_cookies,
    )
    return response


@router.post("/t/{code}/proposals")
def post_proposal(
    request: Request,
    code: str,
    session: SessionDep,
    signer: SignerDep,
    live: LiveDep,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = Kind.PROPOSAL,
) -> Response:
    table, me = _mine(request, session, signer, code)
    posted = proposals.post_proposal(session, participant=me, kind=kind, title=title, body=body)
    live.publish(posted)
    proposal = posted.proposal
    if not _is_htmx(request):
        return _see_other(f"/t/{table.code}#p-{proposal.id}")
    return _page(
        request,
        "partials/_posted.html",
        posted=proposal,
        **participant_context(session, table, me),
    )


@dataclass
class Phone:
    """One request from a phone about its own posts: the table and its participant are
    read in the route's own thread (`mine`), the answer is this phone's own list."""

    request: Request
    code: str
    session: Session
    signer: Signer
    live: Broadcaster

    def mine(self) -> tuple[Table, Participant]:
        return _mine(self.request, self.session, self.signer, self.code)

    def answer(self, table: Table, me: Participant, change: Committed, done: str = "") -> Response:
        """Publish what the service committed, then answer with this phone's own posts (and
        what it did, when `done` says: a msgid)."""
        self.live.publish(change)
        return _my_answer(self.request, self.session, table, me, done=done)


async def get_phone(
    request: Request, code: str, session: SessionDep, signer: SignerDep, live: LiveDep
) -> Phone:
    return Phone(request, code, session, signer, live)


PhoneDep = Annotated[Phone, Depends(get_phone)]


@router.post("/t/{code}/proposals/{proposal_id}/edit")
def edit_own(
    phone: PhoneDep,
    proposal_id: int,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    table, me = phone.mine()
    return phone.answer(
        table,
        me,
        proposals.edit_own(
            phone.session, participant=me, proposal_id=proposal_id, title=title, body=body
        ),
    )


@router.post("/t/{code}/proposals/{proposal_id}/withdraw")
def withdraw_own(phone: PhoneDep, proposal_id: int) -> Response:
    table, me = phone.mine()
    change = proposals.withdraw_own(phone.session, participant=me, proposal_id=proposal_id)
    return phone.answer(table, me, change)


@router.post("/t/{code}/proposals/{proposal_id}/dissent")
def set_dissent(phone: PhoneDep, proposal_id: int, reason: Annotated[str, Form()] = "") -> Response:
    """ "Non sono d'accordo", with an optional reason: the phone's own list answers."""
    table, me = phone.mine()
    change = dissent.set_dissent(
        phone.session, participant=me, proposal_id=proposal_id, reason=reason
    )
    return phone.answer(table, me, change)


@router.post("/t/{code}/proposals/{proposal_id}/dissent/withdraw")
def withdraw_dissent(phone: PhoneDep, proposal_id: int) -> Response:
    table, me = phone.mine()
    change = dissent.withdraw_dissent(phone.session, participant=me, proposal_id=proposal_id)
    return phone.answer(table, me, change)


@router.post("/t/{code}/proposals/{proposal_id}/answers")
def answer_needs(
    phone: PhoneDep,
    proposal_id: int,
    needs: Annotated[list[int], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
) -> Response:
    """The needs this phone's own proposal answers (the ticked ones; none unlinks)."""
    table, me = phone.mine()
    change = links.set_answers(
        phone.session, table, proposal_id=proposal_id, need_ids=needs, by=me.id
    )
    return phone.answer(table, me, change, N_("Links to needs saved."))


@router.post("/t/{code}/pledges")
def pledge(
    phone: PhoneDep,
    resource: Annotated[int, Form()],
    proposal: Annotated[int, Form()],
    offer: Annotated[str, Form()] = "",
    organisation: Annotated[str, Form()] = "",
) -> Response:
    """This phone's own resource, pledged to a proposal with its organisation's offer."""
    table, me = phone.mine()
    change = links.pledge(
        phone.session,
        table,
        proposal_id=proposal,
        resource_id=resource,
        offer=offer,
        organisation=organisation,
        by=me.id,
    )
    return phone.answer(table, me, change, N_("Pledge saved."))


@router.post("/t/{code}/pledges/delete")
def unpledge(
    phone: PhoneDep, resource: Annotated[int, Form()], proposal: Annotated[int, Form()]
) -> Response:
    table, me = phone.mine()
    change = links.unpledge(
        phone.session, table, proposal_id=proposal, resource_id=resource, by=me.id
    )
    return phone.answer(table, me, change, N_("Pledge withdrawn."))


def _my_answer(
    request: Request, session: Session, table: Table, me: Participant, *, done: str = ""
) -> Response:
    """This phone's own posts after its change, and what it did when `done` says (a msgid)."""
    if not _is_htmx(request):
        return _see_other(f"/t/{table.code}")
    name = "partials/_linked.html" if done else "partials/_me_sync.html"
    return _page(request, name, done=done, **participant_context(session, table, me))


@router.post("/t/{code}/proposals/{proposal_id}/vote")
def vote(
    request: Request,
    code: str,
    proposal_id: int,
    session: SessionDep,
    signer: SignerDep,
    live: LiveDep,
    dots: Annotated[int, Form()],
    expected: Annotated[int | None, Form()] = None,
) -> Response:
    """`expected` is the count the page showed: a page another tab has left behind gets 409
    and this phone's state as it stands, and changes nothing."""
    table, me = _mine(request, session, signer, code)
    try:
        result = voting.set_vote(
            session, participant=me, proposal_id=proposal_id, dots=dots, expected=expected
        )
    except voting.StaleVote as stale:
        if not _is_htmx(request):
            raise
        return _vote_answer(
            request, session, table, me, stale.current, status_code=409, flash=stale.message
        )
    live.publish(result)
    if not _is_htmx(request):
        return _see_other(f"/t/{table.code}#p-{proposal_id}")
    return _vote_answer(request, session, table, me, result)


def _vote_answer(
    request: Request,
    session: Session,
    table: Table,
    me: Participant,
    result: voting.VoteResult,
    *,
    status_code: int = 200,
    flash: str = "",
) -> Response:
    """This phone's state after its vote. The seq is read first: a fragment never says a
    seq later than what it shows (the other tab's vote pushed meanwhile must still land)."""
    me_seq = max(result.seq or 0, state.current_seq(session, table.id or 0))
    return _page(
        request,
        "partials/_vote_result.html",
        status_code=status_code,
        table=table,
        p=state.proposal_view(session, result.proposal_id),
        my_votes=voting.my_votes(session, me),
        my_cards=my_cards(session, table, me),
        my_dissent=dissent.my_dissent(session, me),  # #me carries the cards' dissent marks
        dots_left=voting.dots_left(session, me, table),
        me_seq=me_seq,
        flash=flash,
    )


@router.get("/t/{code}/screen")
def screen(request: Request, code: str, session: SessionDep) -> Response:
    table = tables.resolve(session, code, client=ratelimit.address(request))
    people = request.app.state.live.people(table.id)
    return _page(request, "pages/screen.html", **shared_context(session, table, "screen", people))


@router.get("/t/{code}/mirror")
def mirror(request: Request, code: str, session: SessionDep, signer: SignerDep) -> Response:
    """ "The screen on my phone": what the projector shows, in text, for a person who cannot
    see it. A joined phone's page (its socket is the phone's); others are sent to join."""
    token = signer.unsign(request.cookies.get(PARTICIPANT_COOKIE))
    known_by = participants.member(session, token) if token else None
    table = tables.resolve(session, code, client=ratelimit.address(request), known_by=known_by)
    me = _me(request, session, signer, table)
    if me is None or table.code != code:
        return _see_other(f"/t/{table.code}")
    if me.removed:
        return _page(request, "pages/removed.html", status_code=403, table=table)
    people = request.app.state.live.people(table.id)
    return _page(request, "pages/mirror.html", **shared_context(session, table, "mirror", people))


@router.get("/t/{code}/qr.svg")
def qr_code(request: Request, code: str, session: SessionDep, settings: SettingsDep) -> Response:
    table = tables.resolve(session, code, client=ratelimit.address(request))
    qr = segno.make(f"{public_base(request, settings.tavoli_public_url)}/t/{table.code}", error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="svg", scale=10, border=2, dark="#000", light="#fff", title=table.code)
    return Response(
        buffer.getvalue(),
        media_type="image/svg+xml",
        headers={"cache-control": "public, max-age=3600"},
    )
