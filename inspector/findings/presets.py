"""The limits abuse rules compare against, and the servers they come from.

Each preset is what one server enforces by default (`--preset nghttp2|envoy|haproxy|go`);
a limit a server does not have is None there, and the rule that reads it is off
under that preset. `default` is a blend, one choice per pattern:

- rapid reset: nghttp2's token bucket (1000 RST_STREAM burst, refilled at 33 a
  second), the one that counts resets themselves rather than a server's queue;
- CONTINUATION: nghttp2's 8 frames per block, and HAProxy's glitch (more than
  4 fragments averaging under 1 KiB);
- HPACK bomb: 64 KiB (the hpack library's default), or the receiver's own
  SETTINGS_MAX_HEADER_LIST_SIZE when it sent one;
- control floods: 1000 ACKs owed (nghttp2 and Envoy), 32 settings a frame (nghttp2);
- empty DATA: 2 in a row (Netty), less strict than Envoy's 1;
- PRIORITY and WINDOW_UPDATE: Envoy's 100 per stream and 10 per DATA frame;
- zero-window slow reading: 10 s of a server window held at 0 (no server
  publishes a number; h2inspect's own).

`--limit NAME=VALUE` overrides one limit (`--limit NAME=off` turns it off).
"""

from __future__ import annotations

from typing import NamedTuple

from inspector.errors import UsageError


class Limit(NamedTuple):
    """One named limit: what it counts, in which unit."""

    name: str
    meaning: str


LIMITS: dict[str, Limit] = {limit.name: limit for limit in (
    Limit("rst_burst", "RST_STREAM frames from the client a token bucket allows at once (nghttp2)"),
    Limit("rst_rate", "tokens per second that refill the RST_STREAM bucket (nghttp2)"),
    Limit("premature_reset_streams", "streams opened before the premature-reset ratio counts (Envoy)"),
    Limit("premature_reset_ratio", "share of streams reset by the client early that closes the connection (Envoy)"),
    Limit("premature_reset_seconds", "a reset this soon after the stream opened is premature (Envoy)"),
    Limit("queued_streams_factor", "streams still running, as a multiple of MAX_CONCURRENT_STREAMS (Go)"),
    Limit("made_reset_burst", "server resets provoked by invalid client frames a bucket allows at once"),
    Limit("made_reset_rate", "tokens per second that refill the provoked-reset bucket"),
    Limit("continuation_frames", "CONTINUATION frames allowed in one header block (nghttp2)"),
    Limit("small_fragments", "fragments of one header block beyond which small ones are a glitch (HAProxy)"),
    Limit("small_fragment_bytes", "average fragment size under which a many-fragment block is a glitch (HAProxy)"),
    Limit("header_list_bytes", "decoded header list size allowed without the receiver's "
                               "SETTINGS_MAX_HEADER_LIST_SIZE"),
    Limit("control_acks_owed", "PING or SETTINGS ACKs owed before the connection is closed"),
    Limit("settings_per_frame", "parameters allowed in one SETTINGS frame (nghttp2)"),
    Limit("empty_data_frames", "consecutive DATA frames without payload or END_STREAM allowed"),
    Limit("priority_per_stream", "PRIORITY frames allowed per stream opened, plus one stream (Envoy)"),
    Limit("window_updates_per_data", "WINDOW_UPDATE frames allowed per DATA frame sent (Envoy)"),
    Limit("zero_window_seconds", "seconds a client may hold the server's window at 0"),
)}

_OFF = None
PRESETS: dict[str, dict[str, float | None]] = {
    "nghttp2": {
        "rst_burst": 1000, "rst_rate": 33, "premature_reset_streams": _OFF, "premature_reset_ratio": _OFF,
        "premature_reset_seconds": _OFF, "queued_streams_factor": _OFF,
        "made_reset_burst": 1000, "made_reset_rate": 33,
        "continuation_frames": 8, "small_fragments": _OFF, "small_fragment_bytes": _OFF,
        "header_list_bytes": 65536, "control_acks_owed": 1000, "settings_per_frame": 32,
        "empty_data_frames": _OFF, "priority_per_stream": _OFF, "window_updates_per_data": _OFF,
        "zero_window_seconds": 10,
    },
    "envoy": {
        "rst_burst": _OFF, "rst_rate": _OFF, "premature_reset_streams": 500, "premature_reset_ratio": 0.5,
        "premature_reset_seconds": 1.0, "queued_streams_factor": _OFF,
        "made_reset_burst": 1000, "made_reset_rate": 33,
        "continuation_frames": _OFF, "small_fragments": _OFF, "small_fragment_bytes": _OFF,
        "header_list_bytes": 61440, "control_acks_owed": 1000, "settings_per_frame": _OFF,
        "empty_data_frames": 1, "priority_per_stream": 100, "window_updates_per_data": 10,
        "zero_window_seconds": 10,
    },
    "haproxy": {
        "rst_burst": _OFF, "rst_rate": _OFF, "premature_reset_streams": _OFF, "premature_reset_ratio": _OFF,
        "premature_reset_seconds": _OFF, "queued_streams_factor": _OFF,
        "made_reset_burst": 1000, "made_reset_rate": 33,
        "continuation_frames": _OFF, "small_fragments": 4, "small_fragment_bytes": 1024,
        "header_list_bytes": 16384, "control_acks_owed": _OFF, "settings_per_frame": _OFF,
        "empty_data_frames": _OFF, "priority_per_stream": _OFF, "window_updates_per_data": _OFF,
        "zero_window_seconds": 10,
    },
    "go": {
        "rst_burst": _OFF, "rst_rate": _OFF, "premature_reset_streams": _OFF, "premature_reset_ratio": _OFF,
        "premature_reset_seconds": _OFF, "queued_streams_factor": 4,
        "made_reset_burst": 1000, "made_reset_rate": 33,
        "continuation_frames": _OFF, "small_fragments": _OFF, "small_fragment_bytes": _OFF,
        "header_list_bytes": 1 << 20, "control_acks_owed": 10000, "settings_per_frame": _OFF,
        "empty_data_frames": _OFF, "priority_per_stream": _OFF, "window_updates_per_data": _OFF,
        "zero_window_seconds": 10,
    },
    "default": {
        "rst_burst": 1000, "rst_rate": 33, "premature_reset_streams": _OFF, "premature_reset_ratio": _OFF,
        "premature_reset_seconds": _OFF, "queued_streams_factor": _OFF,
        "made_reset_burst": 1000, "made_reset_rate": 33,
        "continuation_frames": 8, "small_fragments": 4, "small_fragment_bytes": 1024,
        "header_list_bytes": 65536, "control_acks_owed": 1000, "settings_per_frame": 32,
        "empty_data_frames": 2, "priority_per_stream": 100, "window_updates_per_data": 10,
        "zero_window_seconds": 10,
    },
}
DEFAULT_PRESET = "default"
assert all(set(p) == set(LIMITS) for p in PRESETS.values()), "every preset names every limit"


class Limits:
    """The limits in force: a preset, with `--limit` overrides; each value knows where it came from."""

    def __init__(self, preset: str = DEFAULT_PRESET, overrides: dict[str, float | None] | None = None) -> None:
        if preset not in PRESETS:
            raise UsageError(f"unknown preset {preset!r} (one of {', '.join(PRESETS)})")
        self.preset = preset
        self.values: dict[str, float | None] = dict(PRESETS[preset])
        self.sources = {name: preset for name in self.values}
        for name, value in (overrides or {}).items():
            if name not in LIMITS:
                raise UsageError(f"unknown limit {name!r} (see h2inspect check --list-rules)")
            self.values[name] = value
            self.sources[name] = "--limit"

    def __getitem__(self, name: str) -> float | None:
        return self.values[name]

    def threshold(self, name: str) -> tuple[str, float, str]:
        """(name, value, source) of a limit in force, for a finding that crossed it."""
        value = self.values[name]
        assert value is not None
        return (name, value, self.sources[name])

    def describe(self, names: tuple[str, ...]) -> str:
        """"rst_burst=1000, rst_rate=33 (nghttp2)" for the limits a rule reads; "off" when none is set."""
        parts = [f"{n}={_number(self.values[n])}" for n in names if self.values[n] is not None]
        if not parts:
            return "off"
        sources = sorted({self.sources[n] for n in names if self.values[n] is not None})
        return f"{', '.join(parts)} ({', '.join(sources)})"


def _number(value: float | None) -> str:
    if value is None:
        return "off"
    return str(int(value)) if float(value).is_integer() else str(value)


def parse_limit(text: str) -> tuple[str, float | None]:
    """`NAME=VALUE` from the command line (VALUE a number, or `off`)."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UsageError(f"--limit wants NAME=VALUE, not {text!r}")
    if name not in LIMITS:
        raise UsageError(f"unknown limit {name!r} (one of {', '.join(LIMITS)})")
    if value.strip().lower() == "off":
        return name, None
    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"--limit {name}: {value!r} is not a number") from None
    if number < 0 or number != number:
        raise UsageError(f"--limit {name}: {value!r} must be a number of at least 0")
    return name, number
