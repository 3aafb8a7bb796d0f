"""Accessibility in a real browser: axe-core (npm, `package.json`) runs in Debian's Chromium on
every page a backer, a lead or a member goes through, in French and in English, and no serious
or critical violation of WCAG 2.1 A/AA is allowed."""

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from campaigns import services
from campaigns.models import Tier
from fund.enums import PollMethod
from ledger.models import JournalEntry
from ledger.services import ledger_blocks_seal
from tests.campaigns.conftest import launched_campaign, person, saved_card, stripe_float
from tests.factories import MembershipFactory
from tests.fixtures import require_service
from tests.fund.factories import decided_poll, funded_round, make_poll, member
from tests.fund.factories import open_round as round_opened

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
LOCALES = {"en": "en-GB", "fr": "fr-FR"}


@pytest.fixture
def browser() -> Iterator[Any]:
    require_service("Chromium", CHROMIUM.exists(), f"install Debian's chromium at {CHROMIUM}")
    require_service("axe-core", AXE.exists(), "run `npm ci` at the repository root")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM is used beside Playwright's loop
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


def _context(browser: Any, base: str, language: str, user: Any = None) -> Any:
    # axe is injected as a script: a page's Content-Security-Policy would refuse it.
    context = browser.new_context(locale=LOCALES[language], bypass_csp=True)
    if user is not None:  # a real session, as the login form would open it
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base}])
    return context


def _axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async (tags) => await axe.run(document, {
            runOnly: {type: "tag", values: tags},
            resultTypes: ["violations"],
        })""",
        WCAG,
    )
    assert results["passes"], "axe checked nothing on this page"
    return [v for v in results["violations"] if v["impact"] in BLOCKING]


def _audit(context: Any, base: str, path: str, *, submit: dict[str, str] | None = None) -> Any:
    """The page as it loads, or, with `submit`, as it comes back from a form with errors."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    response = page.goto(f"{base}{path}")
    assert response is not None
    assert response.status == 200, f"{path} answered {response.status}"
    assert page.url.rstrip("/").endswith(path.split("?")[0].rstrip("/")), (path, page.url)
    if submit:
        for selector, value in submit.items():
            page.locator(selector).fill(value)
        with page.expect_navigation():
            page.locator("main form [type=submit]").first.click()
        assert page.locator("main").inner_text(), path
    violations = _axe(page)
    page.close()
    return violations


def _describe(path: str, language: str, violation: dict[str, Any]) -> str:
    nodes = "\n".join(
        f"      at {json.dumps(node['target'])}: {node['html'][:160]}\n"
        f"         {node.get('failureSummary', '').replace(chr(10), ' ')[:300]}"
        for node in violation["nodes"][:5]
    )
    return (
        f"  [{language}] {path}: {violation['impact']} {violation['id']} — {violation['help']}"
        f" ({len(violation['nodes'])} element(s))\n{nodes}"
    )


def _site() -> dict[str, Any]:
    """A platform with something on every page: a live campaign with a reward and backers, a
    booked and sealed payment, open and decided polls and rounds."""
    lead = person("lead", display_name="Inès Haddad", public_identity="name")
    campaign = launched_campaign(lead=lead, goal=40_000, title="Numérique pour tous")
    Tier.objects.create(campaign=campaign, title="Merci !", amount=1_000, description="Un mot.")
    backer = person(display_name="Camille Martin", public_identity="name")
    MembershipFactory(user=backer, shares=1)  # a member too: votes and rounds
    pledge = services.pledge_create(
        backer=backer,
        campaign=campaign,
        amount=2_500,
        public_message="Bon courage !",
        payment_method_id=saved_card(backer).pk,
    )
    waiting = services.pledge_create(backer=backer, campaign=campaign, amount=1_500)
    stripe_float(5_000)  # a keep-it-all pledge charged at once: entries in the open ledger
    ledger_blocks_seal()
    entry = JournalEntry.objects.order_by("pk").first()
    assert entry is not None
    voters = [member() for _ in range(3)]
    open_poll = make_poll(
        method=PollMethod.MAJORITY_JUDGMENT, options=("Inclusion numérique", "Données ouvertes")
    )
    from fund.services.governance import poll_open

    open_poll = poll_open(poll=open_poll)
    decided = decided_poll([(v, {"choice": "yes"}) for v in voters], title="Statuts")
    live_round = round_opened(projects=[("Repair café", 3_000), ("Fab lab", 8_000)])
    done_round = funded_round(
        [(v, ["1"]) for v in voters], projects=[("Cartes ouvertes", 2_000)], budget=10_000
    )
    return {
        "lead": lead,
        "backer": backer,
        "anonymous": [
            "/",
            "/accounts/signup/",
            "/accounts/login/",
            "/accounts/password-reset/",
            "/campaigns/",
            f"/campaigns/{campaign.slug}/",
            f"/campaigns/{campaign.slug}/back/",
            f"/campaigns/{campaign.slug}/embed/",
            "/ledger/",
            "/ledger/accounts/",
            "/ledger/blocks/",
            f"/ledger/entries/{entry.pk}/",
            "/votes/",
            f"/votes/{decided.pk}/results/",
            "/rounds/",
            f"/rounds/{done_round.pk}/results/",
        ],
        "backer_pages": [
            "/account/",
            f"/campaigns/{campaign.slug}/",
            f"/campaigns/{campaign.slug}/back/",
            f"/pledges/{pledge.pk}/",
            f"/pledges/{waiting.pk}/card/",
            f"/votes/{open_poll.pk}/",
            f"/rounds/{live_round.pk}/",
        ],
        "lead_pages": ["/lead/"],
        # Forms sent back with errors: the messages must be as readable as the rest.
        "with_errors": [
            (None, "/accounts/login/", {"#id_username": "nobody@example.org", "#id_password": "x"}),
            (backer, f"/campaigns/{campaign.slug}/back/", {"#id_amount": "0"}),
        ],
    }


def test_no_serious_or_critical_violation_on_any_page(browser, live_server):
    site = _site()
    base = live_server.url
    report: list[str] = []
    audited = 0
    for language in LOCALES:
        for user, paths in (
            (None, site["anonymous"]),
            (site["backer"], site["backer_pages"]),
            (site["lead"], site["lead_pages"]),
        ):
            context = _context(browser, base, language, user)
            for path in paths:
                report += [_describe(path, language, v) for v in _audit(context, base, path)]
                audited += 1
            context.close()
        for user, path, fields in site["with_errors"]:
            context = _context(browser, base, language, user)
            violations = _audit(context, base, path, submit=fields)
            report += [_describe(f"{path} (with errors)", language, v) for v in violations]
            audited += 1
            context.close()
    assert not report, (
        f"axe-core found serious or critical WCAG 2.1 A/AA violations on {audited} pages:\n"
        + "\n".join(report)
    )
    assert audited == 2 * 26


def test_the_audit_catches_a_violation(browser, live_server):
    """The check is live: a page with an unlabelled field and an empty link fails it."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><h1>Form</h1>'
        '<input type="text"><a href="/x"></a></main></body></html>'
    )
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    found = {v["id"]: v["impact"] for v in results["violations"]}
    context.close()
    assert found.get("label") == "critical"
    assert found.get("link-name") == "serious"
