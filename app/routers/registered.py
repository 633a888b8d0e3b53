"""Both doors of a table's actions, registered from the one list in `app/actions.py`.

The API answers JSON (`Changed`, or the action's own answer), the console its flash (the
push draws its live region); both parse the same input model (JSON for the API, the form
for the console), run the same service and publish what it committed.
"""

import inspect
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from app.actions import ACTIONS, Action, Ids, NoInput
from app.deps import ApiRunnerTableDep, LiveDep, SessionDep

# Any integer: one that names nothing on this table (too large included) is a 404.
Id = Annotated[int, PathParam(description="An id on this table.")]


def _ids(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def _parameters(
    action: Action[Any, Any], path: str, body: Any, tail: list[inspect.Parameter]
) -> Any:
    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter(name, keyword, annotation=Id) for name in _ids(path)]
    if action.input is not NoInput:
        # An input whose every field has a default may be left out (a DELETE without body).
        optional = _reads_json(body) and all(
            not f.is_required() for f in action.input.model_fields.values()
        )
        default = None if optional else inspect.Parameter.empty
        params.append(inspect.Parameter("body", keyword, annotation=body, default=default))
    return inspect.Signature([*params, *tail])


def _reads_json(body: Any) -> bool:
    return isinstance(body, type)  # the API reads the model itself, the console a Form()


def _run(
    action: Action[Any, Any], session: Any, table: Any, values: dict[str, Any], path: str
) -> Any:
    data = values.get("body") or action.input()
    ids = {name: values[name] for name in _ids(path)}
    return action.run(session, table, data, Ids(ids))


def _strict(model: type[BaseModel]) -> type[BaseModel]:
    """The input as the API reads it: a JSON field it does not know is a 422 (the console's
    forms carry a CSRF field besides, so the form reads the model as it is)."""
    if model is NoInput:
        return model
    config = ConfigDict(**{**model.model_config, "extra": "forbid"})
    strict = type(
        model.__name__, (model,), {"model_config": config, "__module__": model.__module__}
    )
    strict.__qualname__ = model.__qualname__
    strict.__doc__ = model.__doc__
    return strict


def register_api(router: APIRouter) -> None:
    """Every action the API offers, under the router's prefix (`/api/tables/{code}`)."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    for action in ACTIONS:
        if action.api is None:
            continue
        method, path = action.api
        body = _strict(action.input)

        def endpoint(
            *, _action: Action[Any, Any] = action, _path: str = path, **values: Any
        ) -> Any:
            result = _run(_action, values["session"], values["table"], values, _path)
            values["live"].publish(result)
            return _action.answered(result, values["session"])

        tail = [
            inspect.Parameter("session", keyword, annotation=SessionDep),
            inspect.Parameter("table", keyword, annotation=ApiRunnerTableDep),
            inspect.Parameter("live", keyword, annotation=LiveDep),
        ]
        endpoint.__signature__ = _parameters(action, path, body, tail)  # type: ignore[attr-defined]
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            response_model=action.answer_model,
            status_code=action.status_code,
            name=action.name,
            summary=action.summary or None,
        )


def register_console(router: APIRouter, console: Any) -> None:
    """Every action the console offers, as POST forms answered with their flash.
    `console` is the console's dependency (who asks, for which table, how to answer)."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    for action in ACTIONS:
        if action.console is None:
            continue
        path = action.console

        def endpoint(
            *, _action: Action[Any, Any] = action, _path: str = path, **values: Any
        ) -> Response:
            c = values["c"]
            result = _run(_action, c.session, c.table, values, _path)
            response: Response = c.answer(result, done=_action.console_done)
            if _action.console_trigger:
                response.headers["HX-Trigger"] = _action.console_trigger
            return response

        tail = [inspect.Parameter("c", keyword, annotation=console)]
        form: Callable[..., Any] = Annotated[action.input, Form()]  # type: ignore[assignment]
        endpoint.__signature__ = _parameters(action, path, form, tail)  # type: ignore[attr-defined]
        router.add_api_route(path, endpoint, methods=["POST"], name=f"console_{action.name}")
