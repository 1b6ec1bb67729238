"""The one record type of `raw_responses`: a body meetq keeps as it came, whatever brought it.

An API answer (a listing page, a qualities page, a refused request), a webhook delivery, a
conference read from several calls, a file given to `meetq load`: each is one RawRecord, stored
by `store.save_raw` with what it belongs to (endpoint, meeting, offset, account).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class RawRecord:
    url: str  # where it came from: an API URL (secrets redacted), "webhook", "file:…"
    body: str  # as received, after the privacy setting was applied
    fetched_at: str
    status: int = 200
    content_type: str = "application/json"
    tracking_id: str | None = None
    error: str | None = None  # why a 2xx body could not be used


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
