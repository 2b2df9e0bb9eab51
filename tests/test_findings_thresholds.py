"""Every abuse limit, just under and just over, under every preset that has it (and off under the
others): traffic from the decoder harness, counted the way the preset's server counts it."""

from __future__ import annotations

import hpack
import pytest
from decoderkit import PREFACE, DecoderWire
from findingskit import by_rule
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

from inspector.findings.presets import PRESETS, Limits

REQUEST = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "x")]
ENTRY = 32


def _wire(preset: str, server_settings: dict[int, int] | None = None) -> tuple[DecoderWire, hpack.Encoder]:
    wire = DecoderWire()
    wire.session.findings_engine.use_limits(Limits(preset))
    wire.client(PREFACE, SettingsFrame(0))
    wire.server(SettingsFrame(0, settings=server_settings or {}), SettingsFrame(0, flags=["ACK"]))
    wire.client(SettingsFrame(0, flags=["ACK"]))
    return wire, hpack.Encoder()


def _get(enc: hpack.Encoder, sid: int, end_stream: bool = True) -> HeadersFrame:
    return HeadersFrame(sid, enc.encode(REQUEST), flags=["END_HEADERS"] + (["END_STREAM"] if end_stream else []))


def rapid_reset(preset: str, n: int) -> DecoderWire:
    wire, enc = _wire(preset, {3: 100})
    frames = []
    for i in range(n):
        frames += [_get(enc, 1 + 2 * i), RstStreamFrame(1 + 2 * i, error_code=8)]
    wire.client(*frames)  # one packet: no time for a bucket to refill
    return wire


def made_you_reset(preset: str, n: int) -> DecoderWire:
    wire, enc = _wire(preset)
    frames = []
    for i in range(n):
        frames += [_get(enc, 1 + 2 * i), WindowUpdateFrame(1 + 2 * i, window_increment=2**31 - 1)]
    wire.client(*frames)
    wire.server(*[RstStreamFrame(1 + 2 * i, error_code=3) for i in range(n)])
    return wire


def continuation(preset: str, n: int) -> DecoderWire:
    wire, enc = _wire(preset)
    block = enc.encode(REQUEST + [("x-pad", "p" * 2000)])  # fragments of 2 KiB or more: not small ones
    size = -(-len(block) // (n + 1))
    pieces = [block[i:i + size] for i in range(0, len(block), size)]
    assert len(pieces) == n + 1
    frames = [HeadersFrame(1, pieces[0], flags=["END_STREAM"])]
    frames += [ContinuationFrame(1, p, flags=["END_HEADERS"] if k == n - 1 else []) for k, p in enumerate(pieces[1:])]
    wire.client(*frames)
    return wire


def small_fragments(preset: str, n: int) -> DecoderWire:
    wire, enc = _wire(preset)
    block = enc.encode(REQUEST + [("x-pad", "p" * 100)])
    size = -(-len(block) // n)
    pieces = [block[i:i + size] for i in range(0, len(block), size)]
    assert len(pieces) == n
    frames = [HeadersFrame(1, pieces[0], flags=["END_STREAM"])]
    frames += [ContinuationFrame(1, p, flags=["END_HEADERS"] if k == n - 2 else []) for k, p in enumerate(pieces[1:])]
    wire.client(*frames)
    return wire


def header_list(preset: str, n: int) -> DecoderWire:
    """A request whose decoded header list is exactly n bytes (RFC 7541 sizes: name + value + 32)."""
    wire, enc = _wire(preset)
    base = sum(len(k) + len(v) + ENTRY for k, v in REQUEST)
    filler = n - base - len("x-fill") - ENTRY
    # a literal the table never keeps, so its size is exactly what it says
    block = enc.encode(REQUEST) + bytes([0x00]) + _string(b"x-fill") + _string(b"f" * filler)
    pieces = [block[i:i + 16_000] for i in range(0, len(block), 16_000)]
    flags = ["END_STREAM"] + (["END_HEADERS"] if len(pieces) == 1 else [])
    frames = [HeadersFrame(1, pieces[0], flags=flags)]
    frames += [ContinuationFrame(1, p, flags=["END_HEADERS"] if k == len(pieces) - 2 else [])
               for k, p in enumerate(pieces[1:])]
    wire.client(*frames)
    return wire


def _string(raw: bytes) -> bytes:
    if len(raw) < 127:
        return bytes([len(raw)]) + raw
    n, out = len(raw) - 127, bytearray([127])
    while n >= 128:
        out.append(n % 128 | 0x80)
        n //= 128
    out.append(n)
    return bytes(out) + raw


def pings(preset: str, n: int) -> DecoderWire:
    wire, _ = _wire(preset)
    wire.client(*[PingFrame(0, opaque_data=i.to_bytes(8, "big")) for i in range(n)])
    return wire


def settings_count(preset: str, n: int) -> DecoderWire:
    wire, _ = _wire(preset)
    body = b"".join((3).to_bytes(2, "big") + (100 + i).to_bytes(4, "big") for i in range(n))
    wire.client(len(body).to_bytes(3, "big") + bytes([4, 0]) + bytes(4) + body)
    return wire


def empty_data(preset: str, n: int) -> DecoderWire:
    wire, enc = _wire(preset)
    wire.client(_get(enc, 1, end_stream=False), *[DataFrame(1, b"") for _ in range(n)])
    return wire


def priority(preset: str, n: int) -> DecoderWire:
    wire, enc = _wire(preset)
    wire.client(_get(enc, 1), *[PriorityFrame(3, depends_on=1, stream_weight=16) for _ in range(n)])
    return wire


def window_updates(preset: str, n: int) -> DecoderWire:
    wire, enc = _wire(preset)
    wire.client(_get(enc, 1))
    wire.server(HeadersFrame(1, hpack.Encoder().encode([(":status", "200")]), flags=["END_HEADERS"]),
                DataFrame(1, b"x"))  # one DATA frame sent: 1 + 2 x (1 stream + 10 x 1) allowed
    wire.client(*[WindowUpdateFrame(0, window_increment=1) for _ in range(n)])
    return wire


def slow_read(preset: str, n: int) -> DecoderWire:
    """The client holds the server's stream window at 0 for n milliseconds."""
    wire, enc = _wire(preset)
    wire.client(SettingsFrame(0, settings={4: 10}))
    wire.server(SettingsFrame(0, flags=["ACK"]))
    wire.client(_get(enc, 1))
    wire.server(HeadersFrame(1, hpack.Encoder().encode([(":status", "200")]), flags=["END_HEADERS"]),
                DataFrame(1, b"x" * 10))
    wire.time += n / 1000 - 0.001  # the next packet comes n ms after the DATA
    wire.client(WindowUpdateFrame(1, window_increment=100))
    return wire


# (rule, traffic, the count at the limit for each preset that has one: just under is that, just over one more)
CASES = [
    ("abuse.rapid-reset", rapid_reset, {"default": 1000, "nghttp2": 1000, "envoy": 499, "go": 400}),
    ("abuse.made-you-reset", made_you_reset, {p: 1000 for p in PRESETS}),
    ("abuse.continuation-flood", continuation, {"default": 8, "nghttp2": 8}),
    ("abuse.continuation-small-fragments", small_fragments, {"default": 4, "haproxy": 4}),
    ("abuse.hpack-bomb", header_list, {"default": 65536, "nghttp2": 65536, "envoy": 61440, "haproxy": 16384,
                                       "go": 1 << 20}),
    ("abuse.ping-flood", pings, {"default": 1000, "nghttp2": 1000, "envoy": 1000, "go": 10000}),
    ("abuse.settings-count", settings_count, {"default": 32, "nghttp2": 32}),
    ("abuse.empty-data", empty_data, {"default": 2, "envoy": 1}),
    ("abuse.priority-flood", priority, {"default": 200, "envoy": 200}),
    ("abuse.window-update-flood", window_updates, {"default": 23, "envoy": 23}),
    ("abuse.slow-read", slow_read, {p: 10_000 for p in PRESETS}),
]
PARAMS = [pytest.param(rule, make, preset, limits.get(preset), id=f"{rule}-{preset}")
          for rule, make, limits in CASES for preset in PRESETS]


@pytest.mark.parametrize("rule, make, preset, at_limit", PARAMS)
def test_abuse_limit_just_under_and_just_over(rule, make, preset, at_limit):
    if at_limit is None:  # the preset's server has no such limit: the rule stays quiet however far it goes
        biggest = max(v for r, _, limits in CASES if r == rule for v in limits.values())
        assert not by_rule(make(preset, biggest + 1), rule)
        return
    assert not by_rule(make(preset, at_limit), rule), f"{rule} fired at its limit under {preset}"
    over = by_rule(make(preset, at_limit + 1), rule)
    assert len(over) == 1 and over[0].count == 1, [f.one_line() for f in over]
    assert over[0].threshold is not None and over[0].threshold[2] == preset


def test_the_receivers_max_header_list_size_is_the_limit_when_it_sent_one():
    wire, enc = _wire("default", {6: 1000})
    wire.client(HeadersFrame(1, enc.encode(REQUEST + [("x-big", "b" * 1000)]), flags=["END_HEADERS", "END_STREAM"]))
    [bomb] = by_rule(wire, "abuse.hpack-bomb")
    assert bomb.threshold == ("SETTINGS_MAX_HEADER_LIST_SIZE", 1000.0, "the server's SETTINGS")


def test_a_limit_given_on_the_command_line_says_so():
    wire = DecoderWire()
    wire.session.findings_engine.use_limits(Limits("default", {"control_acks_owed": 5}))
    wire.client(PREFACE, SettingsFrame(0), *[PingFrame(0, opaque_data=bytes(8)) for _ in range(6)])
    [flood] = by_rule(wire, "abuse.ping-flood")
    assert flood.threshold == ("control_acks_owed", 5, "--limit")
