"""The allocation of a funding round from its Pabulib file. Pure Python: no Django, no database.

The official rule is the Method of Equal Shares with cost utilities and Add1 completion
(``fund.rules.equal_shares_add1``), optionally followed by a utilitarian completion and a
comparison with greedy; greedy and sequential Phragmén are computed for comparison. Everything it
needs is in the file: the budget, the costs and the anonymised votes, and in META the options of
the rule and the tie-breaking order drawn before counting (``tie_breaking_seed`` and
``tie_breaking_order``). So one command re-runs the allocation from the published file alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from fund.rules import (
    Add1Step,
    ApprovalElection,
    PabulibElection,
    effective_supports,
    equal_shares_add1,
    greedy_by_approvals,
    sequential_phragmen,
    tie_order_from_seed,
)

COMPARISONS = ("none", "satisfaction", "exclusion")
# META keys this platform adds to the Pabulib format.
META_ROUND = "bien_commun_round"
META_STEP = "add1_step"
META_COMPLETION = "utilitarian_completion"
META_COMPARISON = "comparison"
META_SEED = "tie_breaking_seed"
META_ORDER = "tie_breaking_order"


class AllocationError(ValueError):
    """The file does not describe an allocation this module can run."""


@dataclass(frozen=True, slots=True)
class AllocationOptions:
    add1_step: int = 1
    utilitarian_completion: bool = False
    comparison: str = "none"
    tie_seed: str = ""
    tie_order: tuple[str, ...] | None = None

    def meta(self) -> dict[str, str]:
        meta = {
            META_STEP: str(self.add1_step),
            META_COMPLETION: "1" if self.utilitarian_completion else "0",
            META_COMPARISON: self.comparison,
        }
        if self.tie_seed:
            meta[META_SEED] = self.tie_seed
        if self.tie_order is not None:
            meta[META_ORDER] = ",".join(self.tie_order)
        return meta

    @property
    def rule(self) -> str:
        """The rule's name in Pabulib's vocabulary."""
        rule = "equalshares/add1" + ("u" if self.utilitarian_completion else "")
        return rule + ("-comparison" if self.comparison != "none" else "")


def options_from_rule(rule: str) -> AllocationOptions:
    """Options matching a Pabulib ``rule`` value, for files that do not state them explicitly."""
    rule = rule.strip()
    return AllocationOptions(
        utilitarian_completion=rule.startswith("equalshares/add1u"),
        comparison="satisfaction" if rule.endswith("-comparison") else "none",
    )


def options_from_meta(meta: dict[str, str]) -> AllocationOptions:
    if META_STEP not in meta and META_COMPARISON not in meta:
        base = options_from_rule(meta.get("rule", ""))
    else:
        base = AllocationOptions()
    try:
        step = int(meta.get(META_STEP, str(base.add1_step)))
    except ValueError:
        raise AllocationError(f"{META_STEP} must be a whole number") from None
    if step <= 0:
        raise AllocationError(f"{META_STEP} must be positive")
    comparison = meta.get(META_COMPARISON, base.comparison)
    if comparison not in COMPARISONS:
        raise AllocationError(f"unknown comparison {comparison!r}")
    completion_text = meta.get(META_COMPLETION)
    completion = base.utilitarian_completion if completion_text is None else completion_text == "1"
    order_text = meta.get(META_ORDER, "")
    order = tuple(pid for pid in order_text.split(",") if pid) if order_text else None
    return AllocationOptions(step, completion, comparison, meta.get(META_SEED, ""), order)


def tie_order_check(
    election: PabulibElection, options: AllocationOptions
) -> tuple[str, ...] | None:
    """The published tie-breaking order, checked against the published seed."""
    ids = [p.project_id for p in election.projects]
    if options.tie_seed:
        expected = tuple(tie_order_from_seed(ids, options.tie_seed))
        if options.tie_order is not None and options.tie_order != expected:
            raise AllocationError("the tie-breaking order does not follow from the published seed")
        return expected
    if options.tie_order is not None and sorted(options.tie_order) != sorted(ids):
        raise AllocationError("the tie-breaking order must list every project exactly once")
    return options.tie_order


def _fraction(value: Fraction) -> str:
    return str(Fraction(value))


def allocate(
    election: PabulibElection,
    options: AllocationOptions | None = None,
    *,
    progress: Callable[[Add1Step], None] | None = None,
) -> dict[str, Any]:
    """The official allocation and the comparisons, as plain JSON values (exact fractions as
    strings). Costs and the budget are in whole currency units, as in the file."""
    options = options or options_from_meta(election.meta)
    tie_order = tie_order_check(election, options)
    try:
        approval = ApprovalElection.from_pabulib(election)
    except ValueError as error:
        raise AllocationError(str(error)) from None
    mes = equal_shares_add1(
        approval,
        step=options.add1_step,
        tie_order=tie_order,
        utilitarian_completion=options.utilitarian_completion,
        comparison=options.comparison,  # type: ignore[arg-type]
        progress=progress,
    )
    supports = effective_supports(approval, mes.endowment, tie_order=tie_order)
    greedy = greedy_by_approvals(approval, tie_order=tie_order)
    phragmen = sequential_phragmen(approval, tie_order=tie_order)
    ids = approval.project_ids
    comparison = None
    if mes.comparison is not None:
        comparison = {
            "kind": mes.comparison.kind,
            "prefer_mes": mes.comparison.prefer_mes,
            "prefer_greedy": mes.comparison.prefer_greedy,
            "kept": mes.comparison.kept,
            "greedy_selected": list(mes.comparison.greedy_selected),
        }
    return {
        "rule": options.rule,
        "budget": approval.budget,
        "num_voters": approval.num_voters,
        "num_projects": approval.num_projects,
        "add1_step": options.add1_step,
        "utilitarian_completion": options.utilitarian_completion,
        "initial_endowment": approval.budget // max(approval.num_voters, 1),
        "endowment": _fraction(mes.endowment),
        "add1_runs": mes.add1_runs,
        "selected": list(mes.selected),
        "mes_selected": list(mes.mes_selected),
        "completion": list(mes.completion),
        "total_cost": mes.total_cost,
        "purchases": [
            {
                "project": p.project_id,
                "cost": p.cost,
                "approvals": p.approvals,
                "price": _fraction(p.price),
                "rho": _fraction(p.rho),
                "effective_vote_count": _fraction(p.effective_vote_count),
                "full_payers": p.full_payers,
                "partial_payers": p.partial_payers,
                "partial_paid": _fraction(p.partial_paid),
            }
            for p in mes.purchases
        ],
        "approvals": {pid: approval.approvals[j] for j, pid in enumerate(ids)},
        "effective_support": {pid: _fraction(supports[pid]) for pid in ids if pid in supports},
        "comparison": comparison,
        "greedy": {"selected": list(greedy.selected), "total_cost": greedy.total_cost},
        "phragmen": {
            "selected": list(phragmen.selected),
            "total_cost": phragmen.total_cost,
            "stopped_at": phragmen.stopped_at,
        },
        "tie_breaking": {"seed": options.tie_seed, "order": list(tie_order or ids)},
    }


def selected_column(election: PabulibElection) -> list[str]:
    """The outcome written in the file's ``selected`` column."""
    return sorted(election.selected_ids())


def compare_results(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Names of the top-level figures that differ."""
    keys: Sequence[str] = sorted(set(expected) | set(actual))
    return [key for key in keys if expected.get(key) != actual.get(key)]
