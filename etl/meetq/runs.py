"""One collection cycle for one account: credentials, the provider's work, the run log.

The provider (providers/<vendor>/collect.py) does the vendor's part; this module opens and
closes the run, turns what went wrong into an outcome, and never raises for API trouble.
"""

from __future__ import annotations

import threading
import time

from . import logs, store
from .clock import iso, utcnow
from .cycle import Cycle, RunReport, Stopped
from .errors import MeetqError, ReauthRequired
from .locations import place_stale_sessions
from .models import database

log = logs.get_logger("meetq.runs")

__all__ = ["RunReport", "Stopped", "run_accounts", "run_cycle"]


def run_cycle(
    settings,
    credentials=None,
    *,
    trigger: str = "collect",
    stop: threading.Event | None = None,
    clock=utcnow,
    listing: bool = True,
) -> RunReport:
    """Run one cycle and record it in collector_runs. Never raises for API trouble: the
    outcome and the reason are in the report and the run log. `listing=False` only works the
    queue (a webhook made a meeting due)."""
    stop = stop or threading.Event()
    began, timer = clock(), time.monotonic()
    report = RunReport()
    provider = settings.source
    with database.connection_context():
        with database.atomic():
            store.close_abandoned_runs(began)
            report.run_id = store.start_run(began, trigger, settings.account)
        try:
            credentials = credentials or provider.credentials(settings)
            report.messages += credentials.ensure_fresh()
            _record_credential_facts(credentials, settings.account, clock())
            privacy = provider.private_body or (lambda body, mode: body)
            provider.collect(
                Cycle(
                    settings,
                    credentials,
                    report,
                    stop,
                    clock,
                    listing,
                    private_body=lambda body: privacy(body, settings.ip_addresses),
                )
            )
            report.outcome = "partial" if report.errors else "ok"
        except Stopped:
            report.outcome = "interrupted"
            report.messages.append("stopped by signal between two transactions")
        except ReauthRequired as error:
            report.outcome = "reauth_required"
            report.problem(str(error))
            _record_credential_facts(credentials, settings.account, clock())
        except MeetqError as error:  # said for a person already: no class name before it
            report.outcome = "error"
            report.problem(str(error))
        except Exception as error:  # a bug, or the machine (disk full): recorded, never silent
            report.outcome = "error"
            report.problem(f"unexpected {type(error).__name__}: {error}")
            log.exception("cycle_failed")
        finally:
            duration_ms = int((time.monotonic() - timer) * 1000)
            store.finish_run(
                report.run_id,
                finished_at=iso(clock()),
                outcome=report.outcome,
                duration_ms=duration_ms,
                message=logs.redact_text("\n".join(report.messages)) or None,
                **report.counts(),
            )
    level = log.info if report.outcome in ("ok", "interrupted") else log.error
    level(
        "cycle_finished",
        run_id=report.run_id,
        outcome=report.outcome,
        duration_ms=duration_ms,
        **report.counts(),
        messages=report.messages or None,
    )
    return report


def run_accounts(
    settings, *, trigger: str = "collect", stop: threading.Event | None = None, clock=utcnow
) -> dict[str, RunReport]:
    """One cycle for every account in turn. Each has its own credentials, watermark and queue, and
    one account's failure (a revoked token) is its own: the others still collect."""
    reports = {
        account.account: run_cycle(account, trigger=trigger, stop=stop, clock=clock)
        for account in settings.accounts()
        if not (stop and stop.is_set())
    }
    # New sessions are placed as they are written; this is for older ones (a new database placed once).
    placed = place_stale_sessions() if not (stop and stop.is_set()) else {}
    if placed:
        log.info("sessions_placed", **placed)
    return reports


def _record_credential_facts(credentials, account: str, now) -> None:
    """What the credentials say of themselves (expiry, identity, a refusal), for the health
    views. Never the secrets. Credentials that have nothing to say have no `facts()`."""
    facts = getattr(credentials, "facts", None)
    if facts is not None:
        with database.atomic():
            store.set_state(now, account, **facts())
