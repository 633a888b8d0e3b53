"""Integrity: every door refuses the same things, and refusals change nothing.

Participant actions reach the services through three doors (the JSON API, a plain HTML form
and an htmx request; the WebSockets only push). Each is tried as a removed participant, as a
participant of another table, on a closed table and in the wrong phase. Moderator actions
are tried through the console and the API on a closed table and with another event's link.
"""

import re
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from app.models import Proposal, Vote
from app.services import moderation, phases, proposals, voting
from app.services.errors import DomainError
from tests.conftest import in_phase, make_participant, make_table
from tests.test_api import RUNNERS, bearer, create_table, join, post, set_phase

HTMX = {"HX-Request": "true"}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@dataclass
class Phone:
    """One participant behind one door: 'api' (bearer token), 'form' or 'htmx' (cookie)."""

    door: str
    code: str
    client: TestClient
    token: str = ""
    csrf: str = ""

    def _form(self, path: str, data: dict[str, Any]) -> int:
        headers = {**HTMX, "X-CSRF-Token": self.csrf} if self.door == "htmx" else {}
        body = data if self.door == "htmx" else {**data, "csrf_token": self.csrf}
        response = self.client.post(path, data=body, headers=headers, follow_redirects=False)
        return response.status_code

    def post(self, title: str, code: str | None = None) -> int:
        code = code or self.code
        if self.door == "api":
            return self.client.post(
                f"/api/tables/{code}/proposals",
                json={"kind": "need", "title": title},
                headers=bearer(self.token),
            ).status_code
        return self._form(f"/t/{code}/proposals", {"title": title, "kind": "need"})

    def edit(self, proposal_id: int) -> int:
        if self.door == "api":
            return self.client.patch(
                f"/api/proposals/{proposal_id}",
                json={"title": "Testo cambiato di nascosto"},
                headers=bearer(self.token),
            ).status_code
        return self._form(
            f"/t/{self.code}/proposals/{proposal_id}/edit", {"title": "Testo cambiato"}
        )

    def withdraw(self, proposal_id: int) -> int:
        if self.door == "api":
            return self.client.delete(
                f"/api/proposals/{proposal_id}", headers=bearer(self.token)
            ).status_code
        return self._form(f"/t/{self.code}/proposals/{proposal_id}/withdraw", {})

    def vote(self, proposal_id: int) -> int:
        if self.door == "api":
            return self.client.put(
                f"/api/proposals/{proposal_id}/vote", json={"dots": 1}, headers=bearer(self.token)
            ).status_code
        return self._form(f"/t/{self.code}/proposals/{proposal_id}/vote", {"dots": "1"})

    def dissent(self, proposal_id: int) -> int:
        if self.door == "api":
            return self.client.put(
                f"/api/proposals/{proposal_id}/dissent",
                json={"reason": "Non sono d'accordo"},
                headers=bearer(self.token),
            ).status_code
        return self._form(
            f"/t/{self.code}/proposals/{proposal_id}/dissent", {"reason": "Non sono d'accordo"}
        )

    def undissent(self, proposal_id: int) -> int:
        if self.door == "api":
            return self.client.delete(
                f"/api/proposals/{proposal_id}/dissent", headers=bearer(self.token)
            ).status_code
        return self._form(f"/t/{self.code}/proposals/{proposal_id}/dissent/withdraw", {})


def phone(app: FastAPI, door: str, code: str) -> Phone:
    """A phone of its own (its own cookies), joined through its door."""
    client = TestClient(app)
    if door == "api":
        return Phone(door, code, client, token=join(client, code))
    page = client.get(f"/t/{code}").text
    joined = client.post(f"/t/{code}/join", data={"csrf_token": csrf_of(page)})
    assert joined.status_code == 200, joined.text
    return Phone(door, code, client, csrf=csrf_of(joined.text))


def own_post(client: TestClient, door_phone: Phone) -> int:
    """The phone posts once while collecting; returns the post's id."""
    assert door_phone.post("Servizio di trasporto sociale per le frazioni") in (201, 303, 200)
    mine = [
        p["id"]
        for p in client.get(f"/api/tables/{door_phone.code}").json()["proposals"]
        if p["title"] == "Servizio di trasporto sociale per le frazioni"
    ]
    return int(mine[-1])


def snapshot(client: TestClient, code: str) -> tuple[Any, Any, Any]:
    """Everything anyone can see of the table, moderators included (their GET shows the
    dissent too)."""
    public = client.get(f"/api/tables/{code}").json()
    private = client.get(f"/api/tables/{code}/moderation", headers=bearer(RUNNERS[code])).json()
    runner = client.get(f"/api/tables/{code}", headers=bearer(RUNNERS[code])).json()
    return public, private, runner


ACTIONS = ("post", "edit", "withdraw", "vote", "dissent", "undissent")
# The actions on someone else's post, in the discussion or voting phase.
ON_THE_WALL = ("vote", "dissent", "undissent")
DOORS = ("api", "form", "htmx")


def attempt(p: Phone, action: str, proposal_id: int, code: str | None = None) -> int:
    if action == "post":
        return p.post("Una proposta che non deve comparire", code)
    return int(getattr(p, action)(proposal_id))


@pytest.mark.parametrize("door", DOORS)
def test_a_removed_participant_is_refused_by_every_door(
    client: TestClient, app: FastAPI, door: str
) -> None:
    _, code = create_table(client, {"mode": "dots", "dots": 5, "max_per_proposal": 5})
    other = join(client, code)
    target = post(client, code, other, "Sportello unico per le famiglie")
    me = phone(app, door, code)
    mine = own_post(client, me)
    set_phase(client, code, "voting")
    assert me.vote(target) in (200, 303)
    response = client.delete(
        f"/api/tables/{code}/participants/{participant_of(client, code, mine)}",
        headers=bearer(RUNNERS[code]),
    )
    assert response.status_code == 200
    tallies = {p["id"]: p["tally"] for p in client.get(f"/api/tables/{code}").json()["proposals"]}
    assert tallies[target] == 0  # their vote counts nowhere once they are removed

    for action, phase in (("post", "collect"), ("edit", "collect"), ("withdraw", "collect")):
        set_phase(client, code, phase)
        before = snapshot(client, code)
        assert attempt(me, action, mine) == 403, (door, action)
        assert snapshot(client, code) == before, (door, action)
    set_phase(client, code, "voting")
    before = snapshot(client, code)
    assert me.vote(target) == 403
    assert me.dissent(target) == 403
    assert me.undissent(target) == 403
    assert snapshot(client, code) == before


def participant_of(client: TestClient, code: str, proposal_id: int) -> int:
    """The author of a post, as the moderators' view shows it (the queue or the wall)."""
    from app.models import Proposal as ProposalRow

    session: Session
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        row = session.get(ProposalRow, proposal_id)
        assert row is not None
        return row.participant_id


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("action", ACTIONS)
def test_closed_table_and_wrong_phase_refuse_every_door_alike(
    client: TestClient, app: FastAPI, door: str, action: str
) -> None:
    _, code = create_table(client)
    me = phone(app, door, code)
    mine = own_post(client, me)
    other = join(client, code)
    target = post(client, code, other, "Centro diurno aperto anche il sabato")
    proposal_id = target if action in ON_THE_WALL else mine
    wrong = "collect" if action in ON_THE_WALL else "voting"
    for phase in ("closed", wrong):
        set_phase(client, code, phase)
        before = snapshot(client, code)
        assert attempt(me, action, proposal_id) == 409, (door, action, phase)
        assert snapshot(client, code) == before, (door, action, phase)


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("action", ACTIONS)
def test_a_participant_of_another_table_is_refused(
    client: TestClient, app: FastAPI, door: str, action: str
) -> None:
    _, code = create_table(client)
    _, elsewhere = create_table(client)
    owner = join(client, code)
    target = post(client, code, owner, "Doposcuola nei quartieri")
    if action in ON_THE_WALL:
        set_phase(client, code, "voting")
        set_phase(client, elsewhere, "voting")
    stranger = phone(app, door, elsewhere)
    before = snapshot(client, code)
    # The API knows the token and says it is for another table (403) or that the post is
    # not on this table (404); a browser's cookie is scoped to its own table, so a page
    # of another table sees no participant at all (404).
    assert attempt(stranger, action, target, code=code) in (403, 404), (door, action)
    assert snapshot(client, code) == before


# --- moderator actions: the console and the API refuse alike -----------------------------

MODERATOR_ACTIONS: list[tuple[str, str, str, dict[str, Any], str, dict[str, str]]] = [
    # name, API method, API path, API JSON, console path, console form
    ("accept", "POST", "/proposals/{pid}/accept", {}, "/proposals/{pid}/accept", {}),
    ("hide", "POST", "/proposals/{pid}/hide", {}, "/proposals/{pid}/hide", {}),
    ("reject", "POST", "/proposals/{pid}/reject", {"note": "no"}, "/proposals/{pid}/reject", {}),
    (
        "text",
        "PUT",
        "/proposals/{pid}/text",
        {"title": "Nuovo titolo"},
        "/proposals/{pid}/text",
        {"title": "Nuovo titolo"},
    ),
    ("tag", "POST", "/tags", {"name": "Scuola"}, "/tags", {"name": "Scuola"}),
    (
        "merge",
        "POST",
        "/merges",
        {"survivor_id": "{pid}", "proposal_ids": ["{pid2}"]},
        "/merges",
        {"survivor_id": "{pid}", "proposal_ids": "{pid2}"},
    ),
    ("remove", "DELETE", "/participants/{author}", {}, "/participants/{author}/remove", {}),
    ("reason", "POST", "/dissent/{reason}/accept", {}, "/dissent/{reason}/accept", {}),
    ("paper", "POST", "/paper-participants", {"name": "Rosa"}, "/paper", {"name": "Rosa"}),
]


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("door", ("api", "console"))
@pytest.mark.parametrize("action", MODERATOR_ACTIONS, ids=lambda a: a[0])
def test_moderator_actions_refused_alike_on_a_closed_table_and_from_another_event(
    client: TestClient, door: str, action: tuple[str, str, str, dict[str, Any], str, dict[str, str]]
) -> None:
    _, method, api_path, api_json, console_path, console_form = action
    _, code = create_table(client)
    _, foreign = create_table(client)
    author = join(client, code)
    pid, pid2 = post(client, code, author, "Mensa solidale"), post(client, code, author, "Orti")
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        row = session.get(Proposal, pid)
        assert row is not None
        ids = {"pid": pid, "pid2": pid2, "author": row.participant_id}
    if action[0] == "reason":  # a dissent's reason to decide on (issue 18)
        set_phase(client, code, "voting")
        critic = join(client, code)
        put = client.put(
            f"/api/proposals/{pid}/dissent", json={"reason": "Troppo caro"}, headers=bearer(critic)
        )
        assert put.status_code == 200, put.text
        runner = client.get(f"/api/tables/{code}", headers=bearer(RUNNERS[code])).json()
        ids["reason"] = runner["proposals"][0]["dissent"]["reasons"][0]["id"]

    def call(token: str) -> int:
        if door == "api":
            return client.request(
                method,
                f"/api/tables/{code}{_fill(api_path, ids)}",
                json=_fill(api_json, ids),
                headers=bearer(token),
            ).status_code
        page = client.get(f"/run/{token}/{code}/")
        if page.status_code != 200:
            return page.status_code
        form = {k: str(_fill(v, ids)) for k, v in console_form.items()}
        return client.post(
            f"/run/{token}/{code}{_fill(console_path, ids)}",
            data={**form, "csrf_token": csrf_of(page.text)},
            headers=HTMX,
        ).status_code

    before = snapshot(client, code)
    assert call(RUNNERS[foreign]) == 403  # another event's moderator link
    assert snapshot(client, code) == before
    set_phase(client, code, "closed")
    before = snapshot(client, code)
    assert call(RUNNERS[code]) == 409
    assert snapshot(client, code) == before


# --- the rules the services hold under the table's lock ----------------------------------


def _dots_on_wall(session: Session, participant_id: int) -> int:
    used = session.exec(
        select(func.coalesce(func.sum(Vote.dots), 0))
        .join(Proposal, Proposal.id == Vote.proposal_id)  # type: ignore[arg-type]
        .where(Vote.participant_id == participant_id, Proposal.status == "visible")
    ).one()
    return int(used)


def test_restoring_a_post_never_puts_a_voter_over_budget(session: Session) -> None:
    table = make_table(session, mode="dots", dots=5, cap=5)
    author, _ = make_participant(session, table)
    voter, _ = make_participant(session, table)
    first = proposals.post_proposal(session, participant=author, kind="need", title="Bus").proposal
    second = proposals.post_proposal(session, participant=author, kind="need", title="Asilo")
    table = in_phase(session, table, "voting")
    voting.set_vote(session, participant=voter, proposal_id=first.id or 0, dots=5)
    moderation.hide(session, table, first.id or 0)
    result = voting.set_vote(
        session, participant=voter, proposal_id=second.proposal.id or 0, dots=5
    )
    assert result.dots_left == 0
    moderation.restore(session, table, first.id or 0)
    assert _dots_on_wall(session, voter.id or 0) == 5
    assert voting.dots_left(session, voter, table) == 0
    assert voting.my_votes(session, voter) == {second.proposal.id: 5}


def test_restoring_gives_back_what_the_budget_still_allows(session: Session) -> None:
    table = make_table(session, mode="dots", dots=5, cap=5)
    author, _ = make_participant(session, table)
    voter, _ = make_participant(session, table)
    first = proposals.post_proposal(session, participant=author, kind="need", title="Bus").proposal
    second = proposals.post_proposal(session, participant=author, kind="need", title="Asilo")
    table = in_phase(session, table, "voting")
    voting.set_vote(session, participant=voter, proposal_id=first.id or 0, dots=4)
    moderation.hide(session, table, first.id or 0)
    voting.set_vote(session, participant=voter, proposal_id=second.proposal.id or 0, dots=3)
    moderation.restore(session, table, first.id or 0)
    assert voting.my_votes(session, voter) == {first.id: 2, second.proposal.id: 3}


def test_removed_participants_votes_do_not_come_back_with_a_restored_post(
    session: Session,
) -> None:
    table = make_table(session, mode="dots", dots=5, cap=5)
    author, _ = make_participant(session, table)
    troll, _ = make_participant(session, table)
    post_id = proposals.post_proposal(session, participant=author, kind="need", title="Bus")
    pid = post_id.proposal.id or 0
    table = in_phase(session, table, "voting")
    voting.set_vote(session, participant=troll, proposal_id=pid, dots=5)
    moderation.hide(session, table, pid)
    moderation.remove_participant(session, table, troll.id or 0)
    moderation.restore(session, table, pid)
    assert voting.tally(session, pid) == 0
    with pytest.raises(DomainError) as refused:
        voting.set_vote(session, participant=troll, proposal_id=pid, dots=1)
    assert refused.value.status == 403


def test_undoing_a_merge_gives_nothing_back_to_a_removed_participant(session: Session) -> None:
    table = make_table(session, mode="dots", dots=5, cap=5)
    author, _ = make_participant(session, table)
    troll, _ = make_participant(session, table)
    a = proposals.post_proposal(session, participant=author, kind="need", title="Bus").proposal
    b = proposals.post_proposal(session, participant=author, kind="need", title="Navetta")
    table = in_phase(session, table, "voting")
    voting.set_vote(session, participant=troll, proposal_id=b.proposal.id or 0, dots=3)
    merged = moderation.merge(
        session, table, survivor_id=a.id or 0, merged_ids=[b.proposal.id or 0]
    )
    moderation.remove_participant(session, table, troll.id or 0)
    moderation.undo_merge(session, table, merged.merge_id)
    assert voting.tally(session, a.id or 0) == 0
    assert voting.tally(session, b.proposal.id or 0) == 0


def test_a_participants_posts_are_capped_by_the_table(session: Session) -> None:
    from app.services import screen

    table = make_table(session)
    author, _ = make_participant(session, table)
    screen.update_settings(session, table, max_posts=2)
    for title in ("Bus", "Navetta"):
        proposals.post_proposal(session, participant=author, kind="need", title=title)
    with pytest.raises(DomainError) as refused:
        proposals.post_proposal(session, participant=author, kind="need", title="Terzo")
    assert refused.value.status == 409
    assert "At most 2 posts" in str(refused.value)


def test_a_closed_door_refuses_new_participants(client: TestClient) -> None:
    _, code = create_table(client)
    page = client.get(f"/t/{code}").text  # read while open: closed, the page has no form
    response = client.patch(
        f"/api/tables/{code}/settings", json={"joining_open": False}, headers=bearer(RUNNERS[code])
    )
    assert response.status_code == 200
    refused = client.post(f"/api/tables/{code}/participants", json={})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "This table is not taking new participants"
    assert client.get(f"/api/tables/{code}").json()["participants"] == 0
    form = client.post(f"/t/{code}/join", data={"csrf_token": csrf_of(page)})
    assert form.status_code == 409
    assert "non accoglie nuovi partecipanti" in form.text
    client.patch(
        f"/api/tables/{code}/settings", json={"joining_open": True}, headers=bearer(RUNNERS[code])
    )
    assert client.post(f"/api/tables/{code}/participants", json={}).status_code == 201


# --- concurrency: a vote waiting behind a merge or a close is never lost -----------------


def _race(engine: Engine, jobs: list[Callable[[Session], object]]) -> list[object]:
    """Run each job in its own thread and session at once; returns results or errors."""
    results: list[object] = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def work(index: int) -> None:
        with Session(engine, expire_on_commit=False) as session:
            start.wait()
            try:
                results[index] = jobs[index](session)
            except DomainError as error:
                results[index] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_votes_racing_a_merge_are_all_counted(session: Session, engine: Engine) -> None:
    table = make_table(session, mode="approval")
    author, _ = make_participant(session, table)
    survivor = proposals.post_proposal(session, participant=author, kind="need", title="Bus")
    duplicate = proposals.post_proposal(session, participant=author, kind="need", title="Navetta")
    sid, did = survivor.proposal.id or 0, duplicate.proposal.id or 0
    table = in_phase(session, table, "voting")
    voters = [make_participant(session, table)[0] for _ in range(12)]
    jobs: list[Callable[[Session], object]] = [
        lambda s, v=v, i=i: voting.set_vote(
            s, participant=v, proposal_id=did if i % 2 else sid, dots=1
        )
        for i, v in enumerate(voters)
    ]
    jobs.insert(6, lambda s: moderation.merge(s, table, survivor_id=sid, merged_ids=[did]))
    results = _race(engine, jobs)
    acknowledged = [r for r in results if isinstance(r, voting.VoteResult)]
    session.expire_all()
    # Every acknowledged vote is on the survivor now: merged before it, moved by the merge.
    assert voting.tally(session, sid) == len(acknowledged)
    assert voting.tally(session, did) == 0
    refused = [r for r in results if isinstance(r, DomainError)]
    assert all(r.status == 409 for r in refused)


def test_no_vote_lands_after_the_table_closed(session: Session, engine: Engine) -> None:
    table = make_table(session, mode="approval")
    author, _ = make_participant(session, table)
    pid = proposals.post_proposal(session, participant=author, kind="need", title="Bus")
    table = in_phase(session, table, "voting")
    voters = [make_participant(session, table)[0] for _ in range(10)]
    jobs: list[Callable[[Session], object]] = [
        lambda s, v=v: voting.set_vote(s, participant=v, proposal_id=pid.proposal.id or 0, dots=1)
        for v in voters
    ]
    jobs.insert(5, lambda s: phases.set_phase(s, table, "closed"))
    results = _race(engine, jobs)
    closed_at = results[5]
    assert isinstance(closed_at, phases.Change)
    for result in results:
        if isinstance(result, voting.VoteResult):
            assert result.seq is not None and closed_at.seq is not None
            assert result.seq < closed_at.seq  # every counted vote came before the close
    session.expire_all()
    counted = sum(isinstance(r, voting.VoteResult) for r in results)
    assert voting.tally(session, pid.proposal.id or 0) == counted


# --- limits are wired into the services, so every door meets them --------------------------


@pytest.fixture
def limited(settings: Any, engine: Engine) -> Any:
    from app import ratelimit
    from app.main import create_app

    app = create_app(
        settings.model_copy(
            update={
                "tavoli_rate_limits": True,
                "tavoli_limits": "post=3/minute, join=4/minute, lookup=3/minute, vote=2/minute",
            }
        )
    )
    with TestClient(app) as limited_client:
        yield limited_client
    ratelimit.configure(enabled=False)


def test_a_script_meets_the_limits_a_person_does_not(limited: TestClient) -> None:
    _, code = create_table(limited)
    token = join(limited, code)
    for n in range(3):
        post(limited, code, token, f"Proposta sul trasporto numero {n}")
    refused = limited.post(
        f"/api/tables/{code}/proposals", json={"title": "Quarta"}, headers=bearer(token)
    )
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert len(limited.get(f"/api/tables/{code}").json()["proposals"]) == 3
    for _ in range(3):  # join() above was the first of four
        join(limited, code)
    assert limited.post(f"/api/tables/{code}/participants", json={}).status_code == 429
    for _ in range(3):
        assert limited.get("/api/tables/ZZZZZZ").status_code == 404
    assert limited.get(f"/api/tables/{code}").status_code == 429  # guessing stops lookups


def test_who_sees_a_tally_is_decided_once(client: TestClient) -> None:
    """One rule (services/visibility.py) for the API, its stream, the vote's answer, the
    projector and the console: a one-proposal table's total is its tally, so it hides too."""
    _, code = create_table(client)
    me = join(client, code)
    pid = post(client, code, me, "Un solo centro diurno per tutto l'Ambito")
    set_phase(client, code, "voting")
    runner = bearer(RUNNERS[code])
    client.patch(f"/api/tables/{code}/settings", json={"results_hidden": True}, headers=runner)
    client.put(f"/api/tables/{code}/screen", json={"mode": "wall"}, headers=runner)
    answer = client.put(f"/api/proposals/{pid}/vote", json={"dots": 1}, headers=bearer(me))
    assert answer.json()["tally"] is None
    public = client.get(f"/api/tables/{code}").json()
    assert public["tallies_shown"] is False and public["proposals"][0]["tally"] is None
    screen = client.get(f"/t/{code}/screen").text
    assert "<dt>voto</dt>" not in screen and "<dt>voti</dt>" not in screen
    console = client.get(f"/run/{RUNNERS[code]}/{code}/").text
    assert "<dt>voto</dt>" in console  # moderators always see the count
    client.patch(f"/api/tables/{code}/settings", json={"results_hidden": False}, headers=runner)
    assert client.get(f"/api/tables/{code}").json()["proposals"][0]["tally"] == 1
    assert "<dt>voto</dt>" in client.get(f"/t/{code}/screen").text


def test_the_console_and_the_api_register_one_list_of_actions() -> None:
    """Every moderator action comes from app/actions.py; no door has a write of its own
    beyond the few conveniences named here."""
    from fastapi.routing import APIRoute

    from app.actions import ACTIONS
    from app.routers import api, api_facilitation, console

    routes = {
        (method, route.path)
        for router in (api.router, api_facilitation.router, console.router)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    for action in ACTIONS:
        if action.api:
            method, path = action.api
            assert (method, f"/api/tables/{{code}}{path}") in routes, action.name
        if action.console:
            assert ("POST", f"/run/{{token}}/{{code}}{action.console}") in routes, action.name
    listed = {("POST", f"/run/{{token}}/{{code}}{a.console}") for a in ACTIONS if a.console} | {
        (a.api[0], f"/api/tables/{{code}}{a.api[1]}") for a in ACTIONS if a.api
    }
    own = {
        (method, path)
        for method, path in routes
        if method not in ("GET", "HEAD")
        and (path.startswith("/run/{token}/{code}") or path.startswith("/api/tables/{code}/"))
        and (method, path) not in listed
    }
    assert own == {
        ("POST", "/run/{token}/{code}/bulk"),  # asks which wording survives, or tags many
        ("POST", "/run/{token}/{code}/merges/cancel"),  # closes the merge panel: no write
        ("POST", "/run/{token}/{code}/synthesis/preview"),  # renders what is typed: no write
        ("POST", "/api/tables/{code}/facilitator-link"),  # the event's moderator only
        ("POST", "/run/{token}/{code}/glossary"),  # the event's (PATCH /api/events/{id})
        ("POST", "/api/tables/{code}/participants"),  # a participant joins
        ("POST", "/api/tables/{code}/proposals"),  # a participant posts
    }


def test_the_synthesis_is_saved_through_either_door(client: TestClient) -> None:
    _, code = create_table(client)
    answer = client.put(
        f"/api/tables/{code}/synthesis",
        json={"facilitator_name": "Marta Esposito", "synthesis": "## Priorità\n\n- Trasporti"},
        headers=bearer(RUNNERS[code]),
    )
    assert answer.status_code == 200, answer.text
    page = client.get(f"/run/{RUNNERS[code]}/{code}/").text
    assert "Marta Esposito" in page and "## Priorità" in page


@pytest.mark.parametrize("door", ("api", "console"))
def test_every_listed_action_refuses_another_events_link_alike(
    client: TestClient, door: str
) -> None:
    """Generated from the one list: each action, through each door that offers it, with a
    link of another event, is a 403 and changes nothing."""
    from app.actions import ACTIONS

    _, code = create_table(client)
    _, foreign = create_table(client)
    author = join(client, code)
    pid = post(client, code, author, "Mensa solidale")
    # Any other id in a path (a merge's, a tag's, a dissent's...) is 1: refused before it is read.
    ids = defaultdict(lambda: 1, {"proposal_id": pid})
    page = client.get(f"/t/{code}").text  # any page of this browser carries its CSRF token
    token = RUNNERS[foreign]
    before = snapshot(client, code)
    tried = 0
    for action in ACTIONS:
        if door == "api" and action.api:
            method, path = action.api
            status = client.request(
                method,
                f"/api/tables/{code}{path.format_map(ids)}",
                json={},
                headers=bearer(token),
            ).status_code
        elif door == "console" and action.console:
            status = client.post(
                f"/run/{token}/{code}{action.console.format_map(ids)}",
                data={"csrf_token": csrf_of(page)},
                headers=HTMX,
            ).status_code
        else:
            continue
        tried += 1
        assert status == 403, (action.name, status)
    assert tried >= 17
    assert snapshot(client, code) == before
