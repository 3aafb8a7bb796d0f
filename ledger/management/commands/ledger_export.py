"""Export the whole ledger to a file: JSON lines (verifiable offline) or CSV."""

import gzip
import sys
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from common.db import replica_alias
from ledger.exports import csv_lines, export_line_count, jsonl_lines


class Command(BaseCommand):
    help = "Export the ledger (JSON lines by default, or CSV) to FILE; `-` writes to stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="where to write (.gz to compress, - for stdout)")
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        using = replica_alias()
        path: str = options["file"]
        jsonl = options["format"] == "jsonl"
        total = export_line_count(using=using) if jsonl else None
        show = not options["no_progress"] and options["verbosity"] > 0
        lines = jsonl_lines(using=using) if jsonl else csv_lines(using=using)
        if path == "-":
            stream: IO[str] = sys.stdout
        elif path.endswith(".gz"):
            stream = gzip.open(path, "wt", encoding="utf-8", newline="")  # noqa: SIM115
        else:
            stream = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed below)
        written = 0
        try:
            with tqdm(
                total=total,
                desc="Exporting the ledger",
                unit="line" if jsonl else "chunk",
                disable=not show,
                file=sys.stderr,
                mininterval=0.5,
            ) as bar:
                for line in lines:
                    stream.write(line)
                    written += 1
                    bar.update(1)
        finally:
            if stream is not sys.stdout:
                stream.close()
        if path != "-":
            self.stderr.write(f"Wrote {path}.")
            if jsonl:
                self.stderr.write(f"Verify it offline: python -m ledger.verify {path}")
