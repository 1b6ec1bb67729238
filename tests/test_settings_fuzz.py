"""Random and hostile settings files: every one is either accepted or refused with one line naming
what is wrong. Never a traceback, whatever the file holds."""

import random
import string
import subprocess
import sys

import pytest
from meetq.config import SETTINGS, load_settings
from meetq.errors import ConfigError

SEED = 1313


def toml_value(rng: random.Random) -> str:
    """One TOML value of a random type, often an awkward one."""
    return rng.choice(
        [
            lambda: str(rng.randint(-(10**6), 10**6)),
            lambda: str(rng.choice([0, -1, 1, 2**63 - 1, -(2**63)])),
            lambda: rng.choice(["inf", "-inf", "nan", "1e308", "-0.0", "0.5", "1e-300"]),
            lambda: rng.choice(["true", "false"]),
            lambda: (
                '"'
                + "".join(
                    rng.choice(string.printable[:94]).replace('"', "").replace("\\", "")
                    for _ in range(rng.randrange(0, 40))
                )
                + '"'
            ),
            lambda: rng.choice(
                [
                    '""',
                    '"\\u0000"',
                    '"Europe/Nowhere"',
                    '"../../etc/passwd"',
                    '"webex"',
                    '"google"',
                    '"password"',
                    '"proxy"',
                    '"0.0.0.0:99999"',
                    '"::1"',
                    '"300.1.1.1/40"',
                ]
            ),
            lambda: "[" + ", ".join(str(rng.randint(0, 9)) for _ in range(rng.randrange(0, 4))) + "]",
            lambda: "{ a = 1 }",
            lambda: "1979-05-27T07:32:00Z",
            lambda: '"' + "x" * rng.randrange(1000, 100_000) + '"',
        ]
    )()


def plausible_value(setting, rng: random.Random) -> str:
    """A value of the right type, mostly inside its range: such files get far enough to be accepted."""
    if setting.choices:
        return f'"{rng.choice(setting.choices)}"'
    if setting.type is int:
        return str(rng.randint(int(setting.minimum or 0), 5000))
    if setting.type is float:
        return str(round(rng.uniform(setting.minimum or 0, 500), 2))
    return f'"{rng.choice(["UTC", "data/x.db", "127.0.0.1:8788", "Europe/Berlin", "a b"])}"'


def settings_file(rng: random.Random) -> bytes:
    """A settings file: known keys with random values, unknown keys, accounts, or plain garbage."""
    kind = rng.random()
    if kind < 0.08:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 2000)))
    if kind < 0.14:
        return rng.choice(
            [
                b"[collector\ninterval_seconds = ",
                b"= = =",
                b"\xef\xbb\xbf[viewer]\nport = 1",
                b"[[accounts]]\n",
                b"[a]\n[a]\n",
                b"x = 1\n",
                b"[viewer]\nport = 1\nport = 2\n",
            ]
        )
    sections: dict[str, list[str]] = {}
    for _ in range(rng.randrange(1, 8)):
        setting = rng.choice(SETTINGS)
        section = setting.section if rng.random() < 0.9 else rng.choice(["nope", "viewer", "webhook"])
        name = setting.name if rng.random() < 0.95 else "unknown_" + setting.name
        value = plausible_value(setting, rng) if rng.random() < 0.6 else toml_value(rng)
        sections.setdefault(section, []).append(f"{name} = {value}")
    text = "".join(f"[{section}]\n" + "\n".join(dict.fromkeys(lines)) + "\n\n" for section, lines in sections.items())
    if rng.random() < 0.2:
        keys = rng.sample(["name", "provider", "client_id", "client_secret", "key_file", "api_base", "bogus"], 3)
        text += "[[accounts]]\n" + "\n".join(f"{k} = {toml_value(rng)}" for k in keys) + "\n"
    return text.encode()


def test_a_thousand_random_settings_files_are_accepted_or_refused_by_name(tmp_path):
    rng = random.Random(SEED)
    path = tmp_path / "meetq.toml"
    outcomes = {"accepted": 0, "refused": 0}
    for n in range(1000):
        path.write_bytes(settings_file(rng))
        try:
            load_settings(environ={"MEETQ_CONFIG": str(path)})
            outcomes["accepted"] += 1
        except ConfigError as error:
            assert "\n" not in str(error).strip() or "TOML" in str(error), (n, str(error)[:300])
            outcomes["refused"] += 1
        except Exception as error:  # anything else would reach people as a traceback
            pytest.fail(f"file {n} raised {type(error).__name__}: {error}\n{path.read_bytes()[:400]!r}")
    assert outcomes["accepted"] > 60 and outcomes["refused"] > 300, outcomes


def test_the_cli_answers_random_settings_files_with_one_line(tmp_path):
    rng = random.Random(SEED + 1)
    path = tmp_path / "meetq.toml"
    env = {"MEETQ_CONFIG": str(path), "MEETQ_DATABASE": str(tmp_path / "none.db"), "PATH": "/usr/bin:/bin"}
    for n in range(12):
        path.write_bytes(settings_file(rng))
        for command in (["health"], ["status"], ["users", "list"]):
            result = subprocess.run(
                [sys.executable, "-m", "meetq.cli", *command], env=env, capture_output=True, timeout=60
            )
            stderr = result.stderr.decode("utf-8", "replace")
            assert "Traceback" not in stderr, (n, command, stderr[-2000:])
            assert result.returncode in (0, 1, 2), (n, command, result.returncode, stderr)
            if result.returncode == 2:
                assert stderr.startswith("meetq: configuration error: ") and stderr.count("\n") == 1, stderr


def test_a_settings_path_that_is_a_folder_or_unreadable_is_one_line(tmp_path):
    env = {"MEETQ_CONFIG": str(tmp_path), "MEETQ_DATABASE": str(tmp_path / "none.db"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "meetq.cli", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "cannot be read" in result.stderr and "Traceback" not in result.stderr
