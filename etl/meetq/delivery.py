"""What the webhook receiver answers a delivery, whichever vendor sent it.

Most answers are a status and a few words (sent as JSON `{"status": …}`, logged as they are).
Some vendors first prove the address is theirs before they deliver anything, and want the proof
back in their own shape: a validation token echoed as plain text within seconds, or a JSON
body computed from the shared secret. Such an answer carries its own body and content type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    status: int
    said: str  # what happened: logged, and the JSON body {"status": said} unless `body` is given
    due: str | None = None  # the account with a meeting newly due, for the collector to fetch now
    body: bytes | None = None  # a challenge's own answer, sent as it is
    content_type: str = "application/json"
