"""The live source in-process: packets numbered like the recording, payloads read back,
the decode backlog bounded, and the pacer deferring to the relay."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

import hpack
from hyperframe.frame import DataFrame, HeadersFrame, SettingsFrame

from inspector.http2.frames import CLIENT_PREFACE as PREFACE
from inspector.model import Direction, Severity
from inspector.proxy.live_source import DECODE_PIECE, DecodePacer, LiveSource
from inspector.proxy.recorder import MAX_SEGMENT, PcapngRecorder

CLIENT, SERVER = ("127.0.0.1", 40000), ("127.0.0.1", 8080)


def _request(stream_id: int = 1) -> bytes:
    block = hpack.Encoder().encode([(":method", "GET"), (":path", "/"), (":scheme", "http"),
                                    (":authority", "x")])
    return HeadersFrame(stream_id, block, flags=["END_HEADERS", "END_STREAM"]).serialize()


def _response(stream_id: int, body: bytes) -> bytes:
    block = hpack.Encoder().encode([(":status", "200")])
    out = HeadersFrame(stream_id, block, flags=["END_HEADERS"]).serialize()
    for i in range(0, len(body), 16384):
        piece = body[i:i + 16384]
        flags = ["END_STREAM"] if i + 16384 >= len(body) else []
        out += DataFrame(stream_id, piece, flags=flags).serialize()
    return out


def _source(recording: bool, **kw) -> LiveSource:  # type: ignore[no-untyped-def]
    return LiveSource(PcapngRecorder(io.BytesIO() if recording else None), **kw)


def _decode_all(source: LiveSource) -> None:
    while source.decode(1.0):
        pass


def test_frames_get_the_packet_numbers_the_recording_gives_them():
    source = _source(recording=False)
    live = source.open(CLIENT, SERVER, time=1.0)  # SYN, SYN-ACK, ACK: packets 1-3
    source.data(live, True, PREFACE + SettingsFrame(0).serialize() + _request(), 2.0)
    source.data(live, False, SettingsFrame(0).serialize() + _response(1, b"x" * 100), 3.0)
    _decode_all(source)
    frames = list(source.session.frames)
    assert [(f.packet, f.type_name) for f in frames] == [
        (4, "SETTINGS"), (4, "HEADERS"), (5, "SETTINGS"), (5, "HEADERS"), (5, "DATA")]
    assert frames[-1].time == 3.0


def test_payloads_are_read_back_from_memory_or_from_the_recording():
    body = bytes(range(256)) * 400  # spans several DATA frames and, split, two packets
    for recording in (False, True):
        source = _source(recording)
        live = source.open(CLIENT, SERVER, time=1.0)
        source.data(live, True, PREFACE + _request(), 2.0)
        source.data(live, False, _response(1, body) + b"\x00" * (MAX_SEGMENT - 100), 3.0)
        _decode_all(source)
        session = source.session
        data = [f for f in session.frames if f.type_name == "DATA"]
        assert b"".join(session.frame_payload(f) for f in data) == body
        assert session.payloads.read(0, Direction.CLIENT, 0, len(PREFACE)) == PREFACE


def test_big_chunks_are_split_into_packets_that_fit_an_ip_packet():
    recorder = PcapngRecorder(io.BytesIO())
    source = LiveSource(recorder)
    live = source.open(CLIENT, SERVER, time=1.0)
    source.data(live, False, b"\x00" * (2 * MAX_SEGMENT + 5), 2.0)
    assert recorder.count == 3 + 3


def test_decoding_that_falls_behind_pauses_and_resumes_after_a_gap():
    source = _source(recording=False, connection_backlog=50_000, total_backlog=1_000_000)
    live = source.open(CLIENT, SERVER, time=1.0)
    source.data(live, True, PREFACE + _request(1) + _request(3), 2.0)
    for i in range(10):  # 10 x 16 KiB waiting: past the 50 kB bound
        source.data(live, False, _response(1, b"y" * 16000) if i == 0 else
                    DataFrame(1, b"z" * 16000).serialize(), 3.0 + i)
    assert live.paused
    notes = [f.message for f in source.session.findings if f.severity is Severity.WARNING]
    assert any("paused" in m for m in notes)
    skipped_before = live.skipped[1]
    assert skipped_before > 0
    _decode_all(source)  # what was queued before the pause is decoded; then it resumes
    assert not live.paused
    source.data(live, False, _response(3, b"w" * 10), 20.0)
    _decode_all(source)
    messages = [f.message for f in source.session.findings]
    assert any("resumes" in m for m in messages)
    assert any("missing" in m for m in messages)  # the decoder was told about the gap
    assert source.queued == 0


async def _until(done: Callable[[], object], timeout: float = 30.0) -> None:
    """Let the loop turn until `done()` holds (the pacer's own timers run meanwhile)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        assert asyncio.get_running_loop().time() < deadline, "the pacer never got there"
        await asyncio.sleep(0.001)


def test_pacer_decodes_when_the_relay_is_quiet_and_defers_while_it_is_busy():
    async def scenario() -> tuple[int, int, int]:
        loop = asyncio.get_running_loop()
        source = _source(recording=False)
        DecodePacer(loop, source)
        live = source.open(CLIENT, SERVER, time=1.0)
        source.data(live, True, PREFACE + _request(1), 2.0)
        await _until(lambda: source.session.frames)  # quiet: decoded with nothing else to do
        quiet = len(source.session.frames)
        # Busy: chunk after chunk, with the loop turning between them.
        deferred = []
        for i in range(3, 200, 2):
            source.data(live, True, _request(i), 3.0)
            await asyncio.sleep(0)
            deferred.append(len(source.queue))
        await _until(lambda: not source.queue)
        return quiet, max(deferred), len(source.queue)

    quiet, most_waiting, left = asyncio.run(scenario())
    assert quiet == 1
    assert most_waiting > 10  # the decoder stood back while chunks kept coming
    assert left == 0  # and caught up once they stopped


class _SteppedLoop:
    """An event loop stand-in on a simulated clock. Like uvloop's, its own `time()` counts
    whole milliseconds; `precise` is the true clock, handed to the pacer as its clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.due: list[tuple[float, object]] = []

    def precise(self) -> float:
        return self.now

    def time(self) -> float:
        return int(self.now * 1000) / 1000

    def call_later(self, delay: float, callback):  # noqa: ANN001, ANN201
        self.due.append((self.now + delay, callback))
        return asyncio.Handle(callback, (), self)  # type: ignore[arg-type]

    def call_soon(self, callback):  # noqa: ANN001, ANN201
        return self.call_later(0.0, callback)

    def get_debug(self) -> bool:
        return False


class _BusySource:
    """A source whose queue never empties and whose every decode slice costs `cost` seconds."""

    def __init__(self, loop: _SteppedLoop, cost: float) -> None:
        self.loop = loop
        self.cost = cost
        self.activity = 0
        self.decoding = 0.0
        self.on_queue = lambda: None

    def decode(self, budget: float) -> bool:
        self.loop.now += self.cost
        self.decoding += self.cost
        return True


def test_pacer_decodes_a_quiet_relays_bytes_after_quiet_seconds():
    """How soon, on a simulated clock: the first slice runs `QUIET` after the bytes were queued."""
    loop = _SteppedLoop()
    source = _source(recording=False)
    DecodePacer(loop, source, clock=loop.precise)  # type: ignore[arg-type]
    live = source.open(CLIENT, SERVER, time=1.0)
    source.data(live, True, PREFACE + _request(1), 2.0)
    decoded_at = None
    while loop.due and decoded_at is None:
        when, callback = min(loop.due, key=lambda d: d[0])
        loop.due.remove((when, callback))
        loop.now = max(loop.now, when)
        callback()  # type: ignore[operator]
        if source.session.frames:
            decoded_at = loop.now
    assert decoded_at == DecodePacer.QUIET
    assert len(source.session.frames) == 1 and not source.queue


def test_pacer_keeps_decoding_to_its_share_of_a_busy_loop():
    loop = _SteppedLoop()
    source = _BusySource(loop, cost=0.0006)  # a slice just over SLICE, well under a loop-clock tick
    pacer = DecodePacer(loop, source, clock=loop.precise)  # type: ignore[arg-type]
    source.activity += 1
    pacer.poke()
    while loop.now < 2.0:  # two seconds of a relay that is never quiet
        when, callback = min(loop.due, key=lambda d: d[0])
        loop.due.remove((when, callback))
        loop.now = max(loop.now, when)
        source.activity += 1  # chunks keep coming between any two turns
        callback()  # type: ignore[operator]
    share = source.decoding / loop.now
    assert 0.5 * DecodePacer.BUSY_SHARE < share < 1.5 * DecodePacer.BUSY_SHARE


def test_a_big_chunk_is_decoded_in_pieces_and_a_slice_stops_within_one():
    body = bytes(range(256)) * 1000
    source = _source(recording=True)
    live = source.open(CLIENT, SERVER, time=1.0)
    source.data(live, True, PREFACE + SettingsFrame(0).serialize() + _request(), 2.0)
    source.data(live, False, SettingsFrame(0).serialize() + _response(1, body[:60000]), 3.0)
    assert not source.decode(1.0)
    before = len(source.session.frames)
    source.data(live, False, b"".join(DataFrame(1, body[i:i + 4000]).serialize()
                                      for i in range(0, len(body), 4000)), 4.0)
    assert source.decode(0.0)  # no budget: one piece of at most DECODE_PIECE, the rest stays queued
    first = len(source.session.frames) - before
    assert 0 < first <= DECODE_PIECE // 4009 + 1
    assert 0 < source.queued < len(body)
    _decode_all(source)
    frames = list(source.session.frames)[before:]
    assert len(frames) == len(body) // 4000 and source.queued == 0
    assert b"".join(source.session.frame_payload(f) for f in frames) == body  # cut pieces, same bytes


def test_a_connection_too_costly_to_decode_is_given_up_and_the_others_go_on(monkeypatch):
    import inspector.proxy.live_source as live_source

    source = _source(recording=False)
    costly = source.open(CLIENT, SERVER, time=1.0)
    fine = source.open(("127.0.0.1", 40001), SERVER, time=1.0)
    source.data(costly, True, PREFACE + b"\x00" * 100_000, 2.0)
    monkeypatch.setattr(live_source, "COSTLY_PIECE", -1.0)  # every piece counts as too costly
    source.decode(1.0)
    monkeypatch.setattr(live_source, "COSTLY_PIECE", 0.05)
    assert costly.given_up
    stopped = [f.message for f in source.session.findings if "decoding of this connection stopped" in f.message]
    assert len(stopped) == 1 and "still relayed" in stopped[0]
    assert [(f.rule, f.conn_index, f.severity) for f in source.session.findings if f.message == stopped[0]] == [
        ("proxy.decoding-stopped", 0, Severity.WARNING)]
    decoded = sum(1 for f in source.session.frames if f.conn_index == 0)  # from the two pieces it took to tell
    assert source.queued == 0
    source.data(costly, True, b"\x00" * 50_000, 3.0)  # relayed later: only counted
    source.data(fine, True, PREFACE + SettingsFrame(0).serialize() + _request(), 3.0)
    _decode_all(source)
    assert source.queued == 0 and costly.skipped[0] == 50_000
    assert sum(1 for f in source.session.frames if f.conn_index == 0) == decoded
    assert any(f.conn_index == 1 for f in source.session.frames)
    assert not any("resumes" in f.message for f in source.session.findings)


def test_finish_gives_the_backlog_a_bounded_time_and_says_what_is_left():
    source = _source(recording=False, connection_backlog=1 << 30, total_backlog=1 << 30)
    live = source.open(CLIENT, SERVER, time=1.0)
    ping = b"\x00\x00\x08\x06\x00\x00\x00\x00\x00" + b"12345678"
    burst = PREFACE + SettingsFrame(0).serialize() + ping * 400_000  # about a second of decoding, or more
    source.data(live, True, burst, 2.0)
    left, connections = source.finish(budget=0.05)
    assert 0 < left < len(burst) and connections == 1
    assert source.queued == 0 and source.session.packets == source.recorder.count
