"""Greedy allocation by approval count, the "standard" participatory-budgeting rule.

Projects are taken in order of approval count (most first; ties: lowest cost, then the published
order), and each is funded if it still fits in the budget; a project that does not fit is skipped
and the next ones are still tried. Under cost utilities this is pabutools'
``greedy_utilitarian_welfare`` with ``Cost_Sat``: a project's utility per unit of cost is then
exactly its approval count.

It is computed for comparison with the Method of Equal Shares, and serves as its utilitarian
completion (starting from the MES outcome instead of nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fund.rules.election import ApprovalElection


@dataclass(frozen=True, slots=True)
class GreedyResult:
    budget: int
    selected: tuple[str, ...]  # in selection order, including the initial projects first
    total_cost: int
    skipped: tuple[str, ...]  # considered in turn but no longer fitting


def greedy_by_approvals(
    election: ApprovalElection,
    *,
    tie_order: Sequence[str] | None = None,
    initial: Iterable[str] = (),
    min_approvals: int = 0,
    budget: int | None = None,
) -> GreedyResult:
    """Fund the most approved projects that fit, skipping those that do not.

    ``min_approvals`` excludes projects below a score threshold (some cities require one);
    with the default 0, projects nobody approved may still be funded last if money is left,
    as in pabutools and equalshares.net's utilitarian completion.
    """
    limit = election.budget if budget is None else budget
    keys = election.tie_keys(tie_order)
    selected = list(dict.fromkeys(initial))
    spent = election.cost_of(selected)
    taken = {election.index[pid] for pid in selected}
    order = sorted(
        (j for j in range(election.num_projects) if j not in taken),
        key=lambda j: (-election.approvals[j], keys[j]),
    )
    skipped = []
    for j in order:
        if election.approvals[j] < min_approvals:
            continue
        cost = election.costs[j]
        if spent + cost <= limit:
            selected.append(election.project_ids[j])
            spent += cost
        else:
            skipped.append(election.project_ids[j])
    return GreedyResult(limit, tuple(selected), spent, tuple(skipped))
