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


@pytest.mark.django_db
def test_a_batch_claims_each_receipt_once_and_sends_them_together(
    django_capture_on_commit_callbacks,
):
    campaign = launched_campaign(lead=person("lead"))
    backers = [person() for _ in range(3)]
    pledges = [
        Pledge.objects.create(
            campaign=campaign, backer=b, amount=1_000, currency="EUR", status="committed"
        )
        for b in backers
    ]
    pending = Pledge.objects.create(
        campaign=campaign, backer=person(), amount=1_000, currency="EUR", status="pending"
    )
    ids = [p.pk for p in pledges] + [pending.pk]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.pledge_receipts_send(ids) == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.email for b in backers)
    assert all(campaign.title in m.subject for m in mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.pledge_receipts_send(ids) == 0  # already sent: nothing again
    assert len(mail.outbox) == 3
    assert Pledge.objects.filter(pk__in=ids, receipt_sent_at__isnull=False).count() == 3


class _FailsOnSecond:
    """A mail backend whose server goes away after the first email."""

    sent: list = []

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        if len(_FailsOnSecond.sent) >= 1:
            raise ConnectionRefusedError("mail server went away")
        _FailsOnSecond.sent.extend(messages)
        return len(messages)


def test_a_batch_whose_mail_server_goes_away_retries_the_rest_one_by_one(settings, monkeypatch):
    from common import tasks as common_tasks

    settings.EMAIL_BACKEND = f"{__name__}._FailsOnSecond"
    _FailsOnSecond.sent = []
    retried: list[tuple] = []
    monkeypatch.setattr(
        queue, "publish", lambda task, *args: retried.append((task.name, args)) or True
    )
    messages = [
        {"subject": f"Reçu {n}", "body": "Merci", "recipients": [f"b{n}@example.org"]}
        for n in range(3)
    ]
    assert common_tasks.emails_send(messages) == 1
    assert [m.to for m in _FailsOnSecond.sent] == [["b0@example.org"]]
    assert retried == [
        ("common.tasks.email_send", ("Reçu 1", "Merci", ["b1@example.org"], None)),
        ("common.tasks.email_send", ("Reçu 2", "Merci", ["b2@example.org"], None)),
    ]
