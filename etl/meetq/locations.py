"""Which office is it: subnets mapped to buildings, as Microsoft's Call Quality Dashboard does.

The mapping is a *building file*, in the format admins already keep for CQD (docs/locations.md):
CSV or TSV, no header row, 14 or 15 columns in a fixed order; or the same columns under a header
row, named case-insensitively. `parse_building_file` checks every line and reports every problem
at once, with line numbers; nothing is imported unless the whole file is right.

A `Locator` answers "which range holds this address" by binary search over the ranges sorted by
their first address (validation guarantees they do not overlap), for full addresses and for the
masked ones meetq keeps (`10.1.2.*` is the /24 10.1.2.0/24; a range holds it when it holds the
whole /24).
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import ipaddress
from dataclasses import dataclass, fields, replace
from functools import cached_property, lru_cache

from . import store
from .errors import MeetqError
from .models import database
from .rows import SESSION_WRITE_COLUMNS

COLUMNS = (
    "NetworkIP",
    "NetworkName",
    "NetworkRange",
    "BuildingName",
    "OwnershipType",
    "BuildingType",
    "BuildingOfficeType",
    "City",
    "ZipCode",
    "Country",
    "State",
    "Region",
    "InsideCorp",
    "ExpressRoute",
    "VPN",
)
REQUIRED = ("NetworkIP", "NetworkRange", "InsideCorp", "ExpressRoute")
FLAGS = ("InsideCorp", "ExpressRoute", "VPN")
MAX_PROBLEMS_SHOWN = 50
MAX_FILE_BYTES = 100_000_000  # 100,000 ranges take about 10 MB
# Addresses of a network inside an organisation or a home (RFC 1918, CGNAT RFC 6598, IPv6 unique
# local and link-local): a local address in one of them says where a device sat. Python's own
# is_private would also count documentation and benchmarking ranges, which are public in meaning.
PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
    )
)
# How meetq masks addresses (privacy.mask_ip): what prefix a masked address stands for.
MASKED_PREFIX = {4: 24, 6: 48}


class BuildingFileInvalid(MeetqError):
    """A building file with problems; `problems` lists each, with its line number."""

    def __init__(self, source: str, problems: list[str]):
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = f"\n  … and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(
            f"{source} was not imported, nothing changed ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n  " + "\n  ".join(shown) + more
        )
        self.problems = problems


@dataclass(frozen=True)
class Range:
    """One line of a building file, checked."""

    line: int
    network: str  # the network address, as written canonically
    prefix: int
    version: int
    network_name: str | None
    building: str | None
    ownership_type: str | None
    building_type: str | None
    office_type: str | None
    city: str | None
    zip_code: str | None
    country: str | None
    state: str | None
    region: str | None
    inside_corp: int
    express_route: int
    vpn: int

    @property
    def cidr(self) -> str:
        return f"{self.network}/{self.prefix}"

    @cached_property
    def bounds(self) -> tuple[int, int]:
        net = ipaddress.ip_network(self.cidr)
        return int(net.network_address), int(net.broadcast_address)

    def as_file_row(self) -> list[str]:
        """Its line in CQD's 15-column order."""
        return [
            self.network,
            self.network_name or "",
            str(self.prefix),
            self.building or "",
            self.ownership_type or "",
            self.building_type or "",
            self.office_type or "",
            self.city or "",
            self.zip_code or "",
            self.country or "",
            self.state or "",
            self.region or "",
            str(self.inside_corp),
            str(self.express_route),
            str(self.vpn),
        ]


RANGE_FIELDS = tuple(f.name for f in fields(Range))


def parse_building_file(data: bytes, source: str = "the file") -> list[Range]:
    """Every range of a building file, or BuildingFileInvalid listing every problem."""
    text = _as_text(data, source)
    delimiter = "\t" if "\t" in text.split("\n", 1)[0] else ","
    lines = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = _header(lines[0]) if lines else None
    problems: list[str] = []
    ranges = []
    for number, cells in enumerate(lines, start=1):
        if (header and number == 1) or not any(c.strip() for c in cells):
            continue
        parsed = _range(number, cells, header, problems)
        if parsed:
            ranges.append(parsed)
    if not ranges and not problems:
        problems.append("no ranges in it")
    problems += _overlaps(ranges)
    if problems:
        raise BuildingFileInvalid(source, sorted(problems, key=_line_of))
    return ranges


def _as_text(data: bytes, source: str) -> str:
    if not data.strip():
        raise BuildingFileInvalid(source, ["it is empty"])
    if b"\x00" in data[:4096]:
        raise BuildingFileInvalid(source, ["it is binary, not a CSV or TSV building file"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BuildingFileInvalid(source, ["it is not UTF-8 text"]) from None
    if text.lstrip()[:1] in ("{", "["):
        raise BuildingFileInvalid(source, ["it looks like JSON; a building file is CSV or TSV (docs/locations.md)"])
    return text


def _header(cells: list[str]) -> dict[str, int] | None:
    """{column: position} when the first line names the columns, else None."""
    names = [c.strip().lower() for c in cells]
    if "networkip" not in names:
        return None
    return {column: names.index(column.lower()) for column in COLUMNS if column.lower() in names}


def _range(number: int, cells: list[str], header: dict | None, problems: list[str]) -> Range | None:
    where = f"line {number}"
    if header is None:
        if len(cells) not in (14, 15):
            problems.append(f"{where}: {len(cells)} columns, a building file has 14 or 15 ({', '.join(COLUMNS)})")
            return None
        value = {column: cells[i].strip() for i, column in enumerate(COLUMNS[: len(cells)])}
    else:
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            problems.append(f"line 1: the header lacks {', '.join(missing)}")
            return None
        value = {column: (cells[i].strip() if i < len(cells) else "") for column, i in header.items()}
    found_before = len(problems)
    for flag in FLAGS:
        if value.get(flag, "") not in ("0", "1") and not (flag == "VPN" and value.get(flag, "") == ""):
            problems.append(f"{where}: {flag} must be 0 or 1, got {value.get(flag, '')!r}")
    network = _network(where, value.get("NetworkIP", ""), value.get("NetworkRange", ""), problems)
    if network is None or len(problems) > found_before:
        return None
    text = {
        name: value.get(column) or None
        for name, column in (
            ("network_name", "NetworkName"),
            ("building", "BuildingName"),
            ("ownership_type", "OwnershipType"),
            ("building_type", "BuildingType"),
            ("office_type", "BuildingOfficeType"),
            ("city", "City"),
            ("zip_code", "ZipCode"),
            ("country", "Country"),
            ("state", "State"),
            ("region", "Region"),
        )
    }
    return Range(
        line=number,
        network=str(network.network_address),
        prefix=network.prefixlen,
        version=network.version,
        **text,
        inside_corp=int(value["InsideCorp"]),
        express_route=int(value["ExpressRoute"]),
        vpn=int(value.get("VPN") or 0),
    )


def _network(where: str, address: str, prefix: str, problems: list[str]):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        problems.append(f"{where}: NetworkIP {address!r} is not an IPv4 or IPv6 address")
        return None
    longest = 32 if ip.version == 4 else 128
    if not prefix.isdigit() or not 0 < int(prefix) <= longest:
        problems.append(f"{where}: NetworkRange {prefix!r} is not a prefix length from 1 to {longest}")
        return None
    network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    if network.network_address != ip:
        problems.append(
            f"{where}: {address}/{prefix} is not a network address (the range starts at {network.network_address})"
        )
        return None
    return network


def _overlaps(ranges: list[Range]) -> list[str]:
    """Duplicates and overlaps, each naming both lines. Sorted by first address, a range overlaps
    an earlier one exactly when it starts before the furthest end seen so far."""
    problems = []
    for version in (4, 6):
        furthest: tuple[int, Range] | None = None
        for start, end, each in sorted(((*r.bounds, r) for r in ranges if r.version == version), key=_order):
            if furthest and start <= furthest[0]:
                other = furthest[1]
                if (start, end) == other.bounds:
                    problems.append(f"line {each.line}: {each.cidr} repeats line {other.line}")
                else:
                    problems.append(f"line {each.line}: {each.cidr} overlaps line {other.line} ({other.cidr})")
            if furthest is None or end > furthest[0]:
                furthest = (end, each)
    return problems


def _line_of(problem: str) -> int:
    head = problem.split(":", 1)[0]
    return int(head.split()[1]) if head.startswith("line ") else 0


def _order(bounded: tuple) -> tuple:
    return bounded[0], bounded[1], bounded[2].line


def building_file_text(ranges: list[Range]) -> str:
    """The ranges as a 15-column building file, CQD's format, in their original order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for each in sorted(ranges, key=lambda r: r.line):
        writer.writerow(each.as_file_row())
    return out.getvalue()


# -- finding an address's range -----------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a session was: its range (None when no range holds its address) and why not."""

    status: str  # mapped | outside (a public address no range holds) | unmapped (a private one)
    #                      | masked (kept too coarsely for the ranges that could hold it)
    address_from: str  # local | public
    subnet: str  # the matched range, else the /24 (IPv6 /48) the address is in
    range: Range | None = None


class Locator:
    """Non-overlapping ranges, searchable by address."""

    def __init__(self, ranges: list[Range], file_id: int | None = None):
        self.file_id = file_id
        self._by_version = {}
        for version in (4, 6):
            ordered = sorted(((*r.bounds, r) for r in ranges if r.version == version), key=_order)
            self._by_version[version] = (
                [s for s, _, _ in ordered],
                [e for _, e, _ in ordered],
                [r for _, _, r in ordered],
            )

    def ranges(self) -> list[Range]:
        return [r for version in (4, 6) for r in self._by_version[version][2]]

    def holding(self, version: int, first: int, last: int) -> tuple[Range | None, bool]:
        """(the range holding all of first..last, whether a range lies inside it instead)."""
        starts, ends, found = self._by_version[version]
        i = bisect.bisect_right(starts, first) - 1
        if i >= 0 and ends[i] >= last:
            return found[i], False
        j = bisect.bisect_left(starts, first)
        return None, j < len(starts) and starts[j] <= last

    def place(self, local: str | None, public: str | None) -> Place | None:
        """The local address when it is a private one (an office LAN, a VPN pool, a home router),
        else the public one; None when neither is an address."""
        chosen = _parsed(local)
        source = "local"
        if chosen is None or not chosen[2]:
            public_parsed = _parsed(public)
            if public_parsed is not None:
                chosen, source = public_parsed, "public"
        if chosen is None:
            return None
        network, masked, private = chosen
        found, narrower = self.holding(network.version, int(network.network_address), int(network.broadcast_address))
        if found:
            return Place("mapped", source, found.cidr, found)
        block = (
            network
            if masked
            else ipaddress.ip_network(f"{network.network_address}/{MASKED_PREFIX[network.version]}", strict=False)
        )
        status = "masked" if masked and narrower else ("unmapped" if private else "outside")
        return Place(status, source, str(block))


@lru_cache(maxsize=65_536)  # a masked address (a /24) recurs across an office's sessions
def _parsed(value: str | None):
    """(network, was it masked, is it private) of an address as meetq stores it, or None."""
    if not isinstance(value, str) or not value or value == "*":
        return None
    masked = value.endswith("*")
    try:
        if masked:
            version = 6 if ":" in value else 4
            base = value[:-1].rstrip(".:")
            text = f"{base}.0/24" if version == 4 else f"{base}::/48"
            network = ipaddress.ip_network(text, strict=False)
        else:
            network = ipaddress.ip_network(value.split("%")[0])
    except ValueError:
        return None
    private = any(network.version == p.version and network.subnet_of(p) for p in PRIVATE)
    return network, masked, private


def places_of(locator: Locator, sessions: list, addresses: list | None = None, ip_mode: str = "masked") -> dict:
    """{session id: Place} for prepared sessions, from `addresses` ((local, public) per session,
    the full ones the vendor sent, before masking) or else from the addresses in the rows. With
    privacy.ip_addresses = none, an unmapped session keeps its status but not its /24: the range
    of a building file is the organisation's, the /24 of a home is the person's."""
    local, public = SESSION_WRITE_COLUMNS.index("local_ip"), SESSION_WRITE_COLUMNS.index("public_ip")
    pairs = addresses or [(s.session[local], s.session[public]) if s else None for s in sessions]
    places = {s.id: locator.place(*pair) for s, pair in zip(sessions, pairs) if s}
    if ip_mode == "none":
        places = {k: (replace(p, subnet="") if p and p.range is None else p) for k, p in places.items()}
    return places


# -- in the database ------------------------------------------------------------------------------


def active_locator() -> Locator:
    """The active building file's ranges (no file: no ranges, and every session is outside or
    unmapped, as CQD counts everything Outside without a building file)."""
    found = database.execute_sql("SELECT id FROM location_files WHERE active = 1").fetchone()
    return locator_of(found[0]) if found else Locator([], None)


def locator_of(file_id: int) -> Locator:
    cursor = database.execute_sql(
        f"SELECT {', '.join(RANGE_FIELDS)} FROM location_ranges WHERE file_id = ?", (file_id,)
    )
    return Locator([Range(*row) for row in cursor.fetchall()], file_id)


def place_stored_sessions(locator: Locator, only_stale: bool = False) -> dict[str, int]:
    """Place sessions from the addresses stored with them (masked ones too), in batches; with
    `only_stale`, only those not placed by this locator's file yet. Returns how many sessions got
    each status."""
    query = (
        "SELECT id, local_ip, public_ip FROM media_sessions WHERE id > ?"
        + (" AND id NOT IN (SELECT session_id FROM session_locations WHERE file_id IS ?)" if only_stale else "")
        + " ORDER BY id LIMIT 5000"
    )
    counts: dict[str, int] = {}
    last = -(2**63)  # session ids are signed 64-bit
    while True:
        # Keyset batches: a big database is placed in pieces, each its own short transaction.
        rows = database.execute_sql(query, (last, locator.file_id) if only_stale else (last,)).fetchall()
        if not rows:
            return counts
        places = {session_id: locator.place(local, public) for session_id, local, public in rows}
        with database.atomic():
            store.save_places(places, locator.file_id)
        for place in places.values():
            status = place.status if place else "no_address"
            counts[status] = counts.get(status, 0) + 1
        last = rows[-1][0]


def place_stale_sessions() -> dict[str, int]:
    """Sessions the active file has not placed: stored before locations existed, or left when an
    import's re-placing was interrupted. Cheap when there are none (two counts)."""
    with database.connection_context():
        locator = active_locator()
        placed = database.execute_sql(
            "SELECT count(*) FROM session_locations WHERE file_id IS ?", (locator.file_id,)
        ).fetchone()[0]
        if placed == database.execute_sql("SELECT count(*) FROM media_sessions").fetchone()[0]:
            return {}
        return place_stored_sessions(locator, only_stale=True)


def import_building_file(data: bytes, source: str, now, dry_run: bool = False) -> dict:
    """Check a building file whole; unless `dry_run`, make it the active mapping and place every
    stored session again by it. Returns what changed (and, for a dry run, what would)."""
    ranges = parse_building_file(data, source)
    with database.connection_context():
        return _import(ranges, data, source, now, dry_run)


def _import(ranges: list[Range], data: bytes, source: str, now, dry_run: bool) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    before = active_locator()
    old = {r.cidr: r for r in before.ranges()}
    new = {r.cidr: r for r in ranges}
    summary = {
        "ranges": len(ranges),
        "added": len(new.keys() - old.keys()),
        "removed": len(old.keys() - new.keys()),
        "changed": sum(1 for k in new.keys() & old.keys() if _details(new[k]) != _details(old[k])),
    }
    if dry_run:
        return {**summary, "dry_run": True}
    with database.atomic():
        file_id = store.save_location_file(ranges, RANGE_FIELDS, source, digest, now)
    placed = place_stored_sessions(Locator(ranges, file_id))
    return {**summary, "file_id": file_id, "sessions": placed}


def _details(each: Range) -> tuple:
    return tuple(getattr(each, name) for name in RANGE_FIELDS if name != "line")


def missing_subnets(limit: int = 50) -> list[dict]:
    """CQD's missing-subnet report: the busiest /24s (IPv6 /48s) no range holds, by sessions."""
    cursor = database.execute_sql(
        "SELECT l.subnet, l.status, count(*) AS sessions, sum(s.verdict = 'poor') AS poor, "
        "count(DISTINCT s.user_email) AS people FROM session_locations l JOIN media_sessions s ON s.id = l.session_id "
        "WHERE l.status IN ('unmapped', 'outside', 'masked') GROUP BY l.subnet, l.status "
        "ORDER BY sessions DESC, l.subnet LIMIT ?",
        (limit,),
    )
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def read_building_file(path) -> bytes:
    from pathlib import Path

    path = Path(path)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise BuildingFileInvalid(
            path.name,
            [
                f"it is {path.stat().st_size:,} bytes; a building file of even "
                f"a million ranges is far smaller (limit {MAX_FILE_BYTES:,})"
            ],
        )
    return path.read_bytes()


def imports() -> list[dict]:
    cursor = database.execute_sql(
        "SELECT id, imported_at, source, ranges, active, sha256 FROM location_files ORDER BY id DESC"
    )
    return [
        dict(zip(("file_id", "imported_at", "source", "ranges", "active", "sha256"), row)) for row in cursor.fetchall()
    ]
