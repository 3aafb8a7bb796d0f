import factory

from payments.enums import OnboardingStatus, PayeeOwnerType, PaymentPurpose, PayoutMethod
from payments.models import PayeeAccount, Payment
from tests.factories import UserFactory


class PayeeAccountFactory(factory.django.DjangoModelFactory[PayeeAccount]):
    class Meta:
        model = PayeeAccount

    owner_type = PayeeOwnerType.PERSON
    user = factory.SubFactory(UserFactory)
    owner_id = factory.SelfAttribute("user.pk")
    method = PayoutMethod.MANUAL_BANK
    provider = "sandbox"
    onboarding_status = OnboardingStatus.COMPLETE
    payouts_enabled = True
    bank_holder_name = "Camille Martin"
    bank_iban_masked = "FR76 •••• 0189"


class PaymentFactory(factory.django.DjangoModelFactory[Payment]):
    """A payment not yet sent to the provider (status `created`)."""

    class Meta:
        model = Payment

    purpose = PaymentPurpose.DONATION
    payer = factory.SubFactory(UserFactory)
    amount = 2000
    currency = "EUR"
    provider = "sandbox"
    idempotency_key = factory.Sequence(lambda n: f"test-payment-{n}")
