"""One participant's uplink can make everyone else's call bad: find it, and only when the
numbers say so (docs/shared-cause.md has the rule and its limits).

Per meeting, each session's minutes are marked with the loss of what it sent and of what it
received (past the fair line), and where its CPU was saturated. A sender is named only when, at
two or more others, the evidence explains their verdicts:

- the receiver's own verdict is fair or poor *for loss* (a receiver poor for jitter or its own
  CPU is not told it was someone's uplink);
- in the sender's bad minutes the receiver lost packets too, and the sender lost at least half
  as much as the receiver received (a 1.4 % uplink does not explain a 9 % downlink);
- those minutes are not ones where the receiver's own uplink or CPU was in trouble (then its own
  side is the likelier cause), and they cover half of the sender's bad minutes.

No vendor says whose stream a received loss belongs to, so this is a coincidence in time and
size, said as "likely". Vendors that report only per-call means give one bucket,
the call: the finding then says it is a coincidence over the call, not minute by minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import database
from .packing import unpack_rows
from .rows import CPU_METRICS, SAMPLE_METRICS, SESSION_WRITE_COLUMNS, SUMMARY_COLUMNS, PreparedSession

CALL = "call"  # the one bucket of a session reported as per-call means
MIN_RECEIVERS = 2  # "several participants"
MIN_OVERLAP = 0.5  # a receiver's loss must cover half of the sender's bad minutes
EXPLAINS = 0.5  # the sender's loss in a minute is at least this share of the receiver's
LOSS_METRIC = "loss"  # verdicts.metric_of: the metric of a verdict on packet loss
LOSS_AT, CPU_AT = SAMPLE_METRICS.index("packet_loss"), CPU_METRICS.index("system_avg_cpu")
USER_NAME_AT, USER_EMAIL_AT = SESSION_WRITE_COLUMNS.index("user_name"), SESSION_WRITE_COLUMNS.index("user_email")
VERDICT_AT, METRIC_AT = SESSION_WRITE_COLUMNS.index("verdict"), SESSION_WRITE_COLUMNS.index("verdict_metric")
AVG_LOSS_AT = SUMMARY_COLUMNS.index("avg_packet_loss")


@dataclass
class Participant:
    label: str
    verdict: str | None = None
    metric: str | None = None  # what its verdict is about (verdicts.metric_of)
    sent: dict = field(default_factory=dict)  # bucket -> the worst loss of what it sent, past the fair line
    received: dict = field(default_factory=dict)  # bucket -> the worst loss of what it received, likewise
    cpu: set = field(default_factory=set)  # buckets where its CPU was saturated

    @property
    def poor_for_loss(self) -> bool:
        return self.verdict in ("fair", "poor") and self.metric == LOSS_METRIC


def find(participants: dict[int, Participant]) -> dict[int, tuple[str, int]]:
    """{session id: (what to say, the sender's session id)} for the one most harmful sender."""
    best = None
    # In session-id order, so a tie goes the same way whether the evidence came from the store or a load worker.
    for sender_id, sender in sorted(participants.items()):
        if not sender.sent:
            continue
        receivers = [r for r, p in participants.items() if r != sender_id and _hurt_by(p, sender)]
        if len(receivers) >= MIN_RECEIVERS and (best is None or (len(receivers), len(sender.sent)) > best[0]):
            best = ((len(receivers), len(sender.sent)), sender_id, receivers)
    if best is None:
        return {}
    _, sender_id, receivers = best
    sender = participants[sender_id]
    worst = max(sender.sent.values())
    when = (
        "over the call (its vendor reports per-call figures, not minutes)"
        if set(sender.sent) == {CALL}
        else f"in the same minutes ({len(sender.sent)} minutes of loss, up to {worst:g} %)"
    )
    names = ", ".join(sorted(participants[r].label for r in receivers))
    found = {
        r: (f"likely cause: {sender.label}'s uplink, whose loss matches this loss {when}", sender_id) for r in receivers
    }
    found[sender_id] = (f"{sender.label}'s uplink likely hurt {len(receivers)} others ({names}) {when}", sender_id)
    return found


def _hurt_by(receiver: Participant, sender: Participant) -> bool:
    """The sender's loss explains the receiver's verdict: it is a verdict on loss, and enough of
    the sender's bad minutes are ones where the receiver lost at least as much as the sender's
    loss could explain, and where the receiver's own uplink and CPU were fine."""
    if not receiver.poor_for_loss:
        return False
    explained = [
        bucket
        for bucket, sent in sender.sent.items()
        if bucket in receiver.received
        and sent >= EXPLAINS * receiver.received[bucket]
        and bucket not in receiver.sent
        and bucket not in receiver.cpu
    ]
    return len(explained) >= max(1, MIN_OVERLAP * len(sender.sent))


def analyse_meeting(meeting_id: str, thresholds: dict) -> int:
    """Find the meeting's shared cause from what is stored and write it on the sessions involved
    (and clear it on the others). Returns how many sessions it names. Call inside a transaction."""
    return write_findings(meeting_id, find(_participants(meeting_id, thresholds)))


def write_findings(meeting_id: str, found: dict[int, tuple[str, int]]) -> int:
    """Write what `find` said of a meeting's sessions, and clear it on the others."""
    database.execute_sql(
        "UPDATE media_sessions SET shared_cause = NULL, shared_cause_session = NULL "
        "WHERE meeting_id = ? AND shared_cause IS NOT NULL",
        (meeting_id,),
    )
    for session_id, (text, sender) in found.items():
        database.execute_sql(
            "UPDATE media_sessions SET shared_cause = ?, shared_cause_session = ? WHERE id = ?",
            (text, sender, session_id),
        )
    return len(found)


def participants_of(sessions: list[PreparedSession], thresholds: dict) -> dict[int, Participant]:
    """The same evidence as `_participants`, from sessions about to be written (all of a meeting's):
    what `meetq load` works out in its worker processes instead of reading it back."""
    marker = _Marker(thresholds)
    participants = {}
    for session in sessions:
        participant = participants[session.id] = Participant(
            session.session[USER_NAME_AT] or session.session[USER_EMAIL_AT] or _unnamed(session.id),
            session.session[VERDICT_AT],
            session.session[METRIC_AT],
        )
        kinds = {stream[0]: (stream[2], stream[3]) for stream in session.streams}
        for stream_id, start_ms, step_ms, _, packed in session.series:
            marker.stream(participant, *kinds[stream_id], start_ms, step_ms, packed)
        for _, start_ms, step_ms, _, packed in session.cpu_series:
            marker.cpu(participant, start_ms, step_ms, packed)
        for summary in session.summaries if not session.streams else ():
            marker.call(participant, summary[1], summary[2], summary[AVG_LOSS_AT])
    return participants


def _participants(meeting_id: str, thresholds: dict) -> dict[int, Participant]:
    marker, read = _Marker(thresholds), database.execute_sql
    participants = {
        sid: Participant(label or _unnamed(sid), verdict, metric)
        for sid, label, verdict, metric in read(
            "SELECT id, coalesce(user_name, user_email), verdict, verdict_metric FROM media_sessions "
            "WHERE meeting_id = ?",
            (meeting_id,),
        )
    }
    for sid, kind, direction, start_ms, step_ms, packed in read(
        "SELECT s.id, t.kind, t.direction, x.start_ms, x.step_ms, x.packed FROM media_sessions s "
        "JOIN media_streams t ON t.session_id = s.id JOIN stream_series x ON x.stream_id = t.id "
        "WHERE s.meeting_id = ?",
        (meeting_id,),
    ):
        marker.stream(participants[sid], kind, direction, start_ms, step_ms, packed)
    for sid, start_ms, step_ms, packed in read(
        "SELECT c.session_id, c.start_ms, c.step_ms, c.packed FROM media_sessions s "
        "JOIN cpu_series c ON c.session_id = s.id WHERE s.meeting_id = ?",
        (meeting_id,),
    ):
        marker.cpu(participants[sid], start_ms, step_ms, packed)
    for sid, kind, direction, loss in read(
        "SELECT m.session_id, m.kind, m.direction, m.avg_packet_loss FROM media_summaries m "
        "JOIN media_sessions s ON s.id = m.session_id WHERE s.meeting_id = ? "
        "AND NOT EXISTS (SELECT 1 FROM media_streams t WHERE t.session_id = s.id)",
        (meeting_id,),
    ):
        marker.call(participants[sid], kind, direction, loss)
    return participants


class _Marker:
    """Marks a participant's buckets from its packed series: the minutes (epoch minutes of each
    sample's time, from the series' integer clock) where loss was past the fair line, or the CPU
    past the poor one; sessions with no intervals (per-call means) mark one bucket, the call."""

    def __init__(self, thresholds: dict):
        self.limit = {
            "audio": thresholds["loss_fair_pct"],
            "video": thresholds["video_loss_fair_pct"],
            "share": thresholds["video_loss_fair_pct"],
        }
        self.cpu_limit = thresholds["cpu_poor_pct"]

    def stream(self, participant: Participant, kind: str, direction: str, start_ms, step_ms, packed) -> None:
        if step_ms is None:
            return
        limit = self.limit.get(kind, self.limit["video"])
        for idx, row in enumerate(unpack_rows(packed)):
            loss = row[LOSS_AT] if len(row) > LOSS_AT else None  # stored without trailing nulls
            if loss is not None and loss > limit:
                _mark(participant, direction, _minute(start_ms, step_ms, idx), loss)

    def cpu(self, participant: Participant, start_ms, step_ms, packed) -> None:
        if step_ms is None:
            return
        for resource in unpack_rows(packed):
            participant.cpu.update(
                _minute(start_ms, step_ms, idx)
                for idx, row in enumerate(resource)
                if len(row) > CPU_AT and row[CPU_AT] is not None and row[CPU_AT] > self.cpu_limit
            )

    def call(self, participant: Participant, kind: str, direction: str, loss) -> None:
        if loss is not None and loss > self.limit.get(kind, self.limit["video"]):
            _mark(participant, direction, CALL, loss)


def _minute(start_ms: int, step_ms: float, idx: int) -> int:
    """A sample's epoch minute, as the views compute its time (packing.py)."""
    return int((start_ms + idx * step_ms) // 60000)


def _unnamed(session_id: int) -> str:
    return f"participant {str(session_id)[-4:]}"


def _mark(participant: Participant, direction: str, bucket, loss: float) -> None:
    """The bucket's worst loss in that direction (several streams: audio, video, share)."""
    marks = participant.sent if direction == "out" else participant.received
    marks[bucket] = max(loss, marks.get(bucket, loss))
