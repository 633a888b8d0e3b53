"""The API's vote, well formed, answered before FastAPI's routing: the reveal moment's lane.

Why: when the moderator says "votate ora", a thousand phones vote within seconds, each vote
a `PUT /api/proposals/{id}/vote` on the one event loop that also feeds every screen. Past
the middleware, FastAPI's routing, its dependencies (the bearer token, the body) and the
validation of its answer cost that loop about 0.9 ms a vote, an eighth of all a vote costs
the server (docs/performance.md). This lane answers the same request with the same code
(`app.routers.api.cast_vote`: the same service, the same refusals, the same answer model)
and none of that machinery.

It takes only what it can answer exactly as the route would: a PUT on the exact path, a
JSON body (`application/json`) that `VoteIn` accepts. Anything else (a malformed body, an
unknown field, another content type, a path the route would read otherwise, every path
behind a `--root-path`) goes on to the route, body and all, which answers as it always
has; so the API's schema, its validation errors and its documentation stay the route's.
The lane sits inside `WebMiddleware` and `BodyGuard`: its answers carry the security
headers, and its body is already bounded and well formed. A refusal is answered by the
app's own error responder (`refuse`).
"""

import re

from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from app.hygiene import Refuse, replay
from app.routers.api import VoteIn, cast_vote
from app.services.errors import DomainError
from app.web import ASGIApp, Receive, Scope, Send

# The route's path with an id FastAPI reads as the same int (plain digits; a sign, spaces or
# anything else go to the route).
VOTE_PATH = re.compile(r"/api/proposals/([0-9]{1,18})/vote")


class VoteLane:
    """Pure ASGI: a well-formed vote answered here, every other request passed on."""

    def __init__(self, app: ASGIApp, *, refuse: Refuse) -> None:
        self.app = app
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            VOTE_PATH.fullmatch(scope["path"])
            if scope["type"] == "http" and scope["method"] == "PUT"
            else None
        )
        if match is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            body += message.get("body", b"")
            more = message.get("more_body", False)
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        try:
            if content_type != "application/json":
                raise ValueError(content_type)
            vote = VoteIn.model_validate_json(body)
        except (ValueError, ValidationError):  # the route's own answer, whatever it is
            await self.app(scope, replay(body, receive), send)
            return
        scheme, credentials = get_authorization_scheme_param(headers.get("authorization"))
        token = credentials if scheme.lower() == "bearer" and credentials else None
        response: Response
        try:
            answer = await cast_vote(scope["app"].state, token, int(match[1]), vote)
        except DomainError as refused:
            response = await self.refuse(Request(scope), refused)
        else:
            response = Response(answer.model_dump_json(), media_type="application/json")
        await response(scope, receive, send)
