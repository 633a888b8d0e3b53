"""The JSON API's one error shape, and how request validation errors are put into it.

Every error the API answers, whether a service refused (`DomainError`), the request did not
parse (`RequestValidationError`) or Starlette had no route, is `{"detail": str}` with the
field at fault when there is one. Routers document it with `responses=ERROR_RESPONSES`,
which also replaces FastAPI's default `HTTPValidationError` (a list) in the OpenAPI document.
"""

from collections.abc import Sequence
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

# Parts of a location that name where the value was, not which value it was.
_PLACES = ("body", "query", "path", "header", "cookie")


class FieldError(BaseModel):
    """One problem with the request, as pydantic reported it."""

    loc: list[str | int] = Field(description='Where the value was, e.g. ["body", "title"].')
    msg: str
    type: str


class ErrorOut(BaseModel):
    """Every error answer of the JSON API (400, 401, 403, 404, 409, 413, 422, 429)."""

    detail: str = Field(description="What went wrong, in English.")
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


def validation_error(exc: RequestValidationError) -> ErrorOut:
    """One readable message naming the first bad field; the full list under `errors`."""
    errors = field_errors(exc)
    if not errors:
        return ErrorOut(detail="The request is not valid", errors=[])
    first = errors[0]
    field = _field_name(first.loc)
    if first.type == "json_invalid":
        return ErrorOut(detail="The request body is not valid JSON", errors=errors)
    detail = f"{field}: {first.msg}" if field else first.msg
    return ErrorOut(detail=detail, field=field, errors=errors)
