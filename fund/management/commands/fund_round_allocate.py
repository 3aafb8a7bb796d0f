"""Re-run a funding round's allocation from its Pabulib file and compare it with the result."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from fund.enums import RoundStatus
from fund.poll_tally import sha256_hex
from fund.round_allocation import (
    META_ROUND,
    AllocationError,
    allocate,
    compare_results,
    options_from_meta,
    selected_column,
)
from fund.rules import Add1Step, PabulibError, parse_pabulib


class Command(BaseCommand):
    help = (
        "Allocate a round from its .pb file with the Method of Equal Shares + Add1 (exact), and "
        "check it against the published result and the file's `selected` column. "
        "Exit code 1 on any difference."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pb_file", type=Path)
        parser.add_argument(
            "--round",
            type=int,
            help="Compare with this round's stored result (default: the file's)",
        )
        parser.add_argument(
            "--result", type=Path, help="Compare with a result downloaded from the API instead"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["pb_file"]
        try:
            text = path.read_bytes().decode("utf-8-sig")
            election = parse_pabulib(text)
            allocation_options = options_from_meta(election.meta)
        except (OSError, UnicodeDecodeError, PabulibError, AllocationError) as error:
            raise CommandError(f"cannot read {path}: {error}") from None
        currency = election.meta.get("currency", "")
        budget = election.budget
        with tqdm(
            total=budget,
            unit=f" {currency}".rstrip() or " units",
            desc="MES + Add1",
            disable=options["verbosity"] == 0,
        ) as bar:

            def progress(step: Add1Step) -> None:
                if step.within_budget:
                    bar.update(step.total_cost - bar.n)
                bar.set_postfix(runs=step.run, endowment=str(step.endowment), refresh=False)

            try:
                result = allocate(election, allocation_options, progress=progress)
            except (AllocationError, ValueError) as error:
                raise CommandError(f"cannot allocate: {error}") from None

        self.stdout.write(f"Rule: {result['rule']}; {result['num_voters']} voters")
        self.stdout.write(
            f"Selected ({len(result['selected'])}): {', '.join(result['selected'])}; "
            f"total cost {result['total_cost']} of {result['budget']} {currency}"
        )
        self.stdout.write(
            f"Endowment per voter: {result['endowment']} "
            f"(from {result['initial_endowment']}, {result['add1_runs']} runs)"
        )
        self.stdout.write(f"Greedy: {', '.join(result['greedy']['selected'])}")
        self.stdout.write(f"Sequential Phragmén: {', '.join(result['phragmen']['selected'])}")

        problems = []
        official = selected_column(election)
        if official and official != sorted(result["selected"]):
            problems.append("the outcome differs from the file's `selected` column")
        expected, expected_sha = self._expected(options, election.meta.get(META_ROUND, ""))
        if expected_sha and expected_sha != sha256_hex(text):
            problems.append("the file is not the round's published file (its sha256 differs)")
        if expected is not None:
            differing = compare_results(expected, result)
            if differing:
                problems.append("the result differs in: " + ", ".join(differing))
        elif not official:
            self.stdout.write("No published result to compare with (use --round or --result).")
            return
        if problems:
            raise CommandError("MISMATCH: " + "; ".join(problems), returncode=1)
        self.stdout.write(
            self.style.SUCCESS("MATCH: the allocation reproduces the published result.")
        )

    def _expected(self, options: dict[str, Any], file_round: str) -> tuple[Any, str]:
        if options["result"] is not None:
            data = json.loads(options["result"].read_text(encoding="utf-8"))
            if isinstance(data, dict) and "result" in data:
                return data["result"], str(data.get("pabulib_sha256", ""))
            return data, ""
        round_id = options["round"] or (int(file_round) if file_round.isdigit() else None)
        if round_id is None:
            return None, ""
        from fund.models import Round

        round = Round.objects.filter(pk=round_id).first()
        if round is None:
            if options["round"]:
                raise CommandError(f"no round {round_id} in this database")
            return None, ""
        if round.status not in (RoundStatus.CLOSED, RoundStatus.PUBLISHED):
            raise CommandError(f"round {round_id} has not been allocated yet")
        return round.result, round.pb_sha256
