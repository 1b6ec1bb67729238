"""The daemon's HTTP endpoint for webhook deliveries, whatever vendor signs them.

Each provider with webhooks says which account's secret signed a delivery (`signed_by`) and what
the delivery means (`accept_delivery`). Nothing is written for a delivery no account signed.
The receiver answers at once and tells the daemon which account has a meeting due (`on_due`).

It faces the internet, so it runs on uvicorn (one event loop, no thread per connection) with
limits on everything a client controls: header size (h11 refuses more, and any malformed
request line, header or Content-Length, with a 400), body size (413 from Content-Length before
a byte of body is read, or as soon as a chunked body passes it), time to send a request's
headers and its body, idle keep-alive time, and the number of open connections.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import uvicorn
from requests.structures import CaseInsensitiveDict

from . import assistant, logs
from .bounded_http import Refused, declared_length, guarded_protocol, header_bytes, read_body
from .delivery import Answer
from .errors import ConfigError, MeetqError
from .logs import get_logger
from .providers import CHANNELS, PROVIDERS

log = get_logger("meetq.receiver")


def secrets_by_provider(settings) -> dict[str, dict[str, str]]:
    """{provider: {account: the secret its deliveries are signed with}} for every registered account."""
    found: dict[str, dict[str, str]] = {}
    for account in settings.accounts():
        hooks = PROVIDERS[account.provider].webhooks
        secret = hooks.receiver_secret(account) if hooks else None
        if secret:
            found.setdefault(account.provider, {})[account.account] = secret
    return found


def accept(body: bytes, headers, settings, query: str = "") -> Answer:
    """The answer to one delivery: a vendor's challenge answered in its own shape (before any
    signature: a challenge proves the address, it carries no data), else a delivery verified by
    the secret of the account that signed it and stored, else a refusal."""
    for provider in sorted({account.provider for account in settings.accounts()}):
        challenge = getattr(PROVIDERS[provider].webhooks, "challenge", None)
        answer = challenge(body, headers, query, settings) if challenge else None
        if answer:
            return answer
    for provider, secrets in secrets_by_provider(settings).items():
        hooks = PROVIDERS[provider].webhooks
        account = hooks.signed_by(body, headers, secrets)
        if account:
            return hooks.accept_delivery(body, account, settings.account_named(account))
    channel = CHANNELS[settings.via]  # the assistant's messages, signed with its own secret
    if channel.signed(body, headers, settings):
        return channel.accept_delivery(body, settings, assistant)
    return Answer(401, "no registered account's secret signed it")


class DeliveryApp:
    """The ASGI application: POST a signed delivery, get JSON `{"status": …}` back."""

    POOL_SIZE = 4  # deliveries stored at once; SQLite takes one writer at a time anyway

    def __init__(self, settings, on_due: Callable[[str], None]):
        self.settings, self.on_due = settings, on_due
        self.pool = ThreadPoolExecutor(self.POOL_SIZE, thread_name_prefix="webhook-store")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        client = (scope.get("client") or ("?",))[0]
        headers = CaseInsensitiveDict({k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]})
        try:
            if header_bytes(scope) > self.settings.max_header_bytes:
                # h11 enforces the limit only on headers still arriving; these came in one piece.
                raise Refused(431, "headers too large")
            reply = await self.handle(
                scope["method"], headers, receive, scope.get("query_string", b"").decode("latin-1")
            )
        except Refused as refused:
            reply = Answer(refused.status, refused.reason)
        except MeetqError as error:  # a registration file gone bad, say: said, and the vendor delivers again
            log.error("webhook_failed", error=logs.redact_text(str(error)))
            reply = Answer(503, "try again")
        except Exception as error:  # the database, say: the vendor will deliver again
            log.exception("webhook_failed", error=type(error).__name__)
            reply = Answer(503, "try again")
        status, what, due = reply.status, reply.said, reply.due
        if status >= 400:
            log.warning(
                "webhook_rejected",
                reason=what,
                status=status,
                client=client,
                method=scope["method"],
                path=scope["path"][:200],
            )
        else:
            log.info("webhook_received", outcome=what, account=due)
        await answer(send, reply, close=status >= 400)
        if due:
            self.on_due(due)

    async def handle(self, method: str, headers: CaseInsensitiveDict, receive, query: str = "") -> Answer:
        if method != "POST":
            raise Refused(405, "only POST is accepted")
        length = declared_length(headers)
        if length is not None and length > self.settings.max_body_bytes:
            raise Refused(413, "too large")  # before reading a byte of it
        body = await read_body(receive, self.settings.max_body_bytes, self.settings.read_timeout_seconds)
        # Verifying and storing touch files and the database: off the event loop, in a pool of its own.
        return await asyncio.get_running_loop().run_in_executor(self.pool, accept, body, headers, self.settings, query)


async def answer(send, reply: Answer, close: bool) -> None:
    payload = reply.body if reply.body is not None else json.dumps({"status": reply.said}).encode()
    headers = [
        (b"content-type", reply.content_type.encode("latin-1")),
        (b"content-length", str(len(payload)).encode()),
        (b"x-content-type-options", b"nosniff"),  # an echoed challenge is only ever text
    ]
    if close:  # a client that sent something wrong does not keep its connection
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def parse_listen(listen: str | None) -> tuple[str, int]:
    host, _, port = (listen or "").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"webhook.listen must be host:port, got {listen!r}")
    return host.strip("[]"), int(port)


class WebhookReceiver:
    """uvicorn on its own thread and event loop, beside the scheduler on the main thread."""

    def __init__(self, settings, on_due: Callable[[str], None]):
        self.settings, self.on_due = settings, on_due
        self.address = parse_listen(settings.listen)
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> "WebhookReceiver":
        registered = sorted(a for accounts in secrets_by_provider(self.settings).values() for a in accounts)
        if CHANNELS[self.settings.via].receiver_secret(self.settings):
            registered.append("the assistant")
        if not registered:
            log.warning(
                "webhook_receiver_without_registrations",
                hint="run `meetq webhook register --url …`; until then every delivery is refused",
            )
        s = self.settings
        logging.getLogger("uvicorn.error").setLevel(logging.ERROR)  # its warnings are ours, with the client
        config = uvicorn.Config(
            DeliveryApp(s, self.on_due),
            host=self.address[0],
            port=self.address[1],
            http=guarded_protocol(s.read_timeout_seconds, s.max_connections, "webhook_rejected"),
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            h11_max_incomplete_event_size=s.max_header_bytes,
            timeout_keep_alive=s.keepalive_seconds,
            timeout_graceful_shutdown=s.read_timeout_seconds,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="webhook-receiver", daemon=True)
        self.thread.start()
        while not self.server.started:  # bound, or failed to bind
            if not self.thread.is_alive():
                raise ConfigError(f"the webhook receiver could not listen on {s.listen}")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        log.info("webhook_receiver_listening", address=f"{self.address[0]}:{port}", accounts=registered)
        return self

    def stop(self) -> None:
        """Finish the requests in progress (each already stored before its 200), then close."""
        if self.server and self.thread:
            self.server.should_exit = True
            self.thread.join(timeout=self.settings.read_timeout_seconds + 5)
            self.server.config.app.pool.shutdown(wait=True)
