"""The ways a table runs, one class each (as the voting methods in `methods.py`): which
phases exist and what each allows (posting, voting), the voting method a format fixes, how
the wall is ordered and grouped, and the words that differ. A table stores its format's
key (`Table.format`); the phase machinery (`phases.py`), the tally visibility
(`visibility.py`), the read model (`state.py`) and the templates ask the format, never the
key. A new format is one class registered here, its words in the catalogue and its tests.

The format is chosen at creation and may change only while the table is in preparation
and was never opened (`tables.update_table`): a Q&A table's posts, supports and answers
mean something else than a tavolo's proposals and votes."""

from dataclasses import dataclass
from typing import ClassVar

from app import i18n
from app.enums import Kind, Phase, TableFormat
from app.models import Table
from app.services import methods
from app.services.methods import VotingMethod


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class Words:
    """The msgids that differ between formats (None: the shared wording)."""

    phase_labels: tuple[tuple[Phase, str], ...] = ()
    phase_hints: tuple[tuple[Phase, str], ...] = ()
    kind_label: str | None = None  # the one word a post is called, when kinds are not chosen
    consent: str | None = None  # the join form's consent to be named


class Format:
    """What every format answers; the defaults are the tavolo's."""

    key: ClassVar[str]
    label: ClassVar[str]  # msgid: its name where it is chosen and in the minutes
    summary: ClassVar[str]  # msgid: what it is, next to its name
    phases: ClassVar[tuple[Phase, ...]] = tuple(Phase)
    words: ClassVar[Words] = Words()
    # The one kind every post takes (None: the participant chooses need/proposal/resource).
    kind: ClassVar[Kind | None] = None
    # The wall sorted by support (ties by time), the answered apart; else posting order.
    by_support: ClassVar[bool] = False
    # A participant who consented is named with their posts (on the wall and the minutes).
    signed: ClassVar[bool] = False
    # Questions can be marked answered (their support frozen).
    answers: ClassVar[bool] = False

    def can_post(self, table: Table) -> bool:
        return table.phase == Phase.COLLECT or (
            table.phase == Phase.DISCUSSION and table.post_in_discussion
        )

    def can_vote(self, table: Table) -> bool:
        return table.phase == Phase.VOTING

    def method(self) -> VotingMethod | None:
        """The voting method the format fixes (None: the organiser chooses one)."""
        return None

    def name(self) -> str:
        return i18n.gettext(self.label)

    def next_phase(self, phase: str) -> str:
        order = self._order(phase)
        return self.phases[min(order + 1, len(self.phases) - 1)]

    def previous_phase(self, phase: str) -> str:
        order = self._order(phase)
        return self.phases[max(order - 1, 0)]

    def _order(self, phase: str) -> int:
        """The phase's place in this format; a phase it does not have (impossible: refused
        by `set_phase`) counts as the nearest earlier one it has."""
        every = tuple(Phase)
        index = every.index(Phase(phase))
        return max(i for i, p in enumerate(self.phases) if every.index(p) <= index)

    def phase_label(self, phase: str) -> str | None:
        return dict(self.words.phase_labels).get(Phase(phase))

    def phase_hint(self, phase: str) -> str | None:
        return dict(self.words.phase_hints).get(Phase(phase))


class Tavolo(Format):
    key = TableFormat.TAVOLO
    label = N_("Discussion table")
    summary = N_("collect needs, proposals and resources, discuss, then vote")


class QuestionsAndAnswers(Format):
    """One live phase where questions are posted and supported together (approval, one
    support per question, no budget), sorted by support; the moderator answers them."""

    key = TableFormat.QA
    label = N_("Questions and answers")
    summary = N_("questions posted and supported at once, sorted by support")
    phases = (Phase.PREPARATION, Phase.COLLECT, Phase.CLOSED)
    words = Words(
        phase_labels=((Phase.COLLECT, N_("Questions open")),),
        phase_hints=(
            (Phase.COLLECT, N_("Ask a question, and support the ones you want answered.")),
        ),
        kind_label=N_("Question"),
        consent=N_("My name may appear with my questions, on the screen and in the minutes"),
    )
    kind = Kind.PROPOSAL  # stored as a proposal: the minutes' and the API's one kind
    by_support = True
    signed = True
    answers = True

    def can_post(self, table: Table) -> bool:
        return table.phase == Phase.COLLECT

    def can_vote(self, table: Table) -> bool:
        return table.phase == Phase.COLLECT

    def method(self) -> VotingMethod | None:
        return methods.SUPPORT


# The shipped formats, in the order they are offered.
FORMATS: dict[str, Format] = {f.key: f for f in (Tavolo(), QuestionsAndAnswers())}


def format_of(table: Table) -> Format:
    """The table's format (a stored key that is not registered reads as a tavolo)."""
    return FORMATS.get(table.format) or FORMATS[TableFormat.TAVOLO]


def of_key(key: str) -> Format | None:
    return FORMATS.get(key)


methods.FORMAT_METHODS.update(
    {key: fixed for key, f in FORMATS.items() if (fixed := f.method()) is not None}
)
