"""Pages for campaigns, pledges, embeds and the lead dashboard.

Anonymous readers of the list and detail pages get a shared, cached page that sets no cookie
(no CSRF token, no session): the pledge form lives on its own page. Templates call selectors and
never compute money.
"""

import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from campaigns import selectors, services
from campaigns.enums import (
    CANCELLABLE_STATUSES,
    PUBLIC_STATUSES,
    CampaignStatus,
    MilestoneStatus,
    PledgeStatus,
    SSECriterion,
)
from campaigns.forms import PledgeForm, SandboxCardForm, UpdateForm
from campaigns.models import Campaign, Pledge, Project
from campaigns.services import payments_port
from common.errors import ApplicationError
from common.microcache import public_memo
from members.selectors import user_from_request

logger = logging.getLogger(__name__)

LIST_PAGE_SIZE = 24


# --- caching for anonymous readers ------------------------------------------------------------


def _ttl() -> int:
    return int(settings.CAMPAIGN_PUBLIC_CACHE_SECONDS)


def _shared(
    request: HttpRequest, key: str, build: Any, *, public_header: bool = True
) -> HttpResponse:
    """A page shared by every anonymous reader: cached a few seconds, and free of cookies."""
    ttl = _ttl()
    full_key = f"campaigns:page:{key}:{translation.get_language()}"
    content = public_memo.get(full_key) if ttl > 0 else None
    if content is None and ttl > 0:
        content = cache.get(full_key)
        if content is not None:
            public_memo.set(full_key, content)
    if content is None:
        content = build().content
        if ttl > 0:
            cache.set(full_key, content, ttl)
    response = HttpResponse(content)
    if ttl > 0:
        patch_cache_control(response, public=True, max_age=ttl)
    patch_vary_headers(response, ["Accept-Language", "Cookie"])
    return response


def _anonymous_context() -> dict[str, Any]:
    # No CSRF token: rendering one would set a cookie and make the page private.
    return {"csrf_token": "", "shared_page": True}


# --- list and detail --------------------------------------------------------------------------


def campaign_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    theme = request.GET.get("theme", "")
    page_number = request.GET.get("page", "1")
    if status and status not in PUBLIC_STATUSES:
        status = ""

    def build(extra: dict[str, Any]) -> HttpResponse:
        campaigns = selectors.campaign_public_list(status=status or None, theme=theme or None)
        page = Paginator(campaigns.order_by("-launched_at", "-id"), LIST_PAGE_SIZE).get_page(
            page_number
        )
        items = list(page.object_list)
        progress = selectors.campaigns_progress_many(items)
        return render(
            request,
            "frontend/campaigns/list.html",
            {
                "page": page,
                "cards": [(c, progress[c.pk]) for c in items],
                "themes": selectors.theme_list(),
                "statuses": [(s.value, s.label) for s in CampaignStatus if s in PUBLIC_STATUSES],
                "status": status,
                "theme": theme,
                **extra,
            },
        )

    if request.user.is_authenticated:
        return build({})
    key = "list:" + urlencode(
        sorted((k, v) for k, v in request.GET.items() if k in {"status", "theme", "page"})
    )
    return _shared(request, key, lambda: build(_anonymous_context()))


def _detail_context(campaign: Campaign, progress: selectors.Progress) -> dict[str, Any]:
    project = campaign.project
    criteria = {c.criterion: c for c in project.criteria.all()}
    chart = selectors.campaign_chart_get(campaign)
    return {
        "campaign": campaign,
        "project": project,
        "progress": progress,
        "chart": chart,
        "criteria": [(value, label, criteria.get(value)) for value, label in SSECriterion.choices],
        "team": [lead.user.public_name for lead in project.team.select_related("user")],
        "tiers": list(campaign.tiers.all()),
        "budget_lines": list(campaign.budget_lines.all()),
        "budget_total": sum(line.amount for line in campaign.budget_lines.all()),
        "milestones": selectors.milestones_with_payouts(campaign),
        "updates": list(selectors.campaign_updates(campaign)[:10]),
        "backers": [
            (selectors.backer_name(p), p.public_message, p.created_at)
            for p in selectors.campaign_backers_public(campaign).order_by("-id")[:50]
        ],
        "escrow_account": selectors.campaign_escrow_code(campaign),
        "site_url": settings.SITE_URL.rstrip("/"),
        "is_live": campaign.status == CampaignStatus.LIVE,
    }


def campaign_detail(request: HttpRequest, slug: str) -> HttpResponse:
    def load() -> Campaign:
        campaign = selectors.campaign_public_get(slug=slug)
        if campaign is None:
            raise Http404
        return campaign

    if request.user.is_authenticated:
        campaign = load()
        context = _detail_context(campaign, selectors.campaign_progress_get(campaign))
        context["my_pledges"] = list(
            selectors.backer_pledges(request.user).filter(campaign=campaign).order_by("-id")[:5]
        )
        return render(request, "frontend/campaigns/detail.html", context)

    def build() -> HttpResponse:
        campaign = load()
        context = _detail_context(campaign, selectors.campaign_progress_cached(campaign))
        return render(
            request, "frontend/campaigns/detail.html", {**context, **_anonymous_context()}
        )

    return _shared(request, f"detail:{slug}", build)


@csrf_exempt
@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The language switch of shared pages: they carry no CSRF token, and a display
    language is all this can change."""
    return set_language(request)


# --- embeds -----------------------------------------------------------------------------------


@xframe_options_exempt
@require_GET
def campaign_embed(request: HttpRequest, slug: str) -> HttpResponse:
    """A small progress widget for other sites (an iframe)."""
    language = request.GET.get("lang")
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = translation.get_language()

    def build() -> HttpResponse:
        campaign = selectors.campaign_public_get(slug=slug)
        if campaign is None:
            raise Http404
        return render(
            request,
            "frontend/campaigns/embed.html",
            {
                "campaign": campaign,
                "progress": selectors.campaign_progress_cached(campaign),
                "site_url": settings.SITE_URL.rstrip("/"),
                "csrf_token": "",
            },
        )

    with translation.override(language):
        response = _shared(request, f"embed:{slug}", build)
        response["Content-Language"] = language
    response["Content-Security-Policy"] = (
        "frame-ancestors *; default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'"
    )
    return response


BADGE_HEIGHT = 20


def _text_width(text: str) -> int:
    return 7 * len(text) + 12  # a close enough estimate for a sans-serif at 11px


@require_GET
def campaign_badge(request: HttpRequest, slug: str) -> HttpResponse:
    """An SVG progress badge. Every piece of text is escaped."""
    language = request.GET.get("lang")
    if language not in {code for code, _name in settings.LANGUAGES}:
        language = translation.get_language()
    with translation.override(language):

        def build() -> HttpResponse:
            campaign = selectors.campaign_public_get(slug=slug)
            if campaign is None:
                raise Http404
            progress = selectors.campaign_progress_cached(campaign)
            from common.money import format_money

            label = "Bien Commun"
            value = _("%(percentage)s%% · %(raised)s") % {
                "percentage": progress.percentage,
                "raised": format_money(progress.raised + progress.committed, campaign.currency),
            }
            left = _text_width(label)
            right = _text_width(value)
            svg = render_to_string(
                "frontend/campaigns/badge.svg",
                {
                    "title": f"{campaign.title}: {value}",
                    "label": label,
                    "value": value,
                    "left": left,
                    "right": right,
                    "width": left + right,
                    "height": BADGE_HEIGHT,
                    "label_x": left // 2,
                    "value_x": left + right // 2,
                    "progress": progress,
                },
            )
            return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")

        response = _shared(request, f"badge:{slug}", build)
    response["Content-Type"] = "image/svg+xml; charset=utf-8"
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


# --- backing a campaign -----------------------------------------------------------------------


def pledge_start(request: HttpRequest, slug: str) -> HttpResponse:
    """The pledge form: amount, reward, anonymity and a public message. The card comes next."""
    campaign = selectors.campaign_public_get(slug=slug)
    if campaign is None:
        raise Http404
    if not request.user.is_authenticated:
        here = reverse("frontend:pledge", args=[slug])
        return render(
            request,
            "frontend/campaigns/sign_in_to_back.html",
            {
                "campaign": campaign,
                "signup_url": reverse("frontend:signup") + "?" + urlencode({"next": here}),
                "login_url": reverse("frontend:login") + "?" + urlencode({"next": here}),
            },
        )
    tiers = list(campaign.tiers.all())
    form = PledgeForm(request.POST or None, campaign=campaign, tiers=tiers)
    status_code = 200
    if request.method == "POST":
        status_code = 400
        if form.is_valid():
            try:
                pledge = services.pledge_create(
                    backer=user_from_request(request),
                    campaign=campaign,
                    amount=form.cleaned_data["amount"],
                    tier=form.cleaned_data["tier"],
                    is_anonymous=form.cleaned_data["is_anonymous"],
                    public_message=form.cleaned_data["public_message"],
                )
            except (ApplicationError, ValidationError) as exc:
                _form_errors(form, exc)
                if isinstance(exc, ApplicationError) and exc.status_code == 409:
                    status_code = 409
            else:
                return redirect("frontend:pledge-card", pledge_id=pledge.pk)
    response = render(
        request,
        "frontend/campaigns/pledge.html",
        {
            "campaign": campaign,
            "form": form,
            "progress": selectors.campaign_progress_get(campaign),
            "is_live": campaign.status == CampaignStatus.LIVE,
        },
    )
    response.status_code = status_code
    return response


def _error_text(exc: ApplicationError | ValidationError) -> str:
    if isinstance(exc, ApplicationError):
        return exc.message
    return "; ".join(exc.messages)


def _form_errors(form: Any, exc: ApplicationError | ValidationError) -> None:
    if isinstance(exc, ApplicationError):
        fields = exc.fields or {"__all__": [exc.message]}
    else:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for field, errors in fields.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def _my_pledge(request: HttpRequest, pledge_id: int) -> Pledge:
    return get_object_or_404(
        selectors.backer_pledges(user_from_request(request)).select_related("campaign__project"),
        pk=pledge_id,
    )


CARD_STEP_STATUSES = {PledgeStatus.PENDING, PledgeStatus.COMMITTED, PledgeStatus.CHARGE_FAILED}


def _card_given(request: HttpRequest, pledge: Pledge, payment_method_id: int) -> HttpResponse:
    """The card is saved: commit the pledge (or charge it), then show the receipt."""
    pledge = services.pledge_card_set(
        pledge=pledge, actor=user_from_request(request), payment_method_id=payment_method_id
    )
    if pledge.status in {PledgeStatus.COLLECTING, PledgeStatus.CHARGE_FAILED} or (
        pledge.status == PledgeStatus.COMMITTED
        and pledge.campaign.status in {CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING}
    ):
        # Keep-it-all, or a retry: the backer is here, so charge now and show the outcome.
        services.pledge_collect(pledge_id=pledge.pk)
    return redirect("frontend:pledge-receipt", pledge_id=pledge.pk)


@login_required
def pledge_card(request: HttpRequest, pledge_id: int) -> HttpResponse:
    """The card step: a saved card, the sandbox's form, or Stripe's Payment Element."""
    pledge = _my_pledge(request, pledge_id)
    if pledge.status not in CARD_STEP_STATUSES:
        return redirect("frontend:pledge-receipt", pledge_id=pledge.pk)
    user = user_from_request(request)
    sandbox = payments_port.is_sandbox()
    card_form = SandboxCardForm(
        request.POST if request.POST.get("action") == "sandbox_card" else None
    )
    error = ""
    status_code = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        status_code = 400
        try:
            if action == "saved":
                method_id = int(request.POST.get("payment_method", "0") or 0)
                return _card_given(request, pledge, method_id)
            if action == "sandbox_card" and sandbox:
                setup_intent = request.POST.get("setup_intent", "")
                if card_form.is_valid():
                    month, year = card_form.cleaned_data["expiry"]
                    setup = payments_port.sandbox_card_setup_confirm(
                        user=user,
                        setup_intent_id=setup_intent,
                        number=card_form.cleaned_data["number"],
                        exp_month=month,
                        exp_year=year,
                    )
                    response = _after_setup(request, pledge, setup)
                    if response is not None:
                        return response
                    error = _("The card could not be saved.")
            elif action == "stripe_setup" and not sandbox:
                setup = payments_port.card_setup_complete(
                    user=user, setup_intent_id=request.POST.get("setup_intent", "")
                )
                response = _after_setup(request, pledge, setup)
                if response is not None:
                    return response
                error = setup.failure_message or _("The card could not be saved.")
            else:
                error = _("Choose a card.")
        except ApplicationError as exc:
            error = exc.message
            status_code = 402 if exc.code in {"card_declined", "authentication_required"} else 400
        except ValueError:
            error = _("Choose a card.")
    elif request.GET.get("setup_intent") and not sandbox:
        # Back from a redirect that Stripe needed (the bank's page): finish the setup.
        try:
            setup = payments_port.card_setup_complete(
                user=user, setup_intent_id=request.GET["setup_intent"]
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            response = _after_setup(request, pledge, setup)
            if response is not None:
                return response
            error = setup.failure_message or _("The card could not be saved.")
    setup_start = payments_port.card_setup_start(user=user)
    response = render(
        request,
        "frontend/campaigns/card.html",
        {
            "pledge": pledge,
            "campaign": pledge.campaign,
            "saved_cards": payments_port.saved_methods_list(user=user),
            "card_form": card_form,
            "setup": setup_start,
            "sandbox": sandbox,
            "error": error,
            "return_url": settings.SITE_URL.rstrip("/")
            + reverse("frontend:pledge-card", args=[pledge.pk]),
        },
    )
    response.status_code = status_code
    return response


def _after_setup(request: HttpRequest, pledge: Pledge, setup: Any) -> HttpResponse | None:
    if setup.status == "succeeded" and setup.saved_method_id:
        return _card_given(request, pledge, setup.saved_method_id)
    if setup.status == "requires_action":
        query = urlencode({"setup_intent": setup.provider_setup_intent_id})
        return redirect(reverse("frontend:pledge-authenticate", args=[pledge.pk]) + "?" + query)
    return None


@login_required
def pledge_authenticate(request: HttpRequest, pledge_id: int) -> HttpResponse:
    """The sandbox's stand-in for the bank's 3D Secure page."""
    pledge = _my_pledge(request, pledge_id)
    if not payments_port.is_sandbox():
        raise Http404
    user = user_from_request(request)
    setup_intent = request.GET.get("setup_intent") or request.POST.get("setup_intent", "")
    setup = payments_port.card_setup_get(user=user, setup_intent_id=setup_intent)
    if setup is None:
        raise Http404
    if request.method == "POST":
        setup = payments_port.sandbox_card_setup_authenticate(
            user=user,
            setup_intent_id=setup_intent,
            is_successful=request.POST.get("outcome") == "complete",
        )
        response = _after_setup(request, pledge, setup)
        if response is not None and setup.status == "succeeded":
            return response
        messages.error(request, _("The authentication failed: your card was not saved."))
        return redirect("frontend:pledge-card", pledge_id=pledge.pk)
    return render(
        request,
        "frontend/campaigns/authenticate.html",
        {"pledge": pledge, "campaign": pledge.campaign, "setup_intent": setup_intent},
    )


@login_required
def pledge_receipt(request: HttpRequest, pledge_id: int) -> HttpResponse:
    pledge = _my_pledge(request, pledge_id)
    campaign = pledge.campaign
    return render(
        request,
        "frontend/campaigns/receipt.html",
        {
            "pledge": pledge,
            "campaign": campaign,
            "progress": selectors.campaign_progress_get(campaign),
            "can_cancel": campaign.status == CampaignStatus.LIVE
            and (
                pledge.status in CANCELLABLE_STATUSES
                or (pledge.status == PledgeStatus.COLLECTED and not campaign.is_all_or_nothing)
            ),
            "needs_card": pledge.status in {PledgeStatus.PENDING, PledgeStatus.CHARGE_FAILED},
            "backer_name": selectors.backer_name(pledge),
        },
    )


@login_required
@require_POST
def pledge_cancel(request: HttpRequest, pledge_id: int) -> HttpResponse:
    pledge = _my_pledge(request, pledge_id)
    try:
        services.pledge_cancel(pledge=pledge, actor=user_from_request(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your pledge is cancelled. Nothing will be charged."))
    return redirect("frontend:pledge-receipt", pledge_id=pledge.pk)


# --- the lead's dashboard ---------------------------------------------------------------------


@login_required
def lead_dashboard(request: HttpRequest) -> HttpResponse:
    user = user_from_request(request)
    projects = list(selectors.lead_projects(user))
    campaigns = list(
        selectors.lead_campaigns(user).order_by("-created_at").prefetch_related("milestones")
    )
    progress = selectors.campaigns_progress_many(campaigns)
    rows = []
    for campaign in campaigns:
        rows.append(
            {
                "campaign": campaign,
                "progress": progress[campaign.pk],
                "funds": selectors.campaign_funds_get(campaign),
                "milestones": selectors.milestones_with_payouts(campaign),
                "per_tier": selectors.pledges_per_tier(campaign),
                "can_request": campaign.status
                in {CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING},
                "update_form": UpdateForm(prefix=f"u{campaign.pk}"),
            }
        )
    payees = {p.pk: payments_port.payee_get(project_id=p.pk) for p in projects}
    return render(
        request,
        "frontend/campaigns/dashboard.html",
        {
            "projects": [(p, payees.get(p.pk)) for p in projects],
            "rows": rows,
            "requestable": {MilestoneStatus.PLANNED, MilestoneStatus.FAILED},
        },
    )


def _led_campaign(request: HttpRequest, campaign_id: int) -> Campaign:
    return get_object_or_404(selectors.lead_campaigns(user_from_request(request)), pk=campaign_id)


@login_required
@require_POST
def lead_milestone_request(request: HttpRequest, milestone_id: int) -> HttpResponse:
    milestone = get_object_or_404(
        selectors.lead_milestones(user_from_request(request)), pk=milestone_id
    )
    try:
        services.milestone_request(milestone=milestone, actor=user_from_request(request))
    except (ApplicationError, ValidationError) as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(
            request,
            _("Tranche requested: the treasurer will approve the payout of %(title)s.")
            % {"title": milestone.title},
        )
    return redirect("frontend:lead-dashboard")


@login_required
@require_POST
def lead_update_post(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = _led_campaign(request, campaign_id)
    form = UpdateForm(request.POST, prefix=f"u{campaign.pk}")
    if form.is_valid():
        try:
            services.update_create(
                campaign=campaign, actor=user_from_request(request), **form.cleaned_data
            )
        except (ApplicationError, ValidationError) as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("Update published and sent to the backers."))
    else:
        messages.error(request, _("An update needs a title and a text."))
    return redirect("frontend:lead-dashboard")


@login_required
@require_POST
def lead_campaign_action(request: HttpRequest, campaign_id: int, action: str) -> HttpResponse:
    campaign = _led_campaign(request, campaign_id)
    user = user_from_request(request)
    try:
        if action == "submit":
            services.campaign_submit(campaign=campaign, actor=user)
        elif action == "launch":
            services.campaign_launch(campaign=campaign, actor=user)
        else:
            raise Http404
    except (ApplicationError, ValidationError) as exc:
        text = _error_text(exc)
        details = getattr(exc, "fields", {}) or {}
        for errors in details.values():
            text += " " + " ".join(errors)
        messages.error(request, text)
    return redirect("frontend:lead-dashboard")


@login_required
@require_POST
def lead_payouts_setup(request: HttpRequest, project_id: int) -> HttpResponse:
    """Open the project's payout account (Stripe Connect Express) and follow its onboarding."""
    project = get_object_or_404(selectors.lead_projects(user_from_request(request)), pk=project_id)
    back = settings.SITE_URL.rstrip("/") + reverse(
        "frontend:lead-payouts-return", args=[project.pk]
    )
    try:
        link_url = payments_port.payout_onboarding_start(
            project=project, user=user_from_request(request), return_url=back
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("frontend:lead-dashboard")
    return HttpResponseRedirect(link_url)


@login_required
def lead_payouts_return(request: HttpRequest, project_id: int) -> HttpResponse:
    project: Project = get_object_or_404(
        selectors.lead_projects(user_from_request(request)), pk=project_id
    )
    payee = payments_port.payout_account_refresh(project_id=project.pk)
    if payee is not None:
        messages.success(request, _("The project's payout account is ready."))
    else:
        messages.info(request, _("The payout account is not ready yet: finish the onboarding."))
    return redirect("frontend:lead-dashboard")


urlpatterns = [
    path("campaigns/", campaign_list, name="campaign-list"),
    path("campaigns/language/", language_switch, name="campaign-language"),
    path("campaigns/<slug:slug>/", campaign_detail, name="campaign-detail"),
    path("campaigns/<slug:slug>/back/", pledge_start, name="pledge"),
    path("campaigns/<slug:slug>/embed/", campaign_embed, name="campaign-embed"),
    path("campaigns/<slug:slug>/badge.svg", campaign_badge, name="campaign-badge"),
    path("pledges/<int:pledge_id>/", pledge_receipt, name="pledge-receipt"),
    path("pledges/<int:pledge_id>/card/", pledge_card, name="pledge-card"),
    path("pledges/<int:pledge_id>/authenticate/", pledge_authenticate, name="pledge-authenticate"),
    path("pledges/<int:pledge_id>/cancel/", pledge_cancel, name="pledge-cancel"),
    path("lead/", lead_dashboard, name="lead-dashboard"),
    path(
        "lead/milestones/<int:milestone_id>/request/",
        lead_milestone_request,
        name="lead-milestone-request",
    ),
    path("lead/campaigns/<int:campaign_id>/updates/", lead_update_post, name="lead-update"),
    path(
        "lead/campaigns/<int:campaign_id>/<str:action>/",
        lead_campaign_action,
        name="lead-campaign-action",
    ),
    path("lead/projects/<int:project_id>/payouts/", lead_payouts_setup, name="lead-payouts"),
    path(
        "lead/projects/<int:project_id>/payouts/return/",
        lead_payouts_return,
        name="lead-payouts-return",
    ),
]
