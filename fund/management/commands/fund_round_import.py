"""Import a funding round from a Pabulib .pb file (projects and anonymous votes)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fund.rules import PabulibError, read_pabulib
from fund.services.rounds import round_import_pabulib, round_open


class Command(BaseCommand):
    help = "Create a draft funding round from a Pabulib file, with its projects and votes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("pb_file", type=Path)
        parser.add_argument("--title", help="Title of the round (default: the file's description)")
        parser.add_argument("--currency", help="ISO currency (default: the file's, else EUR)")
        parser.add_argument(
            "--open",
            action="store_true",
            help="Open it at once: draws and publishes the tie-breaking order",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            election = read_pabulib(options["pb_file"])
        except (OSError, PabulibError) as error:
            raise CommandError(f"cannot read {options['pb_file']}: {error}") from None
        round = round_import_pabulib(
            election=election, title=options["title"], currency=options["currency"]
        )
        if options["open"]:
            round = round_open(round=round)
        self.stdout.write(
            self.style.SUCCESS(
                f"Round {round.pk} ({round.status}): {round.projects.count()} projects, "
                f"{len(election.votes)} votes, budget {election.budget} {round.currency}."
            )
        )
