"""Reading the books between the steps of a worked example: the entries posted since the last
look, and every account's balance."""

from django.db.models import Max

from ledger.models import Account, JournalEntry

from .money_factories import EUR, entry_legs

Legs = list[tuple[str, str, int]]


class Books:
    """The entries posted since the last look (kind and sorted legs), and the balance of every
    account (accounts at zero left out)."""

    def __init__(self) -> None:
        self.last = JournalEntry.objects.aggregate(last=Max("id"))["last"] or 0

    def new_entries(self) -> list[tuple[str, Legs]]:
        entries = list(JournalEntry.objects.filter(id__gt=self.last).order_by("id"))
        if entries:
            self.last = entries[-1].pk
        return [(entry.kind, entry_legs(entry)) for entry in entries]

    @staticmethod
    def balances(currency: str = EUR) -> dict[str, int]:
        return {
            code: int(balance)
            for code, balance in Account.objects.filter(currency=currency)
            .exclude(balance=0)
            .values_list("code", "balance")
        }


def entry(kind: str, *legs: tuple[str, str, int]) -> tuple[str, Legs]:
    """An expected entry, legs in the order `Books.new_entries` gives them."""
    return (kind, sorted(legs))
