from django.urls import URLPattern, path

from . import apis

app_name = "ledger"

urlpatterns: list[URLPattern] = [
    path("ledger/entries", apis.LedgerEntryListApi.as_view(), name="entry-list"),
    path("ledger/entries/<int:entry_id>", apis.LedgerEntryDetailApi.as_view(), name="entry"),
    path(
        "ledger/entries/<int:entry_id>/proof",
        apis.LedgerEntryProofApi.as_view(),
        name="entry-proof",
    ),
    path("ledger/accounts", apis.LedgerAccountListApi.as_view(), name="account-list"),
    path("ledger/accounts/<str:code>", apis.LedgerAccountDetailApi.as_view(), name="account"),
    path("ledger/blocks", apis.LedgerBlockListApi.as_view(), name="block-list"),
    path("ledger/blocks/<int:height>", apis.LedgerBlockDetailApi.as_view(), name="block"),
    path("ledger/export.jsonl", apis.LedgerExportJsonlApi.as_view(), name="export-jsonl"),
    path("ledger/export.csv", apis.LedgerExportCsvApi.as_view(), name="export-csv"),
    path("ledger/trial-balance", apis.LedgerTrialBalanceApi.as_view(), name="trial-balance"),
]
