"""One participant's uplink (or CPU) can make everyone else's call bad: find it.

Per meeting, each session's minutes are marked where what it sent lost packets, where its CPU was
saturated, and where what it received lost packets. A participant whose sent loss or CPU trouble
is matched, in the same minutes, by received loss at two or more others is the likely shared
cause: the receivers are told whose uplink it likely was, and the sender how many it reached.

Vendors that report only per-call means (Google Meet) give one bucket, the call: the finding
then says it is a coincidence over the call, not minute by minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import database
from .rows import CPU_METRICS, SAMPLE_METRICS

CALL = "call"        # the one bucket of a session reported as per-call means
MIN_RECEIVERS = 2    # "several participants"
MIN_OVERLAP = 0.5    # a receiver's loss must cover half of the sender's bad minutes
# A packed sample's minute: its series' clock (see packing.py), {0} the series, {1} its json_each.
MINUTE = "CAST(({0}.start_ms + {1}.key * {0}.step_ms) / 60000 AS INTEGER)"
LOSS_AT, CPU_AT = SAMPLE_METRICS.index("packet_loss"), CPU_METRICS.index("system_avg_cpu")


@dataclass
class Participant:
    label: str
    sent: set = field(default_factory=set)       # buckets where what it sent lost packets
    cpu: set = field(default_factory=set)        # buckets where its CPU was saturated
    received: set = field(default_factory=set)   # buckets where what it received lost packets


def find(participants: dict[int, Participant]) -> dict[int, tuple[str, int]]:
    """{session id: (what to say, the sender's session id)} for the one most harmful sender."""
    best = None
    for sender_id, sender in participants.items():
        trouble = sender.sent | sender.cpu
        if not trouble:
            continue
        receivers = [r for r, p in participants.items() if r != sender_id and _hurt_by(p, trouble)]
        if len(receivers) >= MIN_RECEIVERS and (best is None or (len(receivers), len(trouble)) > best[0]):
            best = ((len(receivers), len(trouble)), sender_id, receivers)
    if best is None:
        return {}
    _, sender_id, receivers = best
    sender = participants[sender_id]
    what = "uplink" if len(sender.sent) >= len(sender.cpu) else "CPU"
    when = ("over the call (Meet reports per-call means, not minutes)" if sender.sent | sender.cpu == {CALL}
            else f"in the same minutes ({len(sender.sent | sender.cpu)} minutes of trouble)")
    names = ", ".join(sorted(participants[r].label for r in receivers))
    found = {r: (f"likely cause: {sender.label}'s {what}, whose trouble matches this loss {when}", sender_id)
             for r in receivers}
    found[sender_id] = (f"{sender.label}'s {what} likely hurt {len(receivers)} others ({names}) {when}", sender_id)
    return found


def _hurt_by(receiver: Participant, trouble: set) -> bool:
    """Its received loss covers enough of the sender's trouble, and not only where its own
    uplink was bad too (then its own network is the likelier cause)."""
    overlap = receiver.received & trouble
    own = overlap - receiver.sent
    return bool(own) and len(overlap) >= max(1, MIN_OVERLAP * len(trouble))


def analyse_meeting(meeting_id: str, thresholds: dict) -> int:
    """Find the meeting's shared cause from what is stored and write it on the sessions involved
    (and clear it on the others). Returns how many sessions it names. Call inside a transaction."""
    participants = _participants(meeting_id, thresholds)
    found = find(participants)
    database.execute_sql("UPDATE media_sessions SET shared_cause = NULL, shared_cause_session = NULL "
                         "WHERE meeting_id = ? AND shared_cause IS NOT NULL", (meeting_id,))
    for session_id, (text, sender) in found.items():
        database.execute_sql("UPDATE media_sessions SET shared_cause = ?, shared_cause_session = ? WHERE id = ?",
                             (text, sender, session_id))
    return len(found)


def _participants(meeting_id: str, thresholds: dict) -> dict[int, Participant]:
    limit = {"audio": thresholds["loss_fair_pct"], "video": thresholds["video_loss_fair_pct"],
             "share": thresholds["video_loss_fair_pct"]}
    participants = {sid: Participant(label or f"participant {str(sid)[-4:]}") for sid, label in database.execute_sql(
        "SELECT id, coalesce(user_name, user_email) FROM media_sessions WHERE meeting_id = ?", (meeting_id,))}
    # Minutes (epoch minutes, from the packed series' integer clocks: no time is printed) where loss
    # was past the fair line, per session and direction (interval vendors); only those come back
    # from SQL, usually a handful of a meeting's thousands.
    for sid, direction, minute in database.execute_sql(
            f"SELECT s.id, t.direction, {MINUTE.format('x', 'r')} FROM media_sessions s "
            "JOIN media_streams t ON t.session_id = s.id JOIN stream_series x ON x.stream_id = t.id, "
            "json_each(meetq_text(x.packed)) r WHERE s.meeting_id = ? AND x.step_ms IS NOT NULL "
            f"AND json_extract(r.value, '$[{LOSS_AT}]') > CASE t.kind WHEN 'audio' THEN ? ELSE ? END GROUP BY 1, 2, 3",
            (meeting_id, limit["audio"], limit["video"])):
        _mark(participants[sid], direction, minute)
    for sid, minute in database.execute_sql(
            f"SELECT c.session_id, {MINUTE.format('c', 'x')} FROM media_sessions s JOIN cpu_series c "
            "ON c.session_id = s.id, json_each(meetq_text(c.packed)) r, json_each(r.value) x "
            f"WHERE s.meeting_id = ? AND c.step_ms IS NOT NULL AND json_extract(x.value, '$[{CPU_AT}]') > ?",
            (meeting_id, thresholds["cpu_poor_pct"])):
        participants[sid].cpu.add(minute)
    # Sessions with no intervals: their per-call means, as one bucket.
    for sid, kind, direction, loss in database.execute_sql(
            "SELECT m.session_id, m.kind, m.direction, m.avg_packet_loss FROM media_summaries m "
            "JOIN media_sessions s ON s.id = m.session_id WHERE s.meeting_id = ? AND m.avg_packet_loss IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM media_streams t WHERE t.session_id = s.id)", (meeting_id,)):
        if loss > limit[kind]:
            _mark(participants[sid], direction, CALL)
    return participants


def _mark(participant: Participant, direction: str, bucket: str) -> None:
    (participant.sent if direction == "out" else participant.received).add(bucket)
