"""Which provider handles a payment: `settings.PAYMENTS_PROVIDER` for new ones, the recorded
provider for existing ones. Other apps never import a provider: they call `payments.services`."""

from django.conf import settings

from ..enums import ProviderName
from .base import Provider
from .sandbox import SandboxProvider
from .stripe_provider import StripeProvider

_PROVIDERS: dict[str, type[SandboxProvider] | type[StripeProvider]] = {
    ProviderName.SANDBOX: SandboxProvider,
    ProviderName.STRIPE: StripeProvider,
}


def provider_name() -> str:
    name = str(settings.PAYMENTS_PROVIDER)
    if name not in _PROVIDERS:
        raise ValueError(f"PAYMENTS_PROVIDER must be one of {sorted(_PROVIDERS)}, not {name!r}")
    return name


def provider_for(name: str) -> Provider:
    return _PROVIDERS[name]()


def get_provider() -> Provider:
    return provider_for(provider_name())


def sandbox_provider() -> SandboxProvider:
    return SandboxProvider()


def is_sandbox() -> bool:
    return provider_name() == ProviderName.SANDBOX


__all__ = [
    "Provider",
    "get_provider",
    "is_sandbox",
    "provider_for",
    "provider_name",
    "sandbox_provider",
]
