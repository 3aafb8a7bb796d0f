"""Demo data for the open ledger: seal what the other seeders posted, in several blocks.

Runs last: the movements themselves come from the payments, campaigns and fund seeders, through
their services. Small blocks make the chain and the proofs worth exploring in the demo.
"""

from typing import Any

from .services import ledger_balances_verify, ledger_blocks_seal_pending

DEMO_BLOCK_SIZE = 40


def seed(*, context: dict[str, Any]) -> None:
    blocks = ledger_blocks_seal_pending(max_entries=DEMO_BLOCK_SIZE, max_blocks=10_000)
    check = ledger_balances_verify()
    context["ledger_blocks"] = blocks
    stdout = context.get("stdout")
    if stdout is not None:
        stdout.write(
            f"Ledger: {sum(b.entry_count for b in blocks)} entries sealed in {len(blocks)} blocks; "
            f"balances {'verified' if check.is_clean else 'DRIFTED: see the balance check'}."
        )
