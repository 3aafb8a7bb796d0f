"""The Method of Equal Shares (MES) for approval ballots with cost utilities.

Semantics are those of equalshares.net (and of pabutools' ``method_of_equal_shares`` with
``Cost_Sat``):

* every voter receives the same endowment (virtual money);
* a project can be bought when its supporters together still hold its cost; its price is then
  split as equally as possible: every supporter pays the same amount ``alpha``, except those who
  have less, who pay everything they have left;
* with cost utilities a supporter's utility for a project is its cost, so the price per unit of
  utility is ``rho = alpha / cost`` and the *effective vote count* is ``cost / alpha``; each round
  buys the project with the lowest ``rho`` (the highest effective vote count);
* ties: lowest cost, then most approvals, then a published order drawn before counting.

Add1 completion (equalshares.net's "add1" with the "integral" option, without the "exhaustive"
early stop): the per-voter endowment starts at floor(B/n) and is raised by a step (1 currency unit
by default) as long as the outcome still costs at most B; the last outcome within budget is kept.
Optionally, a utilitarian completion then adds the most approved projects that still fit, and a
comparison step replaces the outcome by the greedy one if more voters prefer greedy.

All official figures are exact rationals. Internally they are ``gmpy2.mpq`` (several times faster
than :class:`fractions.Fraction`); the results are returned as :class:`fractions.Fraction`.

Speed: voters with the same remaining budget are indistinguishable for the rest of a run, so
they are kept in budget classes. Each project's price is computed over the classes of its
supporters (weighted by class size), and a class is split only when a project some of its members
approve is bought. A project's price is recomputed only when a purchase touched one of its
supporters and the project reaches the top of the priority queue (its old ``rho`` is a lower
bound, since budgets only go down).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np

from fund.rules.election import ApprovalElection, IntArray
from fund.rules.greedy import greedy_by_approvals

try:
    from gmpy2 import mpq as _exact_number
except ImportError:  # pragma: no cover - the same results, only slower
    _exact_number = Fraction

Arithmetic = Literal["exact", "float"]
ComparisonKind = Literal["none", "satisfaction", "exclusion"]


@dataclass(frozen=True, slots=True)
class Purchase:
    """How a project bought by MES was paid for.

    ``price`` is the largest payment of one supporter (``alpha``); ``full_payers`` supporters paid
    exactly that, ``partial_payers`` supporters paid all they had left (less than ``price``, together
    ``partial_paid``), and the other supporters had nothing left. So
    ``full_payers * price + partial_paid == cost``.
    """

    project_id: str
    cost: int
    approvals: int
    price: Fraction
    rho: Fraction
    effective_vote_count: Fraction
    full_payers: int
    partial_payers: int
    partial_paid: Fraction


@dataclass(frozen=True, slots=True)
class Comparison:
    """The comparison of the MES outcome with the greedy one, voter by voter."""

    kind: ComparisonKind
    prefer_mes: int
    prefer_greedy: int
    greedy_selected: tuple[str, ...]
    kept: Literal["mes", "greedy"]


class Add1Step(NamedTuple):
    """Reported to the progress callback after each MES run of Add1."""

    run: int
    endowment: Fraction
    total_cost: int
    within_budget: bool


@dataclass(frozen=True, slots=True)
class MESResult:
    rule: str
    budget: int
    num_voters: int
    endowment: Fraction  # the (final) per-voter endowment MES ran with
    purchases: tuple[Purchase, ...]  # bought by MES, in order
    completion: tuple[str, ...]  # added by the utilitarian completion, in order
    selected: tuple[str, ...]  # the outcome, in selection order
    total_cost: int
    add1_runs: int  # MES runs made by Add1 (0 without Add1)
    comparison: Comparison | None = None
    add1_history: tuple[Add1Step, ...] = ()  # endowment and cost of every Add1 run, in order

    @property
    def mes_selected(self) -> tuple[str, ...]:
        return tuple(p.project_id for p in self.purchases)


ProgressCallback = Callable[[Add1Step], None]


class _Observer(Protocol):
    def round(self, state: _State, rho: Any) -> None: ...

    def end(self, state: _State) -> None: ...


def _fraction(value: Any) -> Fraction:
    if isinstance(value, float):
        return Fraction(value)
    return Fraction(int(value.numerator), int(value.denominator))


class _State:
    """Budgets of one MES run, kept per class of voters with equal budgets.

    Class 0 holds the voters with nothing left. A class that pays for a project moves its paying
    members to a new class; distinct classes may happen to hold equal budgets, which is harmless.
    """

    __slots__ = ("class_budget", "class_of", "election", "number", "zero")

    def __init__(self, election: ApprovalElection, endowment: Any, number: Any) -> None:
        self.election = election
        self.number = number
        self.zero = number(0)
        self.class_budget: list[Any] = [self.zero, endowment]
        self.class_of = np.ones(len(election.ballot_types), dtype=np.intp)

    def _counts(self, j: int) -> tuple[IntArray, list[int], list[int]]:
        types = self.election.supporters[j]
        classes = self.class_of[types]
        counts = np.bincount(
            classes, weights=self.election.supporter_weights[j], minlength=len(self.class_budget)
        )
        present = np.flatnonzero(counts)
        return classes, present.tolist(), counts[present].astype(np.int64).tolist()

    def distribution(self, j: int) -> list[tuple[Any, int]]:
        """(budget, number of voters) over the supporters of project ``j`` with money left."""
        _, present, counts = self._counts(j)
        budgets = self.class_budget
        return [(budgets[c], n) for c, n in zip(present, counts, strict=True) if c]

    def price(self, j: int) -> Any | None:
        """The largest payment ``alpha`` that buys project ``j`` now, or None if unaffordable."""
        remaining = self.election.costs[j]
        pairs = self.distribution(j)
        pairs.sort()
        payers = sum(count for _, count in pairs)
        for budget, count in pairs:
            # Everyone from here on can pay an equal share of what is left.
            if budget * payers >= remaining:
                return self.number(remaining) / payers
            remaining -= budget * count
            payers -= count
        return None

    def cover(self, j: int, payment: Any | None) -> Any:
        """What the supporters of ``j`` could pay if each paid at most ``payment`` (None: all)."""
        total = self.zero
        for budget, count in self.distribution(j):
            total += (budget if payment is None or budget < payment else payment) * count
        return total

    def pay(self, j: int, alpha: Any) -> tuple[int, int, Any]:
        """Supporters of ``j`` pay up to ``alpha`` each; returns the payer counts and partial sum."""
        classes, present, counts = self._counts(j)
        budgets = self.class_budget
        remap = np.arange(len(budgets), dtype=np.intp)
        full = partial = 0
        partial_paid = self.zero
        for c, count in zip(present, counts, strict=True):
            if not c:
                continue
            budget = budgets[c]
            if budget > alpha:
                remap[c] = len(budgets)
                budgets.append(budget - alpha)
                full += count
            elif budget == alpha:
                remap[c] = 0
                full += count
            else:
                remap[c] = 0
                partial += count
                partial_paid += budget * count
        self.class_of[self.election.supporters[j]] = remap[classes]
        return full, partial, partial_paid


# A purchase as recorded during a run: project index, alpha, rho, full and partial payers, and
# what the partial payers paid. Turned into a Purchase only for the outcome that is kept.
_RawPurchase = tuple[int, Any, Any, int, int, Any]


def _run(
    election: ApprovalElection,
    endowment: Any,
    keys: Sequence[tuple[int, int, int]],
    number: Any,
    excluded: int | None = None,
    observer: _Observer | None = None,
) -> list[_RawPurchase]:
    """One run of MES with a fixed per-voter endowment."""
    costs = election.costs
    approvals = election.approvals
    state = _State(election, endowment, number)
    heap: list[tuple[Any, tuple[int, int, int], int, int]] = []
    for j, cost in enumerate(costs):
        votes = approvals[j]
        if cost <= 0 or votes == 0 or j == excluded or endowment * votes < cost:
            continue
        # With equal budgets everyone pays cost/votes, so rho = 1/votes.
        heap.append((number(1) / votes, keys[j], j, 0))
    heapq.heapify(heap)
    touched_at = [0] * len(costs)
    purchases: list[_RawPurchase] = []
    while heap:
        rho, key, j, computed_at = heap[0]
        if computed_at < touched_at[j]:
            alpha = state.price(j)
            if alpha is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (alpha / costs[j], key, j, len(purchases)))
            continue
        heapq.heappop(heap)
        if observer is not None:
            observer.round(state, rho)
        alpha = rho * costs[j]
        full, partial, partial_paid = state.pay(j, alpha)
        purchases.append((j, alpha, rho, full, partial, partial_paid))
        stamp = len(purchases)
        for p in election.coapproved(j):
            touched_at[p] = stamp
    if observer is not None:
        observer.end(state)
    return purchases


def _purchases(election: ApprovalElection, raw: list[_RawPurchase]) -> tuple[Purchase, ...]:
    return tuple(
        Purchase(
            project_id=election.project_ids[j],
            cost=election.costs[j],
            approvals=election.approvals[j],
            price=_fraction(alpha),
            rho=_fraction(rho),
            effective_vote_count=_fraction(election.costs[j] / alpha),
            full_payers=full,
            partial_payers=partial,
            partial_paid=_fraction(partial_paid),
        )
        for j, alpha, rho, full, partial, partial_paid in raw
    )


def _raw_cost(election: ApprovalElection, raw: list[_RawPurchase]) -> int:
    return sum(election.costs[purchase[0]] for purchase in raw)


def _number_type(arithmetic: Arithmetic) -> Any:
    if arithmetic == "exact":
        return _exact_number
    if arithmetic == "float":
        return float
    raise ValueError(f"unknown arithmetic {arithmetic!r}")


def _as_number(value: int | Fraction, number: Any) -> Any:
    if number is float:
        return float(value)
    value = Fraction(value)
    return number(value.numerator, value.denominator)


def equal_shares(
    election: ApprovalElection,
    *,
    endowment: int | Fraction | None = None,
    tie_order: Sequence[str] | None = None,
    arithmetic: Arithmetic = "exact",
) -> MESResult:
    """MES without completion; the per-voter endowment defaults to B/n."""
    number = _number_type(arithmetic)
    n = max(election.num_voters, 1)
    share = Fraction(election.budget, n) if endowment is None else Fraction(endowment)
    purchases = _purchases(
        election, _run(election, _as_number(share, number), election.tie_keys(tie_order), number)
    )
    selected = tuple(p.project_id for p in purchases)
    return MESResult(
        rule="equalshares",
        budget=election.budget,
        num_voters=election.num_voters,
        endowment=share,
        purchases=purchases,
        completion=(),
        selected=selected,
        total_cost=election.cost_of(selected),
        add1_runs=0,
    )


def equal_shares_add1(
    election: ApprovalElection,
    *,
    step: int | Fraction = 1,
    start_endowment: int | Fraction | None = None,
    tie_order: Sequence[str] | None = None,
    utilitarian_completion: bool = False,
    comparison: ComparisonKind = "none",
    progress: ProgressCallback | None = None,
    arithmetic: Arithmetic = "exact",
) -> MESResult:
    """MES with Add1 completion, then optionally utilitarian completion and the greedy comparison.

    The endowment starts at ``start_endowment`` (default floor(B/n)) and grows by ``step`` while
    the outcome costs at most B, with no early stop on an exhaustive outcome; the last outcome
    within budget is kept. Raising stops as well once every fundable project (positive cost, at
    least one approval) is bought, since no larger endowment can change that set.
    """
    if Fraction(step) <= 0:
        raise ValueError("the Add1 step must be positive")
    number = _number_type(arithmetic)
    keys = election.tie_keys(tie_order)
    budget = election.budget
    n = max(election.num_voters, 1)
    endowment = Fraction(budget // n) if start_endowment is None else Fraction(start_endowment)
    fundable = sum(
        1 for j, cost in enumerate(election.costs) if cost > 0 and election.approvals[j] > 0
    )
    best = _run(election, _as_number(endowment, number), keys, number)
    best_cost = _raw_cost(election, best)
    runs = 1
    history = [Add1Step(runs, endowment, best_cost, best_cost <= budget)]
    if progress is not None:
        progress(history[-1])
    if best_cost > budget:
        raise ValueError("the starting endowment already overspends the budget")
    while len(best) < fundable:
        candidate_endowment = endowment + Fraction(step)
        candidate = _run(election, _as_number(candidate_endowment, number), keys, number)
        cost = _raw_cost(election, candidate)
        runs += 1
        history.append(Add1Step(runs, candidate_endowment, cost, cost <= budget))
        if progress is not None:
            progress(history[-1])
        if cost > budget:
            break
        best, best_cost, endowment = candidate, cost, candidate_endowment

    purchases = _purchases(election, best)
    mes_selected = tuple(p.project_id for p in purchases)
    completion: tuple[str, ...] = ()
    selected = mes_selected
    rule = "equalshares/add1"
    if utilitarian_completion:
        completed = greedy_by_approvals(election, tie_order=tie_order, initial=mes_selected)
        selected = completed.selected
        completion = selected[len(mes_selected) :]
        rule += "u"
    compared = None
    if comparison != "none":
        compared = compare_with_greedy(election, selected, kind=comparison, tie_order=tie_order)
        if compared.kept == "greedy":
            selected = compared.greedy_selected
        rule += "-comparison"
    return MESResult(
        rule=rule,
        budget=budget,
        num_voters=election.num_voters,
        endowment=endowment,
        purchases=purchases,
        completion=completion,
        selected=selected,
        total_cost=election.cost_of(selected),
        add1_runs=runs,
        comparison=compared,
        add1_history=tuple(history),
    )


def compare_with_greedy(
    election: ApprovalElection,
    selected: Sequence[str],
    *,
    kind: ComparisonKind = "satisfaction",
    tie_order: Sequence[str] | None = None,
) -> Comparison:
    """equalshares.net's comparison step: keep greedy only if strictly more voters prefer it.

    ``satisfaction``: a voter prefers the outcome in which more of their approved projects are
    funded. ``exclusion``: a voter prefers an outcome that funds at least one project they
    approved when the other funds none. (equalshares.net's satisfaction count skips a voter who
    approves no funded project in one of the two outcomes; here such a voter counts, with 0.)
    """
    greedy = greedy_by_approvals(election, tie_order=tie_order).selected
    mes_mask = np.zeros(election.num_projects, dtype=np.int64)
    greedy_mask = np.zeros(election.num_projects, dtype=np.int64)
    mes_mask[[election.index[p] for p in selected]] = 1
    greedy_mask[[election.index[p] for p in greedy]] = 1
    mes_sat = np.zeros(len(election.ballot_types), dtype=np.int64)
    greedy_sat = np.zeros(len(election.ballot_types), dtype=np.int64)
    for t, ballot in enumerate(election.ballot_types):
        if ballot:
            mes_sat[t] = mes_mask[list(ballot)].sum()
            greedy_sat[t] = greedy_mask[list(ballot)].sum()
    if kind == "satisfaction":
        mes_better = mes_sat > greedy_sat
        greedy_better = greedy_sat > mes_sat
    elif kind == "exclusion":
        mes_better = (mes_sat > 0) & (greedy_sat == 0)
        greedy_better = (greedy_sat > 0) & (mes_sat == 0)
    else:
        raise ValueError(f"unknown comparison {kind!r}")
    weights = election.ballot_weights
    prefer_mes = int(weights[mes_better].sum())
    prefer_greedy = int(weights[greedy_better].sum())
    return Comparison(
        kind=kind,
        prefer_mes=prefer_mes,
        prefer_greedy=prefer_greedy,
        greedy_selected=tuple(greedy),
        kept="greedy" if prefer_greedy > prefer_mes else "mes",
    )


class _SupportObserver:
    """Records, per round, how much of each project's cost its supporters could pay."""

    def __init__(self, election: ApprovalElection, watched: Sequence[int]) -> None:
        self.election = election
        self.watched = list(watched)
        self.best: dict[int, Any] = {}

    def _record(self, state: _State, j: int, payment: Any | None) -> None:
        share = state.cover(j, payment) / self.election.costs[j]
        if j not in self.best or share > self.best[j]:
            self.best[j] = share

    def round(self, state: _State, rho: Any) -> None:
        for j in self.watched:
            self._record(state, j, rho * self.election.costs[j])

    def end(self, state: _State) -> None:
        for j in self.watched:
            self._record(state, j, None)


def effective_supports(
    election: ApprovalElection,
    endowment: int | Fraction,
    *,
    tie_order: Sequence[str] | None = None,
) -> dict[str, Fraction]:
    """Each project's effective support, as an exact ratio (1 means 100%).

    Definition: run MES at ``endowment`` without the project. In each round, before the winner
    pays, take the winner's price per unit of utility ``rho`` and compute what the project's
    supporters could pay if each paid at most ``rho * cost`` (what they would pay at that price);
    after the last round, what they hold in total. The effective support is the largest of these
    amounts divided by the cost. It is at least 1 exactly for the projects MES buys (exactly 1 and
    not bought: the project lost a tie). For a project MES does not buy, removing it does not
    change the run, so one run serves them all.

    pabutools computes its effective support in the same spirit, but after the winner has paid
    and as a floored percentage, so it omits the first round and clamps bought projects to 100%.
    """
    number = _exact_number
    keys = election.tie_keys(tie_order)
    share = _as_number(Fraction(endowment), number)
    candidates = [
        j for j, cost in enumerate(election.costs) if cost > 0 and election.approvals[j] > 0
    ]
    everyone = _SupportObserver(election, candidates)
    bought = _run(election, share, keys, number, observer=everyone)
    bought_ids = {election.project_ids[purchase[0]] for purchase in bought}
    result: dict[str, Fraction] = {}
    for j in candidates:
        pid = election.project_ids[j]
        if pid in bought_ids:
            alone = _SupportObserver(election, [j])
            _run(election, share, keys, number, excluded=j, observer=alone)
            result[pid] = _fraction(alone.best[j])
        else:
            result[pid] = _fraction(everyone.best[j])
    for j, cost in enumerate(election.costs):
        if cost > 0 and election.approvals[j] == 0:
            result[election.project_ids[j]] = Fraction(0)
    return result
