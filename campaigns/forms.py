"""Forms of the campaign pages: amounts are typed in currency units and become minor units
exactly (decimal arithmetic, never floats)."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.money import CURRENCY_EXPONENTS, format_money

from .models import Campaign, Tier


def amount_to_minor(text: str, currency: str) -> int:
    """'25', '25.5' or '25,50' → 2550 for a two-decimal currency; refuses more decimals."""
    exponent = CURRENCY_EXPONENTS[currency]
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise forms.ValidationError(_("Enter an amount, for example 25 or 25.50.")) from exc
    if not value.is_finite():
        raise forms.ValidationError(_("Enter an amount, for example 25 or 25.50."))
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise forms.ValidationError(_("Too many decimals for this currency."))
    return int(minor)


class PledgeForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    tier = forms.TypedChoiceField(
        label=_("Reward"),
        required=False,
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect,
    )
    is_anonymous = forms.BooleanField(
        label=_("Back anonymously (your name is not shown on the campaign)"), required=False
    )
    public_message = forms.CharField(
        label=_("A public message (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown with your name, or as Anonymous, on the campaign's page."),
    )

    def __init__(self, *args: Any, campaign: Campaign, tiers: list[Tier], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.tiers = {t.pk: t for t in tiers}
        choices: list[tuple[Any, Any]] = [("", _("No reward, just support"))]
        for tier in tiers:
            label = f"{tier.title} — {format_money(tier.amount, campaign.currency)}"
            if tier.remaining is not None:
                label += " · " + (
                    str(_("sold out"))
                    if tier.remaining == 0
                    else ngettext("%(n)s left", "%(n)s left", tier.remaining)
                    % {"n": tier.remaining}
                )
            choices.append((tier.pk, label))
        self.fields["tier"].choices = choices  # type: ignore[attr-defined]
        self.fields["amount"].help_text = _("In %(currency)s. The smallest pledge is %(min)s.") % {
            "currency": campaign.currency,
            "min": format_money(settings.CAMPAIGN_MIN_PLEDGE, campaign.currency),
        }

    def clean_amount(self) -> int:
        return amount_to_minor(self.cleaned_data["amount"], self.campaign.currency)

    def clean_tier(self) -> Tier | None:
        value = self.cleaned_data.get("tier")
        if value is None:
            return None
        tier = self.tiers.get(value)
        if tier is None:
            raise forms.ValidationError(_("Choose one of the rewards."))
        return tier


class SandboxCardForm(forms.Form):
    """The sandbox's card form (test cards only); with Stripe, Stripe.js collects the card."""

    number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    expiry = forms.CharField(
        label=_("Expiry (MM/YY)"),
        max_length=7,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "12/34"}),
    )
    cvc = forms.CharField(
        label=_("Security code (CVC)"),
        max_length=4,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_number(self) -> str:
        digits = "".join(ch for ch in self.cleaned_data["number"] if ch.isdigit())
        if not 12 <= len(digits) <= 19:
            raise forms.ValidationError(_("Enter the card number."))
        return digits

    def clean_expiry(self) -> tuple[int, int]:
        text = self.cleaned_data["expiry"].replace(" ", "")
        try:
            month_text, year_text = text.split("/")
            month, year = int(month_text), int(year_text)
        except ValueError as exc:
            raise forms.ValidationError(_("Enter the expiry as MM/YY.")) from exc
        if year < 100:
            year += 2000
        if not 1 <= month <= 12:
            raise forms.ValidationError(_("Enter the expiry as MM/YY."))
        return month, year

    def clean_cvc(self) -> str:
        cvc = self.cleaned_data["cvc"].strip()
        if not cvc.isdigit() or not 3 <= len(cvc) <= 4:
            raise forms.ValidationError(_("Enter the 3 or 4 digits on the back of the card."))
        return cvc


class UpdateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Markdown. It is emailed to every backer."),
    )
