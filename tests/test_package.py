"""The built wheel is the whole product: installed (not editable) in a fresh virtualenv, with only
the dependencies it declares, `meetq serve` answers every dashboard with rows."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from conftest import _answers, free_port, wait_for
from test_viewer import DASHBOARDS, must_answer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_alone_serves_every_dashboard_with_rows(served, tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("meetq-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], check=True, capture_output=True, timeout=600
    )
    # A file with another name: the viewer still serves it as `meetq`, no metadata rewritten.
    database = tmp_path / "quality archive.db"
    served("backup", str(database))
    port = free_port()
    env = {k: v for k, v in served.env.items() if not k.startswith("MEETQ_")}
    env.update(MEETQ_DATABASE=str(database), MEETQ_CONFIG=str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    viewer = subprocess.Popen(
        [str(venv / "bin" / "meetq"), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/-/versions.json"), timeout=60)
        where = requests.get(f"{url}/-/plugins.json", timeout=10).json()
        assert {"datasette-dashboards", "meetq_sql_functions.py"} <= {p["name"] for p in where}
        for slug, dashboard in DASHBOARDS.items():
            assert requests.get(f"{url}/-/dashboards/{slug}", timeout=10).status_code == 200, slug
            for chart_slug, chart in dashboard["charts"].items():
                sql = re.sub(r"\[\[.*?\]\]", "", chart["query"], flags=re.S)
                answer = requests.get(f"{url}/meetq.json", params={"sql": sql, "_shape": "array"}, timeout=10)
                assert answer.status_code == 200 and (answer.json() or not must_answer(slug, chart)), (
                    f"{slug}/{chart_slug}"
                )
        for asset in ("meetq.js", "meetq.css"):  # what the pages add, shipped in the wheel
            assert requests.get(f"{url}/-/meetq/{asset}", timeout=10).status_code == 200, asset
        installed = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import meetq_viewer; print(meetq_viewer.HERE)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert str(venv) in installed  # served from the installed package, not this checkout
    finally:
        viewer.terminate()
        viewer.wait(10)
