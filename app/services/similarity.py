"""How alike two short Italian posts are, for suggesting duplicates: pure, no database.

Used by `services/duplicates.py` (one table's wall) and meant for any other set of posts
(the same themes across an event's tables). The public API:

- `Item(id, kind, title, body)`: what is compared;
- `Index(items, glossary=...)`: every pair's score at once; `add(item)` one new post
  (its row only), `remove(id)`, `pairs(limit, min_score=, skip=)` best first,
  `score(a, b)`, `best_for(id)`; `score(item_a, item_b)` for two posts alone;
- `Glossary.parse(text)`: the field's abbreviations and synonyms (`services/glossary.py`),
  extended with a moderator's own lines (`DEFAULT_GLOSSARY.extended(text)`).

What makes two posts alike, each step measured on the development set
(`benchmarks/duplicates.py`):

1. One spelling: lower case, accents folded, the apostrophe accent of keyboards without
   "ù" ("piu'" = "più" = "piu"), elisions split ("dell'anziano").
2. Snowball's Italian stems (PyStemmer, a compiled wheel: no model to download), so
   "anziani" and "anziano", "tirocini" and "tirocinanti" meet. simplemma's lemmas in its
   place measured lower (recall@1 0.77 against 0.80 on the development set, AP 0.71
   against 0.72) and load a large dictionary.
3. The glossary: each form of a concept ("SAD", "assistenza domiciliare comunale") is
   replaced by the concept itself, longest form first, so an abbreviation meets its
   expansion and "assistenza domiciliare integrata" (ADI) stays apart from the SAD. A
   named service weighs double a word; a broad concept (a target group, "liste d'attesa")
   one word, since two posts about the elderly may ask for different things.
4. Stop words out (Italian function words, and the words of a wish that say nothing
   of what is wished: "serve", "bisogna", "più").
5. Three measures, summed with fixed weights: the cosine of the words' TF-IDF (concepts
   and stems, the title counting more than the body), the cosine of character 4-grams
   of the stems (typos, "domiciliare"/"domiciliarità") and rapidfuzz's ratio of the
   titles' terms in sorted order (a token-sort ratio: word order and small slips). IDF is
   the index's own posts'. A misspelt long word is read as the glossary word a letter or
   two away (rapidfuzz), so "assitenza domicilare" still meets "SAD".
6. Kinds: a resource (someone offers a room, drivers, interns) is never a duplicate of a
   need or a proposal, so such a pair scores 0 and is never listed; a need and the
   proposal that remedies it may be (the labelling rule of the development set).

Incremental: `add` scores the new post against the others with the IDF of the last full
build (new words count as rare), so one post costs one row; the index rebuilds itself
when a quarter of its posts are newer than its IDF.
"""

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import Stemmer
from numpy.typing import NDArray
from rapidfuzz import fuzz, process

from app.services.glossary import GLOSSARY

RESOURCE = "resource"
# The weights of the three measures (they sum to 1, so a score stays in [0, 1]).
WORDS, CHARS, FUZZY = 0.80, 0.10, 0.10
BODY_WEIGHT = 0.5  # a body's word counts half a title's: the title says what is asked
CONCEPT_WEIGHT = 2.0  # a glossary concept is a strong sign of the same thing
NGRAM = 4
REBUILD_SHARE = 0.25  # rebuild once this share of the posts came after the last build
MIN_FUZZY_LENGTH = 6  # shorter stems are too close to each other to correct a slip
FUZZY_CUTOFF = 85.0
SPELT_MEMORY = 50_000  # misspellings remembered per glossary
GRAM_COLUMNS = 8192  # vocabulary slice of one product (posts x slice floats at a time)

_APOSTROPHES = re.compile(r"['’`´‘]")
_WORD = re.compile(r"[a-z0-9]+")
# Combining marks (Unicode Mn): what NFKD splits off "à", "é", "ç"...
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")

_STOP_TEXT = """
    a ad al allo alla ai agli alle all anche ancora avere aveva abbiamo ha hanno ho
    c ce che chi ci cio come con col coi cosa cui d da dal dallo dalla dai dagli dalle
    dell della dello dei degli delle del di dove e ed era essere e gia gli ha i il in
    io l la le li lo loro lei lui ma mi mia mio miei mie ne nel nello nella nei negli
    nelle noi non nostro nostra nostri nostre o od per perche piu po poi poco pure qua
    quale quali quando quanto quel quella quelle quelli quello questa queste questi
    questo qui se sei si sia siamo sono su sul sullo sulla sui sugli sulle suo sua suoi
    sue tra fra tu tutto tutti tutta tutte un uno una vi voi vostro x xche cmq nn tt
    ogni altro altra altri altre stesso stessa solo sempre mai nessuno nessuna
    molto molti molte tanto tanta tanti tante troppo troppa troppi troppe
    serve servono servirebbe servirebbero bisogna occorre occorrono chiediamo chiede
    vorremmo vorrebbe vuole ci vorrebbe fare fa fanno fatto fatta possono puo potrebbe
    deve devono dovrebbe c e oggi ormai adesso almeno anzi invece cosi ecc etc
    nostro nostri nostra nostre vostro vostra suo loro mio ne anche davvero vero
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


def fold(text: str) -> str:
    """One spelling: lower case, no accents, apostrophes (accent or elision) as spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return _APOSTROPHES.sub(" ", _COMBINING.sub("", decomposed))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


_STEMMER = Stemmer.Stemmer("italian")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


@dataclass(frozen=True)
class Glossary:
    """Concepts by their forms: each form a tuple of stems, mapped to its concept's name."""

    forms: dict[tuple[str, ...], str] = field(default_factory=dict)
    longest: int = 1
    # The stems the forms are written with, and what a misspelt stem was read as.
    vocabulary: tuple[str, ...] = ()
    known: frozenset[str] = frozenset()
    broad: frozenset[str] = frozenset()  # concepts that weigh as one word ("*" lines)
    _spelt: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def spelt(self, term: str) -> str:
        """A stem as the glossary spells it: one a letter or two off a long glossary stem
        ("domicilar", "asistenz") is read as that stem (rapidfuzz's ratio)."""
        if len(term) < MIN_FUZZY_LENGTH or term in self.known:
            return term
        found = self._spelt.get(term)
        if found is None:
            match = process.extractOne(
                term, self.vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF
            )
            found = match[0] if match else term
            if len(self._spelt) > SPELT_MEMORY:  # hostile walls of made-up words
                self._spelt.clear()
            self._spelt[term] = found
        return found

    @classmethod
    def parse(cls, text: str) -> "Glossary":
        return cls().extended(text)

    def extended(self, text: str) -> "Glossary":
        """This glossary plus the lines of `text` ("form = form = …", one concept a line;
        a line naming a form already known joins that concept)."""
        forms, broad = dict(self.forms), set(self.broad)
        for line in text.splitlines():
            wide = line.lstrip().startswith("*")
            parts = [tuple(stem(w) for w in words(part)) for part in line.split("=")]
            parts = [p for p in parts if p]
            if len(parts) < 2:
                continue
            known = [forms[p] for p in parts if p in forms]
            concept = known[0] if known else "§" + "_".join(parts[0])
            for part in parts:
                forms[part] = concept
            if wide:
                broad.add(concept)
        longest = max((len(f) for f in forms), default=1)
        vocabulary = sorted({s for f in forms for s in f if len(s) >= MIN_FUZZY_LENGTH})
        return Glossary(forms, longest, tuple(vocabulary), frozenset(vocabulary), frozenset(broad))


DEFAULT_GLOSSARY = Glossary.parse(GLOSSARY)


def analyse(text: str, glossary: Glossary) -> list[str]:
    """The text's terms: its glossary concepts (longest form first) and its other stems,
    stop words left out."""
    stems = [glossary.spelt(stem(w)) for w in words(text)]
    terms: list[str] = []
    i = 0
    while i < len(stems):
        for size in range(min(glossary.longest, len(stems) - i), 0, -1):
            concept = glossary.forms.get(tuple(stems[i : i + size]))
            if concept is not None:
                terms.append(concept)
                i += size
                break
        else:
            if stems[i] not in STOP_WORDS and meaningful(stems[i]):
                terms.append(stems[i])
            i += 1
    return terms


@lru_cache(maxsize=1)
def _stopped_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in STOP_WORDS)


def meaningful(term: str) -> bool:
    """True when a stem carries meaning (not a stop word's stem, not a lone letter)."""
    return len(term) > 1 and term not in _stopped_stems()


@dataclass(frozen=True)
class Item:
    id: int | str
    kind: str
    title: str
    body: str = ""


@dataclass(frozen=True)
class Pair:
    a: int | str
    b: int | str
    score: float


@dataclass(frozen=True)
class _Features:
    words: dict[str, float]  # term -> weighted count (title 1, body BODY_WEIGHT)
    chars: dict[str, float]  # character n-gram -> count
    line: str  # the title's terms in sorted order, for the fuzzy ratio


def features(item: Item, glossary: Glossary) -> _Features:
    counts: dict[str, float] = {}
    title_terms = analyse(item.title, glossary)
    body_terms = analyse(item.body, glossary)

    def weight_of(term: str) -> float:
        named = term.startswith("§") and term not in glossary.broad
        return CONCEPT_WEIGHT if named else 1.0

    for term in title_terms:
        counts[term] = counts.get(term, 0.0) + weight_of(term)
    for term in body_terms:
        counts[term] = counts.get(term, 0.0) + BODY_WEIGHT * weight_of(term)
    grams: dict[str, float] = {}
    for term, weight in counts.items():
        if term.startswith("§"):
            continue
        padded = f" {term} "
        for start in range(max(1, len(padded) - NGRAM + 1)):
            gram = padded[start : start + NGRAM]
            grams[gram] = grams.get(gram, 0.0) + weight
    return _Features(counts, grams, " ".join(sorted(title_terms)))


def compatible(kind_a: str, kind_b: str) -> bool:
    """A resource merges only with a resource; needs and proposals with each other."""
    return (kind_a == RESOURCE) == (kind_b == RESOURCE)


def _weighted(counts: dict[str, float], idf: dict[str, float], default: float) -> dict[str, float]:
    vector = {
        t: (1.0 + math.log(c)) * idf.get(t, default) if c >= 1 else c * idf.get(t, default)
        for t, c in counts.items()
    }
    norm = math.sqrt(sum(v * v for v in vector.values()))
    return {t: v / norm for t, v in vector.items()} if norm else {}


def _idf(docs: Sequence[dict[str, float]]) -> tuple[dict[str, float], float]:
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    n = len(docs)
    rare = math.log((n + 1) / 1) + 1.0  # a term seen nowhere yet
    return {t: math.log((n + 1) / (d + 1)) + 1.0 for t, d in df.items()}, rare


class Index:
    """Every pair's score among a set of posts, kept up to date one post at a time."""

    def __init__(self, items: Iterable[Item] = (), glossary: Glossary = DEFAULT_GLOSSARY) -> None:
        self.glossary = glossary
        self._items: list[Item] = []
        self._features: list[_Features] = []
        self._rows: dict[int | str, int] = {}
        self._alive: NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._scores: NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self._built_with = 0
        self._added = 0
        self.rebuild(items)

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._rows

    @property
    def items(self) -> list[Item]:
        return [self._items[row] for row in self._rows.values()]

    def rebuild(self, items: Iterable[Item] | None = None) -> None:
        """Score every pair from scratch (and the IDF with them)."""
        current = list(items) if items is not None else self.items
        by_id = {item.id: item for item in current}  # one row per id, the last wins
        # A rebuild after many additions keeps what it can: a post's terms do not change.
        known = dict(zip(self._items, self._features, strict=True))
        self._items = list(by_id.values())
        self._features = [known.get(item) or features(item, self.glossary) for item in self._items]
        self._rows = {item.id: row for row, item in enumerate(self._items)}
        n = len(self._items)
        self._alive = np.ones(n, dtype=bool)
        self._built_with = n
        self._added = 0
        self._word_idf, self._word_rare = _idf([f.words for f in self._features])
        self._char_idf, self._char_rare = _idf([f.chars for f in self._features])
        self._word_vectors = [
            _weighted(f.words, self._word_idf, self._word_rare) for f in self._features
        ]
        self._char_vectors = [
            _weighted(f.chars, self._char_idf, self._char_rare) for f in self._features
        ]
        self._postings_words = _postings(self._word_vectors)
        self._postings_chars = _postings(self._char_vectors)
        scores = np.zeros((n, n), dtype=np.float32)
        if n:
            scores += WORDS * _gram(self._word_vectors)
            scores += CHARS * _gram(self._char_vectors)
            lines = [f.line for f in self._features]
            scores += FUZZY * (
                process.cdist(lines, lines, scorer=fuzz.ratio, workers=1, dtype=np.float32)
                / np.float32(100.0)
            )
            resource = np.array([item.kind == RESOURCE for item in self._items])
            scores[resource[:, None] != resource[None, :]] = 0.0
            np.fill_diagonal(scores, 0.0)
        self._scores = np.clip(scores, 0.0, 1.0)

    def add(self, item: Item) -> None:
        """One new post: its row of scores against the others, nothing else recomputed."""
        if item.id in self._rows:
            self.remove(item.id)
        # A handful of posts has no IDF worth keeping; a quarter of newer ones, a stale one
        # (and rows of removed or edited posts are dropped then too).
        self._added += 1
        if len(self._rows) < 8 or self._added > REBUILD_SHARE * self._built_with:
            self.rebuild([*self.items, item])
            return
        f = features(item, self.glossary)
        words_v = _weighted(f.words, self._word_idf, self._word_rare)
        chars_v = _weighted(f.chars, self._char_idf, self._char_rare)
        n = len(self._items)
        row = np.zeros(n + 1, dtype=np.float32)
        row[:n] += WORDS * _dot_row(words_v, self._postings_words, n)
        row[:n] += CHARS * _dot_row(chars_v, self._postings_chars, n)
        lines = [g.line for g in self._features]
        row[:n] += FUZZY * (
            process.cdist([f.line], lines, scorer=fuzz.ratio, workers=1, dtype=np.float32)[0]
            / np.float32(100.0)
        )
        kinds = np.array([other.kind == RESOURCE for other in self._items], dtype=bool)
        row[:n][kinds != (item.kind == RESOURCE)] = 0.0
        row[:n][~self._alive] = 0.0
        row = np.clip(row, 0.0, 1.0)
        scores = np.zeros((n + 1, n + 1), dtype=np.float32)
        scores[:n, :n] = self._scores
        scores[n, :] = row
        scores[:, n] = row
        self._scores = scores
        self._items.append(item)
        self._features.append(f)
        self._word_vectors.append(words_v)
        self._char_vectors.append(chars_v)
        for term, weight in words_v.items():
            self._postings_words.setdefault(term, []).append((n, weight))
        for gram, weight in chars_v.items():
            self._postings_chars.setdefault(gram, []).append((n, weight))
        self._alive = np.append(self._alive, True)
        self._rows[item.id] = n

    def remove(self, item_id: int | str) -> None:
        row = self._rows.pop(item_id, None)
        if row is not None:
            self._alive[row] = False
            self._scores[row, :] = 0.0
            self._scores[:, row] = 0.0

    def score(self, a: int | str, b: int | str) -> float:
        """The pair's score in [0, 1]; 0 for a post and itself or an id not indexed."""
        if a == b or a not in self._rows or b not in self._rows:
            return 0.0
        return float(self._scores[self._rows[a], self._rows[b]])

    def best_for(self, item_id: int | str) -> Pair | None:
        """The post most like this one (None when no other post scores above 0)."""
        row = self._rows.get(item_id)
        if row is None or not len(self._rows):
            return None
        best = int(np.argmax(self._scores[row]))
        value = float(self._scores[row, best])
        return Pair(item_id, self._items[best].id, value) if value > 0 else None

    def pairs(
        self,
        limit: int | None = None,
        *,
        min_score: float = 0.0,
        skip: Iterable[tuple[object, object]] = (),
    ) -> list[Pair]:
        """The pairs scoring above `min_score`, best first (ties by the older post first),
        at most `limit`, leaving out the pairs in `skip` (either order)."""
        skipped = {frozenset(p) for p in skip}
        n = len(self._items)
        if n < 2:
            return []
        upper = np.triu(self._scores, k=1)
        flat = upper.ravel()
        candidates = np.flatnonzero(flat > max(min_score, 0.0))
        wanted = None if limit is None else limit + len(skipped)
        if wanted is not None and len(candidates) > wanted:
            top = np.argpartition(-flat[candidates], wanted - 1)[:wanted]
            candidates = candidates[top]
        order = candidates[np.lexsort((candidates, -flat[candidates]))]
        result: list[Pair] = []
        for index in order:
            i, j = divmod(int(index), n)
            a, b = self._items[i].id, self._items[j].id
            if skipped and frozenset((a, b)) in skipped:
                continue
            result.append(Pair(a, b, round(float(flat[index]), 4)))
            if limit is not None and len(result) >= limit:
                break
        return result


def _postings(vectors: Sequence[dict[str, float]]) -> dict[str, list[tuple[int, float]]]:
    postings: dict[str, list[tuple[int, float]]] = {}
    for row, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings.setdefault(term, []).append((row, weight))
    return postings


def _dot_row(
    vector: dict[str, float], postings: dict[str, list[tuple[int, float]]], n: int
) -> NDArray[np.float32]:
    row = np.zeros(n, dtype=np.float32)
    for term, weight in vector.items():
        for other, theirs in postings.get(term, ()):
            row[other] += weight * theirs
    return row


def _gram(vectors: Sequence[dict[str, float]]) -> NDArray[np.float32]:
    """Every pair's cosine (the vectors are unit length): dense products over slices of
    the vocabulary, so a wall of thousands of posts never holds posts x n-grams at once."""
    vocabulary: dict[str, int] = {}
    for vector in vectors:
        for term in vector:
            vocabulary.setdefault(term, len(vocabulary))
    n = len(vectors)
    rows = np.array([row for row, vector in enumerate(vectors) for _ in vector], dtype=np.intp)
    columns = np.array([vocabulary[t] for vector in vectors for t in vector], dtype=np.intp)
    weights = np.array([w for vector in vectors for w in vector.values()], dtype=np.float32)
    gram: NDArray[np.float32] = np.zeros((n, n), dtype=np.float32)
    for start in range(0, max(len(vocabulary), 1), GRAM_COLUMNS):
        width = min(GRAM_COLUMNS, max(len(vocabulary) - start, 1))
        inside = (columns >= start) & (columns < start + width)
        matrix = np.zeros((n, width), dtype=np.float32)
        matrix[rows[inside], columns[inside] - start] = weights[inside]
        gram += matrix @ matrix.T
    return gram


def score(a: Item, b: Item, glossary: Glossary = DEFAULT_GLOSSARY) -> float:
    """Two posts alone (the IDF of the two of them: use an `Index` for a whole wall)."""
    if not compatible(a.kind, b.kind):
        return 0.0
    return Index([a, b], glossary).score(a.id, b.id)
