"""Subnets mapped to buildings: CQD's building file read and checked whole, every session placed
(at ingest from the full address, again from what is stored after each import), and CQD's four
summary cells. The file format and its sample row: tests/data/SOURCES.md."""

import json
import time
from pathlib import Path

import pytest
from meetq import packing
from meetq.locations import BuildingFileInvalid, Locator, building_file_text, parse_building_file
from meetq.simulator.org import BUILDING_FILE

DATA = Path(__file__).parent / "data"
# The sample row of Microsoft's "Upload tenant and building data" page, 15 columns.
MICROSOFT_SAMPLE = (DATA / "buildings_cqd_sample.csv").read_bytes()


def problems_of(data: bytes) -> list[str]:
    with pytest.raises(BuildingFileInvalid) as refused:
        parse_building_file(data, "buildings.csv")
    return refused.value.problems


def test_microsofts_sample_row_imports_with_15_and_with_14_columns():
    (full,) = parse_building_file(MICROSOFT_SAMPLE)
    assert (
        full.cidr,
        full.network_name,
        full.building,
        full.ownership_type,
        full.building_type,
        full.office_type,
        full.city,
        full.zip_code,
        full.country,
        full.state,
        full.region,
        full.inside_corp,
        full.express_route,
        full.vpn,
    ) == (
        "192.168.1.0/26",
        "USA/Seattle/SEATTLE-SEA-1",
        "SEATTLE-SEA-1",
        "Contoso",
        "IT Termination",
        "Engineering",
        "Seattle",
        "98001",
        "US",
        "WA",
        "MSUS",
        1,
        0,
        0,
    )
    (short,) = parse_building_file(MICROSOFT_SAMPLE.replace(b",1,0,0\n", b",1,0\n"))
    assert short == full  # VPN defaults to 0
    assert building_file_text([full]).encode() == MICROSOFT_SAMPLE  # export writes CQD's format back


def test_tsv_a_header_row_and_ipv6_are_read_too():
    tsv = MICROSOFT_SAMPLE.replace(b",", b"\t")
    assert parse_building_file(tsv)[0].cidr == "192.168.1.0/26"
    with_header = (
        b"BuildingName,networkip,NETWORKRANGE,InsideCorp,ExpressRoute,VPN\n"
        b"Berlin HQ,2001:db8:10::,48,1,0,0\nVPN,10.8.0.0,16,1,0,1\n"
    )
    berlin, vpn = parse_building_file(with_header)
    assert (berlin.cidr, berlin.building, berlin.version, vpn.vpn) == ("2001:db8:10::/48", "Berlin HQ", 6, 1)


def test_every_problem_is_reported_at_once_with_its_line_number():
    row = "{ip},name,{prefix},B,,,,,,,,,{inside},0,0"
    lines = [
        row.format(ip="10.0.0.0", prefix=16, inside=1),  # 1: fine
        row.format(ip="10.0.1.0", prefix=24, inside=1),  # 2: inside line 1
        row.format(ip="10.1.0.0", prefix=33, inside=1),  # 3: no such prefix
        "10.2.0.0,too,few",  # 4: 3 columns
        row.format(ip="10.3.0.5", prefix=24, inside=1),  # 5: not a network address
        row.format(ip="10.4.0.0", prefix=24, inside=2),  # 6: a flag that is not 0/1
        row.format(ip="10.0.0.0", prefix=16, inside=1),  # 7: line 1 again
        row.format(ip="not-an-ip", prefix=24, inside=1),
    ]  # 8
    problems = problems_of("\n".join(lines).encode())
    assert problems == [
        "line 2: 10.0.1.0/24 overlaps line 1 (10.0.0.0/16)",
        "line 3: NetworkRange '33' is not a prefix length from 1 to 32",
        "line 4: 3 columns, a building file has 14 or 15 (NetworkIP, NetworkName, NetworkRange, BuildingName, "
        "OwnershipType, BuildingType, BuildingOfficeType, City, ZipCode, Country, State, Region, InsideCorp, "
        "ExpressRoute, VPN)",
        "line 5: 10.3.0.5/24 is not a network address (the range starts at 10.3.0.0)",
        "line 6: InsideCorp must be 0 or 1, got '2'",
        "line 7: 10.0.0.0/16 repeats line 1",
        "line 8: NetworkIP 'not-an-ip' is not an IPv4 or IPv6 address",
    ]


@pytest.mark.parametrize(
    "data, says",
    [
        (b"", "it is empty"),
        (b'{"buildings": []}', "looks like JSON"),
        (bytes(range(256)) * 8, "binary"),
        (b"\xff\xfe\x00garbage", "binary"),
    ],
)
def test_what_is_not_a_building_file_is_said_so(data, says):
    assert says in problems_of(data)[0]


def test_a_million_lines_of_nonsense_are_refused_quickly_and_briefly():
    data = b"hello world\n" * 1_000_000
    started = time.process_time()
    with pytest.raises(BuildingFileInvalid) as refused:
        parse_building_file(data, "huge.csv")
    assert len(refused.value.problems) == 1_000_000
    message = str(refused.value)
    assert message.count("\n") == 51 and "… and 999950 more" in message
    assert time.process_time() - started < 30  # generous: a guard against quadratic work, not a benchmark


def test_masked_and_full_addresses_land_in_the_same_range_when_it_is_a_24_or_wider():
    ranges = parse_building_file(BUILDING_FILE.encode())
    locator = Locator(ranges, file_id=1)
    for full, masked in (("10.10.2.77", "10.10.2.*"), ("10.30.9.4", "10.30.9.*"), ("172.16.3.9", "172.16.3.*")):
        assert locator.place(full, None).range == locator.place(masked, None).range is not None
    narrow = Locator(parse_building_file(b"10.50.1.128,desk row,25,Lab,,,,,,,,,1,0,0\n"), file_id=2)
    assert narrow.place("10.50.1.200", None).status == "mapped"
    assert narrow.place("10.50.1.*", None).status == "masked"  # a /24 kept, a /25 asked: cannot tell


def test_private_unmapped_and_public_outside_and_the_local_address_first():
    locator = Locator(parse_building_file(BUILDING_FILE.encode()))
    office = locator.place("10.10.1.5", "198.51.100.10")
    assert (office.status, office.address_from, office.range.building) == ("mapped", "local", "Frankfurt HQ")
    home = locator.place("192.168.178.20", "203.0.113.7")
    assert (home.status, home.subnet) == ("unmapped", "192.168.178.0/24")  # a private network nobody mapped
    meet = locator.place(None, "203.0.113.7")  # Google reports the public one only
    assert (meet.status, meet.address_from, meet.subnet) == ("outside", "public", "203.0.113.0/24")
    assert locator.place(None, None) is None and locator.place("garbage", "") is None


def locations(meetq, *args, check=True):
    result = meetq("locations", *args, check=check)
    return (
        json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip().startswith(("{", "[")) else result
    )


def test_import_places_every_session_and_a_reimport_moves_them(meetq, sim):
    meetq.login()
    meetq("collect")
    total = meetq.scalar("select count(*) from media_sessions")
    # Placed at ingest, before any building file: private networks unmapped, public ones outside.
    assert meetq.scalar("select count(*) from session_locations where file_id is null") == total > 0
    assert meetq.scalar("select count(*) from session_locations where status = 'mapped'") == 0

    example = meetq.workdir / "buildings.csv"  # the simulator's offices, as the demo imports them
    example.write_text(BUILDING_FILE)
    dry = locations(meetq, "import", str(example), "--dry-run")
    assert dry == {"ranges": 5, "added": 5, "removed": 0, "changed": 0, "dry_run": True}
    assert meetq.scalar("select count(*) from location_files") == 0
    first = locations(meetq, "import", str(example))
    assert first["file_id"] == 1 and sum(first["sessions"].values()) == total
    # Each simulated network lands in its building (the simulator's offices are the example file's).
    expected = {
        "10.10.": "Frankfurt HQ",
        "10.30.": "London Office",
        "10.20.": "San Jose Office",
        "172.16.": "VPN",
        "192.168.": None,
        "100.72.": None,
    }
    placed = meetq.sql(
        "select s.local_ip, p.building from media_sessions s join session_places p on p.session_id = s.id"
    )
    assert all(building == expected[next(k for k in expected if local.startswith(k))] for local, building in placed)
    assert {"Frankfurt HQ", None} <= {building for _, building in placed}
    # CQD's cells: the Frankfurt floors are wired and inside, home Wi-Fi is outside.
    cells = dict(
        meetq.sql(
            "select building, group_concat(distinct corp_network || ' ' || connection) "
            "from session_places where building is not null group by building"
        )
    )
    assert cells["Frankfurt HQ"] == "Inside Wired" and cells.get("London Office", "Inside Wi-Fi") == "Inside Wi-Fi"
    assert meetq.sql("select distinct corp_network, connection from session_places where subnet like '192.168.%'") == [
        ("Outside", "Wi-Fi")
    ]

    # A second file: two Frankfurt floors become their own building; the sessions follow them.
    moved = example.read_text().replace("10.10.0.0,FRA HQ wired,22,Frankfurt HQ", "10.10.0.0,FRA HQ wired,22,FRA Annex")
    (meetq.workdir / "b2.csv").write_text(moved)
    second = locations(meetq, "import", str(meetq.workdir / "b2.csv"))
    assert (second["file_id"], second["changed"]) == (2, 1)
    assert (
        meetq.scalar("select count(*) from session_places where building = 'FRA Annex'")
        == meetq.scalar("select count(*) from media_sessions where local_ip like '10.10.%'")
        > 0
    )
    assert meetq.scalar("select count(*) from session_places where building = 'Frankfurt HQ'") == 0
    listed = locations(meetq, "list")
    assert [(f["file_id"], f["active"]) for f in listed] == [(2, 1), (1, 0)]
    assert meetq("locations", "export").stdout == moved
    assert meetq("locations", "export", "--file-id", "1").stdout == example.read_text()

    # A bad file changes nothing and names every problem.
    before = meetq.sql("select * from session_locations order by session_id")
    (meetq.workdir / "bad.csv").write_text(
        moved + "10.10.1.0,overlap,24,X,,,,,,,,,1,0,0\n10.9.0.0,x,40,Y,,,,,,,,,1,0,0\n"
    )
    refused = locations(meetq, "import", str(meetq.workdir / "bad.csv"), check=False)
    assert refused.returncode == 1 and "line 6: 10.10.1.0/24 overlaps line 1 (10.10.0.0/22)" in refused.stderr
    assert "line 7: NetworkRange '40'" in refused.stderr and "Traceback" not in refused.stderr
    assert meetq.sql("select * from session_locations order by session_id") == before
    missing = locations(meetq, "missing", "--limit", "3")
    assert missing and all(m["status"] in ("unmapped", "outside") for m in missing)
    assert missing[0]["sessions"] >= missing[-1]["sessions"]


def test_a_reimport_counts_what_the_kept_addresses_cannot_place(meetq, sim):
    meetq.login()
    meetq("collect")
    # Each Frankfurt floor in two halves (/25): narrower than the /24 meetq keeps by default.
    narrow = "".join(
        f"10.10.{floor}.{start},half floor,25,Frankfurt HQ,,,,,,,,,1,0,0\n" for floor in range(4) for start in (0, 128)
    )
    (meetq.workdir / "narrow.csv").write_text(narrow)
    result = locations(meetq, "import", str(meetq.workdir / "narrow.csv"))
    in_frankfurt = meetq.scalar("select count(*) from media_sessions where local_ip like '10.10.%'")
    assert result["sessions"].get("masked") == in_frankfurt > 0  # a /24 kept cannot tell its halves apart


def test_sessions_stored_before_locations_existed_are_placed_by_the_next_cycle(meetq, sim):
    meetq.login()
    meetq("collect")
    total = meetq.scalar("select count(*) from media_sessions")
    with packing.connect(meetq.database) as db:  # as a database from before migration 8 has it
        db.execute("delete from session_locations")
    meetq("collect")
    assert meetq.scalar("select count(*) from session_locations") == total > 0
    assert "sessions_placed" in meetq.logs[-1]
