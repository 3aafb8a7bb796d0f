"""Compare the books with the payment provider: `manage.py payments_reconcile [--days N | --all]`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from payments.services import payments_reconcile


class Command(BaseCommand):
    help = "Reconcile payments, refunds, transfers and the cash at the provider with the ledger."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="How many days back")
        parser.add_argument("--all", action="store_true", help="Everything, not only recent days")

    def handle(self, *args: Any, **options: Any) -> None:
        bars: dict[str, Any] = {}

        def progress(stage: str, advance: int, total: int | None) -> None:
            if total is not None:
                if stage in bars:
                    bars[stage].close()
                bars[stage] = tqdm(
                    total=total,
                    desc=f"Reconciling {stage}",
                    unit=stage if stage != "cash" else "check",
                    disable=options["verbosity"] == 0,
                )
            if advance:
                bars[stage].update(advance)

        try:
            report = payments_reconcile(
                days=options["days"], everything=options["all"], progress=progress
            )
        finally:
            for bar in bars.values():
                bar.close()
        if report.error:
            raise CommandError(f"Reconciliation #{report.pk} failed: {report.error}")
        self.stdout.write(
            f"Reconciliation #{report.pk}: {report.payments_checked} payments, "
            f"{report.refunds_checked} refunds, {report.transfers_checked} transfers checked; "
            f"ledger cash {report.ledger_cash}, provider {report.provider_cash}."
        )
        if report.is_clean:
            self.stdout.write(self.style.SUCCESS("No differences."))
            return
        for difference in report.differences:
            self.stdout.write(self.style.WARNING(f"  {difference}"))
        raise CommandError(f"{len(report.differences)} difference(s) found.")
