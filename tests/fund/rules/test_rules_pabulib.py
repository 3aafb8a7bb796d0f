"""Pabulib files: reading the real elections, and writing then reading back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fund.rules.pabulib import (
    PabulibElection,
    PabulibError,
    PabulibProject,
    PabulibVote,
    dumps_pabulib,
    parse_pabulib,
    read_pabulib,
    write_pabulib,
)

DATA_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "pabulib"

SAMPLE = """META
key;value
description;A small round
budget;2500
vote_type;approval
rule;equalshares/add1
PROJECTS
project_id;cost;votes;name;category
1;600;3;"Trees; and benches";nature
2;800.0;2;"The ""big"" garden";nature,sport
4;1400;1;Library;culture
VOTES
voter_id;age;vote
v1;34;1,2,4
v2;51;1,2,1
v3;23;
"""


def test_reads_sections_quoting_costs_and_extra_columns():
    election = parse_pabulib(SAMPLE)
    assert election.meta["rule"] == "equalshares/add1"
    assert election.budget == 2500
    assert [p.project_id for p in election.projects] == ["1", "2", "4"]
    assert election.projects[0] == PabulibProject(
        "1", 600, "Trees; and benches", {"votes": "3", "category": "nature"}
    )
    assert election.projects[1].cost == 800
    assert election.projects[1].name == 'The "big" garden'
    assert election.votes[0] == PabulibVote("v1", ("1", "2", "4"), {"age": "34"})
    assert election.votes[1].approved == ("1", "2")  # a repeated approval counts once
    assert election.votes[2].approved == ()
    assert election.project_columns == ["project_id", "cost", "votes", "name", "category"]
    assert election.vote_columns == ["voter_id", "age", "vote"]


def test_round_trip_keeps_everything():
    election = parse_pabulib(SAMPLE)
    text = dumps_pabulib(election)
    assert parse_pabulib(text) == election
    buffer = io.StringIO()
    write_pabulib(election, buffer)
    assert buffer.getvalue() == text


@pytest.mark.parametrize(
    "text",
    [
        "META\nkey;value\nbudget;10\nPROJECTS\nproject_id;cost\n1;12.5\n",
        "META\nkey;value\nbudget;10\nPROJECTS\nproject_id;cost\n1;ten\n",
        "META\nkey;value\nvote_type;approval\n",
        "META\nkey;value\nbudget;10\nPROJECTS\nproject_id;cost\n1;5\nVOTES\nvoter_id;vote\nv;1,2\n",
        "META\nkey;value\nbudget;10\nPROJECTS\nproject_id;cost\n1;5\n1;6\n",
        "META\nkey;value\nbudget;10\nPROJECTS\nproject_id;name\n1;x\n",
    ],
)
def test_refuses_malformed_files(text):
    with pytest.raises(PabulibError):
        parse_pabulib(text)


def test_real_files_round_trip(tmp_path):
    lodz = read_pabulib(DATA_DIR / "Poland_Lodz_2022.pb")
    assert len(lodz.votes) == 90_494
    assert len(lodz.projects) == 160
    for name in ("Poland_Wieliczka_2023_Green_Budget.pb", "France_Toulouse_2024.pb"):
        election = read_pabulib(DATA_DIR / name)
        path = tmp_path / name
        write_pabulib(election, path)
        assert read_pabulib(path) == election
    assert lodz.project("L132").name.endswith("''od przedszkola do senora\"")


identifiers = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=6)
cells = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "Zs"], exclude_characters="\r\n"),
    max_size=12,
).map(str.strip)


@st.composite
def elections(draw: st.DrawFn) -> PabulibElection:
    ids = draw(st.lists(identifiers, min_size=1, max_size=6, unique=True))
    extra_keys = draw(st.lists(st.sampled_from(["category", "target", "votes"]), unique=True))
    projects = [
        PabulibProject(
            pid,
            draw(st.integers(0, 10**9)),
            draw(cells),
            {key: draw(cells) for key in extra_keys},
        )
        for pid in ids
    ]
    votes = [
        PabulibVote(
            f"v{k}",
            tuple(draw(st.lists(st.sampled_from(ids), unique=True))),
            {"age": draw(cells)},
        )
        for k in range(draw(st.integers(0, 5)))
    ]
    meta = {"budget": str(draw(st.integers(0, 10**9))), "description": draw(cells)}
    return PabulibElection(
        meta,
        projects,
        votes,
        ["project_id", "cost", "name", *extra_keys],
        ["voter_id", "vote", "age"],
    )


@settings(max_examples=150, deadline=None)
@given(elections())
def test_write_then_read_is_the_identity(election):
    assert parse_pabulib(dumps_pabulib(election)) == election
