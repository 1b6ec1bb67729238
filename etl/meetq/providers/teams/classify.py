"""Microsoft's Call Quality Dashboard stream classifier, as Teams' checks: a Teams stream is poor
in meetq exactly when CQD calls it poor, and unrated when CQD leaves it unclassified.

Audio (CQD's current page): poor when it carried more than 500 packets and its average round
trip is over 500 ms, its average packet loss rate over 0.1, or its average jitter over 30 ms;
unclassified at 500 packets or fewer. Video: the first figure Graph reports decides: local frame
loss over 50 %, else average frame rate under 7 fps, else packet loss after FEC over 0.15; none
of them: unclassified. Video-based screen sharing (Graph's `applicationsharing-video`): the same
with 2 fps. Sources, and what Graph lacks of CQD's figures: docs/teams.md.

CQD has two classes, meetq three: a stream CQD calls good is fair when a figure passes the shared
fair lines (`[quality]`, the same as every vendor's), never poor.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...verdicts import GOOD, POOR, UNRATED, Verdict, judge, media_checks

# Priorities as the shared rules order them: loss, latency, jitter, then the picture.
LOSS, LATENCY, JITTER, PICTURE = 0, 2, 3, 4


@dataclass(frozen=True)
class Rule:
    figure: str  # the stream's figure (transform.stream_figures), in the shared unit
    words: str
    unit: str
    higher_is_worse: bool
    limit: float
    metric: str
    priority: int
    cause: bool = True

    def tripped(self, value: float) -> bool:
        return value > self.limit if self.higher_is_worse else value < self.limit


AUDIO = (
    Rule("avg_latency", "round trip averaged", "ms", True, 500.0, "latency", LATENCY),
    Rule("avg_packet_loss", "packet loss rate averaged", "%", True, 10.0, "loss", LOSS),
    Rule("avg_jitter", "jitter averaged", "ms", True, 30.0, "jitter", JITTER),
)


def video_steps(lowest_fps: float) -> tuple[Rule, ...]:
    return (
        Rule("frame_loss_pct", "local frame loss averaged", "%", True, 50.0, "frame_rate", PICTURE, cause=False),
        Rule("avg_frame_rate", "frame rate averaged", "fps", False, lowest_fps, "frame_rate", PICTURE, cause=False),
        Rule("post_fec_loss", "packet loss after FEC averaged", "%", True, 15.0, "loss", LOSS),
    )


VIDEO, SHARE = video_steps(7.0), video_steps(2.0)
# CQD's poor lines as the shared thresholds' names: what the viewer draws on a Teams stream's charts.
POOR_LINES = {
    "loss_poor_pct": AUDIO[1].limit,
    "latency_poor_ms": AUDIO[0].limit,
    "jitter_poor_ms": AUDIO[2].limit,
    "video_loss_poor_pct": VIDEO[2].limit,
    "frame_rate_poor_fps": VIDEO[1].limit,
    "share_frame_rate_poor_fps": SHARE[1].limit,
}
# The shared fair lines on the same figures (a call's means), for what CQD calls good.
FAIR_CHECKS = media_checks(
    "avg",
    {
        "loss": "packet loss averaged",
        "latency": "round trip averaged",
        "jitter": "jitter averaged",
        "frame_rate": "frame rate averaged",
    },
)
# The shared poor lines moved past reach: above infinity, below zero.
NEVER_POOR = {
    "loss_poor_pct": float("inf"),
    "video_loss_poor_pct": float("inf"),
    "latency_poor_ms": float("inf"),
    "jitter_poor_ms": float("inf"),
    "frame_rate_poor_fps": 0.0,
    "share_frame_rate_poor_fps": 0.0,
}


def cqd_class(kind: str, figures: dict, packets: int | None, min_audio_packets: int) -> tuple[str, list[Rule]]:
    """("good" | "poor" | "unclassified", the rules that made it poor) for one stream."""
    if kind == "audio":
        if packets is None or packets <= min_audio_packets:
            return "unclassified", []
        known = [rule for rule in AUDIO if figures.get(rule.figure) is not None]
        if not known:
            return "unclassified", []
        tripped = [rule for rule in known if rule.tripped(figures[rule.figure])]
        return ("poor" if tripped else "good"), tripped
    for rule in VIDEO if kind == "video" else SHARE:
        value = figures.get(rule.figure)
        if value is not None:  # the first figure reported decides, as in CQD
            return ("poor", [rule]) if rule.tripped(value) else ("good", [])
    return "unclassified", []


def stream_verdicts(
    label: str, kind: str, direction: str, figures: dict, packets: int | None, thresholds: dict, min_packets: int
) -> tuple[str, list[Verdict]]:
    """(CQD's class, meetq's verdicts) for one stream: CQD's poor with every rule that made it so,
    unrated where CQD does not classify, else the shared fair lines (never poor)."""
    found, tripped = cqd_class(kind, figures, packets, min_packets)
    if found == "poor":
        return found, [_poor(label, rule, figures[rule.figure]) for rule in tripped]
    if found == "unclassified":
        if kind == "audio" and packets is None:
            why = "no packet count reported"
        elif kind == "audio" and packets <= min_packets:
            why = f"{packets} packets, not over {min_packets}"
        else:
            why = "none of its figures reported"
        return found, [Verdict(UNRATED, f"{label}: unrated, CQD leaves it unclassified ({why})")]
    fair_only = {**thresholds, **NEVER_POOR}
    judged = {**figures, "judged_frame_rate": figures.get("avg_frame_rate")}
    verdicts = judge(label, kind, direction, judged, fair_only, FAIR_CHECKS)
    return found, [v for v in verdicts if v.level != UNRATED] or [Verdict(GOOD, f"{label}: CQD good")]


def _poor(label: str, rule: Rule, value: float) -> Verdict:
    side = "above" if rule.higher_is_worse else "below"
    excess = (value / rule.limit if rule.higher_is_worse else rule.limit / max(value, 1e-9)) if rule.limit else 1.0
    shown = f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"
    return Verdict(
        POOR,
        f"{label}: {rule.words} {shown} {rule.unit} (CQD: poor {side} {rule.limit:g} {rule.unit})",
        rule.priority,
        excess,
        rule.metric,
        rule.cause,
    )
