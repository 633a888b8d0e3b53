"""Sum py-spy's collapsed stacks (`fanout.py --profile P --profile-format txt`) per function.

    .venv/bin/python benchmarks/profile_summary.py /tmp/prof-json1000.txt [--top 60]

Prints each function's inclusive share of all samples (every thread), then the largest
self shares: the figures quoted in docs/performance.md.
"""

import argparse
from collections import Counter
from pathlib import Path


def name(frame: str) -> str:
    """`func (path/file.py:12)` -> `func (file.py)`: one entry per function, not per line."""
    func, _, where = frame.partition(" (")
    return f"{func} ({where.rsplit('/', 1)[-1].split(':', 1)[0]})" if where else func


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in args.stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [name(f) for f in stack.split(";")[1:]]  # the first frame names the thread
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    print(f"{total} samples")
    for title, counts in (("inclusive", inclusive), ("self", own)):
        print(f"-- {title}")
        for frame, n in counts.most_common(args.top):
            print(f"{n / total * 100:5.1f} %  {frame}")


if __name__ == "__main__":
    main()
