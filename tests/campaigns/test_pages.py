"""The campaign pages: hostile text stays inert everywhere, progress is the same on every
surface, anonymous pages are shared and cookie-free, and the sandbox pledge flow works
without JavaScript."""

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from django.core import mail

from campaigns import services
from campaigns.enums import FundingModel
from campaigns.models import BudgetLine, CampaignUpdate, Pledge, Project
from members.enums import PublicIdentity

from .conftest import DECLINED, NEEDS_AUTH, launched_campaign, person, saved_card
from .factories import TierFactory

pytestmark = pytest.mark.django_db

HOSTILE = (
    '<script>alert("x")</script> <img src=x onerror=alert(1)> '
    '[click](javascript:alert(1)) <a href="JaVaScRiPt:alert(2)">a</a> '
    '<iframe src="https://evil.example"></iframe> <a href="data:text/html,<script>alert(3)</script>">d</a> '
    '<svg onload=alert(4)><circle/></svg> <div style="background:url(javascript:alert(5))">s</div> '
    '"><script>alert(6)</script>'
)


class Audit(HTMLParser):
    """Collects what would run in a browser: script tags, event handlers, dangerous URLs."""

    def __init__(self, allowed_scripts=()):
        super().__init__()
        self.problems: list[str] = []
        self.allowed_scripts = allowed_scripts

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "iframe", "object", "embed", "svg", "math", "base"}:
            src = dict(attrs).get("src") or ""
            ours = tag == "svg" and dict(attrs).get("class") == "chart-svg"  # the progress chart
            if not ours and not (
                tag == "script" and any(src.endswith(a) for a in self.allowed_scripts)
            ):
                self.problems.append(f"<{tag} {attrs}>")
        for name, value in attrs:
            lowered = (value or "").strip().lower().replace("\t", "").replace("\n", "")
            if name.startswith("on"):
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src", "action", "formaction", "xlink:href"} and (
                lowered.startswith(("javascript:", "data:"))
            ):
                self.problems.append(f"{tag}[{name}={value}]")
            if name == "style" and "javascript:" in lowered:
                self.problems.append(f"{tag}[style]")


OUR_SCRIPTS = ("/static/frontend/match-estimate.js",)  # the pledge form's match estimate


def assert_inert(html: str, *, allowed_scripts=()):
    audit = Audit(allowed_scripts)
    audit.feed(html)
    assert audit.problems == []


@pytest.fixture
def hostile_campaign(django_capture_on_commit_callbacks):
    lead = person("lead", display_name=HOSTILE[:100], public_identity=PublicIdentity.NAME)
    campaign = launched_campaign(
        lead=lead, funding_model=FundingModel.KEEP_IT_ALL, title=HOSTILE[:150]
    )
    Project.objects.filter(pk=campaign.project_id).update(
        title=HOSTILE[:150], summary=HOSTILE[:300], description=HOSTILE,
        links=[{"label": HOSTILE[:80], "url": "https://example.org/?q=\"><script>alert(7)</script>"}],
    )  # fmt: skip
    BudgetLine.objects.filter(campaign=campaign).update(
        label=HOSTILE[:160], description=HOSTILE[:1000]
    )
    TierFactory(campaign=campaign, title=HOSTILE[:120], description=HOSTILE[:1000], amount=1_000)
    CampaignUpdate.objects.create(campaign=campaign, title=HOSTILE[:200], body=HOSTILE)
    backer = person(display_name=HOSTILE[:100], public_identity=PublicIdentity.NAME)
    with django_capture_on_commit_callbacks(execute=True):
        pledge = services.pledge_create(
            backer=backer,
            campaign=campaign,
            amount=2_000,
            public_message=HOSTILE[:500],
            payment_method_id=saved_card(backer).pk,
        )
    campaign.refresh_from_db()
    return {"campaign": campaign, "lead": lead, "backer": backer, "pledge": pledge}


def test_hostile_text_is_inert_on_every_page(client, hostile_campaign):
    campaign = hostile_campaign["campaign"]
    pages = [
        "/",
        "/campaigns/",
        f"/campaigns/{campaign.slug}/",
        f"/campaigns/{campaign.slug}/embed/",
        f"/campaigns/{campaign.slug}/back/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), allowed_scripts=OUR_SCRIPTS)
    client.force_login(hostile_campaign["backer"])
    for path in [
        f"/campaigns/{campaign.slug}/",
        f"/campaigns/{campaign.slug}/back/",
        f"/pledges/{hostile_campaign['pledge'].pk}/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), allowed_scripts=OUR_SCRIPTS)
    client.force_login(hostile_campaign["lead"])
    response = client.get("/lead/")
    assert response.status_code == 200
    assert_inert(response.content.decode())
    # The text is still there, shown as text.
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        in client.get(f"/campaigns/{campaign.slug}/").content.decode()
    )


def test_hostile_markdown_keeps_safe_links_with_nofollow():
    from campaigns.markdown import markdown_render

    html = str(markdown_render("[ok](https://example.org) [mail](mailto:a@example.org) " + HOSTILE))
    assert_inert(html)
    assert '<a href="https://example.org" rel="nofollow noopener">ok</a>' in html
    assert '<a href="mailto:a@example.org" rel="nofollow noopener">mail</a>' in html
    assert "<iframe" not in html
    assert "<svg" not in html
    assert "<script" not in html


def test_the_badge_is_well_formed_svg_with_the_text_escaped(client, hostile_campaign):
    campaign = hostile_campaign["campaign"]
    response = client.get(f"/campaigns/{campaign.slug}/badge.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    root = ET.fromstring(response.content)  # noqa: S314 (our own badge) well-formed: nothing broke out of a text node
    names = {element.tag.split("}")[-1] for element in root.iter()}
    assert names <= {"svg", "title", "rect", "g", "text"}
    assert all(not key.startswith("on") for element in root.iter() for key in element.attrib)
    assert root.find("{http://www.w3.org/2000/svg}title").text.startswith(campaign.title)


def figures(html: str) -> dict[str, int]:
    return {
        m[0]: int(m[1])
        for m in re.findall(r'<data class="figure-([a-z-]+)" value="(-?\d+)">', html)
    }


def test_progress_is_the_same_on_the_api_the_page_and_the_embed(
    client, django_capture_on_commit_callbacks
):
    campaign = launched_campaign(lead=person("lead"), goal=8_000)
    with django_capture_on_commit_callbacks(execute=True):
        for amount in (1_500, 2_750):
            backer = person()
            services.pledge_create(
                backer=backer,
                campaign=campaign,
                amount=amount,
                payment_method_id=saved_card(backer).pk,
            )
    api = client.get(f"/api/v1/campaigns/{campaign.pk}/progress").json()
    page = figures(client.get(f"/campaigns/{campaign.slug}/").content.decode())
    embed = figures(client.get(f"/campaigns/{campaign.slug}/embed/").content.decode())
    detail = client.get(f"/api/v1/campaigns/{campaign.pk}").json()["progress"]
    expected = {"raised": 0, "committed": 4_250, "backers": 2, "percentage": 53, "days-left": 10}
    assert {k: api[k.replace("-", "_")] for k in expected} == expected
    assert {k: page[k] for k in expected} == expected
    assert {k: embed[k] for k in expected} == expected
    assert detail == api
    # The API renders the figures without a serializer per request: exactly what the documented
    # serializer would render, the deadline included.
    from campaigns.apis import ProgressSerializer, progress_payload
    from campaigns.selectors import campaign_progress_get

    progress = campaign_progress_get(campaign)
    assert progress_payload(progress) == dict(ProgressSerializer(progress).data)
    assert api == dict(ProgressSerializer(progress).data)


def test_the_anonymous_campaign_page_is_shared_and_sets_no_cookie(
    client, django_assert_num_queries
):
    campaign = launched_campaign(lead=person("lead"))
    first = client.get(f"/campaigns/{campaign.slug}/")
    assert first.status_code == 200
    assert first.cookies == {}
    assert "public" in first["Cache-Control"]
    assert "max-age=5" in first["Cache-Control"]
    assert 'name="csrfmiddlewaretoken"' not in first.content.decode()
    with django_assert_num_queries(0):
        second = client.get(f"/campaigns/{campaign.slug}/")
    assert second.content == first.content
    with django_assert_num_queries(0):
        progress = client.get(f"/api/v1/campaigns/{campaign.pk}/progress")
    assert progress.status_code == 200
    assert client.get("/campaigns/").cookies == {}


def test_the_shared_page_switches_language_without_a_csrf_cookie(client):
    campaign = launched_campaign(lead=person("lead"))
    response = client.post(
        "/campaigns/language/", {"language": "fr", "next": f"/campaigns/{campaign.slug}/"}
    )
    assert response.status_code == 302
    assert '<html lang="fr">' in client.get(f"/campaigns/{campaign.slug}/").content.decode()


def test_a_signed_in_reader_gets_a_fresh_private_page(client):
    campaign = launched_campaign(lead=person("lead"))
    client.force_login(person())
    response = client.get(f"/campaigns/{campaign.slug}/")
    assert "public" not in response.get("Cache-Control", "")
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_the_embed_can_be_framed_and_the_page_cannot(client):
    campaign = launched_campaign(lead=person("lead"))
    embed = client.get(f"/campaigns/{campaign.slug}/embed/?lang=fr")
    assert "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    assert '<html lang="fr">' in embed.content.decode()
    assert client.get(f"/campaigns/{campaign.slug}/")["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_pages_render_in_french_and_english(client, language):
    campaign = launched_campaign(lead=person("lead"))
    for path in (
        "/campaigns/",
        f"/campaigns/{campaign.slug}/",
        f"/campaigns/{campaign.slug}/embed/",
    ):
        response = client.get(path, HTTP_ACCEPT_LANGUAGE=language)
        assert f'<html lang="{language}">' in response.content.decode()


def test_a_draft_is_not_public(client):
    from .factories import CampaignFactory

    draft = CampaignFactory()
    assert client.get(f"/campaigns/{draft.slug}/").status_code == 404
    assert client.get(f"/api/v1/campaigns/{draft.pk}").status_code == 404


def test_the_sandbox_pledge_flow_works_without_javascript(
    client, django_capture_on_commit_callbacks
):
    campaign = launched_campaign(lead=person("lead"), goal=10_000)
    tier = TierFactory(campaign=campaign, amount=2_000, limit=3)
    backer = person(language="en")
    anonymous_view = client.get(f"/campaigns/{campaign.slug}/back/")
    assert "/accounts/signup/?next=" in anonymous_view.content.decode()
    client.force_login(backer)
    response = client.post(
        f"/campaigns/{campaign.slug}/back/",
        {"amount": "25,50", "tier": str(tier.pk), "is_anonymous": "on", "public_message": "Bravo"},
    )
    pledge = Pledge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/pledges/{pledge.pk}/card/"
    assert (pledge.amount, pledge.tier_id, pledge.is_anonymous, pledge.status) == (
        2_550,
        tier.pk,
        True,
        "pending",
    )
    card_page = client.get(f"/pledges/{pledge.pk}/card/").content.decode()
    assert "Sandbox" in card_page
    setup_intent = re.search(r'name="setup_intent" value="([^"]+)"', card_page)[1]
    declined = client.post(
        f"/pledges/{pledge.pk}/card/",
        {
            "action": "sandbox_card",
            "setup_intent": setup_intent,
            "number": DECLINED,
            "expiry": "12/34",
            "cvc": "123",
        },
    )
    assert declined.status_code == 402
    assert "declined" in declined.content.decode()
    assert Pledge.objects.get(pk=pledge.pk).status == "pending"
    card_page = client.get(f"/pledges/{pledge.pk}/card/").content.decode()
    setup_intent = re.search(r'name="setup_intent" value="([^"]+)"', card_page)[1]
    with django_capture_on_commit_callbacks(execute=True):
        saved = client.post(
            f"/pledges/{pledge.pk}/card/",
            {
                "action": "sandbox_card",
                "setup_intent": setup_intent,
                "number": "4242 4242 4242 4242",
                "expiry": "12/34",
                "cvc": "123",
            },
        )
    assert saved.status_code == 302
    assert saved["Location"] == f"/pledges/{pledge.pk}/"
    assert Pledge.objects.get(pk=pledge.pk).status == "committed"
    receipt = client.get(f"/pledges/{pledge.pk}/").content.decode()
    assert "Your pledge is registered and your card is saved" in receipt
    assert figures(receipt)["committed"] == 2_550
    assert [m.subject for m in mail.outbox] == [f"Your pledge to {campaign.title}"]


def test_a_card_that_asks_for_authentication_goes_through_the_sandbox_bank_page(
    client, django_capture_on_commit_callbacks
):
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    client.force_login(backer)
    client.post(f"/campaigns/{campaign.slug}/back/", {"amount": "30"})
    pledge = Pledge.objects.get()
    setup_intent = re.search(
        r'name="setup_intent" value="([^"]+)"',
        client.get(f"/pledges/{pledge.pk}/card/").content.decode(),
    )[1]
    response = client.post(
        f"/pledges/{pledge.pk}/card/",
        {
            "action": "sandbox_card",
            "setup_intent": setup_intent,
            "number": NEEDS_AUTH,
            "expiry": "12/34",
            "cvc": "123",
        },
    )
    assert response["Location"] == f"/pledges/{pledge.pk}/authenticate/?setup_intent={setup_intent}"
    assert "Complete authentication" in client.get(response["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            f"/pledges/{pledge.pk}/authenticate/",
            {"setup_intent": setup_intent, "outcome": "complete"},
        )
    assert done["Location"] == f"/pledges/{pledge.pk}/"
    assert Pledge.objects.get(pk=pledge.pk).status == "committed"


def test_a_backer_cancels_from_the_receipt(client):
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    pledge = services.pledge_create(
        backer=backer, campaign=campaign, amount=2_000, payment_method_id=saved_card(backer).pk
    )
    client.force_login(backer)
    assert "Cancel my pledge" in client.get(f"/pledges/{pledge.pk}/").content.decode()
    client.post(f"/pledges/{pledge.pk}/cancel/")
    assert Pledge.objects.get(pk=pledge.pk).status == "cancelled"
    client.force_login(person())
    assert client.get(f"/pledges/{pledge.pk}/").status_code == 404


def test_hot_public_answers_are_held_in_the_process_for_a_moment(client, settings, monkeypatch):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from common import microcache

    settings.PUBLIC_MICROCACHE_SECONDS = 1.0
    clock = [1_000.0]
    monkeypatch.setattr(microcache.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(microcache, "public_memo", microcache.MicroCache())
    monkeypatch.setattr("campaigns.selectors.public_memo", microcache.public_memo)
    monkeypatch.setattr("frontend.campaign_views.public_memo", microcache.public_memo)
    campaign = launched_campaign(lead=person("lead"), goal=8_000)
    progress_url, page_url = (
        f"/api/v1/campaigns/{campaign.pk}/progress",
        f"/campaigns/{campaign.slug}/",
    )
    client.get(progress_url), client.get(page_url)  # computed, and shared through the cache
    progress, page = client.get(progress_url).json(), client.get(page_url).content  # now held
    assert progress["committed"] == 0

    backer = person()
    services.pledge_create(
        backer=backer, campaign=campaign, amount=2_000, payment_method_id=saved_card(backer).pk
    )
    cache.clear()  # the shared cache forgets: within the moment the process still answers
    with CaptureQueriesContext(connection) as queries:
        assert client.get(progress_url).json() == progress
        assert client.get(page_url).content == page
    assert len(queries) == 0

    clock[0] += 1.5  # the moment has passed: the figures are read afresh
    assert client.get(progress_url).json()["committed"] == 2_000
    assert client.get(page_url).content != page


def test_the_anonymous_progress_answer_is_rendered_once_while_it_is_held(
    client, settings, monkeypatch
):
    from rest_framework.renderers import JSONRenderer

    from common import microcache

    settings.PUBLIC_MICROCACHE_SECONDS = 1.0
    monkeypatch.setattr(microcache, "public_memo", microcache.MicroCache())
    monkeypatch.setattr("campaigns.selectors.public_memo", microcache.public_memo)
    campaign = launched_campaign(lead=person("lead"), goal=8_000)
    url = f"/api/v1/campaigns/{campaign.pk}/progress"
    first = client.get(url)  # computed from the database, then shared through the cache
    second = client.get(url)  # from the shared figures, rendered and held
    renders: list[int] = []
    original = JSONRenderer.render
    monkeypatch.setattr(
        JSONRenderer, "render", lambda self, *a, **k: renders.append(1) or original(self, *a, **k)
    )
    third = client.get(url)
    assert renders == []
    assert first.content == second.content == third.content
    assert third["Content-Type"] == "application/json"
    assert third.json()["goal"] == 8_000
    # Another rendering of the same figures still goes through the renderer.
    indented = client.get(url, HTTP_ACCEPT="application/json; indent=2")
    assert renders == [1]
    assert indented.json() == third.json()
    assert b"\n" in indented.content
