"""Reads of the books."""

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from common.db import replica_alias

from .enums import DEBIT_NORMAL, OwnerType
from .exceptions import EntryNotSealedError
from .hashing import leaf_hash, merkle_proof, merkle_proof_verify, timestamp
from .models import Account, Block, JournalEntry, Posting, SealedEntry

logger = logging.getLogger(__name__)


def account_balance_get(*, account: Account) -> int:
    """O(1): the cached balance, kept in the posting transaction."""
    return int(Account.objects.values_list("balance", flat=True).get(pk=account.pk))


def account_postings(*, account: Account) -> QuerySet[Posting]:
    return (
        Posting.objects.filter(account=account).select_related("entry").order_by("entry_id", "id")
    )


def _postings_prefetch(using: str) -> Prefetch[Any]:
    return Prefetch(
        "postings",
        queryset=Posting.objects.using(using).select_related("account").order_by("id"),
    )


def entry_list(*, using: str | None = None) -> QuerySet[JournalEntry]:
    """Entries, newest first, with their postings, accounts and seal (block and leaf)."""
    using = using or replica_alias()
    return (
        JournalEntry.objects.using(using)
        .select_related("seal__block", "reverses")
        .prefetch_related(_postings_prefetch(using))
        .order_by("-id")
    )


def entry_get(*, entry_id: int, using: str | None = None) -> JournalEntry | None:
    return entry_list(using=using).filter(pk=entry_id).first()


def entry_seal_get(*, entry: JournalEntry) -> SealedEntry | None:
    try:
        return entry.seal
    except SealedEntry.DoesNotExist:
        return None


def entry_record(*, entry: JournalEntry) -> dict[str, Any]:
    """The entry exactly as it is hashed and exported: anyone can recompute its hash from this."""
    reverses = entry.reverses
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "memo": entry.memo,
        "idempotency_key": entry.idempotency_key,
        "created_at": timestamp(entry.created_at),
        "reverses": reverses.hash if reverses is not None else None,
        "hash": entry.hash,
        "postings": [[p.account.code, p.side, p.amount, p.currency] for p in entry.postings.all()],
    }


@dataclass(frozen=True)
class InclusionProof:
    entry: JournalEntry
    block: Block
    leaf_index: int
    tree_size: int
    audit_path: list[dict[str, str]]

    @property
    def leaf_hash(self) -> str:
        return leaf_hash(self.entry.hash)

    @property
    def is_valid(self) -> bool:
        return merkle_proof_verify(self.entry.hash, self.audit_path, self.block.merkle_root)


def block_entry_hashes(*, block: Block, using: str | None = None) -> list[str]:
    """The block's leaves: its entries' hashes in leaf order."""
    return list(
        SealedEntry.objects.using(using or replica_alias())
        .filter(block=block)
        .order_by("position")
        .values_list("entry__hash", flat=True)
    )


@functools.lru_cache(maxsize=16)
def _block_leaves_cached(block_hash: str, using: str) -> tuple[str, ...]:
    # Sealed blocks never change, so their leaves can be kept; keyed by the block's hash.
    block = Block.objects.using(using).get(hash=block_hash)
    return tuple(block_entry_hashes(block=block, using=using))


def entry_proof_get(*, entry: JournalEntry, using: str | None = None) -> InclusionProof:
    """The RFC 6962 audit path from the entry's leaf to its block's Merkle root."""
    seal = entry_seal_get(entry=entry)
    if seal is None:
        raise EntryNotSealedError()
    block = seal.block
    leaves = _block_leaves_cached(block.hash, using or replica_alias())
    return InclusionProof(
        entry=entry,
        block=block,
        leaf_index=seal.position,
        tree_size=len(leaves),
        audit_path=merkle_proof(leaves, seal.position),
    )


def account_list(*, using: str | None = None) -> QuerySet[Account]:
    return Account.objects.using(using or replica_alias()).order_by("code")


def account_get(*, code: str, using: str | None = None) -> Account | None:
    return account_list(using=using).filter(code=code).first()


def block_list(*, using: str | None = None) -> QuerySet[Block]:
    return Block.objects.using(using or replica_alias()).order_by("-height")


def block_get(*, height: int, using: str | None = None) -> Block | None:
    return block_list(using=using).filter(height=height).first()


def block_entry_ids(*, block: Block, using: str | None = None) -> list[int]:
    """The block's entry ids in leaf order."""
    return list(
        SealedEntry.objects.using(using or replica_alias())
        .filter(block=block)
        .order_by("position")
        .values_list("entry_id", flat=True)
    )


def block_head_get(*, using: str | None = None) -> Block | None:
    return block_list(using=using).first()


# Owner labels: who an account belongs to, as the public may see it.


def _platform_label() -> str:
    return _("Bien Commun (platform)")


def _fund_label() -> str:
    return _("Common fund")


def _fallback_label(owner_type: str, owner_id: int) -> str:
    if owner_type == OwnerType.MEMBER:
        return _("Anonymous")  # never guess at a person's identity
    if owner_type == OwnerType.CAMPAIGN:
        return _("Campaign %(id)s") % {"id": owner_id}
    return f"{owner_type} {owner_id}"


@functools.cache
def _label_resolver(path: str) -> Callable[[list[int]], dict[int, str]] | None:
    try:
        return import_string(path)  # type: ignore[no-any-return]
    except ImportError:
        # The owning app has not written its resolver yet: fall back to neutral labels.
        logger.warning("ledger owner labels: cannot import %s", path)
        return None


def account_owner_labels(*, accounts: Iterable[Account]) -> dict[int, str]:
    """{account id: owner label}, one batched call per owner type (see LEDGER_OWNER_LABELS).

    A member's label is their public name as they chose it (name, pseudonym or Anonymous);
    never an email address.
    """
    accounts = list(accounts)
    wanted: dict[str, set[int]] = defaultdict(set)
    for account in accounts:
        if account.owner_id is not None:
            wanted[account.owner_type].add(account.owner_id)
    resolved: dict[str, dict[int, str]] = {}
    registry: dict[str, str] = getattr(settings, "LEDGER_OWNER_LABELS", {})
    for owner_type, ids in wanted.items():
        path = registry.get(owner_type)
        resolver = _label_resolver(path) if path else None
        resolved[owner_type] = dict(resolver(sorted(ids))) if resolver else {}
    labels: dict[int, str] = {}
    for account in accounts:
        if account.owner_type == OwnerType.PLATFORM:
            labels[account.pk] = _platform_label()
        elif account.owner_type == OwnerType.FUND and account.owner_id is None:
            labels[account.pk] = _fund_label()
        elif account.owner_id is None:
            labels[account.pk] = str(OwnerType(account.owner_type).label)
        else:
            labels[account.pk] = resolved.get(account.owner_type, {}).get(
                account.owner_id
            ) or _fallback_label(account.owner_type, account.owner_id)
    return labels


def entry_owner_labels(*, entries: Iterable[JournalEntry]) -> dict[int, str]:
    """Owner labels for every account the entries post to (postings prefetched)."""
    accounts = {p.account_id: p.account for e in entries for p in e.postings.all()}
    return account_owner_labels(accounts=accounts.values())


# Balances and their verification.


def balances_recomputed(*, account_ids: list[int] | None = None) -> dict[int, tuple[int, int]]:
    """For every account (or those given): (cached balance, balance recomputed from postings).

    One statement, so both figures come from the same snapshot even while entries are posted.
    """
    debit_normal = [str(t) for t in DEBIT_NORMAL]
    params: list[Any] = list(debit_normal)
    types = ", ".join(["%s"] * len(debit_normal))
    where = ""
    if account_ids is not None:
        if not account_ids:
            return {}
        where = "WHERE a.id IN ({})".format(", ".join(["%s"] * len(account_ids)))
        params.extend(account_ids)
    sql = f"""
        SELECT a.id, a.balance,
               COALESCE(SUM(CASE WHEN (p.side = 'debit') = (a.type IN ({types})) THEN p.amount ELSE -p.amount END), 0)
        FROM ledger_account a LEFT JOIN ledger_posting p ON p.account_id = a.id
        {where}
        GROUP BY a.id, a.balance
    """  # noqa: S608 (placeholders only)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: (int(row[1]), int(row[2])) for row in cursor.fetchall()}


def account_id_batches(*, size: int = 500) -> Iterator[list[int]]:
    """Every account id, in batches, for checks that report progress."""
    ids = list(Account.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def trial_balance(*, using: str | None = None) -> dict[str, int]:
    """Σ debit-normal balances − Σ credit-normal balances, per currency: zero when the books balance."""
    totals: dict[str, int] = {}
    for row in trial_balance_rows(using=using):
        totals[row["currency"]] = row["difference"]
    return totals


def trial_balance_rows(*, using: str | None = None) -> list[dict[str, Any]]:
    """Per currency: the debit-normal and credit-normal balance totals and their difference."""
    debit: dict[str, int] = defaultdict(int)
    credit: dict[str, int] = defaultdict(int)
    accounts: dict[str, int] = defaultdict(int)
    rows = Account.objects.using(using or "default").values_list("type", "currency", "balance")
    for account_type, currency, balance in rows:
        accounts[currency] += 1
        if account_type in DEBIT_NORMAL:
            debit[currency] += int(balance)
        else:
            credit[currency] += int(balance)
    return [
        {
            "currency": currency,
            "accounts": accounts[currency],
            "debit_normal_total": debit[currency],
            "credit_normal_total": credit[currency],
            "difference": debit[currency] - credit[currency],
        }
        for currency in sorted(accounts)
    ]


def ledger_counts(*, using: str | None = None) -> dict[str, int]:
    using = using or replica_alias()
    return {
        "accounts": Account.objects.using(using).count(),
        "entries": JournalEntry.objects.using(using).count(),
        "postings": Posting.objects.using(using).count(),
        "blocks": Block.objects.using(using).count(),
    }
