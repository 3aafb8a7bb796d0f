"""Verify an exported ledger offline, with one command:

    python -m ledger.verify bien-commun-ledger.jsonl

and an inclusion proof fetched from /api/v1/ledger/entries/{id}/proof:

    python -m ledger.verify --proof proof.json

It needs Python 3.11+, this file and ledger/hashing.py; no Django and no database (tqdm, if
installed, draws the progress bar). It checks:

- every entry's hash, recomputed from its content;
- every entry balanced per currency, in its accounts' currencies, with positive integer amounts;
- every block's Merkle root, recomputed from its entries' hashes in leaf order;
- the chain: heights 0, 1, 2…, each previous_hash the hash of the block before, each block's
  hash recomputed; with --expect-head, the last block is the one you trust;
- every sealed entry present in the export, and sealed exactly once;
- every account's balance, recomputed from its postings, equal to the exported balance;
- the trial balance: zero in every currency.

Exit status: 0 when everything holds, 1 when something does not (each reason on stderr),
2 when the file cannot be read.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ledger.hashing import GENESIS_HASH, block_hash, entry_hash, merkle_proof_verify, merkle_root

DEBIT_NORMAL = frozenset({"asset", "expense"})
SIDES = frozenset({"debit", "credit"})
ORDER = {"header": 0, "account": 1, "entry": 2, "block": 3}
FORMAT = "bien-commun-ledger"
SHOWN_ERRORS = 50


class Unreadable(Exception):
    """The export cannot be read at all (not a file, not JSON lines, wrong format)."""


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    accounts: int = 0
    entries: int = 0
    postings: int = 0
    blocks: int = 0
    sealed: int = 0
    head_height: int | None = None
    head_hash: str | None = None
    totals: dict[str, int] = field(default_factory=dict)  # per currency, debits moved

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = [
            f"{self.accounts} accounts, {self.entries} entries, {self.postings} postings, "
            f"{self.blocks} blocks",
            f"{self.sealed} entries sealed in blocks, {self.entries - self.sealed} not sealed yet"
            " (the newest; their hashes and balances are checked, but no block vouches for them)",
        ]
        if self.head_hash is not None:
            lines.append(f"last block: height {self.head_height}, hash {self.head_hash}")
        if self.totals:
            moved = ", ".join(f"{amount} {cur}" for cur, amount in sorted(self.totals.items()))
            lines.append(f"money moved (sum of debits, minor units): {moved}")
        if self.is_valid:
            lines.append(
                "OK: entry hashes, balanced entries, Merkle roots, the chain of blocks, "
                "account balances and the trial balance all hold."
            )
        else:
            lines.append(f"FAILED: {len(self.errors)} problem(s) found.")
        return "\n".join(lines)


def _is_int(value: Any) -> bool:
    return type(value) is int


_HASH = re.compile(r"[0-9a-f]{64}")


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and _HASH.fullmatch(value) is not None


@dataclass
class _Account:
    type: str
    currency: str
    allow_negative: bool
    balance: int
    recomputed: int = 0


class Verifier:
    """Feed it the records of an export in order, then call finish()."""

    def __init__(self, *, expect_head: str | None = None) -> None:
        self.report = Report()
        self.expect_head = expect_head
        self.header: dict[str, Any] | None = None
        self.stage = -1
        self.accounts: dict[str, _Account] = {}
        self.entry_hashes: dict[int, str] = {}
        self.known_hashes: set[str] = set()
        self.reversed_hashes: list[tuple[int, str]] = []
        self.sealed_in: dict[int, int] = {}
        self.previous_block_hash = GENESIS_HASH
        self.next_height = 0
        self.totals: dict[str, int] = defaultdict(int)

    def error(self, message: str) -> None:
        self.report.errors.append(message)

    # Records

    def feed(self, number: int, record: Any) -> None:
        if not isinstance(record, dict) or record.get("record") not in ORDER:
            self.error(f"line {number}: not a record of this format")
            return
        kind = record["record"]
        if number == 1 and kind != "header":
            raise Unreadable("the first line is not the export's header")
        if ORDER[kind] < self.stage or (kind == "header" and self.header is not None):
            self.error(f"line {number}: a {kind} record out of order")
        self.stage = max(self.stage, ORDER[kind])
        getattr(self, f"_{kind}")(number, record)

    def _header(self, number: int, record: dict[str, Any]) -> None:
        if record.get("format") != FORMAT:
            raise Unreadable(f"not a {FORMAT} export (format {record.get('format')!r})")
        if record.get("version") != 1:
            raise Unreadable(f"format version {record.get('version')!r} is not supported")
        self.header = record

    def _account(self, number: int, record: dict[str, Any]) -> None:
        code = record.get("code")
        balance = record.get("balance")
        if not isinstance(code, str) or not _is_int(balance) or record.get("type") is None:
            self.error(f"line {number}: malformed account record")
            return
        if code in self.accounts:
            self.error(f"account {code}: listed twice")
            return
        self.accounts[code] = _Account(
            type=str(record["type"]),
            currency=str(record.get("currency")),
            allow_negative=record.get("allow_negative") is True,
            balance=record["balance"],
        )
        self.report.accounts += 1

    def _entry(self, number: int, record: dict[str, Any]) -> None:
        entry_id = record.get("id")
        if not _is_int(entry_id):
            self.error(f"line {number}: an entry without an integer id")
            return
        name = f"entry {entry_id}"
        if entry_id in self.entry_hashes:
            self.error(f"{name}: appears twice in the export")
            return
        postings = record.get("postings")
        exported = record.get("hash")
        fields_ok = (
            isinstance(record.get("kind"), str)
            and isinstance(record.get("memo"), str)
            and isinstance(record.get("idempotency_key"), str)
            and isinstance(record.get("created_at"), str)
            and (record.get("reverses") is None or _is_hash(record.get("reverses")))
            and _is_hash(exported)
            and isinstance(postings, list)
        )
        if not fields_ok:
            self.error(f"{name}: malformed entry record (line {number})")
            return
        entry_id, exported, postings = record["id"], record["hash"], record["postings"]
        self.report.entries += 1
        self.entry_hashes[entry_id] = exported
        if exported in self.known_hashes:
            self.error(f"{name}: its hash {exported} is also another entry's")
        self.known_hashes.add(exported)
        if record["reverses"] is not None:
            self.reversed_hashes.append((entry_id, record["reverses"]))

        well_formed = True
        difference: dict[str, int] = defaultdict(int)
        for index, posting in enumerate(postings, start=1):
            if not (
                isinstance(posting, list)
                and len(posting) == 4
                and isinstance(posting[0], str)
                and posting[1] in SIDES
                and _is_int(posting[2])
                and isinstance(posting[3], str)
            ):
                self.error(f"{name}: posting {index} is malformed: {posting!r}")
                well_formed = False
                continue
            code, side, amount, currency = posting
            self.report.postings += 1
            if amount <= 0:
                self.error(f"{name}: posting {index} has a non-positive amount {amount}")
            difference[currency] += amount if side == "debit" else -amount
            if side == "debit":
                self.totals[currency] += amount
            account = self.accounts.get(code)
            if account is None:
                self.error(f"{name}: posting {index} is on account {code}, not in the export")
                continue
            if account.currency != currency:
                self.error(
                    f"{name}: posting {index} is in {currency} but account {code} "
                    f"holds {account.currency}"
                )
            grows = (side == "debit") == (account.type in DEBIT_NORMAL)
            account.recomputed += amount if grows else -amount
        if len(postings) < 2:
            self.error(f"{name}: has {len(postings)} posting(s); an entry needs two or more")
        for currency, amount in sorted(difference.items()):
            if amount:
                self.error(
                    f"{name}: does not balance in {currency} (debits minus credits = {amount})"
                )
        if not well_formed:
            return
        recomputed = entry_hash(
            kind=record["kind"],
            memo=record["memo"],
            idempotency_key=record["idempotency_key"],
            created_at=record["created_at"],
            reverses_hash=record["reverses"],
            postings=postings,
        )
        if recomputed != exported:
            self.error(
                f"{name}: its content does not match its hash "
                f"(exported {exported}, recomputed {recomputed})"
            )

    def _block(self, number: int, record: dict[str, Any]) -> None:
        height = record.get("height")
        ids = record.get("entries")
        values = [record.get(k) for k in ("merkle_root", "previous_hash", "hash")]
        if (
            not _is_int(height)
            or not isinstance(ids, list)
            or not all(_is_int(i) for i in ids)
            or not all(_is_hash(v) for v in values)
            or not _is_int(record.get("entry_count"))
            or not isinstance(record.get("sealed_at"), str)
        ):
            self.error(f"line {number}: malformed block record")
            return
        height, ids = record["height"], record["entries"]
        name = f"block {height}"
        self.report.blocks += 1
        if height != self.next_height:
            self.error(f"{name}: expected height {self.next_height} at this point of the chain")
        if record["previous_hash"] != self.previous_block_hash:
            self.error(
                f"{name}: previous_hash {record['previous_hash']} is not the hash of the "
                f"block before it ({self.previous_block_hash})"
            )
        if record["entry_count"] != len(ids):
            self.error(f"{name}: entry_count {record['entry_count']} but it lists {len(ids)}")
        hashes: list[str] = []
        for entry_id in ids:
            digest = self.entry_hashes.get(entry_id)
            if digest is None:
                self.error(f"{name}: seals entry {entry_id}, which is missing from the export")
                continue
            if entry_id in self.sealed_in:
                self.error(
                    f"{name}: seals entry {entry_id}, already sealed in block "
                    f"{self.sealed_in[entry_id]}"
                )
                continue
            self.sealed_in[entry_id] = height
            hashes.append(digest)
        self.report.sealed += len(hashes)
        root = merkle_root(hashes)
        if root != record["merkle_root"]:
            self.error(
                f"{name}: Merkle root mismatch (exported {record['merkle_root']}, recomputed "
                f"{root} from the {len(hashes)} entries present)"
            )
        recomputed = block_hash(
            height=height,
            merkle_root_hex=record["merkle_root"],
            previous_hash=record["previous_hash"],
            entry_count=record["entry_count"],
            sealed_at=record["sealed_at"],
        )
        if recomputed != record["hash"]:
            self.error(
                f"{name}: its content does not match its hash "
                f"(exported {record['hash']}, recomputed {recomputed})"
            )
        self.previous_block_hash = record["hash"]
        self.next_height = height + 1
        self.report.head_height = height
        self.report.head_hash = record["hash"]

    # The whole

    def finish(self) -> Report:
        report = self.report
        if self.header is None:
            raise Unreadable("the export has no header")
        counts = self.header.get("counts") or {}
        for name, found in (
            ("accounts", report.accounts),
            ("entries", report.entries),
            ("postings", report.postings),
            ("blocks", report.blocks),
        ):
            if counts.get(name) != found:
                self.error(f"the header counts {counts.get(name)} {name}; the export holds {found}")
        for entry_id, reversed_hash in self.reversed_hashes:
            if reversed_hash not in self.known_hashes:
                self.error(
                    f"entry {entry_id}: reverses an entry (hash {reversed_hash}) "
                    "that is not in the export"
                )
        trial: dict[str, int] = defaultdict(int)
        for code, account in sorted(self.accounts.items()):
            if account.recomputed != account.balance:
                self.error(
                    f"account {code}: exported balance {account.balance}, recomputed from its "
                    f"postings {account.recomputed} (difference {account.balance - account.recomputed})"
                )
            if not account.allow_negative and account.balance < 0:
                self.error(f"account {code}: balance {account.balance} below zero")
            sign = 1 if account.type in DEBIT_NORMAL else -1
            trial[account.currency] += sign * account.balance
        for currency, total in sorted(trial.items()):
            if total:
                self.error(f"trial balance in {currency} is {total}, not zero")
        if self.expect_head is not None and report.head_hash != self.expect_head:
            self.error(
                f"the last block's hash is {report.head_hash}, not the expected {self.expect_head}"
            )
        report.totals = dict(self.totals)
        return report


def verify_records(records: Iterable[tuple[int, Any]], *, expect_head: str | None = None) -> Report:
    verifier = Verifier(expect_head=expect_head)
    for number, record in records:
        verifier.feed(number, record)
    return verifier.finish()


def _parsed(lines: Iterable[bytes | str]) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            if number == 1:
                raise Unreadable(f"line 1 is not JSON: {exc}") from exc
            yield number, None


def verify_lines(lines: Iterable[bytes | str], *, expect_head: str | None = None) -> Report:
    return verify_records(_parsed(lines), expect_head=expect_head)


class _Progress:
    """A tqdm bar with an ETA on stderr, over the bytes read; nothing when tqdm is missing."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc="Verifying the ledger",
                file=sys.stderr,
                mininterval=0.5,
            )

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _read(stream: IO[bytes], progress: _Progress) -> Iterator[bytes]:
    for line in stream:
        progress.update(len(line))
        yield line


def verify_file(path: str, *, progress: bool = True, expect_head: str | None = None) -> Report:
    """Verify an export file (`-` for standard input; `.gz` files are read compressed)."""
    total: int | None = None
    try:
        if path == "-":
            stream: IO[bytes] = sys.stdin.buffer
        elif path.endswith(".gz"):
            stream = gzip.open(path, "rb")  # type: ignore[assignment]  # noqa: SIM115
        else:
            stream = open(path, "rb")  # noqa: SIM115 (closed below)
            total = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        raise Unreadable(str(exc)) from exc
    bar = _Progress(total, progress)
    try:
        return verify_lines(_read(stream, bar), expect_head=expect_head)
    except (OSError, EOFError) as exc:
        raise Unreadable(str(exc)) from exc
    finally:
        bar.close()
        if stream is not sys.stdin.buffer:
            stream.close()


# Inclusion proofs


def expected_sides(index: int, size: int) -> list[str]:
    """The sides of the audit path of leaf `index` in a tree of `size` leaves (RFC 6962)."""
    sides: list[str] = []
    position, width = index, size
    while width > 1:
        sibling = position ^ 1
        if sibling < width:
            sides.append("left" if sibling < position else "right")
        position //= 2
        width = (width + 1) // 2
    return sides


def verify_proof(proof: dict[str, Any]) -> list[str]:
    """Check an inclusion proof as the API serves it; returns the problems (none: it holds)."""
    problems: list[str] = []
    try:
        digest = proof["entry_hash"]
        path: Sequence[dict[str, str]] = proof["audit_path"]
        index, size = int(proof["leaf_index"]), int(proof["tree_size"])
        block = proof["block"]
    except (KeyError, TypeError, ValueError):
        return ["the proof is missing entry_hash, audit_path, leaf_index, tree_size or block"]
    entry = proof.get("entry")
    if entry is not None:
        recomputed = entry_hash(
            kind=entry["kind"],
            memo=entry["memo"],
            idempotency_key=entry["idempotency_key"],
            created_at=entry["created_at"],
            reverses_hash=entry["reverses"],
            postings=entry["postings"],
        )
        if recomputed != digest or entry.get("hash") != digest:
            problems.append(f"the entry's content hashes to {recomputed}, not {digest}")
    if [step.get("side") for step in path] != expected_sides(index, size):
        problems.append(f"the audit path does not fit leaf {index} of a tree of {size}")
    if block.get("entry_count") != size:
        problems.append(f"the block holds {block.get('entry_count')} entries, not {size}")
    if not merkle_proof_verify(digest, path, block["merkle_root"]):
        problems.append("the audit path does not lead to the block's Merkle root")
    recomputed_block = block_hash(
        height=block["height"],
        merkle_root_hex=block["merkle_root"],
        previous_hash=block["previous_hash"],
        entry_count=block["entry_count"],
        sealed_at=block["sealed_at"],
    )
    if recomputed_block != block["hash"]:
        problems.append(f"the block's content hashes to {recomputed_block}, not {block['hash']}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.verify",
        description="Verify an exported Bien Commun ledger (JSON lines) or an inclusion proof.",
    )
    parser.add_argument("export", nargs="?", help="the export file (.jsonl, .jsonl.gz, or -)")
    parser.add_argument("--proof", help="verify an inclusion proof (JSON from the API) instead")
    parser.add_argument(
        "--expect-head",
        metavar="HASH",
        help="the hash the last block must have (from a trusted source)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    if args.proof:
        try:
            with open(args.proof, "rb") as handle:
                proof = json.load(handle)
        except (OSError, ValueError) as exc:
            print(f"cannot read the proof: {exc}", file=sys.stderr)
            return 2
        problems = verify_proof(proof)
        for problem in problems:
            print(f"- {problem}", file=sys.stderr)
        if problems:
            print("FAILED: the proof does not hold.")
            return 1
        print(
            f"OK: entry {proof.get('entry_id')} ({proof['entry_hash']}) is leaf "
            f"{proof['leaf_index']} of block {proof['block']['height']} "
            f"(root {proof['block']['merkle_root']}, hash {proof['block']['hash']})."
        )
        return 0

    if not args.export:
        parser.error("give an export file, or --proof")
    try:
        report = verify_file(
            args.export, progress=not args.no_progress, expect_head=args.expect_head
        )
    except Unreadable as exc:
        print(f"cannot verify {args.export}: {exc}", file=sys.stderr)
        return 2
    for problem in report.errors[:SHOWN_ERRORS]:
        print(f"- {problem}", file=sys.stderr)
    if len(report.errors) > SHOWN_ERRORS:
        print(f"- … and {len(report.errors) - SHOWN_ERRORS} more", file=sys.stderr)
    print(report.summary())
    return 0 if report.is_valid else 1


if __name__ == "__main__":
    sys.exit(main())
