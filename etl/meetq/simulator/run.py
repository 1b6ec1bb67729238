"""`meetq simulator`: run the simulator in the foreground and print how to point meetq at it."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import fields

import click

from .server import SimConfig, Simulator


def parse_overrides(pairs) -> dict:
    types = {f.name: f.type for f in fields(SimConfig)}
    changes = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            raise click.BadParameter(f"unknown simulator setting {key!r}; known: {', '.join(sorted(types))}")
        try:
            changes[key] = json.loads(value)
        except ValueError:
            changes[key] = value
    return changes


def run_simulator(host: str, port: int, seed: int, overrides) -> None:
    config = SimConfig(host=host, port=port, seed=seed, **parse_overrides(overrides))
    sim = Simulator(config).start()
    click.echo(
        f"Webex simulator on {sim.url}. Point meetq at it with:\n"
        f"  export MEETQ_WEBEX_API_BASE={sim.api_base}\n"
        f"  export MEETQ_WEBEX_ANALYTICS_BASE={sim.analytics_base}\n"
        f"  export MEETQ_WEBEX_CLIENT_ID={config.client_id}\n"
        f"  export MEETQ_WEBEX_CLIENT_SECRET=<the simulator's client secret, see SimConfig>\n"
        f"  {len(sim.org.meetings)} meetings in the organisation; Ctrl-C stops."
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    sim.stop()
