"""The books: accounts, journal entries and their postings, and sealed blocks.

Entries and postings are append-only; a correction is a reversal entry. PostgreSQL enforces the
rules itself (see the migration `0002_database_rules`); the posting service checks the same rules
in Python, which is what protects SQLite.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from common.fsm import choices_check

from .enums import DEBIT_NORMAL, AccountPurpose, AccountType, EntryKind, OwnerType, Side


class ImmutableRowError(Exception):
    """Raised when code tries to change or delete a row of the books."""


class Account(models.Model):
    code = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    purpose = models.CharField(max_length=32, choices=AccountPurpose.choices)
    owner_type = models.CharField(max_length=10, choices=OwnerType.choices)
    owner_id = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    # Cached balance in the account's normal direction, kept in the posting transaction.
    balance = models.BigIntegerField(default=0)
    allow_negative = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            choices_check("type", AccountType, "ledger_account_type_valid"),
            choices_check("owner_type", OwnerType, "ledger_account_owner_type_valid"),
            choices_check("purpose", AccountPurpose, "ledger_account_purpose_valid"),
            models.CheckConstraint(
                condition=models.Q(allow_negative=True) | models.Q(balance__gte=0),
                name="ledger_account_no_overdraft",
            ),
            # One account per owner, purpose and currency; the platform's accounts have no owner id.
            models.UniqueConstraint(
                fields=["purpose", "owner_type", "owner_id", "currency"],
                condition=models.Q(owner_id__isnull=False),
                name="ledger_account_one_per_owner_purpose_currency",
            ),
            models.UniqueConstraint(
                fields=["purpose", "owner_type", "currency"],
                condition=models.Q(owner_id__isnull=True),
                name="ledger_account_one_per_ownerless_purpose_currency",
            ),
        ]
        indexes = [models.Index(fields=["owner_type", "owner_id"])]

    def __str__(self) -> str:
        return f"{self.code} ({self.currency})"

    @property
    def is_debit_normal(self) -> bool:
        return self.type in DEBIT_NORMAL


class JournalEntry(models.Model):
    kind = models.CharField(max_length=32, choices=EntryKind.choices)
    memo = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    # What the entry is about, for the public view and the lead's API (a payment, a pledge…).
    reference_type = models.CharField(max_length=40, blank=True)
    reference_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name_plural = "journal entries"
        constraints = [
            choices_check("kind", EntryKind, "ledger_entry_kind_valid"),
            models.CheckConstraint(
                condition=~models.Q(idempotency_key=""), name="ledger_entry_key_not_empty"
            ),
        ]
        indexes = [models.Index(fields=["reference_type", "reference_id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableRowError("Journal entries are append-only; post a reversal instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRowError("Journal entries are append-only; post a reversal instead.")


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    side = models.CharField(max_length=6, choices=Side.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="ledger_posting_amount_positive"
            ),
            choices_check("side", Side, "ledger_posting_side_valid"),
        ]
        indexes = [models.Index(fields=["account", "entry"])]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.currency} {self.account_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ImmutableRowError("Postings are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableRowError("Postings are append-only.")

    @property
    def signed_amount(self) -> int:
        """The amount's effect on the account's normal balance."""
        debit = self.side == Side.DEBIT
        return self.amount if debit == (self.account.type in DEBIT_NORMAL) else -self.amount


class Block(models.Model):
    """A sealed batch of entries: a Merkle root over their hashes, chained to the previous block."""

    height = models.PositiveIntegerField(unique=True)
    merkle_root = models.CharField(max_length=64)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    entry_count = models.PositiveIntegerField()
    sealed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"block {self.height}"


class SealedEntry(models.Model):
    """Which block sealed an entry, and at which leaf. Entries themselves are never updated."""

    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, primary_key=True, related_name="seal"
    )
    block = models.ForeignKey(Block, on_delete=models.PROTECT, related_name="seals")
    position = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["block", "position"], name="ledger_seal_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} in block {self.block_id} at {self.position}"


class BalanceCheck(models.Model):
    """One run of the verification job: balances recomputed from postings."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    accounts_checked = models.PositiveIntegerField(default=0)
    drift = models.JSONField(default=list)
    is_clean = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"balance check {self.started_at:%Y-%m-%d %H:%M} ({'clean' if self.is_clean else 'drift'})"
