"""Receipts of pledges committed together are published as one message per web process
(`common.queue.enqueue_gathered_on_commit`), and every backer still gets exactly one receipt."""

import time

import pytest
from django.core import mail
from django.db import transaction
from rest_framework.test import APIClient

from campaigns import tasks
from campaigns.models import Pledge
from common import queue
from members.services import api_token_create
from tests.fixtures import WORKER_TASKS

from .conftest import launched_campaign, person, saved_card, wait_until


def _pledge(client: APIClient, campaign_id: int, card_id: int, amount: int) -> int:
    response = client.post(
        "/api/v1/pledges",
        {"campaign": campaign_id, "amount": amount, "payment_method": card_id},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "committed"
    return int(response.json()["id"])


@pytest.fixture
def published(settings, monkeypatch):
    """Tasks go to a broker (not run in process), and what is published is recorded instead."""
    settings.TASK_GATHER_SECONDS = 30  # the timer never fires here: the flush is called
    conf = tasks.pledge_receipts_send.app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = False
    calls: list[tuple[str, tuple]] = []
    monkeypatch.setattr(
        queue, "publish", lambda task, *args: calls.append((task.name, args)) or True
    )
    try:
        yield calls
    finally:
        conf.task_always_eager = saved
        queue.gathered_flush()


@pytest.mark.django_db
def test_items_given_within_the_moment_go_as_one_message(
    published, django_capture_on_commit_callbacks
):
    for item in (11, 12, 13):
        with django_capture_on_commit_callbacks(execute=True):
            queue.enqueue_gathered_on_commit(tasks.pledge_receipts_send, item)
    assert published == []  # gathered, not yet published
    assert queue.gathered_flush() == 3
    assert published == [("campaigns.tasks.pledge_receipts_send", ([11, 12, 13],))]
    assert queue.gathered_flush() == 0


@pytest.mark.django_db
def test_a_rolled_back_transaction_gathers_nothing(published):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue.enqueue_gathered_on_commit(tasks.pledge_receipts_send, 99)
        raise RuntimeError
    assert queue.gathered_flush() == 0
    assert published == []


def test_a_surge_of_pledges_gets_one_receipt_each_from_gathered_messages(celery_worker, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.TASK_GATHER_SECONDS = 0.5
    campaign = launched_campaign(lead=person("lead"))
    backers = [person() for _ in range(6)]
    ready = []
    for backer in backers:
        client = APIClient()
        raw = api_token_create(user=backer, name="t", scopes=["write:pledges"])[1]
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        ready.append((client, saved_card(backer)))
    seen = len(WORKER_TASKS)
    ids = [
        _pledge(client, campaign.pk, card.pk, 1_000 + n) for n, (client, card) in enumerate(ready)
    ]
    wait_until(
        lambda: Pledge.objects.filter(pk__in=ids, receipt_sent_at__isnull=False).count() == 6,
        "every receipt sent",
    )
    time.sleep(0.3)  # a receipt sent twice would show up in this moment
    receipts = [m for m in mail.outbox if any(b.email in m.to for b in backers)]
    assert sorted(m.to[0] for m in receipts) == sorted(b.email for b in backers)
    gathered = [
        name for name, _ in WORKER_TASKS[seen:] if name == "campaigns.tasks.pledge_receipts_send"
    ]
    # Six pledges, fewer messages: each carries the receipts its moment gathered.
    assert 1 <= len(gathered) < 6
