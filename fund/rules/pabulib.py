"""Reading and writing Pabulib ``.pb`` files, the import and export format of a funding round.

A file has three sections, each a ``;``-separated table with CSV quoting: ``META`` (``key;value``),
``PROJECTS`` (``project_id;cost;...``) and ``VOTES`` (``voter_id;vote;...``). Columns this module
does not interpret are kept as strings, so a file written back carries everything it was read with.
Costs and the budget are integer currency units: ``"1000.0"`` reads as 1000, a fractional
amount is refused rather than rounded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TextIO

SECTIONS = ("meta", "projects", "votes")


class PabulibError(ValueError):
    """The file is not a well-formed Pabulib file."""


@dataclass(frozen=True, slots=True)
class PabulibProject:
    project_id: str
    cost: int
    name: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PabulibVote:
    voter_id: str
    approved: tuple[str, ...]
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class PabulibElection:
    meta: dict[str, str]
    projects: list[PabulibProject]
    votes: list[PabulibVote]
    # Column order of the PROJECTS and VOTES sections, kept for writing back.
    project_columns: list[str] = field(default_factory=list)
    vote_columns: list[str] = field(default_factory=list)

    @property
    def budget(self) -> int:
        return parse_amount(self.meta["budget"], "budget")

    @property
    def num_voters(self) -> int:
        return len(self.votes)

    def project(self, project_id: str) -> PabulibProject:
        for project in self.projects:
            if project.project_id == project_id:
                return project
        raise KeyError(project_id)

    def selected_ids(self) -> list[str]:
        """Projects whose ``selected`` column is 1 (the official outcome, when the file has it)."""
        return [p.project_id for p in self.projects if p.extra.get("selected", "").strip() == "1"]


def parse_amount(text: str, what: str) -> int:
    """An integer amount written as ``1000``, ``1000.0`` or ``1000,00``."""
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise PabulibError(f"{what}: {text!r} is not a number") from None
    if value != value.to_integral_value():
        raise PabulibError(f"{what}: {text!r} is not a whole number of currency units")
    return int(value)


def _approved(text: str) -> tuple[str, ...]:
    # Order kept (it matters for ordinal votes), repeats dropped.
    return tuple(dict.fromkeys(pid.strip() for pid in text.split(",") if pid.strip()))


def read_pabulib(source: str | Path | TextIO) -> PabulibElection:
    """Read a ``.pb`` file from a path or an open text stream, row by row."""
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as stream:
            return _read_rows(csv.reader(stream, delimiter=";"))
    return _read_rows(csv.reader(source, delimiter=";"))


def parse_pabulib(text: str) -> PabulibElection:
    """Read a ``.pb`` file held in a string."""
    return read_pabulib(io.StringIO(text, newline=""))


def _read_rows(rows: Iterator[list[str]]) -> PabulibElection:
    meta: dict[str, str] = {}
    projects: list[PabulibProject] = []
    votes: list[PabulibVote] = []
    project_columns: list[str] = []
    vote_columns: list[str] = []
    section = ""
    header: list[str] = []
    for row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) == 1 and row[0].strip().lower() in SECTIONS:
            section = row[0].strip().lower()
            try:
                header = [column.strip() for column in next(rows)]
            except StopIteration:
                raise PabulibError(f"section {section.upper()} has no header") from None
            if section == "projects":
                project_columns = header
                _require(header, ("project_id", "cost"), section)
            elif section == "votes":
                vote_columns = header
                _require(header, ("voter_id", "vote"), section)
            continue
        cells = [cell.strip() for cell in row]
        if section == "meta":
            if len(cells) < 2:
                raise PabulibError(f"META row without a value: {row!r}")
            meta[cells[0]] = ";".join(cells[1:]) if len(cells) > 2 else cells[1]
        elif section == "projects":
            values = _row_dict(header, cells)
            pid = values.pop("project_id")
            cost = parse_amount(values.pop("cost"), f"cost of project {pid!r}")
            name = values.pop("name", "")
            projects.append(PabulibProject(pid, cost, name, values))
        elif section == "votes":
            values = _row_dict(header, cells)
            votes.append(PabulibVote(values.pop("voter_id"), _approved(values.pop("vote")), values))
        else:
            raise PabulibError("data before the first section title")
    if "budget" not in meta:
        raise PabulibError("META has no budget")
    known = {p.project_id for p in projects}
    if len(known) != len(projects):
        raise PabulibError("duplicate project_id in PROJECTS")
    for vote in votes:
        for pid in vote.approved:
            if pid not in known:
                raise PabulibError(f"voter {vote.voter_id!r} approves unknown project {pid!r}")
    return PabulibElection(meta, projects, votes, project_columns, vote_columns)


def _require(header: list[str], columns: Iterable[str], section: str) -> None:
    for column in columns:
        if column not in header:
            raise PabulibError(f"section {section.upper()} has no {column!r} column")


def _row_dict(header: list[str], cells: list[str]) -> dict[str, str]:
    if len(cells) > len(header):
        raise PabulibError(f"row has more cells than the header: {cells!r}")
    # A short row reads its missing trailing cells as empty, so writing it back is stable.
    return dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))


def write_pabulib(election: PabulibElection, target: str | Path | TextIO) -> None:
    """Write a ``.pb`` file; :func:`read_pabulib` gives back an equal election."""
    if isinstance(target, str | Path):
        with open(target, "w", encoding="utf-8", newline="") as stream:
            _write(election, stream)
    else:
        _write(election, target)


def dumps_pabulib(election: PabulibElection) -> str:
    buffer = io.StringIO(newline="")
    _write(election, buffer)
    return buffer.getvalue()


def _write(election: PabulibElection, stream: TextIO) -> None:
    writer = csv.writer(stream, delimiter=";", lineterminator="\n")
    writer.writerow(["META"])
    writer.writerow(["key", "value"])
    for key, value in election.meta.items():
        writer.writerow([key, value])

    project_columns = election.project_columns or _columns(
        ["project_id", "cost", "name"], (p.extra for p in election.projects)
    )
    writer.writerow(["PROJECTS"])
    writer.writerow(project_columns)
    for project in election.projects:
        values = {"project_id": project.project_id, "cost": str(project.cost)}
        values["name"] = project.name
        values.update(project.extra)
        writer.writerow([values.get(column, "") for column in project_columns])

    vote_columns = election.vote_columns or _columns(
        ["voter_id", "vote"], (v.extra for v in election.votes)
    )
    writer.writerow(["VOTES"])
    writer.writerow(vote_columns)
    for vote in election.votes:
        values = {"voter_id": vote.voter_id, "vote": ",".join(vote.approved)}
        values.update(vote.extra)
        writer.writerow([values.get(column, "") for column in vote_columns])


def _columns(first: list[str], extras: Iterable[dict[str, str]]) -> list[str]:
    columns = dict.fromkeys(first)
    for extra in extras:
        columns.update(dict.fromkeys(extra))
    return list(columns)
