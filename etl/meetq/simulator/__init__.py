"""A Webex simulator: a real HTTP server on loopback that behaves like the parts of Webex
meetq uses (OAuth, people/me, List Meetings, Meeting Qualities), with a seeded organisation
whose calls have realistic quality problems, and fault injection for tests."""

from .org import Organisation
from .server import SimConfig, Simulator

__all__ = ["Organisation", "SimConfig", "Simulator"]
