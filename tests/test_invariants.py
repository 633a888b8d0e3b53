"""The invariants of docs/security.md, checked after every step of random sequences.

A hypothesis state machine joins (in stakeholder categories and organisations), posts,
votes (from phones and for paper participants), hides, restores, merges, undoes merges,
removes and erases people, disagrees and withdraws dissent and changes phases on one dots
table,
on SQLite and on PostgreSQL. After every step: each tally is the sum of the counted votes in
the live state and in the minutes; nobody is over budget or cap; a removed participant's
votes count nowhere; every vote the service acknowledged is there until a moderator's action
moves it, and an undo of a merge gives back only what the merge moved: a vote changed or
withdrawn on the merged post since stays as acknowledged (a rule votes on merged posts to
interleave with undos); a tap sent from a count that is not the stored one (another tab's
page) changes nothing. The consensus across categories (services/consensus.py) keeps its
properties: shares in [0, 1], raw tallies the same under every counting rule, the
organisation rule as a sum over organisations, and no group under N anywhere, nor any group
in a draft or on a screen while the table runs. Dissent never moves a vote, counts no
removed participant and never stays on a merged post. Proposals answer needs and resources
are pledged to proposals (the links): no link row is left on a merged post, and an undo
right after its merge gives back exactly the links there were before it.
"""

from fractions import Fraction
from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app import ratelimit
from app.models import Answer, Dissent, Participant, Pledge, Proposal, Table, Vote
from app.reports.data import build_table_report
from app.reports.privacy import WITHHELD
from app.services import (
    consensus,
    dissent,
    links,
    moderation,
    phases,
    privacy,
    proposals,
    state,
    voting,
)
from app.services.errors import DomainError
from tests.conftest import make_event, make_participant, make_table

BUDGET, CAP = 5, 3
N = 3  # TAVOLI_REPORT_MIN_GROUP's default, the screens' too
CATEGORIES = ["Comune / ente pubblico", "Ente del Terzo Settore", "Cittadino/a"]
ORGANISATIONS = ["", "Comune di Baronissi", "COMUNE DI BARONISSI", "Coop. Il Faro", "APS Il Ponte"]


def _by_organisation(voters: list[consensus.Voter], proposal_id: int) -> Fraction:
    """The organisation rule written out: per organisation, its points on the proposal over
    its voters; one person without an organisation (or erased) is their own."""
    total = Fraction(0)
    keys = {v.organisation for v in voters if v.organisation and not v.erased}
    for key in keys:
        members = [v for v in voters if v.organisation == key and not v.erased]
        total += Fraction(sum(v.votes.get(proposal_id, 0) for v in members), len(members))
    total += sum(v.votes.get(proposal_id, 0) for v in voters if not v.organisation or v.erased)
    return total


TITLES = ["Bus per le frazioni", "Asilo nido comunale", "Centro diurno", "Sportello casa"]


def machine_for(engine: Engine) -> type[RuleBasedStateMachine]:
    class Table_(RuleBasedStateMachine):
        people = Bundle("people")
        posts = Bundle("posts")
        merges = Bundle("merges")

        def __init__(self) -> None:
            super().__init__()
            self.session = Session(engine, expire_on_commit=False)
            event, _ = make_event(self.session)
            self.table = make_table(self.session, event, mode="dots", dots=BUDGET, cap=CAP)
            self.table_id = self.table.id or 0
            self.removed: set[int] = set()
            # Every change of the links (a link, a pledge, a merge, an undo) steps the epoch;
            # merge id -> (the epoch it made, every link row before it).
            self.epoch = 0
            self.links_before: dict[int, tuple[int, set[tuple[Any, ...]]]] = {}
            self.acknowledged: dict[tuple[int, int], int] = {}
            # merge id -> (survivor, duplicate, each voter's votes on the two before it,
            # each voter's vote on the survivor as the merge left it)
            self.merged: dict[int, tuple[int, int, dict[int, dict[int, int]], dict[int, int]]] = {}
            phones = [make_participant(self.session, self.table)[0] for _ in range(3)]
            paper = moderation.add_paper_participant(self.session, self.table, name="Rosa")
            self.first_posts = [
                proposals.post_proposal(
                    self.session, participant=phones[0], kind="need", title=title
                ).proposal.id
                or 0
                for title in TITLES
            ]
            self.linked = [
                proposals.post_proposal(
                    self.session, participant=phones[0], kind=kind, title=title
                ).proposal.id
                or 0
                for kind, title in (("proposal", "Navetta sociale"), ("resource", "Pulmino"))
            ]
            phases.set_phase(self.session, self.table, "voting")
            self.first_people = [*(p.id or 0 for p in phones), paper.participant.id or 0]
            # Every run starts with a merge its steps can undo, after they changed or
            # withdrew the votes it moved: two phones voted on both duplicates before it.
            survivor, duplicate = self.first_posts[0], self.first_posts[3]
            for phone, dots in ((phones[1], (2, 1)), (phones[2], (1, 2))):
                for post, count in zip((survivor, duplicate), dots, strict=True):
                    voting.set_vote(self.session, participant=phone, proposal_id=post, dots=count)
            before = {
                p.id or 0: {survivor: dots[0], duplicate: dots[1]}
                for p, dots in ((phones[1], (2, 1)), (phones[2], (1, 2)))
            }
            # A proposal answering both duplicates and one more need, with a pledged
            # resource: the merge moves its links, and its undo must give them back.
            self.table = self._fresh_table()
            links.set_answers(
                self.session,
                self.table,
                proposal_id=self.linked[0],
                need_ids=[duplicate, self.first_posts[1], survivor],
                by=None,
            )
            links.pledge(
                self.session,
                self.table,
                proposal_id=self.linked[0],
                resource_id=self.linked[1],
                offer="il pulmino il martedì",
                by=None,
            )
            rows = self._link_rows()
            self.first_merge = moderation.merge(
                self.session, self._fresh_table(), survivor_id=survivor, merged_ids=[duplicate]
            ).merge_id
            self.merged[self.first_merge] = (survivor, duplicate, before, dict.fromkeys(before, 3))
            self.epoch += 1
            self.links_before[self.first_merge] = (self.epoch, rows)
            self._reload_acknowledged()

        @initialize(target=people)
        def people_at_the_table(self) -> Any:
            return multiple(*self.first_people)

        @initialize(target=posts)
        def first_posts_on_the_wall(self) -> Any:
            return multiple(*self.first_posts, *self.linked)

        @initialize(target=merges)
        def first_merge_on_the_wall(self) -> Any:
            return self.first_merge

        def teardown(self) -> None:
            self.session.close()

        def _fresh_table(self) -> Table:
            self.session.expire_all()
            table = self.session.get(Table, self.table_id)
            assert table is not None
            return table

        def _reload_acknowledged(self) -> None:
            """A moderator's action may move votes: what counts from now is what is stored."""
            self.session.expire_all()
            self.acknowledged = {(v.participant_id, v.proposal_id): v.dots for v in self._votes()}

        def _votes(self) -> list[Vote]:
            return list(
                self.session.exec(
                    select(Vote)
                    .join(Proposal, col(Proposal.id) == Vote.proposal_id)
                    .where(Proposal.table_id == self.table_id)
                )
            )

        def _try(self, action: Any) -> Any:
            try:
                return action()
            except DomainError as refused:
                assert refused.status in (403, 404, 409, 422), refused
                self.session.rollback()
                return None

        @rule(
            target=people,
            category=st.sampled_from(["", *CATEGORIES]),
            organisation=st.sampled_from(ORGANISATIONS),
        )
        def join(self, category: str, organisation: str) -> Any:
            table = self._fresh_table()
            if table.phase == "closed":
                return multiple()
            person, _ = make_participant(
                self.session, table, category=category, organisation=organisation
            )
            return person.id or 0

        @rule(target=posts, who=people, title=st.sampled_from(TITLES))
        def post(self, who: int, title: str) -> Any:
            person = self.session.get(Participant, who)
            assert person is not None
            posted = self._try(
                lambda: proposals.post_proposal(
                    self.session, participant=person, kind="proposal", title=title
                )
            )
            return multiple() if posted is None else posted.proposal.id

        @rule(who=people, post=posts, dots=st.integers(0, CAP + 1))
        def vote(self, who: int, post: int, dots: int) -> None:
            person = self.session.get(Participant, who)
            assert person is not None
            result = self._try(
                lambda: voting.set_vote(
                    self.session, participant=person, proposal_id=post, dots=dots
                )
            )
            event("vote acknowledged" if result is not None else "vote refused")
            if result is not None:
                assert who not in self.removed
                if dots:
                    self.acknowledged[(who, post)] = dots
                else:
                    self.acknowledged.pop((who, post), None)

        @rule(who=people, post=posts, shown=st.integers(0, CAP), step=st.sampled_from([-1, 1]))
        def tap_on_a_page(self, who: int, post: int, shown: int, step: int) -> None:
            """A page's + or −, sent from the count it showed (maybe another tab's, stale):
            a count it did not show is never moved."""
            person = self.session.get(Participant, who)
            assert person is not None
            stored = self.acknowledged.get((who, post), 0)
            dots = max(shown + step, 0)
            try:
                voting.set_vote(
                    self.session, participant=person, proposal_id=post, dots=dots, expected=shown
                )
            except voting.StaleVote as stale:
                self.session.rollback()
                assert stored not in (shown, dots)
                assert stale.current.my_dots == stored
                event("stale tap refused")
                return
            except DomainError as refused:
                assert refused.status in (403, 404, 409, 422), refused
                self.session.rollback()
                return
            assert stored in (shown, dots)
            if dots:
                self.acknowledged[(who, post)] = dots
            else:
                self.acknowledged.pop((who, post), None)

        @rule(who=people, post=posts, dots=st.integers(1, CAP))
        def vote_more(self, who: int, post: int, dots: int) -> None:
            """Voting is what a table does most: a second rule doubles its share of steps."""
            self.vote(who, post, dots)

        @rule(post=posts)
        def hide(self, post: int) -> None:
            self._try(lambda: moderation.hide(self.session, self._fresh_table(), post))
            self._reload_acknowledged()

        @rule(post=posts)
        def restore(self, post: int) -> None:
            self._try(lambda: moderation.restore(self.session, self._fresh_table(), post))
            self._reload_acknowledged()

        @rule(target=merges, survivor=posts, duplicate=posts)
        def merge(self, survivor: int, duplicate: int) -> Any:
            if survivor == duplicate:
                return multiple()
            before: dict[int, dict[int, int]] = {}
            for (who, post), dots in self.acknowledged.items():
                if post in (survivor, duplicate):
                    before.setdefault(who, {})[post] = dots
            rows = self._link_rows()
            merged = self._try(
                lambda: moderation.merge(
                    self.session, self._fresh_table(), survivor_id=survivor, merged_ids=[duplicate]
                )
            )
            self._reload_acknowledged()
            if merged is None:
                return multiple()
            left = {who: self.acknowledged[(who, survivor)] for who in before}
            self.merged[merged.merge_id] = (survivor, duplicate, before, left)
            self.epoch += 1
            self.links_before[merged.merge_id] = (self.epoch, rows)
            return merged.merge_id

        def _link_rows(self) -> set[tuple[Any, ...]]:
            self.session.expire_all()
            ids = select(Proposal.id).where(Proposal.table_id == self.table_id)
            answers = self.session.exec(select(Answer).where(col(Answer.proposal_id).in_(ids)))
            pledges = self.session.exec(select(Pledge).where(col(Pledge.proposal_id).in_(ids)))
            return {("a", a.proposal_id, a.need_id) for a in answers} | {
                ("p", p.resource_id, p.proposal_id, p.offer) for p in pledges
            }

        @rule(target=posts, who=people, title=st.sampled_from(TITLES))
        def post_a_resource(self, who: int, title: str) -> Any:
            person = self.session.get(Participant, who)
            assert person is not None
            posted = self._try(
                lambda: proposals.post_proposal(
                    self.session, participant=person, kind="resource", title=title
                )
            )
            return multiple() if posted is None else posted.proposal.id

        @rule(proposal=posts, need=posts, more=st.booleans())
        def link(self, proposal: int, need: int, more: bool) -> None:
            """The moderator says a proposal answers a need (or that one more need)."""
            table = self._fresh_table()
            current = state.table_state(self.session, table).links.needs_of(proposal)
            wanted = [*current, need] if more else [need]
            done = self._try(
                lambda: links.set_answers(
                    self.session, table, proposal_id=proposal, need_ids=wanted, by=None
                )
            )
            if done is not None:
                self.epoch += 1
                event("link made")

        @rule(need=posts, more=st.booleans())
        def link_the_navetta(self, need: int, more: bool) -> None:
            """Links are rare among random pairs of posts: this one is always a proposal."""
            self.link(self.linked[0], need, more)

        @rule(proposal=posts)
        def pledge_the_pulmino(self, proposal: int) -> None:
            self.pledge(self.linked[1], proposal, "il pulmino il giovedì")

        @rule(resource=posts, proposal=posts, offer=st.sampled_from(["due educatori", "la sala"]))
        def pledge(self, resource: int, proposal: int, offer: str) -> None:
            done = self._try(
                lambda: links.pledge(
                    self.session,
                    self._fresh_table(),
                    proposal_id=proposal,
                    resource_id=resource,
                    offer=offer,
                    by=None,
                )
            )
            if done is not None:
                self.epoch += 1
                event("pledge made")

        @rule(merge=merges, pick=st.integers(0, 3), dots=st.integers(0, CAP))
        def vote_on_a_merged_post(self, merge: int, pick: int, dots: int) -> None:
            """One whose votes a merge moved withdraws or changes them, before its undo."""
            survivor, _duplicate, before, _left = self.merged[merge]
            voters = sorted(before) or self.first_people
            self.vote(voters[pick % len(voters)], survivor, dots)

        @rule(merge=merges, pick=st.integers(0, 3))
        def withdraw_from_a_merged_post(self, merge: int, pick: int) -> None:
            """The issue's case (withdrawn after the merge, then the merge undone), twice as
            likely as by the rule above alone."""
            self.vote_on_a_merged_post(merge, pick, 0)

        @rule(merge=consumes(merges))
        def undo(self, merge: int) -> None:
            """Undo reverts what the merge did, not what people did since: whoever changed or
            withdrew their vote on the merged post keeps it as they left it, and gets nothing
            back on the duplicate; whoever did not gets at most their votes from before it."""
            survivor, duplicate, before, left = self.merged[merge]
            expected = dict(self.acknowledged)
            untouched = {
                who
                for who in before
                if expected.get((who, survivor)) == left[who] and who not in self.removed
            }
            undone = self._try(
                lambda: moderation.undo_merge(self.session, self._fresh_table(), merge)
            )
            self._reload_acknowledged()
            if undone is None:
                assert self.acknowledged == expected
                return
            event("merge undone")
            made, rows = self.links_before.get(merge, (-1, set()))
            if made == self.epoch:  # nothing touched the links since: exactly as before
                assert self._link_rows() == rows
                event("links restored exactly")
            self.epoch += 1
            for who in untouched:
                for post in (survivor, duplicate):
                    expected.pop((who, post), None)
                    restored = self.acknowledged.get((who, post))
                    if restored is not None:
                        assert restored <= before[who].get(post, 0), (who, post, before)
                        expected[(who, post)] = restored
            if set(before) - untouched:
                event("undo after a change on the merged post")
            assert self.acknowledged == expected

        @rule(who=people, chance=st.integers(0, 5))
        def remove(self, who: int, chance: int) -> None:
            if chance:  # removals are rare at a real table, and end a voter's part
                return
            done = self._try(
                lambda: moderation.remove_participant(self.session, self._fresh_table(), who)
            )
            if done is not None:
                self.removed.add(who)
            self._reload_acknowledged()

        @rule(who=people, chance=st.integers(0, 5))
        def erase(self, who: int, chance: int) -> None:
            """Art. 17: the person's data go, their anonymous votes stay in every count."""
            person = self.session.get(Participant, who)
            if chance or person is None:
                return
            self._try(lambda: privacy.erase_participant(self.session, participant=person))
            self._reload_acknowledged()

        @rule(who=people, post=posts, reason=st.sampled_from(["", "Costa troppo", "Non serve"]))
        def disagree(self, who: int, post: int, reason: str) -> None:
            """Dissent (issue 18) beside the votes: it must never move one (the invariants
            compare the stored votes with the acknowledged ones, which this leaves alone)."""
            person = self.session.get(Participant, who)
            assert person is not None
            self._try(
                lambda: dissent.set_dissent(
                    self.session, participant=person, proposal_id=post, reason=reason
                )
            )

        @rule(who=people, post=posts)
        def withdraw_dissent(self, who: int, post: int) -> None:
            person = self.session.get(Participant, who)
            assert person is not None
            self._try(
                lambda: dissent.withdraw_dissent(self.session, participant=person, proposal_id=post)
            )

        @rule(
            phase=st.sampled_from(["collect", "voting", "voting", "voting", "discussion", "closed"])
        )
        def move(self, phase: str) -> None:
            self._try(lambda: phases.set_phase(self.session, self._fresh_table(), phase))

        @invariant()
        def tallies_are_the_counted_votes_everywhere(self) -> None:
            self.session.expire_all()
            votes = self._votes()
            removed = {
                p.id
                for p in self.session.exec(
                    select(Participant).where(
                        Participant.table_id == self.table_id, col(Participant.removed).is_(True)
                    )
                )
            }
            assert removed == self.removed
            assert not [v for v in votes if v.participant_id in removed]  # count nowhere
            sums: dict[int, int] = {}
            for vote in votes:
                sums[vote.proposal_id] = sums.get(vote.proposal_id, 0) + vote.dots
            table = self._fresh_table()
            current = state.table_state(self.session, table)
            for view in current.proposals:
                assert view.tally == sums.get(view.id, 0), view
            report = build_table_report(self.session, table)
            for line in report.lines:
                assert line.votes == sums.get(line.id, 0), line
            assert report.total_votes == sum(sums.get(p.id, 0) for p in current.visible)

        @invariant()
        def consensus_figures_hold_and_no_group_under_n_shows(self) -> None:
            """Support shares in [0, 1]; the raw tallies the same under every rule (the
            person rule's weighted tally is the tally); the organisation rule is the sum
            over organisations of their points over their voters; no group under N, and
            no group at all in a draft or on a screen while the table runs."""
            self.session.expire_all()
            table = self._fresh_table()
            current = state.table_state(self.session, table)
            on_wall = {p.id: p.tally for p in current.visible}
            voters = voting.consensus_voters(self.session, table, current.event)
            entries = [consensus.Entry(p.id, p.number, p.tally) for p in current.visible]
            counted = [v for v in voters if any(v.votes.get(i, 0) for i in on_wall)]
            for rule_key in consensus.RULES:
                result = consensus.compute(voters, entries, min_group=N, weighting=rule_key)
                assert {x.entry.id: x.entry.tally for x in result.lines} == on_wall
                for g in result.groups:
                    assert g.voters >= N, g
                for line in result.lines:
                    assert all(0 <= s.share <= 1 for s in line.support), line
                    if rule_key == "person":
                        assert line.weighted == line.entry.tally
                    if rule_key == "organisation":
                        assert line.weighted == _by_organisation(counted, line.entry.id)
            report = build_table_report(self.session, table, min_group=N)
            if report.draft:
                assert not report.consensus and not report.consensus_groups
                assert all(not line.support for line in report.lines)
                assert (report.rankings or {}).get("bridging") is None
                assert current.consensus is None  # the screens: totals only
            else:
                for group in report.consensus_groups:
                    assert group.voters is WITHHELD or (
                        isinstance(group.voters, int) and group.voters >= N
                    )
                assert current.consensus is not None
                assert all(g.voters >= N for g in current.consensus.groups)

        @invariant()
        def no_link_is_left_on_a_merged_post(self) -> None:
            merged = set(
                self.session.exec(
                    select(Proposal.id).where(
                        Proposal.table_id == self.table_id, Proposal.status == "merged"
                    )
                )
            )
            for row in self._link_rows():
                assert not merged & set(row[1:3]), row

        @invariant()
        def nobody_over_budget_or_cap(self) -> None:
            visible = {
                p.id
                for p in self.session.exec(
                    select(Proposal).where(
                        Proposal.table_id == self.table_id, Proposal.status == "visible"
                    )
                )
            }
            used: dict[int, int] = {}
            for vote in self._votes():
                assert 1 <= vote.dots <= CAP, vote
                if vote.proposal_id in visible:
                    used[vote.participant_id] = used.get(vote.participant_id, 0) + vote.dots
            assert all(total <= BUDGET for total in used.values()), used

        @invariant()
        def dissent_counts_only_the_present_and_never_sits_on_a_merged_post(self) -> None:
            rows = list(
                self.session.exec(
                    select(Dissent, Proposal.status)
                    .join(Proposal, col(Proposal.id) == Dissent.proposal_id)
                    .where(Proposal.table_id == self.table_id)
                )
            )
            assert not [d for d, _status in rows if d.participant_id in self.removed]
            assert not [d for d, status in rows if status == "merged"]  # carried to survivors
            counted: dict[int, int] = {}
            for d, _status in rows:
                counted[d.proposal_id] = counted.get(d.proposal_id, 0) + 1
            current = state.table_state(self.session, self._fresh_table())
            assert {pid: d.count for pid, d in current.dissent.items()} == counted

        @invariant()
        def every_acknowledged_vote_is_there(self) -> None:
            stored = {(v.participant_id, v.proposal_id): v.dots for v in self._votes()}
            assert stored == self.acknowledged

    return Table_


@pytest.mark.timeout(240)
def test_invariants_hold_after_every_step(engine: Engine, db: str) -> None:
    ratelimit.configure(enabled=False)  # a machine taps faster than any thumb
    steps = 40 if db == "sqlite" else 25
    run_state_machine_as_test(
        machine_for(engine),
        settings=settings(
            max_examples=30 if db == "sqlite" else 12,
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
            stateful_step_count=steps,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
