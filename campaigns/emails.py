"""Emails to backers, each in the backer's language."""

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from common.money import format_money

from .models import CampaignUpdate, Pledge


def _url(name: str, *args: Any) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


def _subjects() -> dict[str, str]:
    return {
        "receipt": _("Your pledge to %(campaign)s"),
        "charged": _("Receipt: your pledge to %(campaign)s was charged"),
        "charge_failed": _("Action needed: your pledge to %(campaign)s could not be charged"),
        "lapsed": _("Your pledge to %(campaign)s has lapsed"),
        "released": _("%(campaign)s did not reach its goal: nothing was charged"),
        "refunded": _("Your pledge to %(campaign)s was refunded"),
    }


def pledge_email(pledge: Pledge, kind: str) -> tuple[str, str]:
    """(subject, body) of an email about a pledge."""
    backer = pledge.backer
    campaign = pledge.campaign
    with translation.override(backer.language or settings.LANGUAGE_CODE):
        context = {
            "pledge": pledge,
            "campaign": campaign,
            "backer": backer,
            "amount": format_money(pledge.amount, pledge.currency),
            "refunded": format_money(pledge.refunded_amount, pledge.currency),
            "receipt_url": _url("frontend:pledge-receipt", pledge.pk),
            "card_url": _url("frontend:pledge-card", pledge.pk),
            "campaign_url": _url("frontend:campaign-detail", campaign.slug),
            "is_all_or_nothing": campaign.is_all_or_nothing,
        }
        subject = _subjects()[kind] % {"campaign": campaign.title}
        body = render_to_string(f"campaigns/email/pledge_{kind}.txt", context)
    return subject, body


def update_email(update: CampaignUpdate, language: str) -> tuple[str, str]:
    campaign = update.campaign
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = _("%(campaign)s: %(title)s") % {"campaign": campaign.title, "title": update.title}
        body = render_to_string(
            "campaigns/email/update.txt",
            {
                "update": update,
                "campaign": campaign,
                "campaign_url": _url("frontend:campaign-detail", campaign.slug),
            },
        )
    return subject, body
