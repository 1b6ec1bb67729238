"""The registry: every vendor meetq collects from, by the name an account's `provider` gives.

A new vendor is a package beside these two (settings, auth, client, collect, transform, and an
`__init__` that builds its Provider) plus one line here.
"""

from __future__ import annotations

from ..errors import ConfigError, NotSupported
from .base import Provider
from .google import PROVIDER as GOOGLE
from .webex import PROVIDER as WEBEX

PROVIDERS: dict[str, Provider] = {p.name: p for p in (WEBEX, GOOGLE)}


def provider_of(settings) -> Provider:
    try:
        return PROVIDERS[settings.provider]
    except KeyError:
        raise ConfigError(
            f"account {settings.account!r}: unknown provider {settings.provider!r}; known: {', '.join(PROVIDERS)}"
        ) from None


def feature_of(settings, feature: str, what: str):
    """A provider's optional part, or a clear NotSupported naming the account and vendor."""
    provider = provider_of(settings)
    found = getattr(provider, feature)
    if found is None:
        raise NotSupported(f"account {settings.account!r} is {provider.title}, which has no {what}")
    return found
