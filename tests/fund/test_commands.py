"""The commands anyone runs to check a result: re-tally a poll, re-allocate a round, import and
export a round. The checks run as subprocesses, as a member of the public would run them."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from fund.enums import PollMethod, RoundStatus
from fund.models import Round
from fund.rules import parse_pabulib, read_pabulib
from tests.fixtures import require_service

from .factories import decided_poll, funded_round, member
from .test_polls import MJ_GRADES, MJ_OPTIONS, _mj_ballots
from .test_rounds import BALLOTS, PROJECTS, WIELICZKA

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, database=True):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "TQDM_DISABLE": "1"}
    if database:
        db = connection.settings_dict
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}{':' + db['PASSWORD'] if db['PASSWORD'] else ''}"
            f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    return subprocess.run(
        [sys.executable, "manage.py", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _call(*args):
    """Run a command in this process: (exit code, output, error message)."""
    out = StringIO()
    try:
        call_command(*map(str, args), stdout=out, verbosity=0)
    except CommandError as error:
        return error.returncode, out.getvalue(), str(error)
    return 0, out.getvalue(), ""


def _require_postgres():
    require_service(
        "PostgreSQL",
        connection.vendor == "postgresql",
        "the command reads the test database from another process: set DATABASE_URL",
    )


def _download(tmp_path, url, name):
    response = APIClient().get(url)
    assert response.status_code == 200
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def _mj_poll():
    voters = [member() for _ in range(5)]
    return decided_poll(
        _mj_ballots(voters, MJ_GRADES), method=PollMethod.MAJORITY_JUDGMENT, options=MJ_OPTIONS
    )


@pytest.mark.django_db(transaction=True)
def test_retally_reproduces_the_published_result_from_the_database(tmp_path):
    _require_postgres()
    poll = _mj_poll()
    ballots = _download(tmp_path, f"/api/v1/fund/polls/{poll.pk}/ballot-file", "ballots.jsonl")

    done = _manage("fund_poll_retally", ballots, "--poll", poll.pk)

    assert done.returncode == 0, done.stderr
    assert "MATCH: the tally reproduces the published result." in done.stdout
    assert "Outcome: tie; winners: ['1', '4']" in done.stdout


@pytest.mark.django_db
def test_retally_from_the_downloaded_files_alone(tmp_path):
    poll = _mj_poll()
    ballots = _download(tmp_path, f"/api/v1/fund/polls/{poll.pk}/ballot-file", "ballots.jsonl")
    results = _download(tmp_path, f"/api/v1/fund/polls/{poll.pk}/results", "results.json")

    done = _manage("fund_poll_retally", ballots, "--result", results, database=False)
    assert done.returncode == 0, done.stderr
    assert "MATCH" in done.stdout

    # One grade changed in one ballot: the count no longer matches, and the hash neither.
    lines = ballots.read_text().splitlines()
    ballot = json.loads(lines[1])
    ballot["grades"][0] = 5 - ballot["grades"][0]
    lines[1] = json.dumps(ballot, separators=(",", ":"))
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("\n".join(lines) + "\n")
    code, _out, message = _call("fund_poll_retally", tampered, "--result", results)
    assert code == 1
    assert "MISMATCH" in message
    assert "sha256 differs" in message
    assert "the result differs in: outcome, ranking, steps, winners" in message  # tie broken


@pytest.mark.django_db
def test_retally_refuses_a_malformed_file(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"format": "something else"}\n')
    code, _out, message = _call("fund_poll_retally", path)
    assert code == 1
    assert "not valid" in message


def _hand_checked_round():
    voters = [member() for _ in range(5)]
    return funded_round(list(zip(voters, BALLOTS, strict=True)), projects=PROJECTS, budget=10_000)


@pytest.mark.django_db(transaction=True)
def test_allocate_reproduces_the_published_round_from_the_database(tmp_path):
    _require_postgres()
    round = _hand_checked_round()
    pb = _download(tmp_path, f"/api/v1/fund/rounds/{round.pk}/pabulib", "round.pb")

    done = _manage("fund_round_allocate", pb)

    assert done.returncode == 0, done.stderr
    assert "Selected (1): 2; total cost 30 of 100 EUR" in done.stdout
    assert "Endowment per voter: 26 (from 20, 8 runs)" in done.stdout
    assert "MATCH: the allocation reproduces the published result." in done.stdout


@pytest.mark.django_db
def test_allocate_from_downloaded_files_and_detect_tampering(tmp_path):
    round = _hand_checked_round()
    pb = _download(tmp_path, f"/api/v1/fund/rounds/{round.pk}/pabulib", "round.pb")
    results = _download(tmp_path, f"/api/v1/fund/rounds/{round.pk}/results", "results.json")
    code, out, message = _call("fund_round_allocate", pb, "--result", results)
    assert code == 0, message
    assert "MATCH" in out

    # One more approval for project 1 (voter 5 approves it too): project 1 becomes affordable.
    text = pb.read_text()
    election = parse_pabulib(text)
    lonely = next(v.voter_id for v in election.votes if v.approved == ("2",))
    tampered = tmp_path / "tampered.pb"
    tampered.write_text(text.replace(f"\n{lonely};2\n", f'\n{lonely};"1,2"\n'))
    code, _out, message = _call("fund_round_allocate", tampered, "--result", results)
    assert code == 1
    assert "MISMATCH" in message


@pytest.mark.django_db
def test_allocate_reproduces_the_official_wieliczka_outcome():
    code, out, message = _call("fund_round_allocate", WIELICZKA)
    assert code == 0, message
    assert "Selected (30)" in out
    assert "total cost 995079 of 1000000 PLN" in out
    assert "MATCH" in out


@pytest.mark.django_db
def test_import_then_export_a_round(tmp_path):
    source = tmp_path / "small.pb"
    election = read_pabulib(WIELICZKA)
    election.votes = election.votes[:50]
    from fund.rules import write_pabulib

    write_pabulib(election, source)
    out = StringIO()
    call_command("fund_round_import", source, "--open", stdout=out)
    round = Round.objects.get()
    assert f"Round {round.pk} (open): 64 projects, 50 votes" in out.getvalue()
    assert round.status == RoundStatus.OPEN
    assert round.tie_seed != ""

    target = tmp_path / "export.pb"
    call_command("fund_round_export", round.pk, target, stdout=StringIO())
    exported = read_pabulib(target)
    assert [(p.project_id, p.cost) for p in exported.projects] == [
        (p.project_id, p.cost) for p in election.projects
    ]
    assert exported.votes == []  # secret until the count
    assert exported.meta["budget"] == "1000000"
    assert exported.meta["currency"] == "PLN"
    assert exported.meta["tie_breaking_seed"] == round.tie_seed
