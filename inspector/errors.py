"""Typed errors. Each carries where it happened; the CLI turns them into one line."""

from __future__ import annotations


class InspectorError(Exception):
    """Base of every error h2inspect raises on purpose."""


class CaptureError(InspectorError):
    """The input is not a readable capture (missing, empty, not pcap/pcapng)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class UsageError(InspectorError):
    """The command line asks for something that cannot be done."""
