"""The `meetq` command. Only click commands here: each reads settings, calls one function, reports."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click
import peewee

from . import logs
from .config import PERSONAL_TOKEN, load_settings
from .errors import ConfigError, InsecureTokenFile, MeetqError, NotAuthorised
from .providers import feature_of, provider_of


class Meetq(click.Group):
    """Turns meetq's own errors, and the file system's, into one clear line: exit 2 for settings, 1
    for the rest. A traceback is for bugs; `--debug` shows one anyway."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            self._fail(ctx, f"configuration error: {error}", 2)
        except MeetqError as error:
            self._fail(ctx, logs.redact_text(str(error)), 1)
        except PermissionError as error:
            self._fail(
                ctx,
                f"permission denied: {error.filename}: the collector must be able to write the "
                "database's folder (and the file itself)",
                1,
            )
        except (sqlite3.Error, peewee.DatabaseError) as error:
            self._fail(ctx, f"the database cannot be used: {error}", 1)

    @staticmethod
    def _fail(ctx, message: str, code: int):
        if (ctx.obj or {}).get("debug"):
            raise
        click.echo(f"meetq: {message}", err=True)
        sys.exit(code)


@click.group(cls=Meetq)
@click.version_option(package_name="meetq")
@click.option("--database", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file (MEETQ_DATABASE).")
@click.option("--secrets", type=click.Path(dir_okay=False, path_type=Path), help="Token file (MEETQ_SECRETS).")
@click.option(
    "--token",
    "access_token",
    help="A personal access token of the first account's vendor, instead of an integration "
    "(its MEETQ_<VENDOR>_ACCESS_TOKEN keeps it out of your shell history).",
)
@click.option("--debug", is_flag=True, help="Show a traceback instead of one line when something fails.")
@click.pass_context
def cli(ctx, database, secrets, access_token, debug):
    """Collect per-participant meeting quality from the vendors' APIs into SQLite before the vendors
    forget it, and browse it."""
    ctx.obj = {"database": database, "secrets": secrets, PERSONAL_TOKEN: access_token, "debug": debug}


def settings_from(ctx, account: str | None = None, **overrides):
    """The settings, or with `account` those of one [[accounts]] entry."""
    settings = load_settings({**{k: v for k, v in ctx.obj.items() if k != "debug"}, **overrides})
    logs.configure(settings.level, settings.format)
    logs.register_secret(*settings.secret_values())
    return settings.account_named(account)


account_option = click.option("--account", help="One account by name (see [[accounts]] in the settings).")


def open_db(settings):
    """The collector's database, created or upgraded, samples of older releases packed; a clear
    error when it cannot be written."""
    from .compact import compact_legacy
    from .models import writable
    from .providers import open_database

    writable(settings.database)
    database = open_database(settings.database)
    compact_legacy(database)
    return database


# -- auth -------------------------------------------------------------------------------------


@cli.group("auth")
def auth_group():
    """Authorise meetq with a vendor and inspect the stored authorisation."""


@auth_group.command("login")
@click.option("--no-browser", is_flag=True, help="Print the URL only; do not open a browser.")
@click.option("--paste", is_flag=True, help="Headless: paste the URL you were redirected to instead of listening.")
@click.option("--timeout", default=300.0, show_default=True, help="Seconds to wait for the redirect.")
@click.option(
    "--listen-host",
    default="127.0.0.1",
    show_default=True,
    help="Address the one-shot redirect listener binds (0.0.0.0 inside a container).",
)
@account_option
@click.pass_context
def auth_login(ctx, no_browser, paste, timeout, listen_host, account):
    """Open the vendor's consent page, receive the redirect, store the tokens (mode 0600)."""
    settings = settings_from(ctx, account)
    login = feature_of(settings, "login", "interactive login (its credentials are a file the settings name)")
    who = login(
        settings,
        open_browser=not no_browser,
        paste=paste,
        timeout=timeout,
        listen_host=listen_host,
        say=click.echo,
        ask=lambda prompt: click.prompt(prompt, prompt_suffix=""),
    )
    click.echo(f"Authorised as {who}. Tokens saved to {settings.secrets} (mode 0600).")


@auth_group.command("status")
@account_option
@click.pass_context
def auth_status(ctx, account):
    """Who authorised, scopes and expiry. Exit 0 when usable, 1 when a new login is needed."""
    settings = settings_from(ctx, account)
    try:
        lines, usable = provider_of(settings).auth_status(settings)
    except (NotAuthorised, InsecureTokenFile) as error:
        lines, usable = [str(error)], False
    click.echo("\n".join(lines))
    sys.exit(0 if usable else 1)


# -- webhooks -----------------------------------------------------------------------------------


@cli.group("webhook")
def webhook_group():
    """The vendor's meeting-ended webhook: quality as soon as a meeting ends (polling stays the safety net)."""


@webhook_group.command("register")
@click.option("--url", required=True, help="Public https:// address that reaches `webhook.listen` of `meetq run`.")
@account_option
@click.pass_context
def webhook_register(ctx, url, account):
    """Create the organisation-level meeting-ended webhook, or update ours."""
    settings = settings_from(ctx, account)
    hooks = feature_of(settings, "webhooks", "webhooks")
    registration = hooks.register(settings, url)
    click.echo(
        f"Webhook {registration.id} delivers meeting-ended events to {url}; its secret is in "
        f"{hooks.registration_path(settings)} (mode 0600)."
    )


@webhook_group.command("list")
@account_option
@click.pass_context
def webhook_list(ctx, account):
    """The account's webhooks as the vendor lists them (never their secrets)."""
    settings = settings_from(ctx, account)
    click.echo(json.dumps(feature_of(settings, "webhooks", "webhooks").list_registered(settings), indent=2))


@webhook_group.command("delete")
@click.option("--id", "webhook_id", help="Another webhook's id (default: the one meetq registered).")
@account_option
@click.pass_context
def webhook_delete(ctx, webhook_id, account):
    """Delete meetq's webhook (or another by --id)."""
    settings = settings_from(ctx, account)
    click.echo(f"Deleted webhook {feature_of(settings, 'webhooks', 'webhooks').delete(settings, webhook_id)}.")


# -- collecting ----------------------------------------------------------------------------------


@cli.command()
@click.option("--backfill-days", type=float, help="How far back the first run lists meetings (default 7).")
@account_option
@click.pass_context
def collect(ctx, backfill_days, account):
    """Run one collection cycle per account and print its summary. Exit 1 unless every one succeeded."""
    from .daemon import collector_lock, usable_credentials
    from .rejudge import rejudge_if_rules_changed
    from .runs import run_accounts, run_cycle

    settings = settings_from(ctx, account, backfill_days=backfill_days)
    usable_credentials([settings] if account else settings.accounts())  # before any file is created
    with collector_lock(settings.database):
        open_db(settings)
        rejudge_if_rules_changed(settings)
        reports = {account: run_cycle(settings, trigger="collect")} if account else run_accounts(settings)
    summaries = {name: {"outcome": r.outcome, **r.counts(), "messages": r.messages} for name, r in reports.items()}
    outcomes = {s["outcome"] for s in summaries.values()}
    if len(summaries) == 1:
        click.echo(json.dumps(next(iter(summaries.values())), indent=2))
    else:
        click.echo(json.dumps({"outcome": "ok" if outcomes == {"ok"} else "partial", "accounts": summaries}, indent=2))
    sys.exit(0 if outcomes == {"ok"} else 1)


@cli.command()
@click.option("--interval", "interval_seconds", type=int, help="Seconds between cycles (default 300).")
@click.pass_context
def run(ctx, interval_seconds):
    """Run the collector daemon: a cycle now, then one every interval, until SIGTERM."""
    from .daemon import check_accounts, collector_lock, run_forever
    from .rejudge import rejudge_if_rules_changed

    settings = settings_from(ctx, interval_seconds=interval_seconds)
    check_accounts(settings.accounts(), warn=lambda text: click.echo(f"meetq: {text}", err=True))
    with collector_lock(settings.database):
        open_db(settings)
        rejudge_if_rules_changed(settings)
        run_forever(settings)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--meeting-id", help="Meeting the payloads belong to (default: the meeting each item names).")
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    help="Processes that parse and transform while this one writes (default: one per spare core; 0: none).",
)
@account_option
@click.pass_context
def load(ctx, sources, meeting_id, workers, account):
    """Ingest saved API responses of the account's vendor (the bodies its collector stores: JSON
    files, folders of them, or - for stdin) instead of calling the API."""
    from .loader import load_files

    settings = settings_from(ctx, account)
    open_db(settings)
    stdin_text = click.get_text_stream("stdin").read() if "-" in sources else None
    report = load_files(list(sources), settings, meeting_id, workers, stdin_text)
    click.echo(
        f"Stored {report.sessions} new or changed sessions with {report.samples} samples from {report.files} files."
    )
    for failure in report.failed:
        click.echo(f"Not loaded: {failure}", err=True)
    ctx.exit(1 if report.failed else 0)


@cli.command()
@click.pass_context
def rejudge(ctx):
    """Judge every stored session again by today's verdict rules and [quality] thresholds, and find
    each meeting's shared cause again. Nothing is fetched. `meetq run` does this by itself when the
    rules or thresholds changed."""
    from .rejudge import rejudge as rejudge_stored

    settings = settings_from(ctx)
    open_db(settings)
    counts = rejudge_stored(settings, progress=lambda done, total: click.echo(f"  {done}/{total} sessions", err=True))
    click.echo(f"Judged {counts['sessions']} sessions of {counts['meetings']} meetings again.")


# -- operating -------------------------------------------------------------------------------------


@cli.command()
@click.pass_context
@click.option("--json", "as_json", is_flag=True, help="Everything, as JSON (for scripts).")
def status(ctx, as_json):
    """The queue by state, the last runs, token expiry and database size."""
    from .operations import status as collector_status
    from .operations import status_text

    report = collector_status(settings_from(ctx))
    click.echo(json.dumps(report, indent=2) if as_json else status_text(report))


@cli.command()
@click.pass_context
def health(ctx):
    """For probes: exit 0 when a cycle succeeded within two intervals and no login is needed."""
    from .operations import health as collector_health

    healthy, reason = collector_health(settings_from(ctx))
    click.echo(("healthy: " if healthy else "unhealthy: ") + reason)
    sys.exit(0 if healthy else 1)


@cli.command()
@click.option("--samples-days", type=float, help="Override retention.samples_days.")
@click.option("--raw-days", type=float, help="Override retention.raw_days.")
@click.pass_context
def prune(ctx, samples_days, raw_days):
    """Drop old samples and raw bodies (meetings, sessions and summaries stay); give space back."""
    from .operations import prune as prune_database

    settings = settings_from(ctx, samples_days=samples_days, raw_days=raw_days)
    open_db(settings)
    click.echo(json.dumps(prune_database(settings)))


@cli.command()
@click.option("--vacuum", is_flag=True, help="Then rebuild the file without the pages the move freed.")
@click.pass_context
def migrate(ctx, vacuum):
    """Bring the database to this release's schema, with progress (every command does it on
    opening; a kill loses nothing and the next start carries on)."""
    from .compact import pending
    from .operations import vacuum as vacuum_database

    settings = settings_from(ctx)
    open_db(settings)
    click.echo(f"Schema up to date; nothing left to move: {json.dumps(pending())}.")
    if vacuum:
        before, after = vacuum_database(settings)
        click.echo(f"Vacuumed: {before:,} bytes before, {after:,} after.")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup(ctx, path):
    """A consistent copy of the database, safe while the collector runs."""
    from .operations import backup as backup_database

    settings = settings_from(ctx)
    click.echo(f"Backed up {settings.database} to {path} ({backup_database(settings, path)} bytes).")


# -- simulator, viewer, demo ------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any SimConfig field, e.g. --set access_lifetime=60 --set rate_limit_seconds=5.",
)
def simulator(host, port, seed, overrides):
    """Run the built-in simulator of the first vendor's API until interrupted (`meetq demo` runs
    every vendor's)."""
    from .simulator.run import run_simulator

    run_simulator(host, port, seed, overrides)


@cli.command()
@click.option("--host", help="Address to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 8001).")
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Wait this long for the collector to create the database (a viewer started beside it).",
)
@click.option(
    "--public",
    is_flag=True,
    help="Serve a non-loopback address without sign-in (viewer.auth = none): anyone who reaches it sees "
    "every participant's name, address and network.",
)
@click.pass_context
def serve(ctx, host, port, wait_seconds, public):
    """Serve the database read-only with Datasette. It never writes the file: a missing one is
    refused (after --wait seconds), a read-only one served, an older schema said."""
    from meetq_viewer import refuse_unsafe_exposure
    from meetq_viewer import serve as serve_viewer

    from .models import wait_for_database

    settings = settings_from(ctx, host=host, port=port)
    refuse_unsafe_exposure(settings, public)
    version, current = wait_for_database(settings.database, wait_seconds)
    if version < current:
        click.echo(
            f"meetq: {settings.database} has schema version {version}, this meetq writes {current}: "
            "serving it as it is; `meetq migrate` (or the collector's next start) upgrades it",
            err=True,
        )
    serve_viewer(settings)


# -- notify ------------------------------------------------------------------------------------


@cli.group("notify")
def notify_group():
    """Alerts and the weekly digest in a space, posted by a bot (see "Alerts in a space")."""


@notify_group.command("rooms")
@click.pass_context
def notify_rooms(ctx):
    """The spaces the bot is in: their ids go in notify.room_id."""
    from .notify import bot

    for room in bot(settings_from(ctx)).rooms():
        click.echo(f"{room.get('id')}  {room.get('type', ''):6}  {room.get('title', '')}")


@notify_group.command("test")
@click.pass_context
def notify_test(ctx):
    """Post a test message into notify.room_id, or say what stops it."""
    from .notify import bot

    settings = settings_from(ctx)
    me = bot(settings).me()
    bot(settings).post(
        f"meetq can post here as {me.get('displayName', 'this bot')}: alerts and the digest will arrive in this space."
    )
    click.echo(f"posted into {settings.room_id} as {me.get('displayName')}")


@notify_group.command("register")
@click.option("--url", required=True, help="The HTTPS address that reaches `meetq run`'s webhook receiver.")
@click.pass_context
def notify_register(ctx, url):
    """Let the bot answer people: a messages webhook to the daemon's receiver (webhook.listen)."""
    from .notify import bot_module

    found = bot_module(settings_from(ctx)).register(settings_from(ctx), url)
    click.echo(f"the bot {found['bot_name']} answers mentions through {url} (webhook {found['id']})")


@notify_group.command("run")
@click.pass_context
def notify_run(ctx):
    """Evaluate every alert rule now and post what is due (the daemon does it after every round)."""
    from .notify import run

    settings = settings_from(ctx)
    open_db(settings)
    outcome = run(settings)
    # The daemon may run with other settings (its own environment): say which these were.
    outcome["judged_with"] = {
        name: f"{getattr(settings, name)} ({settings.sources.get(name) or 'default'})"
        for name in ("window_minutes", "min_sessions", "poor_pct", "quality_groups")
    }
    click.echo(json.dumps(outcome, indent=2))


# -- raw bodies ----------------------------------------------------------------------------------


@cli.group("raw")
def raw_group():
    """The raw API answers meetq kept."""


@raw_group.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--account", help="Only this account's.")
@click.option("--meeting-id", help="Only this meeting's.")
@click.option("--since", help="Only bodies fetched at or after this UTC date or time (2026-11-01).")
@click.option("--until", help="Only bodies fetched before this UTC date or time.")
@click.option("--endpoint", "endpoints", multiple=True, help="Only these endpoints (qualities, meetings, …).")
@click.pass_context
def raw_export(ctx, folder, account, meeting_id, since, until, endpoints):
    """Write the kept bodies as files, the ones `meetq load` reads: FOLDER/<account>/<endpoint>/…"""
    from .archive import export_raw
    from .operations import read_only

    with read_only(settings_from(ctx).database) as db:  # never writes; a clear line for a missing file
        written = export_raw(db, folder, account, meeting_id, since, until, endpoints)
    click.echo(json.dumps({"folder": str(folder), "files": written}, indent=2))


# -- locations ---------------------------------------------------------------------------------


@cli.group("locations")
def locations_group():
    """Subnets mapped to buildings, from a Call Quality Dashboard building file (docs/locations.md)."""


@locations_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change; change nothing.")
@click.pass_context
def locations_import(ctx, file, dry_run):
    """Check a building file whole and make it the active mapping; every stored session is placed
    again by it. A file with any problem changes nothing, and every problem is listed."""
    from .clock import utcnow
    from .locations import import_building_file, read_building_file

    open_db(settings_from(ctx))
    click.echo(json.dumps(import_building_file(read_building_file(file), file.name, utcnow(), dry_run), indent=2))


@locations_group.command("export")
@click.option("--file-id", type=int, help="An earlier import (see `meetq locations list`); default the active one.")
@click.pass_context
def locations_export(ctx, file_id):
    """The mapping as a 15-column building file, on standard output."""
    from .locations import active_locator, building_file_text, locator_of

    open_db(settings_from(ctx))
    click.echo(building_file_text((locator_of(file_id) if file_id else active_locator()).ranges()), nl=False)


@locations_group.command("list")
@click.pass_context
def locations_list(ctx):
    """Every import, newest first: when, from which file, how many ranges, which is active."""
    from .locations import imports

    open_db(settings_from(ctx))
    click.echo(json.dumps(imports(), indent=2))


@locations_group.command("missing")
@click.option("--limit", default=50, show_default=True, help="How many subnets.")
@click.pass_context
def locations_missing(ctx, limit):
    """The busiest subnets no range holds (/24, IPv6 /48), with their sessions: what to map next."""
    from .locations import missing_subnets

    open_db(settings_from(ctx))
    click.echo(json.dumps(missing_subnets(limit), indent=2))


# -- users -------------------------------------------------------------------------------------


@cli.group("users")
def users_group():
    """The viewer's password users (viewer.auth = password), kept in viewer.secrets_file."""


def viewer_keys(ctx):
    from meetq_viewer.keys import ViewerSecrets

    return ViewerSecrets(settings_from(ctx).secrets_file)


@users_group.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.pass_context
def users_add(ctx, name, password_stdin):
    """Add a user, or set a user's new password."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():  # getpass would warn and echo it
        raise MeetqError("no terminal to ask for the password on: pipe it in with --password-stdin")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    keys = viewer_keys(ctx)
    keys.add_user(name, password)
    click.echo(f"{name} can sign in to the viewer (users are kept in {keys.path})")


@users_group.command("remove")
@click.argument("name")
@click.pass_context
def users_remove(ctx, name):
    """Remove a user; their open sessions end at their next request."""
    viewer_keys(ctx).remove_user(name)
    click.echo(f"{name} removed")


@users_group.command("list")
@click.pass_context
def users_list(ctx):
    """The user names, one a line."""
    for name in viewer_keys(ctx).users():
        click.echo(name)


@cli.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/demo"),
    show_default=True,
    help="Where the demo keeps its database and token file.",
)
@click.option("--interval", default=20, show_default=True, help="Seconds between collector cycles.")
@click.option("--port", default=8001, show_default=True, help="Viewer port.")
@click.option("--no-viewer", is_flag=True, help="Run the simulator and collector only.")
def demo(workdir, interval, port, no_viewer):
    """The whole product against the simulator: login, collector, viewer. No account needed."""
    from .demo import run_demo

    run_demo(workdir, interval, port, viewer=not no_viewer)


if __name__ == "__main__":
    cli()
