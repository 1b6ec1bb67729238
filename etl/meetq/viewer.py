"""`meetq serve`: Datasette over the collector's file, read-only, configured from `viewer/`.

Datasette opens a mutable file with `mode=ro`, so it can never write it; the token file is
a separate file that is never passed to it. Everything the viewer shows is configuration
as data in `viewer/` (metadata, canned queries, dashboards).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

VIEWER_DIR = Path(os.environ.get("MEETQ_VIEWER_DIR") or Path(__file__).resolve().parents[2] / "viewer")


def datasette_args(settings) -> list[str]:
    args = [str(settings.database), "--host", settings.host, "--port", str(settings.port),
            "--metadata", str(VIEWER_DIR / "metadata.yml"),
            "--setting", "sql_time_limit_ms", "1000",
            "--setting", "allow_download", "off",
            "--setting", "default_cache_ttl", "0"]
    for folder, flag in (("templates", "--template-dir"), ("static", "--static")):
        if (VIEWER_DIR / folder).is_dir():
            args += [flag, str(VIEWER_DIR / folder) if flag == "--template-dir" else f"static:{VIEWER_DIR / folder}"]
    return args


def serve_viewer(settings) -> None:
    """Replace this process with Datasette (so signals and exit codes are Datasette's own)."""
    datasette = Path(sys.executable).with_name("datasette")
    command = [str(datasette) if datasette.exists() else "datasette", "serve", *datasette_args(settings)]
    os.execvp(command[0], command)
