"""Matchfunding with rules the members vote on.

A rule is proposed with a resolution poll (its parameters are fixed before anyone votes) and is in
force once that poll is published as adopted (`matching_rule_adopt`). Each counted pledge made
while a rule is in force, to a campaign of an eligible theme, gets a match computed by
`fund.rules.linear_match` and reserved in the matching pool (pending). The match moves to the
campaign's escrow only when the campaign succeeds and the pledge is collected (committed); it is
released if the campaign fails or the pledge is withdrawn, and reversed if the pledge (or the
whole campaign) is refunded. Reservations never exceed the pool: they are made under the
matching lock.

The fund learns about pledges from the database (`matching_sweep`, on beat every two minutes,
in pledge order), so a pledge's match is reserved within a sweep of its card being saved.
"""

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.enums import (
    BACKER_STATUSES,
    COLLECTED_STATUSES,
    CampaignStatus,
    PledgeStatus,
)
from campaigns.models import Campaign, Pledge, Theme
from fund.rules import LinearMatch, factor_from_basis_points, linear_match
from ledger.enums import AccountPurpose, EntryKind
from ledger.exceptions import InsufficientFundsError
from ledger.selectors import account_balance_get
from ledger.services import credit, debit

from ..enums import PollMethod, PollStatus
from ..models import MatchCommitment, MatchingRule, Poll, QFRound
from ..money_enums import (
    MATCH_MACHINE,
    MATCHING_RULE_MACHINE,
    MatchingRuleStatus,
    MatchStatus,
    QFRoundStatus,
)
from ..money_exceptions import MatchingRuleError, PollNotAdoptedError
from .books import escrow, fund_entry_post, fund_locks_take, matching_key, pool

logger = logging.getLogger(__name__)

SUCCESS_STATUSES = frozenset(
    {CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING, CampaignStatus.COMPLETED}
)
ENDED_UNFUNDED = frozenset({CampaignStatus.FAILED, CampaignStatus.CANCELLED})
# Pledges that will never be collected (nothing was charged).
PLEDGE_GONE = frozenset(
    {PledgeStatus.CANCELLED, PledgeStatus.RELEASED, PledgeStatus.EXPIRED, PledgeStatus.LAPSED}
)
MATCHABLE_CAMPAIGN_STATUSES = frozenset({CampaignStatus.LIVE}) | SUCCESS_STATUSES


# --- rules --------------------------------------------------------------------------------------


def _cap(value: int | None, name: str) -> int | None:
    if value is not None and (type(value) is not int or value < 0):
        raise MatchingRuleError(
            _("A cap is a whole number of minor units, zero or more."),
            code="invalid_cap",
            fields={name: [_("Zero or more minor units.")]},
        )
    return value


def matching_rule_propose(
    *,
    title: str,
    poll: Poll,
    factor: int,
    contribution_cap: int | None = None,
    member_campaign_cap: int | None = None,
    campaign_cap: int | None = None,
    themes: list[Theme] | None = None,
    currency: str | None = None,
    actor: Any = None,
) -> MatchingRule:
    """A rule put to the members with a resolution poll that has not closed yet."""
    if poll.method != PollMethod.RESOLUTION or poll.status not in {
        PollStatus.DRAFT,
        PollStatus.OPEN,
    }:
        raise MatchingRuleError(
            _("A rule is put to a resolution poll before it closes."),
            code="poll_not_suitable",
            status_code=409,
            fields={"poll": [_("A resolution poll, draft or open.")]},
        )
    if type(factor) is not int or not 0 <= factor <= 100_000:
        raise MatchingRuleError(
            _("The factor is in basis points, 0 to 100000."),
            code="invalid_factor",
            fields={"factor": [_("0 to 100000 basis points.")]},
        )
    with transaction.atomic():
        rule = MatchingRule.objects.create(
            title=title[:200],
            currency=currency or settings.PLATFORM_CURRENCY,
            factor=factor,
            contribution_cap=_cap(contribution_cap, "contribution_cap"),
            member_campaign_cap=_cap(member_campaign_cap, "member_campaign_cap"),
            campaign_cap=_cap(campaign_cap, "campaign_cap"),
            poll=poll,
            proposed_by=actor if getattr(actor, "pk", None) else None,
        )
        if themes:
            rule.themes.set(themes)
    return rule


def matching_rules_reject_unadopted(*, poll: Poll) -> int:
    """Once its poll is published without adopting them, the rules it put to the members are
    rejected: they never come into force. Returns how many were."""
    if poll.status != PollStatus.PUBLISHED or (poll.result or {}).get("outcome") == "adopted":
        return 0
    MATCHING_RULE_MACHINE.check(MatchingRuleStatus.PROPOSED, MatchingRuleStatus.REJECTED)
    return MatchingRule.objects.filter(poll=poll, status=MatchingRuleStatus.PROPOSED).update(
        status=MatchingRuleStatus.REJECTED
    )


def matching_rule_adopt(*, poll: Poll, now: datetime | None = None) -> MatchingRule:
    """Put in force the rule a published poll adopted; the previous rule retires."""
    now = now or timezone.now()
    if poll.status != PollStatus.PUBLISHED or (poll.result or {}).get("outcome") != "adopted":
        matching_rules_reject_unadopted(poll=poll)
        raise PollNotAdoptedError()
    with transaction.atomic(durable=True):
        rule = (
            MatchingRule.objects.select_for_update()
            .filter(poll=poll, status=MatchingRuleStatus.PROPOSED)
            .order_by("id")
            .first()
        )
        if rule is None:
            adopted = MatchingRule.objects.filter(poll=poll, status=MatchingRuleStatus.ACTIVE)
            if adopted.exists():
                return adopted.get()
            raise MatchingRuleError(
                _("No rule waits for this poll."), code="no_rule_for_poll", status_code=409
            )
        fund_locks_take(matching_key(rule.currency))
        for previous in MatchingRule.objects.filter(
            currency=rule.currency, status=MatchingRuleStatus.ACTIVE
        ):
            MATCHING_RULE_MACHINE.compare_and_set(
                MatchingRule.objects.all(),
                pk=previous.pk,
                source=MatchingRuleStatus.ACTIVE,
                target=MatchingRuleStatus.RETIRED,
                active_until=now,
            )
        MATCHING_RULE_MACHINE.compare_and_set(
            MatchingRule.objects.all(),
            pk=rule.pk,
            source=MatchingRuleStatus.PROPOSED,
            target=MatchingRuleStatus.ACTIVE,
            active_from=now,
        )
    rule.refresh_from_db()
    return rule


def matching_rule_for(*, currency: str, at: datetime) -> MatchingRule | None:
    """The rule in force at a moment (a pledge's creation)."""
    return (
        MatchingRule.objects.filter(
            currency=currency,
            status__in=[MatchingRuleStatus.ACTIVE, MatchingRuleStatus.RETIRED],
            active_from__lte=at,
        )
        .filter(Q(active_until__isnull=True) | Q(active_until__gt=at))
        .prefetch_related("themes")
        .order_by("-active_from")
        .first()
    )


def rule_covers(rule: MatchingRule, campaign: Campaign) -> bool:
    theme_ids = {t.pk for t in rule.themes.all()}
    return not theme_ids or campaign.project.theme_id in theme_ids


# --- the computation (shared by the estimate and the reservation) --------------------------------


def _net_matched(commitments: Any) -> int:
    return int(
        commitments.filter(status__in=[MatchStatus.PENDING, MatchStatus.COMMITTED]).aggregate(
            total=Sum(F("amount") - F("reversed_amount"))
        )["total"]
        or 0
    )


def matching_pool_available(*, currency: str) -> int:
    """The pool less what is reserved: pending matches and open quadratic-funding rounds."""
    balance = account_balance_get(account=pool(AccountPurpose.MATCHING_POOL, currency))
    pending = (
        MatchCommitment.objects.filter(currency=currency, status=MatchStatus.PENDING).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    qf_reserved = (
        QFRound.objects.filter(currency=currency, status=QFRoundStatus.OPEN).aggregate(
            total=Sum("pool")
        )["total"]
        or 0
    )
    return balance - int(pending) - int(qf_reserved)


def match_compute(
    *, rule: MatchingRule, campaign: Campaign, backer_id: int | None, amount: int
) -> LinearMatch:
    """The match of a contribution now, given what earlier matches used of each cap."""
    of_campaign = MatchCommitment.objects.filter(campaign=campaign)
    member_remaining = None
    if rule.member_campaign_cap is not None:
        used = _net_matched(of_campaign.filter(backer_id=backer_id)) if backer_id else 0
        member_remaining = rule.member_campaign_cap - used
    campaign_remaining = None
    if rule.campaign_cap is not None:
        campaign_remaining = rule.campaign_cap - _net_matched(of_campaign)
    return linear_match(
        amount=amount,
        factor=factor_from_basis_points(rule.factor),
        contribution_cap=rule.contribution_cap,
        member_remaining=member_remaining,
        campaign_remaining=campaign_remaining,
        pool_remaining=max(0, matching_pool_available(currency=rule.currency)),
    )


def match_reserve(*, pledge_id: int) -> MatchCommitment | None:
    """Reserve the match of a counted pledge (once), under the matching lock."""
    pledge = Pledge.objects.select_related("campaign__project").filter(pk=pledge_id).first()
    if pledge is None or hasattr(pledge, "match_commitment"):
        return getattr(pledge, "match_commitment", None)
    campaign = pledge.campaign
    rule = matching_rule_for(currency=pledge.currency, at=pledge.created_at)
    if rule is None or not rule_covers(rule, campaign):
        return None
    with transaction.atomic(durable=True):
        fund_locks_take(matching_key(pledge.currency))
        pledge = Pledge.objects.select_related("campaign").get(pk=pledge_id)
        if MatchCommitment.objects.filter(pledge_id=pledge_id).exists():
            return MatchCommitment.objects.get(pledge_id=pledge_id)
        if (
            pledge.status not in BACKER_STATUSES
            or pledge.campaign.status not in MATCHABLE_CAMPAIGN_STATUSES
        ):
            return None
        result = match_compute(
            rule=rule, campaign=campaign, backer_id=pledge.backer_id, amount=pledge.amount
        )
        return MatchCommitment.objects.create(
            pledge=pledge,
            campaign=campaign,
            backer_id=pledge.backer_id,
            rule=rule,
            currency=pledge.currency,
            contribution=pledge.amount,
            amount=result.match,
            limited_by=result.limited_by,
            bounds=dict(result.bounds),
        )


# --- following the pledge and the campaign -------------------------------------------------------


def _close(commitment: MatchCommitment, target: str, **changes: Any) -> None:
    MATCH_MACHINE.compare_and_set(
        MatchCommitment.objects.all(),
        pk=commitment.pk,
        source=commitment.status,
        target=target,
        **changes,
    )
    commitment.refresh_from_db()


def _due_after_refund(commitment: MatchCommitment, refunded: int) -> int:
    """The match a contribution keeps after a refund, in proportion, rounded down."""
    kept = max(0, commitment.contribution - refunded)
    return commitment.amount * kept // commitment.contribution


def match_sync(*, commitment_id: int) -> MatchCommitment:
    """Bring one match in line with its pledge and its campaign (idempotent)."""
    with transaction.atomic(durable=True):
        commitment = MatchCommitment.objects.select_related("campaign", "pledge").get(
            pk=commitment_id
        )
        fund_locks_take(matching_key(commitment.currency))
        commitment = MatchCommitment.objects.select_for_update().get(pk=commitment_id)
        pledge = Pledge.objects.get(pk=commitment.pledge_id)
        campaign = Campaign.objects.get(pk=commitment.campaign_id)
        now = timezone.now()
        if commitment.status == MatchStatus.PENDING:
            if campaign.status in ENDED_UNFUNDED or pledge.status in PLEDGE_GONE | {
                PledgeStatus.REFUNDED
            }:
                _close(commitment, MatchStatus.RELEASED, closed_at=now)
            elif campaign.status in SUCCESS_STATUSES and pledge.status in COLLECTED_STATUSES:
                due = _due_after_refund(commitment, pledge.refunded_amount)
                entry = None
                if due:
                    entry = fund_entry_post(
                        kind=EntryKind.MATCH,
                        legs=[
                            debit(pool(AccountPurpose.MATCHING_POOL, commitment.currency), due),
                            credit(escrow(campaign.pk, commitment.currency), due),
                        ],
                        idempotency_key=f"match:{commitment.pk}:commit",
                        memo=f"Match of pledge #{pledge.pk}",
                        reference=("match", commitment.pk),
                    )
                _close(
                    commitment,
                    MatchStatus.COMMITTED,
                    entry=entry,
                    committed_at=now,
                    amount=due,
                )
        elif commitment.status == MatchStatus.COMMITTED:
            # A refunded pledge (alone, or with its whole cancelled campaign) takes its match back.
            due = _due_after_refund(commitment, pledge.refunded_amount)
            back = commitment.net_amount - due
            if back > 0:
                reversed_amount = commitment.reversed_amount + back
                try:
                    with transaction.atomic():
                        fund_entry_post(
                            kind=EntryKind.REVERSAL,
                            legs=[
                                debit(escrow(campaign.pk, commitment.currency), back),
                                credit(
                                    pool(AccountPurpose.MATCHING_POOL, commitment.currency), back
                                ),
                            ],
                            idempotency_key=f"match:{commitment.pk}:reverse:{reversed_amount}",
                            memo=f"Match of pledge #{pledge.pk} reversed (refund)",
                            reference=("match", commitment.pk),
                            reverses=commitment.entry,
                        )
                except InsufficientFundsError:
                    # Paid out to the project already: nothing left to take back.
                    logger.warning("match %s: escrow no longer holds %s", commitment.pk, back)
                    return commitment
                if reversed_amount == commitment.amount:
                    _close(
                        commitment,
                        MatchStatus.REVERSED,
                        reversed_amount=reversed_amount,
                        closed_at=now,
                    )
                else:
                    MatchCommitment.objects.filter(pk=commitment.pk).update(
                        reversed_amount=reversed_amount
                    )
                    commitment.refresh_from_db()
    return commitment


def matching_sweep(*, limit: int = 500) -> dict[str, int]:
    """Reserve matches for new counted pledges (in pledge order), then follow the open ones."""
    reserved = 0
    first_rule = (
        MatchingRule.objects.filter(active_from__isnull=False).order_by("active_from").first()
    )
    if first_rule is not None:
        pledges = (
            Pledge.objects.filter(
                status__in=BACKER_STATUSES,
                created_at__gte=first_rule.active_from,
                campaign__status__in=MATCHABLE_CAMPAIGN_STATUSES,
                match_commitment__isnull=True,
            )
            .order_by("created_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        for pledge_id in list(pledges):
            if match_reserve(pledge_id=pledge_id) is not None:
                reserved += 1
    synced = 0
    open_ids = list(
        MatchCommitment.objects.filter(
            Q(status=MatchStatus.PENDING)
            | Q(
                status=MatchStatus.COMMITTED,
                pledge__status__in=[PledgeStatus.PARTIALLY_REFUNDED, PledgeStatus.REFUNDED],
            )
        )
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
    for commitment_id in open_ids:
        before = MatchCommitment.objects.values_list("status", "reversed_amount").get(
            pk=commitment_id
        )
        after = match_sync(commitment_id=commitment_id)
        if (after.status, after.reversed_amount) != before:
            synced += 1
    return {"reserved": reserved, "synced": synced}
