"""Recompute every account's balance from its postings and report any drift."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from ledger.models import Account
from ledger.services import ledger_balances_verify


class Command(BaseCommand):
    help = "Check every cached balance against its postings (the nightly verification, now)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(
            total=Account.objects.count(),
            desc="Verifying balances",
            unit="account",
            disable=options["no_progress"] or options["verbosity"] == 0,
            file=sys.stderr,
            mininterval=0.5,
        ) as bar:
            check = ledger_balances_verify(progress=bar.update)
        if check.is_clean:
            self.stdout.write(
                self.style.SUCCESS(f"{check.accounts_checked} accounts checked: no drift.")
            )
            return
        for drift in check.drift:
            self.stderr.write(
                f"- account {drift['account_id']}: cached {drift['cached']}, "
                f"recomputed {drift['recomputed']} (difference {drift['difference']})"
            )
        raise CommandError(
            f"{len(check.drift)} of {check.accounts_checked} accounts drifted from their postings"
        )
