import logging
from typing import Any

from celery import shared_task
from django.core.mail import EmailMultiAlternatives, get_connection, send_mail

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def email_send(subject: str, body: str, recipients: list[str], html: str | None = None) -> int:
    """Send one email. Retries on connection errors with bounded backoff."""
    return send_mail(subject, body, None, recipients, html_message=html)


@shared_task(acks_late=True)
def emails_send(messages: list[dict[str, Any]]) -> int:
    """Send several emails over one connection, each once. If the mail server cannot be
    reached, the emails not yet sent go on as one `email_send` each, which retries with backoff.
    Each message is {"subject", "body", "recipients", "html"}. Returns how many were sent here."""
    from .queue import publish

    sent = 0
    connection = get_connection()
    try:
        connection.open()
        for message in messages:
            email = EmailMultiAlternatives(
                message["subject"],
                message["body"],
                None,
                message["recipients"],
                connection=connection,
            )
            if message.get("html"):
                email.attach_alternative(message["html"], "text/html")
            email.send()
            sent += 1
    except OSError as exc:
        logger.warning(
            "mail server unavailable, %d email(s) retried one by one: %s", len(messages) - sent, exc
        )
        for message in messages[sent:]:
            publish(
                email_send,
                message["subject"],
                message["body"],
                message["recipients"],
                message.get("html"),
            )
    finally:
        connection.close()
    return sent
