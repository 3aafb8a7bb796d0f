"""Pledges: made while a campaign is live, charged at once (keep-it-all) or when the campaign
succeeds (all-or-nothing, a saved card charged off-session), retried, lapsed, refunded.

Provider calls never run inside a transaction: the pledge's state is committed first, payments
is called, and the result is recorded in a new transaction. The settlement itself (the ledger
entry on the campaign's escrow) is posted by payments, which calls `campaigns.payment_handlers`.
"""

import logging
from collections import Counter
from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Subquery
from django.db.models.functions import Greatest
from django.utils import timezone

from common.db import BIGINT_MAX, CompiledInsert, CompiledQuery
from common.errors import ConflictError, IllegalTransitionError, NotFoundError
from common.queue import enqueue_gathered_on_commit, enqueue_on_commit, publish
from members.models import User

from ..enums import (
    CANCELLABLE_STATUSES,
    COLLECTED_STATUSES,
    PUBLIC_STATUSES,
    CampaignStatus,
    FundingModel,
    PledgeStatus,
    WebhookEventType,
)
from ..exceptions import (
    CampaignNotLiveError,
    PaymentMethodError,
    PledgeAmountError,
    PledgeError,
    TierSoldOutError,
)
from ..machines import pledge_machine
from ..models import Campaign, Pledge, PledgeEvent, PledgeRefund, Tier
from . import payments_port
from .events import PLEDGE_EVENT_INSERT, emit_pledge, pledge_event, pledge_event_add

logger = logging.getLogger(__name__)

# Moves that give a limited tier's place back.
RELEASING = frozenset(
    {PledgeStatus.CANCELLED, PledgeStatus.EXPIRED, PledgeStatus.RELEASED, PledgeStatus.LAPSED}
)
# A charge is possible while the campaign is in one of these.
CHARGEABLE_CAMPAIGN = frozenset(
    {CampaignStatus.LIVE, CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING}
)


def _tasks() -> Any:
    from .. import tasks

    return tasks


def _tier_release(tier_id: int | None, count: int = 1) -> None:
    if tier_id is None:
        return
    Tier.objects.filter(pk=tier_id, limit__isnull=False).update(
        claimed=Greatest(F("claimed") - count, 0)
    )


def pledge_move(
    pledge: Pledge, target: str, actor: Any = None, note: str = "", **changes: Any
) -> Pledge:
    """Compare-and-set one pledge and append its event; inside the caller's transaction."""
    source = str(pledge.status)
    pledge_machine.compare_and_set(
        Pledge.objects.all(), pk=pledge.pk, source=source, target=target, **changes
    )
    pledge_event_add(pledge, source, target, actor, note)
    if target in RELEASING:
        _tier_release(pledge.tier_id)
    for name, value in changes.items():
        setattr(pledge, name, value)
    pledge.status = target
    return pledge


def _attempt_of(idempotency_key: str) -> int | None:
    """Our payments' keys end in the attempt number: pledge:<id>:charge:<n>."""
    parts = idempotency_key.split(":")
    if len(parts) == 4 and parts[0] == "pledge" and parts[2] == "charge" and parts[3].isdigit():
        return int(parts[3])
    return None


# --- making a pledge --------------------------------------------------------------------------


def _amount_check(campaign_id: int, amount: int, tier: Tier | None) -> None:
    if type(amount) is not int or amount < settings.CAMPAIGN_MIN_PLEDGE:
        raise PledgeAmountError(
            fields={"amount": [f"The smallest pledge is {settings.CAMPAIGN_MIN_PLEDGE}."]}
        )
    if amount > settings.MAX_PAYMENT_AMOUNT:
        raise PledgeAmountError(fields={"amount": ["This amount is above the platform's limit."]})
    if tier is not None:
        if tier.campaign_id != campaign_id:
            raise PledgeError(
                "This tier belongs to another campaign.",
                code="tier_invalid",
                fields={"tier": ["Unknown tier."]},
            )
        if amount < tier.amount:
            raise PledgeAmountError(
                fields={"amount": [f"This tier starts at {tier.amount}."]},
            )


def pledge_create(
    *,
    backer: User,
    campaign: Campaign | int,
    amount: int,
    tier: Tier | None = None,
    is_anonymous: bool = False,
    public_message: str = "",
    payment_method_id: int | None = None,
    client_key: str | None = None,
) -> Pledge:
    """Make a pledge on a live campaign.

    With a saved card it is committed at once (all-or-nothing) or charged by a worker
    (keep-it-all); without one it waits for the card. The request path holds no lock on the
    campaign row and posts nothing to the ledger: one query reads the campaign's state, the
    replay of an idempotency key and the card, then the pledge and its event are inserted.
    `campaign` may be given by id: a campaign that is unknown or not public is refused, and the
    returned pledge carries the campaign's public fields from that same query.
    """
    campaign_id = campaign if isinstance(campaign, int) else campaign.pk
    _amount_check(campaign_id, amount, tier)
    now = timezone.now()
    tasks = _tasks()
    if payment_method_id is not None and not 0 < payment_method_id <= BIGINT_MAX:
        raise PaymentMethodError(fields={"payment_method": ["Unknown or removed card."]})
    brief: dict[str, Any] = {}
    # The pledge and its event are one statement (`insert_with`), atomic on its own: a
    # transaction is opened only to claim a limited tier with them, or as a savepoint inside a
    # caller's transaction (a conflict on the idempotency key must not break it).
    claims_tier = tier is not None and tier.limit is not None
    try:
        with (
            transaction.atomic(durable=True)
            if claims_tier or transaction.get_connection().in_atomic_block
            else nullcontext()
        ):
            rows = (
                _PLEDGE_CHECK.rows(
                    campaign=campaign_id,
                    backer=backer.pk,
                    client_key=client_key or None,
                    payment_method=payment_method_id,
                )
                if 0 < campaign_id <= BIGINT_MAX
                else []
            )
            row = rows[0] if rows else None
            if row is None or row["status"] not in PUBLIC_STATUSES:
                raise PledgeError(
                    "The data sent is not valid.",
                    code="validation_error",
                    fields={"campaign": ["Unknown campaign."]},
                )
            brief = {name: row[name] for name in (*BRIEF_FIELDS, "currency")}
            if row["replay"] is not None:
                raise _Replay()
            if payment_method_id is not None and not row["card_ok"]:
                raise PaymentMethodError(fields={"payment_method": ["Unknown or removed card."]})
            if row["status"] != CampaignStatus.LIVE or row["deadline"] <= now:
                raise CampaignNotLiveError()
            currency, model = row["currency"], row["funding_model"]
            if (
                tier is not None
                and claims_tier
                and not Tier.objects.filter(pk=tier.pk, claimed__lt=F("limit")).update(
                    claimed=F("claimed") + 1
                )
            ):
                raise TierSoldOutError(fields={"tier": [TierSoldOutError.default_message]})
            status = PledgeStatus.PENDING
            if payment_method_id is not None:
                status = (
                    PledgeStatus.COMMITTED
                    if model == FundingModel.ALL_OR_NOTHING
                    else PledgeStatus.COLLECTING
                )
            pledge, _event = _PLEDGE_INSERT.insert_with(
                Pledge(
                    campaign_id=campaign_id,
                    backer=backer,
                    tier=tier,
                    amount=amount,
                    currency=currency,
                    status=status,
                    is_anonymous=is_anonymous,
                    public_message=public_message.strip()[:500],
                    payment_method_id=payment_method_id,
                    attempts=1 if status == PledgeStatus.COLLECTING else 0,
                    committed_at=now if status == PledgeStatus.COMMITTED else None,
                    client_key=client_key or None,
                    created_at=now,
                ),
                PLEDGE_EVENT_INSERT,
                pledge_event("", status, backer, "pledged"),
                "pledge",
            )
            if status == PledgeStatus.COMMITTED:
                enqueue_gathered_on_commit(tasks.pledge_receipts_send, pledge.pk)
            elif status == PledgeStatus.COLLECTING:
                enqueue_on_commit(tasks.pledge_collect, pledge.pk)
    except (_Replay, IntegrityError):
        # The same request again, or committed concurrently under the same key.
        existing = (
            Pledge.objects.filter(backer_id=backer.pk, client_key=client_key).first()
            if client_key
            else None
        )
        if existing is None:
            raise
        pledge = _same_request(existing, campaign_id, amount)
    pledge.campaign = (
        campaign if isinstance(campaign, Campaign) else _campaign_read(campaign_id, brief)
    )
    return pledge


# The campaign's fields a pledge's answer shows, read by the pledge's one query.
BRIEF_FIELDS = ("slug", "title", "status", "funding_model")


def _campaign_read(campaign_id: int, fields: dict[str, Any]) -> Campaign:
    """The campaign with the fields the query read; the others are deferred, as with `.only()`."""
    values = {"id": campaign_id, **fields}
    names = [f.attname for f in Campaign._meta.concrete_fields if f.attname in values]
    return Campaign.from_db("default", names, [values[name] for name in names])


def _pledge_check(*, campaign: int, backer: int, client_key: str, payment_method: int) -> Any:
    """The pledge's one read: the campaign's state, the replay of this backer's idempotency key
    and whether the card is theirs and still attached."""
    return (
        Campaign.objects.filter(pk=campaign)
        .annotate(
            replay=Subquery(
                Pledge.objects.filter(backer_id=backer, client_key=client_key).values("pk")[:1]
            ),
            card_ok=payments_port.saved_method_usable(
                user_id=backer, payment_method_id=payment_method
            ),
        )
        .values(*BRIEF_FIELDS, "deadline", "currency", "replay", "card_ok")
    )


# Compiled once: the pledge request runs these every time (common.db).
_PLEDGE_INSERT = CompiledInsert(Pledge)
_PLEDGE_CHECK = CompiledQuery(
    _pledge_check,
    {
        "campaign": -7_000_001,
        "backer": -7_000_002,
        "client_key": "\x00pledge-check:client_key",
        "payment_method": -7_000_003,
    },
)


class _Replay(Exception):
    """An idempotency key already used by this backer: the pledge it made is the answer."""


def _same_request(existing: Pledge, campaign_id: int, amount: int) -> Pledge:
    if existing.campaign_id != campaign_id or existing.amount != amount:
        raise ConflictError(
            "This idempotency key was used for another pledge.", code="idempotency_conflict"
        )
    return existing


def pledge_card_set(*, pledge: Pledge, actor: User, payment_method_id: int) -> Pledge:
    """Give a pledge its card: commits it, charges it (keep-it-all) or retries a failed charge."""
    if pledge.backer_id != actor.pk:
        raise NotFoundError()
    if payments_port.saved_method_get(user=actor, payment_method_id=payment_method_id) is None:
        raise PaymentMethodError(fields={"payment_method": ["Unknown or removed card."]})
    now = timezone.now()
    tasks = _tasks()
    with transaction.atomic(durable=True):
        pledge = Pledge.objects.select_for_update().select_related("campaign").get(pk=pledge.pk)
        campaign = pledge.campaign
        if pledge.status == PledgeStatus.PENDING:
            if campaign.status != CampaignStatus.LIVE or campaign.deadline <= now:
                raise CampaignNotLiveError()
            if campaign.is_all_or_nothing:
                pledge_move(
                    pledge,
                    PledgeStatus.COMMITTED,
                    actor,
                    "card saved",
                    payment_method_id=payment_method_id,
                    committed_at=now,
                )
                enqueue_on_commit(tasks.pledge_receipt_send, pledge.pk)
            else:
                pledge_move(
                    pledge,
                    PledgeStatus.COLLECTING,
                    actor,
                    "card given, charging",
                    payment_method_id=payment_method_id,
                    attempts=pledge.attempts + 1,
                    payment_id=None,
                )
                enqueue_on_commit(tasks.pledge_collect, pledge.pk)
        elif pledge.status == PledgeStatus.COMMITTED:
            Pledge.objects.filter(pk=pledge.pk).update(payment_method_id=payment_method_id)
            pledge_event_add(pledge, pledge.status, pledge.status, actor, "card changed")
            pledge.payment_method_id = payment_method_id
            if campaign.status in {CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING}:
                enqueue_on_commit(tasks.pledge_collect, pledge.pk)
        elif pledge.status == PledgeStatus.CHARGE_FAILED:
            if pledge.retry_until is not None and pledge.retry_until <= now:
                raise PledgeError(
                    "The time to retry this charge has run out.",
                    code="retry_window_over",
                    status_code=409,
                )
            Pledge.objects.filter(pk=pledge.pk).update(
                payment_method_id=payment_method_id, next_retry_at=now
            )
            pledge_event_add(pledge, pledge.status, pledge.status, actor, "new card for a retry")
            pledge.payment_method_id = payment_method_id
            enqueue_on_commit(tasks.pledge_collect, pledge.pk)
        else:
            raise IllegalTransitionError("pledge", pledge.status, PledgeStatus.COMMITTED)
    return pledge


def pledge_cancel(*, pledge: Pledge, actor: User) -> Pledge:
    """The backer withdraws while the campaign is live; a keep-it-all charge is refunded."""
    if pledge.backer_id != actor.pk:
        raise NotFoundError()
    refund = False
    with transaction.atomic(durable=True):
        pledge = Pledge.objects.select_for_update().select_related("campaign").get(pk=pledge.pk)
        campaign = pledge.campaign
        if campaign.status != CampaignStatus.LIVE:
            raise CampaignNotLiveError("A pledge can be cancelled only while the campaign is live.")
        if pledge.status in CANCELLABLE_STATUSES:
            pledge_move(
                pledge,
                PledgeStatus.CANCELLED,
                actor,
                "cancelled by the backer",
                closed_at=timezone.now(),
            )
            emit_pledge(pledge, WebhookEventType.PLEDGE_CANCELLED, campaign.project_id)
        elif pledge.status == PledgeStatus.COLLECTED and not campaign.is_all_or_nothing:
            refund = True
        else:
            raise IllegalTransitionError("pledge", pledge.status, PledgeStatus.CANCELLED)
    if refund:
        pledge_refund(pledge=pledge, actor=actor, reason_key="backer-cancelled")
        pledge.refresh_from_db()
    return pledge


# --- charging ---------------------------------------------------------------------------------


def pledge_collect(*, pledge_id: int) -> Pledge | None:
    """Charge a pledge's saved card (one attempt). Safe to run twice: each attempt has its key."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        pledge = (
            Pledge.objects.select_for_update()
            .select_related("campaign")
            .filter(pk=pledge_id)
            .first()
        )
        if pledge is None:
            return None
        campaign = pledge.campaign
        if pledge.status == PledgeStatus.COMMITTED:
            if campaign.status not in {CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING}:
                return pledge
            pledge_move(
                pledge,
                PledgeStatus.COLLECTING,
                None,
                "charging",
                attempts=pledge.attempts + 1,
                payment_id=None,
                next_retry_at=None,
            )
        elif pledge.status == PledgeStatus.CHARGE_FAILED:
            due = pledge.next_retry_at is not None and pledge.next_retry_at <= now
            open_window = pledge.retry_until is None or pledge.retry_until > now
            if not (due and open_window) or campaign.status not in CHARGEABLE_CAMPAIGN:
                return pledge
            pledge_move(
                pledge,
                PledgeStatus.COLLECTING,
                None,
                "retrying the charge",
                attempts=pledge.attempts + 1,
                payment_id=None,
                next_retry_at=None,
            )
        elif not (pledge.status == PledgeStatus.COLLECTING and pledge.payment_id is None):
            return pledge  # charged, under way, or nothing to do
        attempt = max(pledge.attempts, 1)
        method_id = pledge.payment_method_id
    backer = User.objects.get(pk=pledge.backer_id)
    if method_id is None:
        with transaction.atomic(durable=True):
            pledge = Pledge.objects.select_for_update().get(pk=pledge_id)
            if pledge.status == PledgeStatus.COLLECTING:
                _charge_failed(pledge, "no_card", "No card was saved for this pledge.")
        return pledge
    outcome = payments_port.pledge_charge(
        pledge=pledge, payer=backer, attempt=attempt, payment_method_id=method_id
    )
    with transaction.atomic(durable=True):
        pledge = Pledge.objects.select_for_update().get(pk=pledge_id)
        if pledge.attempts == attempt and outcome.payment_id and pledge.payment_id is None:
            Pledge.objects.filter(pk=pledge.pk).update(payment_id=outcome.payment_id)
            pledge.payment_id = outcome.payment_id
        if (
            pledge.status == PledgeStatus.COLLECTING
            and pledge.attempts == attempt
            and outcome.status in {"failed", "requires_action", "canceled"}
        ):
            _charge_failed(pledge, outcome.failure_code, outcome.failure_message)
    return pledge


def _charge_failed(pledge: Pledge, code: str, message: str) -> None:
    """Open (or keep) the retry window and ask the backer to act; inside a transaction."""
    now = timezone.now()
    retry_until = pledge.retry_until or now + settings.CAMPAIGN_CHARGE_RETRY_WINDOW
    next_retry: Any = now + settings.CAMPAIGN_CHARGE_RETRY_INTERVAL
    if pledge.attempts >= settings.CAMPAIGN_CHARGE_MAX_ATTEMPTS or next_retry >= retry_until:
        next_retry = None
    pledge_move(
        pledge,
        PledgeStatus.CHARGE_FAILED,
        None,
        code or "charge failed",
        failure_code=(code or "charge_failed")[:60],
        failure_message=(message or "")[:300],
        retry_until=retry_until,
        next_retry_at=next_retry,
    )
    emit_pledge(pledge, WebhookEventType.PLEDGE_CHARGE_FAILED)
    enqueue_on_commit(_tasks().pledge_email_send, pledge.pk, "charge_failed")


def pledge_lapse(*, pledge_id: int, now: Any = None) -> Pledge | None:
    """The retry window is over: the pledge lapses and nothing is charged."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        pledge = Pledge.objects.select_for_update().filter(pk=pledge_id).first()
        if (
            pledge is None
            or pledge.status != PledgeStatus.CHARGE_FAILED
            or pledge.retry_until is None
            or pledge.retry_until > now
        ):
            return pledge
        pledge_move(
            pledge,
            PledgeStatus.LAPSED,
            None,
            "retry window over",
            closed_at=now,
            next_retry_at=None,
        )
        emit_pledge(pledge, WebhookEventType.PLEDGE_LAPSED)
        enqueue_on_commit(_tasks().pledge_email_send, pledge.pk, "lapsed")
    return pledge


# --- called by payments, inside its settlement or refund transaction --------------------------


def pledge_payment_succeeded(*, payment: Any, entry: Any) -> None:
    """The charge is booked in the escrow: the pledge is collected."""
    pledge = Pledge.objects.select_for_update().filter(pk=payment.reference_id).first()
    if pledge is None:
        logger.error(
            "payment %s names pledge %s, which does not exist", payment.pk, payment.reference_id
        )
        return
    if pledge.payment_id == payment.pk and pledge.status in {
        *COLLECTED_STATUSES,
        PledgeStatus.REFUNDED,
    }:
        return  # already applied
    if pledge.status in {PledgeStatus.COLLECTING, PledgeStatus.CHARGE_FAILED}:
        pledge_move(
            pledge,
            PledgeStatus.COLLECTED,
            None,
            f"charged by payment {payment.pk}",
            payment_id=payment.pk,
            charge_entry_id=entry.pk if entry is not None else None,
            collected_at=timezone.now(),
            next_retry_at=None,
            failure_code="",
            failure_message="",
        )
        emit_pledge(pledge, WebhookEventType.PLEDGE_COLLECTED)
        enqueue_on_commit(_tasks().pledge_email_send, pledge.pk, "charged")
        return
    # Money for a pledge that no longer wants it (a second attempt that also went through, or a
    # late authentication): it is in the escrow now, and goes straight back.
    logger.warning(
        "payment %s for pledge %s in %s: refunding it", payment.pk, pledge.pk, pledge.status
    )
    pledge_event_add(pledge, pledge.status, pledge.status, None, f"unexpected payment {payment.pk}")
    enqueue_on_commit(_tasks().payment_orphan_refund, payment.pk)


def pledge_payment_failed(*, payment: Any) -> None:
    pledge = Pledge.objects.select_for_update().filter(pk=payment.reference_id).first()
    if pledge is None:
        return
    attempt = _attempt_of(payment.idempotency_key)
    if pledge.status != PledgeStatus.COLLECTING or (
        attempt is not None and attempt != pledge.attempts
    ):
        return  # an older attempt, or already recorded
    if pledge.payment_id is None:
        Pledge.objects.filter(pk=pledge.pk).update(payment_id=payment.pk)
        pledge.payment_id = payment.pk
    _charge_failed(pledge, payment.failure_code, payment.failure_message)


def pledge_payment_refunded(*, payment: Any, refund: Any, entry: Any) -> None:
    pledge = Pledge.objects.select_for_update().filter(pk=payment.reference_id).first()
    if pledge is None or pledge.payment_id != payment.pk:
        return  # a refund of a payment that was never this pledge's charge
    if PledgeRefund.objects.filter(refund_id=refund.pk).exists():
        return
    amount = min(int(refund.amount), pledge.amount - pledge.refunded_amount)
    if amount <= 0:
        return
    PledgeRefund.objects.create(
        pledge=pledge,
        refund_id=refund.pk,
        amount=amount,
        entry_id=entry.pk if entry is not None else None,
    )
    refunded = pledge.refunded_amount + amount
    target = PledgeStatus.REFUNDED if refunded >= pledge.amount else PledgeStatus.PARTIALLY_REFUNDED
    if target != pledge.status:
        pledge_move(pledge, target, None, f"refund {refund.pk}", refunded_amount=refunded)
    else:
        Pledge.objects.filter(pk=pledge.pk).update(refunded_amount=refunded)
        pledge_event_add(pledge, pledge.status, pledge.status, None, f"refund {refund.pk}")
        pledge.refunded_amount = refunded
    if target == PledgeStatus.REFUNDED:
        campaign_status = Campaign.objects.values_list("status", flat=True).get(
            pk=pledge.campaign_id
        )
        if campaign_status == CampaignStatus.LIVE:
            _tier_release(pledge.tier_id)  # a keep-it-all backer withdrew
    emit_pledge(pledge, WebhookEventType.PLEDGE_REFUNDED)
    enqueue_on_commit(_tasks().pledge_email_send, pledge.pk, "refunded")


# --- refunds ----------------------------------------------------------------------------------


def pledge_refund(
    *,
    pledge: Pledge,
    actor: User | None,
    reason_key: str,
    amount: int | None = None,
    reason: str = "requested_by_customer",
) -> Any:
    """Refund what is left of a collected pledge (or part of it). One refund per reason key."""
    pledge = Pledge.objects.get(pk=pledge.pk)
    if pledge.status not in COLLECTED_STATUSES or pledge.payment_id is None:
        raise IllegalTransitionError("pledge", pledge.status, PledgeStatus.REFUNDED)
    remaining = pledge.amount - pledge.refunded_amount
    amount = remaining if amount is None else amount
    if not 0 < amount <= remaining:
        raise PledgeAmountError(fields={"amount": [f"At most {remaining} can be refunded."]})
    return payments_port.pledge_refund(
        payment_id=pledge.payment_id,
        amount=amount,
        idempotency_key=f"pledge:{pledge.pk}:refund:{reason_key}",
        actor=actor,
        reason=reason,
    )


def payment_orphan_refund(*, payment_id: int) -> Any:
    """Send back a payment that arrived for a pledge that no longer wanted it."""
    payment = payments_port.payment_get(payment_id)
    if payment is None or payment.status != "succeeded":
        return None
    return payments_port.pledge_refund(
        payment_id=payment.pk,
        amount=payment.amount - payment.amount_refunded,
        idempotency_key=f"payment:{payment.pk}:orphan-refund",
        actor=None,
        reason="duplicate",
    )


# --- many pledges at once (closing, cancelling) -----------------------------------------------


def pledges_bulk_move(
    *, campaign_id: int, sources: Iterable[str], target: str, note: str, batch: int = 1000
) -> list[tuple[int, str]]:
    """Move every pledge of a campaign in `sources` to `target`, in batches; returns (id, source)."""
    sources = list(sources)
    for source in sources:
        pledge_machine.check(source, target)
    moved: list[tuple[int, str]] = []
    while True:
        now = timezone.now()
        with transaction.atomic():
            rows = list(
                Pledge.objects.select_for_update(skip_locked=True)
                .filter(campaign_id=campaign_id, status__in=sources)
                .order_by("pk")
                .values_list("id", "status", "tier_id")[:batch]
            )
            if not rows:
                break
            ids = [row[0] for row in rows]
            Pledge.objects.filter(pk__in=ids).update(status=target, closed_at=now)
            PledgeEvent.objects.bulk_create(
                PledgeEvent(pledge_id=pk, from_status=source, to_status=target, note=note)
                for pk, source, _tier in rows
            )
            if target in RELEASING:
                for tier_id, count in Counter(t for _p, _s, t in rows if t).items():
                    _tier_release(tier_id, count)
        moved.extend((pk, source) for pk, source, _tier in rows)
        if len(rows) < batch:
            break
    return moved


def campaign_pledges_settle(*, campaign_id: int) -> dict[str, int]:
    """After a campaign closes or is cancelled: charge, release, expire or refund its pledges."""
    tasks = _tasks()
    campaign = Campaign.objects.get(pk=campaign_id)
    counts: dict[str, int] = {}
    if campaign.status in {CampaignStatus.SUCCEEDED, CampaignStatus.DISBURSING}:
        counts["expired"] = len(
            pledges_bulk_move(
                campaign_id=campaign_id,
                sources=[PledgeStatus.PENDING],
                target=PledgeStatus.EXPIRED,
                note="the campaign closed before the card was given",
            )
        )
        ids = Pledge.objects.filter(
            campaign_id=campaign_id, status=PledgeStatus.COMMITTED
        ).values_list("id", flat=True)
        counts["to_charge"] = 0
        for pk in ids.iterator(chunk_size=2000):
            publish(tasks.pledge_collect, pk)
            counts["to_charge"] += 1
    elif campaign.status in {CampaignStatus.FAILED, CampaignStatus.CANCELLED}:
        note = (
            "the campaign did not reach its goal"
            if campaign.status == CampaignStatus.FAILED
            else "the campaign was cancelled"
        )
        moved = pledges_bulk_move(
            campaign_id=campaign_id,
            sources=[PledgeStatus.PENDING, PledgeStatus.COMMITTED],
            target=PledgeStatus.RELEASED,
            note=note,
        )
        counts["released"] = len(moved)
        for pk, source in moved:
            if source == PledgeStatus.COMMITTED:
                publish(tasks.pledge_email_send, pk, "released")
        if campaign.status == CampaignStatus.CANCELLED:
            refundable = Pledge.objects.filter(
                campaign_id=campaign_id, status__in=COLLECTED_STATUSES
            ).values_list("id", flat=True)
            counts["to_refund"] = 0
            for pk in refundable.iterator(chunk_size=2000):
                publish(tasks.pledge_refund_cancelled, pk)
                counts["to_refund"] += 1
    return counts


def pledge_refund_cancelled(*, pledge_id: int) -> Any:
    """Refund a collected pledge of a cancelled campaign; the key makes it once per pledge."""
    pledge = Pledge.objects.select_related("campaign").filter(pk=pledge_id).first()
    if (
        pledge is None
        or pledge.campaign.status != CampaignStatus.CANCELLED
        or pledge.status not in COLLECTED_STATUSES
    ):
        return None
    return pledge_refund(pledge=pledge, actor=None, reason_key="campaign-cancelled")


def pledges_charge_stuck_check(*, stale: Any) -> dict[str, int]:
    """Charges that failed without the pledge hearing of it (a lost callback): record them."""
    from payments.models import Payment

    stuck = dict(
        Pledge.objects.filter(
            status=PledgeStatus.COLLECTING, payment_id__isnull=False, created_at__lte=stale
        ).values_list("payment_id", "id")[:1000]
    )
    failed = Payment.objects.filter(
        pk__in=list(stuck),
        status__in=["failed", "canceled", "requires_action"],
        updated_at__lte=stale,
    ).values_list("pk", "failure_code", "failure_message")
    count = 0
    for payment_id, code, message in failed:
        with transaction.atomic(durable=True):
            pledge = Pledge.objects.select_for_update().get(pk=stuck[payment_id])
            if pledge.status == PledgeStatus.COLLECTING and pledge.payment_id == payment_id:
                _charge_failed(pledge, code, message)
                count += 1
    return {"stuck_charges": count}
