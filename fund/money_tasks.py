"""Celery tasks of the fund's money: thin, taking ids, idempotent (safe to run twice).

`fund_money_sweep` (beat, every two minutes) is the sweeper: from the database alone it reserves
and follows matches, pays the redemption queue, and follows the payouts of redemptions and
investments, so work whose publish was lost while the broker was down is caught up.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from common.errors import ApplicationError
from common.queue import enqueue_on_commit

from .models import Investment, Redemption
from .money_enums import REDEMPTION_WAITING, InvestmentStatus, RedemptionStatus
from .services import investments as investment_services
from .services import matching as matching_services
from .services import savings as savings_services
from .services import year as year_services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def redemptions_process_task(currency: str) -> list[int]:
    return savings_services.redemptions_process(currency=currency)


@shared_task(acks_late=True)
def redemption_sync(redemption_id: int) -> str:
    """Told by payments when a redemption's payout moves (DISBURSEMENT_REFERENCE_TASKS)."""
    redemption = savings_services.redemption_sync(redemption_id=redemption_id)
    return redemption.status if redemption else "missing"


@shared_task(acks_late=True)
def investment_sync(investment_id: int) -> str:
    """Told by payments when a grant's or a loan's payout moves."""
    investment = investment_services.investment_sync(investment_id=investment_id)
    return investment.status if investment else "missing"


@shared_task(acks_late=True)
def matching_sweep() -> dict[str, int]:
    return matching_services.matching_sweep()


@shared_task(acks_late=True)
def loans_late_check() -> list[int]:
    return investment_services.loans_late_check()


@shared_task(acks_late=True)
def fund_year_close_previous() -> list[int]:
    """Each January: remunerate the savers and allocate last year's surplus."""
    try:
        return [year.pk for year in year_services.fund_year_close_previous()]
    except ApplicationError as exc:
        logger.error("year close refused: %s (%s)", exc.message, exc.code)
        return []


@shared_task(acks_late=True)
def fund_money_sweep() -> dict[str, int]:
    """Publish again the work whose state says it is still pending."""
    now = timezone.now()
    cutoff = now - settings.FUND_MONEY_SWEEP_GRACE
    enqueue_on_commit(matching_sweep)
    currencies = sorted(
        set(
            Redemption.objects.filter(
                status__in=REDEMPTION_WAITING, notice_ends_at__lte=now
            ).values_list("currency", flat=True)
        )
    )
    for currency in currencies:
        enqueue_on_commit(redemptions_process_task, currency)
    payable = list(
        Redemption.objects.filter(status=RedemptionStatus.PAYABLE, payable_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in payable:
        enqueue_on_commit(redemption_sync, pk)
    approved = list(
        Investment.objects.filter(status=InvestmentStatus.APPROVED, approved_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for pk in approved:
        enqueue_on_commit(investment_sync, pk)
    return {
        "currencies": len(currencies),
        "redemptions": len(payable),
        "investments": len(approved),
    }
