import io

import pytest

from ledger.demo import seed
from ledger.models import BalanceCheck, Block, JournalEntry, SealedEntry

from .factories import EntryFactory

pytestmark = pytest.mark.django_db


def test_the_demo_seals_everything_posted_before_it_in_small_blocks():
    EntryFactory.create_batch(85)
    out = io.StringIO()
    context = {"stdout": out}
    seed(context=context)
    assert list(Block.objects.order_by("height").values_list("entry_count", flat=True)) == [
        40,
        40,
        5,
    ]
    assert SealedEntry.objects.count() == JournalEntry.objects.count() == 85
    assert BalanceCheck.objects.get().is_clean
    assert out.getvalue() == "Ledger: 85 entries sealed in 3 blocks; balances verified."
    seed(context={})
    assert Block.objects.count() == 3
