"""Every write to the books.

`ledger_entry_post` is the only way money moves. Callers run it inside their own
`transaction.atomic(durable=True)` after locking their domain rows; it locks the accounts it
touches in primary-key order (so concurrent posters never deadlock), checks the entry, inserts it
with its postings and moves the cached balances, all in the caller's transaction. On PostgreSQL
that write is one statement, so the account rows stay locked only for a few round trips and the
commit.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .chart import CHART, account_code
from .enums import DEBIT_NORMAL, AccountPurpose, EntryKind, OwnerType, Side
from .exceptions import (
    IdempotencyConflictError,
    InsufficientFundsError,
    LedgerError,
    UnbalancedEntryError,
)
from .hashing import GENESIS_HASH, block_hash, entry_hash, merkle_root, timestamp
from .models import Account, BalanceCheck, Block, JournalEntry, SealedEntry
from .selectors import account_id_batches, balances_recomputed

logger = logging.getLogger(__name__)

MAX_POSTING_AMOUNT = 10**15  # far above any real movement, far below the 64-bit limit


@dataclass(frozen=True, slots=True)
class Leg:
    account: Account
    side: str
    amount: int


def debit(account: Account, amount: int) -> Leg:
    return Leg(account, Side.DEBIT, amount)


def credit(account: Account, amount: int) -> Leg:
    return Leg(account, Side.CREDIT, amount)


def _account_name(purpose: str, owner_type: str, owner_id: int | None) -> str:
    label = str(AccountPurpose(purpose).label)
    return label if owner_id is None else f"{label} — {owner_type} {owner_id}"


def account_get_or_create(
    *, purpose: str, currency: str, owner_type: str | None = None, owner_id: int | None = None
) -> Account:
    """The account for this purpose, owner and currency, opened on first use."""
    rule = CHART[purpose]
    owner_type = owner_type or rule.owner_type
    code = account_code(purpose, owner_type, owner_id, currency)
    account = Account.objects.filter(code=code).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(
                code=code,
                name=_account_name(purpose, owner_type, owner_id),
                type=rule.type,
                purpose=purpose,
                owner_type=owner_type,
                owner_id=owner_id,
                currency=currency,
                allow_negative=rule.allow_negative,
            )
    except IntegrityError:  # opened concurrently
        return Account.objects.get(code=code)


def platform_account(purpose: str, currency: str) -> Account:
    return account_get_or_create(purpose=purpose, currency=currency, owner_type=OwnerType.PLATFORM)


def fund_account(purpose: str, currency: str) -> Account:
    return account_get_or_create(purpose=purpose, currency=currency, owner_type=OwnerType.FUND)


def member_account(purpose: str, user_id: int, currency: str) -> Account:
    return account_get_or_create(
        purpose=purpose, currency=currency, owner_type=OwnerType.MEMBER, owner_id=user_id
    )


def campaign_escrow_account(campaign_id: int, currency: str) -> Account:
    return account_get_or_create(
        purpose=AccountPurpose.CAMPAIGN_ESCROW,
        currency=currency,
        owner_type=OwnerType.CAMPAIGN,
        owner_id=campaign_id,
    )


def _signature(legs: Sequence[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    return sorted(legs)


def _check_legs(legs: Sequence[Leg]) -> None:
    if len(legs) < 2:
        raise UnbalancedEntryError("An entry needs at least a debit and a credit.")
    totals: dict[str, int] = defaultdict(int)
    for leg in legs:
        if type(leg.amount) is not int or not 0 < leg.amount <= MAX_POSTING_AMOUNT:
            raise LedgerError(
                f"Posting amounts are positive integers in minor units, not {leg.amount!r}.",
                code="invalid_amount",
            )
        if leg.side not in (Side.DEBIT, Side.CREDIT):
            raise LedgerError(f"Unknown side {leg.side!r}.", code="invalid_side")
        totals[leg.account.currency] += leg.amount if leg.side == Side.DEBIT else -leg.amount
    unbalanced = {currency: diff for currency, diff in totals.items() if diff}
    if unbalanced:
        raise UnbalancedEntryError(extra={"difference": unbalanced})


def _existing(idempotency_key: str, legs: Sequence[Leg]) -> JournalEntry | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.id, p.account_id, p.side, p.amount FROM ledger_journalentry e"
            " JOIN ledger_posting p ON p.entry_id = e.id WHERE e.idempotency_key = %s",
            [idempotency_key],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    stored = _signature([(int(r[1]), str(r[2]), int(r[3])) for r in rows])
    if stored != _signature([(leg.account.pk, leg.side, leg.amount) for leg in legs]):
        raise IdempotencyConflictError(extra={"idempotency_key": idempotency_key})
    return JournalEntry.objects.get(pk=rows[0][0])


def ledger_entry_post(
    *,
    kind: str,
    legs: Sequence[Leg],
    idempotency_key: str,
    memo: str = "",
    actor: Any = None,
    reverses: JournalEntry | None = None,
    reference: tuple[str, int] | None = None,
) -> JournalEntry:
    """Post one balanced entry. Posting the same key again returns the first entry unchanged."""
    if not idempotency_key:
        raise LedgerError("An entry needs an idempotency key.", code="missing_idempotency_key")
    if kind not in EntryKind.values:
        raise LedgerError(f"Unknown entry kind {kind!r}.", code="invalid_kind")
    _check_legs(legs)
    # Checked before taking the locks, to keep them short; a concurrent poster of the same key
    # is caught by the unique index below.
    existing = _existing(idempotency_key, legs)
    if existing is not None:
        return existing
    try:
        return _post(kind, legs, idempotency_key, memo, actor, reverses, reference)
    except IntegrityError:
        # The same key was committed by a concurrent poster between our check and our insert.
        existing = _existing(idempotency_key, legs)
        if existing is None:
            raise
        return existing


@dataclass(slots=True)
class _Locked:
    code: str
    type: str
    currency: str
    balance: int
    allow_negative: bool
    name: str


_LOCK_SQL = (
    "SELECT id, code, type, currency, balance, allow_negative, name FROM ledger_account"
    " WHERE id IN ({ids}) ORDER BY id{lock}"
)


def _lock_accounts(ids: list[int]) -> dict[int, _Locked]:
    """Lock the accounts in primary-key order (concurrent posters never deadlock)."""
    sql = _LOCK_SQL.format(
        ids=", ".join(["%s"] * len(ids)),
        lock=" FOR UPDATE" if connection.features.has_select_for_update else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        return {
            int(row[0]): _Locked(row[1], row[2], row[3], int(row[4]), bool(row[5]), row[6])
            for row in cursor.fetchall()
        }


def _post(
    kind: str,
    legs: Sequence[Leg],
    idempotency_key: str,
    memo: str,
    actor: Any,
    reverses: JournalEntry | None,
    reference: tuple[str, int] | None,
) -> JournalEntry:
    memo = memo[:300]
    # A savepoint: a refusal or a lost race leaves the caller's transaction usable.
    with transaction.atomic():
        accounts = _lock_accounts(sorted({leg.account.pk for leg in legs}))
        deltas: dict[int, int] = defaultdict(int)
        for leg in legs:
            account = accounts[leg.account.pk]
            grows = (leg.side == Side.DEBIT) == (account.type in DEBIT_NORMAL)
            deltas[leg.account.pk] += leg.amount if grows else -leg.amount
        for pk, delta in deltas.items():
            account = accounts[pk]
            if not account.allow_negative and account.balance + delta < 0:
                raise InsufficientFundsError(
                    f"{account.name} holds {account.balance} {account.currency}; this would take it below zero.",
                    extra={"account": account.code},
                )

        created_at = timezone.now()
        postings = [
            (leg.account.pk, str(leg.side), leg.amount, accounts[leg.account.pk].currency)
            for leg in legs
        ]
        digest = entry_hash(
            kind=kind,
            memo=memo,
            idempotency_key=idempotency_key,
            created_at=timestamp(created_at),
            reverses_hash=reverses.hash if reverses else None,
            postings=[(accounts[a].code, side, amount, cur) for a, side, amount, cur in postings],
        )
        entry = JournalEntry(
            kind=str(kind),
            memo=memo,
            actor=actor,
            idempotency_key=idempotency_key,
            reverses=reverses,
            reference_type=reference[0] if reference else "",
            reference_id=reference[1] if reference else None,
            created_at=created_at,
            hash=digest,
        )
        moves = [(pk, delta) for pk, delta in deltas.items() if delta]
        entry.pk = _insert(entry, postings, moves)
        entry._state.adding = False
        entry._state.db = connection.alias
        for pk, delta in moves:
            accounts[pk].balance += delta
    for leg in legs:  # callers holding these objects see the new balances
        leg.account.balance = accounts[leg.account.pk].balance
    return entry


_INSERT_ENTRY_SQL = (
    "INSERT INTO ledger_journalentry (kind, memo, actor_id, idempotency_key, reverses_id,"
    " reference_type, reference_id, created_at, hash)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id"
)
# PostgreSQL: the entry, its postings and the balances in one statement, so one round trip
# while the accounts are locked. Its deferred trigger checks the whole entry at commit.
_POST_SQL = (
    "WITH new_entry AS (" + _INSERT_ENTRY_SQL + "),"  # noqa: S608 (constants only)
    " new_postings AS ("
    "INSERT INTO ledger_posting (entry_id, account_id, side, amount, currency)"
    " SELECT new_entry.id, p.account_id, p.side, p.amount, p.currency FROM new_entry,"
    " (VALUES {postings}) AS p(ord, account_id, side, amount, currency) ORDER BY p.ord)"
    "{moves} SELECT id FROM new_entry"
)
_MOVES_SQL = (
    ", moved AS (UPDATE ledger_account AS a SET balance = a.balance + d.delta"
    " FROM (VALUES {rows}) AS d(id, delta) WHERE a.id = d.id)"
)


def _insert(
    entry: JournalEntry, postings: list[tuple[int, str, int, str]], moves: list[tuple[int, int]]
) -> int:
    """Insert the entry and its postings and move the balances."""
    entry_params = [
        entry.kind,
        entry.memo,
        entry.actor_id,
        entry.idempotency_key,
        entry.reverses_id,
        entry.reference_type,
        entry.reference_id,
        connection.ops.adapt_datetimefield_value(entry.created_at),
        entry.hash,
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sql = _POST_SQL.format(
                postings=", ".join(["(%s, %s::bigint, %s, %s::bigint, %s)"] * len(postings)),
                moves=_MOVES_SQL.format(rows=", ".join(["(%s::bigint, %s::bigint)"] * len(moves)))
                if moves
                else "",
            )
            params: list[Any] = list(entry_params)
            for ordinal, row in enumerate(postings):
                params.extend([ordinal, *row])
            for move in moves:
                params.extend(move)
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0])
        cursor.execute(_INSERT_ENTRY_SQL, entry_params)
        entry_id = int(cursor.fetchone()[0])
        cursor.executemany(
            "INSERT INTO ledger_posting (entry_id, account_id, side, amount, currency)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(entry_id, *row) for row in postings],
        )
        for pk, delta in moves:
            cursor.execute(
                "UPDATE ledger_account SET balance = balance + %s WHERE id = %s", [delta, pk]
            )
        return entry_id


def ledger_entry_reverse(
    *,
    entry: JournalEntry,
    idempotency_key: str,
    memo: str = "",
    actor: Any = None,
    kind: str = EntryKind.REVERSAL,
) -> JournalEntry:
    """Post the mirror image of an entry: every debit becomes a credit and the reverse."""
    postings = list(entry.postings.select_related("account"))
    legs = [
        Leg(p.account, Side.CREDIT if p.side == Side.DEBIT else Side.DEBIT, p.amount)
        for p in postings
    ]
    return ledger_entry_post(
        kind=kind,
        legs=legs,
        idempotency_key=idempotency_key,
        memo=memo or f"Reversal of entry #{entry.pk}",
        actor=actor,
        reverses=entry,
        reference=(entry.reference_type, entry.reference_id)
        if entry.reference_type and entry.reference_id
        else None,
    )


def ledger_balances_verify(
    *, progress: Callable[[int], object] | None = None, batch_size: int = 500
) -> BalanceCheck:
    """Recompute every balance from its postings and record any drift.

    Accounts are checked in batches (each batch in one statement, so an account's cached and
    recomputed figures always come from the same snapshot); `progress` is told how many
    accounts each batch covered.
    """
    check = BalanceCheck.objects.create()
    drift: list[dict[str, int]] = []
    checked = 0
    for ids in account_id_batches(size=batch_size):
        figures = balances_recomputed(account_ids=ids)
        drift.extend(
            {
                "account_id": pk,
                "cached": cached,
                "recomputed": recomputed,
                "difference": cached - recomputed,
            }
            for pk, (cached, recomputed) in sorted(figures.items())
            if cached != recomputed
        )
        checked += len(figures)
        if progress is not None:
            progress(len(figures))
    BalanceCheck.objects.filter(pk=check.pk).update(
        finished_at=timezone.now(), accounts_checked=checked, drift=drift, is_clean=not drift
    )
    check.refresh_from_db()
    if drift:
        logger.error("ledger balance drift on %d account(s): %s", len(drift), drift[:20])
    return check


SEAL_LOCK_ID = 0x6C656467  # "ledg": one sealer at a time


def ledger_blocks_seal(*, max_entries: int = 10_000) -> Block | None:
    """Seal the entries not yet in a block into a new block chained to the previous one.

    Entries are taken in id order among those committed and unsealed, so an entry whose
    transaction commits late simply goes into a later block. Returns None when nothing is new.
    """
    with transaction.atomic(durable=True):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Held to the end of the transaction: a second sealer waits, then sees this block.
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_ID])
        previous = Block.objects.order_by("-height").first()
        entries = list(
            JournalEntry.objects.filter(seal__isnull=True)
            .order_by("id")
            .values_list("id", "hash")[:max_entries]
        )
        if not entries:
            return None
        height = previous.height + 1 if previous else 0
        previous_hash = previous.hash if previous else GENESIS_HASH
        root = merkle_root([h for _id, h in entries])
        sealed_at = timezone.now()
        block = Block.objects.create(
            height=height,
            merkle_root=root,
            previous_hash=previous_hash,
            entry_count=len(entries),
            sealed_at=sealed_at,
            hash=block_hash(
                height=height,
                merkle_root_hex=root,
                previous_hash=previous_hash,
                entry_count=len(entries),
                sealed_at=timestamp(sealed_at),
            ),
        )
        SealedEntry.objects.bulk_create(
            (
                SealedEntry(entry_id=entry_id, block=block, position=position)
                for position, (entry_id, _hash) in enumerate(entries)
            ),
            batch_size=2_000,
        )
    return block


def ledger_blocks_seal_pending(*, max_entries: int = 10_000, max_blocks: int = 100) -> list[Block]:
    """Seal everything that is waiting, one block per `max_entries`, each in its own transaction.

    A backlog (after an outage of the beat, say) is caught up in one run instead of one block
    per run; `max_blocks` bounds the run so that a worker is never held for long.
    """
    blocks: list[Block] = []
    while len(blocks) < max_blocks:
        block = ledger_blocks_seal(max_entries=max_entries)
        if block is None:
            break
        blocks.append(block)
    return blocks
