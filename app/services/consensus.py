"""Consensus across stakeholder categories, the fair counting rules and the rankings.

Pure: it takes the voters of one table (`Voter`: category, organisation key, votes) and the
proposals on the wall (`Entry`: id, number, tally), reads no database and knows no page,
so that every door (the projector, the phones, the API, every format of the minutes) and
the property tests reach the same figures. `voting.consensus_input` reads them.

- **Groups** (`groups_of`): a category whose voters (participants who gave at least one
  vote at the table) reach N (`TAVOLI_REPORT_MIN_GROUP`) is a group; the categories under N
  are pooled into "Altre categorie" when the pool reaches N, and left out otherwise; the
  participants with no category are a category like the others ("Nessuna categoria").
- **Bridging score**: the geometric mean over the groups of the smoothed support
  `(a + 1/2) / (n + 1)`; none with fewer than two groups (`Consensus.reason` says why).
- **Pairwise-disagreement score** (`disagreement_scores`), for the minutes when there is no
  bridging score: `b = 4/n² · Σ d_jk` over the pairs of a proposal's approvers.
- **Counting rules** (`WeightingRule`, registered in `RULES` as the voting methods are in
  `methods.py`): how much each voter's votes weigh in the weighted tally. The raw votes are
  never changed, nor the budgets and caps: only the count.
- **Rankings** (`RankingKind`, registered in `RANKINGS`): tally, bridging, weighted.
"""

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import ClassVar

from app.enums import Ranking, Weighting


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


# N: the privacy threshold (TAVOLI_REPORT_MIN_GROUP), set by the app at start
# (`configure`), for the screens; the minutes are given theirs by the report's caller.
MIN_GROUP = 3


def configure(min_group: int) -> None:
    global MIN_GROUP
    MIN_GROUP = min_group


def screen_min_group() -> int:
    return MIN_GROUP


# The names of the two groups that are not a category, as the JSON report writes them.
NO_CATEGORY = "Nessuna categoria"
OTHER_CATEGORIES = "Altre categorie"


@dataclass(frozen=True)
class Voter:
    """One participant who voted (removed people are not given: their votes are gone).
    `organisation` is the attendance register's key ("" for none). An erased participant's
    votes stay in the tallies, as in every figure, and weigh as those of someone with no
    organisation; they count in no group (their category no longer speaks for anyone)."""

    id: int
    category: str  # "" for no category
    organisation: str
    votes: Mapping[int, int]  # proposal id -> points given (> 0)
    erased: bool = False


@dataclass(frozen=True)
class Entry:
    """One proposal on the wall: its stable number and its plain tally."""

    id: int
    number: int
    tally: int


@dataclass(frozen=True)
class Group:
    """A qualifying group: one category ("" is no category), or the small ones pooled."""

    kind: str  # "category", "none" (no category) or "others" (the small ones pooled)
    category: str  # the category's name; "" for "none" and "others"
    members: frozenset[str]  # the categories it counts
    voters: int

    @property
    def name(self) -> str:
        """The name the JSON report writes (the pages translate `kind` instead)."""
        if self.kind == "others":
            return OTHER_CATEGORIES
        return NO_CATEGORY if self.kind == "none" else self.category


@dataclass(frozen=True)
class Support:
    """Proposal i in group g: `supporters` of its `voters` gave it at least one vote."""

    group: Group
    supporters: int

    @property
    def share(self) -> float:
        """The plain share, in [0, 1] (what the bars draw)."""
        return self.supporters / self.group.voters if self.group.voters else 0.0

    @property
    def smoothed(self) -> float:
        """`(a + 1/2) / (n + 1)`: never 0 nor 1, so one group with no supporter lowers the
        score without wiping it out."""
        return (self.supporters + 0.5) / (self.group.voters + 1)


@dataclass(frozen=True)
class Line:
    entry: Entry
    support: tuple[Support, ...]  # aligned with Consensus.groups
    bridging: float | None
    weighted: Fraction
    disagreement: float | None = None  # the fallback score, when there is no bridging one


@dataclass(frozen=True)
class Consensus:
    rule: "WeightingRule"
    groups: tuple[Group, ...]
    left_out: int  # voters in categories under N whose pool is under N too
    voters: int  # everyone who voted
    lines: tuple[Line, ...]  # in the entries' order
    rankings: dict[str, tuple[int, ...] | None] = field(default_factory=dict)

    @property
    def bridging(self) -> bool:
        return len(self.groups) >= 2

    @property
    def reason(self) -> str:
        """Why there is no bridging score (a msgid; "" when there is one)."""
        if self.bridging:
            return ""
        if not self.groups:
            return N_("No bridging score: no category has enough voters to be counted.")
        return N_("No bridging score: only one category has enough voters to be counted.")

    def line(self, proposal_id: int) -> Line | None:
        return next((line for line in self.lines if line.entry.id == proposal_id), None)


def groups_of(
    voters: Sequence[Voter], min_group: int, order: Sequence[str] = ()
) -> tuple[tuple[Group, ...], int]:
    """The qualifying groups, in `order` (the event's categories), then the others by name,
    "no category", and the pool; and how many voters are left out."""
    counts = Counter(v.category for v in voters)
    listed = [c for c in order if c in counts]
    ordered = [
        *listed,
        *sorted(c for c in counts if c not in listed and c),
        *([""] * ("" in counts)),
    ]
    own = [c for c in ordered if counts[c] >= min_group]
    small = [c for c in ordered if counts[c] < min_group]
    pool = sum(counts[c] for c in small)
    groups = [Group("none" if not c else "category", c, frozenset({c}), counts[c]) for c in own]
    left_out = 0
    if small and pool >= min_group:
        groups.append(Group("others", "", frozenset(small), pool))
    else:
        left_out = pool
    return tuple(groups), left_out


def bridging_score(support: Sequence[Support]) -> float | None:
    """The geometric mean of the smoothed support over the groups (two at least)."""
    if len(support) < 2:
        return None
    return math.exp(sum(math.log(s.smoothed) for s in support) / len(support))


def disagreement_scores(voters: Sequence[Voter], ids: Sequence[int]) -> dict[int, float]:
    """`b_i = 4/n² · Σ d_jk` over the pairs j < k of i's approvers, `n` the voters and
    `d_jk` the share of the other proposals on which j and k differ (one supports, the
    other does not): high when the people who back i disagree on the rest."""
    n = len(voters)
    chosen = [frozenset(p for p, dots in v.votes.items() if dots > 0) for v in voters]
    result: dict[int, float] = {}
    for i in ids:
        others = len(ids) - 1
        backers = [c for c in chosen if i in c]
        total = 0.0
        if n and others > 0:
            for j in range(len(backers)):
                for k in range(j + 1, len(backers)):
                    total += len((backers[j] ^ backers[k]) - {i}) / others
        result[i] = 4 * total / (n * n) if n else 0.0
    return result


# --- the fair counting rules ------------------------------------------------------------------


class WeightingRule:
    """How much one voter's votes weigh in the weighted tally (the raw votes stay)."""

    key: ClassVar[str]
    label: ClassVar[str]  # msgid: the rule's name, in the header of the minutes
    explanation: ClassVar[str]  # msgid: the rule in one sentence

    def weights(self, voters: Sequence[Voter], groups: Sequence[Group]) -> dict[int, Fraction]:
        return {v.id: Fraction(1) for v in voters}


class PerPerson(WeightingRule):
    key = Weighting.PERSON
    label = N_("One person, one ballot")
    explanation = N_("Every participant's votes count in full, as cast.")


class PerOrganisation(WeightingRule):
    key = Weighting.ORGANISATION
    label = N_("One organisation, one voice")
    explanation = N_(
        "The votes of an organisation's k voting members each weigh 1/k, so every "
        "organisation weighs as one person; people with no organisation weigh 1."
    )

    def weights(self, voters: Sequence[Voter], groups: Sequence[Group]) -> dict[int, Fraction]:
        members = Counter(v.organisation for v in voters if v.organisation)
        return {
            v.id: Fraction(1, members[v.organisation]) if v.organisation else Fraction(1)
            for v in voters
        }


class PerCategory(WeightingRule):
    key = Weighting.CATEGORY
    label = N_("Every category the same weight")
    explanation = N_(
        "A vote from a counted group weighs the groups' average number of voters divided "
        "by its own, so every group weighs the same; other votes weigh 1."
    )

    def weights(self, voters: Sequence[Voter], groups: Sequence[Group]) -> dict[int, Fraction]:
        if not groups:
            return {v.id: Fraction(1) for v in voters}
        mean = Fraction(sum(g.voters for g in groups), len(groups))
        weight = {c: mean / g.voters for g in groups for c in g.members}
        return {
            v.id: Fraction(1) if v.erased else weight.get(v.category, Fraction(1)) for v in voters
        }


RULES: dict[str, WeightingRule] = {
    r.key: r for r in (PerPerson(), PerOrganisation(), PerCategory())
}


def rule_of(key: str) -> WeightingRule:
    """The rule of a stored key (one not registered any more reads as one person, one ballot)."""
    return RULES.get(key) or RULES[Weighting.PERSON]


# --- the rankings -------------------------------------------------------------------------------


class RankingKind:
    """One way to order the proposals; the results view shows it, the minutes adopt it."""

    key: ClassVar[str]
    label: ClassVar[str]  # msgid: "per voti", "per consenso trasversale"
    # The results view shows each post's weighted figure (and names the counting rule)
    # instead of its votes.
    weighted: ClassVar[bool] = False

    def order(self, consensus: Consensus) -> tuple[int, ...] | None:
        """The proposal ids, first first; None when this ranking cannot be made."""
        lines = sorted(consensus.lines, key=lambda line: (-line.entry.tally, line.entry.number))
        return tuple(line.entry.id for line in lines)


class ByTally(RankingKind):
    key = Ranking.TALLY
    label = N_("by votes")


class ByBridging(RankingKind):
    key = Ranking.BRIDGING
    label = N_("by consensus across categories")

    def order(self, consensus: Consensus) -> tuple[int, ...] | None:
        if not consensus.bridging:
            return None
        lines = sorted(
            consensus.lines,
            key=lambda line: (-(line.bridging or 0.0), -line.entry.tally, line.entry.number),
        )
        return tuple(line.entry.id for line in lines)


class ByWeighted(RankingKind):
    key = Ranking.WEIGHTED
    label = N_("by weighted votes")
    weighted = True

    def order(self, consensus: Consensus) -> tuple[int, ...] | None:
        lines = sorted(
            consensus.lines,
            key=lambda line: (-line.weighted, -line.entry.tally, line.entry.number),
        )
        return tuple(line.entry.id for line in lines)


RANKINGS: dict[str, RankingKind] = {r.key: r for r in (ByTally(), ByBridging(), ByWeighted())}


def ranking_of(key: str) -> RankingKind:
    return RANKINGS.get(key) or RANKINGS[Ranking.TALLY]


# --- the whole computation ----------------------------------------------------------------------


def compute(
    voters: Sequence[Voter],
    entries: Sequence[Entry],
    *,
    min_group: int,
    weighting: str = Weighting.PERSON,
    order: Sequence[str] = (),
) -> Consensus:
    """Every figure of one table: groups, support, bridging (or the pairwise fallback),
    weighted tallies and the three rankings. `voters` are those who gave at least one
    point to a proposal of `entries` (others are dropped here)."""
    ids = [e.id for e in entries]
    on_wall = set(ids)
    kept = (
        Voter(
            v.id,
            v.category,
            "" if v.erased else v.organisation,
            {p: d for p, d in v.votes.items() if p in on_wall and d > 0},
            v.erased,
        )
        for v in voters
    )
    voting = [v for v in kept if v.votes]
    counted = [v for v in voting if not v.erased]
    groups, left_out = groups_of(counted, min_group, order)
    rule = rule_of(weighting)
    weights = rule.weights(voting, groups)
    fallback = disagreement_scores(counted, ids) if len(groups) < 2 else {}
    lines = []
    for entry in entries:
        support = tuple(
            Support(
                g,
                sum(1 for v in counted if v.category in g.members and v.votes.get(entry.id, 0) > 0),
            )
            for g in groups
        )
        weighted = sum(
            (weights[v.id] * v.votes.get(entry.id, 0) for v in voting), start=Fraction(0)
        )
        lines.append(
            Line(entry, support, bridging_score(support), weighted, fallback.get(entry.id))
        )
    result = Consensus(rule, groups, left_out, len(counted), tuple(lines))
    result.rankings.update({key: kind.order(result) for key, kind in RANKINGS.items()})
    return result
