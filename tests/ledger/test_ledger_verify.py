"""The offline verifier: it accepts a real export, and rejects any tampering with it."""

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.exports import jsonl_lines
from ledger.hashing import block_hash, entry_hash, merkle_root
from ledger.verify import verify_file

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _run(*args):
    """The one command, as an auditor runs it: a fresh Python, no Django settings."""
    return subprocess.run(
        [sys.executable, "-m", "ledger.verify", "--no-progress", *map(str, args)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def records(books):
    return [json.loads(line) for line in jsonl_lines()]


def _write(path, records):
    path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
    return path


def _entry(records, entry_id):
    return next(r for r in records if r["record"] == "entry" and r["id"] == entry_id)


def _block(records, height):
    return next(r for r in records if r["record"] == "block" and r["height"] == height)


def test_the_verifier_imports_no_django():
    probe = "import sys, ledger.verify; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_a_real_export_is_accepted_by_the_one_command(books, records, tmp_path):
    path = _write(tmp_path / "ledger.jsonl", records)
    result = _run(path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "9 accounts, 11 entries, 22 postings, 2 blocks" in result.stdout
    assert "9 entries sealed in blocks, 2 not sealed yet" in result.stdout
    assert f"last block: height 1, hash {books.blocks[1].hash}" in result.stdout
    assert "OK:" in result.stdout


def test_one_altered_amount_is_rejected_naming_the_entry(books, records, tmp_path):
    fee = books.entries["fee"]
    _entry(records, fee.pk)["postings"][0][2] = 1_120  # the fee was 120
    result = _run(_write(tmp_path / "ledger.jsonl", records))
    assert result.returncode == 1
    problems = result.stderr.splitlines()
    assert f"- entry {fee.pk}: does not balance in EUR (debits minus credits = 1000)" in problems
    assert any(
        p.startswith(f"- entry {fee.pk}: its content does not match its hash") for p in problems
    )
    assert (
        "- account platform:processor_fees:EUR: exported balance 120, recomputed from its postings 1120 (difference -1000)"
        in problems
    )
    assert "FAILED" in result.stdout


def test_a_balanced_alteration_is_caught_by_the_hash_and_the_balances(books, records, tmp_path):
    pledge = books.entries["pledge2"]
    for posting in _entry(records, pledge.pk)["postings"]:
        posting[2] = 40  # 4,000 became 40 on both sides: still balanced
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert [e for e in report.errors if e.startswith(f"entry {pledge.pk}")] == [
        f"entry {pledge.pk}: its content does not match its hash (exported {pledge.hash}, "
        f"recomputed {_rehash(_entry(records, pledge.pk))})"
    ]
    assert (
        "account campaign:7:campaign_escrow:EUR: exported balance 2000, recomputed from its postings -1960 (difference 3960)"
        in report.errors
    )


def _rehash(record):
    return entry_hash(
        kind=record["kind"],
        memo=record["memo"],
        idempotency_key=record["idempotency_key"],
        created_at=record["created_at"],
        reverses_hash=record["reverses"],
        postings=record["postings"],
    )


def test_a_removed_sealed_entry_breaks_its_block_root(books, records, tmp_path):
    fee = books.entries["fee"]
    records.remove(_entry(records, fee.pk))
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert f"block 0: seals entry {fee.pk}, which is missing from the export" in report.errors
    assert any(e.startswith("block 0: Merkle root mismatch") for e in report.errors)
    assert "the header counts 11 entries; the export holds 10" in report.errors
    assert not report.is_valid


def test_a_removed_unsealed_entry_breaks_the_balances(books, records, tmp_path):
    grant = books.entries["grant"]  # newer than the last block
    records.remove(_entry(records, grant.pk))
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert (
        "account fund:grants_pool:EUR: exported balance 2000, recomputed from its postings 3000 (difference -1000)"
        in report.errors
    )
    assert (
        "account platform:stripe_cash:EUR: exported balance 20880, recomputed from its postings 21880 (difference -1000)"
        in report.errors
    )
    assert not any(e.startswith("block") for e in report.errors)


def test_a_removed_unsealed_entry_with_its_header_and_balances_fixed_still_shows_as_unsealed(
    books, records, tmp_path
):
    # What no export can prove: the newest entries have no block yet. The summary says so.
    grant = books.entries["grant"]
    records.remove(_entry(records, grant.pk))
    records[0]["counts"].update(entries=10, postings=20)
    for r in records:
        if r["record"] == "account" and r["code"] == "fund:grants_pool:EUR":
            r["balance"] = 3000
        if r["record"] == "account" and r["code"] == "platform:stripe_cash:EUR":
            r["balance"] = 21880
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert report.errors == []
    assert "9 entries sealed in blocks, 1 not sealed yet" in report.summary()


def test_a_tampered_block_hash_is_rejected(books, records, tmp_path):
    _block(records, 0)["hash"] = "ab" * 32
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert report.errors == [
        f"block 0: its content does not match its hash (exported {'ab' * 32}, recomputed {books.blocks[0].hash})",
        f"block 1: previous_hash {books.blocks[0].hash} is not the hash of the block before it ({'ab' * 32})",
    ]


def test_a_broken_chain_is_rejected(books, records, tmp_path):
    block = _block(records, 1)
    block["previous_hash"] = "0" * 64
    block["hash"] = block_hash(
        height=1,
        merkle_root_hex=block["merkle_root"],
        previous_hash=block["previous_hash"],
        entry_count=block["entry_count"],
        sealed_at=block["sealed_at"],
    )
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert report.errors == [
        f"block 1: previous_hash {'0' * 64} is not the hash of the block before it ({books.blocks[0].hash})"
    ]


def test_a_missing_block_is_rejected(books, records, tmp_path):
    records.remove(_block(records, 0))
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert "block 1: expected height 0 at this point of the chain" in report.errors
    assert "the header counts 2 blocks; the export holds 1" in report.errors


def test_an_entry_sealed_twice_is_rejected(books, records, tmp_path):
    fee = books.entries["fee"]
    _block(records, 1)["entries"].append(fee.pk)
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert f"block 1: seals entry {fee.pk}, already sealed in block 0" in report.errors
    assert "block 1: entry_count 3 but it lists 4" in report.errors


def test_a_rewritten_history_needs_the_trusted_head_to_be_caught(books, records, tmp_path):
    """Everything recomputed after an alteration is internally consistent; the published head
    hash is what exposes it."""
    fee = books.entries["fee"]
    entry = _entry(records, fee.pk)
    entry["postings"][0][2] = entry["postings"][1][2] = 20
    entry["hash"] = _rehash(entry)
    for r in records:
        if r["record"] == "account" and r["code"] in {
            "platform:processor_fees:EUR",
            "platform:stripe_cash:EUR",
        }:
            r["balance"] += 100 if r["code"] == "platform:stripe_cash:EUR" else -100
    hashes = {r["id"]: r["hash"] for r in records if r["record"] == "entry"}
    previous = "0" * 64
    for block in (r for r in records if r["record"] == "block"):
        block["previous_hash"] = previous
        block["merkle_root"] = merkle_root([hashes[i] for i in block["entries"]])
        block["hash"] = previous = block_hash(
            height=block["height"],
            merkle_root_hex=block["merkle_root"],
            previous_hash=previous,
            entry_count=block["entry_count"],
            sealed_at=block["sealed_at"],
        )
    path = _write(tmp_path / "l.jsonl", records)
    assert verify_file(str(path), progress=False).errors == []
    result = _run(path, "--expect-head", books.blocks[-1].hash)
    assert result.returncode == 1
    assert (
        f"- the last block's hash is {previous}, not the expected {books.blocks[-1].hash}"
        in result.stderr.splitlines()
    )


def test_a_duplicated_entry_line_is_rejected(books, records, tmp_path):
    fee = _entry(records, books.entries["fee"].pk)
    records.insert(records.index(fee) + 1, dict(fee))
    report = verify_file(str(_write(tmp_path / "l.jsonl", records)), progress=False)
    assert f"entry {fee['id']}: appears twice in the export" in report.errors


def test_a_compressed_export_is_read(books, records, tmp_path):
    path = tmp_path / "ledger.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in records)
    assert verify_file(str(path), progress=False).errors == []


def test_what_is_not_an_export_cannot_be_verified(tmp_path):
    garbage = tmp_path / "notes.txt"
    garbage.write_text("hello\n")
    result = _run(garbage)
    assert result.returncode == 2
    assert "line 1 is not JSON" in result.stderr
    other = tmp_path / "other.jsonl"
    other.write_text(
        json.dumps({"record": "header", "format": "something-else", "version": 1}) + "\n"
    )
    assert "not a bien-commun-ledger export" in _run(other).stderr
    assert _run(tmp_path / "missing.jsonl").returncode == 2


def test_a_proof_file_is_verified_by_the_same_command(api_client, books, tmp_path):
    proof = api_client.get(f"/api/v1/ledger/entries/{books.entries['savings'].pk}/proof").json()
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    result = _run("--proof", path)
    assert result.returncode == 0, result.stderr
    assert f"entry {books.entries['savings'].pk}" in result.stdout
    proof["block"]["merkle_root"] = "cd" * 32
    path.write_text(json.dumps(proof))
    result = _run("--proof", path)
    assert result.returncode == 1
    assert "- the audit path does not lead to the block's Merkle root" in result.stderr.splitlines()
