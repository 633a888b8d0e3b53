"""The facilitator's console for one table, behind a moderator or facilitator link.

Pages live at /run/{token}/{code}/ and every form posts to a path relative to it, so the
fragments pushed to all consoles of a table carry no token. The push alone draws the live
region on every console, the acting one included; an action answers with what is personal
(its flash; the page then resets the sent form), or a redirect without htmx.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from sqlmodel import Session

from app import i18n, ratelimit
from app.deps import LiveDep, SessionDep, csrf_protect, release
from app.live.broadcaster import Broadcaster, Committed
from app.models import Table, utcnow
from app.reports import access as report_access
from app.routers.registered import register_console
from app.routing import UnitOfWorkRoute
from app.services import access, events, moderation, state
from app.services.errors import Forbidden, Invalid
from app.services.tables import event_of
from app.templating import N_, templates
from app.views import shared_context
from app.web import csrf_token

router = APIRouter(
    prefix="/run/{token}/{code}",
    dependencies=[Depends(csrf_protect)],
    include_in_schema=False,
    route_class=UnitOfWorkRoute,
)

IdsForm = Annotated[list[int], Form()]
NOTHING_YET = N_("Nothing written yet.")
GLOSSARY_SAVED = N_("Glossary saved.")
REPLACED = N_(
    "This link no longer runs this table: a newer moderator or facilitator link has replaced"
    " it (each new link stops the previous one), or it was copied wrong. Ask the event's"
    " organiser or moderator for the current link."
)
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
            "base": f"/run/{self.token}/{self.table.code}/",
            "dashboard_url": f"/m/{self.token}" if moderator else "",
        }

    def answer(self, change: Committed | None, *, done: str = "") -> Response:
        """Publish the change to every console (this one too: the push alone draws the live
        region, so no answer races it), then answer with what is this moderator's own: what
        the action did, in the one flash region, when the action says so."""
        if change is not None:
            self.live.publish(change)
        if not self.request.headers.get("hx-request"):
            return RedirectResponse(f"/run/{self.token}/{self.table.code}/", status_code=303)
        # A note may say when (“Synthesis saved at 14:32”), in Rome's time.
        note = i18n.gettext(done) % {"time": i18n.local_clock(utcnow())} if done else ""
        return templates.TemplateResponse(
            self.request, "partials/_console_answer.html", {"done": note}
        )

    def run(self, action: Action) -> Response:
        return self.answer(action(self.session, self.table))


def get_console(
    request: Request, token: str, code: str, session: SessionDep, live: LiveDep
) -> Console:
    try:
        table = access.table_for_runner(session, token, code, client=ratelimit.address(request))
    except Forbidden:
        # Most often a link replaced by a newer one (only the newest is stored): say so,
        # and what to do, rather than only that it does not run the table.
        raise Forbidden(REPLACED) from None
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
    done = c.run(
        lambda s, t: moderation.set_tag(s, t, tag_id=tag_id, proposal_ids=proposal_ids, on=on)
    )
    # Done with these posts: the page unticks them once the answer is in (a push keeps the
    # ticks, which are hx-preserve), so the next tag does not land on them too.
    done.headers["HX-Trigger-After-Settle"] = "tavoli:selection-done"
    return done


@router.post("/synthesis/preview")
def preview_synthesis(c: ConsoleDep, synthesis: Annotated[str, Form()] = "") -> Response:
    """The synthesis as the minutes will print it (the minutes' own Markdown renderer:
    raw HTML shown as text), saving nothing."""
    shown = report_access.synthesis_preview(synthesis)
    if not shown:
        return HTMLResponse(f'<p class="hint">{escape(i18n.gettext(NOTHING_YET))}</p>')
    return HTMLResponse(str(shown))


@router.post("/glossary")
def save_glossary(c: ConsoleDep, glossary: Annotated[str, Form()] = "") -> Response:
    """The event's own words for duplicate suggestions: the event's moderator only (they
    serve every table), through the event's edit like `PATCH /api/events/{id}`."""
    if not access.is_event_moderator(c.session, c.token, c.table):
        raise Forbidden("Only the event's moderator can change the event's glossary")
    edit = events.update_event(c.session, event=event_of(c.session, c.table), glossary=glossary)
    for change in edit.changes:  # every table's consoles: its textarea, its suggestions
        c.live.publish(change)
    return c.answer(None, done=GLOSSARY_SAVED)


@router.post("/merges/cancel")
def cancel_merge(_c: ConsoleDep) -> Response:
    """Closes the merge panel; refused like every console route to a link that runs nothing."""
    return Response('<div id="merge-panel"></div>', media_type="text/html")


@router.get("/participants/{participant_id}/remove")
def confirm_removal(c: ConsoleDep, participant_id: int) -> Response:
    """Say what removing this participant will do, and let the moderator keep supported posts."""
    preview = moderation.removal_preview(c.session, c.table, participant_id)
    response = templates.TemplateResponse(
        c.request, "partials/_remove_panel.html", {"preview": preview, "table": c.table}
    )
    response.headers["HX-Retarget"] = "#remove-panel"
    response.headers["HX-Reswap"] = "outerHTML"
    return response


@router.get("/participants/cancel")
def cancel_removal(_c: ConsoleDep) -> Response:
    return Response('<div id="remove-panel"></div>', media_type="text/html")


# Every other action comes from the one list, registered on the API's router too.
register_console(router, ConsoleDep)
