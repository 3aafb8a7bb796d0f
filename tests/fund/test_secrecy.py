"""Secret ballots: no API response, page or published file links a member to a ballot, and the
key that linked them while voting was open is destroyed at close."""

import pytest
from django.core import serializers
from django.test import Client
from rest_framework.test import APIClient

from fund import models as fund_models
from fund.enums import PollMethod
from fund.models import Poll, Round
from fund.secrecy import voter_key
from fund.services.governance import poll_close, poll_open, poll_publish
from fund.services.rounds import round_close, round_open, round_publish
from tests.factories import MembershipFactory, RoleGrantFactory, UserFactory

from .factories import make_poll, make_round

pytestmark = pytest.mark.django_db

FIRST_ID = 918_273_641


def _voters(count):
    voters = []
    for n in range(count):
        user = UserFactory(
            id=FIRST_ID + n,
            email=f"secret-voter-{n}@example.org",
            display_name=f"Zebulon Quixote {n}",
        )
        MembershipFactory(user=user)
        voters.append(user)
    return voters


def _identifiers(user):
    return [str(user.pk), user.email, user.pseudonym, user.display_name]


def _fund_rows_text():
    """Every row of every governance table, serialized."""
    chunks = []
    for name in fund_models.__all__:
        model = getattr(fund_models, name)
        chunks.append(serializers.serialize("json", model.objects.all()))
    return "\n".join(chunks)


def test_nothing_published_links_a_member_to_a_ballot():
    voters = _voters(5)
    moderator = UserFactory()
    RoleGrantFactory(user=moderator, role="moderator")
    auditor = UserFactory()
    RoleGrantFactory(user=auditor, role="auditor")

    poll = poll_open(
        poll=make_poll(method=PollMethod.MAJORITY_JUDGMENT, options=("Housing", "Health"))
    )
    round = round_open(
        round=make_round(projects=[("Repair café", 3000), ("Open maps", 2000)], budget=5000)
    )
    secrets = [poll.voter_secret, round.voter_secret]
    keys = [
        voter_key(secret=poll.voter_secret, scope=f"poll:{poll.pk}", user_id=v.pk) for v in voters
    ]
    keys += [
        voter_key(secret=round.voter_secret, scope=f"round:{round.pk}", user_id=v.pk)
        for v in voters
    ]

    outputs = []
    for n, voter in enumerate(voters):
        api = APIClient()
        api.force_authenticate(voter)
        cast = api.post(
            f"/api/v1/fund/polls/{poll.pk}/ballot",
            {"grades": {"1": n % 6, "2": 5 - n}},
            format="json",
        )
        assert cast.status_code == 200
        assert cast.json()["ballot"] == {"grades": [n % 6, 5 - n]}  # shown back to the voter only
        outputs.append(cast.content.decode())
        approved = api.post(
            f"/api/v1/fund/rounds/{round.pk}/ballot",
            {"approved": ["1", "2"][: 1 + n % 2]},
            format="json",
        )
        assert approved.status_code == 200
        outputs.append(approved.content.decode())

    # While voting is open, what others see.
    for client_user in (None, moderator, auditor, voters[0]):
        outputs.extend(_every_output(client_user, poll, round))
    # Fields of the open poll and round that must never be published.
    assert all(secret not in "".join(outputs) for secret in secrets)

    poll = poll_publish(poll=poll_close(poll=poll, now=poll.closes_at))
    round = round_publish(round=round_close(round=round, now=round.closes_at))
    for client_user in (None, moderator, auditor, *voters[:2]):
        outputs.extend(_every_output(client_user, poll, round))
    outputs.append(poll.ballot_file)
    outputs.append(round.pb_file)

    published = "\n".join(outputs)
    for voter in voters:
        for identifier in _identifiers(voter):
            assert identifier not in published, identifier
    for key in keys:
        assert key not in published
    for secret in secrets:
        assert secret not in published

    # After close the link is gone from the database too: no secret, no keyed ballot row.
    assert Poll.objects.get(pk=poll.pk).voter_secret is None
    assert Round.objects.get(pk=round.pk).voter_secret is None
    stored = _fund_rows_text()
    for key in [*keys, *secrets]:
        assert key not in stored
    assert fund_models.PollBallot.objects.count() == 0
    assert fund_models.RoundBallot.objects.count() == 0


def _every_output(user, poll, round):
    api = APIClient()
    web = Client()
    if user is not None:
        api.force_authenticate(user)
        web.force_login(user)
    urls = [
        "/api/v1/fund/polls",
        f"/api/v1/fund/polls/{poll.pk}",
        f"/api/v1/fund/polls/{poll.pk}/results",
        f"/api/v1/fund/polls/{poll.pk}/ballot-file",
        "/api/v1/fund/rounds",
        f"/api/v1/fund/rounds/{round.pk}",
        f"/api/v1/fund/rounds/{round.pk}/projects",
        f"/api/v1/fund/rounds/{round.pk}/results",
        f"/api/v1/fund/rounds/{round.pk}/pabulib",
    ]
    if user is not None:
        urls += [f"/api/v1/fund/polls/{poll.pk}/ballot", f"/api/v1/fund/rounds/{round.pk}/ballot"]
    pages = [
        "/votes/",
        f"/votes/{poll.pk}/",
        f"/votes/{poll.pk}/results/",
        "/rounds/",
        f"/rounds/{round.pk}/",
        f"/rounds/{round.pk}/results/",
    ]
    outputs = []
    for url in urls:
        response = api.get(url)
        assert response.status_code in (200, 409), (url, response.status_code)
        outputs.append(response.content.decode())
    for url in pages:
        response = web.get(url)
        assert response.status_code == 200, url
        # The header names the signed-in person; that is not a ballot.
        text = response.content.decode()
        if user is not None:
            text = text.replace(user.display_name or user.email, "")
        outputs.append(text)
    return outputs


def test_after_close_a_voter_sees_only_that_they_took_part():
    (voter,) = _voters(1)
    poll = poll_open(poll=make_poll())
    api = APIClient()
    api.force_authenticate(voter)
    api.post(f"/api/v1/fund/polls/{poll.pk}/ballot", {"choice": "no"}, format="json")
    assert api.get(f"/api/v1/fund/polls/{poll.pk}/ballot").json()["ballot"] == {"choice": "no"}

    poll_close(poll=poll, now=poll.closes_at)
    status = api.get(f"/api/v1/fund/polls/{poll.pk}/ballot").json()
    assert status["has_voted"] is True
    assert status["ballot"] is None
    assert status["can_vote"] is False
