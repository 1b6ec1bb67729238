"""What a vendor is to meetq: one Provider record, filled in by the vendor's package.

The core calls only these. A provider's `collect(cycle)` lists what is new since its watermark,
fetches the details within the vendor's limits (per meeting, per participant, per record), maps
them to the shared tables through `store`, and raises `Stopped` (via `cycle.check_stop()`)
between two transactions when asked to stop. Everything optional may be None: the CLI then says
the account's vendor has no such thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..setting import Setting


@dataclass(frozen=True)
class Provider:
    name: str  # the value of an account's `provider`
    title: str  # how people name the vendor
    settings: tuple[Setting, ...]  # its own [section]
    account_keys: tuple[str, ...]  # what an [[accounts]] table of this vendor may set
    required: Callable[[dict], str | None]  # an [[accounts]] table's settings -> what is missing, or None
    is_configured: Callable[[object], bool]  # settings -> has credentials of some kind
    credentials: Callable[[object], object]  # settings -> credentials for the ApiClient
    check: Callable[[object], None]  # settings -> raise a MeetqError when unusable (before `run`)
    collect: Callable[[object], None]  # a pipeline.Cycle -> one cycle's work
    authorisation: Callable[[object, Callable[[str], str | None]], dict]
    # ^ settings, a reader of the account's collector state -> facts for `status` and health (never secrets);
    #   a "problem" or "reauth_required" entry makes the account unhealthy
    auth_status: Callable[[object], tuple[list[str], bool]]  # settings -> lines for `meetq auth status`, usable?
    login: Callable[..., str] | None = None  # interactive authorisation; returns who authorised
    webhooks: object | None = None  # a module with register, list_registered, delete, receiver_secret,
    #                                             accept_delivery (see providers/webex/webhooks.py)
    load_document: Callable[..., list] | None = None  # a saved response -> [(meeting id, [PreparedSession])]
    private_body: Callable[[str, str], str] | None = None  # a saved response's text as privacy allows
    rejudge_session: Callable[[object, dict], tuple[list, dict]] | None = None
    # ^ a rejudge.StoredSession and the thresholds -> its summaries and verdict columns, judged again
    #   from what is stored (meetq rejudge)
    bot: object | None = None  # a module with Bot(settings): rooms, post, message, me; the
    #                                             notifier posts alerts with it (providers/webex/bot.py)
    sign_in: object | None = None  # a module with authorize_url and identity: people sign in to
    #                                             the viewer with this vendor (see providers/webex/sign_in.py)
