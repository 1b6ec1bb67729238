"""Participants' IP addresses as the `privacy.ip_addresses` setting says, before anything is stored."""

from __future__ import annotations

IP_MODES = ("full", "masked", "none")


def mask_ip(value, mode: str):
    """`full` keeps the address; `masked` keeps the network (IPv4 /24, IPv6 /48); `none` drops it."""
    if mode == "full" or not isinstance(value, str) or not value:
        return value
    if mode == "none":
        return None
    if ":" in value:
        return ":".join(value.split(":")[:3]) + ":*"
    parts = value.split(".")
    return ".".join(parts[:3] + ["*"]) if len(parts) == 4 else "*"
