"""Exports of the whole ledger: JSON lines (verifiable offline) and CSV (for accountants).

Both read one consistent snapshot: on PostgreSQL a REPEATABLE READ, READ ONLY transaction, so
balances, entries, postings and blocks all describe the same moment even while money moves.
They read from the replica when there is one. The format is described in docs/ledger.md.
"""

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.db import connections, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from common.db import replica_alias

from .hashing import timestamp
from .models import Account, Block, JournalEntry, Posting, SealedEntry
from .selectors import account_owner_labels, ledger_counts

FORMAT = "bien-commun-ledger"
VERSION = 1
CHUNK = 2_000

CSV_COLUMNS = [
    "entry_id",
    "date",
    "kind",
    "memo",
    "account",
    "owner",
    "side",
    "amount_minor_units",
    "currency",
    "entry_hash",
]


@contextmanager
def export_snapshot(using: str) -> Iterator[None]:
    """One consistent view of the books for the whole export."""
    connection = connections[using]
    if connection.in_atomic_block:
        # Already inside a transaction (a caller's, or a test's): its snapshot is the one.
        yield
        return
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def _postings_by_entry(
    postings: Iterator[tuple[int, str, str, int, str]],
) -> Iterator[tuple[int, list[list[Any]]]]:
    """Group a stream of postings ordered by entry id."""
    current: int | None = None
    group: list[list[Any]] = []
    for entry_id, code, side, amount, currency in postings:
        if entry_id != current:
            if current is not None:
                yield current, group
            current, group = entry_id, []
        group.append([code, side, int(amount), currency])
    if current is not None:
        yield current, group


def jsonl_records(*, using: str | None = None) -> Iterator[dict[str, Any]]:
    """Every record of the export, in order: header, accounts, entries, blocks."""
    using = using or replica_alias()
    with export_snapshot(using):
        counts = ledger_counts(using=using)
        yield {
            "record": "header",
            "format": FORMAT,
            "version": VERSION,
            "exported_at": timestamp(timezone.now()),
            "counts": counts,
        }
        accounts = list(Account.objects.using(using).order_by("code"))
        labels = account_owner_labels(accounts=accounts)
        for account in accounts:
            yield {
                "record": "account",
                "code": account.code,
                "name": account.name,
                "type": account.type,
                "purpose": account.purpose,
                "owner_type": account.owner_type,
                "owner": labels[account.pk],
                "currency": account.currency,
                "allow_negative": account.allow_negative,
                "balance": account.balance,
            }
        postings = (
            Posting.objects.using(using)
            .order_by("entry_id", "id")
            .values_list("entry_id", "account__code", "side", "amount", "currency")
            .iterator(chunk_size=CHUNK)
        )
        grouped = _postings_by_entry(postings)
        entries = (
            JournalEntry.objects.using(using)
            .order_by("id")
            .values_list(
                "id",
                "kind",
                "memo",
                "idempotency_key",
                "created_at",
                "reverses_id",
                "reverses__hash",
                "hash",
                "reference_type",
                "reference_id",
            )
            .iterator(chunk_size=CHUNK)
        )
        pending = next(grouped, None)
        for (
            entry_id,
            kind,
            memo,
            key,
            created_at,
            reverses_id,
            reverses_hash,
            digest,
            reference_type,
            reference_id,
        ) in entries:
            lines: list[list[Any]] = []
            while pending is not None and pending[0] < entry_id:
                pending = next(grouped, None)  # postings of no entry cannot exist; skip safely
            if pending is not None and pending[0] == entry_id:
                lines = pending[1]
                pending = next(grouped, None)
            yield {
                "record": "entry",
                "id": entry_id,
                "kind": kind,
                "memo": memo,
                "idempotency_key": key,
                "created_at": timestamp(created_at),
                "reverses": reverses_hash,
                "reverses_id": reverses_id,
                "reference": {"type": reference_type, "id": reference_id}
                if reference_type
                else None,
                "hash": digest,
                "postings": lines,
            }
        seals = (
            SealedEntry.objects.using(using)
            .order_by("block__height", "position")
            .values_list("block__height", "entry_id")
            .iterator(chunk_size=CHUNK * 5)
        )
        seal = next(seals, None)
        for block in Block.objects.using(using).order_by("height").iterator(chunk_size=CHUNK):
            ids: list[int] = []
            while seal is not None and seal[0] == block.height:
                ids.append(seal[1])
                seal = next(seals, None)
            yield {
                "record": "block",
                "height": block.height,
                "merkle_root": block.merkle_root,
                "previous_hash": block.previous_hash,
                "hash": block.hash,
                "entry_count": block.entry_count,
                "sealed_at": timestamp(block.sealed_at),
                "entries": ids,
            }


def jsonl_lines(*, using: str | None = None) -> Iterator[str]:
    for record in jsonl_records(using=using):
        yield _line(record)


def chunked(lines: Iterator[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Lines gathered into chunks of about `size` bytes, for a streaming response."""
    parts: list[str] = []
    length = 0
    for line in lines:
        parts.append(line)
        length += len(line)
        if length >= size:
            yield "".join(parts).encode()
            parts, length = [], 0
    if parts:
        yield "".join(parts).encode()


def export_line_count(*, using: str | None = None) -> int:
    counts = ledger_counts(using=using)
    return 1 + counts["accounts"] + counts["entries"] + counts["blocks"]


# CSV: one row per posting, for spreadsheets and accounting software.

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula (labels and memos come from people)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_entries(
    *,
    using: str | None = None,
    account: str = "",
    kind: str = "",
    date_from: datetime | None = None,
    date_before: datetime | None = None,
) -> QuerySet[JournalEntry]:
    """The entries a CSV export covers: all of them, or those the filters keep."""
    using = using or replica_alias()
    entries = JournalEntry.objects.using(using).all()
    if account:
        entries = entries.filter(
            Exists(Posting.objects.using(using).filter(entry=OuterRef("pk"), account__code=account))
        )
    if kind:
        entries = entries.filter(kind=kind)
    if date_from is not None:
        entries = entries.filter(created_at__gte=date_from)
    if date_before is not None:
        entries = entries.filter(created_at__lt=date_before)
    return entries


def csv_lines(
    *, entries: QuerySet[JournalEntry] | None = None, using: str | None = None
) -> Iterator[str]:
    """The CSV export, header first, one row per posting, oldest entry first."""
    using = using or replica_alias()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    with export_snapshot(using):
        writer.writerow(CSV_COLUMNS)
        yield flush()
        accounts = list(Account.objects.using(using).only("id", "code", "owner_type", "owner_id"))
        labels = account_owner_labels(accounts=accounts)
        postings = Posting.objects.using(using).order_by("entry_id", "id")
        if entries is not None:
            postings = postings.filter(entry__in=entries.using(using).values("pk"))
        rows = postings.values_list(
            "entry_id",
            F("entry__created_at"),
            F("entry__kind"),
            F("entry__memo"),
            "account__code",
            "account_id",
            "side",
            "amount",
            "currency",
            F("entry__hash"),
        ).iterator(chunk_size=CHUNK)
        for count, (
            entry_id,
            created_at,
            kind,
            memo,
            code,
            account_id,
            side,
            amount,
            currency,
            digest,
        ) in enumerate(rows, start=1):
            writer.writerow(
                [
                    entry_id,
                    created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    kind,
                    _cell(memo),
                    code,
                    _cell(labels.get(account_id, "")),
                    side,
                    int(amount),
                    currency,
                    digest,
                ]
            )
            if count % 500 == 0:
                yield flush()
        yield flush()
