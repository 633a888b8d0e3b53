"""Themes that came up at several tables: candidate groups of posts from different tables
that say the same thing, for the plenary (the moderator confirms or dismisses each).

`suggest` is the plenary's one seam to a similarity: it takes the tables' top posts and
returns candidate groups. Until the shared duplicate detector (issue 19's "duplicate
suggestions") is available, `similarity` below is a plain, honest one: the share of
normalised content words two titles have in common (accents and apostrophes folded, Italian
stop words dropped, words cut to a short stem so "trasporto" meets "trasporti"). It finds
posts that reuse the same words; it does not know synonyms.
"""

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

THRESHOLD = 0.5  # the overlap two posts need to be suggested together
STEM = 6  # letters kept of each word: a crude stem, enough for Italian plurals and genders
MIN_WORDS = 2  # fewer shared content words than this is never a theme

# Italian (and a few English) words that say nothing about a theme, accents folded.
_STOP = """a ad al alla alle allo agli ai anche che chi ci come con contro da dal dalla dalle
    dai degli dei del della delle dello di e ed fra gli i il in la le lo ma nel nella
    nelle nei negli non o per piu po poi quale quali quando se senza si sia sono su sul
    sulla sulle sui tra un una uno vi questo questa questi queste quello quella loro
    noi voi essere avere fare ogni tutti tutte molto meno cosi gia ancora dove
    the and of to for with"""
STOP_WORDS = frozenset(_STOP.split())


@dataclass(frozen=True)
class ThemePost:
    """One post offered to the theme finder: which table it comes from, and its words."""

    id: int
    table_id: int
    title: str
    body: str = ""
    kind: str = ""


def fold(text: str) -> str:
    """Lower case, accents and apostrophe-accents folded ("perché", "perche'" → "perche")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"(?<=[a-z])['’`]", " ", plain)


def terms(text: str) -> frozenset[str]:
    """The content words of a text, stemmed."""
    words = re.findall(r"[a-z0-9]+", fold(text))
    return frozenset(w[:STEM] for w in words if len(w) > 2 and w not in STOP_WORDS)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared words over the shorter text's words (0 to 1); 0 below MIN_WORDS shared."""
    shared = len(a & b)
    if shared < MIN_WORDS or not a or not b:
        return 0.0
    return shared / min(len(a), len(b))


def scorer(posts: Sequence[ThemePost]) -> Callable[[int, int], float]:
    """The similarity of the i-th and j-th posts, 0 to 1: the one place a better measure
    (the shared duplicate detector's index) replaces this word overlap."""
    words = [terms(f"{p.title} {p.body}") for p in posts]
    return lambda i, j: similarity(words[i], words[j])


def suggest(posts: Sequence[ThemePost]) -> list[list[ThemePost]]:
    """Candidate themes: groups of posts linked by a similarity of THRESHOLD or more between
    posts of different tables (never two of one table: the table merges its own duplicates),
    each group spanning two tables or more; the groups with most tables first."""
    score = scorer(posts)
    parent = list(range(len(posts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(posts)):
        for j in range(i + 1, len(posts)):
            if posts[i].table_id == posts[j].table_id:
                continue
            if score(i, j) >= THRESHOLD:
                parent[root(i)] = root(j)
    groups: dict[int, list[ThemePost]] = {}
    for i, post in enumerate(posts):
        groups.setdefault(root(i), []).append(post)
    found = [g for g in groups.values() if len({p.table_id for p in g}) >= 2]
    return sorted(found, key=lambda g: (-len({p.table_id for p in g}), -len(g), g[0].id))
