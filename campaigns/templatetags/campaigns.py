from typing import Any

from django import template
from django.utils.safestring import SafeString

from common.money import format_money

from ..markdown import markdown_render

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(source: str | None) -> SafeString:
    return markdown_render(source)


@register.filter(name="money")
def money_filter(amount: int | None, currency: str) -> str:
    return format_money(int(amount or 0), currency)


@register.filter(name="bar_width")
def bar_width(percentage: int | None) -> int:
    """The progress bar's width: the percentage, capped at 100."""
    return max(0, min(int(percentage or 0), 100))


@register.simple_tag
def live_campaigns(count: int = 3) -> list[tuple[Any, Any]]:
    """Live campaigns closest to their deadline, with their progress (for the home page)."""
    from ..enums import CampaignStatus
    from ..selectors import campaign_public_list, campaigns_progress_many

    campaigns = list(
        campaign_public_list(status=CampaignStatus.LIVE).order_by("deadline")[: int(count)]
    )
    progress = campaigns_progress_many(campaigns)
    return [(c, progress[c.pk]) for c in campaigns]
