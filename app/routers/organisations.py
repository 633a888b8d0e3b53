"""Organisation names unified for the attendance register, on both doors: the event's page
(a form) and the JSON API. The rule is in app/services/organisations.py."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.api_errors import ERROR_RESPONSES
from app.deps import SessionDep, SettingsDep, TokenDep, csrf_protect
from app.models import Event
from app.routing import UnitOfWorkRoute
from app.services import events, organisations, privacy
from app.services.errors import Invalid

api = APIRouter(
    prefix="/api", tags=["organisations"], responses=ERROR_RESPONSES, route_class=UnitOfWorkRoute
)
pages = APIRouter(
    dependencies=[Depends(csrf_protect)], include_in_schema=False, route_class=UnitOfWorkRoute
)


class VariantOut(BaseModel):
    key: str = Field(description="The automatic match's key: spaces, case, accents, dots aside.")
    spellings: list[str] = Field(description="As typed, the most typed first.")
    name: str = Field(description="The name the register prints for it; empty: not unified.")


class OrganisationsOut(BaseModel):
    variants: list[VariantOut]


class OrganisationsIn(BaseModel):
    """Every unified name of the event (it replaces the previous ones)."""

    model_config = ConfigDict(extra="forbid")

    names: dict[str, str] = Field(
        description="A variant (a spelling as typed, or its key) -> the name to print; "
        "empty unifies nothing.",
        examples=[{"Coop. Sociale Il Faro": "Cooperativa sociale Il Faro"}],
    )


def _out(session: SessionDep, event: Event) -> OrganisationsOut:
    return OrganisationsOut(
        variants=[
            VariantOut(key=v.key, spellings=list(v.spellings), name=v.name)
            for v in organisations.variants(session, event)
        ]
    )


@api.get("/events/{event_id}/organisations", response_model=OrganisationsOut)
def get_organisations(
    event_id: int, session: SessionDep, settings: SettingsDep, token: TokenDep
) -> OrganisationsOut:
    """The organisations typed at the event's tables and the names they are unified onto
    (moderator or organiser token)."""
    event = privacy.event_for_manager(session, event_id, token, settings.admin_token)
    return _out(session, event)


@api.put("/events/{event_id}/organisations", response_model=OrganisationsOut)
def put_organisations(
    event_id: int,
    body: OrganisationsIn,
    session: SessionDep,
    settings: SettingsDep,
    token: TokenDep,
) -> OrganisationsOut:
    """Unify organisation names for the attendance register (moderator or organiser token)."""
    event = privacy.event_for_manager(session, event_id, token, settings.admin_token)
    event = organisations.set_names(session, event=event, names=body.names)
    return _out(session, event)


@pages.post("/m/{token}/organisations")
def organisations_form(
    token: str,
    session: SessionDep,
    variant: Annotated[list[str] | None, Form()] = None,
    name: Annotated[list[str] | None, Form()] = None,
) -> Response:
    event = events.event_for_moderator(session, token)
    variants, names = variant or [], name or []
    if len(variants) != len(names):
        raise Invalid("Every organisation needs its name field", field="name")
    organisations.set_names(session, event=event, names=dict(zip(variants, names, strict=True)))
    return RedirectResponse(f"/m/{token}?organisations_saved=1#organisations-title", 303)
