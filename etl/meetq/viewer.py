"""`meetq serve`: Datasette over the collector's file, read-only, configured from `viewer/`.

Datasette opens a mutable file with `mode=ro`, so it never writes it; the token file is a
separate file that is never passed to it. Everything the viewer shows is configuration as
data in `viewer/metadata.yml` (descriptions, units, facets, canned queries, dashboards),
written for a database called `meetq`; it is renamed here to the file's own name.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

VIEWER_DIR = Path(os.environ.get("MEETQ_VIEWER_DIR") or Path(__file__).resolve().parents[2] / "viewer")
CONFIGURED_NAME = "meetq"


def metadata_for(database: Path) -> dict:
    """The viewer's metadata with its database name replaced by the served file's."""
    metadata = yaml.safe_load((VIEWER_DIR / "metadata.yml").read_text())
    name = Path(database).stem
    if name != CONFIGURED_NAME:
        metadata["databases"] = {name: metadata["databases"].pop(CONFIGURED_NAME)}
        for dashboard in metadata["plugins"]["datasette-dashboards"].values():
            for item in [*dashboard.get("charts", {}).values(), *dashboard.get("filters", {}).values()]:
                if item.get("db") == CONFIGURED_NAME:
                    item["db"] = name
    return metadata


def datasette_args(settings, metadata_path: Path) -> list[str]:
    return [str(settings.database), "--host", settings.host, "--port", str(settings.port),
            "--metadata", str(metadata_path), "--plugins-dir", str(VIEWER_DIR / "plugins"),
            "--setting", "sql_time_limit_ms", "1000",
            "--setting", "default_cache_ttl", "0",
            "--setting", "allow_download", "off"]


def serve_viewer(settings) -> None:
    """Replace this process with Datasette (its signals and exit codes are then its own)."""
    # One file per served database, rewritten on each start: exec leaves no moment to delete it.
    key = hashlib.sha256(str(Path(settings.database).resolve()).encode()).hexdigest()[:12]
    metadata_path = Path(tempfile.gettempdir()) / f"meetq-viewer-{os.getuid()}-{key}.json"
    metadata_path.write_text(json.dumps(metadata_for(settings.database)))
    datasette = Path(sys.executable).with_name("datasette")
    command = [str(datasette) if datasette.exists() else "datasette", "serve",
               *datasette_args(settings, metadata_path)]
    os.execvp(command[0], command)
