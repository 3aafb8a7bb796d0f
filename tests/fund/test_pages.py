"""Governance pages: ballots as plain forms (no JavaScript), results with their steps."""

import pytest

from fund.enums import PollMethod
from fund.models import PollBallot, RoundBallot

from .factories import decided_poll, funded_round, member, open_poll, open_round
from .test_polls import MJ_GRADES, MJ_OPTIONS, _mj_ballots
from .test_rounds import BALLOTS, PROJECTS

pytestmark = pytest.mark.django_db


def _running(kind, **kwargs):
    """Open with time left to vote (the factories' windows are over, to close at once)."""
    from django.utils import timezone

    from fund.services.governance import poll_open
    from fund.services.rounds import round_open

    from .factories import make_poll, make_round

    if kind == "poll":
        return poll_open(poll=make_poll(start=timezone.now(), **kwargs))
    return round_open(round=make_round(start=timezone.now(), **kwargs))


def _published_mj_poll():
    voters = [member() for _ in range(5)]
    return decided_poll(
        _mj_ballots(voters, MJ_GRADES), method=PollMethod.MAJORITY_JUDGMENT, options=MJ_OPTIONS
    )


def _published_round():
    voters = [member() for _ in range(5)]
    return funded_round(list(zip(voters, BALLOTS, strict=True)), projects=PROJECTS, budget=10_000)


def test_every_governance_page_renders_in_both_languages(client):
    poll = _published_mj_poll()
    round = _published_round()
    paths = [
        "/votes/",
        f"/votes/{poll.pk}/",
        f"/votes/{poll.pk}/results/",
        "/rounds/",
        f"/rounds/{round.pk}/",
        f"/rounds/{round.pk}/results/",
    ]
    for path in paths:
        english = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
        assert english.status_code == 200, path
        assert '<html lang="en">' in english.text
        french = client.get(path, HTTP_ACCEPT_LANGUAGE="fr")
        assert french.status_code == 200, path
        assert '<html lang="fr">' in french.text


def test_a_member_grades_options_on_the_poll_page_and_changes_their_ballot(client):
    voter = member()
    poll = _running("poll", method=PollMethod.MAJORITY_JUDGMENT, options=MJ_OPTIONS)
    client.force_login(voter)
    page = client.get(f"/votes/{poll.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.text.count("<fieldset>") == 5
    assert "<legend>Housing</legend>" in page.text
    assert 'name="grade-1" value="5"' in page.text

    response = client.post(f"/votes/{poll.pk}/", {"grade-1": "5", "grade-3": "2"})
    assert response.status_code == 302
    assert PollBallot.objects.get(poll=poll).content == {"grades": [5, 0, 2, 0, 0]}
    page = client.get(f"/votes/{poll.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Your ballot is recorded; you can change it until" in page.text
    assert 'name="grade-1" value="5" checked' in page.text

    client.post(f"/votes/{poll.pk}/", {"grade-1": "1"})
    assert PollBallot.objects.get(poll=poll).content == {"grades": [1, 0, 0, 0, 0]}


def test_a_bad_ballot_form_shows_the_error_and_writes_nothing(client):
    voter = member()
    poll = _running("poll")
    client.force_login(voter)
    response = client.post(f"/votes/{poll.pk}/", {}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Choose yes, no or abstain." in response.text
    response = client.post(f"/votes/{poll.pk}/", {"choice": "perhaps"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert PollBallot.objects.count() == 0


def test_people_outside_the_electorate_see_why_and_cannot_vote(client):
    member()
    poll = _running("poll")
    response = client.post(f"/votes/{poll.pk}/", {"choice": "yes"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    outsider = member()  # joined after opening
    client.force_login(outsider)
    page = client.get(f"/votes/{poll.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "You are not in the electorate of this vote" in page.text
    assert '<form method="post" class="ballot"' not in page.text
    response = client.post(f"/votes/{poll.pk}/", {"choice": "yes"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403
    assert PollBallot.objects.count() == 0


def test_a_member_approves_projects_on_the_round_page(client):
    voter = member()
    round = _running("round", projects=PROJECTS, budget=10_000, min_approvals=2)
    client.force_login(voter)
    page = client.get(f"/rounds/{round.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "at least 2" in page.text
    assert "<legend>Projects you approve</legend>" in page.text
    assert "80.00" in page.text

    response = client.post(f"/rounds/{round.pk}/", {"approved": ["3"]}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Approve at least 2 projects." in response.text
    assert RoundBallot.objects.count() == 0

    response = client.post(f"/rounds/{round.pk}/", {"approved": ["3", "1"]})
    assert response.status_code == 302
    assert RoundBallot.objects.get(round=round).approved == ["1", "3"]
    page = client.get(f"/rounds/{round.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Your ballot is recorded; you can change it until" in page.text
    assert 'value="1" checked' in page.text


def test_poll_results_page_shows_the_steps_and_the_file(client):
    poll = _published_mj_poll()
    page = client.get(f"/votes/{poll.pk}/results/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Tie between: Housing, Energy" in page
    assert (
        "Energy before Education: same majority grade and gauge; at step 4 of the majority value, Good against Poor."
        in page
    )
    assert "Education before Health: same majority grade, higher majority gauge." in page
    assert "Health before Culture: higher majority grade." in page
    assert f"/api/v1/fund/polls/{poll.pk}/ballot-file" in page
    assert poll.ballot_file_sha256 in page
    assert f"fund_poll_retally poll-{poll.pk}-ballots.jsonl" in page


def test_round_results_page_shows_winners_support_endowment_and_comparison(client):
    round = _published_round()
    page = client.get(f"/rounds/{round.pk}/results/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Repair café" in page
    assert '<abbr title="26/15">173.3' in page
    assert "26.00" in page  # final endowment per voter, in euros
    assert "Sequential Phragmén" in page
    assert f"/api/v1/fund/rounds/{round.pk}/pabulib" in page
    assert round.pb_sha256 in page
    assert f"fund_round_allocate round-{round.pk}.pb" in page


def test_results_are_not_shown_before_publication(client):
    member()
    poll = open_poll()
    round = open_round(projects=PROJECTS, budget=10_000)
    assert (
        "are published when voting has closed"
        in client.get(f"/votes/{poll.pk}/results/", HTTP_ACCEPT_LANGUAGE="en").text
    )
    assert (
        "are published when voting has closed"
        in client.get(f"/rounds/{round.pk}/results/", HTTP_ACCEPT_LANGUAGE="en").text
    )
