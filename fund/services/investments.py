"""Grants and solidarity loans: proposed, approved by the treasurer (four eyes), paid through a
disbursement, and for loans repaid on a monthly schedule.

Approving posts the commitment under the fund's lock, before anything is paid:

- a grant: debit GRANTS_POOL, credit PAYOUTS_PAYABLE (refused if the pool is short);
- a loan: debit LOANS_RECEIVABLE, credit PAYOUTS_PAYABLE (refused with 409 `liquidity_reserve` if
  it would take the savings side's cash below the liquidity reserve);

then opens the disbursement to the project's payout account. A repayment (a bank transfer the
treasurer records) credits LOANS_RECEIVABLE with the principal and INTEREST_INCOME with the
interest. A defaulted loan is written off against the loss provision, then the impartible
reserve (absorbing a loss is the one use of that reserve), then the year's result.
"""

import calendar
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import PermissionDeniedError
from ledger.enums import AccountPurpose, EntryKind
from ledger.selectors import account_balance_get
from ledger.services import credit, debit, ledger_entry_reverse
from members.enums import Role
from members.selectors import user_has_role
from payments.enums import DisbursementPurpose, DisbursementStatus, PayeeOwnerType
from payments.exceptions import PayeeNotReadyError
from payments.models import PayeeAccount
from payments.services import disbursement_reject

from ..models import (
    Investment,
    InvestmentEvent,
    LoanInstallment,
    LoanRepayment,
    Round,
    RoundProject,
)
from ..money_enums import (
    INVESTMENT_MACHINE,
    InstallmentStatus,
    InvestmentKind,
    InvestmentStatus,
)
from ..money_exceptions import (
    FourEyesError,
    GrantsPoolError,
    InvestmentError,
    LiquidityReserveError,
    OverpaymentError,
    PayoutInProgressError,
)
from ..selectors.liquidity import liquidity_get
from ..selectors.rounds import round_winners_list
from .books import (
    bank_cash,
    fund_entry_post,
    fund_locks_take,
    liquidity_key,
    payouts_payable,
    pool,
)
from .payouts import PAYOUT_DEAD, payout_account_for, payout_open, payout_status
from .rounds import round_project_investment_link

BPS = 10_000
REPAYABLE = frozenset(
    {
        InvestmentStatus.DISBURSED,
        InvestmentStatus.REPAYING,
        InvestmentStatus.LATE,
        InvestmentStatus.DEFAULTED,
    }
)


def _treasurer(actor: Any) -> None:
    if not user_has_role(user=actor, role=Role.TREASURER):
        raise PermissionDeniedError(_("Only the treasurer can do this."))


def _manager(actor: Any) -> None:
    if not (
        user_has_role(user=actor, role=Role.TREASURER)
        or user_has_role(user=actor, role=Role.MODERATOR)
    ):
        raise PermissionDeniedError(_("Only moderators and the treasurer can propose this."))


def _move(
    investment: Investment, target: str, *, actor: Any = None, note: str = "", **changes: Any
) -> Investment:
    source = investment.status
    INVESTMENT_MACHINE.compare_and_set(
        Investment.objects.all(), pk=investment.pk, source=source, target=target, **changes
    )
    InvestmentEvent.objects.create(
        investment=investment, from_status=source, to_status=target, note=note[:300], actor=actor
    )
    investment.refresh_from_db()
    return investment


def _note(investment: Investment, note: str, actor: Any = None) -> None:
    InvestmentEvent.objects.create(
        investment=investment,
        from_status=investment.status,
        to_status=investment.status,
        note=note[:300],
        actor=actor,
    )


def investment_propose(
    *,
    kind: str,
    title: str,
    amount: int,
    actor: Any,
    currency: str | None = None,
    project: Any = None,
    theme: Any = None,
    round_project: RoundProject | None = None,
    rate: int | None = None,
    term_months: int | None = None,
) -> Investment:
    """A grant or a loan, proposed by a moderator or the treasurer."""
    _manager(actor)
    if kind not in InvestmentKind.values:
        raise InvestmentError(_("A grant or a loan."), code="invalid_kind")
    if type(amount) is not int or not 0 < amount <= settings.MAX_PAYMENT_AMOUNT:
        raise InvestmentError(
            _("A positive whole number of minor units."),
            code="invalid_amount",
            fields={"amount": [_("A positive whole number of minor units.")]},
        )
    if kind == InvestmentKind.LOAN:
        rate = settings.FUND_LOAN_DEFAULT_RATE if rate is None else rate
        term_months = settings.FUND_LOAN_DEFAULT_TERM_MONTHS if term_months is None else term_months
        if type(rate) is not int or not 0 <= rate <= 2_000:
            raise InvestmentError(
                _("A yearly rate from 0 to 2000 basis points."),
                code="invalid_rate",
                fields={"rate": [_("0 to 2000 basis points.")]},
            )
        if type(term_months) is not int or not 1 <= term_months <= 120:
            raise InvestmentError(
                _("From 1 to 120 monthly installments."),
                code="invalid_term",
                fields={"term_months": [_("1 to 120 months.")]},
            )
    else:
        rate, term_months = 0, 0
    theme = theme or (project.theme if project is not None else None)
    return Investment.objects.create(
        kind=kind,
        title=title[:300],
        amount=amount,
        currency=currency or settings.PLATFORM_CURRENCY,
        project=project,
        theme=theme,
        round_project=round_project,
        rate=rate,
        term_months=term_months,
        proposed_by=actor,
    )


def _payee_for(investment: Investment, payee: PayeeAccount | None) -> PayeeAccount:
    if payee is not None:
        if not payee.payouts_enabled:
            raise PayeeNotReadyError()
        return payee
    if investment.project_id is not None:
        found = payout_account_for(
            owner_type=PayeeOwnerType.PROJECT, owner_id=int(investment.project_id)
        )
        if found is not None:
            return found
    raise PayeeNotReadyError(_("The project has no payout account that can receive payouts yet."))


def _open_payout(investment: Investment) -> Investment:
    attempt = investment.payout_attempts + 1
    disbursement = payout_open(
        payee=investment.payee,  # type: ignore[arg-type]
        amount=investment.amount,
        currency=investment.currency,
        purpose=DisbursementPurpose.LOAN if investment.is_loan else DisbursementPurpose.GRANT,
        requested_by=investment.proposed_by,
        reference=("investment", investment.pk),
        attempt=attempt,
        memo=f"{investment.get_kind_display()} #{investment.pk}",
    )
    Investment.objects.filter(pk=investment.pk).update(
        disbursement_id=disbursement.pk, payout_attempts=attempt
    )
    investment.refresh_from_db()
    _note(investment, f"payout #{disbursement.pk} requested")
    return investment


def investment_approve(
    *, investment: Investment, actor: Any, payee: PayeeAccount | None = None
) -> Investment:
    """The treasurer approves: the money is committed in the books, and the payout requested."""
    _treasurer(actor)
    if actor.pk == investment.proposed_by_id:
        raise FourEyesError()
    payee = _payee_for(investment, payee)
    with transaction.atomic(durable=True):
        fund_locks_take(liquidity_key(investment.currency))
        current = Investment.objects.select_for_update().get(pk=investment.pk)
        INVESTMENT_MACHINE.check(current.status, InvestmentStatus.APPROVED)
        amount, currency = current.amount, current.currency
        if current.is_loan:
            liquidity = liquidity_get(currency=currency)
            if amount > liquidity.lendable:
                raise LiquidityReserveError(
                    extra={
                        "lendable": liquidity.lendable,
                        "reserve": liquidity.required,
                        "cash": liquidity.cash,
                    }
                )
            source, kind = (
                pool(AccountPurpose.LOANS_RECEIVABLE, currency),
                EntryKind.LOAN_DISBURSEMENT,
            )
        else:
            grants = pool(AccountPurpose.GRANTS_POOL, currency)
            available = account_balance_get(account=grants)
            if amount > available:
                raise GrantsPoolError(extra={"available": available})
            source, kind = grants, EntryKind.GRANT
        entry = fund_entry_post(
            kind=kind,
            legs=[debit(source, amount), credit(payouts_payable(currency), amount)],
            idempotency_key=f"investment:{current.pk}:commit",
            memo=f"{current.get_kind_display()} #{current.pk} committed",
            reference=("investment", current.pk),
            actor=actor,
        )
        current = _move(
            current,
            InvestmentStatus.APPROVED,
            actor=actor,
            approved_by=actor,
            approved_at=timezone.now(),
            payee=payee,
            commitment_entry=entry,
        )
        return _open_payout(current)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def loan_schedule(
    *, principal: int, rate: int, term_months: int, start: dt.date
) -> list[dict[str, Any]]:
    """Equal principal each month (the rest in the last), interest on what is still owed, monthly
    at rate/12, rounded down (the borrower never pays a fraction of a cent above the rate)."""
    part = principal // term_months
    owed = principal
    rows = []
    for number in range(1, term_months + 1):
        paid = part if number < term_months else owed
        rows.append(
            {
                "number": number,
                "due_date": _add_months(start, number),
                "principal": paid,
                "interest": owed * rate // (12 * BPS),
            }
        )
        owed -= paid
    return rows


def investment_sync(*, investment_id: int) -> Investment | None:
    """Follow the payout: a paid disbursement makes the investment disbursed (and a loan's
    schedule starts); a failed one is noted for the treasurer."""
    with transaction.atomic(durable=True):
        investment = Investment.objects.select_for_update().filter(pk=investment_id).first()
        if investment is None or investment.status != InvestmentStatus.APPROVED:
            return investment
        status = payout_status(investment.disbursement_id)
        if status == DisbursementStatus.PAID:
            now = timezone.now()
            if investment.is_loan:
                for row in loan_schedule(
                    principal=investment.amount,
                    rate=investment.rate,
                    term_months=investment.term_months,
                    start=timezone.localdate(now),
                ):
                    LoanInstallment.objects.create(investment=investment, **row)
            return _move(investment, InvestmentStatus.DISBURSED, disbursed_at=now)
        if (
            status in PAYOUT_DEAD
            and not investment.events.filter(
                note=f"payout #{investment.disbursement_id} did not go through"
            ).exists()
        ):
            _note(investment, f"payout #{investment.disbursement_id} did not go through")
    return investment


def investment_payout_retry(*, investment: Investment, actor: Any) -> Investment:
    _treasurer(actor)
    with transaction.atomic(durable=True):
        current = Investment.objects.select_for_update().get(pk=investment.pk)
        if (
            current.status != InvestmentStatus.APPROVED
            or payout_status(current.disbursement_id) not in PAYOUT_DEAD
        ):
            raise InvestmentError(
                _("This investment has no failed payout to try again."),
                code="no_failed_payout",
                status_code=409,
            )
        return _open_payout(current)


def investment_cancel(*, investment: Investment, actor: Any, reason: str = "") -> Investment:
    """Before it is paid: a proposal is dropped; an approved one gives its money back."""
    _treasurer(actor)
    status = payout_status(investment.disbursement_id)
    if investment.disbursement_id is not None and status == DisbursementStatus.REQUESTED:
        from payments.models import Disbursement

        disbursement_reject(
            disbursement=Disbursement.objects.get(pk=investment.disbursement_id),
            actor=actor,
            reason=reason or "investment cancelled",
        )
    with transaction.atomic(durable=True):
        fund_locks_take(liquidity_key(investment.currency))
        current = Investment.objects.select_for_update().get(pk=investment.pk)
        if current.status == InvestmentStatus.APPROVED:
            if payout_status(current.disbursement_id) not in PAYOUT_DEAD:
                raise PayoutInProgressError()
            ledger_entry_reverse(
                entry=current.commitment_entry,  # type: ignore[arg-type]
                idempotency_key=f"investment:{current.pk}:cancelled",
                memo=f"Investment #{current.pk} cancelled",
                actor=actor,
            )
        return _move(
            current,
            InvestmentStatus.CANCELLED,
            actor=actor,
            note=reason,
            closed_at=timezone.now(),
        )


def _overdue(investment: Investment, today: dt.date) -> bool:
    grace = dt.timedelta(days=int(settings.FUND_LOAN_LATE_GRACE_DAYS))
    return (
        investment.schedule.exclude(status=InstallmentStatus.PAID)
        .filter(due_date__lt=today - grace)
        .exists()
    )


def loan_repayment_record(
    *,
    investment: Investment,
    amount: int,
    bank_reference: str,
    actor: Any,
    now: dt.datetime | None = None,
) -> LoanRepayment:
    """A borrower's bank transfer: interest first, then principal, installment by installment."""
    _treasurer(actor)
    now = now or timezone.now()
    if type(amount) is not int or amount <= 0:
        raise InvestmentError(
            _("A positive whole number of minor units."),
            code="invalid_amount",
            fields={"amount": [_("A positive whole number of minor units.")]},
        )
    if not bank_reference.strip():
        raise InvestmentError(
            _("Give the bank's reference of the transfer."),
            code="invalid_reference",
            fields={"bank_reference": [_("Required.")]},
        )
    with transaction.atomic(durable=True):
        current = Investment.objects.select_for_update().get(pk=investment.pk)
        if not current.is_loan or current.status not in REPAYABLE:
            raise InvestmentError(
                _("Only a disbursed loan is repaid."), code="not_repayable", status_code=409
            )
        existing = LoanRepayment.objects.filter(
            investment=current, bank_reference=bank_reference[:120]
        ).first()
        if existing is not None:
            if existing.amount != amount:
                raise InvestmentError(
                    _("This bank reference was recorded with another amount."),
                    code="idempotency_conflict",
                    status_code=409,
                )
            return existing
        installments = list(
            current.schedule.select_for_update()
            .exclude(status=InstallmentStatus.PAID)
            .order_by("number")
        )
        owed = sum(i.remaining for i in installments)
        if amount > owed:
            raise OverpaymentError(extra={"owed": owed})
        left, principal, interest = amount, 0, 0
        for installment in installments:
            if not left:
                break
            pay_interest = min(left, installment.interest - installment.interest_paid)
            left -= pay_interest
            pay_principal = min(left, installment.principal - installment.principal_paid)
            left -= pay_principal
            installment.interest_paid += pay_interest
            installment.principal_paid += pay_principal
            if installment.remaining == 0:
                installment.status = InstallmentStatus.PAID
            installment.save(update_fields=["interest_paid", "principal_paid", "status"])
            principal += pay_principal
            interest += pay_interest
        repayment_number = current.repayments.count() + 1
        entry = fund_entry_post(
            kind=EntryKind.LOAN_REPAYMENT,
            legs=[
                debit(bank_cash(current.currency), amount),
                credit(pool(AccountPurpose.LOANS_RECEIVABLE, current.currency), principal),
                credit(pool(AccountPurpose.INTEREST_INCOME, current.currency), interest),
            ],
            idempotency_key=f"investment:{current.pk}:repayment:{repayment_number}",
            memo=f"Repayment {repayment_number} of loan #{current.pk}",
            reference=("investment", current.pk),
            actor=actor,
        )
        repayment = LoanRepayment.objects.create(
            investment=current,
            amount=amount,
            principal=principal,
            interest=interest,
            bank_reference=bank_reference[:120],
            entry=entry,
            recorded_by=actor,
            received_at=now,
        )
        Investment.objects.filter(pk=current.pk).update(
            principal_repaid=current.principal_repaid + principal,
            interest_paid=current.interest_paid + interest,
        )
        current.refresh_from_db()
        if amount == owed:
            _move(current, InvestmentStatus.REPAID, actor=actor, closed_at=now)
        elif current.status == InvestmentStatus.DISBURSED:
            _move(current, InvestmentStatus.REPAYING, actor=actor)
        elif current.status in {InvestmentStatus.LATE, InvestmentStatus.DEFAULTED} and not _overdue(
            current, timezone.localdate(now)
        ):
            _move(current, InvestmentStatus.REPAYING, actor=actor, note="caught up")
        return repayment


def loans_late_check(*, today: dt.date | None = None) -> list[int]:
    """Loans with an installment unpaid past its due date and the grace period become late."""
    today = today or timezone.localdate()
    grace = dt.timedelta(days=int(settings.FUND_LOAN_LATE_GRACE_DAYS))
    late = []
    candidates = Investment.objects.filter(
        kind=InvestmentKind.LOAN,
        status__in=[InvestmentStatus.DISBURSED, InvestmentStatus.REPAYING],
        schedule__due_date__lt=today - grace,
        schedule__status__in=[InstallmentStatus.DUE, InstallmentStatus.LATE],
    ).distinct()
    for investment in candidates:
        with transaction.atomic(durable=True):
            current = Investment.objects.select_for_update().get(pk=investment.pk)
            if current.status not in {InvestmentStatus.DISBURSED, InvestmentStatus.REPAYING}:
                continue
            current.schedule.filter(
                status=InstallmentStatus.DUE, due_date__lt=today - grace
            ).update(status=InstallmentStatus.LATE)
            _move(current, InvestmentStatus.LATE, note="an installment is overdue")
            late.append(current.pk)
    return late


def loan_default_declare(*, investment: Investment, actor: Any, reason: str) -> Investment:
    _treasurer(actor)
    with transaction.atomic(durable=True):
        current = Investment.objects.select_for_update().get(pk=investment.pk)
        return _move(current, InvestmentStatus.DEFAULTED, actor=actor, note=reason)


def loan_write_off(*, investment: Investment, actor: Any) -> Investment:
    """Write off what a defaulted loan still owes: the loss provision first, then the impartible
    reserve, then the year's result (a loss the year's income bears)."""
    _treasurer(actor)
    with transaction.atomic(durable=True):
        fund_locks_take(liquidity_key(investment.currency))
        current = Investment.objects.select_for_update().get(pk=investment.pk)
        INVESTMENT_MACHINE.check(current.status, InvestmentStatus.WRITTEN_OFF)
        loss, currency = current.outstanding, current.currency
        provision = pool(AccountPurpose.LOSS_PROVISION, currency)
        reserve = pool(AccountPurpose.IMPARTIBLE_RESERVE, currency)
        from_provision = min(loss, account_balance_get(account=provision))
        from_reserve = min(loss - from_provision, account_balance_get(account=reserve))
        from_result = loss - from_provision - from_reserve
        fund_entry_post(
            kind=EntryKind.LOAN_WRITE_OFF,
            legs=[
                debit(provision, from_provision),
                debit(reserve, from_reserve),
                debit(pool(AccountPurpose.INTEREST_INCOME, currency), from_result),
                credit(pool(AccountPurpose.LOANS_RECEIVABLE, currency), loss),
            ],
            idempotency_key=f"investment:{current.pk}:write-off",
            memo=f"Loan #{current.pk} written off",
            reference=("investment", current.pk),
            actor=actor,
            absorbs_loss=True,
        )
        return _move(
            current,
            InvestmentStatus.WRITTEN_OFF,
            actor=actor,
            note=f"provision {from_provision}, reserve {from_reserve}, result {from_result}",
            written_off=loss,
            closed_at=timezone.now(),
        )


# --- funding rounds ------------------------------------------------------------------------------


def round_investments_create(
    *, round: Round, actor: Any, rate: int | None = None, term_months: int | None = None
) -> list[Investment]:
    """The winners of a published round become proposed grants or loans (once each)."""
    _manager(actor)
    created = []
    for project in round_winners_list(round=round):
        if project.investment_id is not None:
            continue
        campaign_project = project.campaign_project
        with transaction.atomic(durable=True):
            investment = investment_propose(
                kind=InvestmentKind.LOAN if project.kind == "loan" else InvestmentKind.GRANT,
                title=project.name,
                amount=int(project.cost),
                currency=round.currency,
                project=campaign_project,
                round_project=project,
                rate=rate,
                term_months=term_months,
                actor=actor,
            )
            round_project_investment_link(project=project, investment_id=investment.pk)
        created.append(investment)
    return created


def round_budget_check(*, round: Round) -> None:
    """For settings.FUND_ROUND_BUDGET_CHECK: the grants pool and lendable savings cover the
    round's budget when it opens."""
    grants = account_balance_get(account=pool(AccountPurpose.GRANTS_POOL, round.currency))
    lendable = liquidity_get(currency=round.currency).lendable
    if round.budget > grants + lendable:
        raise InvestmentError(
            _("The grants pool and lendable savings do not cover this budget."),
            code="budget_not_covered",
            status_code=409,
            extra={"grants_pool": grants, "lendable": lendable},
        )
