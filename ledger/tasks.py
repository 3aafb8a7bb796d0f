from celery import shared_task

from .services import ledger_balances_verify, ledger_blocks_seal_pending


@shared_task(acks_late=True)
def ledger_blocks_seal_task() -> int | None:
    """Seal what is waiting; idempotent (nothing new, nothing sealed) and safe to run twice."""
    blocks = ledger_blocks_seal_pending()
    return blocks[-1].height if blocks else None


@shared_task(acks_late=True)
def ledger_balances_verify_task() -> bool:
    return ledger_balances_verify().is_clean
