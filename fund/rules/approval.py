"""Approval voting for the fund's priorities: each ballot approves any number of options."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ApprovalTally:
    num_ballots: int
    approvals: dict[str, int]  # in the order the options were given
    ranking: tuple[tuple[str, ...], ...]  # groups of options with equal counts, most approved first

    @property
    def winners(self) -> tuple[str, ...]:
        return self.ranking[0] if self.ranking else ()


def approval_tally(ballots: Iterable[Iterable[str]], options: Sequence[str]) -> ApprovalTally:
    """Count approvals; an option listed twice on a ballot counts once, an unknown one is refused."""
    counts = dict.fromkeys(options, 0)
    num_ballots = 0
    for ballot in ballots:
        num_ballots += 1
        for option in set(ballot):
            if option not in counts:
                raise ValueError(f"a ballot approves unknown option {option!r}")
            counts[option] += 1
    return approval_tally_from_counts(counts, num_ballots)


def approval_tally_from_counts(counts: Mapping[str, int], num_ballots: int) -> ApprovalTally:
    if any(c < 0 or c > num_ballots for c in counts.values()):
        raise ValueError("approval counts must lie between 0 and the number of ballots")
    groups: dict[int, list[str]] = {}
    for option, count in counts.items():
        groups.setdefault(count, []).append(option)
    ranking = tuple(tuple(groups[count]) for count in sorted(groups, reverse=True))
    return ApprovalTally(num_ballots, dict(counts), ranking)
