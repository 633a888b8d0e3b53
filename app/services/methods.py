"""The voting methods, one class each (as Datasette's facets and `reports/formats.py`):
what differs between methods lives here and nowhere else (its settings and their
validation, the cap and the budget a vote is checked against, the tally, the unit and the
words, the JSON, the template of its controls). A table stores its method's key; a new
method is one class registered here, one template `partials/methods/_<key>.html` (its
macros `control`, `left` and `settings`) and its tests."""

from dataclasses import dataclass
from typing import Any, ClassVar

from app import i18n
from app.enums import VotingMode
from app.models import Table
from app.services.errors import Conflict, DomainError, Invalid


def N_(message: str) -> str:
    """Mark a string for the catalogue; it is translated where it is shown."""
    return message


@dataclass(frozen=True)
class VotingRules:
    """A table's voting settings, checked by its method (`VotingRules.checked`)."""

    mode: str = VotingMode.APPROVAL
    dots: int = 1
    max_per_proposal: int = 1

    @classmethod
    def checked(
        cls, mode: str, dots: int | None = None, max_per_proposal: int | None = None
    ) -> "VotingRules":
        method = METHODS.get(mode)
        if method is None:
            raise Invalid("Unknown voting mode", field="voting")
        return method.settings(dots, max_per_proposal)


class VotingMethod:
    """What every method answers. A vote is a number of points (`Vote.dots`) a participant
    gives a proposal, between 0 and `cap`; a method with a `budget` also bounds their sum.
    A tally is the sum of a proposal's points (one SQL `sum`, `voting.TALLIES`). The
    defaults are one vote per proposal and its words; a method overrides what differs."""

    key: ClassVar[str]
    label: ClassVar[str]  # msgid: the method's one name, on every page and in the minutes
    summary: ClassVar[str]  # msgid: what it is, next to its name where it is chosen

    @property
    def template(self) -> str:
        return f"partials/methods/_{self.key}.html"

    def settings(self, dots: int | None, max_per_proposal: int | None) -> VotingRules:
        """The settings as stored, or `Invalid`."""
        return VotingRules(self.key, 1, 1)

    def cap(self, table: Table) -> int:
        """The most one participant may give one proposal."""
        return 1

    def budget(self, table: Table) -> int | None:
        """What one participant may give in all (None: no budget, only the cap)."""
        return None

    def over_cap(self, cap: int) -> DomainError:
        return Conflict("At most %(cap)s dots on one proposal", cap=cap)

    def folded(self, table: Table, total: int) -> int:
        """What a merge leaves on the survivor of one participant's votes on the merged
        posts (the method cannot change once votes exist)."""
        return min(total, self.cap(table))

    def json(self, table: Table) -> dict[str, Any]:
        """The method in the API's `voting` schema (what GET shows and PATCH takes)."""
        return {"mode": self.key}

    def unit(self, count: int) -> str:
        """The word after a tally: “voti”, “bollini”."""
        return i18n.ngettext("vote", "votes", count)

    def heading(self) -> str:
        """The heading of a votes column."""
        return i18n.gettext("Votes")

    def rule(self, dots: int, cap: int) -> str:
        """The settings in words, after the method's name (empty: nothing to say)."""
        return ""

    # A paper ballot the moderator types in (the console), and "my data" (art. 15).
    def ballot_hint(self) -> str:
        return i18n.gettext("1 yes, 0 no")

    def ballot_heading(self) -> str:
        return i18n.gettext("Vote")

    def given(self, count: int) -> str:
        """One vote of a paper ballot, before the proposal's title."""
        return i18n.gettext("Yes")

    def you_gave(self, count: int, title: str) -> str:
        return i18n.gettext("You support «%(title)s»") % {"title": title}

    def name(self) -> str:
        return i18n.gettext(self.label)

    def described(self, dots: int, cap: int) -> str:
        """“Bollini: 5 ciascuno, al massimo 3 su una proposta”."""
        rule = self.rule(dots, cap)
        return f"{self.name()}: {rule}" if rule else self.name()


class Approval(VotingMethod):
    key = VotingMode.APPROVAL
    label = N_("Approval voting")
    summary = N_("one vote per proposal")

    def over_cap(self, cap: int) -> DomainError:
        return Invalid("Approval voting takes 0 or 1", field="dots")

    def left(self) -> str:
        """What a phone shows where dots left would be."""
        return i18n.gettext("One vote per proposal")


class Dots(VotingMethod):
    key = VotingMode.DOTS
    label = N_("Dot voting")
    summary = N_("a budget of dots to share out")

    def settings(self, dots: int | None, max_per_proposal: int | None) -> VotingRules:
        budget = 5 if dots is None else dots
        cap = budget if max_per_proposal is None else max_per_proposal
        if not 1 <= budget <= 100:
            raise Invalid("Dots must be between 1 and 100", field="dots")
        if not 1 <= cap <= budget:
            raise Invalid(
                "The cap per proposal must be between 1 and the dots", field="max_per_proposal"
            )
        return VotingRules(self.key, budget, cap)

    def cap(self, table: Table) -> int:
        return table.max_per_proposal

    def budget(self, table: Table) -> int | None:
        return table.dots

    def json(self, table: Table) -> dict[str, Any]:
        return {"mode": self.key, "dots": table.dots, "max_per_proposal": table.max_per_proposal}

    def unit(self, count: int) -> str:
        return i18n.ngettext("dot", "dots", count)

    def heading(self) -> str:
        return i18n.gettext("Dots")

    def ballot_hint(self) -> str:
        return i18n.gettext("dots on each proposal")

    def ballot_heading(self) -> str:
        return i18n.gettext("Dots")

    def given(self, count: int) -> str:
        return i18n.ngettext("%(num)s dot", "%(num)s dots", count) % {"num": count}

    def you_gave(self, count: int, title: str) -> str:
        return i18n.ngettext(
            "You gave %(num)s dot to «%(title)s»", "You gave %(num)s dots to «%(title)s»", count
        ) % {"num": count, "title": title}

    def rule(self, dots: int, cap: int) -> str:
        return i18n.gettext("%(dots)s each, at most %(cap)s on one proposal") % {
            "dots": dots,
            "cap": cap,
        }


class Support(Approval):
    """A question's support in a Q&A table (`services/formats.py`): an approval vote, one
    per question, no budget, stored as approval (its key); only its words differ."""

    label = N_("Support")
    summary = N_("one support per question")

    def unit(self, count: int) -> str:
        return i18n.ngettext("support", "supports", count)

    def heading(self) -> str:
        return i18n.gettext("Supports")

    def over_cap(self, cap: int) -> DomainError:
        return Invalid("A question takes one support: 0 or 1", field="dots")

    def left(self) -> str:
        return i18n.gettext("One per question")


# The shipped methods, in the order they are offered; `register` adds one (the tests do).
METHODS: dict[str, VotingMethod] = {m.key: m for m in (Approval(), Dots())}
SUPPORT = Support()
# A format that fixes its method (services/formats.py fills it in): format key -> method.
FORMAT_METHODS: dict[str, VotingMethod] = {}


def register(method: VotingMethod) -> VotingMethod:
    METHODS[method.key] = method
    return method


def method_of(table: Table) -> VotingMethod:
    """The table's method: the one its format fixes, else its stored key's (a key that is
    not registered any more reads as approval)."""
    fixed = FORMAT_METHODS.get(table.format)
    if fixed is not None:
        return fixed
    return METHODS.get(table.voting_mode) or METHODS[VotingMode.APPROVAL]


def of_mode(mode: str) -> VotingMethod:
    return METHODS.get(mode) or METHODS[VotingMode.APPROVAL]
