"""Statements compiled once for the hot paths say exactly what the ORM would have said."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from campaigns.enums import CampaignStatus, PledgeStatus
from campaigns.models import Campaign, Pledge, PledgeEvent
from campaigns.services.pledges import _pledge_check
from common.db import CompiledInsert, CompiledQuery
from members.auth import token_hash, token_with_user
from members.models import ApiToken
from members.services import api_token_create

from ..campaigns.conftest import launched_campaign, person, saved_card

pytestmark = pytest.mark.django_db

PLACEHOLDERS = {
    "campaign": -9_000_001,
    "backer": -9_000_002,
    "client_key": "\x00test:client_key",
    "payment_method": -9_000_003,
}


def test_the_compiled_read_gives_the_orms_rows_for_every_input():
    compiled = CompiledQuery(_pledge_check, PLACEHOLDERS)
    campaign = launched_campaign(lead=person("lead"))
    backer, other = person(), person()
    card = saved_card(backer)
    Pledge.objects.create(
        campaign=campaign, backer=backer, amount=2_000, currency="EUR", client_key="k1"
    )
    cases = [
        {
            "campaign": campaign.pk,
            "backer": backer.pk,
            "client_key": "k1",
            "payment_method": card.pk,
        },
        {"campaign": campaign.pk, "backer": backer.pk, "client_key": None, "payment_method": None},
        {
            "campaign": campaign.pk,
            "backer": other.pk,
            "client_key": "k1",
            "payment_method": card.pk,
        },
        {
            "campaign": campaign.pk + 999,
            "backer": backer.pk,
            "client_key": "k1",
            "payment_method": 1,
        },
    ]
    for values in cases:
        assert compiled.rows(**values) == list(_pledge_check(**values)), values
    (row,) = compiled.rows(**cases[0])
    assert row["replay"] is not None
    assert row["card_ok"] is True
    assert isinstance(row["deadline"], dt.datetime)
    assert row["deadline"].tzinfo is not None
    (row,) = compiled.rows(**cases[2])
    assert (row["replay"], row["card_ok"]) == (None, False)
    assert compiled.rows(**cases[3]) == []


def test_a_placeholder_the_orm_folds_into_the_statement_is_refused():
    folded = CompiledQuery(
        lambda closed: Campaign.objects.filter(closed_at__isnull=closed).values("id"),
        {"closed": True},
    )
    dropped = CompiledQuery(lambda status: Campaign.objects.values("id"), {"status": "x"})
    for compiled in (folded, dropped):
        with pytest.raises(ValueError, match="placeholders not passed as parameters"):
            compiled.rows(closed=False, status="live")
    # `__in` passes each value as a parameter: this one is accepted and runs.
    listed = CompiledQuery(
        lambda status: Campaign.objects.filter(status__in=[status]).values("id"),
        {"status": "\x00status"},
    )
    campaign = launched_campaign(lead=person("lead"))
    assert listed.rows(status=CampaignStatus.LIVE) == [{"id": campaign.pk}]
    assert listed.rows(status=CampaignStatus.DRAFT) == []


def test_the_compiled_insert_writes_the_row_the_orm_writes():
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    values = {
        "campaign_id": campaign.pk,
        "backer": backer,
        "amount": 4_321,
        "currency": "EUR",
        "status": PledgeStatus.COMMITTED,
        "public_message": "Allez !",
        "committed_at": dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC),
    }
    inserted = CompiledInsert(Pledge).insert(Pledge(**values, client_key="a"))
    created = Pledge.objects.create(**values, client_key="b")
    assert inserted.pk is not None
    assert inserted.pk != created.pk
    assert (inserted._state.adding, inserted._state.db) == (False, "default")
    fields = [
        f.attname
        for f in Pledge._meta.concrete_fields
        if f.attname not in {"id", "client_key", "created_at"}
    ]
    as_stored = Pledge.objects.values(*fields)
    assert as_stored.get(pk=inserted.pk) == as_stored.get(pk=created.pk)
    assert Pledge.objects.get(pk=inserted.pk).client_key == "a"


def test_an_expression_value_takes_the_orms_own_save():
    pledge = Pledge.objects.create(
        campaign=launched_campaign(lead=person("lead")),
        backer=person(),
        amount=1_000,
        currency="EUR",
    )
    event = PledgeEvent(pledge=pledge, from_status="", to_status="pending", note="n")
    CompiledInsert(PledgeEvent).insert(event)
    assert PledgeEvent.objects.filter(pk=event.pk, note="n").exists()
    with pytest.raises(ValueError, match="F\\(\\) expressions"):
        CompiledInsert(PledgeEvent).insert(
            PledgeEvent(pledge=pledge, from_status="", to_status="x", note=F("note"))
        )


def test_the_token_lookup_gives_the_orms_token_and_user():
    user = person(display_name="Inès Moreau")
    token, raw = api_token_create(user=user, name="t", scopes=["read:funds"])
    found = token_with_user(token_hash(raw))
    expected = ApiToken.objects.select_related("user").get(pk=token.pk)
    for field in ApiToken._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    for field in type(user)._meta.concrete_fields:
        assert getattr(found.user, field.attname) == getattr(expected.user, field.attname)
    assert found.scopes == ["read:funds"]
    assert found.user.is_active is True
    assert token_with_user(token_hash(raw + "x")) is None


def _pledge_values(campaign, backer, **extra):
    return {
        "campaign_id": campaign.pk,
        "backer": backer,
        "amount": 2_500,
        "currency": "EUR",
        "status": PledgeStatus.PENDING,
        "public_message": "",
        **extra,
    }


def test_a_pledge_and_its_event_insert_as_the_orm_writes_them():
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    values = _pledge_values(campaign, backer, committed_at=None, client_key="one")
    with CaptureQueriesContext(connection) as captured:
        pledge, event = CompiledInsert(Pledge).insert_with(
            Pledge(**values),
            CompiledInsert(PledgeEvent),
            PledgeEvent(from_status="", to_status="pending", actor=None, note="pledged"),
            "pledge",
        )
    # One statement on PostgreSQL; elsewhere two inserts in a transaction.
    expected_statements = 1 if connection.vendor == "postgresql" else 2
    inserts = [q for q in captured.captured_queries if "INSERT" in q["sql"]]
    assert len(inserts) == expected_statements
    assert pledge.pk is not None
    assert event.pk is not None
    assert event.pledge_id == pledge.pk
    assert event.pledge is pledge
    assert (pledge._state.adding, event._state.adding) == (False, False)

    created = Pledge.objects.create(**{**values, "client_key": "two"})
    created_event = PledgeEvent.objects.create(
        pledge=created, from_status="", to_status="pending", actor=None, note="pledged"
    )
    fields = [
        f.attname
        for f in Pledge._meta.concrete_fields
        if f.attname not in {"id", "client_key", "created_at"}
    ]
    assert Pledge.objects.values(*fields).get(pk=pledge.pk) == Pledge.objects.values(*fields).get(
        pk=created.pk
    )
    event_fields = ["from_status", "to_status", "actor_id", "note"]
    assert PledgeEvent.objects.values(*event_fields).get(pk=event.pk) == (
        PledgeEvent.objects.values(*event_fields).get(pk=created_event.pk)
    )
    assert PledgeEvent.objects.get(pk=event.pk).pledge_id == pledge.pk


@pytest.mark.django_db(transaction=True)
def test_a_pledge_that_conflicts_writes_no_event_even_without_a_transaction():
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    assert not connection.in_atomic_block
    CompiledInsert(Pledge).insert_with(
        Pledge(**_pledge_values(campaign, backer, client_key="same")),
        CompiledInsert(PledgeEvent),
        PledgeEvent(from_status="", to_status="pending", actor=backer, note="first"),
        "pledge",
    )
    with pytest.raises(IntegrityError):
        CompiledInsert(Pledge).insert_with(
            Pledge(**_pledge_values(campaign, backer, client_key="same")),
            CompiledInsert(PledgeEvent),
            PledgeEvent(from_status="", to_status="pending", actor=backer, note="second"),
            "pledge",
        )
    assert Pledge.objects.filter(backer=backer).count() == 1
    assert list(PledgeEvent.objects.values_list("note", flat=True)) == ["first"]


def test_a_child_value_that_is_an_expression_takes_two_inserts_in_a_transaction():
    campaign = launched_campaign(lead=person("lead"))
    backer = person()
    with pytest.raises(ValueError, match="F\\(\\) expressions"):
        CompiledInsert(Pledge).insert_with(
            Pledge(**_pledge_values(campaign, backer, client_key="x")),
            CompiledInsert(PledgeEvent),
            PledgeEvent(from_status="", to_status="pending", note=F("note")),
            "pledge",
        )
    # The transaction rolled the pledge back with its event.
    assert not Pledge.objects.filter(client_key="x").exists()
