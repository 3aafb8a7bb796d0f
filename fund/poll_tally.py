"""The published ballot file of a poll and its tally. Pure Python: no Django, no database.

A ballot file is JSON lines. The first line describes the poll (method, options, grades,
electorate, quorum, threshold); each following line is one ballot, in a random order, with
nothing that identifies its voter:

* resolution: ``{"choice": "yes"}`` (or ``"no"``, ``"abstain"``);
* majority judgment: ``{"grades": [3, 5, 0]}``, one grade per option in the header's order,
  0 the lowest (an option left blank on the ballot form is graded 0, "Reject");
* approval: ``{"approved": ["1", "3"]}``.

The tally is computed from this file only, with the rules of ``fund.rules``, so anyone holding
the file gets the published result again, figure for figure.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from fund.rules import approval_tally, histograms_from_grades, majority_judgment, resolution_tally

FORMAT = "bien-commun/ballots"
VERSION = 1
METHODS = ("resolution", "majority_judgment", "approval")
CHOICES = ("yes", "no", "abstain")


class BallotFileError(ValueError):
    """The ballot file, or one ballot in it, is not well formed."""


@dataclass(frozen=True, slots=True)
class PollSpec:
    """What a tally needs to know about the poll, as written in the file's first line."""

    poll: int
    title: str
    method: str
    options: tuple[tuple[str, str], ...] = ()  # (id, label), in ballot order
    grades: tuple[str, ...] = ()  # grade names, lowest first (majority judgment only)
    electorate: int = 0
    quorum: Fraction = Fraction(0)
    threshold: Fraction = Fraction(1, 2)
    threshold_inclusive: bool = False

    @property
    def option_ids(self) -> list[str]:
        return [option_id for option_id, _label in self.options]

    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "poll": self.poll,
            "title": self.title,
            "method": self.method,
            "options": [{"id": i, "label": label} for i, label in self.options],
            "grades": list(self.grades),
            "electorate": self.electorate,
            "quorum": str(self.quorum),
            "threshold": str(self.threshold),
            "threshold_inclusive": self.threshold_inclusive,
        }

    @classmethod
    def from_header(cls, header: Any) -> PollSpec:
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise BallotFileError("the first line is not the header of a Bien Commun ballot file")
        if header.get("version") != VERSION:
            raise BallotFileError(f"unsupported ballot file version {header.get('version')!r}")
        try:
            method = header["method"]
            if method not in METHODS:
                raise BallotFileError(f"unknown method {method!r}")
            options = tuple((str(o["id"]), str(o["label"])) for o in header["options"])
            spec = cls(
                poll=int(header["poll"]),
                title=str(header["title"]),
                method=method,
                options=options,
                grades=tuple(str(g) for g in header["grades"]),
                electorate=int(header["electorate"]),
                quorum=Fraction(header["quorum"]),
                threshold=Fraction(header["threshold"]),
                threshold_inclusive=bool(header["threshold_inclusive"]),
            )
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
            if isinstance(error, BallotFileError):
                raise
            raise BallotFileError(f"the header is incomplete or malformed: {error}") from None
        if method == "majority_judgment" and len(spec.grades) < 2:
            raise BallotFileError("a majority-judgment poll needs at least two grades")
        if method != "resolution" and len(options) < 2:
            raise BallotFileError("a priority vote needs at least two options")
        if len(set(spec.option_ids)) != len(options):
            raise BallotFileError("option ids must be distinct")
        return spec


def ballot_check(spec: PollSpec, ballot: Any) -> dict[str, Any]:
    """The ballot in its canonical form, or BallotFileError."""
    if not isinstance(ballot, dict):
        raise BallotFileError("a ballot is a JSON object")
    if spec.method == "resolution":
        if set(ballot) != {"choice"} or ballot["choice"] not in CHOICES:
            raise BallotFileError('a resolution ballot is {"choice": "yes" | "no" | "abstain"}')
        return {"choice": ballot["choice"]}
    if spec.method == "majority_judgment":
        grades = ballot.get("grades")
        if set(ballot) != {"grades"} or not isinstance(grades, list):
            raise BallotFileError('a majority-judgment ballot is {"grades": [...]}')
        if len(grades) != len(spec.options):
            raise BallotFileError("a majority-judgment ballot grades every option")
        for grade in grades:
            if type(grade) is not int or not 0 <= grade < len(spec.grades):
                raise BallotFileError(f"grade {grade!r} is not one of the poll's grades")
        return {"grades": list(grades)}
    approved = ballot.get("approved")
    if set(ballot) != {"approved"} or not isinstance(approved, list):
        raise BallotFileError('an approval ballot is {"approved": [...]}')
    ids = spec.option_ids
    if any(not isinstance(a, str) or a not in ids for a in approved):
        raise BallotFileError("an approval ballot approves options of the poll only")
    if len(set(approved)) != len(approved):
        raise BallotFileError("an option is approved at most once")
    return {"approved": sorted(approved, key=ids.index)}


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def ballot_file_dumps(spec: PollSpec, ballots: Iterable[dict[str, Any]]) -> str:
    """The file's text: the header, then one canonical ballot per line, in the given order."""
    lines = [_line(spec.header())]
    lines.extend(_line(ballot_check(spec, ballot)) for ballot in ballots)
    return "\n".join(lines) + "\n"


def ballot_file_parse(
    lines: Iterable[str], *, progress: Callable[[str], None] | None = None
) -> tuple[PollSpec, list[dict[str, Any]]]:
    """Read a ballot file line by line (``progress`` is called with each line read)."""
    spec: PollSpec | None = None
    ballots: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if progress is not None:
            progress(line)
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise BallotFileError(f"line {number} is not JSON: {error.msg}") from None
        if spec is None:
            spec = PollSpec.from_header(value)
            continue
        try:
            ballots.append(ballot_check(spec, value))
        except BallotFileError as error:
            raise BallotFileError(f"line {number}: {error}") from None
    if spec is None:
        raise BallotFileError("the file is empty")
    return spec, ballots


def ballot_file_loads(text: str) -> tuple[PollSpec, list[dict[str, Any]]]:
    return ballot_file_parse(text.splitlines())


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def poll_tally(spec: PollSpec, ballots: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The result of the poll, with the steps of its method, as plain JSON values.

    Exact shares are written as fractions ("2/3"). Quorum: ballots cast / electorate >= quorum.
    """
    if spec.electorate <= 0:
        raise BallotFileError("the electorate must have at least one member")
    cast = len(ballots)
    if cast > spec.electorate:
        raise BallotFileError("more ballots than members in the electorate")
    turnout = Fraction(cast, spec.electorate)
    quorum_reached = turnout >= spec.quorum
    result: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "poll": spec.poll,
        "method": spec.method,
        "electorate": spec.electorate,
        "ballots": cast,
        "turnout": str(turnout),
        "quorum": str(spec.quorum),
        "quorum_reached": quorum_reached,
    }
    quorum_step = {
        "kind": "quorum",
        "ballots": cast,
        "electorate": spec.electorate,
        "turnout": str(turnout),
        "quorum": str(spec.quorum),
        "reached": quorum_reached,
    }
    if spec.method == "resolution":
        result.update(_resolution(spec, ballots, quorum_step))
    elif spec.method == "majority_judgment":
        result.update(_majority_judgment(spec, ballots, quorum_step, quorum_reached))
    else:
        result.update(_approval(spec, ballots, quorum_step, quorum_reached))
    return result


def _resolution(
    spec: PollSpec, ballots: Sequence[dict[str, Any]], quorum_step: dict[str, Any]
) -> dict[str, Any]:
    counts = Counter(ballot["choice"] for ballot in ballots)
    tally = resolution_tally(
        yes=counts["yes"],
        no=counts["no"],
        abstain=counts["abstain"],
        electorate=spec.electorate,
        quorum=spec.quorum,
        threshold=spec.threshold,
        threshold_inclusive=spec.threshold_inclusive,
    )
    if not tally.quorum_reached:
        outcome = "no_quorum"
    else:
        outcome = "adopted" if tally.adopted else "rejected"
    yes_share = None if tally.yes_share is None else str(tally.yes_share)
    passed = tally.yes_share is not None and (
        tally.yes_share >= tally.threshold
        if tally.threshold_inclusive
        else tally.yes_share > tally.threshold
    )
    return {
        "counts": {"yes": tally.yes, "no": tally.no, "abstain": tally.abstain},
        "yes_share": yes_share,
        "threshold": str(tally.threshold),
        "threshold_inclusive": tally.threshold_inclusive,
        "adopted": tally.adopted,
        "outcome": outcome,
        "winners": ["yes"] if tally.adopted else [],
        "steps": [
            {"kind": "count", "yes": tally.yes, "no": tally.no, "abstain": tally.abstain},
            quorum_step,
            {
                "kind": "threshold",
                "yes": tally.yes,
                "no": tally.no,
                "yes_share": yes_share,
                "threshold": str(tally.threshold),
                "inclusive": tally.threshold_inclusive,
                "passed": passed,
            },
            {"kind": "outcome", "outcome": outcome},
        ],
    }


def _majority_judgment(
    spec: PollSpec,
    ballots: Sequence[dict[str, Any]],
    quorum_step: dict[str, Any],
    quorum_reached: bool,
) -> dict[str, Any]:
    ids = spec.option_ids
    steps: list[dict[str, Any]] = [quorum_step]
    if not ballots:
        outcome = "no_quorum" if not quorum_reached else "no_ballots"
        steps.append({"kind": "outcome", "outcome": outcome})
        return {
            "grades": list(spec.grades),
            "ranking": [],
            "outcome": outcome,
            "winners": [],
            "steps": steps,
        }
    histograms = histograms_from_grades(
        [ballot["grades"] for ballot in ballots], ids, len(spec.grades)
    )
    tally = majority_judgment(histograms)
    options = []
    for option_id in ids:
        t = tally.tallies[option_id]
        options.append(
            {
                "option": option_id,
                "histogram": list(t.histogram),
                "median": t.median,
                "above": t.above,
                "below": t.below,
                "p": str(t.p),
                "q": str(t.q),
                "gauge": str(t.gauge),
            }
        )
    steps.append({"kind": "grades", "grades": list(spec.grades), "options": options})
    for decision in tally.decisions:
        steps.append(
            {
                "kind": "comparison",
                "better": decision.better,
                "worse": decision.worse,
                "level": decision.level.replace(" ", "_"),
                "step": decision.step,
                "better_grade": decision.better_grade,
                "worse_grade": decision.worse_grade,
            }
        )
    ranking = [list(group) for group in tally.ranking]
    steps.append({"kind": "ranking", "ranking": ranking})
    winners = ranking[0] if quorum_reached and ranking else []
    outcome = "no_quorum" if not quorum_reached else ("decided" if len(winners) == 1 else "tie")
    steps.append({"kind": "outcome", "outcome": outcome, "winners": winners})
    return {
        "grades": list(spec.grades),
        "ranking": ranking,
        "outcome": outcome,
        "winners": winners,
        "steps": steps,
    }


def _approval(
    spec: PollSpec,
    ballots: Sequence[dict[str, Any]],
    quorum_step: dict[str, Any],
    quorum_reached: bool,
) -> dict[str, Any]:
    tally = approval_tally((ballot["approved"] for ballot in ballots), spec.option_ids)
    ranking = [list(group) for group in tally.ranking] if ballots else []
    winners = ranking[0] if quorum_reached and ballots else []
    if not quorum_reached:
        outcome = "no_quorum"
    elif not ballots:
        outcome = "no_ballots"
    else:
        outcome = "decided" if len(winners) == 1 else "tie"
    return {
        "approvals": dict(tally.approvals),
        "ranking": ranking,
        "outcome": outcome,
        "winners": winners,
        "steps": [
            quorum_step,
            {"kind": "approvals", "approvals": dict(tally.approvals), "ballots": tally.num_ballots},
            {"kind": "ranking", "ranking": ranking},
            {"kind": "outcome", "outcome": outcome, "winners": winners},
        ],
    }
