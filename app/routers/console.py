"""The facilitator's console for one table, behind a moderator or facilitator link.

Pages live at /run/{token}/{code}/ and every form posts to a path relative to it, so the
fragments pushed to all consoles of a table carry no token. Each action answers with the
console's live region; the push brings the same to the other consoles.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.deps import LiveDep, SessionDep, csrf_protect, release
from app.live.broadcaster import Broadcaster, Committed
from app.models import Table
from app.reports import access as report_access
from app.routing import UnitOfWorkRoute
from app.services import access, moderation, phases, proposals, screen, state, voting
from app.services.errors import Invalid
from app.templating import templates
from app.views import shared_context
from app.web import csrf_token

router = APIRouter(
    prefix="/run/{token}/{code}",
    dependencies=[Depends(csrf_protect)],
    include_in_schema=False,
    route_class=UnitOfWorkRoute,
)

IdsForm = Annotated[list[int], Form()]
Action = Callable[[Session, Table], Committed]


@dataclass
class Console:
    """One request to a table's console: who asks, for which table, and how to answer."""

    request: Request
    token: str
    session: Session
    table: Table
    live: Broadcaster

    def context(self) -> dict[str, Any]:
        people = self.live.people(self.table.id or 0)
        moderator = access.is_event_moderator(self.session, self.token, self.table)
        return {
            **shared_context(self.session, self.table, "moderator", people),
            "csrf_token": csrf_token(self.request, self.request.app.state.signer),
            "author_tag": self.request.app.state.fragments.author_tag,
            "base": f"/run/{self.token}/{self.table.code}/",
            "dashboard_url": f"/m/{self.token}" if moderator else "",
        }

    def answer(self, change: Committed | None) -> Response:
        """Publish the change to the other screens, then show this console its live region."""
        if change is not None:
            self.live.publish(change)
        if not self.request.headers.get("hx-request"):
            return RedirectResponse(f"/run/{self.token}/{self.table.code}/", status_code=303)
        return templates.TemplateResponse(
            self.request, "partials/_console_live.html", self.context()
        )

    def run(self, action: Action) -> Response:
        return self.answer(action(self.session, self.table))


def get_console(
    request: Request, token: str, code: str, session: SessionDep, live: LiveDep
) -> Console:
    try:
        table = access.table_for_runner(session, token, code)
    finally:
        release(session)
    return Console(request, token, session, table, live)


ConsoleDep = Annotated[Console, Depends(get_console)]


@router.get("/")
def console(c: ConsoleDep) -> Response:
    return templates.TemplateResponse(c.request, "pages/console.html", c.context())


@router.get("")
def console_without_slash(c: ConsoleDep) -> Response:
    return RedirectResponse(f"/run/{c.token}/{c.table.code}/", status_code=308)


@router.post("/phase")
def set_phase(c: ConsoleDep, phase: Annotated[str, Form()]) -> Response:
    return c.run(lambda s, t: phases.set_phase(s, t, phase))


@router.post("/phase/step")
def step_phase(c: ConsoleDep, step: Annotated[int, Form()]) -> Response:
    return c.run(lambda s, t: phases.step_phase(s, t, step))


@router.post("/timer/start")
def start_timer(
    c: ConsoleDep, minutes: Annotated[float, Form()], advance: Annotated[bool, Form()] = False
) -> Response:
    if not 0 < minutes <= phases.MAX_TIMER_SECONDS / 60:
        raise Invalid("The timer runs from 1 second to 4 hours", field="minutes")
    return c.run(
        lambda s, t: phases.start_timer(s, t, seconds=max(1, round(minutes * 60)), advance=advance)
    )


@router.post("/timer/extend")
def extend_timer(c: ConsoleDep, seconds: Annotated[int, Form()]) -> Response:
    return c.run(lambda s, t: phases.extend_timer(s, t, seconds=seconds))


@router.post("/timer/stop")
def stop_timer(c: ConsoleDep) -> Response:
    return c.run(phases.stop_timer)


@router.post("/screen")
def set_screen(c: ConsoleDep, mode: Annotated[str, Form()]) -> Response:
    return c.run(lambda s, t: screen.set_mode(s, t, mode))


@router.post("/screen/spotlight")
def step_spotlight(c: ConsoleDep, step: Annotated[int, Form()]) -> Response:
    return c.run(lambda s, t: screen.step_spotlight(s, t, step))


@router.post("/proposals/{proposal_id}/spotlight")
def spotlight(c: ConsoleDep, proposal_id: int) -> Response:
    return c.run(lambda s, t: screen.set_mode(s, t, "spotlight", spotlight_id=proposal_id))


@router.post("/settings")
def update_setting(
    c: ConsoleDep, name: Annotated[str, Form()], value: Annotated[bool, Form()]
) -> Response:
    return c.run(lambda s, t: screen.update_setting(s, t, name, value))


@router.post("/proposals/{proposal_id}/accept")
def accept(c: ConsoleDep, proposal_id: int) -> Response:
    return c.run(lambda s, t: moderation.accept(s, t, proposal_id))


@router.post("/proposals/{proposal_id}/reject")
def reject(c: ConsoleDep, proposal_id: int, note: Annotated[str, Form()] = "") -> Response:
    return c.run(lambda s, t: moderation.reject(s, t, proposal_id, note=note))


@router.post("/proposals/{proposal_id}/rephrase")
def rephrase(c: ConsoleDep, proposal_id: int, note: Annotated[str, Form()] = "") -> Response:
    return c.run(lambda s, t: moderation.ask_rephrase(s, t, proposal_id, note=note))


@router.post("/proposals/{proposal_id}/hide")
def hide(c: ConsoleDep, proposal_id: int) -> Response:
    return c.run(lambda s, t: moderation.hide(s, t, proposal_id))


@router.post("/proposals/{proposal_id}/restore")
def restore(c: ConsoleDep, proposal_id: int) -> Response:
    return c.run(lambda s, t: moderation.restore(s, t, proposal_id))


@router.post("/proposals/{proposal_id}/text")
def edit(
    c: ConsoleDep,
    proposal_id: int,
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
) -> Response:
    return c.run(lambda s, t: moderation.edit(s, t, proposal_id, title=title, body=body))


@router.post("/bulk")
def bulk(
    c: ConsoleDep,
    action: Annotated[str, Form()],
    proposal_ids: IdsForm = [],  # noqa: B006 (FastAPI copies defaults)
    tag_id: Annotated[int | None, Form()] = None,
) -> Response:
    if not proposal_ids:
        raise Invalid("Select one or more posts first", field="proposal_ids")
    if action == "merge":  # first ask which wording survives
        chosen = [p for p in state.table_state(c.session, c.table).visible if p.id in proposal_ids]
        if len(chosen) < 2:
            raise Invalid("Pick at least two proposals to merge", field="proposal_ids")
        response = templates.TemplateResponse(
            c.request, "partials/_merge_panel.html", {"chosen": chosen, "table": c.table}
        )
        response.headers["HX-Retarget"] = "#merge-panel"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    if action not in ("tag", "untag") or tag_id is None:
        raise Invalid("Choose what to do with the selected posts", field="action")
    on = action == "tag"
    return c.run(
        lambda s, t: moderation.set_tag(s, t, tag_id=tag_id, proposal_ids=proposal_ids, on=on)
    )


@router.post("/merges")
def merge(c: ConsoleDep, survivor_id: Annotated[int, Form()], proposal_ids: IdsForm) -> Response:
    response = c.run(
        lambda s, t: moderation.merge(s, t, survivor_id=survivor_id, merged_ids=proposal_ids)
    )
    response.headers["HX-Trigger"] = "tavoli:merged"
    return response


@router.post("/merges/cancel")
def cancel_merge() -> Response:
    return Response('<div id="merge-panel"></div>', media_type="text/html")


@router.post("/merges/{merge_id}/undo")
def undo_merge(c: ConsoleDep, merge_id: int) -> Response:
    return c.run(lambda s, t: moderation.undo_merge(s, t, merge_id))


@router.post("/tags")
def create_tag(c: ConsoleDep, name: Annotated[str, Form()]) -> Response:
    return c.run(lambda s, t: moderation.create_tag(s, t, name))


@router.post("/tags/{tag_id}/delete")
def delete_tag(c: ConsoleDep, tag_id: int) -> Response:
    return c.run(lambda s, t: moderation.delete_tag(s, t, tag_id))


@router.post("/participants/{participant_id}/remove")
def remove_participant(c: ConsoleDep, participant_id: int) -> Response:
    return c.run(lambda s, t: moderation.remove_participant(s, t, participant_id))


@router.post("/paper")
def add_paper(
    c: ConsoleDep, name: Annotated[str, Form()], category: Annotated[str, Form()] = ""
) -> Response:
    return c.run(lambda s, t: moderation.add_paper_participant(s, t, name=name, category=category))


@router.post("/paper/{participant_id}/proposals")
def post_for(
    c: ConsoleDep,
    participant_id: int,
    title: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "proposal",
    body: Annotated[str, Form()] = "",
) -> Response:
    person = moderation.paper_participant(c.session, c.table, participant_id)
    return c.answer(
        proposals.post_proposal(c.session, participant=person, kind=kind, title=title, body=body)
    )


@router.post("/paper/{participant_id}/votes")
def vote_for(
    c: ConsoleDep,
    participant_id: int,
    proposal_id: Annotated[int, Form()],
    dots: Annotated[int, Form()],
) -> Response:
    person = moderation.paper_participant(c.session, c.table, participant_id)
    return c.answer(
        voting.set_vote(c.session, participant=person, proposal_id=proposal_id, dots=dots)
    )


@router.post("/synthesis")
def save_synthesis(
    c: ConsoleDep,
    facilitator_name: Annotated[str, Form()] = "",
    synthesis: Annotated[str, Form()] = "",
) -> Response:
    """The facilitator's name and written synthesis, for the minutes; the wall is unchanged."""
    return c.run(
        lambda s, t: report_access.save_synthesis(
            s, t, facilitator=facilitator_name, synthesis=synthesis
        )
    )
