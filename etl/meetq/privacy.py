"""Participants' IP addresses as the `privacy.ip_addresses` setting says, before anything is stored.

`mask_ip` deals with a field known to hold an address. `mask_addresses` deals with every other
address in a body kept as text (a field meetq does not know, an address inside free text), so
that no setting but `full` leaves one in the database. It changes only the addresses: every
other byte stays as received. Text under a key naming a version or a build is left alone
(`"clientVersion": "44.10.2.31"` is no address).
"""

from __future__ import annotations

import ipaddress
import re

IP_MODES = ("full", "masked", "none")
DROPPED = "*"  # what an address in text becomes under `none`

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\d|\.\d)")
# Anything that could be an IPv6 address (hex groups and colons, an IPv4 tail); ipaddress decides.
_IPV6_CANDIDATE = re.compile(
    rf"(?<![0-9A-Fa-f:.])(?:[0-9A-Fa-f]{{0,4}}:){{2,7}}(?:{_OCTET}(?:\.{_OCTET}){{3}}|"
    r"[0-9A-Fa-f]{1,4})?(?:%[0-9A-Za-z]+)?(?![0-9A-Fa-f:.])"
)
_NOT_AN_ADDRESS_KEY = re.compile(r"version|build", re.I)


def mask_ip(value, mode: str):
    """`full` keeps the address; `masked` keeps the network (IPv4 /24, IPv6 /48); `none` drops it."""
    if mode == "full" or not isinstance(value, str) or not value:
        return value
    if mode == "none":
        return None
    try:
        address = ipaddress.ip_address(value.split("%")[0])
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address):
        # From the parsed address: `fe80::1` keeps fe80:0:0, not the whole host.
        return ":".join(group.lstrip("0") or "0" for group in address.exploded.split(":")[:3]) + ":*"
    if address is not None:
        return ".".join(str(address).split(".")[:3] + ["*"])
    if ":" in value:
        return ":".join(value.split(":")[:3]) + ":*"
    parts = value.split(".")
    return ".".join(parts[:3] + ["*"]) if len(parts) == 4 else "*"


def mask_addresses(text: str, mode: str) -> str:
    """Every IPv4 and IPv6 address in `text` masked (or dropped) as `mode` says. JSON is read
    string by string (numbers outside strings are never addresses), so that a version string
    under its key is kept; other text as a whole."""
    if mode == "full" or not text:
        return text
    if text.lstrip()[:1] not in ("{", "[") or '\\"' in text:
        return _mask_in(text, mode)  # not JSON, or JSON with escaped quotes: every address in it
    # Split at the quotes: odd pieces are strings, even ones what lies between (a string followed
    # by a colon is a key). A body is mostly numbers, so this touches only its few strings.
    parts = text.split('"')
    key = ""
    for i in range(1, len(parts) - 1, 2):
        piece, after = parts[i], parts[i + 1]
        if after[:1] == ":" or after.lstrip()[:1] == ":":
            key = piece
        # An IPv4 address has three dots; an IPv6 one a `::` or seven colons (a time has two).
        elif (piece.count(".") >= 3 or "::" in piece or piece.count(":") >= 7) and not _NOT_AN_ADDRESS_KEY.search(key):
            parts[i] = _mask_in(piece, mode)
    return '"'.join(parts)


def _mask_in(text: str, mode: str) -> str:
    def replace(match: re.Match) -> str:
        found = match.group(0)
        if ":" in found and found.count(":") < 3 and not re.search(r"\d", found):
            return found  # `std::string`, `a::b`: words around a double colon, not an address
        try:
            ipaddress.ip_address(found.split("%")[0])
        except ValueError:
            return found  # a MAC address, a version: not an address
        return DROPPED if mode == "none" else mask_ip(found, mode)

    if "::" in text or text.count(":") >= 7:
        text = _IPV6_CANDIDATE.sub(replace, text)
    return _IPV4.sub(replace, text) if text.count(".") >= 3 else text
