"""The JSON API's one error shape, and how request validation errors are put into it.

Every error the API answers, whether a service refused (`DomainError`), the request did not
parse (`RequestValidationError`) or Starlette had no route, is `{"detail": str}` with the
field at fault when there is one, and a stable machine `code`. `detail` speaks the language
the client's `Accept-Language` asks for among Tavoli's (Italian for `it`, English otherwise),
from the same catalogue as the pages; `code` never changes with the language. Routers
document it with `responses=ERROR_RESPONSES`, which also replaces FastAPI's default
`HTTPValidationError` (a list) in the OpenAPI document.
"""

import re
from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from app.i18n import gettext, using_locale

# Parts of a location that name where the value was, not which value it was.
_PLACES = ("body", "query", "path", "header", "cookie")


class FieldError(BaseModel):
    """One problem with the request, as pydantic reported it."""

    loc: list[str | int] = Field(description='Where the value was, e.g. ["body", "title"].')
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error answer of the JSON API (400, 401, 403, 404, 409, 413, 422, 429)."""

    detail: str = Field(
        description="What went wrong, in the language of `Accept-Language` (`it` or English)."
    )
    code: str | None = Field(
        default=None,
        description="A stable machine code (e.g. `voting_is_not_open`): the same in every "
        "language; match on this, not on `detail`.",
    )
    field: str | None = Field(
        default=None, description="The request field at fault, when one is (e.g. `title`)."
    )
    errors: list[FieldError] | None = Field(
        default=None,
        description="422 for a request that does not parse: every problem found, "
        "the first of which is in `detail` and `field`.",
    )


_DESCRIPTIONS = {
    400: "The body could not be read at all (e.g. not UTF-8): FastAPI's own answer.",
    401: "No token, or a token Tavoli does not know.",
    403: "The token is valid but not for this event, table or action.",
    404: "No such event, table, proposal, tag, merge or participant.",
    409: "Not possible in the table's current phase or state (e.g. voting while collecting).",
    413: "The request body is too large.",
    422: "A value is missing or not valid (`field` names it).",
    429: "Too many requests: slow down and try again.",
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in _DESCRIPTIONS.items()
}


def _field_name(loc: Sequence[Any]) -> str | None:
    """The name of the field at fault: `["body", "voting", "dots"]` gives `voting.dots`."""
    parts = [str(part) for part in loc if not (isinstance(part, str) and part in _PLACES)]
    # Discriminated unions add the tag ("dots") and pydantic adds "function-after[...]" steps.
    named = [part for part in parts if "[" not in part]
    return ".".join(named) or None


def field_errors(exc: RequestValidationError) -> list[FieldError]:
    return [
        FieldError(
            loc=[part if isinstance(part, int) else str(part) for part in err.get("loc", ())],
            msg=str(err.get("msg", "")),
            type=str(err.get("type", "")),
        )
        for err in exc.errors()
    ]


def error_code(msgid: str) -> str:
    """A message's machine code, from its English msgid: `Voting is not open` gives
    `voting_is_not_open` (placeholders dropped), whatever language `detail` is in."""
    plain = re.sub(r"%\(\w+\)[sd]", " ", msgid).lower()
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_") or "error"


def validation_error(exc: RequestValidationError, locale: str = "en") -> ErrorOut:
    """One readable message naming the first bad field; the full list under `errors`
    (pydantic's own messages, in English)."""
    errors = field_errors(exc)
    with using_locale(locale):
        if not errors:
            return ErrorOut(detail=gettext("The request is not valid"), code="invalid", errors=[])
        first = errors[0]
        field = _field_name(first.loc)
        if first.type == "json_invalid":
            detail = gettext("The request body is not valid JSON")
            return ErrorOut(detail=detail, code="invalid_json", errors=errors)
        if locale == "en":
            detail = f"{field}: {first.msg}" if field else first.msg
        elif field:
            detail = gettext("%(field)s: missing or not valid") % {"field": field}
        else:
            detail = gettext("The request is not valid")
    return ErrorOut(detail=detail, field=field, code=first.type, errors=errors)
