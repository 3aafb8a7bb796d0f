"""The match a pledge would get now, and why: for the pledge form (page and API)."""

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from common.money import format_money

from ..models import MatchingRule, QFRound
from ..money_enums import MatchingRuleStatus, QFRoundStatus
from ..services.matching import (
    MATCHABLE_CAMPAIGN_STATUSES,
    match_compute,
    matching_rule_for,
    rule_covers,
)


@dataclass(frozen=True)
class MatchEstimate:
    campaign_id: int
    amount: int
    currency: str
    rule: MatchingRule | None
    match: int
    uncapped: int
    limited_by: str  # factor, contribution_cap, member_cap, campaign_cap, pool; or a reason
    bounds: dict[str, int] = field(default_factory=dict)
    explanation: str = ""


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency)


def _explain(
    rule: MatchingRule, campaign: Campaign, limited_by: str, bounds: dict[str, int], match: int
) -> str:
    currency = campaign.currency
    factor = f"{rule.factor / 100:g}"  # display only: the computation is exact
    base = _(
        "The fund adds %(factor)s cents for each euro you give, by the rule the members adopted."
    ) % {"factor": factor}
    reasons = {
        "factor": _("Your match: %(match)s."),
        "contribution_cap": _(
            "The match of one contribution is capped at %(cap)s, so your match is %(match)s."
        ),
        "member_cap": _(
            "Each member's matches in one campaign are capped at %(cap)s; you have %(left)s left "
            "here, so your match is %(match)s."
        ),
        "campaign_cap": _(
            "This campaign's matches are capped at %(cap)s; %(left)s is left, so your match is "
            "%(match)s."
        ),
        "pool": _(
            "The matching pool has %(left)s left: when it runs out, matching stops. Your match is "
            "%(match)s."
        ),
    }
    caps = {
        "contribution_cap": rule.contribution_cap,
        "member_cap": rule.member_campaign_cap,
        "campaign_cap": rule.campaign_cap,
    }
    detail = reasons[limited_by] % {
        "match": _money(match, currency),
        "cap": _money(int(caps.get(limited_by) or 0), currency),
        "left": _money(int(bounds.get(limited_by, 0)), currency),
    }
    return f"{base} {detail}"


def match_estimate(*, campaign: Campaign, amount: int, user: Any = None) -> MatchEstimate:
    """What a pledge of `amount` would be matched now (the reservation, made when the pledge is
    counted, may differ if other pledges come first)."""
    currency = campaign.currency
    rule = matching_rule_for(currency=currency, at=timezone.now())

    def unmatched(reason: str, text: str) -> MatchEstimate:
        return MatchEstimate(campaign.pk, amount, currency, rule, 0, 0, reason, {}, text)

    if rule is None:
        return unmatched("no_rule", _("No matchfunding rule is in force at the moment."))
    if campaign.status not in MATCHABLE_CAMPAIGN_STATUSES:
        return unmatched("not_live", _("Matches go to campaigns that are taking pledges."))
    if not rule_covers(rule, campaign):
        return unmatched(
            "theme_not_eligible",
            _("This campaign's theme is not one the members chose for matchfunding."),
        )
    backer_id = user.pk if getattr(user, "is_authenticated", False) else None
    result = match_compute(rule=rule, campaign=campaign, backer_id=backer_id, amount=amount)
    bounds: dict[str, int] = {str(name): int(value) for name, value in result.bounds.items()}
    return MatchEstimate(
        campaign_id=campaign.pk,
        amount=amount,
        currency=currency,
        rule=rule,
        match=result.match,
        uncapped=result.uncapped,
        limited_by=result.limited_by,
        bounds=bounds,
        explanation=_explain(rule, campaign, result.limited_by, bounds, result.match),
    )


def matching_rules_list() -> Any:
    return MatchingRule.objects.prefetch_related("themes").select_related("poll").order_by("-id")


def matching_rule_in_force(*, currency: str) -> MatchingRule | None:
    return (
        MatchingRule.objects.filter(currency=currency, status=MatchingRuleStatus.ACTIVE)
        .prefetch_related("themes")
        .first()
    )


def qf_rounds_list() -> Any:
    return QFRound.objects.prefetch_related("campaigns", "matches").exclude(
        status=QFRoundStatus.CANCELLED
    )
