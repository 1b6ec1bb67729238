"""What a vendor is to meetq: one Provider record, filled in by the vendor's package, and the
protocols its parts meet: every method the core calls is named here.

A provider's `collect(cycle)` lists what is new since its watermark, fetches the details within
the vendor's limits (per meeting, per participant, per record), maps them to the shared tables
through `store` (always saying its provider), and raises `Stopped` (via `cycle.check_stop()`)
between two transactions when asked to stop. Everything optional may be None: the CLI then says
the account's vendor has no such thing. The tests hold the smallest whole provider, a throwaway one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from ..delivery import Answer
from ..errors import NotSupported
from ..models import Schema
from ..setting import Setting


class Credentials(Protocol):
    """What the core's ApiClient and collection runs ask of an account's credentials."""

    def access_token(self) -> str: ...  # the bearer token to send now

    def refresh_after_unauthorised(self) -> bool: ...  # after a 401: True to try once more, or raise

    def ensure_fresh(self) -> list[str]: ...  # before a cycle: refresh if due; warnings for the run log


class Webhooks(Protocol):
    """A vendor's webhooks, as the CLI and the daemon's receiver use them (providers/webex/webhooks.py)."""

    def register(self, settings, target_url: str): ...  # make ours, or bring it up to date

    def list_registered(self, settings) -> list[dict]: ...

    def delete(self, settings, webhook_id: str | None = None) -> str: ...

    def registration_path(self, settings): ...  # the file its secret is kept in (mode 0600)

    def receiver_secret(self, settings) -> str | None: ...  # what deliveries to this account are signed with

    def signed_by(self, body: bytes, headers, secrets_by_account: dict[str, str]) -> str | None: ...

    def accept_delivery(self, body: bytes, account: str, settings) -> Answer: ...  # store one verified delivery

    # Optional: `challenge(body, headers, query, settings) -> Answer | None`, for a vendor that proves
    # its address before it delivers (Graph's validationToken, Zoom's endpoint.url_validation): asked
    # first, before any signature, and its Answer sent as it is.
    # Optional: `renew(settings) -> str | None`, for a vendor whose subscriptions expire (Graph's last
    # at most 4,230 minutes): the daemon calls it soon after it starts and every RENEW_EVERY while its
    # receiver runs; it renews what is due and says what it did (None: nothing was due).


class Channel(Protocol):
    """Where alerts and the digest are posted and people talk to meetq (providers/webex/bot.py's Bot)."""

    def me(self) -> dict: ...  # who the bot is: id, displayName

    def rooms(self) -> list[dict]: ...  # the spaces it is in

    def post(self, markdown: str, room_id: str | None = None, parent_id: str | None = None) -> list[str]: ...


class Conversation(Protocol):
    """What people in a channel talk to (assistant.py, handed to the channel by the receiver)."""

    REFUSED: str  # the answer to someone of another organisation
    SLOW_DOWN: str  # the answer to someone asking too fast

    @property
    def TALK(self): ...  # noqa: N802 (a module's constant): .admit(person, space) -> "answer" | "slow down" | "ignore"

    def reply(self, text: str, asker: str, settings) -> str: ...  # the Markdown to answer with


class ChannelModule(Protocol):
    """A messaging channel (registered in CHANNELS, not a quality provider): the bot that posts
    alerts and the digest, and the webhook its people's messages come through."""

    def Bot(self, settings) -> Channel: ...  # noqa: N802 (the class the module holds)

    def register(self, settings, target_url: str) -> dict: ...

    def receiver_secret(self, settings) -> str | None: ...

    def signed(self, body: bytes, headers, settings) -> bool: ...

    def accept_delivery(self, body: bytes, settings, conversation: Conversation) -> Answer: ...


class SignIn(Protocol):
    """People signing in to the viewer with this vendor (providers/webex/sign_in.py)."""

    def client_of(self, settings) -> tuple[str, str]: ...  # the integration's id and secret, or ConfigError

    def authorize_url(self, settings, redirect_uri: str, state: str, code_challenge: str) -> str: ...

    def identity(self, settings, code: str, code_verifier: str, redirect_uri: str): ...  # an Identity


@dataclass(frozen=True)
class Provider:
    name: str  # the value of an account's `provider`
    title: str  # how people name the vendor
    settings: tuple[Setting, ...]  # its own [section]
    account_keys: tuple[str, ...]  # what an [[accounts]] table of this vendor may set
    required: Callable[[dict], str | None]  # an [[accounts]] table's settings -> what is missing, or None
    is_configured: Callable[[object], bool]  # settings -> has credentials of some kind
    credentials: Callable[[object], Credentials]  # settings -> credentials for the ApiClient
    check: Callable[[object], None]  # settings -> raise a MeetqError when unusable (before `run`)
    collect: Callable[[object], None]  # a cycle.Cycle -> one cycle's work
    authorisation: Callable[[object, Callable[[str], str | None]], dict]
    # ^ settings, a reader of the account's collector state -> facts for `status` and health (never secrets);
    #   a "problem" or "reauth_required" entry makes the account unhealthy
    auth_status: Callable[[object], tuple[list[str], bool]]  # settings -> lines for `meetq auth status`, usable?
    login: Callable[..., str] | None = None  # interactive authorisation; returns who authorised
    webhooks: Webhooks | None = None  # its webhooks module (the protocol above)
    load_document: Callable[..., list] | None = None  # a saved response -> [(meeting id, [PreparedSession])]
    load_endpoint: str = "loaded"  # what a loaded body is filed as in raw_responses: the endpoint its
    #                                collector files the same bodies under
    private_body: Callable[[str, str], str] | None = None  # a saved response's text as privacy allows
    rejudge_session: Callable[[object, dict], tuple[list, dict]] | None = None
    # ^ a rejudge.StoredSession and the thresholds -> its summaries and verdict columns, judged again
    #   from what is stored (meetq rejudge)
    sign_in: SignIn | None = None  # people sign in to the viewer with this vendor
    schema: Schema | None = None  # its own tables (what only it reports), their migrations and views
    # The lines its own classifier calls a stream poor at, where they differ from [quality]'s: the
    # viewer draws these on its streams' charts ({"latency_poor_ms": 500.0}).
    poor_lines: dict[str, float] | None = None
    account_example: tuple[str, ...] = ()  # an [[accounts]] table of this vendor, for the example file

    def part(self, name: str, what: str, account: str):
        """An optional part (`webhooks`, `login`, …), or a clear NotSupported naming the account,
        the vendor and `what` it lacks."""
        found = getattr(self, name)
        if found is None:
            raise NotSupported(f"account {account!r} is {self.title}, which has no {what}")
        return found
