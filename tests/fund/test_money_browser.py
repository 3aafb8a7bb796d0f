"""End to end in Chromium: the common fund, from a member's savings to the dashboard.

A member logs in, subscribes savings shares on the savings page (the sandbox takes the card),
votes on a resolution that puts a matching rule to the members, and approves projects in a
funding round. The round closes (the clock, as beat would), a moderator publishes it and turns
its winners into grants and a solidarity loan through the API, the treasurer approves them and
pays them out, and the borrower's first installment comes back. Then the member reads the fund
dashboard: the savings include their subscription, the grants are the round's winners, and the
money-flow chart holds exactly the flows the ledger's postings give.

Run on PostgreSQL with a real browser; the figures it expects are derived twice: from the
inputs by hand (in the comments) and from the ledger's postings by the test's own queries.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from campaigns.models import Theme
from fund.enums import PollMethod
from fund.models import Investment, PollBallot, RoundBallot
from fund.services.governance import poll_close, poll_open, poll_publish
from fund.services.matching import matching_rule_adopt, matching_rule_propose
from fund.services.rounds import round_close, round_open, round_project_add
from ledger.enums import AccountPurpose, EntryKind, OwnerType, Side
from ledger.models import Account, Posting
from ledger.services import ledger_balances_verify
from tests.campaigns.factories import ProjectFactory
from tests.factories import PASSWORD
from tests.fixtures import require_service

from .factories import approve, make_poll, make_round, vote
from .money_factories import connect_payee, donate, member, pay_out, person, subscribe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
SCREENS = Path(__file__).resolve().parents[2] / "var" / "screens"
EUR = "EUR"


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    require_service("Chromium", CHROMIUM.exists(), f"install Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are sync.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
        try:
            page = context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()


# --- the member's steps, in the browser ------------------------------------------------------------


def log_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def subscribe_savings(page: Any, base: str, euros: str) -> None:
    """The savings page's subscription form, then the sandbox's card form."""
    page.goto(f"{base}/fund/savings/")
    form = page.get_by_role("region", name="Subscribe savings shares")
    form.get_by_label("Amount").fill(euros)
    form.get_by_role("button", name="Subscribe").click()
    page.wait_for_url(re.compile(r".*/fund/pay/\d+/$"))
    assert page.get_by_text("this is a test form: no real card is charged").is_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay now").click()
    page.wait_for_url(f"{base}/fund/savings/")
    page.get_by_text("Thank you: your payment went through.").wait_for()


def vote_resolution(page: Any, base: str, poll_id: int, choice: str) -> None:
    page.goto(f"{base}/votes/{poll_id}/")
    page.get_by_role("group", name="Do you adopt this resolution?").get_by_label(
        choice, exact=True
    ).check()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_text("Your ballot is recorded; you can change it until").wait_for()


def approve_projects(page: Any, base: str, round_id: int, names: list[str]) -> None:
    page.goto(f"{base}/rounds/{round_id}/")
    group = page.get_by_role("group", name="Projects you approve")
    for name in names:
        group.get_by_label(name).check()
    page.get_by_role("button", name="Cast my ballot").click()
    page.get_by_text("Your ballot is recorded; you can change it until").wait_for()


def funded_projects(page: Any, base: str, round_id: int) -> list[str]:
    page.goto(f"{base}/rounds/{round_id}/results/")
    table = page.get_by_role("table", name="Funded projects, in the order they were chosen")
    return [row.inner_text() for row in table.locator("tbody th").all()]


def data_value(page: Any, selector: str) -> int:
    return int(page.locator(selector).get_attribute("value"))


# --- the fund manager's steps, through the API -------------------------------------------------------


def api_as(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def project_with_payouts(theme_slug: str, theme_name: str) -> Any:
    """A project on the platform, of a theme, whose lead has set up payouts (sandbox Connect)."""
    theme, _created = Theme.objects.get_or_create(
        slug=theme_slug, defaults={"name_en": theme_name, "name_fr": theme_name}
    )
    lead = person("lead")
    project = ProjectFactory(lead=lead, theme=theme)
    connect_payee(project, owner_type="project", user=lead)
    return project


# --- reading the books, independently of the fund's selectors ----------------------------------------


def posted(kind: str, purpose: str, side: str, owner_type: str = OwnerType.FUND) -> int:
    """The sum of the postings of entries of `kind` on the fund's (or members') accounts."""
    total = Posting.objects.filter(
        entry__kind=kind,
        account__purpose=purpose,
        account__owner_type=owner_type,
        account__currency=EUR,
        side=side,
    ).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def balance_of(purpose: str, owner_type: str = OwnerType.FUND) -> int:
    total = Account.objects.filter(purpose=purpose, owner_type=owner_type, currency=EUR).aggregate(
        total=Sum("balance")
    )["total"]
    return int(total or 0)


def test_a_member_saves_votes_approves_and_reads_the_fund(live_server: Any, page: Any) -> None:
    base = live_server.url
    moderator, treasurer = person("moderator"), person("treasurer")
    voter = member(email="camille@example.org", display_name="Camille Martin")
    others = [member() for _ in range(3)]

    # Before the journey: another member saves 1,000 EUR, a donor gives 1,200 EUR.
    subscribe(others[0], 100_000)
    donate(person(), 120_000)

    # A resolution puts a matching rule to the members (one euro per euro, 50 EUR per pledge).
    poll = make_poll(
        method=PollMethod.RESOLUTION, title="Match pledges one euro for one euro, up to 50 EUR"
    )
    rule = matching_rule_propose(
        title="One euro for one euro, up to 50 EUR per pledge",
        poll=poll,
        factor=10_000,
        contribution_cap=5_000,
        actor=moderator,
    )
    poll = poll_open(poll=poll, actor=moderator)

    # A round of 2,000 EUR: two grants, a loan, and a project too dear for its one supporter.
    round = make_round(budget=200_000, title="Digital commons, spring round")
    projects = [
        ("Open maps", 40_000, "grant", project_with_payouts("communs-numeriques", "Open data")),
        ("Repair café", 60_000, "grant", project_with_payouts("environnement", "Environment")),
        ("Laptop loans", 80_000, "loan", project_with_payouts("education", "Education")),
        ("Fab lab", 180_000, "grant", project_with_payouts("education", "Education")),
    ]
    for name, cost, kind, project in projects:
        round_project_add(
            round=round, name=name, cost=cost, kind=kind, campaign_project_id=project.pk
        )
    round = round_open(round=round, actor=moderator)

    # The other members vote first (their ballots count as much as the browser's).
    vote(poll, others[0], {"choice": "yes"})
    vote(poll, others[1], {"choice": "no"})
    vote(poll, others[2], {"choice": "abstain"})
    approve(round, others[0], ["1", "2"])  # Open maps, Repair café
    approve(round, others[1], ["1", "3"])  # Open maps, Laptop loans
    approve(round, others[2], ["4"])  # Fab lab

    # 1. The member, in the browser: savings, the resolution, the round.
    log_in(page, base, voter.email)
    subscribe_savings(page, base, "250")
    assert data_value(page, ".figure-my-savings") == 25_000
    member_savings = Account.objects.get(
        purpose=AccountPurpose.MEMBER_SAVINGS, owner_type=OwnerType.MEMBER, owner_id=voter.pk
    )
    assert member_savings.balance == 25_000

    vote_resolution(page, base, poll.pk, "Yes")
    assert sorted(
        PollBallot.objects.filter(poll=poll).values_list("content", flat=True), key=str
    ) == [
        {"choice": "abstain"},
        {"choice": "no"},
        {"choice": "yes"},
        {"choice": "yes"},
    ]
    approve_projects(page, base, round.pk, ["Repair café", "Laptop loans"])
    assert RoundBallot.objects.filter(round=round).count() == 4

    # 2. The windows end (the clock, as beat does): the poll adopts the rule, the round counts.
    poll = poll_close(poll=poll, now=poll.closes_at)
    poll = poll_publish(poll=poll)
    assert poll.result is not None
    assert poll.result["outcome"] == "adopted"  # yes 2, no 1: 2/3 of yes and no > 1/2
    rule = matching_rule_adopt(poll=poll)
    assert rule.status == "active"

    # Four ballots: 500 EUR each to start. Every project's supporters pay 1/2 per euro, so the
    # cheapest goes first: Open maps (200 each), Repair café (300 each), then Laptop loans once
    # the member and its other supporter hold 400 each after those (endowment 700). Fab lab
    # (1,800) is beyond its one supporter; with it the outcome would break the budget.
    round = round_close(round=round, actor=moderator, now=round.closes_at)
    moderator_api, treasurer_api = api_as(moderator), api_as(treasurer)
    response = moderator_api.post(f"/api/v1/fund/rounds/{round.pk}/publish")
    assert response.status_code == 200, response.content
    assert round.result is not None
    assert round.result["selected"] == ["1", "2", "3"]

    # 3. The winners become a grant, a grant and a loan (the defaults: 24 months at 1%), approved
    # by the treasurer and paid out to the projects' Connect accounts.
    response = moderator_api.post(f"/api/v1/fund/rounds/{round.pk}/investments")
    assert response.status_code == 201, response.content
    created = {row["title"]: row for row in response.json()}
    assert {title: (row["kind"], row["amount"]) for title, row in created.items()} == {
        "Open maps": ("grant", 40_000),
        "Repair café": ("grant", 60_000),
        "Laptop loans": ("loan", 80_000),
    }
    loan = Investment.objects.get(title="Laptop loans")
    assert (loan.rate, loan.term_months) == (100, 24)
    for row in created.values():
        response = treasurer_api.post(f"/api/v1/fund/investments/{row['id']}/approve")
        assert response.status_code == 200, response.content
        pay_out(response.json()["disbursement_id"], treasurer)
    assert sorted(Investment.objects.values_list("title", "status")) == [
        ("Laptop loans", "disbursed"),
        ("Open maps", "disbursed"),
        ("Repair café", "disbursed"),
    ]
    # The first installment: 800 / 24 → 33.33 EUR of principal, 800 × 1% / 12 → 0.66 interest
    # (both rounded down).
    response = treasurer_api.post(
        f"/api/v1/fund/investments/{loan.pk}/repayments",
        {"amount": 3_399, "bank_reference": "VIR-2026-0001"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["principal"], response.json()["interest"]) == (3_333, 66)

    # 4. The round's results page lists the winners, in the order they were chosen.
    assert funded_projects(page, base, round.pk) == ["Open maps", "Repair café", "Laptop loans"]

    # 5. The dashboard.
    page.goto(f"{base}/fund/")
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "fund-dashboard.png"), full_page=True)

    # The books first: every figure below is read from the ledger by this test's own queries.
    assert ledger_balances_verify().is_clean
    savings = balance_of(AccountPurpose.MEMBER_SAVINGS, OwnerType.MEMBER)
    subscribed = posted(
        EntryKind.SAVINGS_SUBSCRIPTION, AccountPurpose.MEMBER_SAVINGS, Side.CREDIT, OwnerType.MEMBER
    )
    donated = posted(EntryKind.DONATION, AccountPurpose.GRANTS_POOL, Side.CREDIT)
    granted = posted(EntryKind.GRANT, AccountPurpose.GRANTS_POOL, Side.DEBIT)
    lent = posted(EntryKind.LOAN_DISBURSEMENT, AccountPurpose.LOANS_RECEIVABLE, Side.DEBIT)
    repaid = posted(EntryKind.LOAN_REPAYMENT, AccountPurpose.LOANS_RECEIVABLE, Side.CREDIT)
    interest = posted(EntryKind.LOAN_REPAYMENT, AccountPurpose.INTEREST_INCOME, Side.CREDIT)
    # ... and they are the journey's amounts.
    assert (savings, subscribed) == (125_000, 125_000)  # 1,000 + the member's 250
    assert (donated, granted, lent, repaid, interest) == (120_000, 100_000, 80_000, 3_333, 66)

    # Savings include the member's subscription; two savers.
    assert data_value(page, ".figure-savings") == savings
    figures = page.get_by_role("region", name="Where the fund stands")
    assert figures.get_by_text("2 savers").is_visible()
    # Lent out: the loan less the principal repaid; the grants pool: gifts less grants.
    assert (
        data_value(page, ".figure-lent")
        == lent - repaid
        == balance_of(AccountPurpose.LOANS_RECEIVABLE)
    )
    assert data_value(page, ".figure-grants-pool") == donated - granted == 20_000
    assert figures.get_by_text("1,000.00\u00a0€ granted to 2 projects").is_visible()
    # Liquidity: cash backing the savings = savings + the year's interest − what is lent out.
    cash = savings + interest - (lent - repaid)
    assert data_value(page, ".figure-liquidity") == cash * 10_000 // savings == 3_871
    assert figures.get_by_text("38.71\u00a0%").is_visible()

    # The grants and the loan are the round's winners.
    table = page.get_by_role("table", name="The fund's latest grants and loans")
    rows = {
        row.locator("th").inner_text(): [cell.inner_text() for cell in row.locator("td").all()]
        for row in table.locator("tbody tr").all()
    }
    assert rows == {
        "Laptop loans": ["Solidarity loan", "Repaying", "800.00\u00a0€", "766.67\u00a0€"],
        "Repair café": ["Grant", "Disbursed", "600.00\u00a0€", "—"],
        "Open maps": ["Grant", "Disbursed", "400.00\u00a0€", "—"],
    }
    themes = page.get_by_role("table", name="Grants, loans and matches by theme")
    names = dict(Theme.objects.values_list("slug", "name_en"))
    assert [
        [cell.inner_text() for cell in row.locator("th, td").all()]
        for row in themes.locator("tbody tr").all()
    ] == [  # by total, largest first
        [names["education"], "0.00\u00a0€", "800.00\u00a0€", "0.00\u00a0€", "800.00\u00a0€"],
        [names["environnement"], "600.00\u00a0€", "0.00\u00a0€", "0.00\u00a0€", "600.00\u00a0€"],
        [
            names["communs-numeriques"],
            "400.00\u00a0€",
            "0.00\u00a0€",
            "0.00\u00a0€",
            "400.00\u00a0€",
        ],
    ]

    # The money-flow chart: one band per flow of the ledger, as wide as its amount.
    expected = {
        ("savers", "savings"): subscribed,
        ("donors", "grants_pool"): donated,
        ("grants_pool", "grants"): granted,
        ("savings", "loans"): lent,
        ("loan_repayments", "savings"): repaid,
        ("loan_interest", "result"): interest,
    }
    chart = page.get_by_role("img", name="Money flows of the common fund")
    links = {
        (link.get_attribute("data-source"), link.get_attribute("data-target")): (
            int(link.get_attribute("data-amount")),
            float(link.get_attribute("stroke-width")),
        )
        for link in chart.locator("path.link").all()
    }
    assert {edge: amount for edge, (amount, _width) in links.items()} == expected
    # Widths follow the amounts (at least one pixel): donations are 1.2 × the grants.
    widths = {edge: width for edge, (_amount, width) in links.items()}
    assert widths["donors", "grants_pool"] == pytest.approx(
        widths["grants_pool", "grants"] * 1.2, abs=0.1
    )
    assert (
        widths["savers", "savings"] > widths["donors", "grants_pool"] > widths["savings", "loans"]
    )
    nodes = {
        node.get_attribute("data-node"): int(node.get_attribute("data-value"))
        for node in chart.locator("rect.node").all()
    }
    assert nodes == {
        "savers": subscribed,
        "donors": donated,
        "loan_repayments": repaid,
        "loan_interest": interest,
        "savings": subscribed + repaid,  # what flows in; lent is less
        "grants_pool": donated,
        "result": interest,
        "loans": lent,
        "grants": granted,
    }
    labels = {
        text.get_attribute("data-node"): text.text_content() for text in chart.locator("text").all()
    }
    assert labels == {
        "savers": "Savers",
        "donors": "Donors",
        "loan_repayments": "Loan repayments",
        "loan_interest": "Interest from loans",
        "savings": "Savings pool",
        "grants_pool": "Grants pool",
        "result": "Result",
        "loans": "Loans",
        "grants": "Grants",
    }
    # Every label can be read: no label's glyphs overlap another's, and all are inside the
    # chart (boxes in the drawing's units, without the white halo).
    width, height = (float(v) for v in chart.get_attribute("viewBox").split()[2:])
    boxes = [
        text.evaluate("t => { const b = t.getBBox(); return [b.x, b.y, b.width, b.height]; }")
        for text in chart.locator("text").all()
    ]
    for n, (x, y, w, h) in enumerate(boxes):
        assert 0 <= x <= x + w <= width, labels
        assert 0 <= y <= y + h <= height, labels
        for x2, y2, w2, h2 in boxes[n + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y, labels
    # The same flows in the table under the chart, for readers without the picture.
    flows_table = page.get_by_role("table", name="Money flows, from where to where")
    shown = {
        (cells[0], cells[1]): int(row.locator("data").get_attribute("value"))
        for row in flows_table.locator("tbody tr").all()
        if (cells := [cell.inner_text() for cell in row.locator("td").all()])
    }
    assert shown == {
        ("Savers", "Savings pool"): subscribed,
        ("Donors", "Grants pool"): donated,
        ("Loan repayments", "Savings pool"): repaid,
        ("Interest from loans", "The year's result"): interest,
        ("Savings pool", "Loans to projects"): lent,
        ("Grants pool", "Grants to projects"): granted,
    }

    # The matching rule the members adopted is in force.
    matchfunding = page.get_by_role("region", name="Matchfunding")
    assert matchfunding.get_by_text(
        "In force: “One euro for one euro, up to 50 EUR per pledge”"
    ).is_visible()
    assert matchfunding.get_by_text("At most 50.00\u00a0€ per pledge.").is_visible()


def test_the_pledge_form_shows_a_live_estimate_of_the_match(
    live_server: Any, page: Any, settings: Any
) -> None:
    from tests.campaigns.conftest import launched_campaign

    from .money_factories import matching_pool_funded, rule_in_force

    settings.SANDBOX_FEE_PERCENT_BASIS_POINTS = 0
    settings.SANDBOX_FEE_FIXED = 0
    matching_pool_funded(20_000)
    rule_in_force(factor=10_000, contribution_cap=5_000)  # 1:1, at most 50 € per pledge
    campaign = launched_campaign(lead=person("lead"), goal=100_000)
    backer = person()

    log_in(page, live_server.url, backer.email)
    page.goto(f"{live_server.url}/campaigns/{campaign.slug}/back/")
    estimate = page.get_by_role("status")
    page.get_by_label("Amount", exact=True).fill("30")
    assert_text = "The fund adds 100 cents for each euro you give, by the rule the members adopted."
    page.wait_for_function(
        "text => document.querySelector('[data-match-live]').textContent.includes(text)",
        arg="Your match: 30.00\u00a0€.",
    )
    assert estimate.inner_text().startswith(assert_text)

    # Beyond the cap the estimate says which limit decided it.
    page.get_by_label("Amount", exact=True).fill("80,50")
    page.wait_for_function(
        "text => document.querySelector('[data-match-live]').textContent.includes(text)",
        arg="capped at 50.00\u00a0€, so your match is 50.00\u00a0€.",
    )
    # Without JavaScript the same explanation is a link away.
    link = page.get_by_role("link", name="How much will the fund add to my pledge? (matchfunding)")
    assert link.get_attribute("href") == f"/fund/match/?campaign={campaign.pk}"
    page.goto(f"{live_server.url}/fund/match/?campaign={campaign.pk}&amount=80.50")
    assert page.get_by_text("so your match is 50.00\u00a0€.").is_visible()
