"""The package's layout: imports run one way. No cycle among etl/meetq's modules, no import
deferred into a function to dodge one, and every module imports on its own in a fresh
interpreter (an order-dependent import is a cycle in disguise)."""

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ETL = Path(__file__).resolve().parents[1] / "etl"
PACKAGE = ETL / "meetq"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ETL).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str, path: Path) -> tuple[set, set]:
    """(what the module imports when it loads, what its functions import later), as module names
    of this package. A module reading its own package (`from . import x` in a child) is Python's
    order, not a dependency."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    at_load = {id(n) for n in tree.body} | {
        id(c) for n in tree.body if isinstance(n, (ast.If, ast.Try)) for c in ast.walk(n)
    }
    now, later = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rsplit(".", 1)[0]
            module = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            named = [f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES]
            targets = named or [module]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name and not name.startswith(target + "."):
                (now if id(node) in at_load else later).add(target)
    return now, later


GRAPH, DEFERRED = {}, {}
for _name, _path in MODULES.items():
    GRAPH[_name], DEFERRED[_name] = imports_of(_name, _path)


def reaches(start: str, goal: str) -> list[str] | None:
    """The import path from `start` to `goal`, if loading one loads the other."""
    paths, seen = [[start]], set()
    while paths:
        path = paths.pop()
        if path[-1] == goal:
            return path
        if path[-1] not in seen:
            seen.add(path[-1])
            paths += [path + [n] for n in sorted(GRAPH[path[-1]])]
    return None


def test_no_import_cycle():
    cycles = [reaches(target, name) + [target] for name in GRAPH for target in GRAPH[name] if reaches(target, name)]
    assert cycles == [], "\n".join(" -> ".join(c) for c in cycles)


def test_no_import_deferred_to_dodge_a_cycle():
    """A deferred import is fine for speed (the CLI loads a command's modules when it runs); one
    that would close a cycle if it moved to the top is a cycle kept out of sight."""
    dodges = [
        f"{name} -> {target}: {' -> '.join(reaches(target, name))}"
        for name, later in DEFERRED.items()
        for target in later
        if reaches(target, name)
    ]
    assert dodges == []


def test_the_check_sees_a_cycle():
    """The checks above can fail: a module pair importing each other is found."""
    GRAPH["meetq.clock"].add("meetq.store")
    try:
        assert reaches("meetq.store", "meetq.clock") and reaches("meetq.clock", "meetq.store")
    finally:
        GRAPH["meetq.clock"].discard("meetq.store")
    assert reaches("meetq.store", "meetq.clock") and not reaches("meetq.clock", "meetq.store")


@pytest.mark.slow  # a fresh interpreter per module: 20 s
def test_every_module_imports_on_its_own():
    def alone(name: str) -> tuple[str, str]:
        done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, timeout=120)
        return name, done.stderr.strip().splitlines()[-1] if done.returncode else ""

    with ThreadPoolExecutor(4) as pool:
        failed = [f"{name}: {error}" for name, error in pool.map(alone, sorted(MODULES)) if error]
    assert failed == []


def test_every_provider_meets_the_protocols_the_core_calls():
    """Each part a provider gives has every method its protocol names (providers/base.py): a part
    the core calls and a vendor forgot fails here, not in a delivery at night."""
    from meetq import assistant
    from meetq.providers import CHANNELS, PROVIDERS
    from meetq.providers.base import ChannelModule, Conversation, SignIn, Webhooks

    def members(protocol) -> set[str]:
        return {name for name in (*vars(protocol), *vars(protocol).get("__annotations__", {})) if name[0] != "_"}

    missing = []
    for provider in PROVIDERS.values():
        for part, protocol in (("webhooks", Webhooks), ("sign_in", SignIn)):
            given = getattr(provider, part)
            if given is not None:
                missing += [
                    f"{provider.name}.{part}.{m}" for m in members(protocol) if not callable(getattr(given, m, None))
                ]
        credentials = provider.credentials
        assert callable(credentials), provider.name
    for name, channel in CHANNELS.items():
        missing += [f"channel {name}.{m}" for m in members(ChannelModule) if not callable(getattr(channel, m, None))]
    # What a channel is handed to talk with: the assistant, whole.
    missing += [f"assistant.{m}" for m in members(Conversation) if not hasattr(assistant, m)]
    assert missing == []
    assert {"register", "accept_delivery", "signed_by"} <= members(Webhooks)  # the check reads the protocol


# Where a vendor may be named: its own package, the registry, the simulators and the demo.
VENDOR_PLACES = ("meetq.providers", "meetq.simulator", "meetq.demo")


def test_the_core_names_no_vendor():
    """Outside the providers, a vendor's name is a defect: in code it couples the core to it, in a
    comment it says something the provider should."""
    from meetq.providers import PROVIDERS

    vendors = [name for name in PROVIDERS] + [p.title.split()[0].lower() for p in PROVIDERS.values()]
    named = {
        module: sorted({v for v in vendors if v in path.read_text().lower()})
        for module, path in MODULES.items()
        if not module.startswith(VENDOR_PLACES)
    }
    assert {module: found for module, found in named.items() if found} == {}


def test_a_chart_names_a_vendor_only_when_its_title_does():
    """A chart that keeps one vendor's sessions (`provider = '…'`) says which in its title."""
    import re

    import meetq_viewer
    from meetq.providers import PROVIDERS

    charts = [
        chart
        for dashboard in meetq_viewer.metadata()["plugins"]["datasette-dashboards"].values()
        for chart in dashboard["charts"].values()
    ]
    vendor_charts = [(c["title"], re.findall(r"provider = '(\w+)'", c["query"])) for c in charts]
    assert [title for title, _ in vendor_charts if _], "no chart keeps one vendor: the check checks nothing"
    assert [
        (title, vendor)
        for title, vendors in vendor_charts
        for vendor in vendors
        if PROVIDERS[vendor].title.split()[0] not in title
    ] == []
    sql_files = (Path(meetq_viewer.__file__).parent / "sql").rglob("*.sql")
    assert [p.name for p in sql_files if re.search(r"provider = '\w+'", p.read_text())] == []


def test_the_development_guide_lists_the_layers_in_import_order():
    """docs/development.md draws etl/meetq/ a line a layer: every module is on it, and each imports
    (when it loads) only what stands on its own line or above."""
    import re

    guide = (ETL.parent / "docs" / "development.md").read_text().split("```")[1]
    position = {}
    for number, line in enumerate(guide.splitlines()):
        names = line[:27] if line.startswith("  ") else ""  # the name column; the meaning starts at 27
        for entry in re.findall(r"[\w/]+\.py|[\w/]+/", names):
            position[entry] = number

    def place(module: str) -> int | None:
        path = str(MODULES[module].relative_to(PACKAGE))
        for entry in (path, path.rsplit("/", 1)[0] + "/" if "/" in path else None):
            if entry in position:
                return position[entry]
        return None

    unlisted = sorted(m for m in MODULES if place(m) is None and not m.endswith("__init__") and m != "meetq")
    assert unlisted == []
    upward = [
        f"{module} imports {target}"
        for module in MODULES
        for target in GRAPH[module]
        if place(module) is not None and place(target) is not None and place(target) > place(module)
    ]
    assert upward == []
