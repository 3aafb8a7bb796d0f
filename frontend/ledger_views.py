"""Pages for the open ledger: entries, exports, blocks and proofs."""

from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse

from common.db import replica_alias
from ledger.exceptions import EntryNotSealedError
from ledger.filters import AccountFilter, EntryFilter
from ledger.models import JournalEntry
from ledger.selectors import (
    account_list,
    account_owner_labels,
    block_entry_ids,
    block_get,
    block_head_get,
    block_list,
    entry_get,
    entry_list,
    entry_owner_labels,
    entry_proof_get,
    entry_seal_get,
    trial_balance_rows,
)

ENTRIES_PER_PAGE = 25
BLOCKS_PER_PAGE = 25
ACCOUNTS_PER_PAGE = 50
BLOCK_ENTRIES_PER_PAGE = 100


def _positive_int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    return int(value) or None


def _query(params: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


def _label_postings(entries: list[JournalEntry]) -> None:
    """Attach each posting's owner label and split the postings by side, for the templates."""
    labels = entry_owner_labels(entries=entries)
    for entry in entries:
        postings = list(entry.postings.all())
        for posting in postings:
            posting.owner_label = labels.get(posting.account_id, "")  # type: ignore[attr-defined]
        entry.debits = [p for p in postings if p.side == "debit"]  # type: ignore[attr-defined]
        entry.credits = [p for p in postings if p.side == "credit"]  # type: ignore[attr-defined]
        seal = entry_seal_get(entry=entry)
        entry.block_height = seal.block.height if seal else None  # type: ignore[attr-defined]


def ledger(request: HttpRequest) -> HttpResponse:
    """Every entry, newest first, with filters by account, kind and dates."""
    filters = EntryFilter(request.GET or None, queryset=entry_list())
    entries = filters.qs if filters.is_bound and filters.is_valid() else entry_list()
    params = {k: request.GET.get(k, "") for k in ("account", "kind", "date_from", "date_to")}
    if filters.is_bound and not filters.is_valid():
        params = {}
    before = _positive_int(request.GET.get("before"))
    after = _positive_int(request.GET.get("after"))
    if after is not None:
        page = list(entries.filter(pk__gt=after).order_by("id")[: ENTRIES_PER_PAGE + 1])
        has_more_newer = len(page) > ENTRIES_PER_PAGE
        page = list(reversed(page[:ENTRIES_PER_PAGE]))
        has_newer = has_more_newer
        has_older = bool(page) and entries.filter(pk__lt=page[-1].pk).exists()
    else:
        window = entries.filter(pk__lt=before) if before is not None else entries
        page = list(window[: ENTRIES_PER_PAGE + 1])
        has_older = len(page) > ENTRIES_PER_PAGE
        page = page[:ENTRIES_PER_PAGE]
        has_newer = before is not None and bool(page) and entries.filter(pk__gt=page[0].pk).exists()
    _label_postings(page)
    csv_url = reverse("ledger:export-csv") + (_query(params) if any(params.values()) else "")
    return render(
        request,
        "frontend/ledger/entries.html",
        {
            "entries": page,
            "filter_form": filters.form,
            "is_filtered": any(params.values()),
            "newer_url": _query(params, after=page[0].pk) if has_newer and page else None,
            "older_url": _query(params, before=page[-1].pk) if has_older and page else None,
            "csv_url": csv_url,
            "jsonl_url": reverse("ledger:export-jsonl"),
            "head": block_head_get(),
        },
        status=400 if filters.is_bound and not filters.is_valid() else 200,
    )


def ledger_entry(request: HttpRequest, entry_id: int) -> HttpResponse:
    """One entry, its postings, its block and the proof that it is in that block."""
    entry = entry_get(entry_id=entry_id)
    if entry is None:
        raise Http404
    _label_postings([entry])
    try:
        proof = entry_proof_get(entry=entry)
    except EntryNotSealedError:
        proof = None
    reversals = list(
        JournalEntry.objects.using(replica_alias())
        .filter(reverses=entry)
        .values_list("pk", flat=True)
    )
    return render(
        request,
        "frontend/ledger/entry.html",
        {
            "entry": entry,
            "proof": proof,
            "reversals": reversals,
            "proof_url": request.build_absolute_uri(reverse("ledger:entry-proof", args=[entry.pk])),
        },
    )


def ledger_blocks(request: HttpRequest) -> HttpResponse:
    """The chain of sealed blocks, newest first."""
    blocks = block_list()
    before = request.GET.get("before")
    below = int(before) if before is not None and before.isdigit() and len(before) < 10 else None
    window = blocks.filter(height__lt=below) if below is not None else blocks
    page = list(window[: BLOCKS_PER_PAGE + 1])
    has_older = len(page) > BLOCKS_PER_PAGE
    page = page[:BLOCKS_PER_PAGE]
    return render(
        request,
        "frontend/ledger/blocks.html",
        {
            "blocks": page,
            "older_url": f"?before={page[-1].height}" if has_older else None,
            "newest_url": "?" if below is not None else None,
            "head": block_head_get(),
        },
    )


def ledger_block(request: HttpRequest, height: int) -> HttpResponse:
    """One block: its hashes, its place in the chain, its entries in leaf order."""
    block = block_get(height=height)
    if block is None:
        raise Http404
    ids = block_entry_ids(block=block)
    page = Paginator(ids, BLOCK_ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    offset = page.start_index() - 1 if ids else 0
    entries = {
        e.pk: e
        for e in JournalEntry.objects.using(replica_alias())
        .filter(pk__in=list(page.object_list))
        .only("id", "kind", "created_at", "hash")
    }
    leaves = [(offset + i, entries[pk]) for i, pk in enumerate(page.object_list)]
    return render(
        request,
        "frontend/ledger/block.html",
        {
            "sealed": block,  # not "block": templates use that name for their blocks
            "leaves": leaves,
            "page": page,
            "has_next_block": block_list().filter(height=block.height + 1).exists(),
        },
    )


def ledger_accounts(request: HttpRequest) -> HttpResponse:
    """Every account and its balance, and the trial balance per currency."""
    filters = AccountFilter(request.GET or None, queryset=account_list())
    accounts = filters.qs if filters.is_bound and filters.is_valid() else account_list()
    page = Paginator(accounts, ACCOUNTS_PER_PAGE).get_page(request.GET.get("page"))
    labels = account_owner_labels(accounts=page.object_list)
    for account in page.object_list:
        account.owner_label = labels.get(account.pk, "")
    params = {k: request.GET.get(k, "") for k in ("owner_type", "type", "purpose", "currency")}
    return render(
        request,
        "frontend/ledger/accounts.html",
        {
            "page": page,
            "filter_form": filters.form,
            "trial_balance": trial_balance_rows(using=replica_alias()),
            "page_query": _query(params),
        },
        status=400 if filters.is_bound and not filters.is_valid() else 200,
    )


urlpatterns: list[URLPattern] = [
    path("ledger/", ledger, name="ledger"),
    path("ledger/entries/<int:entry_id>/", ledger_entry, name="ledger-entry"),
    path("ledger/blocks/", ledger_blocks, name="ledger-blocks"),
    path("ledger/blocks/<int:height>/", ledger_block, name="ledger-block"),
    path("ledger/accounts/", ledger_accounts, name="ledger-accounts"),
]
