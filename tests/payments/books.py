"""Reading the books in the payments tests: balances and entries, exactly."""

from ledger.enums import AccountPurpose, EntryKind, OwnerType
from ledger.models import Account, JournalEntry
from ledger.selectors import trial_balance
from ledger.services import credit, debit, fund_account, ledger_entry_post, platform_account

EUR = "EUR"


def balance(purpose, *, owner_type=None, owner_id=None, currency=EUR):
    query = Account.objects.filter(purpose=purpose, currency=currency, owner_id=owner_id)
    if owner_type is not None:
        query = query.filter(owner_type=owner_type)
    row = query.values_list("balance", flat=True).first()
    return int(row or 0)


def stripe_cash(currency=EUR):
    return balance(AccountPurpose.STRIPE_CASH, owner_type=OwnerType.PLATFORM, currency=currency)


def bank_cash(currency=EUR):
    return balance(AccountPurpose.BANK_CASH, owner_type=OwnerType.PLATFORM, currency=currency)


def processor_fees(currency=EUR):
    return balance(AccountPurpose.PROCESSOR_FEES, owner_type=OwnerType.PLATFORM, currency=currency)


def grants_pool(currency=EUR):
    return balance(AccountPurpose.GRANTS_POOL, owner_type=OwnerType.FUND, currency=currency)


def member_shares(user, currency=EUR):
    return balance(
        AccountPurpose.MEMBER_SHARES,
        owner_type=OwnerType.MEMBER,
        owner_id=user.pk,
        currency=currency,
    )


def escrow(campaign_id, currency=EUR):
    return balance(
        AccountPurpose.CAMPAIGN_ESCROW,
        owner_type=OwnerType.CAMPAIGN,
        owner_id=campaign_id,
        currency=currency,
    )


def entries(reference_type, reference_id):
    """Each entry about this object: (kind, reverses entry id, sorted (account code, side, amount))."""
    found = []
    for entry in JournalEntry.objects.filter(
        reference_type=reference_type, reference_id=reference_id
    ).order_by("id"):
        postings = sorted(
            (p.account.code, p.side, p.amount) for p in entry.postings.select_related("account")
        )
        found.append((entry.kind, entry.reverses_id, postings))
    return found


def books_balance():
    """Every currency's debit-normal minus credit-normal balances: zero when the books balance."""
    return {currency: total for currency, total in trial_balance().items() if total}


def grants_pool_given(cash=AccountPurpose.BANK_CASH, amount=50_000, currency=EUR):
    """The grants pool holds `amount`, its money in the bank (or at Stripe), posted directly."""
    ledger_entry_post(
        kind=EntryKind.DONATION,
        legs=[
            debit(platform_account(cash, currency), amount),
            credit(fund_account(AccountPurpose.GRANTS_POOL, currency), amount),
        ],
        idempotency_key=f"given-{cash}-{amount}-{currency}",
    )
    return fund_account(AccountPurpose.GRANTS_POOL, currency)
