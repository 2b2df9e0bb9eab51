"""The tutorial's real exchange: the demo gRPC server, the proxy in front of it,
and a client making each lesson's calls through the proxy, all on loopback
ports picked by the system.

The proxy is the same relay and live source `h2inspect proxy` uses, running
on the caller's event loop (the TUI's, or `asyncio.run` for --headless), so
the frames a learner sees are the frames that really crossed it. Every call
goes over one channel, hence one connection: call k is HTTP/2 stream 2k-1.

Every lesson takes an `Experiment`: what a learner may change (messages,
their size, compression, the receive window, the frame size, calls at once,
a delay between messages, a deadline, the HPACK table). A lesson bound to one
(`Lesson.bind`) knows its calls and the settings they run with.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc

from inspector.demo import client
from inspector.demo.client import COMPRESSION, CallResult
from inspector.demo.server import serve
from inspector.errors import UsageError
from inspector.model import Session
from inspector.proxy.live_source import DecodePacer, LiveSource
from inspector.proxy.recorder import PcapngRecorder
from inspector.proxy.relay import Endpoint, Relay, RelaySettings
from inspector.rpc.calls import GrpcCall, find_calls
from inspector.tutorial.phrases import phrase

MIN_WINDOW, MAX_WINDOW = 1, 2**31 - 1
MIN_FRAME, MAX_FRAME = 16_384, 16_777_215


@dataclass(slots=True, frozen=True)
class Experiment:
    """What a learner may change in a lesson; None keeps the lesson's own choice.

    Zero for `window`, `max_frame`, `deadline` and `table_size` means grpcio's own
    (4 MiB windows and frames with BDP probing, no deadline, a 4096-byte table)."""

    messages: int | None = None  # messages each streaming side sends
    size: int | None = None  # payload bytes in every message, both ways
    compress: str | None = None  # gzip, deflate or identity, both ways
    window: int | None = None  # SETTINGS_INITIAL_WINDOW_SIZE of both receivers (BDP probing off)
    max_frame: int | None = None  # SETTINGS_MAX_FRAME_SIZE of both receivers
    concurrency: int | None = None  # copies of each call at once (multiplexing: calls in all)
    delay: int | None = None  # ms between messages (unary: before the reply)
    deadline: int | None = None  # ms the client gives each call (grpc-timeout)
    table_size: int | None = None  # SETTINGS_HEADER_TABLE_SIZE of both sides (HPACK)

    @classmethod
    def of(cls, values: Mapping[str, int | str]) -> Experiment:
        """An experiment from values by field name (the form's, the command line's); the fields
        not named are left to the lesson. A name that is no field is a KeyError."""
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))

        def number(name: str) -> int | None:
            value = values.get(name)
            if value is not None and not isinstance(value, int):
                raise TypeError(f"{name} is a number, not {value!r}")
            return value

        compress = values.get("compress")
        return cls(messages=number("messages"), size=number("size"),
                   compress=None if compress is None else str(compress), window=number("window"),
                   max_frame=number("max_frame"), concurrency=number("concurrency"), delay=number("delay"),
                   deadline=number("deadline"), table_size=number("table_size"))

    def over(self, base: Experiment) -> Experiment:
        """This experiment, with `base`'s values where this one leaves them out."""
        return Experiment(**{f.name: getattr(base, f.name) if getattr(self, f.name) is None
                             else getattr(self, f.name) for f in dataclasses.fields(self)})

    def given(self) -> dict[str, int | str]:
        """The values set, by field name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    def options(self) -> list[str]:
        """The command-line options that ask for this experiment."""
        out: list[str] = []
        for name, value in self.given().items():
            out += [OPTION_NAMES[name], str(value)]
        return out


OPTION_NAMES = {"messages": "--messages", "size": "--size", "compress": "--compress", "window": "--window",
                "max_frame": "--max-frame", "concurrency": "--concurrency", "delay": "--delay",
                "deadline": "--deadline", "table_size": "--table-size"}
#: what every lesson starts from
BASE = Experiment(messages=3, size=0, compress="identity", window=0, max_frame=0, concurrency=1, delay=0,
                  deadline=0, table_size=0)


def os_reason(lang: str, exc: OSError) -> str:
    """Why a file could not be used, in the learner's language."""
    key = {errno.ENOENT: "error.not_found", errno.EACCES: "error.denied", errno.EISDIR: "error.directory"}.get(
        exc.errno or 0)
    return phrase(lang, key) if key else phrase(lang, "error.other", reason=exc.strerror or str(exc))


def _timeout(s: Experiment) -> float | None:
    return s.deadline / 1000 if s.deadline else None


def _compress(s: Experiment) -> str | None:
    return None if s.compress == "identity" else s.compress


MakeCall = Callable[[grpc.Channel, Experiment], CallResult]
Script = Callable[[grpc.Channel, Experiment], list[CallResult]]


@dataclass(slots=True, frozen=True)
class LessonCall:
    """One call a lesson makes; `caption` is a phrase key ("" for none). Calls of one `batch`
    are started at once (`--concurrency` copies of a call)."""

    caption: str
    make: MakeCall
    batch: int = 0


@dataclass(slots=True, frozen=True)
class Lesson:
    """A lesson: its key (the command-line name) and the calls that show it.

    `defaults` are the lesson's own experiment settings; `channel_options` are grpcio
    arguments both the client and the server get unless the experiment sets the same
    thing; `script`, when given, makes all the calls itself (ordering them by events),
    and `plan` says which calls it makes for given settings. `view` is how the
    headless timeline shows it: "calls" (one call after the other), "hpack" (each
    header block, field by field), or "connection" (every frame of every call, in
    the order they crossed)."""

    key: str
    calls: tuple[LessonCall, ...]
    channel_options: tuple[tuple[str, int], ...] = ()
    window_updates: bool = False  # show the connection's WINDOW_UPDATE frames with the call's own
    defaults: Experiment = Experiment()
    settings: Experiment = BASE  # what it runs with, once bound
    script: Script | None = None
    plan: Callable[[Experiment], tuple[LessonCall, ...]] | None = None
    view: str = "calls"
    client_options: tuple[tuple[str, int], ...] = ()  # the client's only
    experiment: Experiment = field(default_factory=Experiment)  # what the learner asked for

    def bind(self, experiment: Experiment | None = None) -> Lesson:
        """The lesson with the learner's experiment applied: its settings and the calls they make."""
        experiment = experiment or Experiment()
        settings = experiment.over(self.defaults).over(BASE)
        if self.plan is not None:
            calls = self.plan(settings)
        else:
            copies = settings.concurrency or 1
            calls = tuple(LessonCall(made.caption, made.make, n) for n, made in enumerate(self.calls)
                          for _ in range(copies))
        return dataclasses.replace(self, calls=calls, settings=settings, experiment=experiment)

    def grpc_options(self, side: str) -> list[tuple[str, int]]:
        """grpcio arguments for the client or the server: the lesson's, then the experiment's."""
        s = self.settings
        options = dict(self.channel_options)
        if side == "client":
            options.update(self.client_options)
        if s.window:
            options.update({"grpc.http2.lookahead_bytes": s.window, "grpc.http2.bdp_probe": 0})
        if s.max_frame:
            # grpcio heeds its max_frame_size only with BDP probing off (which also leaves the
            # windows at 65,535 unless --window says otherwise); the notes say what was sent.
            options.update({"grpc.http2.max_frame_size": s.max_frame, "grpc.http2.bdp_probe": 0})
        if s.table_size:
            options["grpc.http2.hpack_table_size.decoder"] = s.table_size
        return list(options.items())


# --- the lessons -----------------------------------------------------------------------------

def _unary(ch: grpc.Channel, s: Experiment) -> CallResult:
    return client.unary(ch, name="learner", payload_size=s.size or 0, request_size=s.size or 0,
                        delay_ms=s.delay or 0, timeout=_timeout(s), compression=_compress(s))


def _server_stream(ch: grpc.Channel, s: Experiment) -> CallResult:
    return client.server_stream(ch, s.messages or 1, delay_ms=s.delay or 0, payload_size=s.size or 0,
                                timeout=_timeout(s), compression=_compress(s))


def _client_stream(ch: grpc.Channel, s: Experiment) -> CallResult:
    return client.client_stream(ch, s.messages or 1, payload_size=s.size or 0, delay_ms=s.delay or 0,
                                timeout=_timeout(s), compression=_compress(s))


def _ping_pong(ch: grpc.Channel, s: Experiment) -> CallResult:
    return client.bidi(ch, s.messages or 1, after_headers=True, payload_size=s.size or 0, delay_ms=s.delay or 0,
                       timeout=_timeout(s), compression=_compress(s))


def _answer_after_all(ch: grpc.Channel, s: Experiment) -> CallResult:
    return client.bidi(ch, s.messages or 1, answer_after_all=True, payload_size=s.size or 0,
                       delay_ms=s.delay or 0, timeout=_timeout(s), compression=_compress(s))


def _trailers_only(ch: grpc.Channel, s: Experiment) -> CallResult:
    return client.unary(ch, fail_code=5, fail_message="no such thing", compression=_compress(s))


def _deadline(ch: grpc.Channel, s: Experiment) -> CallResult:
    return client.unary(ch, delay_ms=s.delay or 0, timeout=_timeout(s), compression=_compress(s),
                        payload_size=s.size or 0)


def _cancel(ch: grpc.Channel, s: Experiment) -> CallResult:
    return client.server_stream(ch, 1000, delay_ms=20, cancel_after=s.messages, payload_size=s.size or 16,
                                compression=_compress(s))


def _failing_stream(ch: grpc.Channel, s: Experiment) -> CallResult:
    """Another method, failing before any reply: a new :path, and a new grpc-status."""
    return client.server_stream(ch, s.messages or 1, payload_size=s.size or 0, fail_code=5,
                                fail_message="no such thing", timeout=_timeout(s), compression=_compress(s))


# The multiplexing lesson: a bidi call first, and the others started between its messages.
_OTHERS = (("caption.mux-server-stream", _server_stream), ("caption.mux-unary", _unary),
           ("caption.mux-client-stream", _client_stream))


def _mux_plan(s: Experiment) -> tuple[LessonCall, ...]:
    calls = [LessonCall("caption.mux-bidi", _ping_pong)]
    for k in range(max(1, s.concurrency or 1) - 1):
        caption, make = _OTHERS[k % len(_OTHERS)]
        calls.append(LessonCall(caption, make, k + 1))
    return tuple(calls)


def _mux_script(ch: grpc.Channel, s: Experiment) -> list[CallResult]:
    """The bidi call sends its first message and gets the answer; then each other call
    starts and is waited for until it has shown itself on the wire (a server stream's
    first reply, another call's end); then the bidi call goes on. So DATA frames of
    several streams interleave on the one connection whatever the machine's speed."""
    others = _mux_plan(s)[1:]
    pool = ThreadPoolExecutor(max(1, len(others)))
    started: list[Future[CallResult]] = []

    def start_others() -> None:
        for made in others:
            if made.make is _server_stream:
                first = threading.Event()
                started.append(pool.submit(client.server_stream, ch, s.messages or 1, delay_ms=s.delay or 0,
                                           payload_size=s.size or 0, timeout=_timeout(s),
                                           compression=_compress(s), first_reply=first))
                first.wait(10)
            else:
                started.append(pool.submit(made.make, ch, s))
                started[-1].result(timeout=30)

    def before_request(i: int) -> None:
        if i == 1:  # answer 1 is here: start the others in the middle of the bidi call
            start_others()

    try:
        first = client.bidi(ch, s.messages or 1, after_headers=True, payload_size=s.size or 0,
                            delay_ms=s.delay or 0, timeout=_timeout(s), compression=_compress(s),
                            before_request=before_request)
        if not started:  # one message only: the bidi call had no middle
            start_others()
        return [first] + [f.result(timeout=60) for f in started]
    finally:
        pool.shutdown(wait=True)


LESSONS: dict[str, Lesson] = {lesson.key: lesson for lesson in (
    Lesson("unary", (LessonCall("", _unary),)),
    # A pause between replies, so each message leaves in a DATA frame of its own.
    Lesson("server-streaming", (LessonCall("", _server_stream),), defaults=Experiment(delay=60, size=16)),
    Lesson("client-streaming", (LessonCall("", _client_stream),)),
    Lesson("bidi-streaming", (LessonCall("caption.ping-pong", _ping_pong),
                              LessonCall("caption.answer-after-all", _answer_after_all))),
    Lesson("errors", (LessonCall("caption.trailers-only", _trailers_only),
                      LessonCall("caption.deadline", _deadline),
                      LessonCall("caption.cancel", _cancel)), defaults=Experiment(delay=600, deadline=200)),
    # A 64 KiB receive window that never grows on its own (no BDP probing): the 300 kB
    # reply has to wait for the client's WINDOW_UPDATE frames, several times.
    Lesson("flow-control", (LessonCall("", _unary),), window_updates=True,
           defaults=Experiment(size=300_000, window=65_535)),
    # The client lets the server's encoder keep only 200 bytes of table, so the third
    # call's new grpc-status entry pushes the oldest one out (unless --table-size says).
    Lesson("hpack", (LessonCall("caption.hpack-first", _unary), LessonCall("caption.hpack-again", _unary),
                     LessonCall("caption.hpack-other", _failing_stream)),
           client_options=(("grpc.http2.hpack_table_size.decoder", 200),), view="hpack"),
    Lesson("multiplexing", (), defaults=Experiment(concurrency=3, delay=30, size=16), script=_mux_script,
           plan=_mux_plan, view="connection"),
)}
STYLES = ("unary", "server-streaming", "client-streaming", "bidi-streaming")
OTHER_LESSONS = ("errors", "flow-control", "hpack", "multiplexing")
#: one experiment per lesson, suggested at the end of it (and in its page in tutorials/)
SUGGESTED: dict[str, Experiment] = {
    "unary": Experiment(size=100_000, max_frame=16_384),
    "server-streaming": Experiment(messages=5, delay=0),
    "client-streaming": Experiment(messages=5, size=20_000),
    "bidi-streaming": Experiment(messages=5),
    "errors": Experiment(deadline=1000),
    "flow-control": Experiment(window=16_384, size=65_536),
    "hpack": Experiment(table_size=256),
    "multiplexing": Experiment(concurrency=6),
}


def suggested_command(key: str, headless: bool = True) -> str:
    """The command line of the experiment suggested for a lesson."""
    return " ".join(["h2inspect", "tutorial", key, *SUGGESTED[key].options()] + (["--headless"] if headless else []))


def lessons_for(choice: str | None, experiment: Experiment | None = None) -> list[Lesson]:
    """The lessons a command line asks for (one, or the four styles in order), bound to the experiment."""
    keys = [choice] if choice else list(STYLES)
    return [LESSONS[key].bind(experiment) for key in keys]


@dataclass(slots=True)
class Progress:
    """How far the exchange got, for the views to show."""

    stage: str = "starting"  # starting, calling, done, failed
    error: str | None = None
    results: list[CallResult] | None = None


class Exchange:
    """Starts the peers, makes the calls through the proxy, stops everything it started."""

    def __init__(self, lessons: list[Lesson], record: str | None = None, pause: float = 0.0,
                 lang: str = "en") -> None:
        self.lessons = lessons
        self.pause = pause  # seconds between calls, so a live view shows them one after the other
        self.lang = lang  # of its errors
        try:
            self.recorder = PcapngRecorder.open(record) if record else PcapngRecorder(None)
        except OSError as exc:
            raise UsageError(phrase(lang, "error.record", path=record, reason=os_reason(lang, exc))) from None
        self.source = LiveSource(self.recorder, name="tutorial: " + ", ".join(lesson.key for lesson in lessons))
        self.progress = Progress()
        self.server: grpc.Server | None = None
        self.server_port = 0
        self.proxy: Endpoint | None = None
        self.started_at = 0.0
        self.finished_at = 0.0
        self._relay: Relay | None = None
        self._pacer: DecodePacer | None = None

    @property
    def session(self) -> Session:
        return self.source.session

    def _server_settings(self) -> tuple[list[tuple[str, int]], grpc.Compression | None]:
        options: dict[str, int] = {}
        compression = None
        for lesson in self.lessons:
            options.update(lesson.grpc_options("server"))
            if lesson.settings.compress and lesson.settings.compress != "identity":
                compression = COMPRESSION[lesson.settings.compress]
        return list(options.items()), compression

    async def start(self) -> None:
        """The demo server and the proxy in front of it, on loopback ports the system picks."""
        options, compression = self._server_settings()
        self.server, self.server_port = serve("127.0.0.1", 0, options=options, compression=compression)
        if not self.server_port:
            raise UsageError(phrase(self.lang, "error.no_server"))
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
            raise UsageError(phrase(self.lang, "error.call_failed", error=self.progress.error)) from None
        except grpc.FutureTimeoutError:
            self.progress.stage, self.progress.error = "failed", phrase(self.lang, "error.no_connect")
            raise UsageError(self.progress.error) from None
        self.progress.stage, self.progress.results = "done", results
        return results

    def _calls(self) -> list[CallResult]:
        assert self.proxy is not None
        results: list[CallResult] = []
        options: dict[str, int] = {}
        for lesson in self.lessons:
            options.update(lesson.grpc_options("client"))
        self.started_at = time.monotonic()
        with client.channel(str(self.proxy), list(options.items())) as ch:
            grpc.channel_ready_future(ch).result(timeout=10)
            for lesson in self.lessons:
                if lesson.script is not None:
                    results += lesson.script(ch, lesson.settings)
                    time.sleep(self.pause)
                    continue
                batches: dict[int, list[LessonCall]] = {}
                for made in lesson.calls:
                    batches.setdefault(made.batch, []).append(made)
                for batch in batches.values():
                    if len(batch) == 1:
                        results.append(batch[0].make(ch, lesson.settings))
                    else:
                        with ThreadPoolExecutor(len(batch)) as pool:
                            settings = lesson.settings
                            results += pool.map(lambda made, s=settings: made.make(ch, s), batch)
                    time.sleep(self.pause)
        self.finished_at = time.monotonic()
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
    found = sorted(find_calls(session), key=lambda c: (c.conn_index, c.stream_id))
    out: list[tuple[Lesson, LessonCall, GrpcCall | None]] = []
    for lesson in lessons:
        for made in lesson.calls:
            k = len(out)
            out.append((lesson, made, found[k] if k < len(found) else None))
    return out
