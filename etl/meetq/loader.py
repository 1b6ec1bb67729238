"""`meetq load`: saved API responses into the database, as if just fetched.

The account's provider reads each document (the bodies its collector stores). Loading
thousands of saved files (a backup of raw responses, an export from another tool) is where
ingest speed matters: the collector itself waits on the API far longer than it writes.
Parsing and transforming are pure and CPU-bound, so with several files they run in worker
processes while this process writes; one commit carries a group of files, because a commit per
file rewrites the same B-tree pages again and again. A file that cannot be read or parsed is
reported and skipped; the rest are stored. Re-loading a file changes nothing.
"""

from __future__ import annotations

import json
import marshal
import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable, NamedTuple

from . import shared_cause, store
from .clock import iso, utcnow
from .locations import active_locator, places_of
from .logs import get_logger
from .models import database
from .packing import pack_text
from .responses import RawRecord, body_digest
from .rows import PreparedSession
from .verdicts import with_defaults

log = get_logger("meetq.loader")
SESSION_FIELDS = tuple(f.name for f in fields(PreparedSession))

GROUP_FILES = 512  # files per commit
GROUP_SAMPLES = 500_000  # or fewer, when files are large: bounds the transaction and memory
IN_FLIGHT_PER_WORKER = 4  # prepared files waiting for the writer: bounds memory when it lags
LOAD_CACHE_KIB = 256 * 1024  # page cache while loading: 5 % faster than 64 MB; freed when the command ends


@dataclass
class PreparedFile:
    source: str
    fetched_at: str = ""
    body: bytes = b""  # as stored in raw_responses: IP addresses dealt with, then compressed
    body_sha256: str = ""
    meetings: list[tuple[str, list[PreparedSession]]] = field(default_factory=list)
    findings: dict = field(default_factory=dict)  # meeting id -> shared_cause.find of its sessions here
    error: str | None = None

    @property
    def samples(self) -> int:
        return sum(s.sample_count for _, sessions in self.meetings for s in sessions if s)

    def to_bytes(self) -> bytes:
        """For the trip from a worker: marshal reads plain tuples back twice as fast as pickle."""
        meetings = [
            (owner, [None if s is None else tuple(getattr(s, f) for f in SESSION_FIELDS) for s in sessions])
            for owner, sessions in self.meetings
        ]
        return marshal.dumps(
            (self.source, self.fetched_at, self.body, self.body_sha256, meetings, self.findings, self.error)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> "PreparedFile":
        source, fetched_at, body, body_sha256, meetings, findings, error = marshal.loads(data)
        meetings = [
            (owner, [None if s is None else PreparedSession(*s) for s in sessions]) for owner, sessions in meetings
        ]
        return cls(source, fetched_at, body, body_sha256, meetings, findings, error)


@dataclass
class LoadReport:
    files: int = 0
    sessions: int = 0
    samples: int = 0
    failed: list[str] = field(default_factory=list)  # "source: why"
    locator: object = field(default=None, repr=False)  # the active building file (locations.Locator)


class Reader(NamedTuple):
    """What a worker process needs of the account's vendor (a Provider does not pickle)."""

    load_document: Callable
    private_body: Callable


def reader_of(provider, account: str) -> Reader:
    """The vendor's reader of saved responses, or a clear NotSupported naming the account."""
    return Reader(provider.part("load_document", "saved responses to load", account), provider.private_body)


def prepare_file(
    source: str,
    text: str | None,
    meeting_id: str | None,
    ip_mode: str,
    thresholds: dict,
    fetched_at: str,
    reader: "Reader",
) -> PreparedFile:
    """Read, parse and transform one saved response. Pure but for reading `source` when `text`
    is None; runs in a worker process, so it returns errors instead of raising them."""
    try:
        if text is None:
            text = Path(source).read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        return PreparedFile(source, error=f"cannot be read: {error}")
    except (ValueError, RecursionError) as error:  # RecursionError: nested deeper than Python parses
        return PreparedFile(source, error=f"is not JSON: {type(error).__name__}: {error}")
    try:
        meetings = reader.load_document(document, meeting_id, ip_mode, thresholds, fetched_at)
    except ValueError as error:
        return PreparedFile(source, error=str(error))
    body = reader.private_body(text, ip_mode)
    # Each meeting's shared cause from this file's sessions, here in the worker: the writer keeps
    # it when the file turns out to hold every session of the meeting (see _shared_cause).
    findings = {
        owner: shared_cause.find(shared_cause.participants_of(list(filter(None, sessions)), with_defaults(thresholds)))
        for owner, sessions in meetings
    }
    return PreparedFile(source, fetched_at, pack_text(body), body_digest(body), meetings, findings)


def _prepare_in_worker(args: tuple) -> bytes:
    return prepare_file(*args).to_bytes()


def expand_sources(sources: list[str]) -> list[str]:
    """Files as given; a folder stands for the *.json files in it and its subfolders (what
    `meetq raw export` writes), in path order."""
    expanded = []
    for source in sources:
        path = Path(source)
        expanded.extend(str(p) for p in sorted(path.rglob("*.json"))) if path.is_dir() else expanded.append(source)
    return expanded


def load_files(
    sources: list[str],
    settings,
    meeting_id: str | None = None,
    workers: int | None = None,
    stdin_text: str | None = None,
    clock=utcnow,
) -> LoadReport:
    """Store every saved response in `sources` ("-" is `stdin_text`)."""
    reader = reader_of(settings.source, settings.account)
    sources = expand_sources(sources)
    fetched_at = iso(clock())
    jobs = [
        (
            s,
            stdin_text if s == "-" else None,
            meeting_id,
            settings.ip_addresses,
            settings.thresholds(),
            fetched_at,
            reader,
        )
        for s in sources
    ]
    workers = default_workers(len(jobs)) if workers is None else workers
    report = LoadReport(locator=active_locator())
    with database.connection_context():
        # Sessions land all over the B-trees (ids are hashes); a larger cache rewrites fewer pages.
        database.execute_sql(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
        _write_in_groups(_prepared(jobs, workers), report, settings)
    return report


def default_workers(files: int) -> int:
    """A worker per core: the writer spends much of its time inside SQLite, and on 2 cores two
    workers beside it load faster than one (bench/RESULTS.md, section 1). A single file is not
    worth a process."""
    return 0 if files < 2 else max(1, min(os.cpu_count() or 2, files // 2))


def _prepared(jobs: list[tuple], workers: int):
    """Prepared files in the order given: in this process, or from worker processes with a
    bounded number in flight."""
    if workers <= 0:
        yield from (prepare_file(*job) for job in jobs)
        return
    # spawn, not fork: the children must not inherit the open database or any lock.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: deque = deque()
        for job in jobs:
            pending.append(pool.submit(_prepare_in_worker, job))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                yield PreparedFile.from_bytes(pending.popleft().result())
        while pending:
            yield PreparedFile.from_bytes(pending.popleft().result())


def _write_in_groups(prepared, report: LoadReport, settings) -> None:
    """Each file is written as soon as it is ready, so the workers never wait on a whole group;
    a commit closes every group. A group takes a few seconds, inside the 10-second busy
    timeout of a collector writing to the same file."""
    files = iter(prepared)
    more = True
    while more:
        more = _write_group(files, report, settings)
        log.info("load_progress", files=report.files, sessions=report.sessions, samples=report.samples)


def _write_group(files, report: LoadReport, settings) -> bool:
    """Write files in one transaction until the group is full; True when more may follow."""
    with database.atomic():
        group_files = group_samples = 0
        for prepared_file in files:
            if prepared_file.error:
                report.failed.append(f"{prepared_file.source}: {prepared_file.error}")
                log.error("load_failed", source=prepared_file.source, error=prepared_file.error)
                continue
            _write_file(prepared_file, report, settings)
            group_files, group_samples = group_files + 1, group_samples + prepared_file.samples
            if group_files >= GROUP_FILES or group_samples >= GROUP_SAMPLES:
                return True
    return False


def _write_file(prepared_file: PreparedFile, report: LoadReport, settings) -> None:
    # The body came from the worker already compressed (and digested): `packed` below.
    record = RawRecord(url=f"file:{prepared_file.source}", body="", fetched_at=prepared_file.fetched_at)
    for owner, sessions in prepared_file.meetings:
        store.save_raw(
            record,
            settings.source.load_endpoint,
            owner,
            0,
            account=settings.account,
            body_sha256=prepared_file.body_sha256,
            packed=prepared_file.body,
        )
        written = store.write_sessions(owner, sessions, settings.account, settings.provider)
        store.save_places(places_of(report.locator, sessions, ip_mode=settings.ip_addresses), report.locator.file_id)
        _shared_cause(owner, sessions, prepared_file.findings.get(owner), settings)
        report.sessions, report.samples = report.sessions + written[0], report.samples + written[1]
    report.files += 1


def _shared_cause(owner: str, sessions: list[PreparedSession | None], found: dict | None, settings) -> None:
    """The worker's finding stands when the meeting's stored sessions are exactly this file's;
    a meeting spread over several files (or stored before) is worked out again from the store."""
    ids = {s.id for s in sessions if s}
    if (
        found is not None
        and all(s.meeting_id == owner for s in sessions if s)
        and store.session_count(owner) == len(ids)
    ):
        shared_cause.write_findings(owner, found)
    else:
        shared_cause.analyse_meeting(owner, with_defaults(settings.thresholds()))
