"""The file is the product: Debian's plain `sqlite3` shell, with nothing of meetq registered, reads
every table and view the collector leaves in it, and the samples give back the numbers the vendor
sent. A database the release before wrote (samples compressed) is moved over in place, surviving
a kill half-way."""

import gzip
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from meetq import models, packing
from test_compact import CPU, CPU_KEYS, RECORDED, SAMPLE_KEYS, SAMPLES, expected_rows, killed_in_third_batch

DATA = Path(__file__).parent / "data"
SHELL = shutil.which("sqlite3")
pytestmark = pytest.mark.skipif(SHELL is None, reason="Debian's sqlite3 is missing (make test installs it)")


def shell(database: Path, sql: str, mode: str = "-json"):
    """`sqlite3 -readonly -bail`, as a person at a terminal would run it: rows as JSON, or (with
    `mode="-list"`) the text it prints, where a compressed body is bytes."""
    done = subprocess.run([SHELL, "-readonly", mode, "-bail", str(database), sql], capture_output=True, timeout=60)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 0 and not stderr, (sql, stderr)
    if mode != "-json":
        return done.stdout.decode(errors="replace")
    return json.loads(done.stdout) if done.stdout.strip() else []


def exact(column: str, name: str | None = None) -> str:
    """A REAL printed with every digit its double has (the shell's own printing keeps 15; SQLite's
    printf needs its ! flag for 17)."""
    return f"iif({column} IS NULL, NULL, printf('%!.17g', {column})) AS {name or column}"


def number(text: str | None):
    return None if text is None else float(text)


def every_table_and_view_reads(database: Path) -> list[str]:
    names = [row["name"] for row in shell(database, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")]
    for name in names:
        shell(database, f'SELECT * FROM "{name}" LIMIT 3', mode="-list")
        shell(database, f'SELECT count(*) FROM "{name}"')
    return names


def test_the_sqlite3_shell_reads_every_table_and_view_the_collector_wrote(meetq):
    meetq.login()
    meetq("collect")
    names = every_table_and_view_reads(meetq.database)
    assert {"media_samples", "cpu_samples", "stream_series", "meetings", "webex_meetings", "sessions"} <= set(names)
    assert "raw_bodies" not in names  # it needs meetq_text: a TEMP view of meetq's own connections
    with packing.connect(meetq.database) as db:
        expected = db.execute("SELECT count(*), sum(packet_loss) FROM media_samples").fetchone()
        assert db.execute("SELECT count(*) FROM raw_bodies").fetchone()[0] > 0
    [found] = shell(meetq.database, f"SELECT count(*) AS n, {exact('sum(packet_loss)', 'total')} FROM media_samples")
    assert expected[0] > 1000 and (found["n"], float(found["total"])) == expected


@pytest.mark.parametrize("name", RECORDED)
def test_the_sqlite3_shell_gives_the_recorded_payloads_values(meetq, tmp_path, name):
    database = tmp_path / "meetq.db"
    meetq("load", str(DATA / name), env={"MEETQ_DATABASE": str(database)})
    samples, cpu = expected_rows(json.loads((DATA / name).read_text())["items"])
    metrics = ", ".join(exact(c) for c in SAMPLE_KEYS.values())
    stored = [
        (row["ts"], *(number(row[c]) for c in SAMPLE_KEYS.values()))
        for row in shell(database, f"SELECT ts, {metrics} FROM media_samples")
    ]
    assert sorted(stored, key=repr) == sorted(samples, key=repr) and samples
    cpu_metrics = ", ".join(exact(c) for c in CPU_KEYS.values())
    stored_cpu = [
        tuple(number(row[c]) for c in CPU_KEYS.values())
        for row in shell(database, f"SELECT {cpu_metrics} FROM cpu_samples")
    ]
    assert sorted(stored_cpu, key=repr) == sorted(cpu, key=repr)


def test_a_database_of_the_release_before_is_made_plain_in_place_even_when_killed(meetq):
    """tests/data/current-release.db.gz was written by the release before this one (schema 11,
    samples zstandard-compressed). A kill inside a batch loses nothing; the next start carries on;
    afterwards every sample reads as before, in the plain shell too."""
    meetq.database.write_bytes(gzip.decompress((DATA / "current-release.db.gz").read_bytes()))
    with packing.connect(meetq.database) as old:
        before = {
            "version": old.execute("PRAGMA user_version").fetchone()[0],
            "samples": old.execute(SAMPLES).fetchall(),
            "cpu": old.execute(CPU).fetchall(),
            "bodies": old.execute("SELECT id, body FROM raw_bodies ORDER BY id").fetchall(),
            "compressed": old.execute("SELECT count(*) FROM stream_series WHERE typeof(packed) = 'blob'").fetchone()[0],
        }
    assert before["version"] == 11 and before["compressed"] > 30 and len(before["samples"]) > 1000

    crash = killed_in_third_batch(meetq, "_plain_series")
    assert crash.stderr.count('"what": "stream_series"') == 2  # two batches committed, as logged
    with packing.connect(meetq.database) as half:
        assert half.execute("PRAGMA user_version").fetchone()[0] == len(models.MIGRATIONS)
        left = half.execute("SELECT count(*) FROM stream_series WHERE typeof(packed) = 'blob'").fetchone()[0]
        assert left == before["compressed"] - 20
        assert half.execute(SAMPLES).fetchall() == before["samples"]  # half-way, through meetq_text

    result = meetq("migrate")
    assert "nothing left to move" in result.stdout and '"what": "cpu_series"' in result.stderr
    with packing.connect(meetq.database) as new:
        assert new.execute(SAMPLES).fetchall() == before["samples"]
        assert new.execute(CPU).fetchall() == before["cpu"]
        assert new.execute("SELECT id, body FROM raw_bodies ORDER BY id").fetchall() == before["bodies"]
        for table in ("stream_series", "cpu_series"):
            assert new.execute(f"SELECT count(*) FROM {table} WHERE typeof(packed) != 'text'").fetchone()[0] == 0
        assert new.execute("SELECT count(*) FROM collector_state WHERE key LIKE 'storage.%'").fetchone()[0] == 0
        assert new.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    every_table_and_view_reads(meetq.database)
    [found] = shell(meetq.database, "SELECT count(*) AS n FROM media_samples")
    assert found["n"] == len(before["samples"])
    with sqlite3.connect(meetq.database) as plain:  # Python's own sqlite3, nothing registered
        assert plain.execute(SAMPLES).fetchall() == before["samples"]
