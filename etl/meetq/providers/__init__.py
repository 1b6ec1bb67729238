"""The registry: every vendor meetq collects from, by the name an account's `provider` gives.

A new vendor is a package beside these (settings, auth, client, collect, transform, and an
`__init__` that builds its Provider) plus one line here.
"""

from __future__ import annotations

from .. import models
from ..errors import ConfigError
from .base import ChannelModule, Provider
from .google import PROVIDER as GOOGLE
from .teams import PROVIDER as TEAMS
from .webex import CHANNEL as WEBEX_CHANNEL
from .webex import PROVIDER as WEBEX
from .zoom import PROVIDER as ZOOM

PROVIDERS: dict[str, Provider] = {p.name: p for p in (WEBEX, GOOGLE, ZOOM, TEAMS)}
# Where alerts and the digest are posted and people ask questions, by `notify.via`.
CHANNELS: dict[str, ChannelModule] = {"webex": WEBEX_CHANNEL}
# The poor lines a vendor's own classifier draws, as the viewer's threshold() names them ("teams:latency_poor_ms").
VENDOR_LINES = {f"{p.name}:{key}": value for p in PROVIDERS.values() for key, value in (p.poor_lines or {}).items()}
# Every vendor's own tables, migrated after the core's in this order, whatever is configured: a
# database keeps a vendor's rows after its account goes.
SCHEMAS = tuple(p.schema for p in PROVIDERS.values() if p.schema)


def open_database(path):
    """The collector's database, created or upgraded with every vendor's own tables."""
    return models.open_database(path, SCHEMAS)


def provider_of(settings) -> Provider:
    try:
        return PROVIDERS[settings.provider]
    except KeyError:
        raise ConfigError(
            f"account {settings.account!r}: unknown provider {settings.provider!r}; known: {', '.join(PROVIDERS)}"
        ) from None


def feature_of(settings, feature: str, what: str):
    """An account's vendor's optional part, or a clear NotSupported naming the account and vendor."""
    return provider_of(settings).part(feature, what, settings.account)
