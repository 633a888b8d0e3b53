"""Consensus across categories and the fair counting rules (services/consensus.py).

The worked example is the one of docs/consensus.md, computed by hand there; the properties
hold for any ballots; the doors (API, minutes) carry what the service computes.
"""

import json
import re
from fractions import Fraction

import hypothesis.strategies as st
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from sqlmodel import Session, select

from app import reports
from app.models import Table
from app.reports import data
from app.services import consensus, phases, proposals, screen, tables, voting
from app.services.consensus import Entry, Voter
from app.services.errors import Conflict
from tests.conftest import ADMIN_TOKEN, make_event, make_participant, make_table

COMUNE = "Comune / ente pubblico"
ETS = "Ente del Terzo Settore"
CITTADINO = "Cittadino/a"
SCUOLA = "Scuola o università"

TITLES = (
    "Trasporto sociale serale per le frazioni montane",
    "Sportello unico per la disabilità e i progetti di vita",
    "Centro estivo inclusivo per ragazze e ragazzi",
)

# The worked example (docs/consensus.md): N = 3; ten voters; three proposals.
A, B, C = 101, 102, 103
ENTRIES = [Entry(A, 1, 5), Entry(B, 2, 5), Entry(C, 3, 4)]
BALLOTS = [
    # (category, organisation key, proposals approved)
    (COMUNE, "comune di baronissi", (A, B)),
    (COMUNE, "comune di baronissi", (A, B)),
    (COMUNE, "comune di baronissi", (A, C)),
    (COMUNE, "comune di fisciano", (A,)),
    (ETS, "coop il faro", (B,)),
    (ETS, "coop il faro", (B,)),
    (ETS, "", (C,)),
    (CITTADINO, "", (A, C)),
    (CITTADINO, "", (B,)),
    (SCUOLA, "liceo galilei", (C,)),
]
VOTERS = [
    Voter(i, category, org, dict.fromkeys(chosen, 1))
    for i, (category, org, chosen) in enumerate(BALLOTS, start=1)
]


def _worked(weighting: str = "person") -> consensus.Consensus:
    return consensus.compute(
        VOTERS, ENTRIES, min_group=3, weighting=weighting, order=(COMUNE, ETS, CITTADINO, SCUOLA)
    )


def test_worked_example_groups_and_support() -> None:
    result = _worked()
    # Comune 4 and ETS 3 are groups; Cittadino 2 + Scuola 1 pool to 3: "Altre categorie".
    assert [(g.name, g.voters) for g in result.groups] == [
        (COMUNE, 4),
        (ETS, 3),
        ("Altre categorie", 3),
    ]
    assert result.left_out == 0
    support = {line.entry.id: [s.supporters for s in line.support] for line in result.lines}
    assert support == {A: [4, 0, 1], B: [2, 2, 1], C: [1, 1, 2]}


def test_worked_example_bridging_by_hand() -> None:
    """B_A = ∛(4.5/5 · 0.5/4 · 1.5/4) = ∛0.0421875 ≈ 0.3481; B_B = ∛(2.5/5 · 2.5/4 · 1.5/4)
    = ∛0.1171875 ≈ 0.4893; B_C = ∛(1.5/5 · 1.5/4 · 2.5/4) = ∛0.0703125 ≈ 0.4127."""
    result = _worked()
    scores = {line.entry.id: line.bridging for line in result.lines}
    assert scores[A] == pytest.approx(0.3481, abs=1e-4)
    assert scores[B] == pytest.approx(0.4893, abs=1e-4)
    assert scores[C] == pytest.approx(0.4127, abs=1e-4)
    # A leads by votes (5, n. 1 before B's 5, n. 2); B leads across categories.
    assert result.rankings["tally"] == (A, B, C)
    assert result.rankings["bridging"] == (B, C, A)


def test_worked_example_weighted_tallies_by_hand() -> None:
    organisation = {line.entry.id: line.weighted for line in _worked("organisation").lines}
    # A: Baronissi 2/3·... no: three Baronissi members each weigh 1/3 (A has all three: 1),
    # Fisciano 1, a citizen 1 = 3. B: two Baronissi (2/3), both Il Faro (1/2 + 1/2), a
    # citizen = 8/3. C: one Baronissi (1/3), ETS without organisation, citizen, Galilei = 10/3.
    assert organisation == {A: Fraction(3), B: Fraction(8, 3), C: Fraction(10, 3)}
    assert _worked("organisation").rankings["weighted"] == (C, A, B)
    category = {line.entry.id: line.weighted for line in _worked("category").lines}
    # Mean group 10/3: Comune votes weigh 5/6, ETS and the pool 10/9.
    assert category == {A: Fraction(40, 9), B: Fraction(5), C: Fraction(25, 6)}
    person = {line.entry.id: line.weighted for line in _worked("person").lines}
    assert person == {A: 5, B: 5, C: 4}


def test_fewer_than_two_groups_says_why_and_gives_the_pairwise_score() -> None:
    """Three voters of one category: no bridging score; b_i = 4/n² Σ d_jk. Proposal X is
    backed by 1 and 2, who differ on Y (1 yes, 2 no) and agree on Z (both no): d = 1/2, so
    b_X = 4/9 · 1/2 = 2/9. Y is backed by 1 and 3, who differ on X and on Z: b_Y = 4/9."""
    x, y, z = 1, 2, 3
    voters = [
        Voter(1, ETS, "", {x: 1, y: 1}),
        Voter(2, ETS, "", {x: 1}),
        Voter(3, ETS, "", {y: 1, z: 1}),
    ]
    result = consensus.compute(
        voters, [Entry(x, 1, 2), Entry(y, 2, 2), Entry(z, 3, 1)], min_group=3
    )
    assert not result.bridging and result.rankings["bridging"] is None
    assert "only one category" in result.reason
    scores = {line.entry.id: line.disagreement for line in result.lines}
    assert scores[x] == pytest.approx(2 / 9)
    assert scores[y] == pytest.approx(4 / 9)
    assert scores[z] == 0  # one backer: no pair


def test_small_categories_under_n_even_pooled_are_left_out() -> None:
    voters = [Voter(1, COMUNE, "", {1: 1}), Voter(2, ETS, "", {1: 1})]
    result = consensus.compute(voters, [Entry(1, 1, 2)], min_group=3)
    assert result.groups == () and result.left_out == 2
    assert "no category" in result.reason


def test_no_category_is_a_category_of_its_own() -> None:
    voters = [Voter(i, "", "", {1: 1}) for i in range(3)] + [
        Voter(10 + i, ETS, "", {2: 1}) for i in range(3)
    ]
    result = consensus.compute(voters, [Entry(1, 1, 3), Entry(2, 2, 3)], min_group=3)
    assert [(g.kind, g.name) for g in result.groups] == [
        ("category", ETS),
        ("none", "Nessuna categoria"),
    ]


def test_erased_voters_count_in_no_group_but_their_votes_stay_in_the_count() -> None:
    voters = [Voter(i, ETS, "coop", {1: 1}) for i in range(3)] + [
        Voter(9, ETS, "coop", {1: 1}, erased=True)
    ]
    result = consensus.compute(voters, [Entry(1, 1, 4)], min_group=3, weighting="organisation")
    assert [g.voters for g in result.groups] == [3]
    # Three of the Coop weigh 1/3 each; the erased one no longer has an organisation: 1.
    assert result.lines[0].weighted == 2


# --- properties ---------------------------------------------------------------------------------

CATEGORIES = [COMUNE, ETS, CITTADINO, SCUOLA, ""]
ORGANISATIONS = ["", "comune di baronissi", "coop il faro", "aps il ponte"]
IDS = [1, 2, 3, 4]

ballots = st.lists(
    st.tuples(
        st.sampled_from(CATEGORIES),
        st.sampled_from(ORGANISATIONS),
        st.dictionaries(st.sampled_from(IDS), st.integers(0, 3), max_size=4),
        st.booleans(),
    ),
    max_size=25,
)


def _voters(drawn: list[tuple[str, str, dict[int, int], bool]]) -> list[Voter]:
    return [
        Voter(i, cat, org, votes, erased=erased and i % 4 == 0)
        for i, (cat, org, votes, erased) in enumerate(drawn)
    ]


def _entries(voters: list[Voter]) -> list[Entry]:
    return [Entry(p, p, sum(v.votes.get(p, 0) for v in voters)) for p in IDS]


@settings(max_examples=150, deadline=None)
@given(ballots, st.integers(1, 5))
def test_support_shares_lie_in_0_1_and_raw_tallies_stay_under_every_rule(
    drawn: list[tuple[str, str, dict[int, int], bool]], n: int
) -> None:
    voters = _voters(drawn)
    entries = _entries(voters)
    for rule in consensus.RULES:
        result = consensus.compute(voters, entries, min_group=n, weighting=rule)
        assert [line.entry.tally for line in result.lines] == [e.tally for e in entries]
        for line in result.lines:
            for s in line.support:
                assert 0 <= s.share <= 1 and 0 < s.smoothed < 1
                assert s.group.voters >= n  # no group under N, ever
            if line.bridging is not None:
                assert 0 < line.bridging < 1
        if rule == "person":
            assert [line.weighted for line in result.lines] == [e.tally for e in entries]


@settings(max_examples=150, deadline=None)
@given(ballots)
def test_organisation_rule_is_the_sum_over_organisations_of_supporters_over_voters(
    drawn: list[tuple[str, str, dict[int, int], bool]],
) -> None:
    voters = [
        Voter(v.id, v.category, v.organisation, {p: min(d, 1) for p, d in v.votes.items()})
        for v in _voters(drawn)
    ]
    result = consensus.compute(voters, _entries(voters), min_group=3, weighting="organisation")
    voting_ = [v for v in voters if any(v.votes.values())]
    for line in result.lines:
        p = line.entry.id
        expected = Fraction(0)
        for org in {v.organisation for v in voting_ if v.organisation}:
            members = [v for v in voting_ if v.organisation == org]
            expected += Fraction(sum(1 for v in members if v.votes.get(p)), len(members))
        expected += sum(1 for v in voting_ if not v.organisation and v.votes.get(p))
        assert line.weighted == expected


@settings(max_examples=150, deadline=None)
@given(ballots, st.integers(0, 24), st.sampled_from(IDS))
def test_adding_support_never_lowers_the_bridging_score(
    drawn: list[tuple[str, str, dict[int, int], bool]], who: int, proposal: int
) -> None:
    voters = _voters(drawn)
    if not voters:
        return
    target = voters[who % len(voters)]
    if target.votes.get(proposal, 0) > 0 or not any(target.votes.values()):
        return  # already a supporter, or not a voter yet (adding one changes the groups)
    before = consensus.compute(voters, _entries(voters), min_group=3)
    more = [
        Voter(v.id, v.category, v.organisation, {**v.votes, proposal: 1}, v.erased)
        if v.id == target.id
        else v
        for v in voters
    ]
    after = consensus.compute(more, _entries(more), min_group=3)
    old, new = before.line(proposal), after.line(proposal)
    assert old is not None and new is not None
    if old.bridging is not None:
        assert new.bridging is not None and new.bridging >= old.bridging - 1e-12


@settings(max_examples=100, deadline=None)
@given(ballots, st.permutations(CATEGORIES[:4]))
def test_renaming_the_categories_changes_no_score(
    drawn: list[tuple[str, str, dict[int, int], bool]], renamed: list[str]
) -> None:
    voters = _voters(drawn)
    names = {old: f"{new} (rinominata)" for old, new in zip(CATEGORIES[:4], renamed, strict=True)}
    names[""] = ""
    other = [Voter(v.id, names[v.category], v.organisation, v.votes, v.erased) for v in voters]
    for rule in consensus.RULES:
        one = consensus.compute(voters, _entries(voters), min_group=3, weighting=rule)
        two = consensus.compute(other, _entries(other), min_group=3, weighting=rule)
        for a, b in zip(one.lines, two.lines, strict=True):
            assert a.bridging == pytest.approx(b.bridging) if a.bridging else b.bridging is None
            assert a.weighted == b.weighted
            assert a.disagreement == pytest.approx(b.disagreement) if a.disagreement else True
            assert sorted(s.supporters for s in a.support) == sorted(
                s.supporters for s in b.support
            )
        assert one.rankings == two.rankings


# --- the doors ----------------------------------------------------------------------------------


def test_the_rule_changes_until_voting_opens_then_409(session: Session) -> None:
    table = make_table(session, phase="collect")
    tables.update_table(session, table, weighting="organisation")
    assert tables.table_by_code(session, table.code).weighting == "organisation"
    phases.set_phase(session, table, "voting")
    with pytest.raises(Conflict):
        tables.update_table(session, table, weighting="category")
    phases.set_phase(session, table, "discussion")  # stepping back does not unlock it
    with pytest.raises(Conflict):
        tables.update_table(session, table, weighting="person")
    assert tables.table_by_code(session, table.code).weighting == "organisation"


def test_the_ranking_is_chosen_while_voting_or_closed_and_logged(session: Session) -> None:
    table = make_table(session, phase="collect")
    with pytest.raises(Conflict):
        screen.set_ranking(session, table, "bridging")
    phases.set_phase(session, table, "voting")
    first = screen.set_ranking(session, table, "bridging")
    again = screen.set_ranking(session, table, "bridging")
    assert first.seq is not None and again.seq is None  # a double click: nothing to push
    phases.set_phase(session, table, "closed")
    screen.set_ranking(session, table, "weighted")
    report = data.build_table_report(session, table)
    assert [s.ranking for s in report.ranking_steps] == ["bridging", "weighted"]
    minutes = reports.render_table(report, "md").decode()
    timeline = minutes[minutes.index("Cronologia") : minutes.index("Partecipanti")]
    assert "Classifica mostrata: per consenso trasversale" in timeline
    assert timeline.index("Votazione") < timeline.index("per consenso trasversale")


def _runner(client: TestClient) -> tuple[str, dict[str, str]]:
    made = client.post(
        "/api/events",
        json={"title": "Welfare in Azione", "date": "2026-12-07", "place": "Salerno"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert made.status_code == 201, made.text
    event = made.json()
    auth = {"authorization": f"Bearer {event['moderator_token']}"}
    created = client.post(
        f"/api/events/{event['id']}/tables",
        json={"title": "Reti", "voting": {"mode": "approval", "weighting": "organisation"}},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["voting"] == {"mode": "approval", "weighting": "organisation"}
    return created.json()["code"], auth


def test_api_sets_the_rule_at_creation_patch_and_ranking(client: TestClient) -> None:
    code, auth = _runner(client)
    patched = client.patch(
        f"/api/tables/{code}",
        json={"voting": {"mode": "approval", "weighting": "category"}},
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    assert client.get(f"/api/tables/{code}").json()["voting"]["weighting"] == "category"
    bad = client.patch(
        f"/api/tables/{code}",
        json={"voting": {"mode": "approval", "weighting": "money"}},
        headers=auth,
    )
    assert bad.status_code == 422
    early = client.put(f"/api/tables/{code}/ranking", json={"ranking": "bridging"}, headers=auth)
    assert early.status_code == 409, early.text
    assert client.put(
        f"/api/tables/{code}/phase", json={"phase": "voting"}, headers=auth
    ).is_success
    late = client.patch(
        f"/api/tables/{code}",
        json={"voting": {"mode": "approval", "weighting": "person"}},
        headers=auth,
    )
    assert late.status_code == 409 and late.json()["field"] == "weighting"
    chosen = client.put(f"/api/tables/{code}/ranking", json={"ranking": "bridging"}, headers=auth)
    assert chosen.status_code == 200, chosen.text
    assert client.get(f"/api/tables/{code}").json()["ranking"] == "bridging"
    unknown = client.put(f"/api/tables/{code}/ranking", json={"ranking": "loudest"}, headers=auth)
    assert unknown.status_code == 422
    nobody = client.put(f"/api/tables/{code}/ranking", json={"ranking": "tally"})
    assert nobody.status_code == 401


MODERATORS: dict[str, str] = {}  # table code -> its event's moderator token


def _worked_table(
    session: Session, weighting: str = "organisation"
) -> tuple[Table, dict[int, int]]:
    """The worked example at a real table, voting: the rule chosen before voting opened."""
    event, token = make_event(session)
    table = make_table(session, event, phase="collect")
    MODERATORS[table.code] = token
    tables.update_table(session, table, weighting=weighting)
    people = [
        make_participant(session, table, category=cat, organisation=org)[0]
        for cat, org, _chosen in BALLOTS
    ]
    posted = [
        proposals.post_proposal(session, participant=people[0], kind="proposal", title=t).proposal
        for t in TITLES
    ]
    phases.set_phase(session, table, "voting")
    ids = {A: posted[0].id or 0, B: posted[1].id or 0, C: posted[2].id or 0}
    for person, (_cat, _org, chosen) in zip(people, BALLOTS, strict=True):
        for key in chosen:
            voting.set_vote(session, participant=person, proposal_id=ids[key], dots=1)
    return table, ids


def test_drafts_carry_totals_only_and_final_minutes_the_consensus(session: Session) -> None:
    table, ids = _worked_table(session)
    draft = data.build_table_report(session, table)
    doc = json.loads(reports.render_table(draft, "json"))
    assert doc["draft"] and doc["rankings"]["bridging"] is None
    assert all(p["consensus"] is None for p in doc["proposals"])
    assert {p["id"]: p["weighted_tally"] for p in doc["proposals"]}[ids[B]] == pytest.approx(
        8 / 3, abs=1e-3
    )
    phases.set_phase(session, table, "closed")
    screen.set_ranking(session, table, "bridging")
    final = json.loads(reports.render_table(data.build_table_report(session, table), "json"))
    assert final["ranking_adopted"] == "bridging"
    assert final["rankings"]["bridging"] == [ids[B], ids[C], ids[A]]
    assert final["rankings"]["weighted"] == [ids[C], ids[A], ids[B]]
    by_id = {p["id"]: p for p in final["proposals"]}
    assert by_id[ids[A]]["consensus"]["groups"] == [
        {"name": COMUNE, "voters": 4, "supporters": 4, "support": 1.0},
        {"name": ETS, "voters": 3, "supporters": 0, "support": 0.0},
        {"name": "Altre categorie", "voters": 3, "supporters": 1, "support": 0.3333},
    ]
    assert by_id[ids[B]]["consensus"]["bridging"] == pytest.approx(0.4893, abs=1e-4)
    assert by_id[ids[B]]["votes"] == 5 and by_id[ids[B]]["weighted_tally"] == pytest.approx(2.667)


def test_the_projector_shows_totals_while_voting_and_the_chosen_ranking_with_bars_once_closed(
    session: Session, client: TestClient
) -> None:
    table, _ids = _worked_table(session)
    screen.set_mode(session, table, "results")
    screen.set_ranking(session, table, "bridging")
    voting_html = client.get(f"/t/{table.code}/screen").text
    assert "group-support" not in voting_html and "Altre categorie" not in voting_html
    phases.set_phase(session, table, "closed")
    html = client.get(f"/t/{table.code}/screen").text
    assert "per consenso trasversale" in html
    order = [html.index(TITLES[i]) for i in (1, 2, 0)]  # B, C, A
    assert order == sorted(order)
    assert html.count('class="group-support"') == 3 * 3
    # Comune, ETS, and the two small categories only as "Altre categorie": no group under N.
    assert "Altre categorie" in html and CITTADINO not in html and SCUOLA not in html
    assert "Comune / ente pubblico: </span>100%" in html  # A's support, in text
    screen.set_ranking(session, table, "weighted")
    weighted = client.get(f"/t/{table.code}/screen").text
    assert "3,3" in weighted and "per voti ponderati" in weighted
    order = [weighted.index(TITLES[i]) for i in (2, 0, 1)]  # C 3.3, A 3.0, B 2.7
    assert order == sorted(order)


def test_one_qualifying_group_says_why_on_the_projector(
    session: Session, client: TestClient
) -> None:
    event, _ = make_event(session)
    table = make_table(session, event, phase="collect")
    people = [make_participant(session, table, category=ETS)[0] for _ in range(4)]
    people.append(make_participant(session, table, category=COMUNE)[0])
    post = proposals.post_proposal(
        session, participant=people[0], kind="proposal", title=TITLES[0]
    ).proposal
    phases.set_phase(session, table, "voting")
    for person in people:
        voting.set_vote(session, participant=person, proposal_id=post.id or 0, dots=1)
    screen.set_mode(session, table, "results")
    screen.set_ranking(session, table, "bridging")
    phases.set_phase(session, table, "closed")
    html = client.get(f"/t/{table.code}/screen").text
    assert "una sola categoria ha abbastanza votanti" in html
    assert "group-support" not in html and COMUNE not in html  # one Comune voter: under N


def test_the_console_chooses_the_rule_before_voting_and_the_ranking_after(
    client: TestClient,
) -> None:
    from tests.test_api import create_table, set_phase
    from tests.test_console import console_url
    from tests.test_pages import HTMX, csrf_of

    _event, code = create_table(client, phase="collect")
    page = client.get(console_url(code)).text
    assert 'name="weighting" value="organisation"' in page
    assert 'action="ranking"' not in page  # nothing to rank before voting
    headers = {**HTMX, "X-CSRF-Token": csrf_of(page)}
    saved = client.post(
        console_url(code) + "table",
        data={"title": "Reti e organizzazioni", "mode": "approval", "weighting": "organisation"},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    assert client.get(f"/api/tables/{code}").json()["voting"]["weighting"] == "organisation"
    set_phase(client, code, "voting")
    page = client.get(console_url(code)).text
    assert 'action="ranking"' in page and "Regola di conteggio: Un'organizzazione, una voce" in page
    late = client.post(
        console_url(code) + "table",
        data={"title": "Reti e organizzazioni", "mode": "approval", "weighting": "person"},
        headers=headers,
    )
    assert "La regola di conteggio non può cambiare" in late.text
    assert client.get(f"/api/tables/{code}").json()["voting"]["weighting"] == "organisation"
    chosen = client.post(
        console_url(code) + "ranking", data={"ranking": "bridging"}, headers=headers
    )
    assert chosen.status_code == 200 and "Classifica scelta" in chosen.text
    page = client.get(console_url(code)).text
    assert re.search(r'value="bridging"><button[^>]*aria-pressed="true"', page)


def test_the_ranking_chosen_reaches_the_projector_live(
    session: Session, client: TestClient
) -> None:
    table, _ids = _worked_table(session)
    screen.set_mode(session, table, "results")
    phases.set_phase(session, table, "closed")
    moderator = {"authorization": f"Bearer {MODERATORS[table.code]}"}
    with client.websocket_connect(f"/t/{table.code}/screen/ws") as projector:
        first = projector.receive_text()  # the snapshot: by votes
        assert "per voti" in first and "per consenso trasversale" not in first
        chosen = client.put(
            f"/api/tables/{table.code}/ranking", json={"ranking": "bridging"}, headers=moderator
        )
        assert chosen.status_code == 200, chosen.text
        push = projector.receive_text()
    assert "per consenso trasversale" in push and 'class="group-support"' in push


def test_paper_participants_count_removed_ones_nowhere_and_the_rule_leaves_budgets_alone(
    session: Session,
) -> None:
    from app.services import moderation

    event, _ = make_event(session)
    table = make_table(session, event, mode="dots", dots=3, cap=2, phase="collect")
    tables.update_table(session, table, weighting="organisation")
    phones = [
        make_participant(session, table, category=ETS, organisation="Coop. Il Faro")[0]
        for _ in range(3)
    ]
    paper = [
        moderation.add_paper_participant(
            session, table, name=name, category=COMUNE, organisation="Comune di Baronissi"
        ).participant
        for name in ("Rosa Esposito", "Gennaro Iannone", "Anna Di Filippo")
    ]
    post = proposals.post_proposal(
        session, participant=phones[0], kind="proposal", title=TITLES[1]
    ).proposal
    phases.set_phase(session, table, "voting")
    for person in [*phones, *paper]:
        voting.set_vote(session, participant=person, proposal_id=post.id or 0, dots=2)
    # One organisation, one voice counts; it never lets anyone past the cap or the budget.
    with pytest.raises(Conflict):
        voting.set_vote(session, participant=phones[0], proposal_id=post.id or 0, dots=3)
    moderation.remove_participant(session, table, phones[2].id or 0)
    phases.set_phase(session, table, "closed")
    current = consensus_state(session, table)
    assert [(g.name, g.voters) for g in current.groups] == [(COMUNE, 3)]  # ETS: 2 left, < 3
    assert current.left_out == 2
    line = current.lines[0]
    assert line.entry.tally == 10  # 2 phones + 3 on paper, 2 dots each
    assert line.weighted == 4  # Il Faro's 4 dots weigh 1/2 each, Baronissi's 6 weigh 1/3


def consensus_state(session: Session, table: Table) -> consensus.Consensus:
    from app.services import state

    computed = state.table_state(session, table).consensus
    assert computed is not None
    return computed


def test_the_organisers_pages_set_the_rule_at_creation_and_in_the_table_form(
    client: TestClient, session: Session
) -> None:
    from tests.test_api import create_event, create_table, set_phase
    from tests.test_pages import csrf_of

    event = create_event(client)
    token = event["moderator_token"]
    home = client.get(f"/m/{token}").text
    assert 'name="weighting" value="category"' in home
    made = client.post(
        f"/m/{token}/tables",
        data={
            "csrf_token": csrf_of(home),
            "title": "Famiglia e rete antiviolenza",
            "mode": "approval",
            "weighting": "category",
        },
    )
    assert made.status_code == 200, made.text
    created = session.exec(select(Table).where(Table.title == "Famiglia e rete antiviolenza")).one()
    assert created.weighting == "category"
    _event, code = create_table(client)
    other = _event["moderator_token"]
    page = client.get(f"/m/{other}/tables/{code}").text
    saved = client.post(
        f"/m/{other}/tables/{code}",
        data={
            "csrf_token": csrf_of(page),
            "title": "Abitare",
            "mode": "approval",
            "weighting": "organisation",
        },
    )
    assert saved.status_code == 200
    assert client.get(f"/api/tables/{code}").json()["voting"]["weighting"] == "organisation"
    set_phase(client, code, "voting")
    locked = client.get(f"/m/{other}/tables/{code}").text
    assert "<fieldset disabled" in locked and 'name="weighting"' in locked
