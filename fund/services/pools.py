"""Moving given money between the grants pool and the matching pool (the treasurer, carrying out
the members' decisions). Savings never move into them."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from common.errors import PermissionDeniedError
from ledger.enums import AccountPurpose, EntryKind
from ledger.models import JournalEntry
from ledger.selectors import account_balance_get
from ledger.services import credit, debit
from members.enums import Role
from members.selectors import user_has_role

from ..money_enums import FundPool
from ..money_exceptions import FundMoneyError, GrantsPoolError, MatchingPoolError
from .books import fund_entry_post, fund_locks_take, matching_key, pool
from .matching import matching_pool_available


def fund_pool_transfer(
    *, source: str, target: str, amount: int, currency: str, actor: Any, idempotency_key: str
) -> JournalEntry:
    if not user_has_role(user=actor, role=Role.TREASURER):
        raise PermissionDeniedError(_("Only the treasurer can do this."))
    if {source, target} != {FundPool.GRANTS_POOL, FundPool.MATCHING_POOL}:
        raise FundMoneyError(
            _("Money moves between the grants pool and the matching pool."),
            code="invalid_pools",
            fields={"target": [_("The other pool.")]},
        )
    if type(amount) is not int or amount <= 0:
        raise FundMoneyError(
            _("A positive whole number of minor units."),
            code="invalid_amount",
            fields={"amount": [_("A positive whole number of minor units.")]},
        )
    with transaction.atomic(durable=True):
        fund_locks_take(matching_key(currency))
        source_account = pool(AccountPurpose(source), currency)
        if source == FundPool.MATCHING_POOL:
            if amount > matching_pool_available(currency=currency):
                raise MatchingPoolError()
        elif amount > account_balance_get(account=source_account):
            raise GrantsPoolError()
        return fund_entry_post(
            kind=EntryKind.TRANSFER,
            legs=[
                debit(source_account, amount),
                credit(pool(AccountPurpose(target), currency), amount),
            ],
            idempotency_key=f"pool-transfer:{idempotency_key}",
            memo=f"From the {source.replace('_', ' ')} to the {target.replace('_', ' ')}",
            actor=actor,
        )
