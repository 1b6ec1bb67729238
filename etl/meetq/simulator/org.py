"""A seeded organisation: people, meetings and their per-participant media quality.

Everything derives from (seed, meeting id), so the same meeting always yields the same
payload. Each participant gets a profile that explains their quality, the way real
trouble looks in Webex data: lossy Wi-Fi, jittery cellular, a far-away media region,
an overloaded CPU, or a good wired office connection. In a few meetings one participant's
uplink loses packets for some minutes and everyone else receives that loss: a shared cause
that holds up (shared_cause.py), beside the coincidences random trouble makes.
"""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..clock import iso

FIRST = [
    "Ada",
    "Ben",
    "Chloé",
    "Dmitri",
    "Esra",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kavya",
    "Luis",
    "Mei",
    "Nora",
    "Omar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Yara",
]
LAST = [
    "Andersen",
    "Bauer",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Weber",
]
TOPICS = [
    "Weekly sync",
    "Customer review",
    "Sprint planning",
    "1:1",
    "All hands",
    "Design critique",
    "Incident review",
    "Board prep",
    "Sales pipeline",
    "Hiring panel",
    "Roadmap",
    "Support escalation",
]
SITES = ["example.webex.com", "example-emea.webex.com"]


@dataclass(frozen=True)
class Profile:
    name: str
    network: str
    loss: tuple[float, float]  # % per interval, typical range
    latency: tuple[float, float]  # ms
    jitter: tuple[float, float]  # ms
    cpu: tuple[float, float]  # system CPU %
    region: str
    client: tuple[str, str, str]  # clientType, osType, hardware
    burst: float = 0.0  # chance of an interval with a loss burst


PROFILES = [
    Profile(
        "office",
        "ethernet",
        (0.0, 0.3),
        (20, 60),
        (1, 6),
        (15, 40),
        "Frankfurt, Germany",
        ("Teams_Desktop_Client (Windows)", "windows", "Latitude 7440"),
    ),
    Profile(
        "home_good",
        "wifi",
        (0.0, 0.8),
        (30, 80),
        (2, 12),
        (20, 45),
        "Amsterdam, Netherlands",
        ("Teams_Desktop_Client (Mac)", "mac", "MacBookPro18,3"),
    ),
    Profile(
        "wifi_lossy",
        "wifi",
        (1.0, 4.0),
        (40, 110),
        (8, 30),
        (25, 50),
        "London, UK",
        ("Teams_Desktop_Client (Windows)", "windows", "ThinkPad X1"),
        burst=0.25,
    ),
    Profile(
        "cellular",
        "cellular",
        (0.2, 1.8),
        (90, 200),
        (10, 38),
        (30, 60),
        "Frankfurt, Germany",
        ("Teams_Mobile_Client (iOS)", "ios", "iPhone15,2"),
        burst=0.06,
    ),
    Profile(
        "far_region",
        "ethernet",
        (0.0, 1.0),
        (210, 330),
        (4, 15),
        (20, 40),
        "San Jose, USA",
        ("Teams_Desktop_Client (Windows)", "windows", "OptiPlex 7010"),
    ),
    Profile(
        "cpu_overloaded",
        "wifi",
        (0.2, 1.5),
        (40, 100),
        (5, 20),
        (85, 100),
        "London, UK",
        ("Teams_Desktop_Client (Windows)", "windows", "Surface Go 2"),
    ),
]
PROFILE_WEIGHTS = [30, 30, 12, 10, 8, 10]

# Where each profile's people sit, as addresses (BUILDING_FILE maps the offices and the VPN pool):
# the Frankfurt office's wired floors, home Wi-Fi behind ISPs, the London office's Wi-Fi, mobile
# carriers' CGNAT, the San Jose office, and the VPN pool. Derived from the person, not the random
# stream, so the rest of a seeded organisation stays as it was.
NETWORKS = {
    "office": ("10.10.{floor}.{host}", "198.51.100.10"),
    "home_good": ("192.168.{home}.{host}", "203.0.113.{host}"),
    "wifi_lossy": ("10.30.{wifi}.{host}", "198.51.100.30"),
    "cellular": ("100.72.{home}.{host}", "192.0.2.{host}"),
    "far_region": ("10.20.{floor}.{host}", "198.51.100.20"),
    "cpu_overloaded": ("172.16.{floor}.{host}", "203.0.113.{host}"),
}


# The building file (CQD's format, docs/locations.md) that maps those offices and the VPN pool;
# `meetq demo` imports it. Homes and carriers stay unmapped, as they would be.
BUILDING_FILE = """\
10.10.0.0,FRA HQ wired,22,Frankfurt HQ,Example AG,Office,Engineering,Frankfurt,60311,DE,HE,EMEA,1,0,0
10.30.0.0,LON office wired,22,London Office,Example AG,Office,Sales,London,EC2A 4NE,GB,,EMEA,1,0,0
10.30.8.0,LON office Wi-Fi,22,London Office,Example AG,Office,Sales,London,EC2A 4NE,GB,,EMEA,1,0,0
10.20.0.0,SJC office,16,San Jose Office,Example Inc,Office,Support,San Jose,95134,US,CA,AMER,1,0,0
172.16.0.0,Remote access VPN,16,VPN,Example AG,Virtual,,,,,,,1,0,1
"""


def addresses(person: "Person", index: int) -> tuple[str, str]:
    """(local, public) address of a person's device."""
    seed = int(hashlib.sha256(person.email.encode()).hexdigest()[:8], 16)
    parts = {"floor": seed % 4, "home": (0, 1, 178)[seed % 3], "wifi": 8 + seed % 4, "host": 10 + (seed + index) % 240}
    local, public = NETWORKS[person.profile.name]
    return local.format(**parts), public.format(**parts)


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    name: str
    profile: Profile


@dataclass
class Meeting:
    id: str
    series_id: str
    title: str
    host: Person
    start: datetime
    end: datetime
    site: str
    participants: list[Person] = field(default_factory=list)


class Organisation:
    def __init__(
        self,
        seed: int = 7,
        *,
        now: datetime,
        days: float = 7,
        meetings_per_day: int = 40,
        people: int = 60,
        upcoming_hours: float = 4,
        max_participants: int = 8,
        long_meeting_every: int = 25,
    ):
        self.seed = seed
        self.rng = random.Random(seed)
        self.org_id = f"org-{seed}"
        self.people = [self._person(i) for i in range(people)]
        self.admin = Person("admin-person", "admin@example.com", "Alex Admin", PROFILES[0])
        self.max_participants = max_participants
        self.meetings: dict[str, Meeting] = {}
        total = int(meetings_per_day * (days + upcoming_hours / 24))
        begin = now - timedelta(days=days)
        span = (days * 24 + upcoming_hours) * 3600
        for n in range(total):
            start = begin + timedelta(seconds=self.rng.uniform(0, span))
            minutes = self.rng.choice([15, 25, 30, 30, 45, 50, 60, 90])
            if long_meeting_every and n % long_meeting_every == long_meeting_every - 1:
                minutes = self.rng.choice([240, 360, 480])  # the long ones a naive overlap misses
            self.add_meeting(start.replace(microsecond=0), timedelta(minutes=minutes))

    def _person(self, index: int) -> Person:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        profile = self.rng.choices(PROFILES, PROFILE_WEIGHTS)[0]
        email = f"{first}.{last}{index}@example.com".lower().replace("é", "e").replace("í", "i")
        return Person(f"person-{index}", email, f"{first} {last}", profile)

    def add_meeting(self, start: datetime, duration: timedelta, participants: int | None = None) -> Meeting:
        rng = self.rng
        series = uuid.UUID(int=rng.getrandbits(128)).hex
        number = rng.randrange(10**17, 10**18)
        host = rng.choice(self.people)
        count = participants or rng.randint(2, self.max_participants)
        guests = rng.sample([p for p in self.people if p is not host], k=min(count - 1, len(self.people) - 1))
        meeting = Meeting(
            id=f"{series}_I_{number}",
            series_id=series,
            title=rng.choice(TOPICS),
            host=host,
            start=start,
            end=start + duration,
            site=rng.choice(SITES),
            participants=[host, *guests],
        )
        self.meetings[meeting.id] = meeting
        return meeting

    # -- payloads ---------------------------------------------------------------------------

    def meeting_json(self, meeting: Meeting) -> dict:
        """A List Meetings item for an ended instance, with every field the official schema requires."""
        return {
            "id": meeting.id,
            "meetingSeriesId": meeting.series_id,
            "scheduledMeetingId": f"{meeting.series_id}_{meeting.start:%Y%m%dT%H%M%SZ}",
            "title": meeting.title,
            "meetingNumber": meeting_number(meeting.series_id),  # a series' instances share it
            "password": "Sim#" + meeting.series_id[:6],
            "hostKey": "123456",
            "meetingType": "meeting",
            "state": "ended",
            "timezone": "UTC",
            "start": meeting.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": meeting.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "hostUserId": meeting.host.id,
            "hostDisplayName": meeting.host.name,
            "hostEmail": meeting.host.email,
            "siteUrl": meeting.site,
            "webLink": f"https://{meeting.site}/j.php?MTID=m{meeting.series_id}",
            "sipAddress": f"{meeting.series_id[:9]}@{meeting.site}",
            "scheduledType": "meeting",
            "sessionTypeId": 3,
            "hasChat": False,
            "hasRecording": False,
            "hasTranscription": False,
            "enabledBreakoutSessions": False,
            "telephony": {"accessCode": meeting_number(meeting.series_id), "callInNumbers": []},
        }

    def quality_items(self, meeting: Meeting, legacy_names: bool = False) -> list[dict]:
        """The meeting's Meeting Qualities items; the same every time (cached: paging asks often)."""
        return self._quality_items(meeting.id, meeting.title, legacy_names)

    @functools.lru_cache(maxsize=512)  # noqa: B019 (the simulator lives as long as its organisation)
    def _quality_items(self, meeting_id: str, title: str, legacy_names: bool) -> list[dict]:
        meeting = self.meetings[meeting_id]
        rng = random.Random(f"{self.seed}:{meeting.id}")
        items = []
        presenter = rng.randrange(len(meeting.participants))
        for index, person in enumerate(meeting.participants):
            joins = [meeting.start + timedelta(seconds=rng.uniform(0, 120))]
            leave = meeting.end - timedelta(seconds=rng.uniform(0, 90))
            if rng.random() < 0.12:  # a rejoin: two sessions for one participant
                drop = joins[0] + (leave - joins[0]) * rng.uniform(0.3, 0.7)
                spans = [(joins[0], drop), (drop + timedelta(seconds=rng.uniform(20, 60)), leave)]
            else:
                spans = [(joins[0], leave)]
            for join, left in spans:
                items.append(self._session(rng, meeting, person, index, join, left, index == presenter))
        if len(items) >= 3 and rng.random() < SHARED_UPLINK_SHARE:
            _one_bad_uplink(rng, items)
        if legacy_names:
            items = [_legacy(item) for item in items]
        return items

    def _session(self, rng, meeting, person, index, join, leave, presenting) -> dict:
        p = person.profile
        client_type, os_type, hardware = p.client
        minutes = max(1, min(int((leave - join).total_seconds() // 60), 600))
        media = {key: [] for key in ("videoIn", "videoOut", "audioIn", "audioOut", "shareIn", "shareOut")}
        media["audioIn"].append(_interval(rng, p, join, minutes, "Opus", audio=True))
        media["audioOut"].append(_interval(rng, p, join, minutes, "Opus", audio=True))
        if rng.random() < 0.8:
            media["videoIn"].append(_interval(rng, p, join, minutes, "H.264 BP"))
            media["videoOut"].append(_interval(rng, p, join, minutes, "H.264 BP"))
        share_minutes = max(1, minutes // 3)
        share_start = join + timedelta(minutes=minutes // 3)
        media["shareOut" if presenting else "shareIn"].append(
            _interval(rng, p, share_start, share_minutes, "H.264 BP", share=True)
        )
        cpu = [round(rng.uniform(*p.cpu), 1) for _ in range(minutes)]
        local, public = addresses(person, index)
        return {
            "meetingInstanceId": meeting.id,
            "webexUserName": person.name,
            "webexUserEmail": person.email,
            "joinTime": iso(join),
            "leaveTime": iso(leave),
            "joinMeetingTime": f"{rng.uniform(2, 12):.3f}",
            "clientType": client_type,
            "clientVersion": "44.10.0.31245",
            "osType": os_type,
            "osVersion": {"windows": "10.0.22631", "mac": "14.6.1", "ios": "17.6.1"}[os_type],
            "hardwareType": hardware,
            "speakerName": "Speakers",
            "networkType": p.network,
            "localIP": local,
            "publicIP": public,
            "maskedLocalIP": local.rsplit(".", 1)[0] + ".*",
            "maskedPublicIP": public.rsplit(".", 1)[0] + ".*",
            "camera": "Integrated Camera",
            "microphone": "Headset Microphone",
            "serverRegion": p.region,
            "videoMeshCluster": "",
            "videoMeshServer": "",
            "participantId": f"{meeting.id}_{index + 1}",
            "participantSessionId": str(uuid.UUID(int=rng.getrandbits(128))).upper(),
            **media,
            "resources": [
                {
                    "processAverageCPU": [round(c * 0.4, 1) for c in cpu],
                    "processMaxCPU": [round(min(100, c * 0.6), 1) for c in cpu],
                    "systemAverageCPU": cpu,
                    "systemMaxCPU": [round(min(100, c + rng.uniform(3, 15)), 1) for c in cpu],
                }
            ],
        }


SHARED_UPLINK_SHARE = 0.06  # meetings where one participant's uplink loses packets everyone receives


def _one_bad_uplink(rng, items: list[dict]) -> None:
    """What a shared cause looks like: one participant's sent audio loses 6-15 % for a few
    minutes, and everyone else receives about as much loss in those same minutes (their other
    streams are fine), so their verdicts are about loss too."""
    culprit = rng.choice(items)
    sent = culprit["audioOut"][0]
    first = datetime.fromisoformat(sent["startTime"].replace("Z", "+00:00"))
    length = len(sent["packetLoss"])
    if length < 8:
        return
    start = rng.randrange(0, length - 6)
    minutes = range(start, start + rng.randint(4, 6))
    for idx in minutes:
        loss = round(rng.uniform(6, 15), 2)
        sent["packetLoss"][idx] = loss
        moment = first + timedelta(minutes=idx)
        for other in items:
            if other is culprit or other["webexUserEmail"] == culprit["webexUserEmail"]:
                continue
            received = other["audioIn"][0]
            at = int(
                (moment - datetime.fromisoformat(received["startTime"].replace("Z", "+00:00"))).total_seconds() // 60
            )
            if 0 <= at < len(received["packetLoss"]):
                received["packetLoss"][at] = max(received["packetLoss"][at], round(loss * rng.uniform(0.8, 1.0), 2))


def _interval(rng, p: Profile, start: datetime, minutes: int, codec: str, audio=False, share=False) -> dict:
    def series(low, high, burst_scale=1.0):
        values = []
        for _ in range(minutes):
            value = rng.uniform(low, high)
            if p.burst and rng.random() < p.burst:
                value *= 2.5 * burst_scale
            values.append(round(value, 2))
        return values

    if audio:
        bitrate, height, fps = (24000, 64000), [], []
    elif share:
        bitrate = (300_000, 1_500_000)
        height = [1080.0] * minutes
        fps = [round(rng.uniform(3, 8), 2) for _ in range(minutes)]
    else:
        overloaded = p.cpu[0] > 80
        bitrate = (150_000, 900_000) if not overloaded else (80_000, 300_000)
        height = [float(rng.choice([360, 720, 720]) if not overloaded else 180) for _ in range(minutes)]
        fps = [round(rng.uniform(24, 30) if not overloaded else rng.uniform(5, 12), 2) for _ in range(minutes)]
    return {
        "samplingInterval": 60,
        "startTime": iso(start),
        "endTime": iso(start + timedelta(minutes=minutes)),
        "packetLoss": series(*p.loss),
        "latency": series(*p.latency, burst_scale=0.5),
        "jitter": series(*p.jitter),
        "mediaBitRate": [round(rng.uniform(*bitrate)) for _ in range(minutes)],
        "resolutionHeight": height,
        "frameRate": fps,
        "codec": codec,
        "transportType": "TCP" if p.network == "cellular" and rng.random() < 0.5 else "UDP",
    }


def _legacy(item: dict) -> dict:
    """The field names older payloads used."""
    renames = {
        "meetingInstanceId": "meetingId",
        "webexUserName": "displayName",
        "webexUserEmail": "email",
        "joinTime": "joined",
        "clientType": "client",
    }
    return {renames.get(k, k): v for k, v in item.items()}


def meeting_number(series_id: str) -> str:
    """A series' meeting number, ten digits as Webex's are, stable for the series."""
    return str(1_000_000_000 + int(hashlib.sha1(series_id.encode()).hexdigest()[:12], 16) % 9_000_000_000)
