"""Benchmark: majority-judgment tally of 100,000 ballots x 12 options (grades 0..5).

.venv/bin/python bench/tally.py [--ballots N] [--options K] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from fund.rules.majority_judgment import histograms_from_grades, majority_judgment  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description="majority judgment tally timing")
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--options", type=int, default=12)
    parser.add_argument("--grades", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    # Each option gets its own grade distribution, so medians and gauges differ a little.
    weights = rng.dirichlet(np.ones(args.grades) * 3, size=args.options)
    grades = np.column_stack(
        [rng.choice(args.grades, size=args.ballots, p=w) for w in weights]
    ).astype(np.int8)
    options = [f"priority-{k + 1}" for k in range(args.options)]

    timings = []
    result = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = majority_judgment(histograms_from_grades(grades, options, args.grades))
        timings.append(time.perf_counter() - started)
    assert result is not None
    median = statistics.median(timings)
    print(f"{args.ballots} ballots x {args.options} options, grades 0..{args.grades - 1}")
    print(f"tally (histograms + ranking): median {median * 1000:.1f} ms over {args.repeat} runs")
    print(f"under 1 s: {median < 1.0}")
    levels = [d.level for d in result.decisions]
    print(f"ranking: {' > '.join('='.join(g) for g in result.ranking)}")
    print(f"decided by: {', '.join(levels)}")
    return 0 if median < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
