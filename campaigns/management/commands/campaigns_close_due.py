"""Close every live campaign past its deadline (what the beat task does every minute)."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from campaigns.enums import CampaignStatus
from campaigns.models import Campaign
from campaigns.services import campaign_close, campaigns_launch_due


class Command(BaseCommand):
    help = "Launch campaigns whose start has come and close those past their deadline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            help="Act as if it were this moment (ISO 8601), e.g. to catch up after an outage",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options.get("now"):
            parsed = parse_datetime(options["now"])
            if parsed is None:
                raise CommandError("--now must be an ISO 8601 date and time")
            now = parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, dt.UTC)
        launched = campaigns_launch_due(now=now)
        due = list(
            Campaign.objects.filter(status=CampaignStatus.LIVE, deadline__lte=now)
            .order_by("deadline")
            .values_list("id", flat=True)
        )
        outcomes: dict[str, int] = {}
        bar = tqdm(
            due,
            desc="Closing campaigns",
            unit="campaign",
            file=getattr(self.stderr, "_out", None),  # the command's stderr, unwrapped
            disable=options["verbosity"] == 0,
        )
        for pk in bar:
            campaign = campaign_close(campaign=Campaign.objects.get(pk=pk), now=now)
            outcomes[campaign.status] = outcomes.get(campaign.status, 0) + 1
        summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(launched)} campaign(s) launched, {len(due)} campaign(s) closed"
                + (f" ({summary})" if summary else "")
            )
        )
