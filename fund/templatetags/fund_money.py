"""Template tags of the fund's money, for pages of other apps (the pledge form)."""

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("frontend/fund_money/_match_estimate.html", takes_context=True)
def match_estimate_box(context: dict[str, Any], campaign: Any) -> dict[str, Any]:
    """The pledge form's matchfunding estimate: `{% load fund_money %}{% match_estimate_box
    campaign %}` under the amount field. Without JavaScript it links to the explanation page;
    with it, the estimate follows the amount as it is typed."""
    return {"campaign": campaign, "estimate": None, "request": context.get("request")}
