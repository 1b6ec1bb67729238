"""`meetq load` for Webex: a saved Meeting Qualities response into prepared sessions."""

from __future__ import annotations

from ...rows import PreparedSession
from .transform import prepare_session, private_item


def load_document(
    document, meeting_id: str | None, ip_mode: str, thresholds: dict, fetched_at: str
) -> list[tuple[str, list[PreparedSession | None]]]:
    """(meeting id, its prepared sessions) for each meeting the response's items belong to.
    Raises ValueError saying what is wrong with a document that is not such a response."""
    items = document.get("items") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ValueError("holds no `items` list")
    by_meeting: dict[str, list[dict]] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        owner = meeting_id or item.get("meetingInstanceId") or item.get("meetingId")
        if not owner:
            raise ValueError("an item has no meetingInstanceId; pass --meeting-id")
        by_meeting.setdefault(str(owner), []).append(private_item(item, ip_mode))
    return [
        (owner, [prepare_session(i, owner, fetched_at, thresholds) for i in owned])
        for owner, owned in by_meeting.items()
    ]
