"""A real worker on Redis executes the tasks the API schedules."""

import time

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_the_password_reset_email(celery_worker, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    UserFactory(email="worker@example.org")
    response = APIClient().post(
        "/api/v1/auth/password-reset", {"email": "worker@example.org"}, format="json"
    )
    assert response.status_code == 202
    deadline = time.monotonic() + 20
    while not mail.outbox and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["worker@example.org"]
    assert "/accounts/reset/" in mail.outbox[0].body
    print(
        f"celery worker {celery_worker.hostname} executed common.tasks.email_send via {celery_worker.app.conf.broker_url}"
    )
