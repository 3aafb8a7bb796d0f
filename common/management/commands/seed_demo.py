"""Fill the platform with believable demo data: people, projects, campaigns, the fund."""

import random
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils.module_loading import import_string
from tqdm import tqdm

from members.models import User


class Command(BaseCommand):
    help = (
        "Seed demo data (idempotent: does nothing if demo data is already there, unless --force)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Seed even if demo data exists")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed")
        parser.add_argument("--people", type=int, default=60, help="How many people to create")

    def handle(self, *args: Any, **options: Any) -> None:
        if (
            User.objects.filter(email="treasurer@demo.biencommun.example").exists()
            and not options["force"]
        ):
            self.stdout.write("Demo data is already there.")
            return
        rng = random.Random(options["seed"])
        context: dict[str, Any] = {"rng": rng, "people": options["people"], "stdout": self.stdout}
        seeders = list(settings.DEMO_SEEDERS)
        with tqdm(
            total=len(seeders),
            desc="Seeding demo data",
            unit="step",
            disable=options["verbosity"] == 0,
        ) as bar:
            for path in seeders:
                bar.set_postfix_str(path.rsplit(".", 2)[0])
                import_string(path)(context=context)
                bar.update(1)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready. Log in as demo@demo.biencommun.example / demo-password-2026"
            )
        )
