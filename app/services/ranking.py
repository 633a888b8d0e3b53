"""The ranking each table adopted: the one seam the plenary, the follow-up page and the
event's first chapter read a table's order through.

A table adopts its tally (most votes first, ties sharing a rank) or, once closed, the
ranking its moderator chose (issue 18: across categories, or by weighted votes):
`TableState.results`, as its results view and its minutes show it.
"""

from collections.abc import Collection

from sqlmodel import Session

from app.models import Table
from app.services.state import ProposalView, TableState, table_state


def adopted_ranking(
    session: Session,
    table: Table,
    *,
    kinds: Collection[str] | None = None,
    state: TableState | None = None,
) -> list[tuple[int, ProposalView]]:
    """The table's visible posts (of `kinds`, all when None) in the order it adopted, with
    their ranks among them: ties share a rank (1, 2, 2, 4). `state`: the table's state when
    the caller has read it already."""
    # The ranking the table adopted (issue 18: by votes, or once closed the one chosen, by
    # consensus or by weighted votes), as its results view and its minutes show it.
    ranked = [(rank, view) for rank, view, _line in (state or table_state(session, table)).results]
    result: list[tuple[int, ProposalView]] = []
    previous = None
    for position, (rank, view) in enumerate(
        ((r, v) for r, v in ranked if kinds is None or v.kind in kinds), start=1
    ):
        # Among the chosen kinds, a post shares the place of the one before it only where
        # the ranking made them share one (a tie), whatever their tallies.
        shared = result and rank == previous
        result.append((result[-1][0] if shared else position, view))
        previous = rank
    return result


TIE_ROOM = 5  # a list of the first n shows this many more at most, to keep a tie whole


def top_of(
    ranking: list[tuple[int, ProposalView]], n: int
) -> tuple[list[tuple[int, ProposalView]], int]:
    """The first `n` posts with votes, never cut through a tie (as the minutes' `top`): those
    sharing the last rank shown come too, up to TIE_ROOM more; a longer tie is cut at `n`.
    Returns them and how many more share the last rank shown."""
    voted = [(rank, view) for rank, view in ranking if view.tally > 0]
    if len(voted) <= n:
        return voted, 0
    last = voted[n - 1][0]
    through = [(rank, view) for rank, view in voted if rank <= last]
    shown = through if len(through) <= n + TIE_ROOM else voted[:n]
    tied = sum(1 for rank, _view in voted if rank == shown[-1][0]) - sum(
        1 for rank, _view in shown if rank == shown[-1][0]
    )
    return shown, tied
