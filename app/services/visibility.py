"""Who sees a tally: decided here, once, for every door and template.

Moderators (the console, the event's dashboard) always see the count. Everyone else (the
projector, phones, the public API and its stream) sees tallies only while voting (in a Q&A
table, the supports as they come: its format votes in its live phase) or once the table is
closed, and never while the moderator hides them: a running count shown before or during
the vote would sway it. Totals follow the tallies: a total of a one-proposal table is its
tally.
"""

from app.enums import Phase
from app.models import Table
from app.services.formats import format_of

MODERATORS = frozenset({"moderator", "dashboard"})


def tallies_shown(table: Table, audience: str) -> bool:
    if audience in MODERATORS:
        return True
    # While the format lets people vote (a Q&A table's live phase too), or once closed.
    return not table.results_hidden and (
        table.phase == Phase.CLOSED or format_of(table).can_vote(table)
    )
