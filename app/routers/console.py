"""The facilitator's console for one table, behind a moderator or facilitator link.

Pages live at /run/{token}/{code}/ and every form posts to a path relative to it, so the
fragments pushed to all consoles of a table carry no token. Each action answers with the
console's live region; the push brings the same to the other consoles.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.deps import LiveDep, SessionDep, csrf_protect
from app.live.broadcaster import Broadcaster
from app.models import Table
from app.reports import access as report_access
from app.services import access, moderation, phases, proposals, screen, state, voting
from app.services.errors import Invalid
from app.templating import templates
from app.web import csrf_token

router = APIRouter(
    prefix="/run/{token}/{code}", dependencies=[Depends(csrf_protect)], include_in_schema=False
)

IdsForm = Annotated[list[int], Form()]


def runner_table(token: str, code: str, session: SessionDep) -> Table:
    return access.table_for_runner(session, token, code)


TableDep = Annotated[Table, Depends(runner_table)]


def _context(request: Request, session: Session, table: Table, token: str) -> dict[str, Any]:
    current = state.table_state(session, table)
    live: Broadcaster = request.app.state.live
    return {
        "table": current.table,
        "state": current,
        "audience": "moderator",
        "stats": state.TableStats(
            len(current.visible), current.total_votes, live.people(table.id or 0)
        ),
        "csrf_token": csrf_token(request, request.app.state.signer),
        "author_tag": request.app.state.fragments.author_tag,
        "base": f"/run/{token}/{table.code}/",
        "dashboard_url": f"/m/{token}" if access.is_event_moderator(session, token, table) else "",
    }


def _answer(
    request: Request, session: Session, table: Table, token: str, seq: int | None, live: LiveDep
) -> Response:
    """Notify the other screens, then show this console its updated live region."""
    if seq is not None:
        live.notify(table.id or 0, seq)
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/run/{token}/{table.code}/", status_code=303)
    return templates.TemplateResponse(
        request, "partials/_console_live.html", _context(request, session, table, token)
    )


Action = Callable[[Session, Table], int | None]


def _run(
    request: Request, session: Session, table: Table, token: str, live: LiveDep, action: Action
) -> Response:
    return _answer(request, session, table, token, action(session, table), live)


@router.get("/")
def console(request: Request, token: str, session: SessionDep, table: TableDep) -> Response:
    return templates.TemplateResponse(
        request, "pages/console.html", _context(request, session, table, token)
    )


@router.get("")
def console_without_slash(token: str, table: TableDep) -> Response:
    return RedirectResponse(f"/run/{token}/{table.code}/", status_code=308)


@router.post("/phase")
def set_phase(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    phase: Annotated[str, Form()],
) -> Response:
    return _run(request, session, table, token, live, lambda s, t: phases.set_phase(s, t, phase))


@router.post("/phase/step")
def step_phase(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    step: Annotated[int, Form()],
) -> Response:
    target = phases.next_phase(table.phase) if step > 0 else phases.previous_phase(table.phase)
    return _run(request, session, table, token, live, lambda s, t: phases.set_phase(s, t, target))


@router.post("/timer/start")
def start_timer(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    minutes: Annotated[float, Form()],
    advance: Annotated[bool, Form()] = False,
) -> Response:
    seq = phases.start_timer(session, table, seconds=round(minutes * 60), advance=advance)
    live.watch_timer(table.id or 0, table.timer_ends_at)
    return _answer(request, session, table, token, seq, live)


@router.post("/timer/extend")
def extend_timer(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    seconds: Annotated[int, Form()],
) -> Response:
    seq = phases.extend_timer(session, table, seconds=seconds)
    live.watch_timer(table.id or 0, table.timer_ends_at)
    return _answer(request, session, table, token, seq, live)


@router.post("/timer/stop")
def stop_timer(
    request: Request, token: str, session: SessionDep, table: TableDep, live: LiveDep
) -> Response:
    return _run(request, session, table, token, live, phases.stop_timer)


@router.post("/screen")
def set_screen(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    mode: Annotated[str, Form()],
) -> Response:
    return _run(request, session, table, token, live, lambda s, t: screen.set_mode(s, t, mode))


@router.post("/screen/spotlight")
def step_spotlight(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    step: Annotated[int, Form()],
) -> Response:
    visible = [p.id for p in state.table_state(session, table).visible]
    return _run(
        request,
        session,
        table,
        token,
        live,
        lambda s, t: screen.step_spotlight(s, t, visible, step),
    )


@router.post("/proposals/{proposal_id}/spotlight")
def spotlight(
    request: Request,
    token: str,
    proposal_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
) -> Response:
    return _run(
        request,
        session,
        table,
        token,
        live,
        lambda s, t: screen.set_mode(s, t, "spotlight", spotlight_id=proposal_id),
    )


SETTINGS = ("premoderation", "post_in_discussion", "results_hidden", "group_by_tag")


@router.post("/settings")
def update_setting(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    name: Annotated[str, Form()],
    value: Annotated[bool, Form()],
) -> Response:
    if name not in SETTINGS:
        raise Invalid("Unknown setting", field="name")
    return _run(
        request,
        session,
        table,
        token,
        live,
        lambda s, t: screen.update_settings(s, t, **{name: value}),
    )


@router.post("/proposals/{proposal_id}/accept")
def accept(
    request: Request,
    token: str,
    proposal_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
) -> Response:
    return _run(
        request, session, table, token, live, lambda s, t: moderation.accept(s, t, proposal_id)
    )


@router.post("/proposals/{proposal_id}/reject")
def reject(
    request: Request,
    token: str,
    proposal_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    return _run(
        request,
        session,
        table,
        token,
        live,
        lambda s, t: moderation.reject(s, t, proposal_id, note=note),
    )


@router.post("/proposals/{proposal_id}/rephrase")
def rephrase(
    request: Request,
    token: str,
    proposal_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    return _run(
        request,
        session,
        table,
        token,
        live,
        lambda s, t: moderation.ask_rephrase(s, t, proposal_id, note=note),
    )


@router.post("/proposals/{proposal_id}/hide")
def hide(
    request: Request,
    token: str,
    proposal_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
) -> Response:
    return _run(
        request, session, table, token, live, lambda s, t: moderation.hide(s, t, proposal_id)
    )


@router.post("/proposals/{proposal_id}/restore")
def restore(
    request: Request,
    token: str,
    proposal_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
) -> Response:
    return _run(
        request, session, table, token, live, lambda s, t: moderation.restore(s, t, proposal_id)
    )


@router.post("/proposals/{proposal_id}/text")
def edit(
    request: Request,
    token: str,
    proposal_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    return _run(
        request,
        session,
        table,
        token,
        live,
        lambda s, t: moderation.edit(s, t, proposal_id, title=title, body=body),
    )


@router.post("/bulk")
def bulk(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    action: Annotated[str, Form()],
    proposal_ids: IdsForm = [],  # noqa: B006 (FastAPI copies defaults)
    tag_id: Annotated[int | None, Form()] = None,
) -> Response:
    if not proposal_ids:
        raise Invalid("Select one or more posts first", field="proposal_ids")
    if action == "merge":
        chosen = [p for p in state.table_state(session, table).visible if p.id in proposal_ids]
        if len(chosen) < 2:
            raise Invalid("Pick at least two proposals to merge", field="proposal_ids")
        response = templates.TemplateResponse(
            request, "partials/_merge_panel.html", {"chosen": chosen, "table": table}
        )
        response.headers["HX-Retarget"] = "#merge-panel"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    if action not in ("tag", "untag") or tag_id is None:
        raise Invalid("Choose what to do with the selected posts", field="action")
    return _run(
        request,
        session,
        table,
        token,
        live,
        lambda s, t: moderation.set_tag(
            s, t, tag_id=tag_id, proposal_ids=proposal_ids, on=action == "tag"
        ),
    )


@router.post("/merges")
def merge(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    survivor_id: Annotated[int, Form()],
    proposal_ids: IdsForm,
) -> Response:
    moderation.merge(session, table, survivor_id=survivor_id, merged_ids=proposal_ids)
    response = _answer(request, session, table, token, table.seq, live)
    response.headers["HX-Trigger"] = "tavoli:merged"
    return response


@router.post("/merges/cancel")
def cancel_merge() -> Response:
    return Response('<div id="merge-panel"></div>', media_type="text/html")


@router.post("/merges/{merge_id}/undo")
def undo_merge(
    request: Request, token: str, merge_id: int, session: SessionDep, table: TableDep, live: LiveDep
) -> Response:
    return _run(
        request, session, table, token, live, lambda s, t: moderation.undo_merge(s, t, merge_id)
    )


@router.post("/tags")
def create_tag(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    name: Annotated[str, Form()],
) -> Response:
    moderation.create_tag(session, table, name)
    return _answer(request, session, table, token, table.seq, live)


@router.post("/tags/{tag_id}/delete")
def delete_tag(
    request: Request, token: str, tag_id: int, session: SessionDep, table: TableDep, live: LiveDep
) -> Response:
    return _run(
        request, session, table, token, live, lambda s, t: moderation.delete_tag(s, t, tag_id)
    )


@router.post("/participants/{participant_id}/remove")
def remove_participant(
    request: Request,
    token: str,
    participant_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
) -> Response:
    return _run(
        request,
        session,
        table,
        token,
        live,
        lambda s, t: moderation.remove_participant(s, t, participant_id),
    )


@router.post("/paper")
def add_paper(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    name: Annotated[str, Form()],
    category: Annotated[str, Form()] = "",
) -> Response:
    moderation.add_paper_participant(session, table, name=name, category=category)
    return _answer(request, session, table, token, None, live)


@router.post("/paper/{participant_id}/proposals")
def post_for(
    request: Request,
    token: str,
    participant_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    title: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "proposal",
    body: Annotated[str, Form()] = "",
) -> Response:
    person = moderation.paper_participant(session, table, participant_id)
    proposal = proposals.post_proposal(
        session, participant=person, kind=kind, title=title, body=body
    )
    return _answer(request, session, table, token, proposal.created_seq, live)


@router.post("/paper/{participant_id}/votes")
def vote_for(
    request: Request,
    token: str,
    participant_id: int,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    proposal_id: Annotated[int, Form()],
    dots: Annotated[int, Form()],
) -> Response:
    person = moderation.paper_participant(session, table, participant_id)
    result = voting.set_vote(session, participant=person, proposal_id=proposal_id, dots=dots)
    return _answer(request, session, table, token, result.seq, live)


@router.post("/synthesis")
def save_synthesis(
    request: Request,
    token: str,
    session: SessionDep,
    table: TableDep,
    live: LiveDep,
    facilitator_name: Annotated[str, Form()] = "",
    synthesis: Annotated[str, Form()] = "",
) -> Response:
    """The facilitator's name and written synthesis, for the minutes; the wall is unchanged."""
    report_access.save_synthesis(session, table, facilitator=facilitator_name, synthesis=synthesis)
    return _answer(request, session, table, token, None, live)
