"""A pairwise-bounded quadratic-funding round for members (optional matchfunding rule).

Formula (Buterin, "Pairwise coordination subsidies", 2019). With ``c[i][p]`` the contribution of
member ``i`` to project ``p`` in cents:

* each pair of members ``i != j`` has a coordination total ``P_ij = sum over all projects q of
  sqrt(c[i][q] * c[j][q])`` and a coefficient ``k_ij = M' / (M' + P_ij)``, so a pair that funds
  the same projects heavily together earns less per cent;
* the raw match of project ``p`` is ``sum over ordered pairs i != j of k_ij * sqrt(c[i][p] *
  c[j][p])``, i.e. ``2 * sum over i < j``. With ``M'`` unbounded (``None``) every coefficient is 1
  and this is the plain quadratic-funding match ``(sum of sqrt c)^2 - sum of c``.

Then the pool is shared:

* if the raw matches together exceed the pool (*saturated*), they are scaled down proportionally to
  the pool;
* no project receives more than the per-project cap, nor more than its own raw match; what a
  capped project cannot take is redistributed to the others in proportion to their raw matches,
  until nothing changes.

Money is integer cents and every rounding favours the pool. Square roots of products of cents are
irrational in general, so they are bounded with integer square roots at a resolution of
1/SQRT_RESOLUTION cent: rounded down where they add to a match, up where they add to a coordination
total (which lowers a coefficient). The computed raw matches are therefore never above the exact
ones, the sharing is exact rational arithmetic on them, and each project's final match is rounded
down to the cent, so the sum paid never exceeds the pool.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

SQRT_RESOLUTION = 10**6  # square roots are bounded to a millionth of a cent


@dataclass(frozen=True, slots=True)
class ProjectMatch:
    project_id: str
    contributors: int
    contributed: int  # cents
    raw_match: Fraction  # cents, the formula's match (a lower bound, see the module docstring)
    match: int  # cents paid from the pool
    capped: bool  # limited by the per-project cap


@dataclass(frozen=True, slots=True)
class QuadraticRound:
    pool: int
    coordination_bound: int | None
    project_cap: int | None
    saturated: bool  # raw matches together exceeded the pool
    scale: Fraction  # pool / total raw match when saturated, else 1
    projects: dict[str, ProjectMatch]
    distributed: int  # cents paid out, never more than the pool
    left_in_pool: int


def _sqrt_floor(product: int) -> int:
    return math.isqrt(product * SQRT_RESOLUTION * SQRT_RESOLUTION)


def _sqrt_ceil(product: int) -> int:
    scaled = product * SQRT_RESOLUTION * SQRT_RESOLUTION
    root = math.isqrt(scaled)
    return root if root * root == scaled else root + 1


def quadratic_round(
    contributions: Iterable[tuple[str, str, int]],
    *,
    pool: int,
    coordination_bound: int | None,
    project_cap: int | None = None,
) -> QuadraticRound:
    """Share ``pool`` among projects from ``(member, project, cents)`` contributions.

    A member's several contributions to one project are added together. ``coordination_bound``
    is M' in cents (``None`` for no pairwise bound); ``project_cap`` in cents (``None``: no cap).
    """
    if pool < 0:
        raise ValueError("the pool cannot be negative")
    if coordination_bound is not None and coordination_bound <= 0:
        raise ValueError("the coordination bound M' must be positive")
    if project_cap is not None and project_cap < 0:
        raise ValueError("the project cap cannot be negative")

    by_project: dict[str, dict[str, int]] = {}
    for member, project, cents in contributions:
        if isinstance(cents, bool) or not isinstance(cents, int) or cents < 0:
            raise ValueError("contributions are non-negative integer cents")
        members = by_project.setdefault(project, {})
        members[member] = members.get(member, 0) + cents

    # Coordination totals of every pair that funds a project together (scaled square roots).
    coordination: dict[tuple[str, str], int] = {}
    for members in by_project.values():
        givers = sorted(m for m, c in members.items() if c > 0)
        for i, j in combinations(givers, 2):
            coordination[i, j] = coordination.get((i, j), 0) + _sqrt_ceil(members[i] * members[j])

    bound = None if coordination_bound is None else coordination_bound * SQRT_RESOLUTION
    raw: dict[str, Fraction] = {}
    for project, members in by_project.items():
        givers = sorted(m for m, c in members.items() if c > 0)
        total = Fraction(0)
        for i, j in combinations(givers, 2):
            root = _sqrt_floor(members[i] * members[j])
            if bound is None:
                total += root
            else:
                total += Fraction(root * bound, bound + coordination[i, j])
        raw[project] = 2 * total / SQRT_RESOLUTION

    total_raw = sum(raw.values(), Fraction(0))
    saturated = total_raw > pool
    scale = Fraction(pool) / total_raw if saturated else Fraction(1)
    shares = _share_with_ceilings(raw, min(Fraction(pool), total_raw), project_cap)

    projects = {}
    for project, members in by_project.items():
        cents = math.floor(shares[project])
        projects[project] = ProjectMatch(
            project_id=project,
            contributors=sum(1 for c in members.values() if c > 0),
            contributed=sum(members.values()),
            raw_match=raw[project],
            match=cents,
            capped=project_cap is not None and shares[project] == project_cap < raw[project],
        )
    distributed = sum(p.match for p in projects.values())
    return QuadraticRound(
        pool=pool,
        coordination_bound=coordination_bound,
        project_cap=project_cap,
        saturated=saturated,
        scale=scale,
        projects=projects,
        distributed=distributed,
        left_in_pool=pool - distributed,
    )


def _share_with_ceilings(
    raw: dict[str, Fraction], available: Fraction, cap: int | None
) -> dict[str, Fraction]:
    """Split ``available`` in proportion to ``raw``, each project at most min(cap, its raw)."""
    ceiling = {p: raw[p] if cap is None else min(Fraction(cap), raw[p]) for p in raw}
    shares = dict.fromkeys(raw, Fraction(0))
    active = {p for p, r in raw.items() if r > 0}
    remaining = available
    while active:
        weight = sum((raw[p] for p in active), Fraction(0))
        factor = remaining / weight
        reached = {p for p in active if factor * raw[p] >= ceiling[p]}
        if not reached:
            for p in active:
                shares[p] = factor * raw[p]
            break
        # The capped projects take their ceiling; the rest is shared again among the others.
        for p in reached:
            shares[p] = ceiling[p]
            remaining -= ceiling[p]
        active -= reached
    return shares
