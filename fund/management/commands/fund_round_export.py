"""Export a funding round as a Pabulib .pb file."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fund.models import Round
from fund.services.rounds import round_export_pabulib


class Command(BaseCommand):
    help = (
        "Write a round's Pabulib file: after close, the published file with its anonymised votes; "
        "before, its projects only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("round", type=int, help="Round id")
        parser.add_argument("pb_file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        round = Round.objects.filter(pk=options["round"]).first()
        if round is None:
            raise CommandError(f"no round {options['round']}")
        text = round_export_pabulib(round=round)
        options["pb_file"].write_bytes(text.encode("utf-8"))
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {options['pb_file']} ({len(text)} characters).")
        )
