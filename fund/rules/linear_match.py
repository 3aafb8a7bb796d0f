"""Capped linear matching of one contribution, the fund's default matchfunding rule.

The match is the contribution times the match factor, rounded down to the cent, and then limited
by, in this order: the cap per contribution, what is left of the cap for this member in this
campaign, what is left of the cap for the campaign, and what is left in the matching pool. It is
never negative. The result says which bound decided, so the pledge form can explain the figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Bound = Literal["factor", "contribution_cap", "member_cap", "campaign_cap", "pool"]
BOUND_ORDER: tuple[Bound, ...] = (
    "factor",
    "contribution_cap",
    "member_cap",
    "campaign_cap",
    "pool",
)


@dataclass(frozen=True, slots=True)
class LinearMatch:
    amount: int  # the contribution, cents
    factor: Fraction
    uncapped: int  # floor(amount * factor)
    match: int  # cents
    limited_by: Bound  # "factor" when no cap bit
    bounds: dict[Bound, int]  # every bound that applied, in cents (negatives read as 0)


def factor_from_basis_points(basis_points: int) -> Fraction:
    """A match factor written in basis points: 10000 is 1:1, 5000 is 50 cents per euro."""
    if basis_points < 0:
        raise ValueError("the match factor cannot be negative")
    return Fraction(basis_points, 10_000)


def linear_match(
    *,
    amount: int,
    factor: Fraction,
    contribution_cap: int | None,
    member_remaining: int | None,
    campaign_remaining: int | None,
    pool_remaining: int,
) -> LinearMatch:
    """The match for one contribution; ``None`` means that cap is not set.

    The ``*_remaining`` arguments are what is still available under each cap after the matches
    already granted (the caller reads them from the ledger).
    """
    if amount < 0:
        raise ValueError("the contribution cannot be negative")
    factor = Fraction(factor)
    if factor < 0:
        raise ValueError("the match factor cannot be negative")
    uncapped = math.floor(amount * factor)
    bounds: dict[Bound, int] = {"factor": uncapped}
    for name, value in (
        ("contribution_cap", contribution_cap),
        ("member_cap", member_remaining),
        ("campaign_cap", campaign_remaining),
        ("pool", pool_remaining),
    ):
        if value is not None:
            bounds[name] = max(value, 0)  # type: ignore[index]
    match = min(bounds.values())
    # The first bound in the fixed order that equals the match explains it.
    limited_by = next(name for name in BOUND_ORDER if bounds.get(name) == match)
    return LinearMatch(
        amount=amount,
        factor=factor,
        uncapped=uncapped,
        match=match,
        limited_by=limited_by,
        bounds=bounds,
    )
