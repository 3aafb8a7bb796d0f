"""Sequential Phragmén with a budget, in exact rational arithmetic (computed for comparison).

Voters earn virtual money continuously, at the same rate, from time 0. A project is bought as
soon as its supporters together have earned its cost since their last purchase; its supporters'
money is then spent (their *load* becomes the purchase time). In load terms, project ``c`` can be
bought at time ``(cost(c) + sum of its supporters' loads) / approvals(c)``; each round buys the
project with the earliest time (ties: lowest cost, most approvals, the published order). The rule
stops at the first project it would buy that no longer fits in the budget, as pabutools'
``sequential_phragmen`` does. Projects nobody approved are never bought.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from fund.rules.election import ApprovalElection

try:
    from gmpy2 import mpq as _number
except ImportError:  # pragma: no cover
    _number = Fraction


@dataclass(frozen=True, slots=True)
class PhragmenPurchase:
    project_id: str
    cost: int
    time: Fraction  # the supporters' load after the purchase


@dataclass(frozen=True, slots=True)
class PhragmenResult:
    budget: int
    purchases: tuple[PhragmenPurchase, ...]
    selected: tuple[str, ...]
    total_cost: int
    stopped_at: str | None  # the project that no longer fitted, if the budget stopped the rule


def sequential_phragmen(
    election: ApprovalElection, *, tie_order: Sequence[str] | None = None
) -> PhragmenResult:
    keys = election.tie_keys(tie_order)
    zero = _number(0)
    # Voters with equal loads are kept together, as in the Method of Equal Shares.
    class_load: list[Any] = [zero]
    load_class: dict[Any, int] = {zero: 0}
    class_of = np.zeros(len(election.ballot_types), dtype=np.intp)

    def purchase_time(j: int) -> Any:
        counts = np.bincount(
            class_of[election.supporters[j]],
            weights=election.supporter_weights[j],
            minlength=len(class_load),
        )
        total = _number(election.costs[j])
        for c in np.flatnonzero(counts).tolist():
            total += class_load[c] * int(counts[c])
        return total / election.approvals[j]

    heap = [
        (_number(cost, election.approvals[j]), keys[j], j, 0)
        for j, cost in enumerate(election.costs)
        if election.approvals[j] > 0
    ]
    heapq.heapify(heap)
    touched_at = [0] * election.num_projects
    purchases: list[PhragmenPurchase] = []
    spent = 0
    stopped_at = None
    while heap:
        time, key, j, computed_at = heapq.heappop(heap)
        if computed_at < touched_at[j]:
            heapq.heappush(heap, (purchase_time(j), key, j, len(purchases)))
            continue
        cost = election.costs[j]
        if spent + cost > election.budget:
            stopped_at = election.project_ids[j]
            break
        spent += cost
        types = election.supporters[j]
        target = load_class.get(time)
        if target is None:
            target = len(class_load)
            class_load.append(time)
            load_class[time] = target
        class_of[types] = target
        purchases.append(
            PhragmenPurchase(
                election.project_ids[j], cost, Fraction(int(time.numerator), int(time.denominator))
            )
        )
        for p in election.coapproved(j):
            touched_at[p] = len(purchases)
    selected = tuple(p.project_id for p in purchases)
    return PhragmenResult(election.budget, tuple(purchases), selected, spent, stopped_at)
