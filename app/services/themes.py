"""Themes that came up at several tables: candidate groups of posts from different tables
that say the same thing, for the plenary (the moderator confirms or dismisses each).

`suggest` takes the tables' top posts and returns candidate groups; `scorer` is its one seam
to a similarity: the shared duplicate detector's index (`services/similarity.py`: folded
accents, Italian stems, the field's glossary, character n-grams, fuzzy matching), scored
over every offered post of the event at once, so the IDF is the event's own.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from app.services import similarity

# The score two posts of different tables need to be suggested together: above the console's
# duplicate list (0.35: a moderator checks each pair), since a theme is shown to the hall.
THRESHOLD = 0.45


@dataclass(frozen=True)
class ThemePost:
    """One post offered to the theme finder: which table it comes from, and its words."""

    id: int
    table_id: int
    title: str
    body: str = ""
    kind: str = ""


def linked(posts: Sequence[ThemePost]) -> list[tuple[int, int]]:
    """The pairs (positions in `posts`) that score THRESHOLD or more: the one seam to the
    similarity. A resource never pairs with a need or a proposal (as for duplicates)."""
    index = similarity.Index(
        similarity.Item(i, p.kind, p.title, p.body) for i, p in enumerate(posts)
    )
    return [(int(pair.a), int(pair.b)) for pair in index.pairs(min_score=THRESHOLD - 1e-6)]


def suggest(posts: Sequence[ThemePost]) -> list[list[ThemePost]]:
    """Candidate themes: groups of posts linked by a similarity of THRESHOLD or more between
    posts of different tables (never two of one table: the table merges its own duplicates),
    each group spanning two tables or more; the groups with most tables first."""
    parent = list(range(len(posts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in linked(posts):
        if posts[i].table_id != posts[j].table_id:
            parent[root(i)] = root(j)
    groups: dict[int, list[ThemePost]] = {}
    for i, post in enumerate(posts):
        groups.setdefault(root(i), []).append(post)
    found = [g for g in groups.values() if len({p.table_id for p in g}) >= 2]
    return sorted(found, key=lambda g: (-len({p.table_id for p in g}), -len(g), g[0].id))
