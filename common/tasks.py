from celery import shared_task
from django.core.mail import send_mail


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
