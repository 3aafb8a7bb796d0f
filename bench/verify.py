"""Benchmark: throughput of the offline ledger verifier (`python -m ledger.verify`).

    .venv/bin/python bench/verify.py [--entries 200000] [--block-size 10000] [--repeat 3]
    .venv/bin/python bench/verify.py --export bien-commun-ledger.jsonl

Without --export it writes a valid export of its own, with ledger/hashing.py only (real entry
hashes, Merkle roots and chained block hashes over a realistic mix of accounts), so it needs no
database. It prints the median over the runs of the in-process verification, in entries and
postings per second, and the wall time of the one command in a fresh Python.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ledger.hashing import GENESIS_HASH, block_hash, entry_hash, merkle_root  # noqa: E402
from ledger.verify import verify_file  # noqa: E402

DEBIT_NORMAL = {"asset", "expense"}


def _accounts(members: int, campaigns: int) -> dict[str, dict[str, object]]:
    accounts: dict[str, dict[str, object]] = {}

    def add(code: str, kind: str, negative: bool = False) -> None:
        accounts[code] = {"type": kind, "allow_negative": negative, "balance": 0}

    add("platform:stripe_cash:EUR", "asset")
    add("platform:processor_fees:EUR", "expense", negative=True)
    add("fund:grants_pool:EUR", "equity")
    for member in range(1, members + 1):
        add(f"member:{member}:member_savings:EUR", "equity")
    for campaign in range(1, campaigns + 1):
        add(f"campaign:{campaign}:campaign_escrow:EUR", "liability")
    return accounts


def write_export(path: Path, entries: int, block_size: int, seed: int = 2026) -> tuple[int, int]:
    """A valid export: pledges, savings, donations and fees, sealed in blocks of `block_size`."""
    rng = random.Random(seed)
    accounts = _accounts(members=2_000, campaigns=200)
    members = [c for c in accounts if c.startswith("member:")]
    campaigns = [c for c in accounts if c.startswith("campaign:")]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines: list[str] = []
    hashes: list[tuple[int, str]] = []
    postings = 0
    for entry_id in range(1, entries + 1):
        amount = rng.randint(500, 50_000)
        roll = rng.random()
        if roll < 0.55:
            kind, legs = (
                "pledge_charge",
                [("platform:stripe_cash:EUR", "debit"), (rng.choice(campaigns), "credit")],
            )
        elif roll < 0.8:
            kind, legs = (
                "savings_subscription",
                [("platform:stripe_cash:EUR", "debit"), (rng.choice(members), "credit")],
            )
        elif roll < 0.9:
            kind, legs = (
                "donation",
                [("platform:stripe_cash:EUR", "debit"), ("fund:grants_pool:EUR", "credit")],
            )
        else:
            kind, legs = (
                "processor_fee",
                [("platform:processor_fees:EUR", "debit"), ("platform:stripe_cash:EUR", "credit")],
            )
            amount = rng.randint(20, 300)
        record_postings = [[code, side, amount, "EUR"] for code, side in legs]
        for code, side, value, _currency in record_postings:
            account = accounts[code]
            grows = (side == "debit") == (account["type"] in DEBIT_NORMAL)
            account["balance"] = int(account["balance"]) + (value if grows else -value)  # type: ignore[call-overload]
        created_at = (start + timedelta(seconds=entry_id * 7)).isoformat(timespec="microseconds")
        key = f"{kind}:{entry_id}"
        digest = entry_hash(
            kind=kind,
            memo="",
            idempotency_key=key,
            created_at=created_at,
            reverses_hash=None,
            postings=record_postings,
        )
        hashes.append((entry_id, digest))
        postings += len(record_postings)
        lines.append(
            json.dumps(
                {
                    "record": "entry",
                    "id": entry_id,
                    "kind": kind,
                    "memo": "",
                    "idempotency_key": key,
                    "created_at": created_at,
                    "reverses": None,
                    "reverses_id": None,
                    "reference": None,
                    "hash": digest,
                    "postings": record_postings,
                },
                separators=(",", ":"),
            )
        )
    blocks: list[str] = []
    previous = GENESIS_HASH
    sealed = (
        hashes[: len(hashes) - len(hashes) % block_size or None] if entries > block_size else hashes
    )
    for height, first in enumerate(range(0, len(sealed), block_size)):
        chunk = sealed[first : first + block_size]
        root = merkle_root([h for _i, h in chunk])
        sealed_at = (start + timedelta(days=height + 1)).isoformat(timespec="microseconds")
        digest = block_hash(
            height=height,
            merkle_root_hex=root,
            previous_hash=previous,
            entry_count=len(chunk),
            sealed_at=sealed_at,
        )
        blocks.append(
            json.dumps(
                {
                    "record": "block",
                    "height": height,
                    "merkle_root": root,
                    "previous_hash": previous,
                    "hash": digest,
                    "entry_count": len(chunk),
                    "sealed_at": sealed_at,
                    "entries": [i for i, _h in chunk],
                },
                separators=(",", ":"),
            )
        )
        previous = digest
    header = {
        "record": "header",
        "format": "bien-commun-ledger",
        "version": 1,
        "exported_at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "counts": {
            "accounts": len(accounts),
            "entries": entries,
            "postings": postings,
            "blocks": len(blocks),
        },
    }
    with path.open("w") as handle:
        handle.write(json.dumps(header) + "\n")
        for code, account in sorted(accounts.items()):
            handle.write(
                json.dumps(
                    {
                        "record": "account",
                        "code": code,
                        "name": code,
                        "type": account["type"],
                        "purpose": code.split(":")[-2],
                        "owner_type": code.split(":")[0],
                        "owner": "",
                        "currency": "EUR",
                        "allow_negative": account["allow_negative"],
                        "balance": account["balance"],
                    },
                    separators=(",", ":"),
                )
                + "\n"
            )
        handle.write("\n".join(lines) + "\n")
        handle.write("\n".join(blocks) + "\n")
    return postings, len(blocks)


def main() -> int:
    parser = argparse.ArgumentParser(description="offline ledger verification throughput")
    parser.add_argument("--export", help="verify this export instead of a generated one")
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--block-size", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        if args.export:
            path = Path(args.export)
        else:
            path = Path(scratch) / "bench-ledger.jsonl"
            started = time.perf_counter()
            write_export(path, args.entries, args.block_size)
            print(
                f"wrote a valid export of {args.entries:,} entries in {time.perf_counter() - started:.1f} s"
            )
        size = path.stat().st_size
        timings = []
        report = None
        for _ in range(args.repeat):
            started = time.perf_counter()
            report = verify_file(str(path), progress=False)
            timings.append(time.perf_counter() - started)
        assert report is not None
        if not report.is_valid:
            print("the export does not verify:", *report.errors[:10], sep="\n- ")
            return 1
        median = statistics.median(timings)
        started = time.perf_counter()
        command = subprocess.run(
            [sys.executable, "-m", "ledger.verify", "--no-progress", str(path)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        )
        command_seconds = time.perf_counter() - started
    print(
        f"export: {report.entries:,} entries, {report.postings:,} postings, {report.blocks} blocks, "
        f"{report.accounts:,} accounts, {size / 1e6:.1f} MB"
    )
    print(
        f"verification (in process, median of {args.repeat}): {median:.2f} s  "
        f"[{', '.join(f'{t:.2f}' for t in timings)}]"
    )
    print(
        f"  {report.entries / median:,.0f} entries/s, {report.postings / median:,.0f} postings/s, "
        f"{size / 1e6 / median:.1f} MB/s"
    )
    print(
        f"python -m ledger.verify (fresh interpreter, one run): {command_seconds:.2f} s, "
        f"exit {command.returncode}"
    )
    return 0 if command.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
