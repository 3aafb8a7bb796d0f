"""The public ledger API: entries, accounts, blocks, proofs, trial balance and exports."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ledger.enums import AccountPurpose, EntryKind
from ledger.hashing import merkle_proof_verify
from ledger.models import Account, JournalEntry, Posting
from ledger.services import credit, debit, ledger_entry_post, platform_account
from ledger.verify import verify_lines, verify_proof

pytestmark = pytest.mark.django_db

MEMBER_LABELS = {"member": "members.selectors.ledger_owner_labels"}


def _ids(response):
    return [entry["id"] for entry in response.json()["results"]]


def _all_pages(api_client, url):
    seen, pages = [], 0
    while url:
        response = api_client.get(url)
        assert response.status_code == 200
        seen.extend(_ids(response))
        url = response.json()["next"]
        pages += 1
    return seen, pages


@override_settings(LEDGER_OWNER_LABELS=MEMBER_LABELS)
def test_entries_newest_first_with_postings_and_owners_as_they_chose(api_client, books):
    response = api_client.get("/api/v1/ledger/entries")
    assert response.status_code == 200
    body = response.json()
    all_ids = sorted((e.pk for e in books.entries.values()), reverse=True)
    assert _ids(response) == all_ids
    by_id = {entry["id"]: entry for entry in body["results"]}

    savings = by_id[books.entries["savings"].pk]
    assert savings["kind"] == "savings_subscription"
    assert savings["block_height"] == 0
    assert [
        (p["account"], p["side"], p["amount"], p["currency"], p["owner"])
        for p in savings["postings"]
    ] == [
        ("platform:stripe_cash:EUR", "debit", 10_000, "EUR", "Bien Commun (platform)"),
        (
            f"member:{books.people['camille'].pk}:member_savings:EUR",
            "credit",
            10_000,
            "EUR",
            "Camille Martin",
        ),
    ]
    hugo = by_id[books.entries["hugo"].pk]
    assert hugo["postings"][1]["owner"] == books.people["hugo"].pseudonym
    assert (hugo["block_height"], hugo["position"]) == (None, None)
    shares = by_id[books.entries["shares"].pk]
    assert shares["postings"][1]["owner"] == "Anonymous"
    pledge = by_id[books.entries["pledge1"].pk]
    assert pledge["postings"][1]["owner"] == "Campaign 7"
    assert (pledge["reference_type"], pledge["reference_id"]) == ("pledge", 1)
    grant = by_id[books.entries["donation"].pk]
    assert grant["postings"][1]["owner"] == "Common fund"
    refund = by_id[books.entries["refund"].pk]
    assert refund["reverses"] == books.entries["pledge2"].pk
    assert refund["reverses_hash"] == books.entries["pledge2"].hash
    assert refund["created_at"].endswith("+00:00")
    for person in books.people.values():
        assert person.email not in response.text


@override_settings(LEDGER_OWNER_LABELS=MEMBER_LABELS)
def test_a_deleted_member_shows_as_anonymous(api_client, books):
    from members.services import user_delete

    user_delete(user=books.people["camille"])
    response = api_client.get(f"/api/v1/ledger/entries/{books.entries['savings'].pk}")
    assert response.json()["postings"][1]["owner"] == "Anonymous"
    assert "Camille" not in response.text


@override_settings(
    LEDGER_OWNER_LABELS={
        "member": "members.selectors.ledger_owner_labels",
        "campaign": "nowhere.yet.ledger_owner_labels",
    }
)
def test_an_owner_label_module_that_does_not_exist_yet_falls_back(api_client, books):
    response = api_client.get("/api/v1/ledger/accounts", {"owner_type": "campaign"})
    assert response.status_code == 200
    assert [(a["code"], a["owner"]) for a in response.json()["results"]] == [
        ("campaign:7:campaign_escrow:EUR", "Campaign 7"),
        ("campaign:8:campaign_escrow:USD", "Campaign 8"),
    ]


@override_settings(LEDGER_OWNER_LABELS=MEMBER_LABELS)
def test_the_entry_list_reads_in_a_fixed_number_of_queries(
    api_client, books, django_assert_num_queries
):
    # Entries, postings with accounts, member labels: no query per entry or per posting.
    with django_assert_num_queries(3):
        response = api_client.get("/api/v1/ledger/entries", {"page_size": 50})
    assert len(response.json()["results"]) == 11
    with django_assert_num_queries(3):
        api_client.get("/api/v1/ledger/entries", {"page_size": 2})


def test_cursor_pagination_walks_every_entry_once(api_client, books):
    seen, pages = _all_pages(api_client, "/api/v1/ledger/entries?page_size=4")
    assert seen == sorted((e.pk for e in books.entries.values()), reverse=True)
    assert pages == 3


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "pledge_charge"}, ["usd", "pledge2", "pledge1"]),
        (
            {"account": "campaign:7:campaign_escrow:EUR"},
            ["partial", "refund", "pledge2", "pledge1"],
        ),
        ({"account": "no:such:account"}, []),
        ({"reference_type": "pledge", "reference_id": 2}, ["refund", "pledge2"]),
        ({"kind": "reversal", "account": "platform:stripe_cash:EUR"}, ["refund"]),
    ],
)
def test_entries_filter_by_account_kind_and_reference(api_client, books, params, expected):
    response = api_client.get("/api/v1/ledger/entries", params)
    assert response.status_code == 200
    assert _ids(response) == [books.entries[name].pk for name in expected]


def test_entries_filter_by_date(api_client, books):
    today = timezone.localdate()
    assert _ids(
        api_client.get("/api/v1/ledger/entries", {"date_from": today.isoformat()})
    ) == sorted((e.pk for e in books.entries.values()), reverse=True)
    tomorrow = today + timedelta(days=1)
    assert _ids(api_client.get("/api/v1/ledger/entries", {"date_from": tomorrow.isoformat()})) == []
    yesterday = today - timedelta(days=1)
    assert _ids(api_client.get("/api/v1/ledger/entries", {"date_to": yesterday.isoformat()})) == []
    both = {"date_from": "0001-01-01", "date_to": "9999-12-31"}
    assert len(_ids(api_client.get("/api/v1/ledger/entries", both))) == 11


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "gift"},
        {"date_from": "yesterday"},
        {"reference_id": "x"},
        {"reference_id": 0},
        {"account": "a\x00b"},
    ],
)
def test_bad_filters_are_refused_in_the_error_format(api_client, books, params):
    response = api_client.get("/api/v1/ledger/entries", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert set(response.json()["error"]["fields"]) == set(params)


def test_one_entry_and_its_seal(api_client, books):
    entry = books.entries["donation"]
    body = api_client.get(f"/api/v1/ledger/entries/{entry.pk}").json()
    assert body["id"] == entry.pk
    assert body["hash"] == entry.hash
    assert (body["block_height"], body["position"]) == (1, 2)
    assert api_client.get("/api/v1/ledger/entries/999999").json()["error"]["code"] == "not_found"
    assert api_client.get(f"/api/v1/ledger/entries/{2**70}").status_code == 404


def test_every_sealed_entry_has_a_proof_that_checks_out(api_client, books):
    for entry in books.sealed:
        response = api_client.get(f"/api/v1/ledger/entries/{entry.pk}/proof")
        assert response.status_code == 200
        proof = response.json()
        assert proof["entry_hash"] == entry.hash
        assert proof["verified"] is True
        assert merkle_proof_verify(entry.hash, proof["audit_path"], proof["block"]["merkle_root"])
        assert verify_proof(proof) == []
    assert sorted(e.pk for e in books.sealed) == sorted(
        e.pk
        for e in books.entries.values()
        if e.pk not in {books.entries["grant"].pk, books.entries["hugo"].pk}
    )


def test_a_tampered_proof_does_not_check_out(api_client, books):
    proof = api_client.get(f"/api/v1/ledger/entries/{books.entries['fee'].pk}/proof").json()
    proof["entry"]["postings"][0][2] += 1
    assert verify_proof(proof) == [
        f"the entry's content hashes to {_rehash(proof['entry'])}, not {proof['entry_hash']}"
    ]
    proof = api_client.get(f"/api/v1/ledger/entries/{books.entries['fee'].pk}/proof").json()
    proof["leaf_index"] = (proof["leaf_index"] + 1) % proof["tree_size"]
    assert "the audit path does not fit leaf" in verify_proof(proof)[0]


def _rehash(entry):
    from ledger.hashing import entry_hash

    return entry_hash(
        kind=entry["kind"],
        memo=entry["memo"],
        idempotency_key=entry["idempotency_key"],
        created_at=entry["created_at"],
        reverses_hash=entry["reverses"],
        postings=entry["postings"],
    )


def test_no_proof_before_the_entry_is_sealed(api_client, books):
    response = api_client.get(f"/api/v1/ledger/entries/{books.entries['grant'].pk}/proof")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_sealed"
    assert (
        api_client.get("/api/v1/ledger/entries/424242/proof").json()["error"]["code"] == "not_found"
    )


@override_settings(LEDGER_OWNER_LABELS=MEMBER_LABELS)
def test_accounts_with_balances_and_owners(api_client, books):
    response = api_client.get("/api/v1/ledger/accounts", {"page_size": 100})
    assert response.status_code == 200
    rows = {a["code"]: a for a in response.json()["results"]}
    assert {code: a["balance"] for code, a in rows.items()} == {
        "platform:stripe_cash:EUR": 20_880,
        "platform:stripe_cash:USD": 1_999,
        "platform:processor_fees:EUR": 120,
        "campaign:7:campaign_escrow:EUR": 2_000,
        "campaign:8:campaign_escrow:USD": 1_999,
        "fund:grants_pool:EUR": 2_000,
        f"member:{books.people['camille'].pk}:member_savings:EUR": 10_000,
        f"member:{books.people['hugo'].pk}:member_savings:EUR": 2_000,
        f"member:{books.people['nora'].pk}:member_shares:EUR": 5_000,
    }
    assert list(rows) == sorted(rows)
    camille = rows[f"member:{books.people['camille'].pk}:member_savings:EUR"]
    assert (camille["owner"], camille["type"], camille["owner_type"]) == (
        "Camille Martin",
        "equity",
        "member",
    )
    members = api_client.get("/api/v1/ledger/accounts", {"owner_type": "member"}).json()["results"]
    assert len(members) == 3
    detail = api_client.get("/api/v1/ledger/accounts/campaign:7:campaign_escrow:EUR").json()
    assert (detail["balance"], detail["purpose"]) == (2_000, "campaign_escrow")
    assert api_client.get("/api/v1/ledger/accounts/nope").json()["error"]["code"] == "not_found"


def test_blocks_chain_and_list_their_entries_in_leaf_order(api_client, books):
    blocks = api_client.get("/api/v1/ledger/blocks").json()["results"]
    assert [b["height"] for b in blocks] == [1, 0]
    assert blocks[0]["previous_hash"] == blocks[1]["hash"]
    assert blocks[1]["previous_hash"] == "0" * 64
    first = api_client.get("/api/v1/ledger/blocks/0").json()
    names = ["pledge1", "pledge2", "fee", "savings", "shares", "usd"]
    assert first["entries"] == [books.entries[n].pk for n in names]
    assert first["entry_count"] == 6
    assert api_client.get("/api/v1/ledger/blocks/2").json()["error"]["code"] == "not_found"


def test_trial_balance_is_zero_in_every_currency(api_client, books):
    body = api_client.get("/api/v1/ledger/trial-balance").json()
    assert body["is_balanced"] is True
    assert body["currencies"] == [
        {
            "currency": "EUR",
            "accounts": 7,
            "debit_normal_total": 21_000,
            "credit_normal_total": 21_000,
            "difference": 0,
        },
        {
            "currency": "USD",
            "accounts": 2,
            "debit_normal_total": 1_999,
            "credit_normal_total": 1_999,
            "difference": 0,
        },
    ]
    assert body["head_block"]["height"] == 1


def _streamed(response):
    return b"".join(response.streaming_content).decode()


@override_settings(LEDGER_OWNER_LABELS=MEMBER_LABELS)
def test_the_json_lines_export_holds_the_books_and_verifies(api_client, books):
    response = api_client.get("/api/v1/ledger/export.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    text = _streamed(response)
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["record"] for r in records] == ["header"] + ["account"] * 9 + ["entry"] * 11 + [
        "block"
    ] * 2
    assert records[0]["counts"] == {"accounts": 9, "entries": 11, "postings": 22, "blocks": 2}
    report = verify_lines(text.splitlines())
    assert report.errors == []
    assert (report.entries, report.sealed, report.postings) == (11, 9, 22)
    for person in books.people.values():
        assert person.email not in text


@override_settings(LEDGER_OWNER_LABELS=MEMBER_LABELS)
def test_the_csv_export_has_one_row_per_posting(api_client, books):
    response = api_client.get("/api/v1/ledger/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(_streamed(response))))
    assert len(rows) == Posting.objects.count() == 22
    savings = [r for r in rows if r["entry_id"] == str(books.entries["savings"].pk)]
    assert [
        (r["account"], r["owner"], r["side"], r["amount_minor_units"], r["currency"])
        for r in savings
    ] == [
        ("platform:stripe_cash:EUR", "Bien Commun (platform)", "debit", "10000", "EUR"),
        (
            f"member:{books.people['camille'].pk}:member_savings:EUR",
            "Camille Martin",
            "credit",
            "10000",
            "EUR",
        ),
    ]
    assert savings[0]["entry_hash"] == books.entries["savings"].hash
    assert savings[0]["kind"] == "savings_subscription"
    filtered = list(
        csv.DictReader(
            io.StringIO(_streamed(api_client.get("/api/v1/ledger/export.csv", {"kind": "refund"})))
        )
    )
    assert [(r["entry_id"], r["side"]) for r in filtered] == [
        (str(books.entries["partial"].pk), "debit"),
        (str(books.entries["partial"].pk), "credit"),
    ]
    assert api_client.get("/api/v1/ledger/export.csv", {"kind": "gift"}).status_code == 400


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(api_client, db):
    cash = platform_account(AccountPurpose.SUSPENSE, "EUR")
    fees = platform_account(AccountPurpose.PROCESSOR_FEES, "EUR")
    ledger_entry_post(
        kind=EntryKind.PROCESSOR_FEE,
        legs=[debit(fees, 5), credit(cash, 5)],
        idempotency_key="f",
        memo='=HYPERLINK("http://x")',
    )
    rows = list(csv.DictReader(io.StringIO(_streamed(api_client.get("/api/v1/ledger/export.csv")))))
    assert {r["memo"] for r in rows} == {'\'=HYPERLINK("http://x")'}


def test_exports_answer_whatever_the_accept_header(api_client, books):
    response = api_client.get("/api/v1/ledger/export.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    bad = api_client.get("/api/v1/ledger/export.csv", {"date_to": "soon"}, HTTP_ACCEPT="text/csv")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"] == {"date_to": ["Enter a valid date."]}


def test_reads_write_nothing(api_client, books):
    before = (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        list(Account.objects.order_by("pk").values_list("balance", flat=True)),
    )
    for path in ["entries", "accounts", "blocks", "trial-balance", "export.csv", "export.jsonl"]:
        response = api_client.get(f"/api/v1/ledger/{path}")
        assert response.status_code == 200
        if response.streaming:
            _streamed(response)
    assert before == (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        list(Account.objects.order_by("pk").values_list("balance", flat=True)),
    )


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("entries", {"page_size": "null"}, "page_size"),
        ("entries", {"page_size": 0}, "page_size"),
        ("accounts", {"page_size": "1.5"}, "page_size"),
        ("entries", {"date_to": ""}, "date_to"),
        ("accounts", {"currency": ""}, "currency"),
        ("export.csv", {"kind": ""}, "kind"),
    ],
)
def test_a_bad_page_size_or_an_empty_filter_is_refused(api_client, books, path, params, field):
    response = api_client.get(f"/api/v1/ledger/{path}", params)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_a_page_size_is_honoured_up_to_the_maximum_and_refused_beyond(
    api_client, books, monkeypatch
):
    assert len(api_client.get("/api/v1/ledger/entries", {"page_size": 1}).json()["results"]) == 1
    monkeypatch.setattr("common.pagination.CursorPagination.max_page_size", 4)
    assert len(api_client.get("/api/v1/ledger/entries", {"page_size": 4}).json()["results"]) == 4
    refused = api_client.get("/api/v1/ledger/entries", {"page_size": 9})
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"page_size": ["A whole number from 1 to 4."]}
