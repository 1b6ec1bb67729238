"""The verdict engine: figures against thresholds, a level and every reason in words.

Vendor-neutral. A provider computes each stream group's figures (per media kind and direction)
and says which it reports (`Check`s); the engine judges them against the thresholds in the
settings, leaves streams with too little data `unrated`, and gives a session the worst level of
its streams and CPU with every metric that tripped, root cause first: network metrics and CPU are
causes, a low frame rate is a symptom.

Comparisons are strict, as the wording says ("poor above 10 %"): a figure a vendor rounds to a
whole number (a "1 %" loss) is not called worse than it may have been.
"""

from __future__ import annotations

from dataclasses import dataclass

GOOD, FAIR, POOR, UNRATED = "good", "fair", "poor", "unrated"
VERDICT_RANK = {UNRATED: -1, GOOD: 0, FAIR: 1, POOR: 2}
# A rated session, in SQL: one with a verdict (an unrated one had too little data). Every poor %
# is poor ÷ this; the viewer's is sql/fragments/rated.sql, the same words.
RATED = f"verdict IN ('{GOOD}', '{FAIR}', '{POOR}')"


@dataclass(frozen=True)
class Threshold:
    name: str
    default: float
    meaning: str
    source: str


# Every threshold is a setting ([quality]); the README's table says the same with the figures.
THRESHOLDS = [
    Threshold(
        "loss_fair_pct",
        1.0,
        "Audio packet loss (%) above which a stream is fair",
        "Microsoft's network target for its meetings: loss under 1 % over any 15 s",
    ),
    Threshold(
        "loss_poor_pct",
        10.0,
        "Audio packet loss (%) above which a stream is poor",
        "Microsoft Call Quality Dashboard: audio poor above 10 % loss",
    ),
    Threshold(
        "video_loss_fair_pct",
        5.0,
        "Video and screen-share packet loss (%) above which a stream is fair",
        "meetq: a third of the poor line",
    ),
    Threshold(
        "video_loss_poor_pct",
        15.0,
        "Video and screen-share packet loss (%) above which a stream is poor",
        "Microsoft Call Quality Dashboard: video poor above 15 % loss after FEC",
    ),
    Threshold(
        "latency_fair_ms",
        150.0,
        "Audio latency (ms) above which a stream is fair",
        "ITU-T G.114: one-way delay up to 150 ms acceptable for most uses",
    ),
    Threshold(
        "latency_poor_ms",
        400.0,
        "Audio latency (ms) above which a stream is poor",
        "ITU-T G.114: above 400 ms unacceptable (conservative for a round trip; CQD says 500 ms)",
    ),
    Threshold(
        "jitter_fair_ms", 20.0, "Audio jitter (ms) above which a stream is fair", "meetq: two thirds of the poor line"
    ),
    Threshold(
        "jitter_poor_ms",
        30.0,
        "Audio jitter (ms) above which a stream is poor",
        "Microsoft Call Quality Dashboard: audio poor above 30 ms average jitter",
    ),
    Threshold(
        "frame_rate_fair_fps",
        15.0,
        "Received video frame rate (fps) below which a stream is fair",
        "meetq: motion looks jerky below about 15 fps",
    ),
    Threshold(
        "frame_rate_poor_fps",
        7.0,
        "Received video frame rate (fps) below which a stream is poor",
        "Microsoft Call Quality Dashboard: video poor below 7 fps",
    ),
    Threshold(
        "share_frame_rate_fair_fps",
        5.0,
        "Received screen-share frame rate (fps) below which it is fair",
        "meetq: slides and scrolling lag below about 5 fps",
    ),
    Threshold(
        "share_frame_rate_poor_fps",
        2.0,
        "Received screen-share frame rate (fps) below which it is poor",
        "Microsoft Call Quality Dashboard: video-based screen sharing poor below 2 fps",
    ),
    Threshold(
        "cpu_fair_pct",
        80.0,
        "System CPU (%) above which a session is fair",
        "Meet's troubleshooting guidance: keep CPU under 80 %",
    ),
    Threshold(
        "cpu_poor_pct",
        95.0,
        "System CPU (%) above which a session is poor",
        "meetq: a saturated CPU drops frames and audio",
    ),
    Threshold(
        "min_stream_seconds",
        30.0,
        "A stream that ran less than this many seconds is unrated",
        "Microsoft Call Quality Dashboard leaves streams with too few packets unclassified",
    ),
    Threshold(
        "video_min_height_px",
        180.0,
        "Received video smaller than this (pixels high) never decides a verdict",
        "meetq: thumbnails (Meet's are 90-136 px) run at low frame rates by design",
    ),
    Threshold(
        "video_min_share_pct",
        20.0,
        "Received video's frame rate is judged only when it ran at a real "
        "resolution for at least this share (%) of the session",
        "meetq: a brief stream is not the call",
    ),
]
DEFAULT_THRESHOLDS = {t.name: t.default for t in THRESHOLDS}


@dataclass(frozen=True)
class Check:
    """One figure to judge: its summary column, the words for it, its unit, whether higher is worse,
    the (fair, poor) threshold settings, the media kinds and directions it applies to, and whether
    it is a cause (network, CPU) or a symptom (frame rate)."""

    figure: str
    words: str
    unit: str
    higher_is_worse: bool
    thresholds: tuple[str, str]
    kinds: tuple[str, ...] = ("audio", "video", "share")
    directions: tuple[str, ...] = ("in", "out")
    cause: bool = True

    @property
    def metric(self) -> str:
        """What the viewer groups verdicts on: loss, latency, jitter, frame_rate, cpu."""
        return metric_of(self.thresholds[0])

    def applies(self, kind: str, direction: str) -> bool:
        return kind in self.kinds and direction in self.directions


def metric_of(threshold_setting: str) -> str:
    for prefix in ("video_", "share_"):  # video_loss_fair_pct -> loss
        threshold_setting = threshold_setting.removeprefix(prefix)
    return threshold_setting.rsplit("_", 2)[0]  # frame_rate_fair_fps -> frame_rate


@dataclass
class Verdict:
    level: str
    reason: str
    priority: int = 99  # at the same level, loss outranks latency, then jitter, frame rate, CPU
    excess: float = 0.0  # how far past its threshold, relative: ranks the same metric across streams
    metric: str | None = None  # the metric that decided, for SQL (None when good or unrated)
    cause: bool = True  # a cause (network, CPU) is named before a symptom (frame rate)

    @property
    def tripped(self) -> bool:
        return self.level in (FAIR, POOR)


def media_checks(statistic: str, said: dict[str, str]) -> list[Check]:
    """The shared rules, on one statistic of a stream group (`p90`: what the worst tenth of its
    intervals reach; `avg`: a call's means): audio on loss, latency and jitter; video and screen
    share on loss (their own lines) and, when received, on frame rate, a symptom named after any
    cause. Sent video is judged on what the sender could send (its loss), not on a frame rate its
    receivers may have asked down. `said`: the words for loss, latency, jitter and frame_rate."""
    loss, latency, jitter = (f"{statistic}_{name}" for name in ("packet_loss", "latency", "jitter"))
    fps = ("judged_frame_rate", said["frame_rate"], "fps", False)
    return [
        Check(loss, said["loss"], "%", True, ("loss_fair_pct", "loss_poor_pct"), ("audio",)),
        Check(loss, said["loss"], "%", True, ("video_loss_fair_pct", "video_loss_poor_pct"), ("video", "share")),
        Check(latency, said["latency"], "ms", True, ("latency_fair_ms", "latency_poor_ms"), ("audio",)),
        Check(jitter, said["jitter"], "ms", True, ("jitter_fair_ms", "jitter_poor_ms"), ("audio",)),
        Check(*fps, ("frame_rate_fair_fps", "frame_rate_poor_fps"), ("video",), ("in",), cause=False),
        Check(*fps, ("share_frame_rate_fair_fps", "share_frame_rate_poor_fps"), ("share",), ("in",), cause=False),
    ]


def with_defaults(thresholds: dict | None) -> dict:
    return {**DEFAULT_THRESHOLDS, **(thresholds or {})}


def too_little(
    label: str, seconds: float | None, figures: dict, checks: list[Check], kind: str, direction: str, thresholds: dict
) -> Verdict | None:
    """`unrated` for a stream that ran too briefly or reported none of the figures judged."""
    if seconds is not None and seconds < thresholds["min_stream_seconds"]:
        return Verdict(
            UNRATED, f"{label}: unrated, ran {_fmt(seconds)} s (under {_fmt(thresholds['min_stream_seconds'])} s)"
        )
    if all(figures.get(c.figure) is None for c in checks if c.applies(kind, direction)):
        return Verdict(UNRATED, f"{label}: unrated, no figures reported")
    return None


def judge(
    label: str,
    kind: str,
    direction: str,
    figures: dict,
    thresholds: dict,
    checks: list[Check],
    seconds: float | None = None,
) -> list[Verdict]:
    """Every check that trips on one stream group, worst first; [good] when none does, [unrated]
    when there is too little to judge."""
    unrated = too_little(label, seconds, figures, checks, kind, direction, thresholds)
    if unrated:
        return [unrated]
    tripped = []
    for priority, check in enumerate(checks):
        value = figures.get(check.figure)
        if value is None or not check.applies(kind, direction):
            continue
        fair, poor = (thresholds[name] for name in check.thresholds)
        verdict = judge_metric(
            label,
            value,
            check.words,
            check.unit,
            check.higher_is_worse,
            fair,
            poor,
            priority,
            check.metric,
            check.cause,
        )
        if verdict.tripped:
            tripped.append(verdict)
    return sorted(tripped, key=_rank) or [Verdict(GOOD, f"{label}: every metric within its good range")]


def judge_metric(
    label, value, words, unit, higher_is_worse, fair, poor, priority=99, metric=None, cause=True
) -> Verdict:
    beyond = (lambda limit: value > limit) if higher_is_worse else (lambda limit: value < limit)
    side = "above" if higher_is_worse else "below"
    for level, limit in ((POOR, poor), (FAIR, fair)):
        if beyond(limit):
            excess = (value / limit if higher_is_worse else limit / max(value, 1e-9)) if limit else 1.0
            return Verdict(
                level,
                f"{label}: {words} {_fmt(value)} {unit} ({level} {side} {_fmt(limit)} {unit})",
                priority,
                excess,
                metric,
                cause,
            )
    return Verdict(GOOD, f"{label}: every metric within its good range")


def judge_cpu(system_cpu: float | None, thresholds: dict, words: str = "peaked at") -> list[Verdict]:
    """The session's CPU verdict when it tripped, when the vendor reported CPU at all."""
    if system_cpu is None:
        return []
    verdict = judge_metric(
        "system CPU",
        system_cpu,
        words,
        "%",
        True,
        thresholds["cpu_fair_pct"],
        thresholds["cpu_poor_pct"],
        priority=-1,
        metric=metric_of("cpu_fair_pct"),
    )
    return [verdict] if verdict.tripped else []


def stream_verdict(verdicts: list[Verdict]) -> Verdict:
    """A stream group's summary row verdict: its worst, with every tripped reason."""
    first = verdicts[0]
    if not first.tripped:
        return first
    return Verdict(
        first.level, "; ".join(v.reason for v in verdicts), first.priority, first.excess, first.metric, first.cause
    )


def session_verdict(verdicts: list[Verdict], nothing: str, causes_measured: bool = True) -> dict:
    """A session's verdict columns: the worst level of its rated streams and CPU; the reason lists
    every metric that tripped, causes before symptoms (the root cause first); `nothing` says why
    a session without a single rated stream is unrated. When a cause could not be measured (no
    system CPU average), a symptom is named after a milder cause no more: a frame rate that fell
    to poor beside fair loss may be the unmeasured CPU's doing, so the worst level leads."""
    tripped = sorted((v for v in verdicts if v.tripped), key=_rank if causes_measured else _rank_by_level)
    if tripped:
        level = POOR if any(v.level == POOR for v in tripped) else FAIR
        return {
            "verdict": level,
            "verdict_reason": "; ".join(dict.fromkeys(v.reason for v in tripped)),
            "verdict_metric": tripped[0].metric,
        }
    if any(v.level == GOOD for v in verdicts):
        return {"verdict": GOOD, "verdict_reason": "every rated stream within its good range", "verdict_metric": None}
    reasons = [v.reason for v in verdicts if v.level == UNRATED]
    return {"verdict": UNRATED, "verdict_reason": "; ".join(reasons) or nothing, "verdict_metric": None}


def _rank(verdict: Verdict) -> tuple:
    """Causes first, then the worse level, the metric's priority and how far past its threshold."""
    return (not verdict.cause, -VERDICT_RANK[verdict.level], verdict.priority, -verdict.excess)


def _rank_by_level(verdict: Verdict) -> tuple:
    """The worse level first; at one level, causes first."""
    return (-VERDICT_RANK[verdict.level], not verdict.cause, verdict.priority, -verdict.excess)


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"
