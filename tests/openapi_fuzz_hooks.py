"""schemathesis hooks for tests/test_openapi_fuzz.py (loaded with SCHEMATHESIS_HOOKS).

The test seeds an event, a table and its participants through the API and writes what it got
to the JSON file named by TAVOLI_FUZZ_SEED: the tokens, the table's code, the ids it made.
Here every request gets the token its operation takes, every `{code}` the seeded table and
most small ids a seeded one, so the generated cases reach the routes' own logic instead of
stopping at 401 or 404.
"""

import json
import os
import re
from typing import Any

import schemathesis

SEED: dict[str, Any] = json.loads(open(os.environ["TAVOLI_FUZZ_SEED"]).read())  # noqa: SIM115

# Operations of a participant (their posts and votes); POST /api/events is the organiser's;
# every other operation with a token takes the event's moderator token.
PARTICIPANT = re.compile(r"^/api/(tables/\{code\}/proposals|proposals/\{proposal_id\}(/vote)?)$")


ORGANISER = {("POST", "/api/events"), ("GET", "/api/events")}


def token_for(method: str, path: str) -> str:
    if (method.upper(), path) in ORGANISER or path.endswith("/moderator-link"):
        return str(SEED["admin"])
    if PARTICIPANT.match(path):
        return str(SEED["participant"])
    return str(SEED["moderator"])


@schemathesis.auth(refresh_interval=None, retry_on=[])
class CapabilityToken:
    def get(self, case: Any, context: Any) -> str:
        return token_for(context.operation.method, context.operation.path)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """`{code}` is always the seeded table. A small generated id (0 to 999) becomes one of the
    seeded ids of its kind; negative, huge and non-integer ids go out as generated."""
    params = case.path_parameters
    if not params:
        return
    if "code" in params:
        params["code"] = SEED["code"]
    if case.operation.path == "/api/proposals/{proposal_id}":
        # The author edits or withdraws their own post: the participant's, not anyone's.
        value = params.get("proposal_id")
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000:
            params["proposal_id"] = SEED["own_proposal_id"]
            return
    for name, value in params.items():
        ids = SEED["ids"].get(name)
        if ids and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000:
            params[name] = ids[value % len(ids)]
