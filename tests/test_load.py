"""`meetq load` over many saved responses: worker processes, grouped commits, bad files skipped."""

import json

from conftest import expected_quality, stored_quality
from meetq import packing

NORMALISED = ("media_sessions", "media_streams", "media_samples", "cpu_samples", "media_summaries")


def save_responses(sim, folder):
    folder.mkdir()
    for meeting in sim.visible_meetings():
        (folder / f"{meeting.id}.json").write_text(json.dumps({"items": sim.org.quality_items(meeting)}))
    return folder


def normalised(path):
    """Every normalised row but the time it was fetched."""
    with packing.connect(path) as db:
        columns = {
            t: ", ".join(r[1] for r in db.execute(f"pragma table_info({t})") if r[1] != "fetched_at")
            for t in NORMALISED
        }
        return {t: db.execute(f"select {columns[t]} from {t} order by 1, 2").fetchall() for t in NORMALISED}


def test_a_folder_loads_in_worker_processes_exactly_as_in_one(meetq, sim, tmp_path):
    saved = save_responses(sim, tmp_path / "saved")
    (saved / "zz-truncated.json").write_text('{"items": [{"meetingInstanceId": "x", "audioIn": [')
    (saved / "zz-no-items.json").write_text('{"kind": "not a qualities answer"}')

    result = meetq("load", str(saved), "--workers", "2", check=False)

    expected = expected_quality(sim)
    assert result.returncode == 1  # some files were not loaded, and it says which
    assert (
        "zz-truncated.json: is not JSON" in result.stderr and "zz-no-items.json: holds no `items` list" in result.stderr
    )
    assert f"from {len(expected)} files" in result.stdout
    assert stored_quality(meetq) == expected
    assert meetq.scalar("select count(*) from raw_responses where endpoint = 'qualities'") == len(expected)
    assert (
        meetq.scalar(
            "select count(*) from media_sessions where verdict is null and verdict_reason != 'no media samples'"
        )
        == 0
    )

    # The same files in this process alone give the very same rows.
    single = meetq.env["MEETQ_DATABASE"].replace("meetq.db", "single.db")
    meetq("load", *sorted(str(p) for p in saved.glob("[!z]*.json")), "--workers", "0", env={"MEETQ_DATABASE": single})
    assert normalised(single) == normalised(meetq.database)

    # Loading again stores nothing new.
    again = meetq("load", str(saved), check=False)
    assert "Stored 0 new or changed sessions" in again.stdout
    assert stored_quality(meetq) == expected


def test_load_reads_stdin_and_masks_addresses_by_default(meetq, sim):
    meeting = sim.visible_meetings()[0]
    items = sim.org.quality_items(meeting)
    public = next(i["publicIP"] for i in items if i.get("publicIP"))
    body = json.dumps({"items": items})
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "meetq.cli", "load", "-"],
        input=body,
        env=meetq.env,
        capture_output=True,
        text=True,
        cwd=meetq.workdir,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert f"Stored {len(items)} new or changed sessions" in result.stdout
    stored = "".join(r[0] for r in meetq.sql("select body from raw_bodies"))
    assert public not in stored and public not in str(meetq.sql("select * from media_sessions"))


def test_groups_commit_every_few_files_and_lose_none(sim, tmp_path, monkeypatch):
    from meetq import loader, models, providers
    from meetq.config import load_settings

    saved = save_responses(sim, tmp_path / "saved")
    commits = []
    monkeypatch.setattr(loader, "GROUP_FILES", 4)
    monkeypatch.setattr(loader, "_write_group", lambda *a, w=loader._write_group: commits.append(1) or w(*a))
    settings = load_settings(overrides={"database": str(tmp_path / "grouped.db")}, environ={})
    providers.open_database(settings.database)
    try:
        report = loader.load_files([str(saved)], settings, workers=0)
    finally:
        models.close_database()
    files = len(list(saved.glob("*.json")))
    assert report.files == files and not report.failed and len(commits) == files // 4 + 1
    with packing.connect(tmp_path / "grouped.db") as db:
        assert db.execute("select count(*) from media_samples").fetchone()[0] == sum(
            samples for _, samples in expected_quality(sim).values()
        )


ROW_TABLES = {
    "media_sessions": "id, meeting_id, user_email, join_time, verdict, verdict_reason, local_ip, public_ip, "
    "content_sha256",
    "media_streams": "*",
    "media_samples": "*",
    "cpu_samples": "*",
    "media_summaries": "*",
}


def test_raw_export_then_load_into_an_empty_database_gives_the_same_rows(meetq, sim, tmp_path):
    meetq.login()
    meetq("collect")
    exported = json.loads(meetq("raw", "export", str(tmp_path / "out"), "--endpoint", "qualities").stdout)
    pages = meetq.scalar("select count(*) from raw_responses where endpoint = 'qualities' and status = 200")
    assert exported["files"] == {"qualities": pages} and pages > 0
    again = json.loads(meetq("raw", "export", str(tmp_path / "out"), "--endpoint", "qualities").stdout)
    assert again == exported and len(list((tmp_path / "out").rglob("*.json"))) == pages  # the same files

    rebuilt = tmp_path / "rebuilt.db"
    loaded = meetq("load", str(tmp_path / "out" / "default" / "qualities"), env={"MEETQ_DATABASE": str(rebuilt)})
    assert f"from {pages} files" in loaded.stdout, loaded.stdout + loaded.stderr
    with packing.connect(meetq.database) as original, packing.connect(rebuilt) as copy:
        for table, columns in ROW_TABLES.items():
            query = f"select {columns} from {table} order by 1, 2, 3"
            assert original.execute(query).fetchall() == copy.execute(query).fetchall(), table
    assert meetq.scalar("select count(*) from media_samples") > 0
