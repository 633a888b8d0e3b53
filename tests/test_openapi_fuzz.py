"""schemathesis against the live `/openapi.json`: no 5xx, and every answer (status, content
type, headers, body) as the document says. A real server process on a seeded SQLite file;
the hooks in tests/openapi_fuzz_hooks.py give each operation a valid token.

Bounded: one worker, a fixed seed and `--max-examples` per operation, so that every run
sends the same cases to every operation (about 25 s here with the coverage phase). No
`--max-time`: under it the fuzzing phase keeps drawing cases until the time is spent.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server import running_server

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "fuzz-organiser-token"
MAX_EXAMPLES = 12  # per operation in the fuzzing phase: about 900 cases, 12-16 s here
TIMEOUT = 120  # seconds of schemathesis at most (a loaded machine), not a budget it spends
SEED = 1
DESTRUCTIVE = (
    r"^(DELETE /api/tables/\{code\}|DELETE /api/events/\{event_id\}"
    r"|POST /api/events/\{event_id\}/moderator-link|DELETE /api/tables/\{code\}/me"
    r"|DELETE /api/tables/\{code\}/participants/\{participant_id\})$"
)

# `--checks all` except, with the reason:
EXCLUDED_CHECKS = {
    # Schema-valid data still meets the services' rules (a blank title, a merge of one
    # proposal, dots over the budget): 422 for it is right, and the schema cannot say so.
    "positive_data_acceptance": "domain rules answer 422 to schema-valid data",
    # pydantic's lax mode takes 0/1 for a boolean and "5" for an integer: lenient on input,
    # and no answer breaks the schema. (Negative cases are still generated and sent.)
    "negative_data_rejection": "pydantic coerces 0/1 to booleans",
    # Starlette answers 405 with the Allow of the first route whose path matched, so a path
    # served by two functions (PATCH and DELETE /api/proposals/{id}) lists one method.
    "allow_header_conformance": "Starlette's 405 lists one route's methods",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("fuzz")
    log_path = data / "server.log"
    with running_server(
        f"sqlite:///{data}/tavoli.db",
        log_path,
        "--no-access-log",
        TAVOLI_ADMIN_TOKEN=ADMIN_TOKEN,
        TAVOLI_SECRET_KEY="fuzz-secret-key",
        TAVOLI_WARM_PDF="true",  # report.pdf is fuzzed too: its workers start with the server
        # One client hammering every route would meet the rate limits (429, documented) and
        # stop reaching the routes' logic: they are off for this server.
        TAVOLI_RATE_LIMITS="false",
    ) as base:
        yield base, log_path


def _seed(base: str) -> dict[str, object]:
    """An event and a dots table with participants, proposals, a paper participant, tags and
    a merge, left in voting."""
    with httpx.Client(base_url=base, timeout=10) as client:

        def call(method: str, url: str, token: str | None, body: object = None) -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = client.request(method, url, json=body, headers=headers)
            assert response.status_code in (200, 201), (method, url, response.text)
            return dict(response.json())

        event = call("POST", "/api/events", ADMIN_TOKEN, {"title": "Forum", "date": "2024-11-09"})
        moderator = str(event["moderator_token"])
        table = call(
            "POST",
            f"/api/events/{event['id']}/tables",
            moderator,
            {"title": "Tavolo", "voting": {"mode": "dots", "dots": 5, "max_per_proposal": 3}},
        )
        run = f"/api/tables/{table['code']}"
        call("PUT", f"{run}/phase", moderator, {"phase": "collect"})
        tokens, people, posts = [], [], []
        for name in ("Anna", "Bruno", "Carla", "Dario"):
            joined = call("POST", f"{run}/participants", None, {"name": name})
            tokens.append(str(joined["token"]))
            people.append(joined["participant_id"])
            posts.append(
                call("POST", f"{run}/proposals", tokens[-1], {"title": f"Idea {name}"})["id"]
            )
        paper = call("POST", f"{run}/paper-participants", moderator, {"name": "Elena"})["id"]
        tags = [
            call("POST", f"{run}/tags", moderator, {"name": n})["id"] for n in ("Casa", "Scuola")
        ]
        merge = call(
            "POST",
            f"{run}/merges",
            moderator,
            {"survivor_id": posts[2], "proposal_ids": [posts[3]]},
        )
        call("PUT", f"{run}/phase", moderator, {"phase": "voting"})
        # The first PDF waits for the workers' warm-up: not while schemathesis times answers.
        pdf = client.get(
            f"/api/events/{event['id']}/report.pdf",
            headers={"Authorization": f"Bearer {moderator}"},
            timeout=120,
        )
        assert pdf.status_code == 200, pdf.text
        return {
            "admin": ADMIN_TOKEN,
            "moderator": moderator,
            "participant": tokens[0],
            "code": table["code"],
            "ids": {
                "event_id": [event["id"]],
                "proposal_id": posts,
                "participant_id": [paper, *people[1:]],
                "tag_id": tags,
                "merge_id": [merge["id"]],
            },
            "own_proposal_id": posts[0],
        }


@pytest.mark.timeout(TIMEOUT + 60)
def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    base, log_path = server
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(_seed(base)))
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        # Operations that end the seeded table, its event, its tokens or its participant
        # would leave every later case a 401/403/404: they have in-process tests instead.
        "--exclude-name-regex",
        DESTRUCTIVE,
        "--workers",
        "1",
        "--seed",
        str(SEED),
        "--request-timeout",
        "30",
        # max_response_time (in `all`) defaults to 10 s; a PDF on this shared 2-core machine
        # can take longer while the other tests run.
        "--max-response-time",
        "20",
        "--report",
        "junit",
        "--report-junit-path",
        str(tmp_path / "junit.xml"),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.openapi_fuzz_hooks",
        "TAVOLI_FUZZ_SEED": str(seed_file),
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }
    started = time.monotonic()
    run = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    print(output, f"\nschemathesis took {elapsed:.0f} s", sep="")
    assert run.returncode == 0, output + "\n--- server log ---\n" + log_path.read_text()[-5000:]
