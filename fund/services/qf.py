"""Quadratic-funding rounds for members (an optional matchfunding rule).

Opening reserves the round's pool in the matching pool (under the matching lock). Members give
to the round's campaigns through donations marked with the round. Closing computes the matches
with `fund.rules.quadratic_round` (pairwise-bounded, scaled to the pool when saturated, capped per
project with the overflow redistributed, integer cents rounded in the pool's favour) and posts
each from the matching pool to the campaign's escrow; what is not paid stays in the pool.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign
from fund.rules import quadratic_round
from ledger.enums import AccountPurpose, EntryKind
from ledger.services import credit, debit

from ..models import Donation, QFMatch, QFRound
from ..money_enums import QF_ROUND_MACHINE, DonationStatus, QFRoundStatus
from ..money_exceptions import FundMoneyError, MatchingPoolError
from .books import escrow, fund_entry_post, fund_locks_take, matching_key, pool
from .matching import matching_pool_available


def _positive(value: int | None, name: str, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if type(value) is not int or value <= 0:
        raise FundMoneyError(
            _("A positive whole number of minor units."),
            code="invalid_amount",
            fields={name: [_("A positive whole number of minor units.")]},
        )
    return value


def qf_round_create(
    *,
    title: str,
    currency: str,
    pool_amount: int,
    campaigns: list[Campaign],
    opens_at: datetime,
    closes_at: datetime,
    coordination_bound: int | None = None,
    project_cap: int | None = None,
    actor: Any = None,
) -> QFRound:
    _positive(pool_amount, "pool", required=True)
    _positive(coordination_bound, "coordination_bound")
    _positive(project_cap, "project_cap")
    if closes_at <= opens_at:
        raise FundMoneyError(
            _("The round closes after it opens."),
            code="invalid_window",
            fields={"closes_at": [_("After the opening.")]},
        )
    if not campaigns or any(c.currency != currency for c in campaigns):
        raise FundMoneyError(
            _("Choose campaigns in the round's currency."),
            code="invalid_campaigns",
            fields={"campaigns": [_("At least one campaign, in the round's currency.")]},
        )
    with transaction.atomic():
        qf_round = QFRound.objects.create(
            title=title[:200],
            currency=currency,
            pool=pool_amount,
            coordination_bound=coordination_bound,
            project_cap=project_cap,
            opens_at=opens_at,
            closes_at=closes_at,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        qf_round.campaigns.set(campaigns)
    return qf_round


def qf_round_open(*, qf_round: QFRound, now: datetime | None = None) -> QFRound:
    """Reserve the pool; contributions count from now until the round closes."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        fund_locks_take(matching_key(qf_round.currency))
        current = QFRound.objects.select_for_update().get(pk=qf_round.pk)
        QF_ROUND_MACHINE.check(current.status, QFRoundStatus.OPEN)
        if matching_pool_available(currency=current.currency) < current.pool:
            raise MatchingPoolError()
        QF_ROUND_MACHINE.compare_and_set(
            QFRound.objects.all(),
            pk=current.pk,
            source=current.status,
            target=QFRoundStatus.OPEN,
            opened_at=now,
        )
    qf_round.refresh_from_db()
    return qf_round


def qf_round_cancel(*, qf_round: QFRound) -> QFRound:
    QF_ROUND_MACHINE.compare_and_set(
        QFRound.objects.all(),
        pk=qf_round.pk,
        source=qf_round.status,
        target=QFRoundStatus.CANCELLED,
    )
    qf_round.refresh_from_db()
    return qf_round


def qf_round_contributions(*, qf_round: QFRound) -> list[tuple[str, str, int]]:
    """(member, campaign, cents) for every contribution received (refunded ones excluded)."""
    rows = Donation.objects.filter(qf_round=qf_round, status=DonationStatus.SUCCEEDED).values_list(
        "donor_id", "campaign_id", "amount"
    )
    return [(str(donor), str(campaign), int(amount)) for donor, campaign, amount in rows]


def qf_round_close(*, qf_round: QFRound, now: datetime | None = None) -> QFRound:
    """Compute the matches and post them to the campaigns' escrows, once."""
    now = now or timezone.now()
    if now < qf_round.closes_at:
        raise FundMoneyError(
            _("The round is still open: it closes at the end of its window."),
            code="still_running",
            status_code=409,
        )
    with transaction.atomic(durable=True):
        fund_locks_take(matching_key(qf_round.currency))
        current = QFRound.objects.select_for_update().get(pk=qf_round.pk)
        QF_ROUND_MACHINE.check(current.status, QFRoundStatus.CLOSED)
        outcome = quadratic_round(
            qf_round_contributions(qf_round=current),
            pool=current.pool,
            coordination_bound=current.coordination_bound,
            project_cap=current.project_cap,
        )
        projects = {}
        for campaign_id, match in sorted(outcome.projects.items(), key=lambda kv: int(kv[0])):
            entry = None
            if match.match:
                entry = fund_entry_post(
                    kind=EntryKind.MATCH,
                    legs=[
                        debit(pool(AccountPurpose.MATCHING_POOL, current.currency), match.match),
                        credit(escrow(int(campaign_id), current.currency), match.match),
                    ],
                    idempotency_key=f"qf:{current.pk}:{campaign_id}",
                    memo=f"Quadratic-funding round #{current.pk}",
                    reference=("qf_round", current.pk),
                )
            QFMatch.objects.create(
                qf_round=current,
                campaign_id=int(campaign_id),
                contributors=match.contributors,
                contributed=match.contributed,
                raw_match=str(match.raw_match),
                amount=match.match,
                capped=match.capped,
                entry=entry,
            )
            projects[campaign_id] = {
                "contributors": match.contributors,
                "contributed": match.contributed,
                "raw_match": str(match.raw_match),
                "match": match.match,
                "capped": match.capped,
            }
        result = {
            "pool": outcome.pool,
            "coordination_bound": outcome.coordination_bound,
            "project_cap": outcome.project_cap,
            "saturated": outcome.saturated,
            "scale": str(outcome.scale),
            "distributed": outcome.distributed,
            "left_in_pool": outcome.left_in_pool,
            "campaigns": projects,
        }
        QF_ROUND_MACHINE.compare_and_set(
            QFRound.objects.all(),
            pk=current.pk,
            source=current.status,
            target=QFRoundStatus.CLOSED,
            closed_at=now,
            result=result,
        )
    qf_round.refresh_from_db()
    return qf_round
