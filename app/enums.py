"""The closed sets of the domain, written once: the models' constraints, the API's schemas,
the services, the templates and the labels all read these (a `StrEnum` member is its string,
so stored rows, JSON and form values are unchanged)."""

from enum import StrEnum
from typing import TYPE_CHECKING, Literal


class Kind(StrEnum):
    NEED = "need"
    PROPOSAL = "proposal"
    RESOURCE = "resource"


class Phase(StrEnum):
    PREPARATION = "preparation"
    COLLECT = "collect"
    DISCUSSION = "discussion"
    VOTING = "voting"
    CLOSED = "closed"


class Status(StrEnum):
    """visible: on the wall; pending: in the pre-moderation queue; rephrase: sent back to the
    author with a note; rejected/hidden: off the wall; withdrawn: by its author; merged: into
    another proposal (merged_into_id)."""

    VISIBLE = "visible"
    PENDING = "pending"
    REPHRASE = "rephrase"
    REJECTED = "rejected"
    HIDDEN = "hidden"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"


class ReasonStatus(StrEnum):
    """A dissent's reason, like a post under pre-moderation: accepted (shown to the
    moderators and printed in the minutes), pending (waiting for a moderator) or rejected
    (never printed; the dissent itself still counts)."""

    ACCEPTED = "accepted"
    PENDING = "pending"
    REJECTED = "rejected"


class ScreenMode(StrEnum):
    JOIN = "join"
    WALL = "wall"
    SPOTLIGHT = "spotlight"
    RESULTS = "results"
    TIMER = "timer"


class TableFormat(StrEnum):
    """How a table runs (`services/formats.py` holds what each allows): "tavolo", the
    co-programming table (collect, discuss, vote), or "qa", "Domande e risposte" (questions
    posted and supported at once, sorted by support, marked answered)."""

    TAVOLO = "tavolo"
    QA = "qa"


class VotingMode(StrEnum):
    """The keys of the shipped voting methods (`services/methods.py` holds what each does);
    a table stores its method's key. A new shipped method adds its key here, which changes
    the `voting_mode_known` constraint: one Alembic revision."""

    APPROVAL = "approval"
    DOTS = "dots"


class Outcome(StrEnum):
    """What became of a priority after the event, as the coordinator or the event's
    moderator records it (services/outcomes.py); the public follow-up page shows it."""

    ACCEPTED = "accolta"
    UNDER_REVIEW = "in valutazione"
    REJECTED = "non accolta"
    DONE = "realizzata"


class ThemeDecision(StrEnum):
    """A theme of the plenary suggested across tables, as the moderator decided it."""

    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class Weighting(StrEnum):
    """The fair counting rules (`services/consensus.py` holds what each does): how much one
    vote weighs in a table's weighted tally. The raw votes are always kept."""

    PERSON = "person"
    ORGANISATION = "organisation"
    CATEGORY = "category"


class Ranking(StrEnum):
    """Which ranking the results view shows and the minutes adopt (`services/consensus.py`)."""

    TALLY = "tally"
    BRIDGING = "bridging"
    WEIGHTED = "weighted"


def one_of(column: str, values: type[StrEnum]) -> str:
    """The SQL of a CHECK constraint that keeps `column` within `values`, in the enum's
    order (the text the migrations created: no schema change)."""
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


# The same sets as pydantic field types that OpenAPI shows inline, as the plain string enums
# they always were (an enum class would add a `$ref` and a component: the contract for
# clients stays the same). mypy reads them as the enums; pydantic gives members.
if TYPE_CHECKING:
    KindField = Kind
    PhaseField = Phase
    ScreenModeField = ScreenMode
    VotingModeField = VotingMode
    OutcomeField = Outcome
    WeightingField = Weighting
    RankingField = Ranking
    TableFormatField = TableFormat
else:
    KindField = Literal[tuple(Kind)]
    PhaseField = Literal[tuple(Phase)]
    ScreenModeField = Literal[tuple(ScreenMode)]
    VotingModeField = Literal[tuple(VotingMode)]
    OutcomeField = Literal[tuple(Outcome)]
    WeightingField = Literal[tuple(Weighting)]
    RankingField = Literal[tuple(Ranking)]
    TableFormatField = Literal[tuple(TableFormat)]
