"""Demo money of the common fund: savers, gifts, a matching rule, the funded round, loans and a
closed year. Runs after the campaigns and governance seeders, before the ledger seals blocks.

Every movement goes through the fund's services and the sandbox, so the books are what real use
would leave. The story spans two years, so that the previous year can be closed with real
figures:

- **last year**: members subscribe savings shares and choose their interest share; a few gifts
  reach the grants pool; the fund lends to the Roubaix third place, which repays every month;
  one saver asks for part of their savings back and is paid after the notice period;
- **15 January** (or today, if earlier): the year is closed: savers are remunerated out of the
  surplus, the shared interest goes to the grants pool with receipts, the rest is reserved;
- **this year**: more savers, gifts (one large), a matching rule adopted by the members' vote
  and matching new pledges, the spring round's winners turned into grants and a loan as far as
  the pools allow, and a redemption waiting for its notice period.

The past is dated with a demo clock: the services read the time from `timezone.now()`, so the
ledger entries, receipts, loan schedules and statuses they write carry the moment the story says
(rows' own `created_at` defaults keep the day of seeding).
"""

import contextlib
import datetime as dt
from collections.abc import Iterator
from fractions import Fraction
from typing import Any
from unittest import mock

from django.test.utils import override_settings
from django.utils import timezone

from campaigns.enums import CampaignStatus, PledgeStatus
from campaigns.models import Campaign, Project, Theme
from common.money import format_money
from ledger.enums import AccountPurpose
from ledger.selectors import account_balance_get
from members.enums import MembershipStatus, Role
from members.models import User
from payments.enums import DisbursementStatus, PayeeOwnerType, PaymentStatus
from payments.models import Disbursement
from payments.providers import is_sandbox

from .enums import PollMethod, RoundStatus
from .models import FundYear, Investment, MatchingRule, Redemption, Round
from .money_enums import InterestShare, InvestmentKind, InvestmentStatus, RedemptionStatus
from .selectors.liquidity import liquidity_get
from .services.books import pool
from .services.payouts import payout_account_for

VISA = "4242424242424242"
EUR = "EUR"
YEAR_CLOSE_RATE = 30  # 0.3% decided by the members for last year, within the statutes' cap
FOUNDATION_EMAIL = "fondation@demo.biencommun.example"
MATCHING_RULE = "One euro for one euro, up to 50 EUR per pledge"
MATCHING_POLL = "Match pledges to digital inclusion and open data campaigns"
MATCHED_THEMES = ["inclusion-numerique", "communs-numeriques"]
THIRD_PLACE_LOAN = "Fab lab machines for the Roubaix third place"
THIRD_PLACE = "tiers-lieu-numerique"

# Savings shares in euros, and how often members choose each amount.
SAVINGS_AMOUNTS = [500, 1_000, 2_000, 3_000, 5_000, 8_000]
SAVINGS_WEIGHTS = [2, 4, 4, 3, 2, 1]
INTEREST_SHARES = list(InterestShare.values)
INTEREST_WEIGHTS = [4, 3, 3, 1, 1]
GIFTS = [20, 50, 50, 100, 150, 250, 500]


@contextlib.contextmanager
def demo_clock(moment: dt.datetime) -> Iterator[None]:
    """Date what the services post at `moment` (demo data only: the story spans two years)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def _members() -> list[User]:
    return list(
        User.objects.filter(memberships__status=MembershipStatus.ACTIVE, is_active=True)
        .distinct()
        .order_by("pk")
    )


def _foundation() -> User:
    """A grant-making foundation that gives to the grants pool (it never logs in)."""
    user = User.objects.filter(email=FOUNDATION_EMAIL).first()
    if user is None:
        user = User(email=FOUNDATION_EMAIL, display_name="Fondation Solidarité Numérique")
        user.set_unusable_password()
        user.save()
    return user


# --- money in, through the sandbox ----------------------------------------------------------------


def _subscribe(user: User, euros: int, key: str) -> int:
    from payments.services.sandbox import sandbox_payment_confirm

    from .services.savings import savings_subscribe

    payment = savings_subscribe(user=user, amount=euros * 100, currency=EUR, idempotency_key=key)
    if payment.status == PaymentStatus.CREATED:
        payment = sandbox_payment_confirm(payment=payment, number=VISA)
    return int(payment.amount) if payment.status == PaymentStatus.SUCCEEDED else 0


def _donate(user: User, euros: int, key: str, campaign: Campaign | None = None) -> int:
    from payments.services.sandbox import sandbox_payment_confirm

    from .services.donations import donation_create

    _donation, payment = donation_create(
        donor=user, amount=euros * 100, currency=EUR, campaign=campaign, idempotency_key=key
    )
    if payment.status == PaymentStatus.CREATED:
        payment = sandbox_payment_confirm(payment=payment, number=VISA)
    return int(payment.amount) if payment.status == PaymentStatus.SUCCEEDED else 0


# --- money out: payout accounts and payouts -------------------------------------------------------


def _project_payee(project: Project) -> Any:
    """The project's payout account; its lead opens one (sandbox Connect) if it has none yet."""
    from campaigns.services import payments_port
    from payments.services.sandbox import sandbox_onboarding_complete

    payee = payout_account_for(owner_type=PayeeOwnerType.PROJECT, owner_id=project.pk)
    if payee is None:
        lead = User.objects.filter(project_memberships__project=project).order_by("pk").first()
        if lead is None:
            return None
        url = payments_port.payout_onboarding_start(project=project, user=lead, return_url="/")
        sandbox_onboarding_complete(token=url.rstrip("/").rsplit("/", 1)[-1])
        payee = payments_port.payout_account_refresh(project_id=project.pk)
    return payee


def _person_payee(user: User) -> Any:
    """A saver's payout account, for their savings paid back (sandbox Connect)."""
    from payments.services import payee_account_connect_start, payee_account_sync
    from payments.services.sandbox import sandbox_onboarding_complete

    payee = payout_account_for(owner_type=PayeeOwnerType.PERSON, owner_id=user.pk)
    if payee is None:
        payee, link = payee_account_connect_start(
            owner_type=PayeeOwnerType.PERSON,
            owner_id=user.pk,
            user=user,
            return_url="/",
            refresh_url="/",
        )
        sandbox_onboarding_complete(token=link.url.rstrip("/").rsplit("/", 1)[-1])
        payee = payee_account_sync(payee=payee)
    return payee


def _pay_out(disbursement_id: int | None, treasurer: User) -> None:
    """The treasurer approves the payout; the sandbox sends the Connect transfer."""
    from payments.services import disbursement_approve, disbursement_send

    if disbursement_id is None:
        return
    disbursement = Disbursement.objects.filter(pk=disbursement_id).first()
    if disbursement is None or disbursement.status != DisbursementStatus.REQUESTED:
        return
    disbursement = disbursement_approve(disbursement=disbursement, actor=treasurer)
    disbursement_send(disbursement_id=disbursement.pk)


def _invest(investment: Investment, treasurer: User) -> Investment:
    """Approve (four eyes), pay out, and follow the payout."""
    from .services.investments import investment_approve, investment_sync

    project = investment.project
    payee = _project_payee(project) if project is not None else None
    investment = investment_approve(investment=investment, actor=treasurer, payee=payee)
    _pay_out(investment.disbursement_id, treasurer)
    return investment_sync(investment_id=investment.pk) or investment


# --- the story -------------------------------------------------------------------------------------


def _last_year(
    context: dict[str, Any], members: list[User], today: dt.date
) -> tuple[Investment | None, list[User]]:
    """Savers, gifts, a loan to the third place and a redemption, dated last year."""
    from .services.investments import investment_propose
    from .services.savings import (
        redemption_request,
        redemption_sync,
        redemptions_process,
        savings_interest_share_set,
    )

    rng = context["rng"]
    staff = context["staff"]
    year = today.year - 1
    demo = context.get("demo")
    others = [m for m in members if m != demo]
    candidates = ([demo] if demo in members else []) + rng.sample(others, k=min(20, len(others)))
    savers: list[User] = []
    subscribed = 0
    # Enough savings (45,000 EUR) for the fund to lend 30,000 and keep its liquidity reserve.
    for n, saver in enumerate(candidates):
        if len(savers) >= 10 and subscribed >= 45_000_00:
            break
        euros = 2_000 if saver == demo else rng.choices(SAVINGS_AMOUNTS, SAVINGS_WEIGHTS)[0]
        with demo_clock(_at(dt.date(year, 2, 1) + dt.timedelta(days=4 * n))):
            subscribed += _subscribe(saver, euros, f"demo-{year}")
        share = (
            InterestShare.HALF
            if saver == demo
            else rng.choices(INTEREST_SHARES, INTEREST_WEIGHTS)[0]
        )
        savings_interest_share_set(user=saver, interest_share=share, currency=EUR)
        savers.append(saver)
    for n, donor in enumerate(rng.sample(members, k=min(6, len(members)))):
        with demo_clock(_at(dt.date(year, 6, 3) + dt.timedelta(days=29 * n), 18)):
            _donate(donor, rng.choice(GIFTS), f"demo-{year}-pool-{n}")

    # A solidarity loan to the third place, approved when the savings allowed it.
    loan = None
    third_place = Project.objects.filter(slug=THIRD_PLACE).first()
    if third_place is not None:
        with demo_clock(_at(dt.date(year, 4, 28))):
            proposal = investment_propose(
                kind=InvestmentKind.LOAN,
                title=THIRD_PLACE_LOAN,
                amount=30_000_00,
                currency=EUR,
                project=third_place,
                rate=300,
                term_months=24,
                actor=staff[Role.MODERATOR],
            )
        if liquidity_get(currency=EUR).lendable >= proposal.amount:
            with demo_clock(_at(dt.date(year, 5, 2))):
                loan = _invest(proposal, staff[Role.TREASURER])

    # One saver asks for part of their savings back in the autumn; paid after the notice period.
    redeemer = next((s for s in savers[1:] if s != demo), None)
    if redeemer is not None:
        _person_payee(redeemer)
        asked = _at(dt.date(year, 10, 1), 9)
        redemption = redemption_request(user=redeemer, amount=500_00, currency=EUR, now=asked)
        moment = redemption.notice_ends_at + dt.timedelta(days=2)
        with demo_clock(moment):
            redemptions_process(currency=EUR, now=moment)
            redemption.refresh_from_db()
            _pay_out(redemption.disbursement_id, staff[Role.TREASURER])
            redemption_sync(redemption_id=redemption.pk)
    return loan, savers


def _repay_and_close(context: dict[str, Any], loan: Investment | None, now: dt.datetime) -> None:
    """The borrower pays each installment on its due date; last year is closed in January."""
    from .services.investments import loan_repayment_record
    from .services.year import fund_year_close

    treasurer = context["staff"][Role.TREASURER]
    year = timezone.localdate(now).year - 1
    close_at = min(_at(dt.date(year + 1, 1, 15), 9), now)
    events: list[tuple[dt.datetime, Any]] = [(close_at, None)]
    if loan is not None:
        for installment in loan.schedule.filter(due_date__lte=timezone.localdate(now)):
            events.append((min(_at(installment.due_date, 11), now), installment))
    for moment, installment in sorted(events, key=lambda event: event[0]):
        with demo_clock(moment):
            if installment is None:
                fund_year_close(
                    year=year, currency=EUR, rate=YEAR_CLOSE_RATE, actor=treasurer, now=moment
                )
            elif loan is not None:
                loan_repayment_record(
                    investment=loan,
                    amount=installment.remaining,
                    bank_reference=f"VIR-{installment.due_date:%Y%m}-{loan.pk}",
                    actor=treasurer,
                    now=moment,
                )


def _matching(context: dict[str, Any], members: list[User], now: dt.datetime) -> None:
    """The members adopt a matching rule; the treasurer funds the matching pool; new pledges to
    live campaigns get their matches reserved."""
    from campaigns import services as campaign_services
    from campaigns.services import payments_port

    from .services.governance import (
        poll_ballot_submit,
        poll_close,
        poll_create,
        poll_open,
        poll_publish,
    )
    from .services.matching import matching_rule_adopt, matching_rule_propose, matching_sweep
    from .services.pools import fund_pool_transfer

    rng = context["rng"]
    staff = context["staff"]
    moderator, treasurer = staff[Role.MODERATOR], staff[Role.TREASURER]
    start = now - dt.timedelta(days=20)
    poll = poll_create(
        actor=moderator,
        title=MATCHING_POLL,
        description=(
            "The fund adds one euro to each euro pledged to a digital inclusion or open data "
            "campaign, up to 50 EUR per pledge, 100 EUR per member and campaign, and 2,000 EUR "
            "per campaign, while the matching pool lasts. The match reaches a campaign only if "
            "it succeeds."
        ),
        method=PollMethod.RESOLUTION,
        opens_at=start,
        closes_at=start + dt.timedelta(days=14),
        quorum=Fraction(1, 4),
        threshold=Fraction(1, 2),
    )
    matching_rule_propose(
        title=MATCHING_RULE,
        poll=poll,
        factor=10_000,
        contribution_cap=50_00,
        member_campaign_cap=100_00,
        campaign_cap=2_000_00,
        themes=list(Theme.objects.filter(slug__in=MATCHED_THEMES)),
        currency=EUR,
        actor=moderator,
    )
    poll_open(poll=poll, actor=moderator, now=start)
    for n, voter in enumerate(members):
        if rng.random() < 0.6:
            choice = rng.choices(["yes", "no", "abstain"], weights=[7, 2, 1])[0]
            poll_ballot_submit(
                poll=poll,
                user=voter,
                ballot={"choice": choice},
                now=start + dt.timedelta(hours=n + 1),
            )
    poll_close(poll=poll, actor=moderator, now=poll.closes_at)
    poll = poll_publish(poll=poll, actor=moderator, now=poll.closes_at + dt.timedelta(hours=1))
    if (poll.result or {}).get("outcome") != "adopted":
        return
    matching_rule_adopt(poll=poll, now=poll.closes_at + dt.timedelta(hours=2))
    grants = account_balance_get(account=pool(AccountPurpose.GRANTS_POOL, EUR))
    if grants > 0:
        fund_pool_transfer(
            source="grants_pool",
            target="matching_pool",
            amount=min(4_000_00, grants),
            currency=EUR,
            actor=treasurer,
            idempotency_key="demo-matching-pool",
        )
    live = list(
        Campaign.objects.filter(
            status=CampaignStatus.LIVE, currency=EUR, project__theme__slug__in=MATCHED_THEMES
        ).order_by("pk")[:2]
    )
    cards = {m.pk: payments_port.saved_methods_list(user=m) for m in members}
    backers = [m for m in members if cards[m.pk]]
    for campaign in live:
        for backer in rng.sample(backers, k=min(4, len(backers))):
            card = cards[backer.pk][0]
            pledge = campaign_services.pledge_create(
                backer=backer,
                campaign=campaign,
                amount=rng.choice([20_00, 30_00, 50_00, 80_00]),
                payment_method_id=card.pk,
                public_message=rng.choice(["", "Merci !", "Avec le fonds commun, c'est doublé."]),
            )
            if pledge.status == PledgeStatus.COLLECTING:
                campaign_services.pledge_collect(pledge_id=pledge.pk)
    matching_sweep()


def _this_year(context: dict[str, Any], members: list[User], savers: list[User]) -> None:
    from .services.savings import savings_interest_share_set

    rng = context["rng"]
    demo = context.get("demo")
    year = timezone.localdate().year
    newcomers = [m for m in members if m not in savers]
    for saver in rng.sample(newcomers, k=min(8, len(newcomers))):
        _subscribe(saver, rng.choices(SAVINGS_AMOUNTS, SAVINGS_WEIGHTS)[0], f"demo-{year}")
        savings_interest_share_set(
            user=saver,
            interest_share=rng.choices(INTEREST_SHARES, INTEREST_WEIGHTS)[0],
            currency=EUR,
        )
    if demo in members:
        _subscribe(demo, 500, f"demo-{year}")
        _donate(demo, 50, f"demo-{year}-pool-demo")
    _donate(_foundation(), 40_000, f"demo-{year}-pool-foundation")
    for n, donor in enumerate(rng.sample(members, k=min(12, len(members)))):
        _donate(donor, rng.choice(GIFTS), f"demo-{year}-pool-{n}")
    campaign = (
        Campaign.objects.filter(status=CampaignStatus.LIVE, currency=EUR).order_by("pk").first()
    )
    if campaign is not None:
        for n, donor in enumerate(rng.sample(members, k=min(3, len(members)))):
            _donate(donor, rng.choice(GIFTS[:4]), f"demo-{year}-campaign-{n}", campaign=campaign)


def _fund_round(context: dict[str, Any]) -> None:
    """The spring round's winners become grants and a loan; each is approved in the order the
    round chose them, as far as the grants pool and lendable savings go."""
    from .services.investments import round_investments_create

    staff = context["staff"]
    round = Round.objects.filter(status=RoundStatus.PUBLISHED, currency=EUR).order_by("pk").first()
    if round is None:
        return
    proposed = round_investments_create(round=round, actor=staff[Role.MODERATOR])
    grants = pool(AccountPurpose.GRANTS_POOL, EUR)
    for investment in proposed:
        if investment.project is None:
            continue  # not on the platform: no payout account to pay it to yet
        if investment.kind == InvestmentKind.GRANT:
            affordable = investment.amount <= account_balance_get(account=grants)
        else:
            affordable = investment.amount <= liquidity_get(currency=EUR).lendable
        if affordable:  # otherwise it stays proposed, waiting for the pools to cover it
            _invest(investment, staff[Role.TREASURER])


def _redemption_waiting(context: dict[str, Any], now: dt.datetime) -> None:
    """The demo member asks for part of their savings back; the notice period runs."""
    from .services.savings import redemption_request, savings_balance

    demo = context.get("demo")
    if demo is None or savings_balance(user_id=demo.pk, currency=EUR) < 300_00:
        return
    _person_payee(demo)
    redemption_request(user=demo, amount=300_00, currency=EUR, now=now - dt.timedelta(days=10))


def seed_money(*, context: dict[str, Any]) -> None:
    if not is_sandbox():
        return  # demo money only goes through the sandbox
    if (
        Investment.objects.filter(title=THIRD_PLACE_LOAN).exists()
        or MatchingRule.objects.filter(title=MATCHING_RULE).exists()
    ):
        return  # seeded already
    members = _members()
    staff = context.get("staff") or {}
    if len(members) < 4 or Role.TREASURER not in staff or Role.MODERATOR not in staff:
        return  # runs after members.demo.seed
    now = timezone.now()
    # In process, and quietly, like the campaigns seeder: workers' tasks run inline.
    with override_settings(
        CELERY_TASK_ALWAYS_EAGER=True,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ):
        from config.celery_app import app

        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        try:
            loan, savers = _last_year(context, members, timezone.localdate(now))
            _repay_and_close(context, loan, now)
            _this_year(context, members, savers)
            _matching(context, members, now)
            _fund_round(context)
            _redemption_waiting(context, now)
        finally:
            app.conf.task_always_eager = eager
    stdout = context.get("stdout")
    if stdout is not None:
        liquidity = liquidity_get(currency=EUR)
        invested = Investment.objects.exclude(status=InvestmentStatus.PROPOSED).count()
        waiting = Redemption.objects.filter(status=RedemptionStatus.REQUESTED).count()
        stdout.write(
            f"Fund: {format_money(liquidity.savings, EUR, use_l10n=False)} of savings, "
            f"{format_money(liquidity.lent, EUR, use_l10n=False)} lent, {invested} grants and "
            f"loans, {FundYear.objects.count()} closed year(s), {waiting} redemption(s) waiting."
        )
