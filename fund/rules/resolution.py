"""Resolutions: yes, no or abstain, with a quorum and a threshold.

Definitions (exact fractions throughout, no rounding):

* *turnout* = ballots cast / electorate, where ballots cast = yes + no + abstain and the electorate
  is the number of members snapshotted when the poll opened;
* the *quorum* is reached when turnout >= quorum (so a quorum of 0 is always reached);
* the *yes share* = yes / (yes + no); abstentions count for the quorum but not for the share;
* the resolution is *adopted* when the quorum is reached and the yes share is strictly greater
  than the threshold ("more than half" for 1/2), or, with ``threshold_inclusive``, at least the
  threshold ("at least two thirds" for 2/3). With no yes and no no vote, nothing is adopted.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    yes: int
    no: int
    abstain: int
    electorate: int
    turnout: Fraction
    quorum: Fraction
    quorum_reached: bool
    yes_share: Fraction | None  # None when there is no yes and no no vote
    threshold: Fraction
    threshold_inclusive: bool
    adopted: bool


def resolution_tally(
    *,
    yes: int,
    no: int,
    abstain: int,
    electorate: int,
    quorum: Fraction,
    threshold: Fraction,
    threshold_inclusive: bool = False,
) -> ResolutionResult:
    for name, value in (("yes", yes), ("no", no), ("abstain", abstain)):
        if value < 0:
            raise ValueError(f"{name} cannot be negative")
    if electorate <= 0:
        raise ValueError("the electorate must have at least one member")
    cast = yes + no + abstain
    if cast > electorate:
        raise ValueError("more ballots than members in the electorate")
    quorum, threshold = Fraction(quorum), Fraction(threshold)
    if not (0 <= quorum <= 1 and 0 <= threshold <= 1):
        raise ValueError("quorum and threshold are shares between 0 and 1")
    turnout = Fraction(cast, electorate)
    quorum_reached = turnout >= quorum
    yes_share = Fraction(yes, yes + no) if yes + no else None
    if yes_share is None:
        passes = False
    elif threshold_inclusive:
        passes = yes_share >= threshold
    else:
        passes = yes_share > threshold
    return ResolutionResult(
        yes=yes,
        no=no,
        abstain=abstain,
        electorate=electorate,
        turnout=turnout,
        quorum=quorum,
        quorum_reached=quorum_reached,
        yes_share=yes_share,
        threshold=threshold,
        threshold_inclusive=threshold_inclusive,
        adopted=quorum_reached and passes,
    )
