from .queue import enqueue_on_commit
from .tasks import email_send


def email_queue(*, subject: str, body: str, recipients: list[str], html: str | None = None) -> None:
    """Send an email from a worker once the current transaction has committed."""
    enqueue_on_commit(email_send, subject, body, recipients, html)
