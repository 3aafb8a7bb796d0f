"""Sealing entries into chained blocks, and the Merkle proofs that an entry is in its block."""

import hashlib
import threading

import pytest
from django.db import connection, connections, transaction

from ledger.enums import AccountPurpose, EntryKind
from ledger.hashing import (
    GENESIS_HASH,
    block_hash,
    leaf_hash,
    merkle_proof,
    merkle_proof_verify,
    merkle_root,
    node_hash,
    timestamp,
)
from ledger.models import Block, JournalEntry, SealedEntry
from ledger.selectors import entry_get, entry_proof_get
from ledger.services import (
    credit,
    debit,
    ledger_blocks_seal,
    ledger_blocks_seal_pending,
    ledger_entry_post,
    platform_account,
)
from ledger.tasks import ledger_blocks_seal_task

from .factories import EntryFactory


def _hashes(n, salt="x"):
    return [hashlib.sha256(f"{salt}:{i}".encode()).hexdigest() for i in range(n)]


def _rfc6962_root(leaves):
    """MTH from RFC 6962 §2.1, written the recursive way the RFC states it."""
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return node_hash(_rfc6962_root(leaves[:split]), _rfc6962_root(leaves[split:]))


# The roots of the Certificate Transparency test tree (leaves given as hex).
CT_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_merkle_roots_match_the_certificate_transparency_test_vectors(size):
    assert merkle_root(CT_LEAVES[:size]) == CT_ROOTS[size - 1]


@pytest.mark.parametrize("size", range(1, 21))
def test_every_leaf_has_a_proof_for_sizes_1_to_20(size):
    leaves = _hashes(size)
    root = merkle_root(leaves)
    assert root == _rfc6962_root(leaves)
    for index, leaf in enumerate(leaves):
        path = merkle_proof(leaves, index)
        assert merkle_proof_verify(leaf, path, root)
        assert not merkle_proof_verify(_hashes(1, salt="other")[0], path, root)
        if path:  # a single leaf is its own root: nothing to alter
            altered = [dict(path[0], hash="00" * 32), *path[1:]]
            assert not merkle_proof_verify(leaf, altered, root)
    with pytest.raises(IndexError):
        merkle_proof(leaves, size)


@pytest.mark.django_db
@pytest.mark.parametrize("size", range(1, 21))
def test_every_sealed_entry_proves_its_place_in_its_block(size):
    EntryFactory.create_batch(3)
    ledger_blocks_seal()
    entries = EntryFactory.create_batch(size)
    block = ledger_blocks_seal()
    assert (block.height, block.entry_count) == (1, size)
    for position, entry in enumerate(entries):
        proof = entry_proof_get(entry=entry_get(entry_id=entry.pk))
        assert (proof.block.pk, proof.leaf_index, proof.tree_size) == (block.pk, position, size)
        assert proof.is_valid
        assert merkle_proof_verify(entry.hash, proof.audit_path, block.merkle_root)


@pytest.mark.django_db
def test_blocks_chain_each_to_the_one_before():
    blocks = []
    for count in (2, 5, 1):
        EntryFactory.create_batch(count)
        blocks.append(ledger_blocks_seal())
    assert [b.height for b in blocks] == [0, 1, 2]
    assert [b.entry_count for b in blocks] == [2, 5, 1]
    assert blocks[0].previous_hash == GENESIS_HASH
    assert [b.previous_hash for b in blocks[1:]] == [b.hash for b in blocks[:-1]]
    for block in blocks:
        ids = list(block.seals.order_by("position").values_list("entry_id", flat=True))
        hashes = [JournalEntry.objects.get(pk=i).hash for i in ids]
        assert block.merkle_root == merkle_root(hashes)
        assert block.hash == block_hash(
            height=block.height,
            merkle_root_hex=block.merkle_root,
            previous_hash=block.previous_hash,
            entry_count=block.entry_count,
            sealed_at=timestamp(Block.objects.get(pk=block.pk).sealed_at),
        )
    assert SealedEntry.objects.count() == JournalEntry.objects.count() == 8


@pytest.mark.django_db
def test_sealing_with_nothing_new_does_nothing():
    assert ledger_blocks_seal() is None
    EntryFactory()
    first = ledger_blocks_seal()
    assert ledger_blocks_seal() is None
    assert ledger_blocks_seal_task.delay().get() is None
    assert list(Block.objects.values_list("pk", flat=True)) == [first.pk]


@pytest.mark.django_db
def test_a_backlog_is_sealed_in_one_run_block_by_block():
    entries = EntryFactory.create_batch(7)
    blocks = ledger_blocks_seal_pending(max_entries=3)
    assert [(b.height, b.entry_count) for b in blocks] == [(0, 3), (1, 3), (2, 1)]
    sealed = list(
        SealedEntry.objects.order_by("block__height", "position").values_list("entry_id", flat=True)
    )
    assert sealed == [e.pk for e in entries]
    assert ledger_blocks_seal_pending(max_entries=3) == []
    EntryFactory.create_batch(4)
    assert [b.height for b in ledger_blocks_seal_pending(max_entries=1, max_blocks=2)] == [3, 4]
    assert JournalEntry.objects.filter(seal__isnull=True).count() == 2


@pytest.mark.django_db
def test_the_beat_task_seals_what_is_waiting():
    EntryFactory.create_batch(2)
    assert ledger_blocks_seal_task.delay().get() == 0
    assert Block.objects.get().entry_count == 2


def _postgres():
    from tests.fixtures import require_service

    require_service(
        "PostgreSQL", connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    )


@pytest.mark.django_db(transaction=True)
def test_an_entry_committed_late_goes_into_a_later_block():
    """An entry whose transaction is still open when a block is sealed is not lost: it has a
    lower id than entries sealed before it commits, and goes into the next block."""
    _postgres()
    cash = platform_account(AccountPurpose.SUSPENSE, "EUR")
    fund = platform_account(AccountPurpose.PROCESSOR_FEES, "EUR")
    # Other accounts for the quick entry: it must not wait for the slow one's row locks.
    usd_cash = platform_account(AccountPurpose.SUSPENSE, "USD")
    usd_fund = platform_account(AccountPurpose.PROCESSOR_FEES, "USD")
    posted, release, errors = threading.Event(), threading.Event(), []
    late_id = []

    def slow_poster():
        try:
            with transaction.atomic(durable=True):
                entry = ledger_entry_post(
                    kind=EntryKind.TRANSFER,
                    legs=[debit(fund, 10), credit(cash, 10)],
                    idempotency_key="late",
                )
                late_id.append(entry.pk)
                posted.set()
                release.wait(10)
        except BaseException as exc:
            errors.append(exc)
            posted.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=slow_poster)
    thread.start()
    assert posted.wait(10)
    with transaction.atomic(durable=True):
        quick = ledger_entry_post(
            kind=EntryKind.TRANSFER,
            legs=[debit(usd_fund, 20), credit(usd_cash, 20)],
            idempotency_key="quick",
        )
    first = ledger_blocks_seal()
    release.set()
    thread.join(10)
    assert errors == []
    assert late_id[0] < quick.pk
    assert list(first.seals.values_list("entry_id", flat=True)) == [quick.pk]
    second = ledger_blocks_seal()
    assert (second.height, list(second.seals.values_list("entry_id", flat=True))) == (1, late_id)
    assert second.previous_hash == first.hash


@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_never_seal_an_entry_twice():
    _postgres()
    EntryFactory.create_batch(30)
    results, errors = [], []
    barrier = threading.Barrier(4)

    def sealer():
        try:
            barrier.wait()
            results.append(ledger_blocks_seal(max_entries=10))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sealer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(b.height for b in results if b) == [0, 1, 2]
    assert results.count(None) == 1
    assert SealedEntry.objects.count() == 30
    assert sorted(SealedEntry.objects.values_list("entry_id", flat=True)) == sorted(
        JournalEntry.objects.values_list("pk", flat=True)
    )
