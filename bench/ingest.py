"""Ingest: the same quality payloads written three ways in one run.

- meetq load: `meetq load` over one saved response file per meeting: reading and parsing the
  files, the raw bodies, normalised rows, summaries and verdicts, with the transform in worker
  processes and grouped commits. Judged against its floor: the load workers' whole job spread
  over the cores beside the ceiling's inserts.
- meetq collector path: what a fetch does after the HTTP answer (raw body, rows, summaries,
  queue state), one transaction per meeting in one process. The collector waits on Webex far
  longer than this takes (see the backlog benchmark), so it keeps the simpler path.
- ceiling: the same normalised rows, already built, with plain sqlite3.executemany in one
  transaction into the same schema: what SQLite itself can do.
- sqlite-utils: the same rows as dicts with `insert_all`, as the dogsheep tools do (a baseline).
- the transform alone, and the load workers' whole job, in one process with no database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench import storage
from bench.common import save, spread, timer, verdict

TABLE_ORDER = (
    "media_sessions",
    "webex_sessions",
    "media_streams",
    "stream_series",
    "cpu_series",
    "media_summaries",
    "raw_responses",
)
LOAD_TARGET = "meetq load >= 0.8x its floor (median of the runs)"
TRANSFORM_TARGET = "the transform alone >= 300,000 samples/s on one core (median of the runs)"
RUNS = 5  # rounds of every writer in turn: each ratio compares runs made one after the other


def _tuple_columns() -> dict:
    from meetq.providers.webex.schema import SESSION_COLUMNS
    from meetq.rows import CPU_SERIES_COLUMNS, SERIES_COLUMNS, STREAM_COLUMNS, SUMMARY_COLUMNS

    return {
        "webex_sessions": SESSION_COLUMNS,
        "media_streams": STREAM_COLUMNS,
        "stream_series": SERIES_COLUMNS,
        "cpu_series": CPU_SERIES_COLUMNS,
        "media_summaries": SUMMARY_COLUMNS,
        "raw_responses": RAW_COLUMNS,
    }


RAW_COLUMNS = ("endpoint", "meeting_id", "offset", "url", "status", "fetched_at", "body", "body_sha256", "account")
TUPLE_COLUMNS = _tuple_columns()


def payloads(meetings: int, seed: int = 3) -> list[tuple[str, list[dict]]]:
    from meetq.simulator.org import Organisation

    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    org = Organisation(
        seed,
        now=now,
        days=7,
        meetings_per_day=max(1, meetings // 7) + 1,
        people=400,
        upcoming_hours=0,
        max_participants=8,
        long_meeting_every=0,
    )
    chosen = list(org.meetings.values())[:meetings]
    return [(m.id, org.quality_items(m)) for m in chosen]


def normalised_rows(batch) -> dict[str, list]:
    """The rows meetq writes, built once, for the baselines: the same compact rows (packed series,
    compressed bodies, IP addresses masked as by default)."""
    from meetq.packing import pack_text
    from meetq.providers.webex.transform import prepare_session, private_body
    from meetq.responses import body_digest
    from meetq.rows import SESSION_WRITE_COLUMNS

    tables = {name: [] for name in TABLE_ORDER}
    for meeting_id, items in batch:
        body = private_body(json.dumps({"items": items}), "mask")
        tables["raw_responses"].append(
            (
                "qualities",
                meeting_id,
                0,
                "bench",
                200,
                "2026-11-23T00:00:00.000Z",
                pack_text(body),
                body_digest(body),
                "default",
            )
        )
        for item in items:
            prepared = prepare_session(item, meeting_id, "2026-11-23T00:00:00.000Z")
            tables["media_sessions"].append({**dict(zip(SESSION_WRITE_COLUMNS, prepared.session)), "provider": "webex"})
            tables["webex_sessions"].append(prepared.vendor[2])
            tables["media_streams"].extend(prepared.streams)
            tables["stream_series"].extend(prepared.series)
            tables["cpu_series"].extend(prepared.cpu_series)
            tables["media_summaries"].extend(prepared.summaries)
    tables["samples"] = sum(row[3] for row in tables["stream_series"])
    return tables


def transform_only(batch) -> float:
    """The transform alone (no database): an upper bound on what any writer built on it can do."""
    from meetq.providers.webex.transform import prepare_session

    with timer() as t:
        for meeting_id, items in batch:
            for item in items:
                prepare_session(item, meeting_id, "2026-11-23T00:00:00.000Z")
    return t["seconds"]


def worker_only(batch) -> float:
    """What `meetq load`'s workers do for every file (parse, transform, shared cause, compress,
    marshal for the trip back), in one process, no database: with the ceiling's inserts, the
    floor of any load on this machine."""
    from meetq.loader import prepare_file, reader_of
    from meetq.providers import PROVIDERS

    reader = reader_of(PROVIDERS["webex"], "default")

    texts = [json.dumps({"items": items}) for _, items in batch]
    with timer() as t:
        for text in texts:
            prepare_file("bench", text, None, "masked", {}, "2026-11-23T00:00:00.000Z", reader).to_bytes()
    return t["seconds"]


def fresh_database(path: Path):
    from meetq import models, providers

    models.close_database()
    return providers.open_database(path)


def run_meetq_load(batch, path: Path, folder: Path) -> float:
    from meetq.config import load_settings
    from meetq.loader import load_files

    files = folder / "saved"
    files.mkdir(parents=True)
    for meeting_id, items in batch:
        (files / f"{meeting_id}.json").write_text(json.dumps({"items": items}))
    fresh_database(path)
    settings = load_settings(overrides={"database": str(path)}, environ={})  # defaults: IPs masked
    with timer() as t:
        report = load_files([str(files)], settings)
    assert report.files == len(batch) and not report.failed, report
    return t["seconds"]


def run_meetq_collector_path(batch, path: Path) -> float:
    from meetq import store
    from meetq.models import database
    from meetq.providers.webex.collect import save_quality_items
    from meetq.responses import RawRecord

    fresh_database(path)
    bodies = [json.dumps({"items": items}) for _, items in batch]  # a real fetch has its body already
    with timer() as t:
        with database.connection_context():
            for (meeting_id, items), body in zip(batch, bodies):
                with database.atomic():
                    record = RawRecord(url="bench", body=body, fetched_at="2026-11-23T00:00:00.000Z")
                    store.save_raw(record, "qualities", meeting_id, 0)
                    save_quality_items(meeting_id, items, record.fetched_at)
                    store.update_meeting(
                        meeting_id, quality_state="done", quality_passes=1, quality_fetched_at=record.fetched_at
                    )
    return t["seconds"]


def run_ceiling(tables, meeting_ids, path: Path) -> float:
    fresh_database(path)
    from meetq import models

    models.close_database()
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("pragma journal_mode=wal")
    connection.execute("pragma synchronous=normal")
    with timer() as t:
        connection.execute("begin")
        connection.executemany(
            "insert into meetings (id, provider, quality_state, quality_passes, "
            "quality_failures) values (?, 'webex', 'done', 1, 0)",
            [(m,) for m in meeting_ids],
        )
        for name in TABLE_ORDER:
            rows = tables[name]
            if isinstance(rows[0], dict):
                columns = list(rows[0])
                sql = f"insert into {name} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})"
                connection.executemany(sql, [tuple(r[c] for c in columns) for r in rows])
            else:
                columns = TUPLE_COLUMNS[name]
                connection.executemany(
                    f"insert into {name} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})", rows
                )
        connection.execute("commit")
    connection.close()
    return t["seconds"]


def run_sqlite_utils(tables, meeting_ids, path: Path) -> float:
    import sqlite_utils

    fresh_database(path)
    from meetq import models

    models.close_database()
    db = sqlite_utils.Database(path)
    prepared = {
        name: [dict(zip(TUPLE_COLUMNS[name], r)) for r in rows] if name in TUPLE_COLUMNS else rows
        for name, rows in tables.items()
    }
    with timer() as t:
        with db.conn:
            db["meetings"].insert_all(
                (
                    {"id": m, "provider": "webex", "quality_state": "done", "quality_passes": 1, "quality_failures": 0}
                    for m in meeting_ids
                ),
                batch_size=500,
            )
            for name in TABLE_ORDER:
                db[name].insert_all(prepared[name], batch_size=500)
    db.close()
    return t["seconds"]


def main(full: bool) -> dict:
    meetings = 4000 if full else 150
    batch = payloads(meetings)
    tables = normalised_rows(batch)
    samples = tables.pop("samples")
    ids = [m for m, _ in batch]
    runs = {name: [] for name in ("meetq_load", "ceiling", "sqlite_utils", "transform_only", "worker_only")}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for run in range(RUNS if full else 2):  # every writer once a round: each ratio pairs one round's runs
            runs["meetq_load"].append(run_meetq_load(batch, folder / f"meetq{run}.db", folder / f"files{run}"))
            runs["ceiling"].append(run_ceiling(tables, ids, folder / f"ceiling{run}.db"))
            runs["sqlite_utils"].append(run_sqlite_utils(tables, ids, folder / f"sqlite_utils{run}.db"))
            runs["transform_only"].append(transform_only(batch))
            runs["worker_only"].append(worker_only(batch))
            for name in (f"ceiling{run}.db", f"sqlite_utils{run}.db"):  # only meetq0.db is measured below
                for path in folder.glob(name + "*"):
                    path.unlink()
        seconds = {
            **{name: statistics.median(values) for name, values in runs.items()},
            "meetq_collector_path": run_meetq_collector_path(batch, folder / "collector.db"),
        }
        raw_json = sum(len(json.dumps({"items": items})) for _, items in batch)
        save("storage", full, storage.measure(folder / "meetq0.db", raw_json, meetings, samples))
    cores = os.cpu_count() or 1
    rounds = list(zip(*(runs[name] for name in ("meetq_load", "ceiling", "sqlite_utils", "worker_only"))))
    # A load's floor on this machine: the workers' whole job spread over every core, beside the
    # ceiling's own inserts, as if the writer did nothing else.
    floors = [(worker + ceiling) / cores for _, ceiling, _, worker in rounds]
    vs_floor = [floor / load for floor, (load, *_) in zip(floors, rounds)]
    ratios = [ceiling / load for load, ceiling, _, _ in rounds]
    utils_ratios = [utils / load for load, _, utils, _ in rounds]
    transform_rates = [samples / t for t in runs["transform_only"]]
    rate = {k: samples / v for k, v in seconds.items()}
    figures = {
        "meetings": meetings,
        "sessions": len(tables["media_sessions"]),
        "samples": samples,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "runs": {k: [round(v, 3) for v in values] for k, values in runs.items()},
        "samples_per_second": {k: round(v) for k, v in rate.items()},
        "floor_seconds": round(statistics.median(floors), 3),
        "meetq_vs_floor": round(statistics.median(vs_floor), 3),
        "meetq_vs_floor_runs": spread(vs_floor, 3),
        "transform_samples_per_second_runs": {k: int(v) for k, v in spread(transform_rates, 0).items()},
        "meetq_vs_ceiling": round(statistics.median(ratios), 3),
        "meetq_vs_ceiling_runs": spread(ratios, 3),
        "meetq_vs_sqlite_utils": round(statistics.median(utils_ratios), 3),
        "meetq_vs_sqlite_utils_runs": spread(utils_ratios, 3),
        "collector_path_vs_ceiling": round(rate["meetq_collector_path"] / rate["ceiling"], 3),
        "transform_only_vs_ceiling": round(rate["transform_only"] / rate["ceiling"], 3),
        "floor_vs_ceiling": round(seconds["ceiling"] / statistics.median(floors), 3),
        "targets": {
            LOAD_TARGET: verdict(statistics.median(vs_floor), 0.8),
            TRANSFORM_TARGET: verdict(statistics.median(transform_rates), 300_000),
        },
        "note": "meetq load's time includes reading and parsing the files, the transform (JSON items to "
        "rows, summaries, verdicts), packing the samples and compressing the raw bodies; the "
        "baselines insert the same rows built beforehand. transform_only is the transform (with "
        "the packing) in one process with no database at all.",
    }
    save("ingest", full, figures)
    return figures
