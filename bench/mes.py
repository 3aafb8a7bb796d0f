"""Benchmark: our Method of Equal Shares + Add1 (exact) against pabutools, on one election.

Both run in the same process on the same machine, from a parsed file (parsing is timed apart).
pabutools is configured as in tests/fund/rules/golden/make_golden.py (cost utilities, ties by
lowest cost then most approvals then project id, equalshares.net's Add1 from floor(B/n)).

    .venv/bin/python bench/mes.py                      # Łódź 2022, about a minute for pabutools
    .venv/bin/python bench/mes.py --file Poland_Wieliczka_2023_Green_Budget.pb --repeat 5
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tqdm import tqdm  # noqa: E402

from fund.rules.election import ApprovalElection  # noqa: E402
from fund.rules.mes import equal_shares_add1  # noqa: E402
from fund.rules.pabulib import read_pabulib  # noqa: E402

DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "pabulib"
MAKE_GOLDEN = REPO_ROOT / "tests" / "fund" / "rules" / "golden" / "make_golden.py"


def load_make_golden():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("make_golden", MAKE_GOLDEN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description="MES + Add1: ours against pabutools")
    parser.add_argument("--file", default="Poland_Lodz_2022.pb", help="file in the data folder")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (median reported)")
    parser.add_argument("--step", type=int, default=None, help="Add1 step (default as goldens)")
    parser.add_argument("--skip-pabutools", action="store_true", help="time ours only")
    args = parser.parse_args()

    make_golden = load_make_golden()
    step = args.step or make_golden.ADD1_STEPS.get(args.file, 1)
    path = DATA_DIR / args.file
    print(f"election: {args.file}, Add1 step {step}")

    started = time.perf_counter()
    pb = read_pabulib(path)
    print(f"our parse: {time.perf_counter() - started:.2f} s ({len(pb.votes)} voters)")

    timings = []
    result = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        election = ApprovalElection.from_pabulib(pb)  # ballots merged into types: timed
        result = equal_shares_add1(election, tie_order=sorted(election.project_ids), step=step)
        timings.append(time.perf_counter() - started)
    assert result is not None
    ours = statistics.median(timings)
    print(
        f"ours: median {ours:.3f} s over {args.repeat} runs "
        f"(all: {', '.join(f'{t:.3f}' for t in timings)}); "
        f"{len(result.selected)} projects, {result.total_cost} spent, "
        f"endowment {result.endowment}, {result.add1_runs} MES runs"
    )
    if args.skip_pabutools:
        return 0

    from pabutools.election import parse_pabulib

    started = time.perf_counter()
    instance, profile = parse_pabulib(str(path))
    profile = profile.as_multiprofile()
    print(f"pabutools parse: {time.perf_counter() - started:.2f} s")
    tie = make_golden.pabutools_tie_breaking(instance, profile)
    bar = tqdm(desc="pabutools Add1", unit=" MES runs", total=result.add1_runs, file=sys.stderr)

    def progress(_endowment: int, _runs: int) -> None:
        bar.update(1)

    started = time.perf_counter()
    names, endowment, runs = make_golden.pabutools_mes_add1(
        instance, profile, tie, progress=progress, step=step
    )
    theirs = time.perf_counter() - started
    bar.close()
    print(f"pabutools: {theirs:.2f} s; {len(names)} projects, endowment {endowment}, {runs} runs")
    print(f"ratio: {theirs / ours:.1f}x faster")
    identical = names == list(result.selected) and endowment == result.endowment
    print(f"identical winners (same order, same final endowment): {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
