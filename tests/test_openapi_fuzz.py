"""Schemathesis against the live schema: no 5xx, and every response matches the schema."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from config.wsgi import application
from members.enums import Scope
from members.services import api_token_create
from tests.factories import UserFactory

# Schema-valid input may still break a business rule (a weak password, a wrong password, an
# amount above a campaign's remaining tier stock): those get a 4xx by design.
EXCLUDED = [positive_data_acceptance]

# Loaded at collection: generating the schema reads no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Calls go straight to the WSGI app; like Django's test client, keep the request signals from
    closing the connection that holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db):
    user = UserFactory()
    _token, raw = api_token_create(user=user, name="fuzz", scopes=[s.value for s in Scope])
    return {"Authorization": f"Bearer {raw}"}


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.django_db(transaction=False)
def test_api_conforms_to_its_schema_anonymously(case):
    # call_and_validate raises on a 5xx or a response that breaks the schema.
    response = case.call_and_validate(excluded_checks=EXCLUDED)
    assert response.status_code < 500


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@pytest.mark.django_db(transaction=False)
def test_api_conforms_to_its_schema_with_a_token(case, bearer):
    response = case.call_and_validate(headers=bearer, excluded_checks=EXCLUDED)
    assert response.status_code < 500
