"""What the webhook receiver answers a delivery, whichever vendor sent it.

Most answers are a status and a few words (sent as JSON `{"status": …}`, logged as they are).
Some vendors first prove the address is theirs before they deliver anything, and want the proof
back in their own shape: a validation token echoed as plain text within seconds, or a JSON
body computed from the shared secret. Such an answer carries its own body and content type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int
    said: str  # what happened: logged, and the JSON body {"status": said} unless `body` is given
    due: str | None = None  # the account with a meeting newly due, for the collector to fetch now
    body: bytes | None = None  # a challenge's own answer, sent as it is
    content_type: str = "application/json"


def delivery_event(body: bytes) -> dict | None:
    """A delivery's JSON object, or None for anything else: not JSON, nested past what Python
    parses (a signed body 200,000 levels deep), or not an object."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


def text_of(value) -> str | None:
    """A field that should be text: anything else (a list, an object, a number) counts as absent."""
    return value if isinstance(value, str) else None
