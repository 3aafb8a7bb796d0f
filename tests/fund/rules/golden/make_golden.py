"""Record pabutools' outcomes on the Pabulib elections as golden JSON files.

The reference implementation (pabutools 1.2.3) takes minutes per election for the Method of
Equal Shares with Add1 completion, so its outcomes are recorded once here and the test-suite
compares our rules against these files. Run it standalone from the repository root:

    .venv/bin/python tests/fund/rules/golden/make_golden.py            # all elections
    .venv/bin/python tests/fund/rules/golden/make_golden.py --file Poland_Wieliczka_2023_Green_Budget.pb

How pabutools is configured (the same as bench/mes.py and the live Wieliczka test):

* election read with ``pabutools.election.parse_pabulib``, identical ballots merged with
  ``profile.as_multiprofile()`` (the same outcome, several times faster); satisfaction ``Cost_Sat`` (cost
  utilities: a voter's utility for an approved project is its cost);
* tie-breaking ``TieBreakingRule`` keyed on ``(cost, -approval count, project id)``: lowest cost,
  then most approvals, then project id in string order (pabutools' own lexicographic order);
* ``mes``: ``method_of_equal_shares(instance, profile, sat_class=Cost_Sat, tie_breaking=...)``,
  the per-voter endowment being pabutools' default B/n (exact fraction), no completion;
* ``mes_add1``: equalshares.net's Add1 semantics ("add1" with the "integral" option and without
  the "exhaustive" early stop), driven around pabutools' fixed-budget rule: the per-voter endowment
  e starts at floor(B/n) and is raised by 1 (1,000 for Budapest, see ADD1_STEPS); for each e, pabutools' ``method_of_equal_shares`` runs
  on a copy of the instance whose budget limit is e*n (so that its endowment is exactly e); the loop
  stops at the first e whose outcome costs more than B and keeps the previous outcome. It also stops
  once every fundable project (positive cost, at least one approval) is selected, since larger
  endowments cannot change that set. pabutools' own ``exhaustion_by_budget_increase`` is not used:
  it checks feasibility against the budget it was given (e*n, not B) and starts at B/n;
* ``greedy``: ``greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat,
  tie_breaking=...)``; with cost utilities the score of a project per unit of cost is its approval
  count, so this is greedy by approval count, skipping projects that no longer fit.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[4]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "pabulib"
GOLDEN_DIR = Path(__file__).resolve().parent
# Add1 step per election, in currency units. One forint is 1/400 of a euro: 1-forint steps would
# take about 23,000 MES runs on Budapest (days with pabutools), so its step is 1,000 HUF, which
# equalshares.net allows (its "budget increment" parameter). Every other election steps by 1.
ADD1_STEPS = {"Hungary_Budapest_2024.pb": 1000}
FILES = (
    "Poland_Wieliczka_2023_Green_Budget.pb",
    "France_Toulouse_2024.pb",
    "Hungary_Budapest_2024.pb",
    "Poland_Lodz_2022.pb",
)


def pabutools_tie_breaking(instance: Any, profile: Any) -> Any:
    """Lowest cost, then most approvals, then project id (string order)."""
    from pabutools.tiebreaking import TieBreakingRule

    approvals: dict[str, int] = {p.name: 0 for p in instance}
    for ballot in profile:
        weight = profile.multiplicity(ballot) if hasattr(profile, "multiplicity") else 1
        for project in ballot:
            approvals[project.name] += weight
    return TieBreakingRule(lambda _inst, _prof, p: (p.cost, -approvals[p.name], p.name))


def pabutools_mes_add1(
    instance: Any,
    profile: Any,
    tie_breaking: Any,
    sat_profile: Any = None,
    progress: Callable[[int, int], None] | None = None,
    step: int = 1,
) -> tuple[list[str], int, int]:
    """MES + Add1 (equalshares.net semantics) around pabutools' fixed-budget MES.

    Returns the selected project ids in selection order, the final per-voter endowment and the
    number of MES runs.
    """
    from pabutools.election import Cost_Sat
    from pabutools.rules import method_of_equal_shares

    n = profile.num_ballots()  # counts multiplicities
    budget = instance.budget_limit
    if sat_profile is None:
        sat_profile = profile.as_sat_profile(sat_class=Cost_Sat)
    fundable = {p.name for p in instance if p.cost > 0 and any(p in b for b in profile)}
    scaled = copy.deepcopy(instance)
    endowment = int(budget // n)
    best: list[str] | None = None
    best_endowment = endowment
    runs = 0
    while True:
        scaled.budget_limit = endowment * n
        outcome = method_of_equal_shares(
            scaled, profile, sat_profile=sat_profile, tie_breaking=tie_breaking
        )
        runs += 1
        if progress is not None:
            progress(endowment, runs)
        cost = sum(p.cost for p in outcome)
        if cost > budget:
            break
        best, best_endowment = [p.name for p in outcome], endowment
        if fundable <= set(best):
            break
        endowment += step
    assert best is not None, "the outcome at floor(B/n) cannot exceed B"
    return best, best_endowment, runs


def _cost(instance: Any, names: list[str]) -> int:
    by_name = {p.name: p.cost for p in instance}
    total = sum(by_name[n] for n in names)
    assert Fraction(total).denominator == 1
    return int(total)


def make_golden(file_name: str) -> dict[str, Any]:
    import pabutools
    from pabutools.election import Cost_Sat, parse_pabulib
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

    path = DATA_DIR / file_name
    started = time.perf_counter()
    instance, profile = parse_pabulib(str(path))
    # Identical ballots are counted once with their multiplicity: same outcome, faster.
    profile = profile.as_multiprofile()
    parse_seconds = time.perf_counter() - started
    tie = pabutools_tie_breaking(instance, profile)
    n = profile.num_ballots()
    budget = instance.budget_limit
    result: dict[str, Any] = {
        "file": file_name,
        "pabutools_version": getattr(pabutools, "__version__", "1.2.3"),
        "python": platform.python_version(),
        "num_voters": n,
        "budget": int(budget),
        "configuration": {
            "profile": "parse_pabulib(...)[1].as_multiprofile()",
            "satisfaction": "Cost_Sat",
            "tie_breaking": "(cost, -approvals, project id as string)",
            "mes": "method_of_equal_shares, endowment B/n, no completion",
            "mes_add1": "equalshares.net add1 (integral, no exhaustive stop): endowment "
            "floor(B/n), +step per run, first outcome over B stops, previous kept",
            "greedy": "greedy_utilitarian_welfare with Cost_Sat",
        },
        "timings_seconds": {"parse": round(parse_seconds, 2)},
    }

    started = time.perf_counter()
    mes = method_of_equal_shares(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    result["timings_seconds"]["mes"] = round(time.perf_counter() - started, 2)
    mes_names = [p.name for p in mes]
    endowment = Fraction(budget) / n
    result["mes"] = {
        "endowment": f"{endowment.numerator}/{endowment.denominator}",
        "selected": mes_names,
        "total_cost": _cost(instance, mes_names),
    }
    print(f"  mes: {len(mes_names)} projects", flush=True)

    started = time.perf_counter()
    greedy = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=tie)
    result["timings_seconds"]["greedy"] = round(time.perf_counter() - started, 2)
    greedy_names = [p.name for p in greedy]
    result["greedy"] = {"selected": greedy_names, "total_cost": _cost(instance, greedy_names)}
    print(f"  greedy: {len(greedy_names)} projects", flush=True)

    started = time.perf_counter()

    def report(endowment: int, runs: int) -> None:
        if runs % 10 == 0:
            elapsed = time.perf_counter() - started
            print(f"  add1: endowment {endowment}, {runs} runs, {elapsed:.0f} s", flush=True)

    step = ADD1_STEPS.get(file_name, 1)
    names, final_endowment, runs = pabutools_mes_add1(
        instance, profile, tie, progress=report, step=step
    )
    result["timings_seconds"]["mes_add1"] = round(time.perf_counter() - started, 2)
    result["mes_add1"] = {
        "initial_endowment": int(budget // n),
        "step": step,
        "final_endowment": final_endowment,
        "runs": runs,
        "selected": names,
        "total_cost": _cost(instance, names),
    }
    print(f"  mes_add1: {len(names)} projects, endowment {final_endowment}", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", action="append", help="a file name in the data directory")
    args = parser.parse_args(argv)
    for file_name in args.file or FILES:
        print(f"{file_name}", flush=True)
        golden = make_golden(file_name)
        out = GOLDEN_DIR / (Path(file_name).stem + ".json")
        out.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"  written {out.relative_to(REPO_ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
