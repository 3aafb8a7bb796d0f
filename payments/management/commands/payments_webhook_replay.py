"""Process a stored provider event again: `manage.py payments_webhook_replay evt_…`."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from payments.exceptions import WebhookPayloadError
from payments.services import webhook_event_replay


class Command(BaseCommand):
    help = "Replay a stored webhook event (processing is idempotent: the books move at most once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_ids", nargs="+", help="Provider event ids (evt_…)")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = False
        for event_id in options["event_ids"]:
            try:
                outcome = webhook_event_replay(provider_event_id=event_id)
            except WebhookPayloadError as error:
                raise CommandError(error.message) from error
            failed = failed or outcome.startswith("failed")
            self.stdout.write(f"{event_id}: {outcome}")
        if failed:
            raise CommandError("Some events failed; see their last_error.")
