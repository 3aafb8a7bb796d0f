"""Content hashes of entries and the Merkle tree of blocks.

Kept free of Django so that the offline verifier (`python -m ledger.verify`) shares the exact
same code with the platform.
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
GENESIS_HASH = "0" * 64


def timestamp(moment: datetime) -> str:
    """The exact form in which times enter the hashes: UTC, ISO 8601, to the microsecond."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(
    *,
    kind: str,
    memo: str,
    idempotency_key: str,
    created_at: str,
    reverses_hash: str | None,
    postings: Sequence[Sequence[Any]],
) -> str:
    """sha256 of the entry's content. `postings` are [account code, side, amount, currency]."""
    body = {
        "kind": kind,
        "memo": memo,
        "idempotency_key": idempotency_key,
        "created_at": created_at,
        "reverses": reverses_hash,
        "postings": sorted([str(p[0]), str(p[1]), int(p[2]), str(p[3])] for p in postings),
    }
    return hashlib.sha256(canonical(body)).hexdigest()


# RFC 6962 (Certificate Transparency) domain separation: leaves and nodes hash differently,
# so a node can never be passed off as a leaf.
def leaf_hash(entry_hash_hex: str) -> str:
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).hexdigest()


def node_hash(left: str, right: str) -> str:
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def merkle_root(entry_hashes: Sequence[str]) -> str:
    """RFC 6962 Merkle tree hash over the leaves, in order."""
    if not entry_hashes:
        return EMPTY_ROOT
    level = [leaf_hash(h) for h in entry_hashes]
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])  # an odd node is promoted unchanged
        level = nxt
    return level[0]


def merkle_proof(entry_hashes: Sequence[str], index: int) -> list[dict[str, str]]:
    """The audit path for leaf `index`: sibling hashes from the leaf up, with their side."""
    if not 0 <= index < len(entry_hashes):
        raise IndexError(index)
    level = [leaf_hash(h) for h in entry_hashes]
    path: list[dict[str, str]] = []
    position = index
    while len(level) > 1:
        sibling = position ^ 1
        if sibling < len(level):
            path.append({"side": "left" if sibling < position else "right", "hash": level[sibling]})
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        position //= 2
    return path


def merkle_proof_verify(entry_hash_hex: str, path: Sequence[dict[str, str]], root: str) -> bool:
    current = leaf_hash(entry_hash_hex)
    for step in path:
        current = (
            node_hash(step["hash"], current)
            if step["side"] == "left"
            else node_hash(current, step["hash"])
        )
    return current == root


def block_hash(
    *, height: int, merkle_root_hex: str, previous_hash: str, entry_count: int, sealed_at: str
) -> str:
    body = {
        "height": height,
        "merkle_root": merkle_root_hex,
        "previous_hash": previous_hash,
        "entry_count": entry_count,
        "sealed_at": sealed_at,
    }
    return hashlib.sha256(canonical(body)).hexdigest()
