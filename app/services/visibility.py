"""Who sees a tally: decided here, once, for every door and template.

Moderators (the console, the event's dashboard) always see the count. Everyone else (the
projector, phones, the public API and its stream) sees tallies only while voting or once the
table is closed, and never while the moderator hides them: a running count shown before or
during the vote would sway it. Totals follow the tallies: a total of a one-proposal table is
its tally.
"""

from app.enums import Phase
from app.models import Table

MODERATORS = frozenset({"moderator", "dashboard"})


def tallies_shown(table: Table, audience: str) -> bool:
    if audience in MODERATORS:
        return True
    return not table.results_hidden and table.phase in (Phase.VOTING, Phase.CLOSED)
