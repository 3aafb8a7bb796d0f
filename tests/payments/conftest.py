"""Shared fixtures of the payments tests.

Modules that use the Stripe emulator also declare
`pytest_plugins = ["tests.support.localstripe_fixtures"]` (see docs/localstripe.md).
"""

import uuid

import pytest

from tests.payments import handlers

WEBHOOK_SECRET = "whsec_test_payments"


@pytest.fixture
def purpose_handlers(settings):
    """Donations and pledges settled by the test handlers (the real ones live in other apps)."""
    settings.PAYMENT_PURPOSE_HANDLERS = {
        **settings.PAYMENT_PURPOSE_HANDLERS,
        "donation": "tests.payments.handlers.DonationToGrantsPool",
        "pledge": "tests.payments.handlers.PledgeToCampaignEscrow",
    }
    handlers.CALLS.clear()
    return handlers.CALLS


@pytest.fixture
def sandbox(settings):
    settings.PAYMENTS_PROVIDER = "sandbox"
    settings.SANDBOX_FEE_PERCENT_BASIS_POINTS = 150
    settings.SANDBOX_FEE_FIXED = 25
    settings.PAYMENTS_PROVIDER_RETRY_BASE = 0.01
    return settings


@pytest.fixture
def stripe_provider(request, settings):
    """The application pointed at the emulator, which books fees of 1.5% + 25 like the sandbox."""
    server = request.getfixturevalue("localstripe")
    settings.PAYMENTS_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY = server.api_key
    settings.STRIPE_PUBLISHABLE_KEY = server.publishable_key
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.PAYMENTS_PROVIDER_RETRY_BASE = 0.01
    # The emulator outlives each test's database: keys built from reused row ids must not meet.
    settings.PAYMENTS_IDEMPOTENCY_NAMESPACE = f"test{uuid.uuid4().hex[:12]}"
    server.set_fees(percent_basis_points=150, fixed=25)
    yield server
    server.set_fees()
