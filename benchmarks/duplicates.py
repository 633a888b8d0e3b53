"""Duplicate suggestions, measured: quality on a labelled set and cost on a 300-post table.

    python benchmarks/duplicates.py [--data ../shared/data/duplicates-dev.jsonl]

Quality, for the shipped method (`app/services/similarity.py`) and a plain TF-IDF on
stems beside it: recall@1 (each post that has a duplicate: is its best suggestion one?),
the average precision over all pairs ranked by score, and the precision of the 10 and 30
best pairs. Cost: every pair of a 300-post table scored from scratch, and one new post
added to a table of 299 (the median of several runs, on one core: numpy's threads pinned
to one).
"""

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.services import similarity  # noqa: E402
from app.services.similarity import Item  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "duplicates-dev.jsonl"
Scorer = Callable[[list[Item]], dict[tuple[int, int], float]]


def load(path: Path) -> tuple[list[Item], list[str]]:
    items, clusters = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            items.append(Item(row["id"], row["kind"], row["title"], row.get("body", "")))
            clusters.append(row["cluster"])
    return items, clusters


def shipped(items: list[Item]) -> dict[tuple[int, int], float]:
    index = similarity.Index(items)
    return {
        (i, j): index.score(items[i].id, items[j].id)
        for i in range(len(items))
        for j in range(i + 1, len(items))
    }


def baseline(items: list[Item]) -> dict[tuple[int, int], float]:
    """Plain TF-IDF on Snowball stems of title and body, cosine; no glossary, no kinds."""
    docs = [
        Counter(similarity.stem(w) for w in similarity.words(f"{it.title} {it.body}"))
        for it in items
    ]
    df: Counter[str] = Counter()
    for doc in docs:
        df.update(doc.keys())
    n = len(docs)
    vectors = []
    for doc in docs:
        v = {t: c * (math.log((n + 1) / (df[t] + 1)) + 1) for t, c in doc.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vectors.append({t: x / norm for t, x in v.items()})
    return {
        (i, j): sum(w * vectors[j].get(t, 0.0) for t, w in vectors[i].items())
        for i in range(n)
        for j in range(i + 1, n)
    }


def measure(scores: dict[tuple[int, int], float], clusters: Sequence[str]) -> dict[str, float]:
    n = len(clusters)
    same = Counter(clusters)
    # recall@1: for each post with a duplicate, is its best-scoring other post one?
    best: dict[int, tuple[float, int]] = {}
    for (i, j), s in scores.items():
        for a, b in ((i, j), (j, i)):
            if a not in best or s > best[a][0] or (s == best[a][0] and b < best[a][1]):
                best[a] = (s, b)
    with_duplicate = [i for i in range(n) if same[clusters[i]] > 1]
    hits = sum(1 for i in with_duplicate if clusters[best[i][1]] == clusters[i])
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    positives = sum(1 for (i, j), _ in ranked if clusters[i] == clusters[j])
    found, precisions = 0, []
    top: dict[int, float] = {}
    for rank, ((i, j), _s) in enumerate(ranked, 1):
        if clusters[i] == clusters[j]:
            found += 1
            precisions.append(found / rank)
        if rank in (10, 30):
            top[rank] = found / rank
    return {
        "recall@1": hits / len(with_duplicate),
        "AP": sum(precisions) / positives,
        "P@10": top[10],
        "P@30": top[30],
    }


def table_of(items: list[Item], size: int) -> list[Item]:
    """A table of `size` posts from the set's texts (repeated, with new ids, past its end)."""
    return [
        Item(k, items[k % len(items)].kind, items[k % len(items)].title, items[k % len(items)].body)
        for k in range(size)
    ]


def timed(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process, in ms: on a shared machine
    the CPU time is what one core spends, the wall time what a moderator would wait."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a labelled JSONL set")
    parser.add_argument("--size", type=int, default=300, help="posts of the timed table")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    if not args.data.is_file():
        sys.exit(f"{args.data}: no such labelled set (give one with --data)")
    items, clusters = load(args.data)
    positives = sum(c * (c - 1) // 2 for c in Counter(clusters).values())
    print(
        f"{args.data.name}: {len(items)} posts, {len(set(clusters))} clusters, "
        f"{positives} duplicate pairs\n"
    )
    print("| method | recall@1 | AP | P@10 | P@30 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, scorer in (("shipped", shipped), ("TF-IDF on stems", baseline)):
        m = measure(scorer(items), clusters)
        print(
            f"| {name} | {m['recall@1']:.3f} | {m['AP']:.3f} | {m['P@10']:.2f} | {m['P@30']:.2f} |"
        )
    table = table_of(items, args.size)
    similarity.Index(table[:20])  # warm the stemmer's cache and numpy
    full = timed(lambda: similarity.Index(table).pairs(20), args.repeat)
    indexes = [similarity.Index(table[:-1]) for _ in range(args.repeat)]
    remaining = iter(indexes)

    def one_more() -> None:
        index = next(remaining)
        index.add(table[-1])
        index.pairs(20)

    incremental = timed(one_more, args.repeat)
    print(f"\ncost on one core ({args.size}-post table, median of {args.repeat}; wall / CPU):")
    print(
        f"- every pair scored from scratch, best 20 listed: "
        f"{full[0]:.1f} / {full[1]:.1f} ms (target < 300 ms)"
    )
    print(
        f"- one new post added, best 20 listed:            "
        f"{incremental[0]:.1f} / {incremental[1]:.1f} ms (target < 20 ms)"
    )


if __name__ == "__main__":
    main()
