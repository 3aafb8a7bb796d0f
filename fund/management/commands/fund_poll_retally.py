"""Re-run a poll's tally from its published ballot file and compare it with the published result."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from fund.enums import PollStatus
from fund.poll_tally import BallotFileError, ballot_file_parse, poll_tally, sha256_hex


class Command(BaseCommand):
    help = (
        "Recount a poll from its published ballot file (JSON lines) and check that the result is "
        "exactly the published one. Exit code 1 on any difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ballot_file", type=Path)
        parser.add_argument(
            "--poll", type=int, help="Compare with this poll's stored result (default: the file's)"
        )
        parser.add_argument(
            "--result",
            type=Path,
            help="Compare with a published result downloaded from the API instead of the database",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["ballot_file"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        raw = path.read_bytes()
        with tqdm(
            total=len(raw),
            unit="B",
            unit_scale=True,
            desc="Reading ballots",
            disable=options["verbosity"] == 0,
        ) as bar:
            try:
                spec, ballots = ballot_file_parse(
                    raw.decode("utf-8").splitlines(keepends=True),
                    progress=lambda line: bar.update(len(line.encode("utf-8"))),
                )
                result = poll_tally(spec, ballots)
            except (BallotFileError, UnicodeDecodeError) as error:
                raise CommandError(f"the ballot file is not valid: {error}") from None
        sha = sha256_hex(raw.decode("utf-8"))
        self.stdout.write(f"Poll {spec.poll}: {spec.title}")
        self.stdout.write(f"sha256 of the file: {sha}")
        self.stdout.write(
            f"{result['ballots']} ballots, electorate {result['electorate']}, "
            f"turnout {result['turnout']}, quorum {result['quorum']} "
            f"({'reached' if result['quorum_reached'] else 'not reached'})"
        )
        self.stdout.write(f"Outcome: {result['outcome']}; winners: {result['winners']}")

        expected, expected_sha = self._expected(options, spec.poll)
        if expected is None:
            self.stdout.write("No published result to compare with (use --poll or --result).")
            return
        problems = []
        if expected_sha and expected_sha != sha:
            problems.append("the file is not the published ballot file (its sha256 differs)")
        differing = sorted(
            k for k in set(expected) | set(result) if expected.get(k) != result.get(k)
        )
        if differing:
            problems.append("the result differs in: " + ", ".join(differing))
        if problems:
            raise CommandError("MISMATCH: " + "; ".join(problems), returncode=1)
        self.stdout.write(self.style.SUCCESS("MATCH: the tally reproduces the published result."))

    def _expected(self, options: dict[str, Any], file_poll: int) -> tuple[Any, str]:
        if options["result"] is not None:
            data = json.loads(options["result"].read_text(encoding="utf-8"))
            if isinstance(data, dict) and "result" in data:
                return data["result"], str(data.get("ballot_file_sha256", ""))
            return data, ""
        from fund.models import Poll

        poll_id = options["poll"] or file_poll
        poll = Poll.objects.filter(pk=poll_id).first()
        if poll is None:
            if options["poll"]:
                raise CommandError(f"no poll {poll_id} in this database")
            return None, ""
        if poll.status not in (PollStatus.CLOSED, PollStatus.PUBLISHED):
            raise CommandError(f"poll {poll_id} has not been counted yet")
        return poll.result, poll.ballot_file_sha256
