"""The ledger's commands: export, verify an export, verify the balances."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from ledger.models import Account, BalanceCheck

pytestmark = pytest.mark.django_db


def test_export_then_verify(books, tmp_path):
    path = tmp_path / "ledger.jsonl"
    err = io.StringIO()
    call_command("ledger_export", str(path), "--no-progress", stderr=err)
    assert f"python -m ledger.verify {path}" in err.getvalue()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["counts"] == {
        "accounts": 9,
        "entries": 11,
        "postings": 22,
        "blocks": 2,
    }
    assert len(lines) == 1 + 9 + 11 + 2
    out = io.StringIO()
    call_command("ledger_verify", str(path), "--no-progress", stdout=out)
    assert "OK:" in out.getvalue()
    assert f"last block: height 1, hash {books.blocks[1].hash}" in out.getvalue()


def test_verify_refuses_a_tampered_export(books, tmp_path):
    path = tmp_path / "ledger.jsonl"
    call_command("ledger_export", str(path), "--no-progress", stderr=io.StringIO())
    records = [json.loads(line) for line in path.read_text().splitlines()]
    entry = next(
        r for r in records if r["record"] == "entry" and r["id"] == books.entries["savings"].pk
    )
    entry["memo"] = "edited"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    err = io.StringIO()
    with pytest.raises(CommandError, match="does not verify") as raised:
        call_command("ledger_verify", str(path), "--no-progress", stdout=io.StringIO(), stderr=err)
    assert raised.value.returncode == 1
    assert f"- entry {entry['id']}: its content does not match its hash" in err.getvalue()
    with pytest.raises(CommandError, match="cannot verify") as raised:
        call_command("ledger_verify", str(tmp_path / "missing.jsonl"), "--no-progress")
    assert raised.value.returncode == 2


def test_csv_export_to_a_file(books, tmp_path):
    path = tmp_path / "ledger.csv"
    call_command(
        "ledger_export", str(path), "--format", "csv", "--no-progress", stderr=io.StringIO()
    )
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == 22
    assert {r["currency"] for r in rows} == {"EUR", "USD"}


def test_balances_verify_reports_drift(books):
    out = io.StringIO()
    call_command("ledger_balances_verify", "--no-progress", stdout=out)
    assert out.getvalue().strip() == "9 accounts checked: no drift."
    fees = books.accounts["fees"]
    Account.objects.filter(pk=fees.pk).update(balance=100)
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 9 accounts drifted"):
        call_command("ledger_balances_verify", "--no-progress", stderr=err)
    assert (
        err.getvalue().strip()
        == f"- account {fees.pk}: cached 100, recomputed 120 (difference -20)"
    )
    assert list(BalanceCheck.objects.order_by("id").values_list("is_clean", flat=True)) == [
        True,
        False,
    ]
