"""End to end in Chromium: a visitor signs up and backs a live all-or-nothing campaign, the
campaign closes at its deadline and the card is charged, the lead requests a tranche, the
treasurer approves it, a real Celery worker pays it, and the public page and the open ledger
show every step. Once with the sandbox, once with the Stripe provider against localstripe and
its fake Stripe.js."""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core import mail
from django.core.management import call_command

from campaigns.models import Campaign, Milestone, Pledge
from members.services import api_token_create
from payments.models import Disbursement
from tests.factories import PASSWORD
from tests.fixtures import require_service
from tests.support.localstripe_fixtures import LocalStripe

from .conftest import launched_campaign, past_deadline, payouts_ready, person, wait_until

pytest_plugins = ["tests.support.localstripe_fixtures"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
GOAL = 4_000


@pytest.fixture
def browser() -> Iterator[Any]:
    require_service("Chromium", CHROMIUM.exists(), f"install Debian's chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    # The ORM is called from the test while Playwright's own loop runs in this thread.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def new_page(browser: Any) -> Any:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def figure(page: Any, name: str) -> int:
    return int(page.locator(f".campaign-progress data.figure-{name}").get_attribute("value"))


def bar(page: Any) -> int:
    return int(page.locator(".campaign-progress [role=progressbar]").get_attribute("aria-valuenow"))


def log_in(page: Any, base: str, email: str, next_path: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}{next_path}")


def give_card(page: Any, provider: str) -> None:
    if provider == "sandbox":
        assert page.get_by_text("this is a test form: no real card is charged").is_visible()
        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Expiry (MM/YY)").fill("12/34")
        page.get_by_label("Security code (CVC)").fill("123")
    else:  # localstripe's fake Stripe.js: the Card Element, five plain inputs
        element = page.locator("#payment-element")
        element.locator('input[placeholder="number"]').fill("4242424242424242")
        element.locator('input[placeholder="exp_month"]').fill("12")
        element.locator('input[placeholder="exp_year"]').fill("34")
        element.locator('input[placeholder="cvc"]').fill("123")
        element.locator('input[placeholder="postal_code"]').fill("75011")
    page.get_by_role("button", name="Save my card").click()


def backers_journey(
    browser: Any, base: str, provider: str, localstripe: LocalStripe | None = None
) -> None:
    lead = person("lead", display_name="Inès Haddad", public_identity="name")
    treasurer = person("treasurer")
    campaign = launched_campaign(lead=lead, goal=GOAL, title="Numérique pour tous")
    if localstripe is None:
        payouts_ready(campaign.project, lead)
    else:
        stripe_payouts_ready(campaign, lead, localstripe)

    # 1. A visitor reads the page, signs up and backs the campaign.
    page = new_page(browser)
    page.goto(f"{base}/campaigns/{campaign.slug}/")
    assert (figure(page, "committed"), figure(page, "backers"), bar(page)) == (0, 0, 0)
    page.get_by_role("link", name="Back this project").click()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email address").fill("camille@example.org")
    page.get_by_label("Your name").fill("Camille Martin")
    page.get_by_label("Password", exact=True).fill("a-long-and-unusual-passphrase")
    page.get_by_label("My name").check()
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(f"{base}/campaigns/{campaign.slug}/back/")
    page.get_by_label("Amount").fill("40")
    page.get_by_label("A public message (optional)").fill("Bon courage à toute l'équipe !")
    page.get_by_role("button", name="Continue to the card").click()
    page.wait_for_url(re.compile(r".*/pledges/\d+/card/$"))
    give_card(page, provider)
    page.wait_for_url(re.compile(r".*/pledges/\d+/$"))
    assert page.get_by_text("Your pledge is registered and your card is saved").is_visible()
    pledge = Pledge.objects.get(backer__email="camille@example.org")
    assert (pledge.amount, pledge.status) == (GOAL, "committed")

    # The progress bar moved.
    page.goto(f"{base}/campaigns/{campaign.slug}/")
    assert (figure(page, "committed"), figure(page, "backers"), figure(page, "percentage")) == (
        GOAL,
        1,
        100,
    )
    assert bar(page) == 100
    assert page.locator(".progress > span").get_attribute("style") == "width: 100%"
    wait_until(lambda: any("Your pledge to" in m.subject for m in mail.outbox), "no receipt email")

    # 2. The deadline passes: the close command runs, the worker charges the saved card.
    call_command("campaigns_close_due", "--now", past_deadline(campaign).isoformat(), verbosity=0)
    wait_until(
        lambda: Pledge.objects.get(pk=pledge.pk).status == "collected", "the card was not charged"
    )
    pledge.refresh_from_db()
    assert pledge.charge_entry_id is not None
    wait_until(lambda: any("was charged" in m.subject for m in mail.outbox), "no charge receipt")

    # 3. The lead asks for the first tranche from the dashboard.
    lead_page = new_page(browser)
    log_in(lead_page, base, lead.email, "/lead/")
    first = Milestone.objects.filter(campaign=campaign).order_by("position").first()
    lead_page.get_by_role("button", name=f"Request the tranche “{first.title}”").click()
    assert lead_page.locator(".message.success").inner_text().startswith("Tranche requested")
    first.refresh_from_db()
    assert first.status == "requested"

    # The treasurer approves it in the payments back office (its API), the worker pays it.
    _token, raw = api_token_create(user=treasurer, name="back office", scopes=["admin"])
    approved = httpx.post(
        f"{base}/api/v1/payments/disbursements/{first.disbursement_id}/approve",
        headers={"Authorization": f"Bearer {raw}"},
        timeout=20,
        trust_env=False,
    )
    assert approved.status_code == 200, approved.text
    wait_until(
        lambda: Disbursement.objects.get(pk=first.disbursement_id).status == "paid",
        "the worker did not pay the tranche",
    )

    # 4. The public page and the open ledger show every step.
    public = new_page(browser)
    public.goto(f"{base}/campaigns/{campaign.slug}/")
    assert public.locator(".campaign-head .status").inner_text() == "Succeeded · paying out"
    assert (figure(public, "raised"), figure(public, "committed"), figure(public, "backers")) == (
        GOAL,
        0,
        1,
    )
    assert public.locator(".milestone").first.locator(".status").inner_text() == "Paid"
    backers = public.locator(".backers").inner_text()
    assert "Camille Martin" in backers
    assert "Bon courage" in backers
    code = f"campaign:{campaign.pk}:campaign_escrow:EUR"
    public.goto(f"{base}/api/v1/ledger/accounts/{code}")
    account = public.evaluate("() => JSON.parse(document.body.innerText)")
    assert account["balance"] == GOAL - first.amount
    public.goto(f"{base}/api/v1/ledger/entries?account={code}")
    entries = public.evaluate("() => JSON.parse(document.body.innerText)")["results"]
    assert sorted(entry["kind"] for entry in entries) == ["disbursement", "pledge_charge"]
    public.goto(f"{base}/lead/")  # anonymous: the dashboard asks to log in
    assert "/accounts/login/" in public.url
    lead_page.goto(f"{base}/lead/")
    assert int(lead_page.locator("data.funds-disbursed").get_attribute("value")) == first.amount
    assert int(lead_page.locator("data.funds-escrow").get_attribute("value")) == GOAL - first.amount
    assert Campaign.objects.get(pk=campaign.pk).status == "disbursing"


def stripe_payouts_ready(campaign: Any, lead: Any, localstripe: LocalStripe) -> None:
    from campaigns.services import payments_port
    from payments.models import PayeeAccount

    payments_port.payout_onboarding_start(
        project=campaign.project, user=lead, return_url="http://127.0.0.1/lead/"
    )
    payee = PayeeAccount.objects.get(owner_type="project", owner_id=campaign.project_id)
    localstripe.complete_onboarding(payee.connect_account_id)
    assert payments_port.payout_account_refresh(project_id=campaign.project_id) is not None


@pytest.fixture
def worker_settings(settings):
    settings.CAMPAIGN_PUBLIC_CACHE_SECONDS = 0  # each step reads the page afresh
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


def test_the_backers_journey_with_the_sandbox(browser, live_server, celery_worker, worker_settings):
    worker_settings.PAYMENTS_PROVIDER = "sandbox"
    worker_settings.SITE_URL = live_server.url
    backers_journey(browser, live_server.url, "sandbox")


def test_the_backers_journey_with_stripe_against_localstripe(
    browser, live_server, celery_worker, worker_settings, localstripe
):
    secret = "whsec_campaigns_journey"
    worker_settings.PAYMENTS_PROVIDER = "stripe"
    worker_settings.SITE_URL = live_server.url
    worker_settings.STRIPE_API_BASE = localstripe.url
    worker_settings.STRIPE_SECRET_KEY = localstripe.api_key
    worker_settings.STRIPE_PUBLISHABLE_KEY = localstripe.publishable_key
    worker_settings.STRIPE_JS_URL = localstripe.js_url
    worker_settings.STRIPE_WEBHOOK_SECRET = secret
    with localstripe.webhook(f"{live_server.url}/api/v1/payments/webhooks/stripe", secret):
        backers_journey(browser, live_server.url, "stripe", localstripe)
