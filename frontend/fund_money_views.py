"""Pages of the fund's money: the dashboard (figures and the money-flow chart), my savings
(subscribe, interest share, redeem, my place in the queue), the payment step, the yearly
statement, donations and receipts, and the match explanation.

They work without JavaScript: plain forms, posted and redirected back. Figures come from the
fund's selectors (which read the ledger); the views only format them.
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.enums import CampaignStatus
from campaigns.forms import SandboxCardForm, amount_to_minor
from campaigns.models import Campaign
from common.errors import ApplicationError
from common.money import format_money
from fund.models import QFRound
from fund.money_enums import InterestShare, QFRoundStatus
from fund.sankey import SankeyLayout, sankey_layout
from fund.selectors.matching import match_estimate, matching_rule_in_force
from fund.selectors.money import (
    fund_dashboard_get,
    fund_years,
    investments_public,
    money_flows,
    my_donations,
    my_receipts,
    savings_statement_get,
    savings_summary_get,
    statement_years,
    theme_name,
)
from fund.services.donations import DONATION_CAMPAIGN_STATUSES, donation_create
from fund.services.savings import (
    redemption_cancel,
    redemption_payout_retry,
    redemption_request,
    savings_interest_share_set,
    savings_subscribe,
)
from members.selectors import user_from_request
from payments.enums import PaymentPurpose, PaymentStatus
from payments.models import Payment
from payments.providers import is_sandbox, provider_for
from payments.services import payment_sync
from payments.services.sandbox import sandbox_payment_confirm


def _currency() -> str:
    return str(settings.PLATFORM_CURRENCY)


def _percent(basis_points: int | None) -> str:
    """Basis points shown as a percentage with two decimals, exactly (no float)."""
    if basis_points is None:
        return "—"
    return f"{number_format(Decimal(basis_points).scaleb(-2), decimal_pos=2)}\u00a0%"


class AmountForm(forms.Form):
    amount = forms.CharField(
        label=gettext_lazy("Amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def clean_amount(self) -> int:
        amount = amount_to_minor(self.cleaned_data["amount"], _currency())
        if amount <= 0:
            raise ValidationError(_("Enter an amount above zero."))
        return amount


class InterestShareForm(forms.Form):
    interest_share = forms.TypedChoiceField(
        label=gettext_lazy("The part of my yearly remuneration I give to the grants pool"),
        choices=InterestShare.choices,
        coerce=int,
        widget=forms.RadioSelect,
    )


def _apply_error(form: forms.Form, exc: ApplicationError | ValidationError) -> None:
    if isinstance(exc, ApplicationError):
        for name, errors in (exc.fields or {"__all__": [exc.message]}).items():
            for error in errors:
                form.add_error(name if name in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


# --- the dashboard -------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


# The chart's own names of the flows' nodes, shorter where the full name would run into the next
# column (two columns are about 150px apart). The table and each node's tooltip give the full
# names.
CHART_NAMES: dict[str, Any] = {
    "result": gettext_lazy("Result"),
    "remuneration": gettext_lazy("Remuneration"),
    "loss_provision": gettext_lazy("Loss provision"),
    "loans": gettext_lazy("Loans"),
    "grants": gettext_lazy("Grants"),
    "matches": gettext_lazy("Matches"),
}
NODE_WIDTH = 14  # sankey_layout's default
LABEL_HEIGHT = 16.0  # one line of the chart's 13px labels
LABEL_CHAR_WIDTH = 7.6  # a generous average advance at 13px, so estimates err on the wide side


def _flow_chart(flows: list[Any]) -> SankeyLayout:
    """The Sankey drawing, wide enough for a label between two columns and tall enough for a
    label per node (a column of thin nodes needs a line each)."""
    edges = [(f.source, f.source_label, f.target, f.target_label, f.amount) for f in flows]
    chart = sankey_layout(edges, width=1100, height=400, label_space=170)
    per_column = Counter(node.column for node in chart.nodes)
    most = max(per_column.values(), default=0)
    if most > 4:
        chart = sankey_layout(edges, width=1100, height=400 + 34 * (most - 4), label_space=170)
    return chart


@dataclass(frozen=True)
class ChartLabel:
    """Where a node's label is drawn; `leader` joins it to its node when it had to move away."""

    key: str
    text: str
    x: float
    y: float
    anchor: str
    leader: tuple[float, float, float, float] | None


Box = tuple[float, float, float, float]  # left, top, right, bottom


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _chart_labels(chart: SankeyLayout) -> list[ChartLabel]:
    """Place each node's label beside its node, on its usual side if it is free, else on the
    other side, else a line or more above or below with a leader line. Thin nodes of
    neighbouring columns often sit at the same height, and their labels would cross."""
    rects = {
        node.key: (node.x, node.y, node.x + NODE_WIDTH, node.y + node.height)
        for node in chart.nodes
    }
    placed: list[Box] = []
    labels = []
    for node in sorted(chart.nodes, key=lambda n: (n.column, n.y)):
        text = str(CHART_NAMES.get(node.key, node.label))
        middle = node.y + node.height / 2
        width = LABEL_CHAR_WIDTH * len(text) + 4
        usual, other = ("end", "start") if node.label_anchor == "end" else ("start", "end")
        moves = [step * LABEL_HEIGHT * k for k in range(1, 7) for step in (1, -1)]
        candidates = [(0.0, usual), (0.0, other)]
        candidates += [(offset, usual) for offset in moves] + [(offset, other) for offset in moves]
        chosen = None
        for offset, anchor in candidates:
            x = node.x - 6 if anchor == "end" else node.x + NODE_WIDTH + 6
            y = middle + offset
            box = (
                x - width if anchor == "end" else x,
                y - LABEL_HEIGHT / 2,
                x if anchor == "end" else x + width,
                y + LABEL_HEIGHT / 2,
            )
            inside = box[0] >= 0 and box[2] <= chart.width and box[1] >= 0
            inside = inside and box[3] <= chart.height
            clear = not any(_overlaps(box, taken) for taken in placed) and not any(
                _overlaps(box, rect) for key, rect in rects.items() if key != node.key
            )
            if inside and clear:
                chosen = (x, y, anchor, box)
                break
        if chosen is None:  # nowhere free: its usual place
            x = node.label_x
            chosen = (x, middle, node.label_anchor, (x, middle, x, middle))
        x, y, anchor, box = chosen
        placed.append(box)
        leader = None
        if abs(y - middle) > node.height / 2:
            edge = node.x if anchor == "end" else node.x + NODE_WIDTH
            leader = (edge, middle, x, y)
        labels.append(ChartLabel(node.key, text, x, y, anchor, leader))
    return labels


def fund_dashboard(request: HttpRequest) -> HttpResponse:
    """Savings, lent out, the liquidity ratio, grants, allocation by theme, and the money flows."""
    currency = _currency()
    period = PeriodForm(request.GET or None)
    date_from = date_to = None
    if period.is_valid():
        date_from, date_to = period.cleaned_data["date_from"], period.cleaned_data["date_to"]
    flows = money_flows(currency=currency, date_from=date_from, date_to=date_to)
    chart = _flow_chart(flows)
    chart_labels = _chart_labels(chart)
    dashboard = fund_dashboard_get(currency=currency)
    liquidity = dashboard.liquidity
    rule = matching_rule_in_force(currency=currency)
    return render(
        request,
        "frontend/fund_money/dashboard.html",
        {
            "d": dashboard,
            "liquidity": liquidity,
            "ratio_held": _percent(liquidity.ratio_held),
            "ratio_required": _percent(liquidity.ratio),
            "currency": currency,
            "flows": flows,
            "chart": chart,
            "chart_labels": chart_labels,
            "period": period,
            "rule": rule,
            "rule_themes": [theme_name(theme) for theme in rule.themes.all()] if rule else [],
            "rule_cents": number_format(
                Decimal(rule.factor).scaleb(-2), decimal_pos=0 if rule.factor % 100 == 0 else 2
            )
            if rule
            else "",
            "investments": list(investments_public(currency=currency)[:20]),
            "years": list(fund_years(currency=currency)[:5]),
        },
    )


# --- my savings ---------------------------------------------------------------------------------


@login_required
def savings(request: HttpRequest) -> HttpResponse:
    user = user_from_request(request)
    currency = _currency()
    subscribe_form = AmountForm(prefix="subscribe")
    redeem_form = AmountForm(prefix="redeem")
    summary = savings_summary_get(user=user, currency=currency)
    share_form = InterestShareForm(
        prefix="share", initial={"interest_share": summary.interest_share}
    )
    status_code = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        status_code = 400
        try:
            if action == "subscribe":
                subscribe_form = AmountForm(request.POST, prefix="subscribe")
                if subscribe_form.is_valid():
                    payment = savings_subscribe(
                        user=user, amount=subscribe_form.cleaned_data["amount"], currency=currency
                    )
                    return redirect("frontend:fund-payment", payment_id=payment.pk)
            elif action == "share":
                share_form = InterestShareForm(request.POST, prefix="share")
                if share_form.is_valid():
                    savings_interest_share_set(
                        user=user,
                        interest_share=share_form.cleaned_data["interest_share"],
                        currency=currency,
                    )
                    messages.success(request, _("Your interest share is saved."))
                    return redirect("frontend:savings")
            elif action == "redeem":
                redeem_form = AmountForm(request.POST, prefix="redeem")
                if redeem_form.is_valid():
                    redemption_request(
                        user=user, amount=redeem_form.cleaned_data["amount"], currency=currency
                    )
                    messages.success(
                        request,
                        _("Your request is recorded. It is paid after the notice period, in turn."),
                    )
                    return redirect("frontend:savings")
            elif action in {"cancel", "payout"}:
                redemption = next(
                    (
                        view.redemption
                        for view in summary.redemptions
                        if str(view.redemption.pk) == request.POST.get("redemption")
                    ),
                    None,
                )
                if redemption is None:
                    raise Http404
                if action == "cancel":
                    redemption_cancel(redemption=redemption, actor=user)
                    messages.success(request, _("Your request is withdrawn."))
                else:
                    redemption_payout_retry(redemption=redemption, actor=user)
                    messages.success(request, _("The payout is asked for again."))
                return redirect("frontend:savings")
        except ApplicationError as exc:
            target = {"subscribe": subscribe_form, "redeem": redeem_form, "share": share_form}.get(
                action
            )
            if target is not None:
                _apply_error(target, exc)
            else:
                messages.error(request, exc.message)
            status_code = exc.status_code if exc.status_code in {403, 409} else 400
    response = render(
        request,
        "frontend/fund_money/savings.html",
        {
            "summary": summary,
            "currency": currency,
            "subscribe_form": subscribe_form,
            "redeem_form": redeem_form,
            "share_form": share_form,
            "minimum": format_money(int(settings.FUND_SAVINGS_MIN_SUBSCRIPTION), currency),
            "maximum": format_money(int(settings.FUND_SAVINGS_MAX_PER_MEMBER), currency)
            if settings.FUND_SAVINGS_MAX_PER_MEMBER
            else "",
            "notice_days": int(settings.FUND_REDEMPTION_NOTICE_DAYS),
            "cap": _percent(int(settings.FUND_SAVINGS_REMUNERATION_CAP)),
            "liquidity_ratio": _percent(int(settings.FUND_LIQUIDITY_RATIO)),
            "years": statement_years(user=user),
        },
    )
    response.status_code = status_code
    return response


# --- paying: a savings subscription or a donation -----------------------------------------------


def _after_payment(payment: Payment) -> str:
    if payment.purpose == PaymentPurpose.DONATION:
        from fund.models import Donation

        donation = (
            Donation.objects.filter(pk=payment.reference_id).first()
            if payment.reference_id is not None
            else None
        )
        receipt = getattr(donation, "receipt", None) if donation else None
        if receipt is not None:
            return reverse("frontend:donation-receipt", args=[receipt.number])
        return reverse("frontend:donate")
    return reverse("frontend:savings")


@login_required
def fund_payment(request: HttpRequest, payment_id: int) -> HttpResponse:
    """The card step of a subscription or a donation: the sandbox's form, or Stripe."""
    user = user_from_request(request)
    payment = Payment.objects.filter(
        pk=payment_id,
        payer=user,
        purpose__in=[PaymentPurpose.SAVINGS, PaymentPurpose.DONATION],
    ).first()
    if payment is None:
        raise Http404
    sandbox = is_sandbox()
    card_form = SandboxCardForm(request.POST or None)
    error = ""
    status_code = 200
    if (
        request.method == "POST"
        and sandbox
        and payment.status
        in {
            PaymentStatus.CREATED,
            PaymentStatus.FAILED,
        }
    ):
        status_code = 400
        if card_form.is_valid():
            month, year = card_form.cleaned_data["expiry"]
            try:
                payment = sandbox_payment_confirm(
                    payment=payment,
                    number=card_form.cleaned_data["number"],
                    exp_month=month,
                    exp_year=year,
                )
            except ApplicationError as exc:
                error = exc.message
            else:
                if payment.status == PaymentStatus.SUCCEEDED:
                    messages.success(request, _("Thank you: your payment went through."))
                    return redirect(_after_payment(payment))
                error = payment.failure_message or _("The payment did not go through.")
                status_code = 402
    elif request.GET.get("payment_intent") and not sandbox:
        payment = payment_sync(payment=payment)
        if payment.status == PaymentStatus.SUCCEEDED:
            messages.success(request, _("Thank you: your payment went through."))
            return redirect(_after_payment(payment))
        error = payment.failure_message or _("The payment did not go through.")
    response = render(
        request,
        "frontend/fund_money/payment.html",
        {
            "payment": payment,
            "sandbox": sandbox,
            "card_form": card_form,
            "error": error,
            "is_done": payment.status == PaymentStatus.SUCCEEDED,
            "publishable_key": "" if sandbox else provider_for(payment.provider).publishable_key(),
            "js_url": settings.STRIPE_JS_URL,
            "return_url": settings.SITE_URL.rstrip("/")
            + reverse("frontend:fund-payment", args=[payment.pk]),
            "next_url": _after_payment(payment),
        },
    )
    response.status_code = status_code
    return response


# --- the yearly statement ------------------------------------------------------------------------


def _statement_csv(statement: Any) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    currency = statement.currency
    writer.writerow(["section", "item", "amount_minor_units", "currency"])
    for item, amount in (
        ("opening_balance", statement.opening_balance),
        ("subscriptions", statement.subscriptions),
        ("remuneration_credited", statement.remuneration_credited),
        ("redemptions", statement.redemptions),
        ("refunds", statement.refunds),
        ("closing_balance", statement.closing_balance),
        ("average_balance", statement.average_balance),
    ):
        writer.writerow(["savings", item, amount, currency])
    if statement.remuneration is not None:
        writer.writerow(["remuneration", "amount", statement.remuneration.amount, currency])
        writer.writerow(["remuneration", "shared", statement.remuneration.shared, currency])
        writer.writerow(["remuneration", "credited", statement.remuneration.credited, currency])
    writer.writerow(["share", "savings_pool", str(statement.pool_share), ""])
    for line in statement.loans:
        writer.writerow(["loan", f"{line.title} ({line.theme})", line.my_part, currency])
    writer.writerow(["share", "grants", str(statement.grants_share), ""])
    for line in statement.grants:
        writer.writerow(["grant", f"{line.title} ({line.theme})", line.my_part, currency])
    for receipt in statement.receipts:
        writer.writerow(["receipt", receipt.number, receipt.amount, currency])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="bien-commun-statement-{statement.year}.csv"'
    )
    return response


@login_required
def savings_statement(request: HttpRequest, year: int) -> HttpResponse:
    if not 2000 <= year <= timezone.localdate().year:
        raise Http404
    statement = savings_statement_get(
        user=user_from_request(request), year=year, currency=_currency()
    )
    if request.GET.get("format") == "csv":
        return _statement_csv(statement)
    return render(
        request,
        "frontend/fund_money/statement.html",
        {
            "s": statement,
            "currency": statement.currency,
            "pool_share": _share(statement.pool_share),
            "grants_share": _share(statement.grants_share),
        },
    )


def _share(share: Any) -> str:
    basis_points = share.numerator * 10_000 // share.denominator if share else 0
    return _percent(int(basis_points))


# --- donations and receipts ---------------------------------------------------------------------


class DonationForm(AmountForm):
    campaign = forms.TypedChoiceField(
        label=gettext_lazy("Give to"),
        required=False,
        coerce=int,
        empty_value=None,
    )
    qf_round = forms.TypedChoiceField(
        label=gettext_lazy("Count it in a quadratic-funding round (members)"),
        required=False,
        coerce=int,
        empty_value=None,
    )

    def __init__(self, *args: Any, campaigns: list[Campaign], rounds: list[QFRound], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.campaigns = {c.pk: c for c in campaigns}
        self.rounds = {r.pk: r for r in rounds}
        self.fields["campaign"].choices = [  # type: ignore[attr-defined]
            ("", _("The fund's grants pool")),
            *[(c.pk, c.title) for c in campaigns],
        ]
        self.fields["qf_round"].choices = [  # type: ignore[attr-defined]
            ("", _("No")),
            *[(r.pk, r.title) for r in rounds],
        ]
        if not rounds:
            del self.fields["qf_round"]


@login_required
def donate(request: HttpRequest) -> HttpResponse:
    user = user_from_request(request)
    campaigns = list(
        Campaign.objects.filter(status__in=DONATION_CAMPAIGN_STATUSES).order_by("title")[:200]
    )
    now = timezone.now()
    rounds = list(
        QFRound.objects.filter(status=QFRoundStatus.OPEN, opens_at__lte=now, closes_at__gt=now)
    )
    initial = {}
    if request.GET.get("campaign", "").isdigit():
        initial["campaign"] = int(request.GET["campaign"])
    form = DonationForm(request.POST or None, campaigns=campaigns, rounds=rounds, initial=initial)
    status_code = 200
    if request.method == "POST":
        status_code = 400
        if form.is_valid():
            campaign = form.campaigns.get(form.cleaned_data["campaign"] or 0)
            qf_round = form.rounds.get(form.cleaned_data.get("qf_round") or 0)
            try:
                _donation, payment = donation_create(
                    donor=user,
                    amount=form.cleaned_data["amount"],
                    currency=campaign.currency if campaign else _currency(),
                    campaign=campaign,
                    qf_round=qf_round,
                )
            except ApplicationError as exc:
                _apply_error(form, exc)
                status_code = exc.status_code if exc.status_code in {403, 409} else 400
            else:
                return redirect("frontend:fund-payment", payment_id=payment.pk)
    response = render(
        request,
        "frontend/fund_money/donate.html",
        {
            "form": form,
            "donations": list(my_donations(user=user)[:20]),
            "receipts": list(my_receipts(user=user)[:20]),
            "minimum": format_money(int(settings.FUND_DONATION_MIN), _currency()),
        },
    )
    response.status_code = status_code
    return response


@login_required
def donation_receipt(request: HttpRequest, number: str) -> HttpResponse:
    receipt = my_receipts(user=user_from_request(request)).filter(number=number).first()
    if receipt is None:
        raise Http404
    return render(
        request,
        "frontend/fund_money/receipt.html",
        {"receipt": receipt, "rate": _percent(receipt.tax_rate)},
    )


# --- the match explanation (works without JavaScript) -------------------------------------------


def match_explanation(request: HttpRequest) -> HttpResponse:
    campaign = None
    if request.GET.get("campaign", "").isdigit():
        campaign = (
            Campaign.objects.filter(pk=int(request.GET["campaign"]), status=CampaignStatus.LIVE)
            .select_related("project")
            .first()
        )
    if campaign is None:
        raise Http404
    estimate = None
    form = AmountForm(request.GET if "amount" in request.GET else None)
    if form.is_bound and form.is_valid():
        estimate = match_estimate(
            campaign=campaign, amount=form.cleaned_data["amount"], user=request.user
        )
    return render(
        request,
        "frontend/fund_money/match.html",
        {"campaign": campaign, "form": form, "estimate": estimate},
    )


urlpatterns = [
    path("fund/", fund_dashboard, name="fund-dashboard"),
    path("fund/savings/", savings, name="savings"),
    path("fund/savings/statement/<int:year>/", savings_statement, name="savings-statement"),
    path("fund/pay/<int:payment_id>/", fund_payment, name="fund-payment"),
    path("fund/donate/", donate, name="donate"),
    path("fund/receipts/<str:number>/", donation_receipt, name="donation-receipt"),
    path("fund/match/", match_explanation, name="match-explanation"),
]
