"""End to end in Chromium: a member votes on a strategy poll and approves projects in a round;
the round closes; its results show.

The steps are small functions (log in, vote, approve, read the results) so that the fund's money
side can extend the journey, for example with a savings subscription before the vote.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from fund.enums import PollMethod
from fund.models import PollBallot, RoundBallot
from fund.services.governance import poll_open
from fund.services.rounds import round_close, round_open, round_publish
from tests.factories import PASSWORD
from tests.fixtures import require_service

from .factories import make_poll, make_round, member

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    require_service("Chromium", CHROMIUM.exists(), f"install Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # The sync API runs an event loop in this thread; the test's own ORM calls are synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(locale="en-GB")
        try:
            yield context.new_page()
        finally:
            browser.close()


def log_in(page: Any, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}/")


def grade_options(page: Any, base_url: str, poll_id: int, grades: dict[str, str]) -> None:
    """On the poll page, choose a grade (by its label) in each option's radio group."""
    page.goto(f"{base_url}/votes/{poll_id}/")
    for option, grade in grades.items():
        group = page.get_by_role("group", name=option)
        group.get_by_label(grade, exact=True).check()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_text("Your ballot is recorded; you can change it until").wait_for()


def approve_projects(page: Any, base_url: str, round_id: int, names: list[str]) -> None:
    page.goto(f"{base_url}/rounds/{round_id}/")
    group = page.get_by_role("group", name="Projects you approve")
    for name in names:
        group.get_by_label(name).check()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_text("Your ballot is recorded; you can change it until").wait_for()


def funded_projects(page: Any, base_url: str, round_id: int) -> list[str]:
    page.goto(f"{base_url}/rounds/{round_id}/results/")
    table = page.get_by_role("table", name="Funded projects, in the order they were chosen")
    return [row.inner_text() for row in table.locator("tbody th").all()]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_member_votes_approves_and_sees_the_round_results(live_server, page):
    voter = member(email="camille@example.org")
    others = [member() for _ in range(3)]
    poll = poll_open(
        poll=make_poll(
            method=PollMethod.MAJORITY_JUDGMENT,
            options=("Digital inclusion", "Open data"),
            start=timezone.now(),
        )
    )
    round = round_open(
        round=make_round(
            projects=[("Repair café", 3000), ("Open maps", 2000), ("Fab lab", 8000)],
            budget=10_000,
            start=timezone.now(),
        )
    )
    from .factories import approve

    for other in others:  # cast before the browser session: their share of the budget counts
        approve(round, other, ["3"])

    log_in(page, live_server.url, voter.email)
    grade_options(
        page, live_server.url, poll.pk, {"Digital inclusion": "Excellent", "Open data": "Good"}
    )
    assert PollBallot.objects.get(poll=poll).content == {"grades": [5, 3]}
    approve_projects(page, live_server.url, round.pk, ["Repair café", "Open maps"])
    assert len(RoundBallot.objects.filter(round=round)) == 4

    # Four voters, floor(100/4) = 25 EUR each to start. Open maps (20) is bought from the
    # voter's share; Fab lab (80, three supporters) once they hold 27 each: 80 + 20 = 100. Repair
    # café would need 30 more from the voter: at an endowment of 50 the outcome costs 130, so
    # Add1 keeps 49. Fab lab comes first (it costs its supporters 1/3 per euro, Open maps 1).
    round = round_close(round=round, now=round.closes_at)
    round_publish(round=round)
    assert funded_projects(page, live_server.url, round.pk) == ["Fab lab", "Open maps"]
    assert page.get_by_text("Final endowment per voter").is_visible()
    assert round.result["endowment"] == "49"
    assert page.get_by_role("link", name="Download the .pb file").is_visible()
