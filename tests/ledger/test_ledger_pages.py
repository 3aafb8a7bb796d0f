"""The open ledger's pages: server-rendered, in French and English, usable without JavaScript."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("_member_labels"),
]


@pytest.fixture
def _member_labels():
    with override_settings(LEDGER_OWNER_LABELS={"member": "members.selectors.ledger_owner_labels"}):
        yield


def _get(client, url, language="en", **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE=language)


def _entry_rows(html):
    return [int(n) for n in re.findall(r'<th scope="row"><a href="/ledger/entries/(\d+)/">', html)]


@pytest.mark.parametrize(
    "name", ["frontend:ledger", "frontend:ledger-blocks", "frontend:ledger-accounts"]
)
def test_ledger_pages_render_in_both_languages(client, books, name):
    english = _get(client, reverse(name))
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    french = _get(client, reverse(name), "fr")
    assert '<html lang="fr">' in french.text
    for person in books.people.values():
        assert person.email not in english.text


def test_the_entries_page_shows_postings_with_owners_and_money_formatted(client, books):
    english = _get(client, reverse("frontend:ledger")).text
    assert _entry_rows(english) == sorted((e.pk for e in books.entries.values()), reverse=True)
    assert "Camille Martin" in english
    assert books.people["hugo"].pseudonym in english
    assert "Nora Diallo" not in english
    assert "100.00\xa0€" in english
    assert "Not sealed yet" in english
    assert 'href="/api/v1/ledger/export.csv"' in english
    assert 'href="/api/v1/ledger/export.jsonl"' in english
    assert "python -m ledger.verify bien-commun-ledger.jsonl" in english
    assert f"--expect-head {books.blocks[-1].hash}" in english
    assert "<script" not in english


def test_the_pages_in_french(client, books):
    entries = _get(client, reverse("frontend:ledger"), "fr").text
    assert "<h1>Grand livre ouvert</h1>" in entries
    assert "100,00\xa0€" in entries
    assert "Vérifiez par vous-même" in entries
    assert "Contribution encaissée" in entries
    assert "Pas encore scellée" in entries
    entry = _get(
        client, reverse("frontend:ledger-entry", args=[books.entries["donation"].pk]), "fr"
    ).text
    assert "Preuve d'inclusion" in entry
    assert (
        "Cette écriture occupe la feuille d'indice 2 (en partant de 0) parmi les 3 écritures scellées dans le bloc 1."
        in entry
    )
    accounts = _get(client, reverse("frontend:ledger-accounts"), "fr").text
    assert accounts.count("✓ oui") == 2
    assert "Fonds commun" in accounts
    assert "Bloc 1" in _get(client, reverse("frontend:ledger-blocks"), "fr").text


def test_the_entries_page_filters_with_a_plain_get_form(client, books):
    page = _get(client, reverse("frontend:ledger"), kind="pledge_charge").text
    assert _entry_rows(page) == [books.entries[n].pk for n in ("usd", "pledge2", "pledge1")]
    assert 'href="/api/v1/ledger/export.csv?kind=pledge_charge"' in page
    page = _get(client, reverse("frontend:ledger"), account="campaign:7:campaign_escrow:EUR").text
    assert _entry_rows(page) == [
        books.entries[n].pk for n in ("partial", "refund", "pledge2", "pledge1")
    ]
    bad = _get(client, reverse("frontend:ledger"), date_from="someday")
    assert bad.status_code == 400
    assert "Enter a valid date." in bad.text
    assert _entry_rows(bad.text) == sorted((e.pk for e in books.entries.values()), reverse=True)


def test_the_entries_page_pages_by_key(client, books, monkeypatch):
    monkeypatch.setattr("frontend.ledger_views.ENTRIES_PER_PAGE", 4)
    ids = sorted((e.pk for e in books.entries.values()), reverse=True)
    first = _get(client, reverse("frontend:ledger"), kind="").text
    assert _entry_rows(first) == ids[:4]
    older = (
        re.search(r'href="(\?[^"]*before=\d+)" rel="next"', first).group(1).replace("&amp;", "&")
    )
    second = _get(client, reverse("frontend:ledger") + older).text
    assert _entry_rows(second) == ids[4:8]
    newer = (
        re.search(r'href="(\?[^"]*after=\d+)" rel="prev"', second).group(1).replace("&amp;", "&")
    )
    assert _entry_rows(_get(client, reverse("frontend:ledger") + newer).text) == ids[:4]
    third = (
        re.search(r'href="(\?[^"]*before=\d+)" rel="next"', second).group(1).replace("&amp;", "&")
    )
    last = _get(client, reverse("frontend:ledger") + third).text
    assert _entry_rows(last) == ids[8:]
    assert 'rel="next"' not in last


def test_an_entry_page_shows_its_block_and_a_proof_that_checks_out(client, books):
    entry = books.entries["donation"]
    page = _get(client, reverse("frontend:ledger-entry", args=[entry.pk]))
    assert page.status_code == 200
    text = page.text
    assert (
        "This entry is at leaf index 2 (counting from 0) of the 3 entries sealed in block 1."
        in text
    )
    assert (
        "Checked: hashing this entry with the path below leads to the block's Merkle root." in text
    )
    assert books.blocks[1].merkle_root in text
    assert f"/api/v1/ledger/entries/{entry.pk}/proof" in text
    assert "python -m ledger.verify --proof proof.json" in text


def test_an_unsealed_entry_says_so_and_a_reversal_links_both_ways(client, books):
    grant = _get(client, reverse("frontend:ledger-entry", args=[books.entries["grant"].pk])).text
    assert "Not sealed yet" in grant
    pledge = _get(client, reverse("frontend:ledger-entry", args=[books.entries["pledge2"].pk])).text
    assert f'href="/ledger/entries/{books.entries["refund"].pk}/"' in pledge
    assert _get(client, "/ledger/entries/987654/").status_code == 404


def test_the_blocks_and_a_block_with_its_leaves(client, books):
    blocks = _get(client, reverse("frontend:ledger-blocks")).text
    assert re.findall(r'href="/ledger/blocks/(\d+)/">Block', blocks) == ["1", "0"]
    block = _get(client, reverse("frontend:ledger-block", args=[0])).text
    leaves = [
        int(n) for n in re.findall(r'<th scope="row"><a href="/ledger/entries/(\d+)/">', block)
    ]
    assert leaves == [
        books.entries[n].pk for n in ("pledge1", "pledge2", "fee", "savings", "shares", "usd")
    ]
    assert books.blocks[0].hash in block
    assert 'href="/ledger/blocks/1/" rel="next"' in block
    assert _get(client, "/ledger/blocks/7/").status_code == 404
    assert _get(client, f"/ledger/blocks/{2**64}/").status_code == 404


def test_the_accounts_page_shows_balances_and_the_trial_balance(client, books):
    page = _get(client, reverse("frontend:ledger-accounts")).text
    assert page.count("✓ yes") == 2
    assert "Camille Martin" in page
    assert "Anonymous" in page
    members = _get(client, reverse("frontend:ledger-accounts"), owner_type="member").text
    assert members.count("<code>member:") == 3
    assert "<code>platform:" not in members
    assert _get(client, reverse("frontend:ledger-accounts"), owner_type="bank").status_code == 400


def test_the_ledger_is_in_the_main_navigation(client, db):
    assert 'href="/ledger/"' in _get(client, "/").text
