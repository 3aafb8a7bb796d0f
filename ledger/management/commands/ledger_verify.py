"""Verify an exported ledger: the same code as `python -m ledger.verify`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledger.verify import SHOWN_ERRORS, Unreadable, verify_file


class Command(BaseCommand):
    help = "Verify an exported ledger (JSON lines) offline: hashes, roots, the chain, balances."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the export (.jsonl, .jsonl.gz, or - for stdin)")
        parser.add_argument("--expect-head", metavar="HASH", default=None)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = verify_file(
                options["file"],
                progress=not options["no_progress"] and options["verbosity"] > 0,
                expect_head=options["expect_head"],
            )
        except Unreadable as exc:
            raise CommandError(f"cannot verify {options['file']}: {exc}", returncode=2) from exc
        for problem in report.errors[:SHOWN_ERRORS]:
            self.stderr.write(f"- {problem}")
        if len(report.errors) > SHOWN_ERRORS:
            self.stderr.write(f"- … and {len(report.errors) - SHOWN_ERRORS} more")
        self.stdout.write(report.summary())
        if not report.is_valid:
            raise CommandError("the ledger export does not verify", returncode=1)
