"""The verdict engine: figures against thresholds, a level and a reason in words.

Vendor-neutral: a provider says which of its figures to check (`Check`), the engine judges them
against the thresholds in the settings and ranks what it finds. A session's verdict is the worst
of its streams' and its CPU's.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THRESHOLDS = {
    "loss_fair_pct": 1.0, "loss_poor_pct": 5.0, "latency_fair_ms": 150.0, "latency_poor_ms": 400.0,
    "jitter_fair_ms": 30.0, "jitter_poor_ms": 50.0, "frame_rate_fair_fps": 15.0, "frame_rate_poor_fps": 10.0,
    "cpu_fair_pct": 80.0, "cpu_poor_pct": 95.0,
}
VERDICT_RANK = {"good": 0, "fair": 1, "poor": 2}


@dataclass(frozen=True)
class Check:
    """One figure to judge: its summary column, the words for it, its unit, whether higher is worse,
    the (fair, poor) threshold settings, and the only media kind it applies to (None: every kind)."""
    figure: str
    words: str
    unit: str
    higher_is_worse: bool
    thresholds: tuple[str, str]
    only_kind: str | None = None

    @property
    def metric(self) -> str:
        """What the viewer groups verdicts on: loss, latency, jitter, frame_rate (the settings' prefix)."""
        return metric_of(self.thresholds[0])


def metric_of(threshold_setting: str) -> str:
    return threshold_setting.rsplit("_", 2)[0]   # frame_rate_fair_fps -> frame_rate


@dataclass
class Verdict:
    level: str
    reason: str
    priority: int = 99   # at the same level, loss outranks latency, then jitter, frame rate, CPU
    excess: float = 0.0  # how far past its threshold, relative: ranks the same metric across streams
    metric: str | None = None  # the metric that decided, for SQL (None when good)

    def worse_than(self, other: "Verdict") -> bool:
        return ((VERDICT_RANK[self.level], -self.priority, self.excess)
                > (VERDICT_RANK[other.level], -other.priority, other.excess))


def with_defaults(thresholds: dict | None) -> dict:
    return {**DEFAULT_THRESHOLDS, **(thresholds or {})}


def judge(label: str, kind: str, figures: dict, thresholds: dict, checks: list[Check]) -> Verdict:
    """The worst of `checks` on one stream group's figures; good when none trips."""
    worst = Verdict("good", f"{label}: every metric within its good range")
    for priority, check in enumerate(checks):
        value = figures.get(check.figure)
        if value is None or (check.only_kind and kind != check.only_kind):
            continue
        fair, poor = (thresholds[name] for name in check.thresholds)
        verdict = judge_metric(label, value, check.words, check.unit, check.higher_is_worse, fair, poor, priority,
                               check.metric)
        if verdict.worse_than(worst):
            worst = verdict
    return worst


def judge_metric(label, value, words, unit, higher_is_worse, fair, poor, priority=99, metric=None) -> Verdict:
    beyond = (lambda limit: value >= limit) if higher_is_worse else (lambda limit: value < limit)
    side = "above" if higher_is_worse else "below"
    for level, limit in (("poor", poor), ("fair", fair)):
        if beyond(limit):
            excess = (value / limit if higher_is_worse else limit / max(value, 1e-9)) if limit else 1.0
            return Verdict(level, f"{label}: {words} {_fmt(value)} {unit} ({level} {side} "
                                  f"{_fmt(limit)} {unit})", priority, excess, metric)
    return Verdict("good", f"{label}: every metric within its good range")


def judge_cpu(max_system_cpu: float | None, thresholds: dict) -> list[Verdict]:
    """The session's CPU verdict, when the vendor reported CPU at all."""
    if max_system_cpu is None:
        return []
    return [judge_metric("CPU", max_system_cpu, "CPU peaked at", "%", True,
                         thresholds["cpu_fair_pct"], thresholds["cpu_poor_pct"], metric=metric_of("cpu_fair_pct"))]


def session_verdict(verdicts: list[Verdict], nothing: str) -> dict:
    """A session's verdict columns: the worst of its verdicts; `nothing` says why there is none."""
    worst = None
    for verdict in verdicts:
        if worst is None or verdict.worse_than(worst):
            worst = verdict
    return {"verdict": worst.level if worst else None, "verdict_reason": worst.reason if worst else nothing,
            "verdict_metric": worst.metric if worst else None}


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:.0f}"
