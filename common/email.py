from typing import Any

from .queue import enqueue_on_commit
from .tasks import email_send, emails_send


def email_queue(*, subject: str, body: str, recipients: list[str], html: str | None = None) -> None:
    """Send an email from a worker once the current transaction has committed."""
    enqueue_on_commit(email_send, subject, body, recipients, html)


def emails_queue(messages: list[dict[str, Any]]) -> None:
    """Send several emails from a worker, over one connection, once the current transaction has
    committed. Each is {"subject", "body", "recipients", "html" (optional)}."""
    if messages:
        enqueue_on_commit(emails_send, messages)
