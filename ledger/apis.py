"""The public ledger API: anyone may read the books, their blocks and proofs, and export them.

Reads go to the replica when there is one (`common.db.replica_alias`). Members appear only
through their public name, as each chose; never an email.
"""

from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django_filters import utils as filter_utils
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.db import replica_alias
from common.errors import NotFoundError
from common.pagination import CursorPagination
from members.enums import Scope

from .enums import AccountPurpose, AccountType, EntryKind, OwnerType, Side
from .exports import chunked, csv_entries, csv_lines, jsonl_lines
from .filters import AccountFilter, EntryFilter, day_after, day_start
from .hashing import timestamp
from .models import Account, JournalEntry
from .selectors import (
    account_get,
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
    entry_record,
    entry_seal_get,
    trial_balance_rows,
)

TAGS = ["ledger"]
HASH_HELP = "sha256, hexadecimal"


@extend_schema_field(OpenApiTypes.DATETIME)
class HashedTimestampField(serializers.Field):  # type: ignore[type-arg]
    """A time exactly as it enters the hashes: UTC, ISO 8601, to the microsecond."""

    def to_representation(self, value: Any) -> str:
        return timestamp(value)


# Output serializers, shared by the views.


class LedgerPostingSerializer(serializers.Serializer):  # type: ignore[type-arg]
    account = serializers.CharField(source="account.code", help_text="The account's code.")
    account_name = serializers.CharField(source="account.name")
    owner = serializers.SerializerMethodField(help_text="Who holds the account, as they chose.")
    side = serializers.ChoiceField(choices=Side.choices)
    amount = serializers.IntegerField(help_text="Minor units (cents).")
    currency = serializers.CharField()

    def get_owner(self, posting: Any) -> str:
        return str(self.context.get("labels", {}).get(posting.account_id, ""))


class LedgerEntrySerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=EntryKind.choices)
    memo = serializers.CharField()
    idempotency_key = serializers.CharField()
    created_at = HashedTimestampField()
    hash = serializers.CharField(help_text=HASH_HELP)
    reverses = serializers.IntegerField(
        source="reverses_id", allow_null=True, help_text="The entry this one reverses."
    )
    reverses_hash = serializers.SerializerMethodField()
    reference_type = serializers.CharField()
    reference_id = serializers.IntegerField(allow_null=True)
    postings = LedgerPostingSerializer(many=True, source="postings.all")
    block_height = serializers.SerializerMethodField(
        help_text="The block that seals this entry; null until it is sealed."
    )
    position = serializers.SerializerMethodField(help_text="The entry's leaf in its block.")

    def get_reverses_hash(self, entry: JournalEntry) -> str | None:
        return entry.reverses.hash if entry.reverses_id and entry.reverses else None

    def get_block_height(self, entry: JournalEntry) -> int | None:
        seal = entry_seal_get(entry=entry)
        return seal.block.height if seal else None

    def get_position(self, entry: JournalEntry) -> int | None:
        seal = entry_seal_get(entry=entry)
        return seal.position if seal else None


class LedgerAccountSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=AccountType.choices)
    purpose = serializers.ChoiceField(choices=AccountPurpose.choices)
    owner_type = serializers.ChoiceField(choices=OwnerType.choices)
    owner = serializers.SerializerMethodField(help_text="Who holds the account, as they chose.")
    currency = serializers.CharField()
    balance = serializers.IntegerField(
        help_text="Minor units, in the account's normal direction (debit for assets and expenses)."
    )
    allow_negative = serializers.BooleanField()

    def get_owner(self, account: Account) -> str:
        return str(self.context.get("labels", {}).get(account.pk, ""))


class LedgerBlockSerializer(serializers.Serializer):  # type: ignore[type-arg]
    height = serializers.IntegerField()
    merkle_root = serializers.CharField(help_text="RFC 6962 Merkle tree hash of its entries.")
    previous_hash = serializers.CharField(help_text="The hash of the block before it.")
    hash = serializers.CharField(help_text=HASH_HELP)
    entry_count = serializers.IntegerField()
    sealed_at = HashedTimestampField()


class LedgerBlockDetailSerializer(LedgerBlockSerializer):
    entries = serializers.ListField(
        child=serializers.IntegerField(), help_text="Entry ids in leaf order."
    )


class LedgerEntryRecordSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The entry as hashed and exported: recompute its hash from these fields."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    memo = serializers.CharField()
    idempotency_key = serializers.CharField()
    created_at = serializers.CharField()
    reverses = serializers.CharField(allow_null=True)
    hash = serializers.CharField()
    postings = serializers.ListField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text="[account code, side, amount, currency] for each posting.",
    )


class LedgerAuditStepSerializer(serializers.Serializer):  # type: ignore[type-arg]
    side = serializers.ChoiceField(choices=["left", "right"])
    hash = serializers.CharField()


class LedgerProofSerializer(serializers.Serializer):  # type: ignore[type-arg]
    entry_id = serializers.IntegerField()
    entry_hash = serializers.CharField()
    leaf_hash = serializers.CharField(help_text="sha256(0x00 || entry hash), as in RFC 6962.")
    leaf_index = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    audit_path = LedgerAuditStepSerializer(
        many=True,
        help_text="Sibling hashes from the leaf up: node = sha256(0x01 || left || right).",
    )
    block = LedgerBlockSerializer()
    entry = LedgerEntryRecordSerializer()
    verified = serializers.BooleanField(help_text="The server checked the path to the root.")
    verify_with = serializers.CharField()


class LedgerTrialBalanceRowSerializer(serializers.Serializer):  # type: ignore[type-arg]
    currency = serializers.CharField()
    accounts = serializers.IntegerField()
    debit_normal_total = serializers.IntegerField(
        help_text="Σ balances of asset and expense accounts."
    )
    credit_normal_total = serializers.IntegerField(
        help_text="Σ balances of liability, equity and income accounts."
    )
    difference = serializers.IntegerField(help_text="Zero when the books balance.")


class LedgerTrialBalanceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    currencies = LedgerTrialBalanceRowSerializer(many=True)
    is_balanced = serializers.BooleanField()
    head_block = LedgerBlockSerializer(allow_null=True)
    as_of = HashedTimestampField()


# Views


class _PublicApi(APIView):
    """Anyone may read the books; throttled like every public endpoint."""

    permission_classes = [AllowAny]
    read_scope = Scope.READ_FUNDS
    filter_names: tuple[str, ...] = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # An empty filter is a mistake, not "no filter": the API says so (the pages' forms,
        # which send every field, are lenient).
        blank = sorted(n for n in self.filter_names if request.query_params.get(n) == "")
        if blank and hasattr(self, str(request.method).lower()):  # else 405 answers
            raise serializers.ValidationError(
                {name: ["Give a value, or leave the parameter out."] for name in blank}
            )


class EntryCursorPagination(CursorPagination):
    ordering = "-id"


class AccountCursorPagination(CursorPagination):
    ordering = "code"


class BlockCursorPagination(CursorPagination):
    ordering = "-height"


class LedgerEntryListApi(_PublicApi, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = LedgerEntrySerializer
    pagination_class = EntryCursorPagination
    filterset_class = EntryFilter
    filter_names = tuple(EntryFilter.base_filters)

    def get_queryset(self) -> Any:
        return entry_list()

    @extend_schema(tags=TAGS, summary="Journal entries, newest first, with their postings")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        entries = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(entries) or []
        labels = entry_owner_labels(entries=page)
        data = LedgerEntrySerializer(page, many=True, context={"labels": labels}).data
        return self.get_paginated_response(data)


class LedgerEntryDetailApi(_PublicApi):
    @extend_schema(responses={200: LedgerEntrySerializer}, tags=TAGS, summary="One entry")
    def get(self, request: Request, entry_id: int) -> Response:
        entry = entry_get(entry_id=entry_id)
        if entry is None:
            raise NotFoundError("No entry with this id.")
        labels = entry_owner_labels(entries=[entry])
        return Response(LedgerEntrySerializer(entry, context={"labels": labels}).data)


class LedgerEntryProofApi(_PublicApi):
    @extend_schema(
        responses={200: LedgerProofSerializer},
        tags=TAGS,
        summary="Inclusion proof: the entry is in a sealed block",
        description=(
            "The RFC 6962 audit path from the entry's leaf to its block's Merkle root. "
            "404 with code `not_sealed` until the entry is sealed. "
            "Check it offline: `python -m ledger.verify --proof proof.json`."
        ),
    )
    def get(self, request: Request, entry_id: int) -> Response:
        entry = entry_get(entry_id=entry_id)
        if entry is None:
            raise NotFoundError("No entry with this id.")
        proof = entry_proof_get(entry=entry)
        body = {
            "entry_id": entry.pk,
            "entry_hash": entry.hash,
            "leaf_hash": proof.leaf_hash,
            "leaf_index": proof.leaf_index,
            "tree_size": proof.tree_size,
            "audit_path": proof.audit_path,
            "block": proof.block,
            "entry": entry_record(entry=entry),
            "verified": proof.is_valid,
            "verify_with": "python -m ledger.verify --proof proof.json",
        }
        return Response(LedgerProofSerializer(body).data)


class LedgerAccountListApi(_PublicApi, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = LedgerAccountSerializer
    pagination_class = AccountCursorPagination
    filterset_class = AccountFilter
    filter_names = tuple(AccountFilter.base_filters)

    def get_queryset(self) -> Any:
        return account_list()

    @extend_schema(tags=TAGS, summary="Accounts and their balances")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        accounts = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(accounts) or []
        labels = account_owner_labels(accounts=page)
        data = LedgerAccountSerializer(page, many=True, context={"labels": labels}).data
        return self.get_paginated_response(data)


class LedgerAccountDetailApi(_PublicApi):
    @extend_schema(responses={200: LedgerAccountSerializer}, tags=TAGS, summary="One account")
    def get(self, request: Request, code: str) -> Response:
        account = None if "\x00" in code else account_get(code=code)
        if account is None:
            raise NotFoundError("No account with this code.")
        labels = account_owner_labels(accounts=[account])
        return Response(LedgerAccountSerializer(account, context={"labels": labels}).data)


class LedgerBlockListApi(_PublicApi, generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = LedgerBlockSerializer
    pagination_class = BlockCursorPagination
    filterset_class = None

    def get_queryset(self) -> Any:
        return block_list()

    @extend_schema(tags=TAGS, summary="Sealed blocks, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class LedgerBlockDetailApi(_PublicApi):
    @extend_schema(
        responses={200: LedgerBlockDetailSerializer},
        tags=TAGS,
        summary="One block, with its entry ids in leaf order",
    )
    def get(self, request: Request, height: int) -> Response:
        block = block_get(height=height)
        if block is None:
            raise NotFoundError("No block at this height.")
        data = dict(LedgerBlockSerializer(block).data)
        data["entries"] = block_entry_ids(block=block)
        return Response(data)


class LedgerTrialBalanceApi(_PublicApi):
    @extend_schema(
        responses={200: LedgerTrialBalanceSerializer},
        tags=TAGS,
        summary="Trial balance per currency (from the accounts' balances)",
    )
    def get(self, request: Request) -> Response:
        using = replica_alias()
        rows = trial_balance_rows(using=using)
        body = {
            "currencies": rows,
            "is_balanced": all(row["difference"] == 0 for row in rows),
            "head_block": block_head_get(using=using),
            "as_of": timezone.now(),
        }
        return Response(LedgerTrialBalanceSerializer(body).data)


class _ExportApi(_PublicApi):
    """Exports answer in their own format whatever the Accept header; errors in the JSON one."""

    def perform_content_negotiation(self, request: Any, force: bool = False) -> Any:
        return super().perform_content_negotiation(request, force=True)


class LedgerExportJsonlApi(_ExportApi):
    @extend_schema(
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR},
        tags=TAGS,
        summary="The whole ledger as JSON lines, verifiable offline",
        description=(
            "One consistent snapshot: a header, the accounts with their balances, every entry "
            "with its postings, every block with its entry ids. Format: docs/ledger.md. "
            "Verify it with `python -m ledger.verify bien-commun-ledger.jsonl`."
        ),
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            chunked(jsonl_lines()), content_type="application/x-ndjson; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="bien-commun-ledger.jsonl"'
        return response


class LedgerExportCsvApi(_ExportApi):
    filter_names = ("account", "kind", "date_from", "date_to")

    @extend_schema(
        parameters=[
            OpenApiParameter("account", str, description="An account code."),
            OpenApiParameter("kind", str, enum=EntryKind.values),
            OpenApiParameter("date_from", OpenApiTypes.DATE),
            OpenApiParameter("date_to", OpenApiTypes.DATE),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=TAGS,
        summary="Postings as CSV, one row per posting, for accountants",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = EntryFilter(request.query_params, queryset=JournalEntry.objects.none())
        if not filters.is_valid():
            raise filter_utils.translate_validation(filters.errors)
        values = filters.form.cleaned_data
        filtered = any(values.get(k) for k in ("account", "kind", "date_from", "date_to"))
        entries = (
            csv_entries(
                account=values.get("account") or "",
                kind=values.get("kind") or "",
                date_from=day_start(values["date_from"]) if values.get("date_from") else None,
                date_before=day_after(values["date_to"]) if values.get("date_to") else None,
            )
            if filtered
            else None
        )
        response = StreamingHttpResponse(
            chunked(csv_lines(entries=entries)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="bien-commun-ledger.csv"'
        return response
