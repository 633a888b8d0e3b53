"""A third voting method is one class, one template and these tests: "score 0–3", registered
here only (never offered in the UI), goes through the vote service, the merge, the API, the
live JSON and the phone's page like the shipped ones."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel

from app import i18n
from app.config import Settings
from app.db import make_engine
from app.models import Table
from app.services import methods, proposals, tables, voting
from app.services.errors import Invalid
from app.templating import templates
from tests.conftest import in_phase, make_event, make_participant
from tests.test_pages import joined

SCORE_TEMPLATES = Path(__file__).parent / "templates"


class Score(methods.VotingMethod):
    """Each proposal gets 0 to 3 points from each participant; no budget."""

    key = "score"
    label = "Score 0–3"
    summary = "0 to 3 points on each proposal"

    def settings(self, dots: int | None, max_per_proposal: int | None) -> methods.VotingRules:
        return methods.VotingRules(self.key, 3, 3)

    def cap(self, table: Table) -> int:
        return 3

    def over_cap(self, cap: int) -> Invalid:
        return Invalid("A score is 0 to 3", field="dots")

    def json(self, table: Table) -> dict[str, Any]:
        return {"mode": self.key, "max": 3}

    def unit(self, count: int) -> str:
        return i18n.ngettext("point", "points", count)


@pytest.fixture(autouse=True)
def score() -> Iterator[methods.VotingMethod]:
    method = methods.register(Score())
    loader = templates.env.loader
    assert loader is not None
    loader.searchpath.append(str(SCORE_TEMPLATES))  # type: ignore[attr-defined]
    yield method
    loader.searchpath.remove(str(SCORE_TEMPLATES))  # type: ignore[attr-defined]
    del methods.METHODS[method.key]


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The schema's CHECK lists the shipped keys only (a shipped method adds its key and a
    migration): this test database lets the test-only key in."""
    engine = make_engine(settings.database_url)

    @event.listens_for(engine, "connect")
    def _unchecked(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA ignore_check_constraints = ON")

    SQLModel.metadata.create_all(engine, checkfirst=False)
    yield engine
    engine.dispose()


def score_table(session: Session) -> tuple[Table, str]:
    event, moderator_token = make_event(session)
    table = tables.create_table(
        session, event=event, title="Casa", voting=tables.VotingRules.checked("score")
    )
    return in_phase(session, table, "voting"), moderator_token


def test_the_service_checks_a_score_by_the_methods_cap_and_no_budget(session: Session) -> None:
    table, _ = score_table(session)
    me, _ = make_participant(session, table)
    author, _ = make_participant(session, table)
    in_phase(session, table, "collect")
    posted = [
        proposals.post_proposal(session, participant=author, kind="proposal", title=f"Idea {n}")
        for n in range(3)
    ]
    in_phase(session, table, "voting")
    for p in posted:  # 9 points in all: no budget stops them
        result = voting.set_vote(session, participant=me, proposal_id=(p.proposal.id or 0), dots=3)
        assert result.dots_left is None and result.my_dots == 3
    with pytest.raises(Invalid, match="A score is 0 to 3"):
        voting.set_vote(session, participant=me, proposal_id=posted[0].proposal.id or 0, dots=4)
    assert voting.tally(session, posted[0].proposal.id or 0) == 3
    assert methods.method_of(table).folded(table, 5) == 3  # a merge keeps at most 3


def test_the_api_takes_scores_and_shows_the_methods_json(
    client: TestClient, engine: Engine
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        table, moderator_token = score_table(session)
        in_phase(session, table, "collect")
    code = table.code
    # Registered, but not shipped: the moderator's forms offer only the shipped methods.
    offered = client.get(f"/m/{moderator_token}").text
    assert 'name="mode" value="dots"' in offered and 'value="score"' not in offered
    joined = client.post(f"/api/tables/{code}/participants", json={"name": "Ada"}).json()
    headers = {"Authorization": f"Bearer {joined['token']}"}
    posted = client.post(
        f"/api/tables/{code}/proposals", json={"title": "Una casa per tutti"}, headers=headers
    ).json()
    with Session(engine, expire_on_commit=False) as session:
        fresh = session.get(Table, table.id)
        assert fresh is not None
        in_phase(session, fresh, "voting")
    vote = f"/api/proposals/{posted['id']}/vote"
    assert client.put(vote, json={"dots": 3}, headers=headers).status_code == 200
    refused = client.put(vote, json={"dots": 4}, headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "dots"
    shown = client.get(f"/api/tables/{code}").json()
    assert shown["voting"] == {"mode": "score", "max": 3, "weighting": "person"}


def test_the_phone_draws_the_methods_control_and_unit(client: TestClient, engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        table, _ = score_table(session)
        author, _ = make_participant(session, table)
        in_phase(session, table, "collect")
        proposals.post_proposal(session, participant=author, kind="proposal", title="Orti")
        in_phase(session, table, "voting")
    joined(client, table.code, name="Bea")
    page = client.get(f"/t/{table.code}").text
    assert 'class="vote vote-score"' in page and "Score each proposal 0–3" in page
    # the tally's unit is the method's
    assert '<strong class="tally-count">0</strong> <span class="tally-label">points</span>' in page
