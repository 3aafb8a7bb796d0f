"""The governance API: strict input, one error format, refused moves, scopes and visibility."""

from datetime import timedelta

import pytest
from django.utils import timezone

from fund.enums import PollStatus
from fund.models import Poll, PollBallot, PollEvent, PollOption, Round, RoundProject

from .factories import decided_poll, make_poll, make_round, member, open_poll, open_round

pytestmark = pytest.mark.django_db


def error(response):
    body = response.json()
    assert set(body) == {"error"}
    return body["error"]


def _window(**delta):
    start = timezone.now() + timedelta(**delta)
    return {"opens_at": start.isoformat(), "closes_at": (start + timedelta(days=7)).isoformat()}


def test_a_moderator_creates_a_poll_with_exact_shares(client_as):
    client, moderator = client_as("moderator")
    response = client.post(
        "/api/v1/fund/polls",
        {
            "title": "Priorities 2027",
            "method": "majority_judgment",
            "options": ["Digital inclusion", "Open data", "Health"],
            "quorum": "1/3",
            **_window(days=1),
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft"
    assert body["quorum"] == "1/3"
    assert body["threshold"] == "1/2"
    assert [o["id"] for o in body["options"]] == ["1", "2", "3"]
    assert [g["label"] for g in body["grades"]][::5] == ["Reject", "Excellent"]
    poll = Poll.objects.get()
    assert (poll.quorum_numerator, poll.quorum_denominator, poll.created_by) == (1, 3, moderator)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quorum": "3/2"}, "quorum"),
        ({"quorum": "1/0"}, "quorum"),
        ({"quorum": 0.5}, "quorum"),
        ({"threshold": "-1/2"}, "threshold"),
        ({"method": "quadratic"}, "method"),
        ({"method": "resolution"}, "options"),
        ({"options": ["Only one"]}, "options"),
        ({"options": ["Same", "Same"]}, "options"),
        ({"closes_at": "2020-01-01T00:00:00Z"}, "closes_at"),
        ({"weight": 3}, "weight"),
        ({"title": 42}, "title"),
    ],
)
def test_bad_poll_input_is_refused_and_writes_nothing(client_as, changes, field):
    client, _ = client_as("moderator")
    body = {"title": "T", "method": "approval", "options": ["A", "B"], **_window(days=1)}
    body.update(changes)
    response = client.post("/api/v1/fund/polls", body, format="json")
    assert response.status_code == 400
    assert field in error(response)["fields"]
    assert Poll.objects.count() == 0
    assert PollOption.objects.count() == 0


def test_illegal_moves_answer_409_and_change_nothing(client_as):
    client, _ = client_as("treasurer")
    member()
    poll = open_poll()
    for move in ("open", "cancel", "publish"):
        response = client.post(f"/api/v1/fund/polls/{poll.pk}/{move}")
        assert response.status_code == 409
        assert error(response)["code"] == "illegal_transition"
    poll.refresh_from_db()
    assert poll.status == PollStatus.OPEN
    assert PollEvent.objects.filter(poll=poll).count() == 1

    running = make_poll()
    client.post(f"/api/v1/fund/polls/{running.pk}/open")
    response = client.post(f"/api/v1/fund/polls/{running.pk}/close")
    assert response.status_code == 409
    assert error(response)["code"] == "still_running"
    assert Poll.objects.get(pk=running.pk).status == PollStatus.OPEN


def test_voting_through_the_api_is_idempotent_and_changeable(client_as):
    client, _voter = client_as("member")
    poll = open_poll()
    Poll.objects.filter(pk=poll.pk).update(closes_at=timezone.now() + timedelta(hours=1))
    url = f"/api/v1/fund/polls/{poll.pk}/ballot"
    assert client.get(url).json() == {
        "in_electorate": True,
        "has_voted": False,
        "can_vote": True,
        "closes_at": client.get(url).json()["closes_at"],
        "ballot": None,
    }
    for _ in range(2):
        response = client.post(url, {"choice": "yes"}, format="json")
        assert response.status_code == 200
        assert response.json()["ballot"] == {"choice": "yes"}
    client.post(url, {"choice": "no"}, format="json")
    assert PollBallot.objects.filter(poll=poll).count() == 1
    assert PollBallot.objects.get(poll=poll).content == {"choice": "no"}

    for bad in ({"choice": "maybe"}, {"choice": "yes", "extra": 1}, {"grades": {"1": 3}}, []):
        response = client.post(url, bad, format="json")
        assert response.status_code == 400
    assert PollBallot.objects.get(poll=poll).content == {"choice": "no"}


def test_voting_after_the_window_answers_409(client_as):
    client, _ = client_as("member")
    poll = open_poll()
    response = client.post(f"/api/v1/fund/polls/{poll.pk}/ballot", {"choice": "yes"}, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "voting_closed"
    assert PollBallot.objects.count() == 0


def test_a_token_needs_the_votes_scope(token_client):
    member()
    start = timezone.now()
    from fund.services.governance import poll_open

    without, _, _ = token_client(["read:profile"], role="member")
    poll = poll_open(poll=make_poll(start=start))
    response = without.post(
        f"/api/v1/fund/polls/{poll.pk}/ballot", {"choice": "yes"}, format="json"
    )
    assert response.status_code == 403
    assert error(response)["code"] == "permission_denied"
    assert PollBallot.objects.count() == 0

    with_scope, _, _ = token_client(["write:votes"], role="member")
    poll = poll_open(poll=make_poll(start=start))
    response = with_scope.post(
        f"/api/v1/fund/polls/{poll.pk}/ballot", {"choice": "yes"}, format="json"
    )
    assert response.status_code == 200
    assert PollBallot.objects.count() == 1


def test_drafts_are_hidden_from_the_public_and_results_until_published(client_as):
    draft = make_poll(title="Secret plan")
    anonymous, _ = client_as("anonymous")
    auditor, _ = client_as("auditor")
    assert anonymous.get(f"/api/v1/fund/polls/{draft.pk}").status_code == 404
    assert anonymous.get("/api/v1/fund/polls").json()["results"] == []
    assert auditor.get(f"/api/v1/fund/polls/{draft.pk}").status_code == 200
    assert [p["title"] for p in auditor.get("/api/v1/fund/polls").json()["results"]] == [
        "Secret plan"
    ]

    member()
    poll = open_poll()
    response = anonymous.get(f"/api/v1/fund/polls/{poll.pk}/results")
    assert response.status_code == 409
    assert error(response)["code"] == "results_not_published"
    assert anonymous.get(f"/api/v1/fund/polls/{poll.pk}/ballot-file").status_code == 409


def test_published_results_and_ballot_file(client_as):
    voter = member()
    poll = decided_poll([(voter, {"choice": "yes"})])
    client, _ = client_as("anonymous")
    body = client.get(f"/api/v1/fund/polls/{poll.pk}/results").json()
    assert body["result"]["outcome"] == "adopted"
    assert body["ballot_file_sha256"] == poll.ballot_file_sha256
    assert body["ballot_file_url"] == f"/api/v1/fund/polls/{poll.pk}/ballot-file"
    download = client.get(body["ballot_file_url"])
    assert download["Content-Type"] == "application/x-ndjson; charset=utf-8"
    assert download.content.decode() == poll.ballot_file
    detail = client.get(f"/api/v1/fund/polls/{poll.pk}").json()
    assert (detail["electorate_size"], detail["turnout"], detail["has_results"]) == (1, 1, True)


def test_a_moderator_sets_up_a_round(client_as):
    client, _ = client_as("moderator")
    response = client.post(
        "/api/v1/fund/rounds",
        {"title": "Inclusion", "currency": "EUR", "budget": 5_000_000, **_window(days=1)},
        format="json",
    )
    assert response.status_code == 201
    round_id = response.json()["id"]
    assert response.json()["min_approvals"] == 1
    for name, cost, kind in (("Fab lab", 400_000, "loan"), ("Maps", 100_000, "grant")):
        created = client.post(
            f"/api/v1/fund/rounds/{round_id}/projects",
            {"name": name, "cost": cost, "kind": kind},
            format="json",
        )
        assert created.status_code == 201
    listed = client.get(f"/api/v1/fund/rounds/{round_id}/projects").json()["results"]
    assert [(p["id"], p["name"], p["cost"], p["kind"], p["approvals"]) for p in listed] == [
        ("1", "Fab lab", 400_000, "loan", None),
        ("2", "Maps", 100_000, "grant", None),
    ]


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"budget": 5_000_050}, "whole_units_required"),
        ({"budget": 0}, "validation_error"),
        ({"budget": "5000000"}, "validation_error"),
        ({"currency": "XXX"}, "validation_error"),
        ({"min_approvals": 3, "max_approvals": 2}, "invalid_approval_limits"),
        ({"comparison": "quadratic"}, "validation_error"),
    ],
)
def test_bad_round_input_is_refused_and_writes_nothing(client_as, changes, code):
    client, _ = client_as("treasurer")
    body = {"title": "R", "currency": "EUR", "budget": 5_000_000, **_window(days=1), **changes}
    response = client.post("/api/v1/fund/rounds", body, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == code
    assert Round.objects.count() == 0


def test_projects_cannot_be_added_once_a_round_is_open(client_as):
    client, _ = client_as("moderator")
    member()
    round = open_round(projects=[("A", 1000)], budget=5000)
    response = client.post(
        f"/api/v1/fund/rounds/{round.pk}/projects", {"name": "Late", "cost": 1000}, format="json"
    )
    assert response.status_code == 409
    assert error(response)["code"] == "round_not_editable"
    bad_code = make_round(budget=5000)
    response = client.post(
        f"/api/v1/fund/rounds/{bad_code.pk}/projects",
        {"name": "X", "cost": 1000, "code": "a,b"},
        format="json",
    )
    assert response.status_code == 400
    assert RoundProject.objects.count() == 1


def test_a_round_project_can_point_to_its_page_on_the_platform(client_as):
    from campaigns.models import Project, Theme

    theme = Theme.objects.get_or_create(
        slug="test-inclusion", defaults={"name_en": "Inclusion", "name_fr": "Inclusion"}
    )[0]
    page = Project.objects.create(
        title="Repair café", slug="repair-cafe-test", summary="Repairs", theme=theme
    )
    client, _ = client_as("moderator")
    round = make_round(budget=5000)
    url = f"/api/v1/fund/rounds/{round.pk}/projects"
    response = client.post(
        url, {"name": "Repair café", "cost": 1000, "campaign_project": page.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["campaign_project"] == page.pk
    assert RoundProject.objects.get(round=round).campaign_project == page

    response = client.post(
        url, {"name": "Ghost", "cost": 1000, "campaign_project": page.pk + 1000}, format="json"
    )
    assert response.status_code == 400
    assert "campaign_project" in error(response)["fields"]
    assert RoundProject.objects.filter(round=round).count() == 1


def test_the_data_export_lists_participation_but_no_ballot(client_as):
    client, _voter = client_as("member")
    from fund.services.governance import poll_open

    poll = poll_open(poll=make_poll())
    client.post(f"/api/v1/fund/polls/{poll.pk}/ballot", {"choice": "no"}, format="json")
    export = client.get("/api/v1/me/export").json()
    assert export["governance"] == {
        "polls": [{"poll": poll.pk, "title": poll.title, "has_voted": True}],
        "funding_rounds": [],
    }
