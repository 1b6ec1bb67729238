"""What a server meetq runs needs against clients that misbehave, whichever server it is (the
webhook receiver, the viewer): a limit on a request's body, read as it arrives, and uvicorn's h11
protocol with a deadline for each request's headers and a hard cap on open connections.

uvicorn waits for a request's headers forever, so one header line and silence would hold a
connection for good (slowloris); its own `limit_concurrency` answers 503 but still accepts the
connection. Both are closed here.
"""

from __future__ import annotations

import asyncio
import time

from uvicorn.protocols.http.h11_impl import H11Protocol

from .logs import get_logger


class Refused(Exception):
    """A request answered with an error before its application saw it."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def declared_length(headers) -> int | None:
    """Content-Length as a number; h11 has already refused a malformed one. `headers` is a
    case-insensitive mapping, or the ASGI scope's list of byte pairs."""
    if isinstance(headers, list):
        value = next((v.decode("latin-1") for k, v in headers if k.lower() == b"content-length"), None)
    else:
        value = headers.get("content-length")
    return int(value) if value is not None else None


def header_bytes(scope) -> int:
    return len(scope["raw_path"]) + len(scope["query_string"]) + sum(len(k) + len(v) + 4 for k, v in scope["headers"])


async def read_body(receive, limit: int, timeout: float) -> bytes:
    """The whole body, refusing it (413) the moment it passes `limit` bytes, chunked or not,
    and (408) when the client takes longer than `timeout` seconds to send it."""
    chunks, size, deadline = [], 0, time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            message = await asyncio.wait_for(receive(), timeout=max(remaining, 0.001))
        except asyncio.TimeoutError:
            raise Refused(408, "body not sent in time") from None
        if message["type"] == "http.disconnect":
            raise Refused(400, "client left before sending its body")
        size += len(message.get("body", b""))
        if size > limit:
            raise Refused(413, "too large")
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def guarded_protocol(read_timeout: float, max_connections: int, event: str) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for each request's headers and a cap on open
    connections. Refusals are logged as `event` (the server's own word: webhook_rejected, …)."""
    log = get_logger("meetq.http_server")

    class GuardedH11Protocol(H11Protocol):
        def connection_made(self, transport):
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                log.warning(
                    event, reason="too many connections", status=None, client=self._peer(), open=len(self.connections)
                )
                transport.close()
                return
            self._arm_header_deadline()

        def on_response_complete(self):
            super().on_response_complete()
            self._arm_header_deadline()

        def connection_lost(self, exc):
            self._disarm_header_deadline()
            super().connection_lost(exc)

        def send_400_response(self, msg: str):
            log.warning(event, reason="malformed HTTP request", status=400, client=self._peer())
            super().send_400_response(msg)

        def _peer(self) -> str:
            return (self.client or ("?",))[0]

        def _arm_header_deadline(self):
            self._disarm_header_deadline()
            self._header_deadline = self.loop.call_later(read_timeout, self._close_if_still_waiting)

        def _disarm_header_deadline(self):
            deadline = getattr(self, "_header_deadline", None)
            if deadline is not None:
                deadline.cancel()
                self._header_deadline = None

        def _close_if_still_waiting(self):
            waiting = self.cycle is None or self.cycle.response_complete
            if waiting and not self.transport.is_closing():
                log.info("http_connection_closed", reason="no request in time", client=self._peer())
                self.transport.close()

    return GuardedH11Protocol
