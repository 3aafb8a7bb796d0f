"""Helpers for the fund's money tests: people with roles, money brought in through the sandbox
like real payments, payout accounts, and reading the books."""

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any
from unittest import mock

from django.conf import settings

from campaigns.models import Theme
from fund.services.investments import investment_approve, investment_propose
from ledger.enums import AccountPurpose, OwnerType
from ledger.models import Account, JournalEntry, Posting
from members.models import RoleGrant
from payments.models import Disbursement
from payments.services import (
    disbursement_approve,
    disbursement_mark_paid_manually,
    payee_account_bank_set,
)
from payments.services.sandbox import sandbox_payment_confirm
from tests.campaigns.factories import ProjectFactory
from tests.factories import MembershipFactory, UserFactory

VISA = "4242424242424242"
DECLINED = "4000000000000002"
IBAN = "FR7630006000011234567890189"
EUR = "EUR"


def person(role: str = "supporter", **kwargs: Any) -> Any:
    user = UserFactory(**kwargs)
    if role == "member":
        MembershipFactory(user=user, shares=1)
    elif role in {"lead", "treasurer", "moderator", "auditor"}:
        RoleGrant.objects.get_or_create(user=user, role=role)
    return user


def member(**kwargs: Any) -> Any:
    return person("member", **kwargs)


def bank_payee(owner: Any, *, owner_type: str = "person", user: Any = None) -> Any:
    """A payout account by bank transfer (the offline path), ready to receive payouts."""
    return payee_account_bank_set(
        owner_type=owner_type,
        owner_id=owner.pk,
        user=user if user is not None else (owner if owner_type == "person" else None),
        holder_name="Titulaire",
        iban=IBAN,
    )


def subscribe(user: Any, amount: int, *, card: str = VISA) -> Any:
    """A savings subscription paid with a sandbox test card."""
    from fund.services.savings import savings_subscribe

    payment = savings_subscribe(user=user, amount=amount)
    return sandbox_payment_confirm(payment=payment, number=card)


def donate(user: Any, amount: int, *, campaign: Any = None, qf_round: Any = None) -> Any:
    from fund.services.donations import donation_create

    donation, payment = donation_create(
        donor=user, amount=amount, campaign=campaign, qf_round=qf_round
    )
    sandbox_payment_confirm(payment=payment, number=VISA)
    donation.refresh_from_db()
    return donation


def connect_payee(owner: Any, *, owner_type: str = "person", user: Any = None) -> Any:
    """A Stripe Connect payout account, onboarded through the sandbox."""
    from payments.services import payee_account_connect_start, payee_account_sync
    from payments.services.sandbox import sandbox_onboarding_complete

    person_ = user if user is not None else owner
    payee, link = payee_account_connect_start(
        owner_type=owner_type,
        owner_id=owner.pk,
        user=person_,
        return_url="http://testserver/",
        refresh_url="http://testserver/",
    )
    sandbox_onboarding_complete(token=link.url.rstrip("/").rsplit("/", 1)[1])
    return payee_account_sync(payee=payee)


def pay_out(disbursement_id: int, treasurer: Any, reference: str = "VIR-1") -> Disbursement:
    """The treasurer approves a payout; the send task transfers it (Connect) or the treasurer
    marks the bank transfer paid. The owning app is told when it commits."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        disbursement = Disbursement.objects.get(pk=disbursement_id)
        disbursement = disbursement_approve(disbursement=disbursement, actor=treasurer)
    disbursement.refresh_from_db()
    if disbursement.method == "manual_bank":
        with TestCase.captureOnCommitCallbacks(execute=True):
            disbursement = disbursement_mark_paid_manually(
                disbursement=disbursement, actor=treasurer, bank_reference=reference
            )
    return disbursement


def balance(
    purpose: str,
    *,
    owner_type: str = OwnerType.FUND,
    owner_id: int | None = None,
    currency: str = EUR,
) -> int:
    account = Account.objects.filter(
        purpose=purpose, owner_type=owner_type, owner_id=owner_id, currency=currency
    ).first()
    return int(account.balance) if account else 0


def savings_of(user: Any) -> int:
    return balance(AccountPurpose.MEMBER_SAVINGS, owner_type=OwnerType.MEMBER, owner_id=user.pk)


def entry_legs(entry: JournalEntry) -> list[tuple[str, str, int]]:
    """(account code, side, amount) of an entry, sorted."""
    return sorted(entry.postings.values_list("account__code", "side", "amount"))


def fund_entries(*kinds: str) -> list[JournalEntry]:
    return list(JournalEntry.objects.filter(kind__in=kinds).order_by("id"))


def postings_of(account_code: str) -> list[tuple[str, str, int]]:
    return list(
        Posting.objects.filter(account__code=account_code)
        .order_by("id")
        .values_list("entry__kind", "side", "amount")
    )


def theme(slug: str = "inclusion-numerique") -> Theme:
    found = Theme.objects.filter(slug=slug).first()
    if found is None:
        found = Theme.objects.create(slug=slug, name_en=slug, name_fr=slug)
    return found


@contextlib.contextmanager
def clock(moment: dt.datetime) -> Iterator[None]:
    """Run the block as if it were `moment`: entries, payments and services read this time."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def paris(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(year, month, day, hour, tzinfo=ZoneInfo(settings.TIME_ZONE))


# --- investments ----------------------------------------------------------------------------------


def project_ready() -> Any:
    lead = person("lead")
    project = ProjectFactory(lead=lead)
    connect_payee(project, owner_type="project", user=lead)
    return project


def proposed(kind: str, amount: int, **kwargs: Any) -> Any:
    return investment_propose(
        kind=kind,
        title=f"{kind} {amount}",
        amount=amount,
        project=kwargs.pop("project", None) or project_ready(),
        actor=person("moderator"),
        **kwargs,
    )


def approved_loan(amount: int, *, rate: int = 0, term_months: int = 10) -> Any:
    loan = proposed("loan", amount, rate=rate, term_months=term_months)
    return investment_approve(investment=loan, actor=person("treasurer"))


def disbursed(investment: Any) -> Any:
    pay_out(investment.disbursement_id, person("treasurer"))
    investment.refresh_from_db()
    return investment


def grants_pool_funded(amount: int) -> Any:
    """Given money in the grants pool: a donation through the sandbox."""
    return donate(person(), amount)


def matching_pool_funded(amount: int) -> Any:
    """The treasurer moves given money from the grants pool to the matching pool."""
    import uuid

    from fund.services.pools import fund_pool_transfer

    grants_pool_funded(amount)
    return fund_pool_transfer(
        source="grants_pool",
        target="matching_pool",
        amount=amount,
        currency=EUR,
        actor=person("treasurer"),
        idempotency_key=uuid.uuid4().hex,
    )


def rule_in_force(**params: Any) -> Any:
    """A rule put to a resolution poll, voted, published and adopted: in force from now."""
    from fund.services.governance import poll_close, poll_publish
    from fund.services.matching import matching_rule_adopt, matching_rule_propose

    from .factories import open_poll, vote

    voter = member()
    poll = open_poll(title=params.get("title", "Matchfunding"))
    rule = matching_rule_propose(title=params.pop("title", "Matchfunding"), poll=poll, **params)
    vote(poll, voter, {"choice": "yes"})
    poll_publish(poll=poll_close(poll=poll, now=poll.closes_at))
    rule = matching_rule_adopt(poll=poll)
    assert rule.status == "active"
    return rule
