"""Donations to the grants pool or to a campaign, and their tax receipts.

A donation is never paid back: its money goes to the grants pool, or to the campaign's escrow.
A receipt is issued when the money arrives, numbered per year with no gap (`2026-000042`), with
the tax-deduction rate decided per beneficiary:

- 66% (CGI art. 200-1 b, organisations of general interest): the grants pool, shared interest,
  and campaigns by default;
- 75% (CGI art. 200-1 ter, aid to people in difficulty: free meals, help with housing, free
  care): campaigns of a project the treasurer has recorded as such (`DonationTaxStatus`).

A donation refunded (a mistake, fraud) has its receipt voided, never deleted.
"""

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.enums import CampaignStatus
from campaigns.models import Campaign, Project
from members.enums import Role
from members.selectors import user_has_role
from payments.enums import PaymentPurpose
from payments.models import Payment
from payments.services import payment_create

from ..models import Donation, DonationReceipt, DonationTaxStatus, QFRound, ReceiptSequence
from ..money_enums import (
    DONATION_MACHINE,
    DonationStatus,
    DonationTarget,
    QFRoundStatus,
    ReceiptKind,
    TaxRate,
)
from ..money_exceptions import DonationError, NotAMemberError

# Campaigns that can still use a gift.
DONATION_CAMPAIGN_STATUSES = frozenset(
    {CampaignStatus.LIVE, CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING}
)
GRANTS_POOL_BENEFICIARY = "Bien Commun — common fund (grants pool)"


def donation_tax_rate(*, campaign: Campaign | None) -> int:
    """The rate a receipt states for a gift to this beneficiary (see the module docstring)."""
    if campaign is None:
        return TaxRate.GENERAL_INTEREST
    status = DonationTaxStatus.objects.filter(project_id=campaign.project_id).first()
    return status.tax_rate if status is not None else TaxRate.GENERAL_INTEREST


def donation_tax_status_set(*, project: Project, tax_rate: int, basis: str, actor: Any) -> Any:
    """The treasurer records a project's tax status (75%: aid to people in difficulty)."""
    if not user_has_role(user=actor, role=Role.TREASURER):
        from common.errors import PermissionDeniedError

        raise PermissionDeniedError(_("Only the treasurer can do this."))
    if tax_rate not in TaxRate.values or not basis.strip():
        raise DonationError(
            _("Give a rate of 66 or 75% and the basis for it."), code="invalid_tax_status"
        )
    status, _created = DonationTaxStatus.objects.update_or_create(
        project=project,
        defaults={
            "tax_rate": tax_rate,
            "basis": basis.strip()[:500],
            "decided_by": actor,
            "decided_at": timezone.now(),
        },
    )
    return status


def _validate(
    *, donor: Any, amount: int, currency: str, campaign: Campaign | None, qf_round: QFRound | None
) -> None:
    minimum = int(settings.FUND_DONATION_MIN)
    if type(amount) is not int or not minimum <= amount <= settings.MAX_PAYMENT_AMOUNT:
        raise DonationError(
            _("Give at least the minimum."),
            code="invalid_amount",
            fields={"amount": [_("At least %(minimum)s minor units.") % {"minimum": minimum}]},
        )
    if campaign is not None:
        if campaign.status not in DONATION_CAMPAIGN_STATUSES:
            raise DonationError(
                _("This campaign is not taking donations."),
                code="campaign_not_open",
                status_code=409,
            )
        if campaign.currency != currency:
            raise DonationError(_("The campaign is in another currency."), code="currency_mismatch")
    if qf_round is not None:
        if not user_has_role(user=donor, role=Role.MEMBER):
            raise NotAMemberError(_("Quadratic-funding rounds are for members."))
        now = timezone.now()
        if (
            qf_round.status != QFRoundStatus.OPEN
            or not qf_round.opens_at <= now < qf_round.closes_at
        ):
            raise DonationError(
                _("This round is not open."), code="qf_round_not_open", status_code=409
            )
        if campaign is None or not qf_round.campaigns.filter(pk=campaign.pk).exists():
            raise DonationError(
                _("This campaign is not in the round."),
                code="campaign_not_in_round",
                fields={"campaign": [_("Choose a campaign of the round.")]},
            )
        if qf_round.currency != currency:
            raise DonationError(_("The round is in another currency."), code="currency_mismatch")


def donation_create(
    *,
    donor: Any,
    amount: int,
    currency: str | None = None,
    campaign: Campaign | None = None,
    qf_round: QFRound | None = None,
    idempotency_key: str | None = None,
) -> tuple[Donation, Payment]:
    """Record the donation, then start its payment (outside transactions)."""
    currency = currency or (campaign.currency if campaign else settings.PLATFORM_CURRENCY)
    key = f"donation:{donor.pk}:{idempotency_key or uuid.uuid4().hex}"
    donation = Donation.objects.filter(idempotency_key=key).first()
    if donation is None:
        _validate(
            donor=donor, amount=amount, currency=currency, campaign=campaign, qf_round=qf_round
        )
        try:
            with transaction.atomic(durable=True):
                donation = Donation.objects.create(
                    donor=donor,
                    amount=amount,
                    currency=currency,
                    target=DonationTarget.CAMPAIGN if campaign else DonationTarget.GRANTS_POOL,
                    campaign=campaign,
                    qf_round=qf_round,
                    idempotency_key=key,
                )
        except IntegrityError:  # the same key, concurrently
            donation = Donation.objects.get(idempotency_key=key)
    elif (donation.amount, donation.campaign_id, donation.currency) != (
        amount,
        campaign.pk if campaign else None,
        currency,
    ):
        raise DonationError(
            _("This idempotency key was used for another donation."),
            code="idempotency_conflict",
            status_code=409,
        )
    payment = payment_create(
        purpose=PaymentPurpose.DONATION,
        payer=donor,
        amount=donation.amount,
        currency=donation.currency,
        reference=("donation", donation.pk),
        idempotency_key=f"donation:{donation.pk}",
        description="Donation" + (f" to campaign #{campaign.pk}" if campaign else ""),
    )
    if donation.payment_id != payment.pk:
        Donation.objects.filter(pk=donation.pk).update(payment_id=payment.pk)
        donation.refresh_from_db()
    return donation, payment


def donation_move(donation: Donation, target: str, **changes: Any) -> Donation:
    DONATION_MACHINE.compare_and_set(
        Donation.objects.all(), pk=donation.pk, source=donation.status, target=target, **changes
    )
    donation.refresh_from_db()
    return donation


# --- receipts -----------------------------------------------------------------------------------


def receipt_issue(
    *,
    kind: str,
    donor_id: int,
    amount: int,
    currency: str,
    tax_rate: int,
    beneficiary: str,
    donation: Donation | None = None,
    remuneration: Any = None,
    at: datetime | None = None,
) -> DonationReceipt:
    """The next number of the year, with no gap: taken under the year's sequence row lock."""
    at = at or timezone.now()
    year = timezone.localtime(at).year
    ReceiptSequence.objects.get_or_create(year=year)
    sequence = ReceiptSequence.objects.select_for_update().get(year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return DonationReceipt.objects.create(
        number=f"{year}-{sequence.last:06d}",
        year=year,
        sequence=sequence.last,
        kind=kind,
        donor_id=donor_id,
        amount=amount,
        currency=currency,
        tax_rate=tax_rate,
        beneficiary=beneficiary[:300],
        donation=donation,
        remuneration=remuneration,
        issued_at=at,
    )


def donation_received(*, donation_id: int) -> Donation:
    """The payment settled (inside its transaction): the donation is received, with a receipt."""
    donation = Donation.objects.select_for_update().get(pk=donation_id)
    if donation.status == DonationStatus.SUCCEEDED:
        return donation
    donation = donation_move(donation, DonationStatus.SUCCEEDED, received_at=timezone.now())
    campaign = (
        Campaign.objects.select_related("project").get(pk=donation.campaign_id)
        if donation.campaign_id
        else None
    )
    receipt_issue(
        kind=ReceiptKind.DONATION,
        donor_id=donation.donor_id,
        amount=donation.amount,
        currency=donation.currency,
        tax_rate=donation_tax_rate(campaign=campaign),
        beneficiary=(
            f"{campaign.project.title} — {campaign.title} (via Bien Commun)"
            if campaign
            else GRANTS_POOL_BENEFICIARY
        ),
        donation=donation,
    )
    return donation


def donation_failed(*, donation_id: int) -> None:
    donation = Donation.objects.select_for_update().get(pk=donation_id)
    if donation.status == DonationStatus.PENDING:
        donation_move(donation, DonationStatus.FAILED)


def donation_refunded(*, donation_id: int) -> None:
    """A whole refund (a mistake, fraud): the donation is refunded and its receipt voided."""
    donation = Donation.objects.select_for_update().get(pk=donation_id)
    if donation.status == DonationStatus.SUCCEEDED:
        donation_move(donation, DonationStatus.REFUNDED)
    DonationReceipt.objects.filter(donation=donation, voided_at__isnull=True).update(
        voided_at=timezone.now()
    )
