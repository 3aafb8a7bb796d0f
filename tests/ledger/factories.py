"""Ledger factories. They go through the services, as every movement of money must."""

import itertools
from typing import Any

import factory

from ledger.enums import AccountPurpose, EntryKind
from ledger.models import Account, JournalEntry
from ledger.services import account_get_or_create, credit, debit, ledger_entry_post

_keys = itertools.count(1)


class AccountFactory(factory.Factory[Account]):
    """An account opened by `account_get_or_create` (the chart decides its type and rules)."""

    class Meta:
        model = Account

    purpose = AccountPurpose.MEMBER_SAVINGS
    currency = "EUR"
    owner_type = None
    owner_id = factory.Sequence(lambda n: 10_000 + n)

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> Account:
        return account_get_or_create(**kwargs)

    _build = _create


class EntryFactory(factory.Factory[JournalEntry]):
    """A balanced transfer from `source` to `target`, posted by `ledger_entry_post`."""

    class Meta:
        model = JournalEntry

    source = factory.SubFactory(AccountFactory, purpose=AccountPurpose.STRIPE_CASH, owner_id=None)
    target = factory.SubFactory(AccountFactory, purpose=AccountPurpose.GRANTS_POOL, owner_id=None)
    amount = 1_000
    kind = EntryKind.DONATION
    memo = ""
    idempotency_key = factory.LazyFunction(lambda: f"test:{next(_keys)}")
    reference = None

    @classmethod
    def _create(cls, model_class: Any, **kwargs: Any) -> JournalEntry:
        source, target, amount = kwargs.pop("source"), kwargs.pop("target"), kwargs.pop("amount")
        return ledger_entry_post(legs=[debit(source, amount), credit(target, amount)], **kwargs)

    _build = _create
