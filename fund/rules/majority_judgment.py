"""Majority judgment for the fund's priority votes, tallied from grade histograms.

Grades are integers ``0 .. G-1``, higher is better; each option's tally is its histogram
(``histogram[g]`` = number of ballots giving grade ``g``). Every ballot grades every option (an
option a voter left blank counts with the lowest grade), so all options have the same number of
grades ``N``.

Order between two options, decided at the first level that separates them:

1. the *majority grade*: the lower median, i.e. the grade at position ceil(N/2) of the grades
   sorted from lowest to highest;
2. the *majority gauge*: with ``p`` the share of grades strictly above the majority grade and ``q``
   the share strictly below, the gauge is ``+p`` if ``p > q`` and ``-q`` otherwise; higher wins;
3. the *majority value*: remove one majority grade at a time and record the successive majority
   grades; the sequences are compared lexicographically;
4. the options are tied only if those sequences are equal (that is, if their histograms are).

The majority value is never materialised. Removing lower medians one by one walks outwards from
the middle of the sorted grades, alternating sides, so the sequence is read off the cumulative
histogram and two sequences are compared run by run, in time proportional to the number of
grades rather than of ballots.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt

Level = Literal["median", "gauge", "majority value", "tie"]


@dataclass(frozen=True, slots=True)
class OptionTally:
    option: str
    histogram: tuple[int, ...]
    num_grades: int  # N, the number of ballots
    median: int  # the majority grade (lower median)
    above: int  # ballots grading strictly above the median
    below: int  # ballots grading strictly below the median
    p: Fraction  # above / N
    q: Fraction  # below / N
    gauge: Fraction  # +p if p > q, otherwise -q

    @property
    def gauge_label(self) -> str:
        return f"{self.median}{'+' if self.p > self.q else '-'}"


@dataclass(frozen=True, slots=True)
class Decision:
    """Why ``better`` ranks above ``worse`` (or why they are tied)."""

    better: str
    worse: str
    level: Level
    # For the majority value: the 1-based step of the sequences where they first differ, and the
    # grades each option has there.
    step: int | None = None
    better_grade: int | None = None
    worse_grade: int | None = None


@dataclass(frozen=True, slots=True)
class MajorityJudgmentResult:
    ranking: tuple[tuple[str, ...], ...]  # groups of tied options, best first
    tallies: dict[str, OptionTally]
    decisions: tuple[Decision, ...]  # between consecutive options of the ranking

    @property
    def winners(self) -> tuple[str, ...]:
        return self.ranking[0] if self.ranking else ()


class _Option:
    __slots__ = ("cumulative", "tally")

    def __init__(self, tally: OptionTally) -> None:
        self.tally = tally
        running = 0
        cumulative = []
        for count in tally.histogram:
            running += count
            cumulative.append(running)
        self.cumulative = cumulative

    def grade_at(self, position: int) -> int:
        """Grade at a 1-based position of the sorted grades."""
        return bisect.bisect_left(self.cumulative, position)

    def last_below(self, grade: int) -> int:
        """Last position holding a grade lower than ``grade``."""
        return self.cumulative[grade - 1] if grade > 0 else 0


def tally_option(option: str, histogram: Sequence[int]) -> OptionTally:
    counts = tuple(int(c) for c in histogram)
    if any(c < 0 for c in counts):
        raise ValueError(f"negative count in the histogram of {option!r}")
    total = sum(counts)
    if total == 0:
        raise ValueError(f"option {option!r} has no grades")
    middle = (total + 1) // 2
    running = 0
    median = 0
    for grade, count in enumerate(counts):
        running += count
        if running >= middle:
            median = grade
            break
    above = sum(counts[median + 1 :])
    below = sum(counts[:median])
    p = Fraction(above, total)
    q = Fraction(below, total)
    return OptionTally(option, counts, total, median, above, below, p, q, p if p > q else -q)


def majority_value_difference(
    first: OptionTally, second: OptionTally
) -> tuple[int, int, int] | None:
    """First step where the two majority-value sequences differ, with both grades there.

    Sequence of N grades: the lower median (position c = ceil(N/2)), then alternately the next
    position on each side: left first when N is odd (c-1, c+1, c-2, ...), right first when N is
    even (c+1, c-1, c+2, ...).
    """
    if first.num_grades != second.num_grades:
        raise ValueError("options must have the same number of grades")
    n = first.num_grades
    a, b = _Option(first), _Option(second)
    center = (n + 1) // 2
    if a.grade_at(center) != b.grade_at(center):
        return 1, a.grade_at(center), b.grade_at(center)
    left_first = n % 2 == 1

    def left_step(k: int) -> int:
        return 2 * k if left_first else 2 * k + 1

    def right_step(k: int) -> int:
        return 2 * k + 1 if left_first else 2 * k

    found: list[tuple[int, int, int]] = []
    # Left side, positions center-1 down to 1, one run of equal grades at a time.
    position = center - 1
    while position >= 1:
        ga, gb = a.grade_at(position), b.grade_at(position)
        if ga != gb:
            found.append((left_step(center - position), ga, gb))
            break
        position = max(a.last_below(ga), b.last_below(gb))
    # Right side, positions center+1 up to n.
    position = center + 1
    while position <= n:
        ga, gb = a.grade_at(position), b.grade_at(position)
        if ga != gb:
            found.append((right_step(position - center), ga, gb))
            break
        position = min(a.cumulative[ga], b.cumulative[gb]) + 1
    return min(found) if found else None


def compare(first: OptionTally, second: OptionTally) -> tuple[int, Decision]:
    """Sign of (first - second) in the majority-judgment order, with the deciding level."""

    def decided(sign: int, level: Level, **detail: int) -> tuple[int, Decision]:
        better, worse = (first, second) if sign > 0 else (second, first)
        if sign > 0 or "step" not in detail:
            return sign, Decision(better.option, worse.option, level, **detail)
        # Report the grades from the better option's point of view.
        return sign, Decision(
            better.option,
            worse.option,
            level,
            step=detail["step"],
            better_grade=detail["worse_grade"],
            worse_grade=detail["better_grade"],
        )

    if first.median != second.median:
        return decided(1 if first.median > second.median else -1, "median")
    if first.gauge != second.gauge:
        return decided(1 if first.gauge > second.gauge else -1, "gauge")
    difference = majority_value_difference(first, second)
    if difference is None:
        return 0, Decision(first.option, second.option, "tie")
    step, grade_first, grade_second = difference
    return decided(
        1 if grade_first > grade_second else -1,
        "majority value",
        step=step,
        better_grade=grade_first,
        worse_grade=grade_second,
    )


def majority_judgment(histograms: Mapping[str, Sequence[int]]) -> MajorityJudgmentResult:
    """Rank options from their grade histograms (index = grade, 0 the lowest)."""
    tallies = {option: tally_option(option, h) for option, h in histograms.items()}
    totals = {t.num_grades for t in tallies.values()}
    if len(totals) > 1:
        raise ValueError("every option must have the same number of grades")

    def best_first(x: OptionTally, y: OptionTally) -> int:
        return compare(y, x)[0]

    ordered = sorted(tallies.values(), key=functools.cmp_to_key(best_first))
    ranking: list[list[str]] = []
    decisions: list[Decision] = []
    for k, tally in enumerate(ordered):
        if k == 0:
            ranking.append([tally.option])
            continue
        sign, decision = compare(ordered[k - 1], tally)
        decisions.append(decision)
        if sign == 0:
            ranking[-1].append(tally.option)
        else:
            ranking.append([tally.option])
    return MajorityJudgmentResult(
        ranking=tuple(tuple(group) for group in ranking),
        tallies=tallies,
        decisions=tuple(decisions),
    )


def histograms_from_grades(
    grades: npt.ArrayLike,
    options: Sequence[str],
    num_grades: int,
    *,
    blank_grade: int = 0,
) -> dict[str, tuple[int, ...]]:
    """Histograms from a ballots x options array of grades; a negative entry is a blank.

    One ``bincount`` over the whole array (each option's grades shifted into its own range), no
    per-ballot work in Python.
    """
    matrix = np.asarray(grades, dtype=np.int64)
    if matrix.ndim != 2 or matrix.shape[1] != len(options):
        raise ValueError("grades must be a ballots x options array")
    if not 0 <= blank_grade < num_grades:
        raise ValueError("blank_grade must be a valid grade")
    if matrix.size and matrix.max() >= num_grades:
        raise ValueError("a grade is out of range")
    matrix = np.where(matrix < 0, blank_grade, matrix)
    shifted = matrix + np.arange(len(options), dtype=np.int64) * num_grades
    counts = np.bincount(shifted.ravel(), minlength=len(options) * num_grades)
    table = counts.reshape(len(options), num_grades)
    return {option: tuple(int(c) for c in table[k]) for k, option in enumerate(options)}
