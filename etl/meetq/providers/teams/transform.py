"""Microsoft Graph call records as meetq's rows: pure functions.

A call record becomes a `meetings` row keyed on its id and a `teams_records` row. Each of its
sessions becomes a media_sessions row from the participant's side: the caller, unless the caller
is a service (a conference server, a bot) and the callee is not; in a meeting the callee is the
conference service. Each segment's media (per label: main-audio, main-video,
applicationsharing-video; `data` carries no media) gives a stream per direction, judged by CQD's
classifier (classify.py); a session's summaries per kind and direction are its streams' figures
together, per call as Meet's are shown (Graph gives averages and maxima per segment, no minutes).

Graph's values: durations are ISO 8601 (`"PT0.016S"` is 16 ms, exactly), loss rates are fractions
(percent here, the shared unit), doubles may be `"NaN"`, `"INF"` or `"-INF"`, and sentinels such as
`linkSpeed` 4294967295 mean no value: all of those are NULL, never a number. What is confirmed of
the shapes, with sources: docs/teams.md.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation

from ...clock import normalise_iso, parse_iso
from ...privacy import mask_addresses, mask_ip
from ...rows import (
    SESSION_WRITE_COLUMNS,
    STREAM_COLUMNS,
    PreparedSession,
    content_fingerprint,
    stable_id,
    summary_row,
    text,
)
from ...verdicts import GOOD, UNRATED, VERDICT_RANK, Verdict, session_verdict, stream_verdict, with_defaults
from . import schema
from .classify import stream_verdicts

LABELS = {
    "main-audio": "audio",
    "audio": "audio",
    "main-video": "video",
    "video": "video",
    "applicationsharing-video": "share",
    "vbss": "share",
}
NETWORKS = {"wired": "ethernet", "wifi": "wifi", "mobile": "cellular", "tunnel": "vpn"}
# Counters Graph fills with the largest unsigned value of their type when it has none.
SENTINELS = {4294967295, 18446744073709551615, 2147483647, 9223372036854775807}
# The figures CQD's rules and the shared fair lines read (classify.py), as teams_streams holds them.
JUDGED = ("avg_packet_loss", "avg_latency", "avg_jitter", "avg_frame_rate", "frame_loss_pct", "post_fec_loss")
SERVICE_AGENT = "#microsoft.graph.callRecords.serviceUserAgent"
IDENTITY_KINDS = (
    "user",
    "guest",
    "phone",
    "acsUser",
    "spoolUser",
    "encrypted",
    "onPremises",
    "acsApplicationInstance",
    "spoolApplicationInstance",
    "applicationInstance",
    "application",
    "device",
    "azureCommunicationServicesUser",
)
_DURATION = re.compile(
    r"^(-)?P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


# -- values ------------------------------------------------------------------------------------


def duration_ms(value) -> int | float | None:
    """An ISO 8601 duration in milliseconds, exactly ("PT0.016S" -> 16); None for anything else
    (null, "NaN", a negative or unreadable duration)."""
    found = _DURATION.match(value) if isinstance(value, str) else None
    if not found or found.group(1) or not any(found.groups()[1:]):
        return None
    days, hours, minutes, seconds = (Decimal(g or 0) for g in found.groups()[1:])
    ms = ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000
    return int(ms) if ms == ms.to_integral_value() else float(ms)


def double(value) -> int | float | None:
    """A finite number; "NaN", "INF", "-INF", text, booleans and null are no value."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if value == value and abs(value) != float("inf") else None


def counter(value) -> int | None:
    """A count or a speed: an integer that is not a sentinel."""
    number = double(value)
    if number is None or number < 0 or int(number) in SENTINELS:
        return None
    return int(number)


def percent(value) -> int | float | None:
    """A rate (a fraction, 0.1 = 10 %) in percent, the shared unit, exactly (decimal)."""
    number = double(value)
    if number is None:
        return None
    try:
        result = Decimal(repr(number)) * 100
    except InvalidOperation:
        return None
    return int(result) if result == result.to_integral_value() else float(result)


def _text(value) -> str | None:
    """Text, with Graph's "unknown" and empty strings as no value."""
    found = text(value) if isinstance(value, str) else None
    return None if found in (None, "unknown", "unknownFutureValue") else found


# -- records -----------------------------------------------------------------------------------


def identity_of(identity_set) -> tuple[str | None, dict]:
    """(kind, identity) of an identitySet: its first non-null member (user, guest, phone, …)."""
    if not isinstance(identity_set, dict):
        return None, {}
    for kind in IDENTITY_KINDS:
        found = identity_set.get(kind)
        if isinstance(found, dict):
            return kind, found
    return None, {}


def organizer_of(record: dict) -> tuple[str | None, dict]:
    """The organiser from `organizer_v2` (a participant: {id, identity}), else the deprecated
    `organizer` (an identitySet), which Graph empties from mid-2026."""
    v2 = record.get("organizer_v2")
    if isinstance(v2, dict) and isinstance(v2.get("identity"), dict):
        kind, found = identity_of(v2["identity"])
        if kind:
            return kind, found
    return identity_of(record.get("organizer"))


def record_row(item: dict) -> dict | None:
    """A `meetings` row (and, under "teams", its `teams_records` row) from one listed or fetched
    call record; None without an id."""
    record_id = text(item.get("id")) if isinstance(item, dict) else None
    if not record_id:
        return None
    kind, organizer = organizer_of(item)
    name = text(organizer.get("displayName"))
    call_type = _text(item.get("type"))
    modalities = [m for m in item.get("modalities") or [] if isinstance(m, str)]
    what = {"groupCall": "Teams meeting", "peerToPeer": "Teams call"}.get(call_type or "", "Teams call")
    return {
        "id": record_id,
        "series_id": None,
        "join_code": None,
        "title": f"{what} organised by {name or organizer.get('id') or 'someone unknown'}",
        "meeting_type": "meeting" if call_type == "groupCall" else "call",
        "scheduled_type": None,
        "state": "ended",
        "timezone": None,
        "start": normalise_iso(text(item.get("startDateTime"))),
        "end": normalise_iso(text(item.get("endDateTime"))),
        "host_user_id": text(organizer.get("id")),
        "host_display_name": name,
        "host_email": (text(organizer.get("userPrincipalName")) or "").lower() or None,
        "raw": json.dumps({k: v for k, v in item.items() if k not in ("sessions", "participants_v2")}, sort_keys=True),
        "quality_state": "pending",
        "teams": {
            "meeting_id": record_id,
            "call_type": call_type,
            "modalities": ",".join(modalities) or None,
            "version": counter(item.get("version")),
            "last_modified": normalise_iso(text(item.get("lastModifiedDateTime"))),
            "join_web_url": text(item.get("joinWebUrl")),
            "organizer_kind": kind,
            "organizer_id": text(organizer.get("id")),
        },
    }


def split_record_row(row: dict) -> tuple[dict, dict]:
    """A record_row as the core's `meetings` row and Teams' own `teams_records` row."""
    return {k: v for k, v in row.items() if k != "teams"}, {c: row["teams"][c] for c in schema.RECORD_COLUMNS}


# -- sessions ----------------------------------------------------------------------------------


def is_service(endpoint) -> bool:
    """A conference server, a bot or a gateway, not a person's client."""
    agent = endpoint.get("userAgent") if isinstance(endpoint, dict) else None
    return isinstance(agent, dict) and (agent.get("@odata.type") == SERVICE_AGENT or "role" in agent)


def participant_side(session: dict) -> str:
    """ "caller" or "callee": the end that is a person's client."""
    caller, callee = session.get("caller"), session.get("callee")
    return "callee" if is_service(caller) and isinstance(callee, dict) and not is_service(callee) else "caller"


def people_sides(session: dict) -> list[str]:
    """The ends of a session that are people: the participant's side, and in a call between two
    people (peer to peer) the other one too, each a session of its own."""
    first = participant_side(session)
    second = "callee" if first == "caller" else "caller"
    other = session.get(second)
    person = isinstance(other, dict) and not is_service(other) and person_of(other)[0] is not None
    return [first, second] if person else [first]


def person_of(endpoint: dict) -> tuple[str | None, str | None, str | None]:
    """(kind, display name, email) of who used an endpoint: its associated identity (a user of
    the tenant) or its identity (user, guest, phone…); nobody at all is (None, None, None)."""
    associated = endpoint.get("associatedIdentity")
    kind, found = identity_of(endpoint.get("identity"))
    if isinstance(associated, dict) and (associated.get("displayName") or associated.get("userPrincipalName")):
        kind, found = kind or "user", associated
    name = text(found.get("displayName")) or (text(found.get("id")) if kind == "phone" else None)
    email = (text(found.get("userPrincipalName")) or "").lower() or None
    return kind, name, email


def session_key(record_id: str, session: dict, n: int, side: str) -> int:
    """Graph's session id (and, for its callee's own session, the side) is the key; a session
    without an id (never seen, but the schema allows it) is keyed on its place in the record."""
    return stable_id("teams", record_id, text(session.get("id")) or f"#{n}", *(() if side == "caller" else (side,)))


def prepare_record(record: dict, sessions: list, fetched_at: str, thresholds: dict | None, min_packets: int):
    """Every session of one call record (its pages' sessions together) as PreparedSessions."""
    record_id = text(record.get("id"))
    return [
        prepare_session(record_id, s, n, fetched_at, thresholds, min_packets, side)
        for n, s in enumerate(sessions)
        if isinstance(s, dict)
        for side in people_sides(s)
    ]


def prepare_session(
    record_id: str, session: dict, n: int, fetched_at: str, thresholds: dict | None, min_packets: int, side: str
) -> PreparedSession:
    """One end of a Graph session (a person's) as a meetq session: what it sent is "out"."""
    thresholds = with_defaults(thresholds)
    session_id = session_key(record_id, session, n, side)
    other = "callee" if side == "caller" else "caller"
    endpoint = session.get(side) if isinstance(session.get(side), dict) else {}
    agent = endpoint.get("userAgent") if isinstance(endpoint.get("userAgent"), dict) else {}
    kind, name, email = person_of(endpoint)
    streams, rows = [], []
    network, device, video_device = {}, {}, {}
    for seq, segment in enumerate(s for s in session.get("segments") or [] if isinstance(s, dict)):
        for media in (m for m in segment.get("media") or [] if isinstance(m, dict)):
            media_kind = LABELS.get(str(media.get("label") or "").lower())
            if media_kind is None:
                continue  # `data` and labels meetq does not know: kept in the raw body
            own_network = media.get(f"{side}Network") if isinstance(media.get(f"{side}Network"), dict) else {}
            own_device = media.get(f"{side}Device") if isinstance(media.get(f"{side}Device"), dict) else {}
            if media_kind == "audio" and not network:
                network, device = own_network, own_device
            if media_kind == "video" and not video_device:
                video_device = own_device
            for stream in (s for s in media.get("streams") or [] if isinstance(s, dict)):
                shared, row = _stream(
                    session_id, seq, segment, media, media_kind, stream, side, own_network, own_device
                )
                streams.append(shared)
                rows.append(row)
    summaries, every = judge_rows(session_id, rows, thresholds, min_packets)
    teams_rows = [(schema.STREAM_TABLE, schema.STREAM_COLUMNS, _ordered(r)) for r in rows]
    row = {
        "id": session_id,
        "meeting_id": record_id,
        "participant_id": text((endpoint.get("associatedIdentity") or {}).get("id"))
        or text(identity_of(endpoint.get("identity"))[1].get("id")),
        "participant_session_id": text(session.get("id")),
        "user_name": name,
        "user_email": email,
        "join_time": normalise_iso(text(session.get("startDateTime"))),
        "leave_time": normalise_iso(text(session.get("endDateTime"))),
        "join_meeting_seconds": None,
        "client_type": _text(agent.get("productFamily")),
        "client_version": _text(agent.get("applicationVersion")) or _text(agent.get("headerValue")),
        "os_type": _text(agent.get("platform")),
        "os_version": None,
        "hardware_type": None,
        "network_type": NETWORKS.get(str(network.get("connectionType") or "").lower()),
        "server_region": None,
        "speaker": _text(device.get("renderDeviceName")),
        "microphone": _text(device.get("captureDeviceName")),
        "camera": _text(video_device.get("captureDeviceName")),
        "local_ip": _text(network.get("ipAddress")),
        "public_ip": _text(network.get("reflexiveIPAddress")),
        "masked_local_ip": None,
        "masked_public_ip": None,
        "location": None,
        "content_sha256": content_fingerprint(session),
        "avg_system_cpu": None,
        "max_system_cpu": None,
        # No CPU figure to weigh a symptom against: the worst level leads (verdicts.session_verdict).
        **session_verdict(every, "no media figures", causes_measured=False),
        "fetched_at": fetched_at,
    }
    other_end = session.get(other) if isinstance(session.get(other), dict) else {}
    other_agent = other_end.get("userAgent") if isinstance(other_end.get("userAgent"), dict) else {}
    failure = session.get("failureInfo") if isinstance(session.get("failureInfo"), dict) else {}
    feedback = endpoint.get("feedback") if isinstance(endpoint.get("feedback"), dict) else {}
    own = {
        "session_id": session_id,
        "graph_session_id": text(session.get("id")),
        "record_id": record_id,
        "side": side,
        "product_family": _text(agent.get("productFamily")),
        "platform": _text(agent.get("platform")),
        "user_agent": _text(agent.get("headerValue")),
        "identity_kind": kind,
        "subnet": _text(network.get("subnet")),
        "connection_type": _text(network.get("connectionType")),
        "wifi_band": _text(network.get("wifiBand")),
        "wifi_signal": double(network.get("wifiSignalStrength")),
        "link_speed_bps": counter(network.get("linkSpeed")) or None,
        "relay_ip": _text(network.get("relayIPAddress")),
        "cpu_name": _text(endpoint.get("cpuName")),
        "cpu_cores": counter(endpoint.get("cpuCoresCount")),
        "cpu_insufficient_ratio": double(device.get("cpuInsufficentEventRatio")),
        "feedback_rating": _text(feedback.get("rating")),
        "failure": " ".join(filter(None, (_text(failure.get("stage")), _text(failure.get("reason"))))) or None,
        "is_test": 1 if session.get("isTest") is True else 0,
        "other_end": " ".join(
            filter(None, (_text(other_agent.get("productFamily")), person_of(other_end)[1] if other_end else None))
        )
        or None,
    }
    return PreparedSession(
        id=session_id,
        meeting_id=record_id,
        fingerprint=row["content_sha256"],
        session=tuple(row[c] for c in SESSION_WRITE_COLUMNS),
        summaries=summaries,
        streams=[tuple(s[c] for c in STREAM_COLUMNS) for s in streams],
        series=[],
        cpu_series=[],
        vendor=(schema.SESSION_TABLE, schema.SESSION_COLUMNS, tuple(own[c] for c in schema.SESSION_COLUMNS)),
        vendor_rows=teams_rows,
    )


def _stream(session_id, seq, segment, media, kind, stream, side, network, device) -> dict:
    """One Graph stream as a media_streams row, a teams_streams row and its figures."""
    graph_direction = text(stream.get("streamDirection"))
    sent = graph_direction == ("callerToCallee" if side == "caller" else "calleeToCaller")
    direction = "out" if sent else "in"
    start = normalise_iso(text(stream.get("startDateTime")) or text(segment.get("startDateTime")))
    end = normalise_iso(text(stream.get("endDateTime")) or text(segment.get("endDateTime")))
    stream_id = stable_id(
        session_id, text(segment.get("id")) or seq, media.get("label"), graph_direction, stream.get("streamId")
    )
    loss = percent(stream.get("averagePacketLossRate"))
    video_loss = percent(stream.get("averageVideoPacketLossRate"))
    row = {
        "stream_id": stream_id,
        "session_id": session_id,
        "segment_id": text(segment.get("id")),
        "label": text(media.get("label")),
        "kind": kind,
        "direction": direction,
        "graph_direction": graph_direction,
        "start_time": start,
        "end_time": end,
        "packets": counter(stream.get("packetUtilization")),
        "avg_packet_loss": loss if loss is not None else video_loss,
        "max_packet_loss": percent(stream.get("maxPacketLossRate")),
        "avg_latency": duration_ms(stream.get("averageRoundTripTime")),
        "max_latency": duration_ms(stream.get("maxRoundTripTime")),
        "avg_jitter": duration_ms(stream.get("averageJitter")),
        "max_jitter": duration_ms(stream.get("maxJitter")),
        "avg_network_jitter": duration_ms(stream.get("averageAudioNetworkJitter")),
        "max_network_jitter": duration_ms(stream.get("maxAudioNetworkJitter")),
        "avg_concealed_ratio": double(stream.get("averageRatioOfConcealedSamples")),
        "max_concealed_ratio": double(stream.get("maxRatioOfConcealedSamples")),
        "audio_degradation": double(stream.get("averageAudioDegradation")),
        "frame_loss_pct": double(stream.get("averageVideoFrameLossPercentage")),
        "avg_frame_rate": double(stream.get("averageVideoFrameRate")),
        "received_frame_rate": double(stream.get("averageReceivedFrameRate")),
        "post_fec_loss": percent(stream.get("postForwardErrorCorrectionPacketLossRate")),
        "video_packet_loss": video_loss,
        "low_frame_rate_ratio": double(stream.get("lowFrameRateRatio")),
        "low_processing_ratio": double(stream.get("lowVideoProcessingCapabilityRatio")),
        "bandwidth_estimate_bps": counter(stream.get("averageBandwidthEstimate")),
        "avg_freeze_ms": duration_ms(stream.get("averageFreezeDuration")),
        "rms_freeze_ms": duration_ms(stream.get("rmsFreezeDuration")),
        "codec": _text(stream.get("audioCodec" if kind == "audio" else "videoCodec")),
        "media_bypassed": None
        if stream.get("wasMediaBypassed") is None
        else int(stream.get("wasMediaBypassed") is True),
        "sent_quality_event_ratio": double(network.get("sentQualityEventRatio")),
        "received_quality_event_ratio": double(network.get("receivedQualityEventRatio")),
        "delay_event_ratio": double(network.get("delayEventRatio")),
        "bandwidth_low_event_ratio": double(network.get("bandwidthLowEventRatio")),
        "cpu_insufficient_ratio": double(device.get("cpuInsufficentEventRatio")),
    }
    shared = {
        "id": stream_id,
        "session_id": session_id,
        "kind": kind,
        "direction": direction,
        "seq": seq,
        "start_time": start,
        "end_time": end,
        "sampling_interval": None,
        "codec": row["codec"],
        "transport_type": (_text(network.get("networkTransportProtocol")) or "").upper() or None,
        "sample_count": 0,
    }
    return shared, row


def judge_rows(session_id: int, rows: list[dict], thresholds: dict, min_packets: int) -> tuple[list[tuple], list]:
    """A session's teams_streams rows judged (each row's `cqd_class` and `cqd_poor_due_to` set):
    its media_summaries tuples per kind and direction, and every verdict for the session's own."""
    grouped: dict[tuple, list] = {}
    for row in rows:
        figures = {name: row[name] for name in JUDGED}
        label = f"{row['kind']} {row['direction']}"
        cqd, verdicts = stream_verdicts(
            label, row["kind"], row["direction"], figures, row["packets"], thresholds, min_packets
        )
        row.update(cqd_class=cqd, cqd_poor_due_to=", ".join(v.metric for v in verdicts if v.level == "poor") or None)
        grouped.setdefault((row["kind"], row["direction"]), []).append((row, verdicts))
    summaries, every = [], []
    for (kind, direction), found in grouped.items():
        verdicts = _together([v for _, v in found])
        every += verdicts
        seconds = sum(_seconds(r["start_time"], r["end_time"]) or 0 for r, _ in found) or None
        figures = _figures_together([r for r, _ in found])
        summaries.append(
            summary_row(session_id, kind, direction, len(found), figures, stream_verdict(verdicts), seconds)
        )
    return summaries, every


def _seconds(start: str | None, end: str | None) -> float | None:
    first, last = parse_iso(start), parse_iso(end)
    return (last - first).total_seconds() if first and last and last >= first else None


def _together(verdict_lists: list[list[Verdict]]) -> list[Verdict]:
    """The verdicts of one kind and direction's streams as one: every tripped one, worst first;
    else good when any stream was rated; else the first stream's reason for being unrated."""
    flat = [v for verdicts in verdict_lists for v in verdicts]
    tripped = sorted((v for v in flat if v.tripped), key=lambda v: (-VERDICT_RANK[v.level], v.priority, -v.excess))
    if tripped:
        return tripped
    good = [v for v in flat if v.level == GOOD]
    return good[:1] or [v for v in flat if v.level == UNRATED][:1] or [Verdict(UNRATED, "no figures reported")]


def _figures_together(figures: list[dict]) -> dict:
    """Averages weighted by packets (when every stream says its count), the worst maximum."""
    weights = [f["packets"] for f in figures]
    if any(w is None for w in weights) or not sum(weights):
        weights = [1] * len(figures)

    def average(name):
        pairs = [(f[name], w) for f, w in zip(figures, weights) if f.get(name) is not None]
        total = sum(w for _, w in pairs)
        return round(sum(v * w for v, w in pairs) / total, 3) if pairs and total else None

    def most(name):
        values = [f[name] for f in figures if f.get(name) is not None]
        return max(values) if values else None

    return {
        "avg_packet_loss": average("avg_packet_loss"),
        "max_packet_loss": most("max_packet_loss"),
        "avg_latency": average("avg_latency"),
        "max_latency": most("max_latency"),
        "avg_jitter": average("avg_jitter"),
        "max_jitter": most("max_jitter"),
        "avg_frame_rate": average("avg_frame_rate"),
    }


def _ordered(row: dict) -> tuple:
    return tuple(row[c] for c in schema.STREAM_COLUMNS)


def addresses_of_record(sessions: list) -> list[tuple[str | None, str | None]]:
    """(local, public) of each prepared session of a record, in prepare_record's order."""
    return [addresses_of(s, side) for s in sessions if isinstance(s, dict) for side in people_sides(s)]


def addresses_of(session: dict, side: str) -> tuple[str | None, str | None]:
    """(local, public) address of one end of a session as Graph sent it: the first audio
    media's network (its subnet when the address is blank), for placing it."""
    for segment in session.get("segments") or []:
        for media in (segment.get("media") or []) if isinstance(segment, dict) else []:
            if isinstance(media, dict) and LABELS.get(str(media.get("label") or "").lower()) == "audio":
                network = media.get(f"{side}Network") if isinstance(media.get(f"{side}Network"), dict) else {}
                local = _text(network.get("ipAddress")) or _text(network.get("subnet"))
                return local, _text(network.get("reflexiveIPAddress"))
    return None, None


# -- privacy -----------------------------------------------------------------------------------

ADDRESS_FIELDS = ("ipAddress", "subnet", "reflexiveIPAddress", "relayIPAddress")


def private_session(session, mode: str):
    """A session with every network's addresses full, masked or dropped, before it is read."""
    if mode == "full" or not isinstance(session, dict):
        return session
    return _masked(session, mode)


def _masked(value, mode: str):
    if isinstance(value, dict):
        return {k: mask_ip(v, mode) if k in ADDRESS_FIELDS else _masked(v, mode) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, mode) for v in value]
    return value


def private_body(body: str, mode: str) -> str:
    """A raw body with every address in it as privacy allows; every other byte as received."""
    return mask_addresses(body, mode)


def rejudge_session(stored, thresholds: dict, teams_rows: list[dict], min_packets: int) -> tuple[list[tuple], dict]:
    """A stored session judged again from its teams_streams rows."""
    summaries, every = judge_rows(stored.id, teams_rows, with_defaults(thresholds), min_packets)
    return summaries, session_verdict(every, "no media figures", causes_measured=False)
