"""The tutorial's real exchange: the demo gRPC server, the proxy in front of it,
and a client making each lesson's calls through the proxy, all on loopback
ports picked by the system.

The proxy is the same relay and live source `h2inspect proxy` uses, running
on the caller's event loop (the TUI's, or `asyncio.run` for --headless), so
the frames a learner sees are the frames that really crossed it. Every call
goes over one channel, hence one connection: call k is HTTP/2 stream 2k-1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from inspector.demo import client
from inspector.demo.client import CallResult
from inspector.demo.server import serve
from inspector.errors import UsageError
from inspector.model import Session
from inspector.proxy.live_source import DecodePacer, LiveSource
from inspector.proxy.recorder import PcapngRecorder
from inspector.proxy.relay import Endpoint, Relay, RelaySettings
from inspector.rpc.calls import GrpcCall, find_calls


@dataclass(slots=True, frozen=True)
class LessonCall:
    """One call a lesson makes; `caption` is a phrase key ("" for none)."""

    caption: str
    make: Callable[[grpc.Channel], CallResult]


@dataclass(slots=True, frozen=True)
class Lesson:
    """A lesson: its key (the command-line name) and the calls that show it."""

    key: str
    calls: tuple[LessonCall, ...]
    channel_options: tuple[tuple[str, int], ...] = ()
    window_updates: bool = False  # show the connection's WINDOW_UPDATE frames with the call's own


LESSONS: dict[str, Lesson] = {lesson.key: lesson for lesson in (
    Lesson("unary", (LessonCall("", lambda ch: client.unary(ch, name="learner")),)),
    # A pause between replies, so each message leaves in a DATA frame of its own.
    Lesson("server-streaming", (LessonCall("", lambda ch: client.server_stream(ch, 3, delay_ms=60)),)),
    Lesson("client-streaming", (LessonCall("", lambda ch: client.client_stream(ch, 3)),)),
    Lesson("bidi-streaming", (
        LessonCall("caption.ping-pong", lambda ch: client.bidi(ch, 3, after_headers=True)),
        LessonCall("caption.answer-after-all", lambda ch: client.bidi(ch, 3, answer_after_all=True)))),
    Lesson("errors", (
        LessonCall("caption.trailers-only", lambda ch: client.unary(ch, fail_code=5, fail_message="no such thing")),
        LessonCall("caption.deadline", lambda ch: client.unary(ch, delay_ms=600, timeout=0.2)),
        LessonCall("caption.cancel", lambda ch: client.server_stream(ch, 1000, delay_ms=20, cancel_after=3)))),
    # A 64 KiB receive window that never grows on its own (no BDP probing): the 300 kB
    # reply has to wait for the client's WINDOW_UPDATE frames, several times.
    Lesson("flow-control", (LessonCall("", lambda ch: client.unary(ch, payload_size=300_000, name="big")),),
           channel_options=(("grpc.http2.lookahead_bytes", 65_535), ("grpc.http2.bdp_probe", 0)),
           window_updates=True),
)}
STYLES = ("unary", "server-streaming", "client-streaming", "bidi-streaming")


def lessons_for(choice: str | None) -> list[Lesson]:
    """The lessons a command line asks for: one, or the four styles in order."""
    return [LESSONS[choice]] if choice else [LESSONS[key] for key in STYLES]


@dataclass(slots=True)
class Progress:
    """How far the exchange got, for the views to show."""

    stage: str = "starting"  # starting, calling, done, failed
    error: str | None = None
    results: list[CallResult] | None = None


class Exchange:
    """Starts the peers, makes the calls through the proxy, stops everything it started."""

    def __init__(self, lessons: list[Lesson], record: str | None = None, pause: float = 0.0) -> None:
        self.lessons = lessons
        self.pause = pause  # seconds between calls, so a live view shows them one after the other
        try:
            self.recorder = PcapngRecorder.open(record) if record else PcapngRecorder(None)
        except OSError as exc:
            raise UsageError(f"--record {record}: {exc.strerror or exc}") from None
        self.source = LiveSource(self.recorder, name="tutorial: " + ", ".join(lesson.key for lesson in lessons))
        self.progress = Progress()
        self.server: grpc.Server | None = None
        self.server_port = 0
        self.proxy: Endpoint | None = None
        self._relay: Relay | None = None
        self._pacer: DecodePacer | None = None

    @property
    def session(self) -> Session:
        return self.source.session

    async def start(self) -> None:
        """The demo server and the proxy in front of it, on loopback ports the system picks."""
        self.server, self.server_port = serve("127.0.0.1", 0)
        if not self.server_port:
            raise UsageError("could not start the demo gRPC server on 127.0.0.1")
        settings = RelaySettings(Endpoint("127.0.0.1", 0), Endpoint("127.0.0.1", self.server_port))
        self._relay = Relay(settings, self.source)
        self.proxy = (await self._relay.start())[0]
        self._pacer = DecodePacer(asyncio.get_running_loop(), self.source)

    async def run(self) -> list[CallResult]:
        """Every lesson's calls, one after the other, on one channel through the proxy."""
        self.progress.stage = "calling"
        try:
            results = await asyncio.get_running_loop().run_in_executor(None, self._calls)
        except grpc.RpcError as exc:
            self.progress.stage, self.progress.error = "failed", f"{exc.code().name}: {exc.details()}"
            raise UsageError(f"tutorial: the demo call failed: {self.progress.error}") from None
        self.progress.stage, self.progress.results = "done", results
        return results

    def _calls(self) -> list[CallResult]:
        assert self.proxy is not None
        results = []
        options = [option for lesson in self.lessons for option in lesson.channel_options]
        with client.channel(str(self.proxy), options) as ch:
            grpc.channel_ready_future(ch).result(timeout=10)
            for lesson in self.lessons:
                for call in lesson.calls:
                    results.append(call.make(ch))
                    time.sleep(self.pause)
        return results

    async def settle(self, quiet: float = 0.15, limit: float = 3.0) -> None:
        """Wait until the relay has been quiet for `quiet` seconds (the connection's last frames)."""
        deadline = time.monotonic() + limit
        mark = -1
        while time.monotonic() < deadline and self.source.activity != mark:
            mark = self.source.activity
            await asyncio.sleep(quiet)

    async def stop(self) -> None:
        """Stop the proxy and the server; decode what is left."""
        if self._relay is not None:
            await self._relay.stop(grace=1.0)
            self._relay = None
        if self._pacer is not None:
            self._pacer.cancel()
            self._pacer = None
        self.source.finish()
        if self.server is not None:
            self.server.stop(0)
            self.server = None

    def close(self) -> None:
        """Close the recording (after the views are done reading payloads back from it)."""
        self.recorder.close()


def lesson_calls(session: Session, lessons: list[Lesson]) -> list[tuple[Lesson, LessonCall, GrpcCall | None]]:
    """Each call a lesson made, with the gRPC call the decoder found for it (None until it appears)."""
    found = sorted(find_calls(session), key=lambda c: (c.conn, c.stream_id))
    out: list[tuple[Lesson, LessonCall, GrpcCall | None]] = []
    for lesson in lessons:
        for made in lesson.calls:
            k = len(out)
            out.append((lesson, made, found[k] if k < len(found) else None))
    return out
